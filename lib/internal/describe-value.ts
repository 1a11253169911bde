/**
 * How any value reads in an error message, for option checks and for every check of a peer's bytes.
 * @internal
 * @packageDocumentation
 */

/** Characters of a string or a number shown before it is cut short. */
const MAX_SHOWN = 40;

/**
 * A short description of `value` that never throws, whatever it is: a decoded frame (bigint, Date,
 * Uint8Array, `undefined`, NaN, a nested object with odd keys) or a caller's option (a Proxy, an
 * object whose `toString` throws, a symbol). Strings are quoted and cut after 40 characters,
 * bigints end in `n`, arrays show their length and first item, other objects only their kind: no
 * getter, `toString` or `toJSON` of the value runs.
 * @internal
 */
export function describeValue(value: unknown): string {
  try {
    return describeAt(value, 1);
  } catch {
    // A revoked Proxy, or a `getPrototypeOf` trap that throws.
    return 'a value that cannot be described';
  }
}

function describeAt(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return value.length <= MAX_SHOWN
        ? JSON.stringify(value)
        : `${JSON.stringify(value.slice(0, MAX_SHOWN))}… (${value.length} characters)`;
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${cut(value.toString())}n`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return describeObject(value as object | null, depth);
  }
}

function describeObject(value: object | null, depth: number): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const length = (value as unknown[]).length;
    if (length === 0) return 'an empty array';
    const first = depth > 0 ? describeAt((value as unknown[])[0], depth - 1) : 'a value';
    return `an array of ${length} starting ${first}`;
  }
  if (value instanceof Date) return 'a Date';
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.byteLength} bytes`;
  if (ArrayBuffer.isView(value)) return 'a typed array';
  return 'an object';
}

function cut(text: string): string {
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}…`;
}

/**
 * An error as a message quotes it, never throwing: `Name: message` for an Error or anything
 * error-like (a `DOMException`, a rejected `{ name, message }`), the name alone when the message is
 * empty; Node's system errors as their message alone, which already starts with the code
 * (`ENOSPC: no space left on device, write`); anything else, or an error whose getters throw, as
 * {@link describeValue} describes it.
 * @internal
 */
export function describeError(error: unknown): string {
  try {
    if (typeof error === 'object' && error !== null && 'message' in error) {
      const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
      if (typeof message === 'string') {
        if (typeof code === 'string' && message.startsWith(code)) return message;
        if (typeof name !== 'string') return message;
        return message === '' ? name : `${name}: ${message}`;
      }
    }
  } catch {
    // A getter that throws: described below like any other value.
  }
  return describeValue(error);
}
