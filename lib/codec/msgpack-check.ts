import { DecodeBudgetError } from './errors.js';

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
// Decoded size: a byte of MessagePack can become 64 bytes of heap (an empty map) or more, so the
// byte cap on frames does not bound memory. The same walk adds up an estimate of what each value
// will cost once msgpackr builds it, and refuses the frame as soon as the estimate passes the
// frame's budget, before msgpackr allocates anything. Measured on Node 20.20 (x64, V8 11.3, no
// pointer compression): arrays of 200,000 copies of one value decoded with this codec's msgpackr
// options, `process.memoryUsage()` heapUsed + arrayBuffers after `gc()` (node --expose-gc), in
// bytes per item, its 8-byte array slot included:
//
// - nil, booleans, fixint, int 32, undefined: 8
// - uint 32 from 2^31, float 32, float 64: 24; int 64 as bigint 32, as string 48, as number 24
// - strings: of 0 or 1 byte 8-10 (V8 caches them); 'xy' 33; '€' 32; 31 ASCII 71; 1000 ASCII 1042
// - binaries of 0, 1, 64 and 1000 bytes: 192, 216, 272, 1229
// - Dates: 104, and 120 for an invalid one
// - arrays: [] 40, [1] 63, [1, 2, 3, 4] 88
// - maps: {} 64, {a: 1} 68, five keys 101; one map of 100 or 60,000 keys: 62 or 58 per key
//
// DECODED_COST rounds each kind up, and counts a string at 2 bytes per byte of UTF-8, since one
// character outside Latin-1 makes V8 store the whole string in UTF-16. Ordinary data comes to at
// most about 24 times its bytes (pairs of small integers: 72 bytes for the 3 of [1, 2]); a frame
// of empty maps reaches 64 times, and one of empty binaries 96. Not counted: V8's hidden classes,
// shared by objects with the same keys in the same order; a peer that gives every object a key of
// its own adds about 120 bytes per object (208 measured for a one-key map, 88 estimated).
// For comparison, JSON.parse of 16 MiB of `[{},{},...]` took 357 MiB (22 times its bytes).
//
// Encoding: with `moreTypes: false`, msgpackr writes a typed array with multi-byte elements
// (Float32Array, Uint16Array, ...) as a binary of the right length but copies element values, not
// bytes, and leaves the rest of the binary as whatever its reused output buffer held: earlier
// frames, possibly sent to another peer. It writes a DataView as an empty binary, and a Map with an
// object key as a map no decoder can read back. A walk of the value refuses those before packing,
// and bounds the depth (a cycle included) so what one side encodes the other side decodes.

/** The deepest nesting of arrays and maps accepted by default. */
export const DEFAULT_MAX_DEPTH = 1000;

/** The default `maxInflation`: estimated bytes of memory per byte of frame. */
export const DEFAULT_MAX_INFLATION = 32;

/** The default `minDecodeBudget`: the estimated memory any frame may take, whatever its size. */
export const DEFAULT_MIN_DECODE_BUDGET = 1024 * 1024;

// Estimated bytes of memory of decoded values, by kind (measured above); constants, which a
// bundler writes in where they are used, and gathered in DECODED_COST for the one-pass decoder.
/** One slot of an array: every element takes one, whatever it holds. */
const SLOT_COST = 8;
/** An array (its object and its backing store's header), before its slots. */
const ARRAY_COST = 48;
/** A map: a plain object with room for 4 properties in itself. */
const MAP_COST = 56;
/** Each key of a map past the 4th: a dictionary entry with its value. */
const MAP_ENTRY_COST = 56;
/** A string of 2 bytes or more, before its characters (2 bytes per byte of UTF-8). */
const STRING_COST = 24;
/** A binary (Uint8Array and its ArrayBuffer), before its bytes. */
const BINARY_COST = 200;
/** A number that is not a 32-bit integer: a double outside the array slot. */
const NUMBER_COST = 16;
/** A Date. */
const DATE_COST = 112;
/** A 64-bit integer, by `int64AsType`. */
const INT64_COST = Object.freeze({ bigint: 24, string: 40, number: 16 });

/** Estimated bytes of memory of decoded values, by kind (measured above). @internal */
export const DECODED_COST = /* @__PURE__ */ Object.freeze({
  slot: SLOT_COST,
  array: ARRAY_COST,
  map: MAP_COST,
  mapEntry: MAP_ENTRY_COST,
  string: STRING_COST,
  binary: BINARY_COST,
  number: NUMBER_COST,
  date: DATE_COST,
  int64: INT64_COST,
});

/** What {@link checkMsgpack} accepts. @internal */
export interface MsgpackLimits {
  /** The deepest nesting of arrays and maps. */
  readonly maxDepth: number;
  /** Estimated bytes of memory allowed per byte of frame. */
  readonly maxInflation: number;
  /** Estimated bytes of memory allowed for any frame, however small. */
  readonly minDecodeBudget: number;
  /** How a 64-bit integer decodes, which sets its estimated cost. */
  readonly int64AsType: keyof typeof INT64_COST;
}

