/**
 * What every protocol layer does with a peer's frame that it cannot take: one typed error for that
 * connection, never an exception out of an Observer's `next` (RxJS reports those asynchronously,
 * which ends the process).
 * @internal
 * @packageDocumentation
 */

import { LifelineError, ProtocolError } from '../core/errors.js';
import type { Link } from '../core/transport.js';
import { describeError, describeValue } from './describe-value.js';

/**
 * A `ProtocolError` raised by a layer above the framing (`offset: -1`), prefixed with the layer's
 * name and carrying the link's write report when there is a link.
 * @internal
 */
export function layerProtocolError(
  layer: string,
  message: string,
  link: Link<unknown> | undefined,
  cause?: unknown,
): ProtocolError {
  return new ProtocolError(`${layer}: ${message}`, { offset: -1, cause, write: link?.writeReport() });
}

/**
 * The error a layer fails with when handling a peer's frame threw: a lifeline error as it is (a
 * ProtocolError, or a link's own error), anything else (a bug, met only by an input nobody
 * foresaw) as a ProtocolError with it as `cause`, so a peer's bytes never end in an untyped error.
 * @internal
 */
export function asLayerError(layer: string, error: unknown, link: Link<unknown> | undefined): unknown {
  if (LifelineError.is(error)) return error;
  return layerProtocolError(layer, `could not handle a frame (${describeError(error)})`, link, error);
}

/**
 * True for a frame of lifeline's handshake (wire v2): a record with a `lifeline` field, as a hello,
 * an accept and a refusal all are.
 * @internal
 */
export function isHandshakeFrame(frame: unknown): boolean {
  return (
    typeof frame === 'object' &&
    frame !== null &&
    !Array.isArray(frame) &&
    !ArrayBuffer.isView(frame) &&
    Object.hasOwn(frame, 'lifeline')
  );
}

/**
 * The ProtocolError of a layer that received something other than its envelope: it says what
 * arrived and `hint`, or — when it is a handshake frame that reached a layer above — that the
 * handshake is missing on this side, which is then the fix.
 * @internal
 */
export function notAnEnvelope(
  layer: string,
  frame: unknown,
  hint: string,
  link: Link<unknown> | undefined,
): ProtocolError {
  const fix = isHandshakeFrame(frame)
    ? 'it is a lifeline handshake frame: the peer pipes handshake()/acceptHandshake(), so pipe the other one first on this side'
    : hint;
  return layerProtocolError(layer, `received ${describeValue(frame)}, not a ${layer} envelope; ${fix}`, link);
}

/**
 * The TypeError of an operator whose source emitted something other than a session event (an
 * object with a string `type`): "resumable: expected session events, got 42"; `undefined` for an
 * event.
 * @internal
 */
export function notASessionEvent(operator: string, event: unknown): TypeError | undefined {
  if (typeof event === 'object' && event !== null && typeof (event as { type?: unknown }).type === 'string') {
    return undefined;
  }
  return new TypeError(`${operator}: expected session events, got ${describeValue(event)}`);
}
