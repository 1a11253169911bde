/**
 * What a client keeps of its session so that a process (or a browser tab) that dies resumes it,
 * the way a terminal that writes its protocol state to a file comes back after a crash: the
 * session's id and token, how far each side got, and the outbound frames the server has not
 * acknowledged yet.
 * @packageDocumentation
 */

import type { Observable } from 'rxjs';
import { isLayerOwnFrame } from '../../internal/layer-own-frame.js';

/**
 * One unacknowledged outbound frame, as a {@link SessionJournal} holds it.
 *
 * @example
 * ```ts
 * import type { JournalFrame } from 'rx-lifeline';
 * const first: JournalFrame = { seq: 1, frame: 'hello' };
 * ```
 * @category Sessions
 */
export interface JournalFrame {
  readonly seq: number;
  readonly frame: unknown;
}

/**
 * What a {@link SessionJournal} hands back when a client starts again: enough to resume.
 *
 * @example
 * ```ts
 * import type { JournalState } from 'rx-lifeline';
 * const describe = (s: JournalState) => `session ${s.session}: ${s.frames.length} frames to replay`;
 * ```
 * @category Sessions
 */
export interface JournalState {
  /** The session id; `undefined` when no server welcomed this client yet (frames sent offline). */
  readonly session: string | undefined;
  /** Its token, the newest one the server gave; `undefined` with `session`. */
  readonly token: string | undefined;
  /** The highest `seq` this side sent (0 before any). */
  readonly lastSeq: number;
  /** The highest `seq` this side received in order and delivered. */
  readonly received: number;
  /** The frames after the peer's last acknowledgement, in order, up to `lastSeq`. */
  readonly frames: readonly JournalFrame[];
  /**
   * The newest frame of the application's the peer acknowledged, as it was sent: the last one an
   * `acked` call retired, passing over the frames a protocol layer sends for itself (the requests
   * layer's cancels and streamed body parts), which name no message of the application's. It
   * tells a restarted application which of its messages were delivered (see {@link sentOutcomes}).
   * Absent before any acknowledgement of such a frame in this session, and in journals that do
   * not keep it (a custom {@link SessionJournal} may leave it out, or keep a layer's frame, which
   * the requests layer then leaves out).
   */
  readonly lastAcked?: JournalFrame;
}

/**
 * Where a client's {@link resumable} keeps its session, so that a client process that crashes
 * resumes with nothing lost (`resumable({ journal })`). The calls come in the order things happen:
 * `sent` before the frame leaves on the wire (write-ahead), `session` on each welcome before the
 * client acknowledges it (so the token kept is always one the server still takes), `received`
 * after a frame was handed to the application, `acked` when the server acknowledged, `clear` when
 * the session ends for good. Every call is synchronous: once it returns, the journal has what it
 * was told, as durably as the journal promises (see its own documentation). A journal that cannot
 * keep a record throws; `resumable` then fails the stream with that very error, whichever call
 * threw, instead of going on without it (the `send` that told it throws it too; a `close()` does
 * not). Only a journal with `commit` may refuse one frame from `sent` and go on (a
 * {@link JournalFullError}): that frame is neither kept nor written, and `send` throws the error.
 *
 * After a restart, {@link SessionJournal.restore} answers the question a crashed client has about
 * each message it sent (the commitment point): a frame numbered at most `lastSeq - frames.length`
 * was acknowledged by the server; one in `frames` will be sent again and reach it once; and a
 * message the application handed over after `lastSeq` never reached the journal, so it was not
 * sent: send it again. {@link sentOutcomes} reads that answer off the restored state, by the
 * application's own message ids. Inbound frames are delivered at least once across a crash: `received` is
 * kept just after each frame was handed to the application, so the frame being handed over when the
 * process died (the one after `received`) comes again.
 *
 * {@link memoryJournal} keeps it in memory (for tests, and to share a session between streams of
 * one process); `fileJournal` from `rx-lifeline/node` in a file.
 *
 * @example
 * ```ts
 * import { memoryJournal, resumable } from 'rx-lifeline';
 * const journal = memoryJournal();
 * const layer = resumable({ journal }); // resumes journal.restore() on its first connection
 * ```
 * @category Sessions
 */
