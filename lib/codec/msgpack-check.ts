// Checks around msgpackr, which is fast but trusts its input in both directions.
//
// Decoding: msgpackr's decoder is recursive and honours every extension it knows, whatever the
// options: record definitions (ext 0x72) even with `useRecords: false` (compiled with
// `new Function` once reused), error objects (ext 0x65) whose constructor is looked up by a
// peer-chosen name in a plain object (so 'constructor', 'valueOf' or '__lookupGetter__' reach
// Object.prototype), regular expressions, sets, typed arrays, bundled strings, and the reserved
// byte 0xc1, which it turns into a sentinel object. `checkMsgpack` accepts only the MessagePack
// that `msgpackCodec` itself writes, so none of that is reachable, and it is iterative, so a
// hostile nesting depth is refused with a clear message instead of overflowing the stack.
//
// Encoding: with `moreTypes: false`, msgpackr writes a typed array with multi-byte elements
// (Float32Array, Uint16Array, ...) as a binary of the right length but copies element values, not
// bytes, and leaves the rest of the binary as whatever its reused output buffer held: earlier
// frames, possibly sent to another peer. It writes a DataView as an empty binary, and a Map with an
// object key as a map no decoder can read back. A walk of the value refuses those before packing,
// and bounds the depth (a cycle included) so what one side encodes the other side decodes.

/** The deepest nesting of arrays and maps accepted by default. */
export const DEFAULT_MAX_DEPTH = 1000;

/** Extension type of msgpackr's `undefined` (written as fixext 1: `d4 00 00`). */
const EXT_UNDEFINED = 0x00;
/**
 * Extension type -1: MessagePack timestamps (4, 8 or 12 bytes of data), decoded as `Date`;
 * msgpackr writes an invalid date with 1 byte.
 */
const EXT_TIMESTAMP = 0xff;

/**
 * Throws an `Error` naming the byte position (counted from `start`) and the problem unless
 * `bytes[start, end)` hold exactly one MessagePack value made only of nil, booleans, numbers,
 * strings, binaries, arrays, maps, the `undefined` extension and timestamps, nested at most
 * `maxDepth` arrays and maps deep. Runs in O(end - start) time and O(depth) memory, without
 * recursion.
 * @internal
 */
export function checkMsgpack(bytes: Uint8Array, maxDepth: number, start = 0, end = bytes.length): void {
  let pos = start;
  // Values still to read in the innermost open array or map; at the top level, exactly one.
  let pending = 1;
  // The `pending` count of each enclosing container, innermost last.
  const enclosing: number[] = [];
  for (;;) {
    if (pending === 0) {
      const outer = enclosing.pop();
      if (outer === undefined) break;
      pending = outer;
      continue;
    }
    pending--;
    if (pos >= end) throw invalidAt(pos - start, 'the data ends inside a value');
    const at = pos;
    const token = bytes[pos++]!;
    if (token < 0x80 || token >= 0xe0) continue; // fixint
    let count = -1; // items of an array or map (a map's keys and values both count)
    let skip = 0; // bytes of a string, binary or number payload
    let extLength = -1;
    if (token < 0x90) count = (token & 0x0f) * 2;
    else if (token < 0xa0) count = token & 0x0f;
    else if (token < 0xc0) skip = token & 0x1f;
    else {
      switch (token) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          continue;
        case 0xc1:
          throw invalidAt(at - start, 'byte 0xc1 is never used in MessagePack');
        case 0xc4: // bin 8
        case 0xd9: // str 8
          skip = readUint(bytes, end, pos, 1, at - start);
          pos += 1;
          break;
        case 0xc5: // bin 16
        case 0xda: // str 16
          skip = readUint(bytes, end, pos, 2, at - start);
          pos += 2;
          break;
        case 0xc6: // bin 32
        case 0xdb: // str 32
          skip = readUint(bytes, end, pos, 4, at - start);
          pos += 4;
          break;
        case 0xc7: // ext 8
          extLength = readUint(bytes, end, pos, 1, at - start);
          pos += 1;
          break;
        case 0xc8: // ext 16
          extLength = readUint(bytes, end, pos, 2, at - start);
          pos += 2;
          break;
        case 0xc9: // ext 32
          extLength = readUint(bytes, end, pos, 4, at - start);
          pos += 4;
          break;
        case 0xcc: // uint 8
        case 0xd0: // int 8
          skip = 1;
          break;
        case 0xcd: // uint 16
        case 0xd1: // int 16
          skip = 2;
          break;
        case 0xca: // float 32
        case 0xce: // uint 32
        case 0xd2: // int 32
          skip = 4;
          break;
        case 0xcb: // float 64
        case 0xcf: // uint 64
        case 0xd3: // int 64
          skip = 8;
          break;
        case 0xd4: // fixext 1
          extLength = 1;
          break;
        case 0xd5: // fixext 2
          extLength = 2;
          break;
        case 0xd6: // fixext 4
          extLength = 4;
          break;
        case 0xd7: // fixext 8
          extLength = 8;
          break;
        case 0xd8: // fixext 16
          extLength = 16;
          break;
        case 0xdc: // array 16
          count = readUint(bytes, end, pos, 2, at - start);
          pos += 2;
          break;
        case 0xdd: // array 32
          count = readUint(bytes, end, pos, 4, at - start);
          pos += 4;
          break;
        case 0xde: // map 16
          count = readUint(bytes, end, pos, 2, at - start) * 2;
          pos += 2;
          break;
        default: // 0xdf: map 32
          count = readUint(bytes, end, pos, 4, at - start) * 2;
          pos += 4;
          break;
      }
    }
    if (count >= 0) {
      if (enclosing.length >= maxDepth) {
        throw invalidAt(at - start, `arrays and maps are nested more than ${maxDepth} deep`);
      }
      // Every item takes at least one byte: a count the data cannot hold is a truncation.
      if (count > end - pos) throw invalidAt(at - start, `a container of ${count} items is cut short`);
      if (count > 0) {
        enclosing.push(pending);
        pending = count;
      }
      continue;
    }
    if (extLength >= 0) {
      if (pos >= end) throw invalidAt(at - start, 'the data ends inside an extension');
      const type = bytes[pos++]!;
      const accepted =
        (type === EXT_UNDEFINED && token === 0xd4) ||
        (type === EXT_TIMESTAMP &&
          (extLength === 4 || extLength === 8 || extLength === 12 || (extLength === 1 && token === 0xd4)));
      if (!accepted) {
        throw invalidAt(
          at - start,
          `extension type ${extensionName(type)} with ${bytesOf(extLength)} is not accepted ` +
            '(only undefined and timestamps are)',
        );
      }
      skip = extLength;
    }
    if (skip > end - pos)
      throw invalidAt(at - start, `the value needs ${bytesOf(skip)}, more than the data holds`);
    pos += skip;
  }
  if (pos !== end) throw invalidAt(pos - start, `${bytesOf(end - pos)} of trailing data after the value`);
}

