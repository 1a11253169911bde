import type { Codec, DirectEncoder, SlabDecoder } from './codec.js';
import type { MsgpackLimits } from './msgpack-check.js';

// What a browser bundle has in place of one-pass.ts (the "browser" field of package.json): no
// one-pass paths, so `msgpackCodec` checks every frame and hands it to msgpackr, and its binaries
// get an ArrayBuffer each, as with `binarySlabBytes: 0`. No codec has a direct encoder or a slab
// decoder, so a browser bundle keeps no registry of them.

/** `checked` as it is: no one-pass paths in a browser bundle. @internal */
export function withOnePass<T>(
  checked: Required<Codec<T>>,
  _limits: MsgpackLimits,
  _slabBytes: number,
): Codec<T> {
  return checked;
}

/** None in a browser bundle. @internal */
export function directEncoderOf(_codec: object): DirectEncoder | undefined {
  return undefined;
}

/** None in a browser bundle. @internal */
export function slabDecoderOf<T>(_codec: Codec<T>): SlabDecoder<T> | undefined {
  return undefined;
}
