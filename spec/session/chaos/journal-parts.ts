// What the journal chaos test (journal-chaos.spec.ts) and its client process
// (journal-client.ts) share: the counts, the pace, and how each side sends its numbers.
import type { Subscription } from 'rxjs';
import type { Link } from 'rx-lifeline';
import { paced } from './paced.js';

/** Numbers the client sends (1 … UP), each equal to its resumable seq. */
export const UP = Number(process.env.JOURNAL_CHAOS_UP ?? 2_000);
/** Numbers the server sends (1 … DOWN). */
export const DOWN = Number(process.env.JOURNAL_CHAOS_DOWN ?? 2_000);
/** The steady pace: PER_TICK numbers every TICK_MS, each side (about 400 a second). */
export const TICK_MS = 5;
export const PER_TICK = 2;

/** What the client process tells the test, in order. */
export type ClientReport =
  /** Opened the journal: what it restored (0s for an empty one). */
  | { type: 'started'; lastSeq: number; received: number; session: string | null }
  /** Its first welcome on this run (a new session, or the journal's resumed). */
  | { type: 'connected' }
  /** A number from the server, as delivered by resumable. */
  | { type: 'got'; n: number }
  | { type: 'problem'; what: string };

/** What the test tells the client process. */
export type ClientCommand = { type: 'stop' };

/**
 * Sends `first` … `last` on `link` at the steady pace, honouring `send()`: after a `false` it
 * waits for `drain$` (the peer away, or the replay buffer half full) before the next tick sends.
 * Unsubscribe to stop; it holds nothing else.
 */
export function sendNumbers(link: Link<number>, first: number, last: number): Subscription {
  let next = first;
  return paced(link as Link<never>, TICK_MS, (all) => {
    let ready = true;
    for (let i = 0; i < PER_TICK && next <= last && ready; i++) ready = link.send(next++);
    if (next > last) all.unsubscribe();
    return ready;
  });
}