/** Extension type of msgpackr's `undefined` (written as fixext 1: `d4 00 00`). */
const EXT_UNDEFINED = 0x00;
/**
 * Extension type -1: MessagePack timestamps (4, 8 or 12 bytes of data), decoded as `Date`;
 * msgpackr writes an invalid date with 1 byte.
 */
const EXT_TIMESTAMP = 0xff;

// What the first byte of a value says: its kind, and its size or how to read it, from two tables
// (below) instead of a switch over the 256 bytes, so that the check's loop stays short and its
// state in local variables.
/** Nothing follows: fixint, nil, false, true, and byte 0xc1, which MessagePack never uses. */
const BARE = 0;
const STRING = 1;
const BINARY = 2;
/** Float 32 and 64: a double outside the array slot. */
const FLOAT = 3;
/** Integers of 8 to 32 bits but uint 32: small integers in V8. */
const INT = 4;
/** uint 32: from 2^31 on, not a small integer in V8. */
const UINT32 = 5;
/** uint 64, int 64: decoded by `int64AsType`. */
const INT64 = 6;
const EXTENSION = 7;
const ARRAY = 8;
const MAP = 9;

/** The kind of value each first byte starts. */
const KIND = new Uint8Array(256);
/**
 * Each first byte's size, when it says it: a payload's bytes, an array's items or a map's keys;
 * -n when its size follows in a length field of n bytes.
 */
const SIZE = new Int8Array(256);

/** The sizes 0 to n - 1: those of the fix forms, which hold their size in their low bits. */
const fixSizes = (n: number): number[] => [...Array(n).keys()];

/**
 * Every form but the fixints, nil, false and true: `[first byte, kind, sizes]`, a form per size
 * from the first byte on (each size as in {@link SIZE}).
 */
const FORMS: readonly (readonly number[])[] = [
  [0x80, MAP, ...fixSizes(16)], // fixmap
  [0x90, ARRAY, ...fixSizes(16)], // fixarray
  [0xa0, STRING, ...fixSizes(32)], // fixstr
  [0xc4, BINARY, -1, -2, -4], // bin 8, 16, 32
  [0xc7, EXTENSION, -1, -2, -4], // ext 8, 16, 32
  [0xca, FLOAT, 4, 8], // float 32, 64
  [0xcc, INT, 1, 2], // uint 8, 16
  [0xce, UINT32, 4],
  [0xcf, INT64, 8], // uint 64
  [0xd0, INT, 1, 2, 4], // int 8, 16, 32
  [0xd3, INT64, 8], // int 64
  [0xd4, EXTENSION, 1, 2, 4, 8, 16], // fixext 1, 2, 4, 8, 16
  [0xd9, STRING, -1, -2, -4], // str 8, 16, 32
  [0xdc, ARRAY, -2, -4], // array 16, 32
  [0xde, MAP, -2, -4], // map 16, 32
];

for (const [first, kind, ...sizes] of FORMS) {
  let token = first!;
  for (const size of sizes) {
    KIND[token] = kind!;
    SIZE[token++] = size;
  }
}

/**
 * Throws an `Error` naming the byte position (counted from `start`) and the problem unless
 * `bytes[start, end)` hold exactly one MessagePack value made only of nil, booleans, numbers,
 * strings, binaries, arrays, maps, the `undefined` extension and timestamps, nested at most
 * `maxDepth` arrays and maps deep; throws a {@link DecodeBudgetError} as soon as the estimated
 * memory of the decoded value passes the frame's budget (`maxInflation` times its bytes, at least
 * `minDecodeBudget`). Runs in O(end - start) time and O(depth) memory, without recursion.
 * @internal
 */
export function checkMsgpack(bytes: Uint8Array, limits: MsgpackLimits, start = 0, end = bytes.length): void {
  const budget = Math.max(limits.minDecodeBudget, limits.maxInflation * (end - start));
  const int64Cost = INT64_COST[limits.int64AsType];
  let cost = 0;
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
    if (token < 0x80) continue; // positive fixint, the commonest: a shortcut
    const kind = KIND[token]!;
    if (kind === BARE) {
      if (token === 0xc1) throw invalidAt(at - start, 'byte 0xc1 is never used in MessagePack');
      continue;
    }
    let size = SIZE[token]!;
    if (size < 0) {
      const lengthBytes = -size;
      size = readUint(bytes, end, pos, lengthBytes, at - start);
      pos += lengthBytes;
    }
    if (kind === EXTENSION) {
      if (pos >= end) throw invalidAt(at - start, 'the data ends inside an extension');
      cost += extensionCost(token, size, bytes[pos++]!, at - start);
    } else {
      cost += valueCost(kind, size, int64Cost, bytes, pos, end);
    }
    if (kind >= ARRAY) {
      const items = kind === MAP ? size * 2 : size;
      if (enclosing.length >= limits.maxDepth) {
        throw invalidAt(at - start, `arrays and maps are nested more than ${limits.maxDepth} deep`);
      }
      // Every item takes at least one byte: a count the data cannot hold is a truncation.
      if (items > end - pos) throw invalidAt(at - start, `a container of ${items} items is cut short`);
      if (cost > budget) throw overBudget(limits, end - start, at - start, cost, budget);
      if (items > 0) {
        enclosing.push(pending);
        pending = items;
      }
      continue;
    }
    if (size > end - pos)
      throw invalidAt(at - start, `the value needs ${bytesOf(size)}, more than the data holds`);
    if (cost > budget) throw overBudget(limits, end - start, at - start, cost, budget);
    pos += size;
  }
  if (pos !== end) throw invalidAt(pos - start, `${bytesOf(end - pos)} of trailing data after the value`);
}

