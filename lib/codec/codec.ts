import { Packr } from 'msgpackr';
import { checkKnownOptions, checkNumber, checkOneOf, type KnownOptions } from '../internal/validate.js';
import {
  checkEncodable,
  checkMsgpack,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_INFLATION,
  DEFAULT_MIN_DECODE_BUDGET,
  type MsgpackLimits,
} from './msgpack-check.js';
import type { Codec } from '../core/codec.js';
import type { BinarySlab } from './binary-slab.js';
import { withOnePass } from './one-pass.js';

export type { Codec } from '../core/codec.js';
// Where the codec's one-pass paths are: none in a browser bundle (see one-pass.ts).
export { directEncoderOf, slabDecoderOf } from './one-pass.js';

/**
 * Options of {@link msgpackCodec}.
 *
 * @example
 * ```ts
 * import { msgpackCodec, type MsgpackCodecOptions } from 'rx-lifeline';
 * const options: MsgpackCodecOptions = { int64AsType: 'string' };
 * const codec = msgpackCodec(options);
 * ```
 * @category Codec
 */
export interface MsgpackCodecOptions {
  /**
   * How 64-bit integers decode: `'number'` (loses precision past 2^53), `'bigint'` or `'string'`.
   * It does not change how integers up to 32 bits decode: always as numbers.
   * @default 'bigint'
   */
  int64AsType?: 'number' | 'bigint' | 'string';
  /**
   * The deepest nesting of arrays and maps (objects) accepted, both ways: `decode` refuses deeper
   * input before building any of it, and `encode` refuses to produce it, so whatever one side
   * encodes the other decodes.
   * @default 1000
   */
  maxDepth?: number;
  /**
   * The decode budget, per byte of frame: `decode` refuses a frame whose decoded value would take
   * more than `maxInflation` times the frame's size in memory (but never less than
   * `minDecodeBudget`), with a {@link DecodeBudgetError}, before building any of it. The memory is
   * estimated from what each kind of value costs in V8: 56 bytes for an object and 56 per key past
   * its 4th, 48 for an array plus 8 per element, 24 plus 2 per byte for a string, 200 plus its
   * bytes for a binary, 112 for a Date, 16 for a number that is not a 32-bit integer and 16 to 40
   * for a 64-bit one (by `int64AsType`).
   *
   * Why 32: ordinary data measures up to about 24 times its bytes (pairs of small integers, the
   * densest ordinary shape found), while a frame of empty maps reaches 64 times and one of empty
   * binaries 96 times: a 16 MiB frame of empty maps took about 1 GiB. With 16 MiB frames, 32 still
   * allows 512 MiB: lower it, or the transport's `maxFrameBytes`, where peers are not trusted.
   * `Infinity` turns the budget off. It does not limit `encode`, nor what the application keeps.
   * @default 32
   */
  maxInflation?: number;
  /**
   * The decode budget of any frame, in estimated bytes of memory, however small the frame: with the
   * default, a frame of up to 10,000 bytes is never refused for its decoded size (nothing is
   * estimated at more than 104 bytes per byte of MessagePack: an empty binary in an array).
   * @default 1 MiB (1_048_576)
   */
  minDecodeBudget?: number;
  /**
   * The largest slab that binaries of one connection share, in bytes; `0` gives every binary an
   * `ArrayBuffer` of its own. A transport's frame decoder (one per connection) copies each binary
   * from 65 bytes to an eighth of this size out of the socket's bytes into a slab, a fresh zeroed
   * buffer shared by the binaries of one socket read and no larger than what is left of that read,
   * and hands out a view of it. Binaries of up to 64 bytes (which V8 allocates in its heap, as
   * cheaply) and larger ones, those of frames holding anything but arrays, binaries, integers,
   * booleans and nil (a map, a string), and those of `decode` and `decodeRange` called directly get
   * a buffer of their own.
   *
   * The trade: one allocation per slab instead of one per binary (outside V8's heap from 65 bytes
   * on, and freed by the garbage collector), which was the largest single cost of receiving 1 KiB
   * binaries over TCP with the full stack (a fifth of its CPU profile). In exchange a binary you
   * keep keeps its slab alive (up to this many bytes, however small the binary), and its `.buffer`
   * holds the binaries that arrived in the same read (never another connection's bytes, nor stale
   * memory): use `byteOffset` and `byteLength` with `.buffer`, and copy a binary you keep long or
   * hand on (`new Uint8Array(binary)`; a Buffer's `slice` is a view). A connection holds no slab
   * between reads. Either way no binary views the socket's read buffer, which the transport may
   * reuse, nor keeps a whole socket read (up to 64 KiB) alive.
   *
   * A browser bundle has no slabs (nor the one-pass reader and writer of simple values that fill
   * them): the package's `browser` field, which esbuild, webpack, Rollup and Vite read, leaves them
   * out to keep the bundle small, so there every binary gets an `ArrayBuffer` of its own, as with
   * `0`, and msgpackr reads and writes every frame, after the same checks and with the same bytes.
   * @default 16 KiB (16_384)
   */
  binarySlabBytes?: number;
}

