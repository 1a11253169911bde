/**
 * Frames a protocol layer sends for its own purposes (the requests layer's cancels and body
 * parts), told apart from those that carry the application's data without a mark on the wire.
 * @internal
 * @packageDocumentation
 */

/** Shared by every copy of the library, like the error brands. */
const LAYER_OWN: unique symbol = Symbol.for('rx-lifeline.layer-own-frame') as never;

/**
 * Marks `frame` as a layer's own: a journal does not keep it as the newest acknowledged
 * application frame (`JournalState.lastAcked`). The mark is a symbol property, which MessagePack
 * does not carry: the peer sees the same frame. Returns `frame`.
 * @internal
 */
export function layerOwnFrame<T extends object>(frame: T): T {
  Object.defineProperty(frame, LAYER_OWN, { value: true });
  return frame;
}

/** Whether {@link layerOwnFrame} marked `frame`. @internal */
export function isLayerOwnFrame(frame: unknown): boolean {
  return typeof frame === 'object' && frame !== null && (frame as { [LAYER_OWN]?: true })[LAYER_OWN] === true;
}
