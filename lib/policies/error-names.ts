/**
 * Name-based error checks that are safe on any value.
 * @internal
 * @packageDocumentation
 */

/**
 * True when `error` is named `name`, by its own `name` (RxJS sets it on the instance, DOMException
 * through a getter) or by a prototype's: how a class is recognised across copies of a library.
 * @internal
 */
export function hasName(error: unknown, name: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  return (error as { name?: unknown }).name === name || prototypeNamed(error, name);
}

/**
 * True when `object` or one of its prototypes has `name` as its own data property `name` (a getter
 * is not called: DOMException's `name` is one that throws on a prototype).
 * @internal
 */
export function prototypeNamed(object: object | null, name: string): boolean {
  for (let current = object; current; current = Object.getPrototypeOf(current) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(current, 'name');
    if (descriptor && 'value' in descriptor && descriptor.value === name) return true;
  }
  return false;
}

/**
 * `error[key]` when `error` is an object, else `undefined`: how the policies read a field of an
 * error structurally, whatever was thrown.
 * @internal
 */
export function fieldOf(error: unknown, key: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[key] : undefined;
}