/**
 * The estimated memory of a value of a `kind` other than an extension, by its `size`: bytes of a
 * string, binary or number (which start at `bytes[pos]`), items of an array, keys of a map.
 */
function valueCost(
  kind: number,
  size: number,
  int64Cost: number,
  bytes: Uint8Array,
  pos: number,
  end: number,
): number {
  switch (kind) {
    case STRING:
      return stringCost(size);
    case BINARY:
      return BINARY_COST + size;
    case FLOAT:
      return NUMBER_COST;
    case UINT32:
      return pos < end && bytes[pos]! >= 0x80 ? NUMBER_COST : 0;
    case INT64:
      return int64Cost;
    case ARRAY:
      // The object and its backing store's header, and a slot per item.
      return ARRAY_COST + size * SLOT_COST;
    case MAP:
      // The object, and a dictionary entry per key past the 4th.
      return MAP_COST + (size > 4 ? (size - 4) * MAP_ENTRY_COST : 0);
    default:
      return 0;
  }
}

/**
 * The estimated memory of an extension of `size` bytes of data and of type `type` (its byte after
 * the length); throws unless it is msgpackr's `undefined` (fixext 1 of type 0) or a timestamp
 * (type -1 with 4, 8 or 12 bytes, or a fixext 1: an invalid date).
 */
function extensionCost(token: number, size: number, type: number, at: number): number {
  const isUndefined = type === EXT_UNDEFINED && token === 0xd4;
  const isTimestamp =
    type === EXT_TIMESTAMP && (size === 4 || size === 8 || size === 12 || (size === 1 && token === 0xd4));
  if (!isUndefined && !isTimestamp) {
    throw invalidAt(
      at,
      `extension type ${extensionName(type)} with ${bytesOf(size)} is not accepted ` +
        '(only undefined and timestamps are)',
    );
  }
  return isTimestamp ? DATE_COST : 0;
}

/**
 * A string of `bytes` bytes of UTF-8; V8 keeps the empty and one-character strings in a cache.
 * @internal
 */
export function stringCost(bytes: number): number {
  return bytes < 2 ? 0 : STRING_COST + 2 * bytes;
}

/** The error for a frame of `frameBytes` whose estimate, at byte `at` of it, passed its budget. */
function overBudget(
  limits: MsgpackLimits,
  frameBytes: number,
  at: number,
  estimate: number,
  budget: number,
): DecodeBudgetError {
  return new DecodeBudgetError(
    `Decoded size over budget at byte ${at}: this ${bytesOf(frameBytes)} of MessagePack ` +
      `would take more than ${estimate} bytes of memory; the budget is ${budget} ` +
      `(maxInflation ${limits.maxInflation} × ${frameBytes}, at least minDecodeBudget ` +
      `${limits.minDecodeBudget})`,
    { frameBytes, estimate, budget },
  );
}

/** The big-endian length field of `size` bytes (1, 2 or 4) at `pos`; throws if the data ends first. */
function readUint(bytes: Uint8Array, end: number, pos: number, size: number, at: number): number {
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
 * for arrays, objects, maps, sets, errors and regular expressions nested more than `maxDepth` deep
 * (or a cycle).
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
    throw new TypeError(
      `Cannot encode a ${viewName(value)}: msgpackr would not write its bytes; send ` +
        'new Uint8Array(view.buffer, view.byteOffset, view.byteLength), which decodes as a Uint8Array',
    );
  }
  // A Date is written as a timestamp, an ArrayBuffer as a binary: leaves. A RegExp is written as
  // [source, flags], a level like any array.
  if (value instanceof Date || value instanceof ArrayBuffer) return;
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

/**
 * Views with multi-byte elements, by name: the name comes from this list, never from the value,
 * whose `constructor` may be anything (describing a value must not run its code).
 */
const MULTI_BYTE_VIEWS = [
  Float32Array,
  Float64Array,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
] as const;

function viewName(view: ArrayBufferView): string {
  return MULTI_BYTE_VIEWS.find((type) => view instanceof type)?.name ?? 'typed array';
}

function enter(depth: number, maxDepth: number): void {
  if (depth >= maxDepth) {
    throw new RangeError(
      `Cannot encode: arrays and objects are nested more than ${maxDepth} deep (or form a cycle)`,
    );
  }
}