/**
 * msgpackr as {@link msgpackCodec} configures it: plain maps as objects, no records, structured
 * clones, extra types or bundled strings; 64-bit integers as `int64AsType`. Binaries are copied
 * out of the input: a decoded frame neither aliases a buffer the transport may reuse nor keeps a
 * whole socket read alive.
 * @internal
 */
export function codecPackr(int64AsType: NonNullable<MsgpackCodecOptions['int64AsType']> = 'bigint'): Packr {
  return new Packr({
    useRecords: false,
    mapsAsObjects: true,
    structuredClone: false,
    moreTypes: false,
    bundleStrings: false,
    int64AsType,
    copyBuffers: true,
  });
}

/**
 * The default codec: MessagePack through msgpackr, configured for untrusted peers.
 *
 * It reads exactly what it writes: nil, booleans, numbers, strings, binaries (as `Uint8Array`s
 * copied out of the input: see `binarySlabBytes`), arrays, maps (as plain objects), `undefined` and
 * timestamps (as `Date`).
 * Before msgpackr sees a frame, an iterative check refuses anything else with an error naming the
 * byte: msgpackr's other extensions (records, errors, regular expressions, sets, typed arrays,
 * structured-clone references, bundled strings, and any registered with msgpackr's global
 * `addExtension`), the reserved byte 0xc1, trailing bytes, and nesting deeper than `maxDepth`. So a
 * peer never picks a constructor, declares shapes or cycles, or overflows the stack. The same check
 * estimates the memory the decoded value will take and refuses a frame over its budget
 * (`maxInflation`, `minDecodeBudget`) with a {@link DecodeBudgetError}, so a small frame cannot
 * become a huge value. A `__proto__`
 * key becomes an ordinary `__proto_` property, so a peer cannot pollute prototypes.
 *
 * Values msgpackr writes as something else decode as that: a `Map` as a plain object, a `Set` as an
 * array, an `Error` as `[name, message, cause]`, a `RegExp` as `[source, flags]`, an `ArrayBuffer`
 * or `Int8Array` as a `Uint8Array`, a function as `undefined`, `-0` as `0`. `encode` throws rather
 * than write what would not decode or would be wrong: nesting deeper than `maxDepth` (or a cycle),
 * a typed array with multi-byte elements or a `DataView` (msgpackr would write stale bytes of its
 * buffer; send a `Uint8Array` view of the bytes), a `Map` key that is an object, an object with
 * more than 65,535 keys, a bigint outside the 64-bit range. It does not validate the shape of your
 * payloads; do that in the application. To exchange other types, give the transports your own
 * {@link Codec}.
 *
 * @example
 * ```ts
 * import { msgpackCodec } from 'rx-lifeline';
 * const codec = msgpackCodec<{ n: number }>();
 * const bytes = codec.encode({ n: 1 });
 * console.log(codec.decode(bytes).n); // 1
 * ```
 * @category Codec
 */
