/**
 * The errors of the browser's session journal ({@link indexedDbJournal}).
 * @packageDocumentation
 */
import { LifelineError } from '../../core/errors.js';

/**
 * Why a {@link JournalHeldError} was thrown.
 *
 * - `'held'`: opening the journal found another tab (or worker) of the same origin holding it.
 * - `'taken-over'`: this tab held the journal, and another one took it over (`takeOver: true`).
 *
 * @example
 * ```ts
 * import type { JournalLockReason } from 'rx-lifeline';
 * const otherTabWon = (reason: JournalLockReason) => reason === 'taken-over';
 * ```
 * @category Sessions
 */
export type JournalLockReason = 'held' | 'taken-over';

/**
 * A journal is held by another tab: one tab per journal, so that two tabs never resume the same
 * session at once. On opening (`reason: 'held'`) nothing was read: close the other tab, use
 * another journal name, or open it with `takeOver: true`. After a take-over (`reason:
 * 'taken-over'`) this tab's journal refuses every call and its stream fails with this error: the
 * session goes on in the other tab.
 *
 * @example
 * ```ts
 * import { indexedDbJournal, JournalHeldError } from 'rx-lifeline';
 * try {
 *   await indexedDbJournal('chat');
 * } catch (error) {
 *   if (JournalHeldError.is(error)) console.warn(`${error.journal}: ${error.reason}`);
 * }
 * ```
 * @category Sessions
 */
export class JournalHeldError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'JournalHeldError';
  /** The journal's name, as given to {@link indexedDbJournal}. */
  declare readonly journal: string;
  /** Held by another tab at opening, or taken over by one since. */
  declare readonly reason: JournalLockReason;

  constructor(message: string, options: { journal: string; reason: JournalLockReason; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.journal = options.journal;
    this.reason = options.reason;
  }
}

/**
 * A journal refused a frame because it holds `maxFrames` frames or `maxBytes` bytes already, all
 * unacknowledged by the server. The frame was not kept; the journal goes on. It is never reached
 * when the journal's caps are at least `resumable`'s own: its {@link ReplayBufferFullError} comes
 * first.
 *
 * @example
 * ```ts
 * import { JournalFullError } from 'rx-lifeline';
 * const describe = (e: unknown) =>
 *   JournalFullError.is(e) ? `${e.frames} frames, ${e.bytes} bytes waiting for the server` : String(e);
 * ```
 * @category Sessions
 */
export class JournalFullError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'JournalFullError';
  /** The journal's name. */
  declare readonly journal: string;
  /** Frames held when the frame was refused. */
  declare readonly frames: number;
  /** Bytes (MessagePack) held when the frame was refused. */
  declare readonly bytes: number;
  /** The refused frame's size, in bytes of MessagePack. */
  declare readonly frameBytes: number;
  /** The journal's `maxFrames`. */
  declare readonly maxFrames: number;
  /** The journal's `maxBytes`. */
  declare readonly maxBytes: number;

  constructor(
    message: string,
    details: {
      journal: string;
      frames: number;
      bytes: number;
      frameBytes: number;
      maxFrames: number;
      maxBytes: number;
    },
  ) {
    super(message);
    this.journal = details.journal;
    this.frames = details.frames;
    this.bytes = details.bytes;
    this.frameBytes = details.frameBytes;
    this.maxFrames = details.maxFrames;
    this.maxBytes = details.maxBytes;
  }
}

/**
 * Why an {@link IndexedDbJournalError} was thrown.
 *
 * - `'unavailable'`: this context has no IndexedDB or no Web Locks API (Web Locks need a secure
 *   context: https, or http on localhost).
 * - `'storage'`: IndexedDB failed (a quota, a transaction aborted, the database deleted or closed
 *   by the browser; see `cause`). The journal refuses every later call: open it again.
 * - `'closed'`: the journal was closed with `close()`.
 * - `'unencodable'`: a frame that MessagePack cannot carry (see `cause`); nothing was kept.
 *
 * @example
 * ```ts
 * import type { IndexedDbJournalErrorReason } from 'rx-lifeline';
 * const reopen = (reason: IndexedDbJournalErrorReason) => reason === 'storage';
 * ```
 * @category Sessions
 */
export type IndexedDbJournalErrorReason = 'unavailable' | 'storage' | 'closed' | 'unencodable';

/**
 * An {@link indexedDbJournal} could not open, read or keep its records: the message names the
 * journal and what to do, `cause` holds the browser's error.
 *
 * @example
 * ```ts
 * import { indexedDbJournal, IndexedDbJournalError } from 'rx-lifeline';
 * try {
 *   await indexedDbJournal('chat');
 * } catch (error) {
 *   if (IndexedDbJournalError.is(error) && error.reason === 'unavailable') console.warn('no journal here');
 * }
 * ```
 * @category Sessions
 */
export class IndexedDbJournalError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'IndexedDbJournalError';
  /** The journal's name. */
  declare readonly journal: string;
  /** What went wrong. */
  declare readonly reason: IndexedDbJournalErrorReason;

  constructor(
    message: string,
    options: { journal: string; reason: IndexedDbJournalErrorReason; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.journal = options.journal;
    this.reason = options.reason;
  }
}
