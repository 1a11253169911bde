// What the journal chaos test (journal-chaos.spec.ts) and its client process
// (journal-client.ts) share: the counts, the pace, which items are requests, the answers, and how
// each side sends.
import type { Subscription } from 'rxjs';
import type { Link, RequestLink } from 'rx-lifeline';
import { paced } from './paced.js';

/** Items the client hands over (1 … UP), in order: plain messages, every REQUEST_EVERY-th a request. */
export const UP = Number(process.env.JOURNAL_CHAOS_UP ?? 2_000);
/** Numbers the server sends (1 … DOWN), beside the answers. */
export const DOWN = Number(process.env.JOURNAL_CHAOS_DOWN ?? 2_000);
/** The steady pace: PER_TICK items every TICK_MS, each side (about 400 a second). */
export const TICK_MS = 5;
export const PER_TICK = 2;
/** Item n is a request when n is a multiple of this (idempotent when also of twice it). */
export const REQUEST_EVERY = 5;

export const isRequest = (n: number) => n % REQUEST_EVERY === 0;
export const isIdempotent = (n: number) => n % (2 * REQUEST_EVERY) === 0;
/** The server's answer to request n: -n, so that an answer names its request. */
export const answer = (n: number) => -n;
/** How long the server takes to answer request n, 0–290 ms: many answers outlive a client. */
export const answerDelay = (n: number) => (n * 37) % 300;

/** What the client process tells the test, in order. */
export type ClientReport =
  /**
   * Opened the journal: what it restored (0s for an empty one), the first item it hands over
   * (the first the journal never accepted), and the restored requests.
   */
  | {
      type: 'started';
      lastSeq: number;
      received: number;
      session: string | null;
      first: number;
      /** Requests whose heads the journal held: sent again by resumable, answered as recovered. */
      pendingRequests: number;
      /** The restored event's lastRequestId. */
      lastRequestId: number;
    }
  /** Its first welcome on this run (a new session, or the journal's resumed). */
  | { type: 'connected' }
  /** A number from the server, as delivered by resumable. */
  | { type: 'got'; n: number }
  /**
   * An answer to request n: on the request's own Observable, or as a recovered-response event (a
   * request an earlier process made, with its id).
   */
  | { type: 'answered'; n: number; value: unknown; recoveredId?: number; withPayload?: boolean }
  | { type: 'problem'; what: string };

/** What the test tells the client process. */
export type ClientCommand = { type: 'stop' };

/**
 * Sends `first` … `last` on `link` at the steady pace, honouring `send()`: after a `false` it
 * waits for `drain$` (the peer away, or the replay buffer half full) before the next tick sends.
 * Unsubscribe to stop; it holds nothing else.
 */
export function sendNumbers(link: Link<number>, first: number, last: number): Subscription {
  return sendItems(link, first, last, (n) => link.send(n));
}

/**
 * The client's items `first` … `last` at the steady pace: plain messages with `send`, requests
 * (see {@link isRequest}) with `request`, each answer to `onAnswer`.
 */
export function sendRequestsAndNumbers(
  link: RequestLink<number>,
  first: number,
  last: number,
  onAnswer: (n: number, value: unknown) => void,
  onError: (n: number, error: unknown) => void,
): Subscription {
  return sendItems(link, first, last, (n) => {
    if (!isRequest(n)) return link.send(n);
    link.request(n, { idempotent: isIdempotent(n) }).subscribe({
      next: (value) => onAnswer(n, value),
      error: (error: unknown) => onError(n, error),
    });
    return true;
  });
}

function sendItems(
  link: Link<number>,
  first: number,
  last: number,
  hand: (n: number) => boolean,
): Subscription {
  let next = first;
  return paced(link as Link<never>, TICK_MS, (all) => {
    let ready = true;
    for (let i = 0; i < PER_TICK && next <= last && ready; i++) ready = hand(next++);
    if (next > last) all.unsubscribe();
    return ready;
  });
}
