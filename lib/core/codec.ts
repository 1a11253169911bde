// The contract every codec meets; lib/codec holds the default one (msgpackr).

/**
 * Turns frames into bytes and back. lifeline's transports take one as the `codec` option; the
 * default is {@link msgpackCodec}.
 *
 * `decode` is given untrusted bytes: it must throw (any error) on malformed input and must never
 * let the input choose which constructors run.
 *
 * @example
 * ```ts
 * import type { Codec } from 'rx-lifeline';
 * const json: Codec<unknown> = {
 *   encode: (value) => new TextEncoder().encode(JSON.stringify(value)),
 *   decode: (bytes) => JSON.parse(new TextDecoder().decode(bytes)),
 * };
 * ```
 * @category Codec
 */
export interface Codec<T = unknown> {
  /**
   * Encodes one frame. The returned bytes must stay unchanged until the next microtask at least.
   * Anything but a `Uint8Array` (a `Buffer` is one) is refused: a link's `send` throws an
   * `EncodeError`, and `encodeFrames` a `TypeError`, saying what it returned.
   */
  encode(value: T): Uint8Array;
  /** Decodes exactly one frame from `bytes`; throws if the bytes are not exactly one valid frame. */
  decode(bytes: Uint8Array): T;
  /**
   * Optional: decodes exactly one frame from `bytes[start, end)`, the same as
   * `decode(bytes.subarray(start, end))`. Decoders use it, when present, to read frames in place
   * in a socket chunk without making a view per frame.
   */
  decodeRange?(bytes: Uint8Array, start: number, end: number): T;
}
