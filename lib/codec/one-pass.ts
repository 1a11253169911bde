import { BinarySlab } from './binary-slab.js';
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
// msgpackr does all the work there, after the same checks, and the bundle is smaller.

/** The one-pass paths of `msgpackCodec`. @internal */
export interface OnePass {
  /** {@link encodeSimple}: the bytes, or `undefined` for msgpackr's path. */
  encode(value: unknown, maxDepth: number): Uint8Array | undefined;
  /** {@link encodeSimpleInto}: the position after the value, or -1 for msgpackr's path. */
  encodeInto(value: unknown, maxDepth: number, out: Uint8Array, pos: number): number;
  /** {@link decodeSimple}: the value, or `notSimple` for the checked msgpackr path. */
  decode(bytes: Uint8Array, limits: MsgpackLimits, start: number, end: number, slab?: BinarySlab): unknown;
  /** What `decode` returns for a frame it leaves to msgpackr. */
  readonly notSimple: unknown;
  /** A slab for the binaries of one socket read (see binary-slab.ts). */
  slab(slabBytes: number): BinarySlab;
}

/** The one-pass paths; `undefined` in a browser bundle (see one-pass.browser.ts). @internal */
export const ONE_PASS: OnePass | undefined = {
  encode: encodeSimple,
  encodeInto: encodeSimpleInto,
  decode: decodeSimple,
  notSimple: NOT_SIMPLE,
  slab: (slabBytes) => new BinarySlab(slabBytes),
};