export function msgpackCodec<T = unknown>(options: MsgpackCodecOptions = {}): Codec<T> {
  const limits = resolveLimits(options);
  const { int64AsType, maxDepth } = limits;
  const { binarySlabBytes = DEFAULT_BINARY_SLAB_BYTES } = options;
  const packr = codecPackr(int64AsType);
  const codec: Required<Codec<T>> = {
    encode: (value) => {
      checkEncodable(value, maxDepth);
      return packr.pack(value);
    },
    decode: (bytes) => decodeRange(bytes, 0, bytes.length),
    decodeRange,
  };
  // Simple values (envelopes, binaries) in one pass where the platform has it (see one-pass.ts).
  return withOnePass(codec, limits, binarySlabBytes);

  function decodeRange(bytes: Uint8Array, start: number, end: number): T {
    checkMsgpack(bytes, limits, start, end);
    return packr.unpack(bytes, { start, end }) as T;
  }
}

/**
 * Writes a frame's encoding straight into `out` at `pos` (the writer's batch, after the frame's
 * length prefix) when it can: returns the position after it, or -1 when the frame is to go through
 * `encode`. A result past `out.length` asks for a larger buffer: nothing was written past the end.
 * It never throws for a frame `encode` accepts, and gives the bytes `encode` would.
 * @internal
 */
export type DirectEncoder = (value: unknown, out: Uint8Array, pos: number) => number;

/**
 * How a codec decodes the frames of one socket read with their binaries in shared slabs (see
 * `binarySlabBytes`): the caller makes a {@link BinarySlab} with `slab()` for each read.
 * @internal
 */
export interface SlabDecoder<T> {
  /** As `decodeRange`, with the binaries copied into `slab`. */
  decode(bytes: Uint8Array, start: number, end: number, slab: BinarySlab): T;
  /** A new slab of the codec's `binarySlabBytes`, for one read's binaries. */
  slab(): BinarySlab;
}

const DEFAULT_BINARY_SLAB_BYTES = 16 * 1024;

const OPTIONS: KnownOptions<MsgpackCodecOptions> = {
  binarySlabBytes: true,
  int64AsType: true,
  maxDepth: true,
  maxInflation: true,
  minDecodeBudget: true,
};

function resolveLimits(options: MsgpackCodecOptions): MsgpackLimits {
  checkKnownOptions('msgpackCodec', options, OPTIONS);
  if (options.binarySlabBytes !== undefined) {
    checkNumber('msgpackCodec', 'binarySlabBytes', options.binarySlabBytes, {
      min: 0,
      max: 2 ** 24,
      integer: true,
    });
  }
  const {
    int64AsType = 'bigint',
    maxDepth = DEFAULT_MAX_DEPTH,
    maxInflation = DEFAULT_MAX_INFLATION,
    minDecodeBudget = DEFAULT_MIN_DECODE_BUDGET,
  } = options;
  return {
    int64AsType: checkOneOf('msgpackCodec', 'int64AsType', int64AsType, ['number', 'bigint', 'string']),
    maxDepth: checkNumber('msgpackCodec', 'maxDepth', maxDepth, { min: 1, integer: true }),
    maxInflation: checkNumber('msgpackCodec', 'maxInflation', maxInflation, {
      min: 0,
      exclusive: true,
      max: Infinity,
    }),
    minDecodeBudget: checkNumber('msgpackCodec', 'minDecodeBudget', minDecodeBudget, {
      min: 0,
      max: Infinity,
      integer: true,
    }),
  };
}

let sizing: Codec<unknown> | undefined;

/**
 * A frame's MessagePack size, which also rejects what cannot be encoded (`EncodeError` from the
 * codec's encoder): the measure of frames queued while no link takes them.
 * @internal
 */
export function msgpackSize(frame: unknown): number {
  return (sizing ??= msgpackCodec()).encode(frame).length;
}
