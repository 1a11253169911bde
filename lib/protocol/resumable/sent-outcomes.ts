/**
 * The commitment point of a client journal: after a restart, what became of each message the
 * application sent before the crash.
 * @packageDocumentation
 */
import { describeValue } from '../../internal/describe-value.js';
import { checkFunction } from '../../internal/validate.js';
import type { JournalFrame, JournalState } from './journal.js';

/**
 * What became of a message sent before a crash, as {@link sentOutcomes} tells it.
 *
 * - `'delivered'`: the server acknowledged it: it reached the server's application. Do not send
 *   it again.
 * - `'pending'`: the journal kept it and the server has not acknowledged it: `resumable` sends it
 *   again when it resumes the session, and the server, which drops what it already has, gets it
 *   exactly once. Do not send it again.
 * - `'unknown'`: the journal never kept it (the process died before the journal committed it, or
 *   the application never handed it over). Under write-ahead it never left the process either:
 *   send it again.
 *
 * @example
 * ```ts
 * import type { SentOutcome } from 'rx-lifeline';
 * const mustResend = (outcome: SentOutcome) => outcome === 'unknown';
 * ```
 * @category Sessions
 */
export type SentOutcome = 'delivered' | 'pending' | 'unknown';

/**
 * The answer of {@link sentOutcomes}: the restored session's commitment point.
 *
 * @example
 * ```ts
 * import type { SentOutcomeReport } from 'rx-lifeline';
 * const report = (o: SentOutcomeReport) => `${o.pending.length} to be resent, delivered through ${o.deliveredThrough}`;
 * ```
 * @category Sessions
 */
export interface SentOutcomeReport {
  /** The session the journal kept; `undefined` when it kept none (nothing, or frames sent offline). */
  readonly session: string | undefined;
  /** Every frame numbered up to this `seq` was acknowledged by the server (0: none). */
  readonly deliveredThrough: number;
  /** The frames the server has not acknowledged, oldest first: `resumable` resends them, once. */
  readonly pending: readonly JournalFrame[];
  /** The highest `seq` the journal kept: a message sent after it never reached the journal. */
  readonly lastSeq: number;
  /**
   * What became of the application's message `id` (as `idOf` reads it off a frame). A `TypeError`
   * when `id` is not a number.
   */
  of(id: number): SentOutcome;
}

/**
 * Reads the commitment point off a restored {@link JournalState}: which of the messages this
 * client sent before its process died the server has (`'delivered'`), which `resumable` will
 * resend once the session resumes (`'pending'`), and which never reached the journal and must be
 * sent again (`'unknown'`). Call it with `journal.restore()` before `resumable({ journal })`
 * resumes the session, then send again only the `'unknown'` ones: each message then reaches the
 * server exactly once.
 *
 * Messages are told apart by the application's own ids: `idOf` reads one off a frame as the journal
 * kept it (what was handed to the resumable link, as MessagePack carried it), and returns
 * `undefined` for frames that are not the application's messages. The ids must grow in the order
 * the messages were handed to the link (an outbox counter): the journal keeps what was sent as a
 * prefix of that order, so every message before the first pending one, or up to the last
 * acknowledged one (`JournalState.lastAcked`), was delivered, and every one after the newest
 * journaled message is unknown.
 *
 * What it does not do: it does not send anything, and it knows only this journal's session: the
 * messages of a session that was lost before the crash (`SessionLostError` or `session-reset`,
 * which hand back their `unsent` frames) read as `'unknown'`. `'pending'` frames reach the server
 * once only if the session resumes; if it cannot be, `resumable` fails with `SessionLostError`
 * listing them in `unsent`. With a journal that does not keep `lastAcked` (a custom one), a message
 * after the last pending one, or any when none is pending, reads `'unknown'` even if delivered. The
 * answer is exact for what the journal made durable: after a crash of the machine under `fsync:
 * 'never'` or an interval, the records of the last moments may be lost, and a message they held
 * that did reach the server reads `'unknown'` (the session then cannot be resumed: `resumable`
 * fails with a typed error rather than deliver it twice).
 *
 * @param state What the journal restored (`journal.restore()`); `undefined` when it kept nothing.
 * @param idOf The application's id of a frame, or `undefined` for a frame that carries none.
 * @example
 * ```ts
 * import { memoryJournal, sentOutcomes } from 'rx-lifeline';
 * const idOf = (frame: unknown) => (frame as { id?: number }).id;
 * const journal = memoryJournal();
 * journal.session('0'.repeat(32), '1'.repeat(32));
 * journal.sent(1, { id: 7, text: 'a' });
 * journal.sent(2, { id: 8, text: 'b' });
 * journal.acked(1); // the server has id 7
 * // …the process dies before it hands over id 9; after the restart:
 * const outcomes = sentOutcomes(journal.restore(), idOf);
 * console.log([7, 8, 9].map((id) => outcomes.of(id))); // ['delivered', 'pending', 'unknown']
 * ```
 * @category Sessions
 */
export function sentOutcomes(
  state: JournalState | undefined,
  idOf: (frame: unknown) => number | undefined,
): SentOutcomeReport {
  checkFunction('sentOutcomes', 'idOf', idOf);
  const frames = state?.frames ?? [];
  const lastSeq = state?.lastSeq ?? 0;
  const pendingIds = new Set<number>();
  /** The lowest pending id: every message before it was journaled, and acknowledged. */
  let firstPending = -Infinity;
  for (const { frame } of frames) {
    const id = idOf(frame);
    if (typeof id !== 'number') continue;
    if (pendingIds.size === 0 || id < firstPending) firstPending = id;
    pendingIds.add(id);
  }
  const lastAckedId = state?.lastAcked === undefined ? undefined : idOf(state.lastAcked.frame);
  const lastDelivered = typeof lastAckedId === 'number' ? lastAckedId : -Infinity;
  return {
    session: state?.session,
    deliveredThrough: frames.length > 0 ? frames[0]!.seq - 1 : lastSeq,
    pending: frames,
    lastSeq,
    of(id) {
      if (typeof id !== 'number' || Number.isNaN(id)) {
        throw new TypeError(`sentOutcomes: an id must be a number, got ${describeValue(id)}`);
      }
      if (pendingIds.has(id)) return 'pending';
      return id < firstPending || id <= lastDelivered ? 'delivered' : 'unknown';
    },
  };
}