export interface SessionJournal {
  /**
   * What was kept, read once when `resumable` is subscribed; `undefined` when there is nothing. A
   * state that does not hold together (frames not numbered up to `lastSeq` without a gap, counts
   * that are not whole, a session id or token that is not 32 lowercase hex digits, or only one of
   * them) fails the stream with a TypeError that says what it holds, before any dial.
   */
  restore(): JournalState | undefined;
  /**
   * A welcome: the session and its new token. Another session than the one kept (the old one was
   * lost and replaced) drops everything kept before; the first one keeps the frames sent before it.
   */
  session(id: string, token: string): void;
  /** An outbound frame, numbered `seq`, about to leave. */
  sent(seq: number, frame: unknown): void;
  /** The peer has every frame up to `seq`: those need not be kept. */
  acked(seq: number): void;
  /** This side received and delivered every frame up to `seq`. */
  received(seq: number): void;
  /** The session is over: nothing is left to resume. */
  clear(): void;
  /**
   * Optional: makes everything told since the last commit as durable as the journal promises. A
   * journal that has it may hold `sent`, `acked` and `received` until it is called: `resumable`
   * then commits once per turn of the event loop and writes that turn's frames to the connection
   * only after it (write-ahead, one flush per turn instead of one per frame). `session` and `clear`
   * must be durable when they return, commit or not.
   *
   * It may return a promise (a journal on an asynchronous store, such as IndexedDB): the frames of
   * the turn leave once it resolves, one commit runs at a time (what is told meanwhile waits for
   * the next), and a rejection fails the stream with its reason (as does a thenable whose `then`
   * throws, with what it threw). `resumable` does not bound the wait itself: a commit that never
   * settles holds every later frame, the welcome of the next connection and `close()` until the
   * stream is unsubscribed (which leaves nothing behind), so settle every commit, rejecting one
   * that cannot finish in time (`indexedDbJournal` does, after its `commitTimeout`; `fileJournal`
   * commits synchronously).
   */
  commit?(): void | PromiseLike<void>;
  /**
   * Optional: emits once when the journal can keep nothing more for a reason of its own, not in
   * answer to a call (a browser tab whose journal another tab took over, a database the browser
   * closed). `resumable` subscribes to it while its stream runs and fails the stream at once with
   * that error (an error it ends with instead counts the same), so that an idle client does not
   * keep a connection on a session it no longer keeps. Without it, such a failure ends the stream
   * at the journal's next call instead (the next frame sent or received, acknowledgement or
   * commit). It does not replace throwing from a call: a journal that emits here refuses its later
   * calls all the same.
   */
  readonly failure$?: Observable<unknown>;
}

/**
 * A {@link SessionJournal} in memory: it survives the stream that wrote it, not the process. Use
 * it in tests, or to hand a session from one stream to the next in one process.
 *
 * @example
 * ```ts
 * import { memoryJournal } from 'rx-lifeline';
 * const journal = memoryJournal();
 * journal.session('0'.repeat(32), '1'.repeat(32));
 * journal.sent(1, 'hello');
 * console.log(journal.restore()?.frames); // [{ seq: 1, frame: 'hello' }]
 * ```
 * @category Sessions
 */
export function memoryJournal(): SessionJournal {
  let state = empty();
  return {
    restore() {
      if (state.lastSeq === 0 && !state.session) return undefined;
      const { lastAcked, ...rest } = state;
      return { ...rest, frames: [...state.frames], ...(lastAcked ? { lastAcked } : {}) };
    },
    session(id, token) {
      if (state.session !== undefined && state.session !== id) state = empty();
      state.session = id;
      state.token = token;
    },
    sent(seq, frame) {
      state.frames.push({ seq, frame });
      state.lastSeq = seq;
    },
    acked(seq) {
      let drop = 0;
      while (drop < state.frames.length && state.frames[drop]!.seq <= seq) drop++;
      state.lastAcked = newestOfApplication(state.frames.splice(0, drop)) ?? state.lastAcked;
    },
    received(seq) {
      if (seq > state.received) state.received = seq;
    },
    clear() {
      state = empty();
    },
  };
}

/** The newest of `frames` that is not a layer's own, if any. */
function newestOfApplication(frames: readonly JournalFrame[]): JournalFrame | undefined {
  for (let i = frames.length - 1; i >= 0; i--) if (!isLayerOwnFrame(frames[i]!.frame)) return frames[i];
  return undefined;
}

function empty() {
  return {
    session: undefined as string | undefined,
    token: undefined as string | undefined,
    lastSeq: 0,
    received: 0,
    frames: [] as JournalFrame[],
    lastAcked: undefined as JournalFrame | undefined,
  };
}
