// Where the one-pass reader (msgpack-simple-decode.ts) puts the binaries of the frames one
// FrameDecoder reads, when the codec shares storage (msgpackCodec's `binarySlabBytes`).
//
// A binary must not view the input: the chunk may belong to the caller, who reuses it once
// FrameDecoder.push returns, and a small binary would keep a whole socket read alive. Copying each
// binary into an ArrayBuffer of its own keeps both promises, but an ArrayBuffer over 64 bytes is an
// allocation outside V8's heap, which the garbage collector also has to free: at 1 KiB it was most
// of what a binary cost. So binaries from 65 bytes to an eighth of the slab are copied one after the
// other into a fresh, zeroed slab, and returned as views of it: one allocation per slab. A slab
// serves the binaries of one read of one connection, and is no larger than what is left of that
// read, so a binary keeps alive at most bytes its connection received with it, and an idle
// connection holds no slab.
// What that changes is said in the TSDoc of `binarySlabBytes`.

/**
 * V8 keeps typed arrays of up to 64 bytes in its heap (its `typed_array_max_size_in_heap`): an
 * allocation as cheap as a view of a slab, so such binaries get their own and keep no slab alive.
 */
const IN_HEAP_BYTES = 64;

/**
 * Copies the binaries of one read of one connection (one FrameDecoder `push`) into slabs of at most
 * `slabBytes` bytes: a FrameDecoder makes one for each read that has such binaries. @internal
 */
export class BinarySlab {
  /** The current slab: binaries are views of it, so it is never written before `used`. */
  #bytes: Uint8Array | undefined;
  #used = 0;
  /** Larger binaries get an ArrayBuffer of their own: they would waste too much of a slab's tail. */
  readonly #largestShared: number;
  readonly #slabBytes: number;

  constructor(slabBytes: number) {
    this.#slabBytes = slabBytes;
    this.#largestShared = slabBytes >>> 3;
  }

  /** `source[at, at + length)` copied out of `source`, as a Uint8Array of `source`'s kind. */
  copy(source: Uint8Array, at: number, length: number): Uint8Array {
    if (length <= IN_HEAP_BYTES || length > this.#largestShared) {
      return Uint8Array.prototype.slice.call(source, at, at + length);
    }
    let bytes = this.#bytes;
    if (bytes === undefined || this.#used + length > bytes.length) {
      // No larger than the rest of the input: a read of one small frame gets a slab of its size.
      bytes = this.#bytes = new Uint8Array(Math.min(this.#slabBytes, source.length - at));
      this.#used = 0;
    }
    const offset = this.#used;
    this.#used += length;
    bytes.set(new Uint8Array(source.buffer, source.byteOffset + at, length), offset);
    // A view of the input's kind (a Buffer over node sockets, as msgpackr would give), whatever the
    // kind of the inputs before: a frame torn across reads arrives as a Uint8Array of the decoder's.
    return new (speciesOf(source))(bytes.buffer, offset, length);
  }
}

type Uint8ArrayKind = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => Uint8Array;

/** The constructor `slice` would use for `source` (its species): Node's Buffer makes Buffers. */
function speciesOf(source: Uint8Array): Uint8ArrayKind {
  const constructor = source.constructor as { [Symbol.species]?: Uint8ArrayKind } | undefined;
  return constructor?.[Symbol.species] ?? Uint8Array;
}
