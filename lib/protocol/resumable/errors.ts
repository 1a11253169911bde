import { LifelineError } from '../../core/errors.js';

/**
 * A range of sequence numbers, both ends included.
 *
 * @example
 * ```ts
 * import type { SeqRange } from 'rx-lifeline';
 * const range: SeqRange = [41, 57];
 * ```
 * @category Sessions
 */
export type SeqRange = readonly [from: number, to: number];

/**
 * What a lost session could not deliver. `sent` is this side's frames the peer never acknowledged
 * (they may or may not have arrived); `missed` is the peer's frames this side will never receive,
 * when the peer said so. Either is `undefined` when empty or unknown.
 *
 * @example
 * ```ts
 * import type { LostFrames } from 'rx-lifeline';
 * const lost: LostFrames = { sent: [12, 20], missed: undefined };
 * ```
 * @category Sessions
 */
export interface LostFrames {
  /** This side's unacknowledged frames, by `seq`: they may not have reached the peer. */
  readonly sent: SeqRange | undefined;
  /** The peer's frames, by `seq`, that nobody can replay any more. */
  readonly missed: SeqRange | undefined;
}

/**
 * Why a session could not be resumed: the server's refusal reason, or `'gap'` when the peer's
 * replay buffer no longer holds frames this side needs.
 *
 * @example
 * ```ts
 * import type { SessionLostReason } from 'rx-lifeline';
 * const expired = (reason: SessionLostReason) => reason === 'unknown-session';
 * ```
 * @category Sessions
 */
export type SessionLostReason = 'unknown-session' | 'bad-token' | 'gap';

/**
 * A session could not be resumed: the server no longer knows it (it expired or restarted), refused
 * its token, or a gap opened between what one side received and what the other still buffers. It
 * is never retried silently: `lost` says which frames may be gone, `unsent` hands them back and
 * `requests` counts the requests that were pending.
 *
 * @example
 * ```ts
 * import { SessionLostError } from 'rx-lifeline';
 * const describe = (e: unknown) =>
 *   SessionLostError.is(e) ? `${e.reason}: ${e.unsent.length} messages, ${e.requests} requests may be lost` : String(e);
 * ```
 * @category Sessions
 */
export class SessionLostError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'SessionLostError';

  /** Why the session could not be resumed. */
  declare readonly reason: SessionLostReason;
  /** What may be lost, by sequence number. */
  declare readonly lost: LostFrames;
  /**
   * What this side sent that the peer may never get, handed back, oldest first. With
   * `cancelPending()` in the pipe these are the application's messages (its queue's too);
   * without it, the frames given to the session link.
   */
  declare readonly unsent: readonly unknown[];
  /**
   * Requests pending when the session was lost (`cancelPending()` in the pipe; 0 without): each
   * failed with `RequestCancelledError`, this error as its cause.
   */
  declare readonly requests: number;

  constructor(
    message: string,
    options: {
      reason: SessionLostReason;
      lost: LostFrames;
      unsent?: readonly unknown[];
      requests?: number;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.reason = options.reason;
    this.lost = options.lost;
    this.unsent = options.unsent ?? [];
    this.requests = options.requests ?? 0;
  }
}

/**
 * A server session had no connection for its `sessionTtl` and was dropped: its `events$` errors
 * with this, and a later resume is refused with `'unknown-session'`.
 *
 * @example
 * ```ts
 * import { SessionExpiredError } from 'rx-lifeline';
 * const expired = (e: unknown) => (SessionExpiredError.is(e) ? e.idleFor : 0);
 * ```
 * @category Sessions
 */
export class SessionExpiredError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'SessionExpiredError';

  /** The session's id. */
  declare readonly session: string;
  /** How long the session had been without a connection, in milliseconds. */
  declare readonly idleFor: number;

  constructor(message: string, options: { session: string; idleFor: number }) {
    super(message);
    this.session = options.session;
    this.idleFor = options.idleFor;
  }
}

/**
 * A frame was refused because the replay buffer is full: keeping it would exceed `maxFrames` or
 * `maxBytes` of unacknowledged frames. The frame was not queued and nothing else was dropped; send
 * it again once the peer has acknowledged more (after a resume, or after `drain$`).
 *
 * @example
 * ```ts
 * import { ReplayBufferFullError } from 'rx-lifeline';
 * const full = (e: unknown) => (ReplayBufferFullError.is(e) ? `${e.frames} frames, ${e.bytes} bytes` : '');
 * ```
 * @category Sessions
 */
export class ReplayBufferFullError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'ReplayBufferFullError';

  /** Frames held when the frame was refused. */
  declare readonly frames: number;
  /** Bytes held when the frame was refused. */
  declare readonly bytes: number;
  /** The refused frame's size in bytes. */
  declare readonly size: number;
  /** The caps: `maxFrames` and `maxBytes`. */
  declare readonly limit: { readonly frames: number; readonly bytes: number };

  constructor(
    message: string,
    options: { frames: number; bytes: number; size: number; limit: { frames: number; bytes: number } },
  ) {
    super(message);
    this.frames = options.frames;
    this.bytes = options.bytes;
    this.size = options.size;
    this.limit = options.limit;
  }
}

/**
 * Why a {@link SessionStore} refused or failed: `'fenced'` (another process resumed the session:
 * this one's copy is stale and may change nothing), `'gone'` (the session expired or ended in the
 * store), `'unavailable'` (the store could not be reached or failed: transient), `'corrupt'` (the
 * stored record does not hold together).
 *
 * @example
 * ```ts
 * import type { SessionStoreErrorCode } from 'rx-lifeline';
 * const retry = (code: SessionStoreErrorCode) => code === 'unavailable';
 * ```
 * @category Sessions
 */
export type SessionStoreErrorCode = 'fenced' | 'gone' | 'unavailable' | 'corrupt';

/**
 * A session store refused a change or failed. A server session whose store write fails ends on
 * this process with it (its `events$` errors), and is never continued in memory alone: with
 * `'fenced'` its client already resumed it on another process; with `'unavailable'` (the store
 * failed, or did not answer a write within 30 seconds) the session stays in the store as it was,
 * and its client resumes it once the store is back. `unsent` hands
 * back the frames this process had taken but never wrote to the client (the store did not keep
 * them): they are not delivered, send them again on the session's new home if they matter.
 * `classifyFailure` calls `'unavailable'` transient, the others permanent.
 *
 * @example
 * ```ts
 * import { SessionStoreError } from 'rx-lifeline';
 * const moved = (e: unknown) => SessionStoreError.is(e) && e.code === 'fenced';
 * ```
 * @category Sessions
 */
export class SessionStoreError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'SessionStoreError';

  declare readonly code: SessionStoreErrorCode;
  /** The session's id, when one session is concerned. */
  declare readonly session: string | undefined;
  /** Frames taken from the application that never left this process, oldest first. */
  declare readonly unsent: readonly unknown[];

  constructor(
    message: string,
    options: { code: SessionStoreErrorCode; session?: string; unsent?: readonly unknown[]; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.session = options.session;
    this.unsent = options.unsent ?? [];
  }
}
