// What the store chaos test (store-chaos.spec.ts) and its server processes (store-server.ts)
// share: the pace, the frames, the messages and the delivery log's lines.
import type { Subscription } from 'rxjs';
import type { Link } from 'rx-lifeline';
import { paced } from './paced.js';

/**
 * Client `index` sends CLIENT_BASE * index + 1, + 2, …: numbers unique across clients, whose
 * remainder is their resumable `seq`.
 */
export const CLIENT_BASE = 1_000_000;

/** The steady pace of both directions: one number every TICK_MS per session (about 200 a second). */
export const TICK_MS = 5;

/** A server frame: the server process's incarnation (its fork's index) and its count for the session. */
export type DownFrame = readonly [incarnation: number, k: number];

/** The layers of the rolling-deploy scenario, both sides. */
export const DEPLOY_LAYERS = ['resumable', 'requests'] as const;

/** A client's request in the rolling-deploy scenario: its number, answered as `{ n, by }`. */
export interface UpRequest {
  readonly n: number;
}

/** The answer: the request's number and the incarnation of the server process that ran it. */
export interface UpAnswer {
  readonly n: number;
  readonly by: number;
}

/** What a server process tells the test over IPC. */
export type ServerReport =
  | { type: 'ready'; port: number }
  /** Client numbers delivered this turn, for the test's live view (the log file is the record). */
  | { type: 'got'; deliveries: [session: string, n: number][] }
  /** A session copy started here (new or taken over). */
  | { type: 'opened'; session: string }
  /** A session copy ended here: how (`name`/`code` of the error, or `complete`). */
  | { type: 'ended'; session: string; name: string; code: string | undefined }
  /** Answer to 'quiet': the frames this process sent per session (sent only, not necessarily stored). */
  | { type: 'quiet'; sent: Record<string, number> }
  /** Its drain completed (it exits next): what it sent per session, and the requests it ran. */
  | { type: 'drained'; sent: Record<string, number>; requestsRun: number }
  | { type: 'problem'; what: string };

/**
 * What the test tells a server process: stop streaming (`quiet`), unsubscribe all and exit
 * (`stop`), or drain then exit (`drain`, deploy mode).
 */
export type ServerCommand = { type: 'quiet' } | { type: 'stop' } | { type: 'drain' };

/**
 * One line per delivered client frame in a server's log (written synchronously as it is delivered,
 * so a SIGKILL cannot lose a delivery whose `received` reached the store): `<session> <n> <seq> <0|1>`.
 */
export interface Delivery {
  readonly session: string;
  readonly n: number;
  readonly seq: number;
  readonly redelivered: boolean;
}

export const deliveryLine = (d: Delivery): string =>
  `${d.session} ${d.n} ${d.seq} ${d.redelivered ? 1 : 0}\n`;

export function parseDeliveries(text: string): Delivery[] {
  const deliveries: Delivery[] = [];
  for (const line of text.split('\n')) {
    const [session, n, seq, flag] = line.split(' ');
    // A SIGKILL may cut the last line short: it is dropped (its frame was not stored as received).
    if (session === undefined || flag === undefined || (flag !== '0' && flag !== '1')) continue;
    deliveries.push({ session, n: Number(n), seq: Number(seq), redelivered: flag === '1' });
  }
  return deliveries;
}

/**
 * Sends `next()` on `link` every TICK_MS until unsubscribed, honouring `send()`: after a `false`
 * it waits for `drain$` before the next tick sends.
 */
export function stream<T>(link: Link<T>, next: () => T): Subscription {
  return paced(link as Link<never>, TICK_MS, () => link.send(next()));
}
