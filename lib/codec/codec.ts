import { Packr } from 'msgpackr';

/**
 * Turns frames into bytes and back. lifeline's transports take one as the `codec` option; the
 * default is {@link msgpackCodec}.
 *
 * `decode` is given untrusted bytes: it must throw (any error) on malformed input and must never
 * let the input choose which constructors run.
 *
 * @example
 * ```ts
 * import type { Codec } from 'lifeline';
 * const json: Codec<unknown> = {
 *   encode: (value) => new TextEncoder().encode(JSON.stringify(value)),
 *   decode: (bytes) => JSON.parse(new TextDecoder().decode(bytes)),
 * };
 * ```
 */
export interface Codec<T = unknown> {
  /** Encodes one frame. The returned bytes must stay unchanged until the next microtask at least. */
  encode(value: T): Uint8Array;
  /** Decodes exactly one frame from `bytes`; throws if the bytes are not exactly one valid frame. */
  decode(bytes: Uint8Array): T;
}

/** Options of {@link msgpackCodec}. */
export interface MsgpackCodecOptions {
  /**
   * How 64-bit integers decode: `'number'` (loses precision past 2^53), `'bigint'` or `'string'`.
   * It does not change how integers up to 32 bits decode: always as numbers.
   * @default 'bigint'
   */
  int64AsType?: 'number' | 'bigint' | 'string';
}

/**
 * The default codec: MessagePack through msgpackr, configured for untrusted peers.
 *
 * Maps decode to plain objects, and a `__proto__` key becomes an ordinary `__proto_` property, so a
 * peer cannot pollute prototypes. Records (msgpackr's shared structures) and structured-clone
 * references are off, so a peer cannot declare shapes or cycles, and error extensions decode only
 * to the built-in `Error` types: a peer never picks a constructor. It does not validate the shape of
 * your payloads; do that in the application.
 *
 * @example
 * ```ts
 * import { msgpackCodec } from 'lifeline';
 * const codec = msgpackCodec<{ n: number }>();
 * const bytes = codec.encode({ n: 1 });
 * console.log(codec.decode(bytes).n); // 1
 * ```
 */
export function msgpackCodec<T = unknown>(options: MsgpackCodecOptions = {}): Codec<T> {
  const { int64AsType = 'bigint' } = options;
  const packr = new Packr({
    useRecords: false,
    mapsAsObjects: true,
    structuredClone: false,
    moreTypes: false,
    bundleStrings: false,
    int64AsType,
  });
  return {
    encode: (value) => packr.pack(value),
    decode: (bytes) => packr.unpack(bytes) as T,
  };
}
