// A direct MessagePack writer for simple values: the shape of every protocol envelope
// (`[0, [0, seq, [0, payload]]]`) and of binary payloads. msgpackr's fixed cost per call (its
// output buffer's bookkeeping, a Buffer view per result, the extension lookup for a Uint8Array)
// was most of what the full stack spent encoding a frame. Anything else goes to msgpackr as before.
//
// Simple means: null, booleans, integers from -2^31 to 2^32 - 1, strings of fewer than 32 ASCII
// characters (the requests layer's 'value', 'next', ...), Uint8Arrays and Node Buffers
// (exactly; not a subclass, no `toJSON` of their own) and arrays (exactly Array, no holes) of simple values, nested at most
// MAX_SIMPLE_DEPTH deep. The bytes written are those msgpackr writes for the same value with the
// codec's options (`useRecords: false`), so which path ran is never visible to the peer.

/** Deeper values take msgpackr's path (this one recurses). @internal */
export const MAX_SIMPLE_DEPTH = 32;

/**
 * The MessagePack of `value` when it is simple and nested at most `maxDepth` arrays deep (as
 * `checkEncodable` counts them), else `undefined` (then msgpackr's path decides, and refuses).
 * @internal
 */
export function encodeSimple(value: unknown, maxDepth: number): Uint8Array | undefined {
  const limit = Math.min(maxDepth, MAX_SIMPLE_DEPTH);
  const start = slabUsed;
  const end = write(slab, start, value, 0, limit);
  if (end < 0) return undefined;
  if (end <= slab.length) {
    slabUsed = end;
    return slab.subarray(start, end);
  }
  // It ran past the slab (the positions still count, nothing was written there): once more, in
  // room of its exact size. An array whose getters answer differently this time is not simple.
  const size = end - start;
  const out = room(size);
  return write(out, 0, value, 0, limit) === size ? out : undefined;
}

/**
 * Writes the MessagePack of `value` into `out` at `pos` when it is simple and nested at most
 * `maxDepth` arrays deep; returns the position after it, or -1 when it is not simple. A result past
 * `out.length` says how much room it needs: nothing was written past the end, and what was written
 * before it is to be written again in a larger buffer.
 * @internal
 */
export function encodeSimpleInto(value: unknown, maxDepth: number, out: Uint8Array, pos: number): number {
  return write(out, pos, value, 0, Math.min(maxDepth, MAX_SIMPLE_DEPTH));
}

/**
 * Bytes handed out from one slab at a time, each range once, as msgpackr hands out views of its
 * 8 KiB output buffers: a kept result keeps its slab (16 KiB) alive, no more. V8 gives a new
 * Uint8Array of more than 64 bytes its own off-heap store, which costs more than the whole
 * encoding; a view of a slab costs an object. A slab is never written twice.
 */
const SLAB_BYTES = 16 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

/** `size` fresh bytes: a new slab's first, or a buffer of its own when large. */
function room(size: number): Uint8Array {
  if (size > SLAB_BYTES / 4) return new Uint8Array(size);
  slab = new Uint8Array(SLAB_BYTES);
  slabUsed = size;
  return slab.subarray(0, size);
}

/**
 * Writes a simple value at `pos`; returns the position after it, or -1 when it is not simple.
 * Past the end of `out` it writes nothing but still counts (a typed array drops such writes).
 */
function write(out: Uint8Array, pos: number, value: unknown, depth: number, limit: number): number {
  if (typeof value === 'number') return writeInt(out, pos, value);
  if (value === null) {
    out[pos] = 0xc0;
    return pos + 1;
  }
  if (typeof value === 'boolean') {
    out[pos] = value ? 0xc3 : 0xc2;
    return pos + 1;
  }
  if (typeof value === 'string') return writeShortAscii(out, pos, value);
  const kind = containerKind(value);
  if (kind === 'bytes') {
    const bytes = value as Uint8Array;
    pos = writeBinaryHeader(out, pos, bytes.length);
    if (pos + bytes.length <= out.length) out.set(bytes, pos);
    return pos + bytes.length;
  }
  if (kind !== 'array' || depth >= limit) return -1;
  const array = value as unknown[];
  const length = array.length;
  pos = writeArrayHeader(out, pos, length);
  for (let i = 0; i < length && pos >= 0; i++) pos = write(out, pos, array[i], depth + 1, limit);
  return pos;
}

