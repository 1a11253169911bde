/**
 * The requests layer's side of a client journal: what a restarted process learns about the
 * requests an earlier one made on the same session, and how their responses reach it.
 * @packageDocumentation
 */
import type { JournalFrame, JournalState } from '../resumable/journal.js';
import type { RestoredEvent } from '../resumable/resumable.js';
import type { RemoteError } from './errors.js';
import type { ResponsePart } from './pending-requests.js';
import { isRequestId, PLAIN, REQUEST } from './wire.js';

/**
 * A request an earlier process made whose head the journal still held at the restart (the server
 * had not acknowledged it): `resumable` sends it again when the session resumes, the server gets
 * it once, and its response arrives as {@link RecoveredResponseEvent}s carrying this `id`.
 *
 * @example
 * ```ts
 * import type { RestoredRequest } from 'rx-lifeline';
 * const line = (r: RestoredRequest) => `request ${r.id} (frame ${r.seq}) is sent again`;
 * ```
 * @category Sessions
 */
export interface RestoredRequest {
  /** Its id on the wire, which its response carries. */
  readonly id: number;
  /** The sequence number of its head in the session. */
  readonly seq: number;
  /** What the earlier process passed to `request(payload)`, as MessagePack carried it. */
  readonly payload: unknown;
}

/**
 * What {@link cancelPending} emits in place of `resumable`'s {@link RestoredEvent}: the same
 * restored state in the application's terms, and the requests of the earlier process.
 *
 * Read it with {@link sentOutcomes}`(event.state, idOf)`: each message or request sent before the
 * crash is `'delivered'` (the server has it: a request's response then arrives as
 * {@link RecoveredResponseEvent}s, unless the earlier process got it before it died), `'pending'`
 * (sent again once the session resumes, then answered the same way: it is listed in `requests`
 * with its id) or `'unknown'` (it never reached the journal, so it never left: send it again, a
 * request as a new one).
 *
 * @example
 * ```ts
 * import { sentOutcomes, type RequestsRestoredEvent } from 'rx-lifeline';
 * const idOf = (value: unknown) => (value as { key?: number }).key;
 * const onRestored = (e: RequestsRestoredEvent) => {
 *   const outcomes = sentOutcomes(e.state, idOf);
 *   for (const r of e.requests) console.log(`request ${r.id} (key ${idOf(r.payload)}) is sent again`);
 *   return outcomes;
 * };
 * ```
 * @category Sessions
 */
export interface RequestsRestoredEvent extends RestoredEvent {
  /**
   * What the journal restored, its frames (and `lastAcked`) in the application's terms: each is a
   * plain message as given to `send`, or a request's payload as given to `request`, with its
   * sequence number. The requests layer's own frames (cancels, streamed body parts) are left out;
   * `lastAcked` is the newest message or request head the server acknowledged, even when a cancel
   * or a body part came after it (the journals this library offers keep it so).
   */
  readonly state: JournalState;
  /** The requests among `state.frames`, oldest first. */
  readonly requests: readonly RestoredRequest[];
  /**
   * Every request an earlier process made on this session has an id up to this one (the
   * journal's `lastSeq`): this process numbers its own above it, and a response to one of those
   * arrives as a {@link RecoveredResponseEvent}.
   */
  readonly lastRequestId: number;
}

/**
 * One part of the response to a request an earlier process made on this journaled session (its id
 * is at most {@link RequestsRestoredEvent.lastRequestId}): the answer that process did not live to
 * get, handed to this one rather than dropped. A response is one `'value'` or `'error'` event, or
 * for a streamed one `'next'` events then `'complete'` or `'error'`. Like every frame after the
 * journal's `received`, a part the earlier process was handed just before it died may come again
 * here.
 *
 * @example
 * ```ts
 * import type { RecoveredResponseEvent } from 'rx-lifeline';
 * const settle = (e: RecoveredResponseEvent) =>
 *   e.part === 'error' ? `request ${e.id} failed: ${e.error?.message}` : `request ${e.id}: ${String(e.value)}`;
 * ```
 * @category Sessions
 */
export interface RecoveredResponseEvent {
  readonly type: 'recovered-response';
  /** The request's id on the wire. */
  readonly id: number;
  /** `'value'`: the whole answer; `'next'`: one value of a streamed one; `'complete'`, `'error'`: its end. */
  readonly part: 'value' | 'next' | 'complete' | 'error';
  /** The value, with `'value'` and `'next'`. */
  readonly value?: unknown;
  /** What the handler failed with, with `'error'`. */
  readonly error?: RemoteError;
  /**
   * The request's payload, when the journal still held its head at the restart (it is in
   * {@link RequestsRestoredEvent.requests}). A request the server had acknowledged before the
   * crash is known here by its id alone: to tell which it answers, have the answer name the
   * request (the way an MQTT 5 responder returns the request's correlation data).
   */
  readonly payload?: unknown;
}

/** `resumable`'s restored event in the application's terms (see {@link RequestsRestoredEvent}). */
export function restoredRequests(event: RestoredEvent, lastRequestId: number): RequestsRestoredEvent {
  const { lastAcked, ...state } = event.state;
  const frames: JournalFrame[] = [];
  const requests: RestoredRequest[] = [];
  for (const { seq, frame } of state.frames) {
    const found = applicationValue(frame);
    if (!found) continue;
    frames.push({ seq, frame: found.value });
    if (found.id) requests.push({ id: found.id, seq, payload: found.value });
  }
  const acked = lastAcked && applicationValue(lastAcked.frame);
  return {
    type: 'restored',
    state: { ...state, frames, ...(acked ? { lastAcked: { seq: lastAcked.seq, frame: acked.value } } : {}) },
    requests,
    lastRequestId,
  };
}

/** A response part for an earlier process's request, as the application gets it. */
export function recoveredResponse(
  response: ResponsePart,
  payloads: Map<number, unknown>,
): RecoveredResponseEvent {
  const { id, part, value, error } = response;
  const known = payloads.has(id) ? { payload: payloads.get(id) } : {};
  if (part !== 'next') payloads.delete(id);
  const carried = part === 'error' ? { error: error! } : part === 'complete' ? {} : { value };
  return { type: 'recovered-response', id, part, ...carried, ...known };
}

/**
 * The application's value in one of this layer's envelopes: a plain message, or a request's
 * payload with the request's id.
 */
function applicationValue(frame: unknown): { value: unknown; id?: number } | undefined {
  if (!Array.isArray(frame)) return undefined;
  const [kind, second, payload] = frame;
  if (kind === PLAIN && frame.length === 2) return { value: second };
  const head = kind === REQUEST && isRequestId(second) && (frame.length === 3 || frame.length === 4);
  return head ? { value: payload, id: second } : undefined;
}
