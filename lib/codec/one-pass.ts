import { BinarySlab } from './binary-slab.js';
import type { Codec, DirectEncoder, SlabDecoder } from './codec.js';
import type { MsgpackLimits } from './msgpack-check.js';
import { encodeSimple, encodeSimpleInto } from './msgpack-simple.js';
import { decodeSimple, NOT_SIMPLE } from './msgpack-simple-decode.js';

// The one-pass paths of `msgpackCodec` for simple values (msgpack-simple.ts, msgpack-simple-decode.ts)
// and the binary slabs they fill (binary-slab.ts): they spare msgpackr's fixed cost per call, which
// matters where a server or a Node client moves hundreds of thousands of frames a second. The bytes
// and values are those of msgpackr's path, so which one ran is never visible.
//
// A browser bundle does without them: the "browser" field of package.json swaps this module for
// one-pass.browser.ts (esbuild, webpack, Rollup's node-resolve and Vite read it), which has none, so
// msgpackr does all the work there, after the same checks, and the bundle is smaller: it carries
// neither these paths nor the registries of direct encoders and slab decoders below.

/** The direct encoders of the codecs that have one (msgpackCodec's, for simple values). */
const directEncoders = new WeakMap<object, DirectEncoder>();

/** The slab decoders of the codecs that have one (msgpackCodec's, unless `binarySlabBytes` is 0). */
const slabDecoders = new WeakMap<object, SlabDecoder<unknown>>();

/**
 * `msgpackCodec`'s codec with the one-pass paths in front of `checked` (msgpackr's, after the
 * checks): simple values are encoded and decoded in one pass, the rest by `checked`; it has a
 * {@link DirectEncoder}, and a {@link SlabDecoder} unless `binarySlabBytes` is 0. @internal
 */
export function withOnePass<T>(
  checked: Required<Codec<T>>,
  limits: MsgpackLimits,
  binarySlabBytes: number,
): Codec<T> {
  const { maxDepth } = limits;
  const codec: Codec<T> = {
    encode: (value) => encodeSimple(value, maxDepth) ?? checked.encode(value),
    decode: (bytes) => decodeRange(bytes, 0, bytes.length),
    decodeRange: (bytes, start, end) => decodeRange(bytes, start, end),
  };
  directEncoders.set(codec, (value, out, pos) => encodeSimpleInto(value, maxDepth, out, pos));
  if (binarySlabBytes > 0) {
    slabDecoders.set(codec, { decode: decodeRange, slab: () => new BinarySlab(binarySlabBytes) });
  }
  return codec;

  function decodeRange(bytes: Uint8Array, start: number, end: number, slab?: BinarySlab): T {
    const simple = decodeSimple(bytes, limits, start, end, slab);
    return simple === NOT_SIMPLE ? checked.decodeRange(bytes, start, end) : (simple as T);
  }
}

/** The direct encoder of `codec`, if it has one (see {@link DirectEncoder}). @internal */
export function directEncoderOf(codec: object): DirectEncoder | undefined {
  return directEncoders.get(codec);
}

/** The slab decoder of `codec`, if it has one (see {@link SlabDecoder}). @internal */
export function slabDecoderOf<T>(codec: Codec<T>): SlabDecoder<T> | undefined {
  return slabDecoders.get(codec) as SlabDecoder<T> | undefined;
}