/** A string of fewer than 32 ASCII characters as a fixstr, as msgpackr writes it; else -1. */
function writeShortAscii(out: Uint8Array, pos: number, text: string): number {
  const length = text.length;
  if (length >= 0x20) return -1;
  out[pos++] = 0xa0 | length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return -1;
    out[pos++] = code;
  }
  return pos;
}

/** Node's Buffer, where there is one: its instances are binaries too. */
const NodeBuffer = (globalThis as { Buffer?: { prototype: object } }).Buffer;
const BUFFER_PROTOTYPE = NodeBuffer?.prototype as { toJSON?: unknown } | undefined;

/**
 * A plain Uint8Array or Node Buffer (`'bytes'`) or a plain array, as msgpackr tells them (by
 * `constructor`), and not a subclass; `undefined` for anything else. A binary whose `toJSON` is
 * not its class's own goes to msgpackr too, which writes what that `toJSON` returns.
 */
function containerKind(value: unknown): 'bytes' | 'array' | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Array.prototype && Array.isArray(value)) {
    return value.constructor === Array ? 'array' : undefined;
  }
  if (proto === Uint8Array.prototype) return plainBinary(value, Uint8Array, undefined);
  // A decoded binary is a Buffer when the frame came in one (from a socket): an echo sends it on.
  if (proto === BUFFER_PROTOTYPE && BUFFER_PROTOTYPE)
    return plainBinary(value, NodeBuffer, BUFFER_PROTOTYPE.toJSON);
  return undefined;
}

/** `'bytes'` when `value` has the binary class's own constructor and `toJSON`. */
function plainBinary(value: object, constructor: unknown, toJSON: unknown): 'bytes' | undefined {
  const { toJSON: own } = value as { toJSON?: unknown };
  return value.constructor === constructor && own === toJSON ? 'bytes' : undefined;
}

/** An array's header: fixarray below 16, else array 16 or array 32. */
function writeArrayHeader(out: Uint8Array, pos: number, length: number): number {
  if (length < 0x10) {
    out[pos] = 0x90 | length;
    return pos + 1;
  }
  return writeLength(out, pos, length, 0xdc, 0xdd);
}

/** A binary's header: bin 8 below 256, else bin 16 or bin 32. */
function writeBinaryHeader(out: Uint8Array, pos: number, length: number): number {
  if (length < 0x100) {
    out[pos] = 0xc4;
    out[pos + 1] = length;
    return pos + 2;
  }
  return writeLength(out, pos, length, 0xc5, 0xc6);
}

/** `two` and a 16-bit length below 65,536, else `four` and a 32-bit one. */
function writeLength(out: Uint8Array, pos: number, length: number, two: number, four: number): number {
  if (length < 0x10000) {
    out[pos] = two;
    out[pos + 1] = length >>> 8;
    out[pos + 2] = length & 0xff;
    return pos + 3;
  }
  out[pos] = four;
  writeUint32(out, pos + 1, length);
  return pos + 5;
}

function writeInt(out: Uint8Array, pos: number, value: number): number {
  if (value >>> 0 === value) {
    if (value < 0x80) {
      out[pos] = value;
      return pos + 1;
    }
    if (value < 0x100) {
      out[pos] = 0xcc;
      out[pos + 1] = value;
      return pos + 2;
    }
    if (value < 0x10000) {
      out[pos] = 0xcd;
      out[pos + 1] = value >>> 8;
      out[pos + 2] = value & 0xff;
      return pos + 3;
    }
    out[pos] = 0xce;
    writeUint32(out, pos + 1, value);
    return pos + 5;
  }
  if (value >> 0 !== value) return -1;
  if (value >= -0x20) {
    out[pos] = 0x100 + value;
    return pos + 1;
  }
  if (value >= -0x80) {
    out[pos] = 0xd0;
    out[pos + 1] = value + 0x100;
    return pos + 2;
  }
  if (value >= -0x8000) {
    out[pos] = 0xd1;
    out[pos + 1] = (value >> 8) & 0xff;
    out[pos + 2] = value & 0xff;
    return pos + 3;
  }
  out[pos] = 0xd2;
  writeUint32(out, pos + 1, value >>> 0);
  return pos + 5;
}

function writeUint32(out: Uint8Array, pos: number, value: number): void {
  out[pos] = value >>> 24;
  out[pos + 1] = (value >>> 16) & 0xff;
  out[pos + 2] = (value >>> 8) & 0xff;
  out[pos + 3] = value & 0xff;
}
