/**
 * Where a session server keeps its sessions so that they outlive the process that opened them:
 * any process on the same store resumes any session, the way socket.io's connection state recovery
 * does on a shared adapter and an MQTT broker keeps persistent sessions.
 * @packageDocumentation
 */
import type { JournalFrame } from './journal.js';

/**
 * A session as a {@link SessionStore} hands it to the process that claimed it.
 *
 * @example
 * ```ts
 * import type { StoredSession } from 'rx-lifeline';
 * const describe = (s: StoredSession) => `session ${s.id} (epoch ${s.epoch}): ${s.frames.length} frames to replay`;
 * ```
 * @category Sessions
 */
export interface StoredSession {
  readonly id: string;
  /** Bumped by each claim: writes under an older epoch are refused (fencing). */
  readonly epoch: number;
  /** The highest `seq` the server sent (0 before any). */
  readonly lastSeq: number;
  /** The highest client `seq` the server kept as received. */
  readonly received: number;
  /** The server's frames the client has not received, oldest first, up to `lastSeq`. */
  readonly frames: readonly JournalFrame[];
  /** What `authenticate` returned for the connection that opened the session. */
  readonly identity: unknown;
}

/**
 * What {@link SessionStore.claim} answers: the session (now this process's, under a new epoch), or
 * why not.
 *
 * @example
 * ```ts
 * import type { SessionClaimResult } from 'rx-lifeline';
 * const ok = (r: SessionClaimResult) => r.status === 'claimed';
 * ```
 * @category Sessions
 */
export type SessionClaimResult =
  /**
   * `held`: the caller's copy was current (`heldEpoch` was the epoch before), so the store may
   * have left `session.frames` empty.
   */
  | { readonly status: 'claimed'; readonly session: StoredSession; readonly held?: boolean }
  /** No such session: it never was, expired, or ended. */
  | { readonly status: 'unknown' }
  /** The token is neither the current one nor the one before it; the session is now locked. */
  | { readonly status: 'bad-token' }
  /** A wrong token was presented less than `lockout` ago: the token was not compared. */
  | { readonly status: 'locked' }
  /**
   * The client missed frames the store no longer holds (it acknowledged them, then lost them): the
   * session cannot resume and was removed. `firstSeq` is the oldest frame still held.
   */
  | { readonly status: 'gap'; readonly firstSeq: number }
  /** The client claims frames the server never sent: a protocol error; nothing changed. */
  | { readonly status: 'ahead'; readonly lastSeq: number };

/**
 * A resume, as {@link SessionStore.claim} takes it.
 *
 * @example
 * ```ts
 * import type { SessionClaim } from 'rx-lifeline';
 * const claim: SessionClaim = { id: 'a'.repeat(32), token: 'b'.repeat(32), nextToken: 'c'.repeat(32), received: 0, lockout: 1_000, ttl: 60_000 };
 * ```
 * @category Sessions
 */
export interface SessionClaim {
  readonly id: string;
  /** The token the client presented. */
  readonly token: string;
  /** The token the session takes if the claim succeeds (the one the welcome hands out). */
  readonly nextToken: string;
  /** The highest server `seq` the client received: frames up to it are dropped. */
  readonly received: number;
  /** Milliseconds a wrong token locks the session; 0 locks nothing. */
  readonly lockout: number;
  /** Milliseconds the session is kept from now without another write or touch. */
  readonly ttl: number;
  /** The epoch of the copy the caller holds, if any: when still current, frames need not be sent. */
  readonly heldEpoch?: number;
}

/**
 * One batch of changes to a stored session: what its process did in one turn.
 *
 * @example
 * ```ts
 * import type { SessionChanges } from 'rx-lifeline';
 * const changes: SessionChanges = { frames: [{ seq: 1, frame: 'hi' }], acked: 0, received: 3, settled: true };
 * ```
 * @category Sessions
 */
export interface SessionChanges {
  /** Server frames to keep, numbered right after the stored `lastSeq`. */
  readonly frames: readonly JournalFrame[];
  /** The client acknowledged every server frame up to it: those are dropped. */
  readonly acked?: number;
  /** The server kept every client frame up to it as received. */
  readonly received?: number;
  /** The client spoke after its welcome: the token before the current one no longer resumes. */
  readonly settled?: boolean;
}

/**
 * Where {@link acceptSessions} keeps its sessions when they must outlive the process (the
 * `store` option): the session record (token, epoch, sequence numbers both ways, the client's
 * acknowledgement, the identity) and the replay log of server frames not yet acknowledged.
 * Without one, sessions live in the server's memory and end with it.
 *
 * The rules an implementation keeps, and `acceptSessions` relies on:
 * - every call is atomic for its session;
 * - `claim` checks the token (the current one or the one before it), rotates it to `nextToken`
 *   and bumps the epoch in one step, so two processes never both resume a session;
 * - `write` and `remove` under an epoch older than the session's are refused with
 *   {@link SessionStoreError} `'fenced'` (a process that lost its session to another cannot
 *   change it), and `write` on a session that is gone with `'gone'`;
 * - a session without a write or touch for its `ttl` is forgotten;
 * - a failure of the store itself rejects with {@link SessionStoreError} `'unavailable'`; nothing
 *   is ever half written.
 *
 * A `write` not answered within 30 seconds counts as failed: the session ends on this process
 * with {@link SessionStoreError} `'unavailable'` (its `unsent` the frames of that write and those
 * taken since, which never left), rather than hold its later frames, its `close()` and its server's
 * drain until the store answers; what the store does with that write later changes nothing there,
 * and the client resumes from what the store holds.
 *
 * A method that throws instead of rejecting, or answers something other than a promise (a
 * TypeError says what), counts as a rejection, and so does a `claim` that resolves to something
 * other than a {@link SessionClaimResult} for that session: a hello is refused `'overloaded'`
 * (counted in `stats$`'s `refused.store`), a `write` ends the session with `'unavailable'`, and a
 * `touch` or `remove` is let go as a rejected one is; nothing escapes from the server's timers.
 *
 * `memorySessionStore()` keeps them in this process (for tests, or several servers in one
 * process); `redisSessionStore()` from `rx-lifeline/redis` in Redis, for many processes.
 *
 * @example
 * ```ts
 * import { acceptSessions, memory, memorySessionStore } from 'rx-lifeline';
 * const store = memorySessionStore();
 * const sessions = acceptSessions(memory().server, { store });
 * ```
 * @category Sessions
 */
export interface SessionStore {
  /** Keeps a new session, epoch 1, with no frames either way. */
  create(session: {
    readonly id: string;
    readonly token: string;
    readonly identity: unknown;
    readonly ttl: number;
  }): PromiseLike<void>;
  /** Resumes a session for this process (see {@link SessionClaimResult}). */
  claim(claim: SessionClaim): PromiseLike<SessionClaimResult>;
  /** Applies one batch of changes under `epoch`, and keeps the session `ttl` ms from now. */
  write(id: string, epoch: number, changes: SessionChanges, ttl: number): PromiseLike<void>;
  /** Keeps each session `ttl` ms from now, when its epoch is still current (others are skipped). */
  touch(sessions: readonly { readonly id: string; readonly epoch: number }[], ttl: number): PromiseLike<void>;
  /** Forgets a session, when `epoch` is still current. */
  remove(id: string, epoch: number): PromiseLike<void>;
}