function readUint(bytes: Uint8Array, end: number, pos: number, size: 1 | 2 | 4, at: number): number {
  if (size > end - pos) throw invalidAt(at, 'the data ends inside a length');
  if (size === 1) return bytes[pos]!;
  if (size === 2) return (bytes[pos]! << 8) | bytes[pos + 1]!;
  return ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0;
}

function extensionName(type: number): string {
  const signed = type > 0x7f ? type - 0x100 : type;
  return `${signed} (0x${type.toString(16).padStart(2, '0')})`;
}

function bytesOf(count: number): string {
  return count === 1 ? '1 byte' : `${count} bytes`;
}

function invalidAt(at: number, what: string): Error {
  return new Error(`Invalid MessagePack at byte ${at}: ${what}`);
}

/**
 * Throws unless msgpackr (`moreTypes: false`) writes `value` faithfully and {@link checkMsgpack}
 * accepts what it writes: a `TypeError` for a typed array with multi-byte elements, a DataView,
 * or a Map key that is not a string, number, boolean, bigint, null or undefined; a `RangeError`
 * for arrays, objects, maps, sets and errors nested more than `maxDepth` deep (or a cycle).
 * @internal
 */
export function checkEncodable(value: unknown, maxDepth: number): void {
  visit(value, 0, maxDepth);
}

function visit(value: unknown, depth: number, maxDepth: number): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    enter(depth, maxDepth);
    for (let i = 0; i < value.length; i++) visit(value[i], depth + 1, maxDepth);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    enter(depth, maxDepth);
    const object = value as Record<string, unknown>;
    for (const key in object) visit(object[key], depth + 1, maxDepth);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    if (value instanceof Uint8Array || value instanceof Int8Array || value instanceof Uint8ClampedArray)
      return;
    const name = value.constructor.name;
    throw new TypeError(
      `Cannot encode a ${name}: msgpackr would not write its bytes. Send a Uint8Array of them ` +
        '(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)); it decodes as a Uint8Array',
    );
  }
  if (value instanceof Date || value instanceof RegExp || value instanceof ArrayBuffer) return;
  enter(depth, maxDepth);
  if (value instanceof Map) {
    for (const [key, entry] of value as Map<unknown, unknown>) {
      if (typeof key === 'object' ? key !== null : typeof key === 'function' || typeof key === 'symbol') {
        throw new TypeError(
          `Cannot encode a Map with a ${typeof key} key: maps decode as objects, whose keys are strings`,
        );
      }
      visit(entry, depth + 1, maxDepth);
    }
    return;
  }
  if (value instanceof Set) {
    for (const entry of value as Set<unknown>) visit(entry, depth + 1, maxDepth);
    return;
  }
  if (value instanceof Error) {
    // Written as [name, message, cause].
    visit(value.cause, depth + 1, maxDepth);
    return;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // msgpackr writes what toJSON returns in place of the object; counting it as a level keeps a
    // chain of toJSON results finite.
    visit(toJSON.call(value), depth + 1, maxDepth);
    return;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) visit(object[key], depth + 1, maxDepth);
}

function enter(depth: number, maxDepth: number): void {
  if (depth >= maxDepth) {
    throw new RangeError(
      `Cannot encode: arrays and objects are nested more than ${maxDepth} deep (or form a cycle)`,
    );
  }
}
