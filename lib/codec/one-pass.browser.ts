import type { OnePass } from './one-pass.js';

// What a browser bundle has in place of one-pass.ts (the "browser" field of package.json): no
// one-pass paths, so `msgpackCodec` checks every frame and hands it to msgpackr, and its binaries
// get an ArrayBuffer each, as with `binarySlabBytes: 0`.

/** No one-pass paths in a browser bundle. @internal */
export const ONE_PASS: OnePass | undefined = undefined;
