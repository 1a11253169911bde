import { DECODED_COST, stringCost, type MsgpackLimits } from './msgpack-check.js';
import { MAX_SIMPLE_DEPTH } from './msgpack-simple.js';
import type { BinarySlab } from './binary-slab.js';

// A direct MessagePack reader for simple values, the counterpart of msgpack-simple.ts: checking a
// frame (checkMsgpack) and then decoding it (msgpackr) read every byte twice, and msgpackr's fixed
// cost per call was most of what a small envelope took to decode. This reads, checks and builds in
// one pass, and gives up at the first byte it does not take: then `msgpackCodec` checks and
// decodes the frame as before, so every error (and which frames are refused) comes from that path.
//
// It takes what msgpack-simple.ts writes: nil, booleans, integers of 32 bits at most (fixint,
// uint 8/16/32, int 8/16/32), fixstrs of ASCII characters, binaries and arrays, nested at most
// MAX_SIMPLE_DEPTH deep (and `maxDepth`), with the same decode budget as checkMsgpack, and builds
// what msgpackr builds from them with the codec's options (binaries copied out of the input as
// msgpackr's `copyBuffers` copies them, or into the slab the caller gives: see binary-slab.ts). It
// gives up on truncated data, trailing bytes, an array longer than the bytes left, and a decoded
// size over budget, before allocating anything for them; what it built of a frame it gives up on
// is no more than the bytes read so far decode to.

/**
 * Larger frames take the full path: for them msgpackr's fixed cost does not matter, and a large
 * frame given up on late (its last byte refused) is never built twice, even in part.
 * @internal
 */
export const MAX_SIMPLE_FRAME_BYTES = 64 * 1024;

/** What {@link decodeSimple} returns for a frame it leaves to the full path. @internal */
export const NOT_SIMPLE: unique symbol = Symbol('not simple');

const EMPTY = new Uint8Array(0);

// The reader's state, for the one synchronous call under way (nothing it calls can re-enter it):
// module variables instead of an object per frame. `source` is let go at the end of each call.
let source: Uint8Array = EMPTY;
let pos = 0;
let end = 0;
let cost = 0;
let budget = 0;
let depthLimit = 0;
let slab: BinarySlab | undefined;

/**
 * The value of `bytes[start, end)` when it is one simple value (see above) within `limits` and
 * the range is at most {@link MAX_SIMPLE_FRAME_BYTES}, else {@link NOT_SIMPLE}. Binaries are
 * copied into `binaries` when given, else each into an ArrayBuffer of its own.
 * @internal
 */
export function decodeSimple(
  bytes: Uint8Array,
  limits: MsgpackLimits,
  start: number,
  stop: number,
  binaries?: BinarySlab,
): unknown {
  if (stop - start > MAX_SIMPLE_FRAME_BYTES) return NOT_SIMPLE;
  source = bytes;
  slab = binaries;
  pos = start;
  end = stop;
  cost = 0;
  budget = Math.max(limits.minDecodeBudget, limits.maxInflation * (stop - start));
  depthLimit = Math.min(limits.maxDepth, MAX_SIMPLE_DEPTH);
  let value = read(0);
  if (pos !== end) value = NOT_SIMPLE;
  source = EMPTY;
  slab = undefined;
  return value;
}

/** Reads one value at `pos`, `depth` arrays deep; {@link NOT_SIMPLE} when it is not simple. */
function read(depth: number): unknown {
  if (pos >= end) return NOT_SIMPLE;
  const token = source[pos++]!;
  if (token < 0x80) return token; // positive fixint
  if (token >= 0xe0) return token - 0x100; // negative fixint
  if (token >= 0x90 && token < 0xa0) return readArray(token & 0x0f, depth);
  if (token >= 0xa0 && token < 0xc0) return readShortAscii(token & 0x1f);
  switch (token) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4: // bin 8
      return readBinary(readUint(1));
    case 0xc5: // bin 16
      return readBinary(readUint(2));
    case 0xc6: // bin 32
      return readBinary(readUint(4));
    case 0xcc: // uint 8
      return unsigned(readUint(1));
    case 0xcd: // uint 16
      return unsigned(readUint(2));
    case 0xce: {
      // uint 32: from 2^31 on, not a small integer in V8
      const value = readUint(4);
      if (value >= 0x80000000) cost += DECODED_COST.number;
      return cost > budget ? NOT_SIMPLE : unsigned(value);
    }
    case 0xd0: // int 8
      return signed(readUint(1), 0x80);
    case 0xd1: // int 16
      return signed(readUint(2), 0x8000);
    case 0xd2: // int 32
      return signed(readUint(4), 0x80000000);
    case 0xdc: // array 16
      return readArray(readUint(2), depth);
    case 0xdd: // array 32
      return readArray(readUint(4), depth);
    default:
      return NOT_SIMPLE;
  }
}

/** Reads `count` items into a new array; `count` is -1 when its length was cut short. */
function readArray(count: number, depth: number): unknown {
  if (count < 0 || depth >= depthLimit) return NOT_SIMPLE;
  // Every item takes at least one byte: a count the data cannot hold is a truncation.
  if (count > end - pos) return NOT_SIMPLE;
  cost += DECODED_COST.array + count * DECODED_COST.slot;
  if (cost > budget) return NOT_SIMPLE;
  // Grown item by item, not allocated at its announced length: a frame given up on part-way (a
  // map at the end of a long array) then has cost only what was read of it.
  const array: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const item = read(depth + 1);
    if (item === NOT_SIMPLE) return NOT_SIMPLE;
    array.push(item);
  }
  return array;
}

/** A fixstr's `length` bytes when all are ASCII (a string msgpack-simple.ts writes), else not simple. */
function readShortAscii(length: number): unknown {
  if (length > end - pos) return NOT_SIMPLE;
  cost += stringCost(length);
  if (cost > budget) return NOT_SIMPLE;
  // Built a character at a time: for strings this short, faster than fromCharCode.apply on a view.
  let text = '';
  for (let i = pos; i < pos + length; i++) {
    const code = source[i]!;
    if (code >= 0x80) return NOT_SIMPLE;
    text += String.fromCharCode(code);
  }
  pos += length;
  return text;
}

/** Copies `length` bytes out of the input (into the slab if given), of the input's kind. */
function readBinary(length: number): unknown {
  if (length < 0 || length > end - pos) return NOT_SIMPLE;
  cost += DECODED_COST.binary + length;
  if (cost > budget) return NOT_SIMPLE;
  const bytes = slab
    ? slab.copy(source, pos, length)
    : Uint8Array.prototype.slice.call(source, pos, pos + length);
  pos += length;
  return bytes;
}

/** A big-endian unsigned integer of `size` bytes at `pos`, or -1 when the data ends first. */
function readUint(size: 1 | 2 | 4): number {
  if (size > end - pos) return -1;
  const at = pos;
  pos += size;
  if (size === 1) return source[at]!;
  if (size === 2) return (source[at]! << 8) | source[at + 1]!;
  return ((source[at]! << 24) | (source[at + 1]! << 16) | (source[at + 2]! << 8) | source[at + 3]!) >>> 0;
}

/** {@link NOT_SIMPLE} for a length or integer that was cut short (-1). */
function unsigned(value: number): unknown {
  return value < 0 ? NOT_SIMPLE : value;
}

/** `value` of a two's complement width whose sign bit is `signBit`; -1 (cut short) gives up. */
function signed(value: number, signBit: number): unknown {
  if (value < 0) return NOT_SIMPLE;
  return value >= signBit ? value - 2 * signBit : value;
}
