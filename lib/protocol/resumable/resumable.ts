import { Observable, type SchedulerLike } from 'rxjs';
import type { ConnectedEvent, FrameEvent } from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { checkKnownOptions, checkOneOf, type KnownOptions } from '../../internal/validate.js';
import { resolveSideOptions } from './session-side.js';
import type { JournalState, SessionJournal } from './journal.js';
import type { LostFrames, ReplayBufferFullError, SessionLostReason } from './errors.js';
import { ResumableRun, type ResumableEmitted, type ResumableSettings } from './resumable-run.js';

/**
 * A session was resumed on a new connection: the handshake succeeded and this side resent the
 * `replayed` frames the peer had not received (the peer resends its own; duplicates are dropped).
 *
 * @example
 * ```ts
 * import type { ResumedEvent } from 'rx-lifeline';
 * const log = (e: ResumedEvent) => console.log(`resumed, ${e.replayed} frames resent`);
 * ```
 * @category Sessions
 */
export interface ResumedEvent {
  readonly type: 'resumed';
  /** Frames this side sent again after the handshake. */
  readonly replayed: number;
  /**
   * `true` when the link is live again on a fresh session that replaced a lost one, after a
   * {@link SessionResetEvent}: nothing crossed the reset. `false` on a real resume.
   */
  readonly fresh: boolean;
  /**
   * Present (`true`) when the session was resumed on another server process, from a session store
   * (the process that held it died or left): what that process took but did not store is gone with
   * it. The requests layer settles the requests it may have taken (see {@link cancelPending}). The
   * event then comes once the new process's replay of what the one before stored is in (when the
   * server says where it ends), so the answers that process stored are delivered before it: a
   * request it answered, even with a refusal, is not taken for one whose outcome is unknown. If
   * the connection breaks first, the next resume says it.
   */
  readonly moved?: true;
  /** With `moved`: the highest `seq` of this side that the new process has. */
  readonly peerReceived?: number;
}

/**
 * The session could not be resumed and, as configured (`onSessionLost: 'reset'`), a fresh one
 * took its place on the same stable link: sequence numbers start again at 1, and the frames in
 * `lost` may never have arrived. Resynchronise the application's state after it.
 *
 * @example
 * ```ts
 * import type { SessionResetEvent } from 'rx-lifeline';
 * const onReset = (e: SessionResetEvent) => console.warn(`session reset (${e.reason}), resync`, e.lost);
 * ```
 * @category Sessions
 */
export interface SessionResetEvent {
  readonly type: 'session-reset';
  /** Why the old session could not be resumed. */
  readonly reason: SessionLostReason;
  /** What may be lost, by sequence number. */
  readonly lost: LostFrames;
  /**
   * What this side sent on the old session that the peer may never get, handed back, oldest
   * first: the application's messages with {@link cancelPending} in the pipe (which resends or
   * fails the requests among them, counted in `requests`), else the frames given to the link.
   */
  readonly unsent: readonly unknown[];
  /** Requests of the old session that may not have arrived ({@link cancelPending} in the pipe). */
  readonly requests: number;
}

/**
 * A {@link resumable} with a `journal` found a session (or frames sent offline) in it when it was
 * subscribed: emitted once, at once, before anything else, with what the journal restored. The
 * session is resumed on the first connection, the frames in `state.frames` replayed to the server.
 * It is the restarted process's commitment point: pass `state` to {@link sentOutcomes} to learn
 * which of the messages sent before the crash the server has, which are replayed, and which must
 * be sent again. Not emitted when the journal was empty.
 *
 * With {@link cancelPending} in the pipe it arrives in the application's terms (a
 * {@link RequestsRestoredEvent}): the frames are the messages and request payloads, and the
 * requests the previous process made are listed.
 *
 * @example
 * ```ts
 * import { sentOutcomes, type RestoredEvent } from 'rx-lifeline';
 * const onRestored = (e: RestoredEvent) =>
 *   console.log(`resuming ${e.state.session}: ${sentOutcomes(e.state, () => undefined).pending.length} frames to replay`);
 * ```
 * @category Sessions
 */
export interface RestoredEvent {
  readonly type: 'restored';
  /** What the journal restored, as `journal.restore()` returned it. */
  readonly state: JournalState;
}

/**
 * `send` refused a frame because the replay buffer was full (`onOverflow: 'event'`). The frame was
 * not queued: it is here, to be sent again later or dropped by the application's own choice.
 *
 * @example
 * ```ts
 * import type { OverflowEvent } from 'rx-lifeline';
 * const onOverflow = (e: OverflowEvent<string>) => console.warn(`not sent: ${e.frame}`, e.error.bytes);
 * ```
 * @category Sessions
 */
export interface OverflowEvent<Out = unknown> {
  readonly type: 'overflow';
  /** The refused frame. */
  readonly frame: Out;
  /** The details: frames and bytes held, the caps. */
  readonly error: ReplayBufferFullError;
}

/**
 * What {@link resumable} emits besides the events it passes through (`disconnected`, heartbeat
 * samples): one `connected` with the stable session link, each inbound frame once, and the
 * session's own events.
 *
 * @example
 * ```ts
 * import type { ResumableEvent } from 'rx-lifeline';
 * const show = (e: ResumableEvent<string>) => (e.type === 'frame' ? e.frame : e.type);
 * ```
 * @category Sessions
 */
export type ResumableEvent<In = unknown, Out = In> =
  | ConnectedEvent<Out>
  | FrameEvent<In>
  | RestoredEvent
  | ResumedEvent
  | SessionResetEvent
  | OverflowEvent<Out>;

/**
 * Options of {@link resumable}.
 *
 * @example
 * ```ts
 * import type { ResumableConfig } from 'rx-lifeline';
 * const config: ResumableConfig<string> = { maxBytes: 1024 * 1024, ackEvery: 16, onSessionLost: 'reset' };
 * ```
 * @category Sessions
 */
export interface ResumableConfig<Out = unknown> {
  /**
   * Where this client keeps its session so that a process that dies resumes it: the session id and
   * token, the counters, and every frame the server has not acknowledged, kept before it leaves.
   * On subscription `resumable` restores what the journal holds, says so with a
   * {@link RestoredEvent}, and resumes that session on its first connection, replaying what the
   * server missed. `close()` and a lost session clear it;
   * unsubscribing keeps it (that is what a crash looks like). Frames the server sent after the
   * last one the journal recorded as received are delivered again after a restart: at least once
   * across a crash, each with its place in the server's numbering unchanged.
   * @default undefined (the session lives as long as the subscription)
   */
  journal?: SessionJournal;
  /**
   * Cap on the bytes of unacknowledged outbound frames (as measured by `sizeOf`). It does not
   * bound inbound frames, which are delivered at once. With the default measure, a frame written
   * at once to a live connection is measured as it is written, so it is refused only when the
   * buffer is full already and may take it past `maxBytes` by that one frame; a frame queued
   * while disconnected is refused when it would not fit. From half of it on (or of `maxFrames`),
   * the link's `send()` returns `false`: a sender that waits for `drain$` then never reaches it.
   * @default 4 MiB (4_194_304)
   */
  maxBytes?: number;
  /**
   * Cap on the number of unacknowledged outbound frames; `send()` returns `false` from half of it.
   * @default 65_536
   */
  maxFrames?: number;
  /**
   * Ack after this many inbound frames.
   * @default 32
   */
  ackEvery?: number;
  /**
   * Ack at most this many milliseconds after the first frame not yet acked. It does not send
   * anything while no frame arrives.
   * @default 200
   */
  ackInterval?: number;
  /**
   * A frame that does not fit in the replay buffer: `send` throws {@link ReplayBufferFullError}
   * (`'error'`), or returns `false` and the stream emits an {@link OverflowEvent} (`'event'`).
   * Either way the frame is not queued; it never evicts older frames.
   * @default 'error'
   */
  onOverflow?: 'error' | 'event';
  /**
   * When the server cannot resume the session (it expired or restarted, refused the token, or a
   * gap opened): error with {@link SessionLostError} (`'error'`), or emit a
   * {@link SessionResetEvent} and continue with a fresh session (`'reset'`).
   * @default 'error'
   */
  onSessionLost?: 'error' | 'reset';
  /**
   * The size of a frame in bytes, for `maxBytes`. By default a frame written at once counts the
   * bytes it added to the connection's send queue — its encoded envelope with the framing, at no
   * extra cost — and a frame queued while disconnected is encoded with MessagePack to be measured
   * (which also refuses, at `send`, a frame that cannot be encoded). Pass a function to measure
   * every frame yourself, before it is written, so that `maxBytes` is never exceeded. It does not
   * change what goes on the wire.
   * @default the encoded size, as written (MessagePack size while disconnected)
   */
  sizeOf?: (frame: Out) => number;
  /**
   * Runs the ack timer.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

const CONFIG: KnownOptions<ResumableConfig> = {
  journal: true,
  maxBytes: true,
  maxFrames: true,
  ackEvery: true,
  ackInterval: true,
  onOverflow: true,
  onSessionLost: true,
  sizeOf: true,
  scheduler: true,
};

/**
 * Makes a session stream deliver every frame exactly once and in order, in both directions, across
 * reconnects (across connections: pipe it after {@link reconnectWith}; the server uses
 * {@link acceptSessions}). Every frame is numbered and kept until the peer acknowledges it; on each
 * new connection a handshake names the session, proves it with a single-use token, and says how
 * far each side got, and each side replays what the other missed and drops duplicates.
 *
 * With a `journal` that holds a session, it first emits a {@link RestoredEvent}. It emits
 * `connected` once, when the first handshake succeeds, with a link that stays valid
 * across reconnections: `send` while disconnected queues in the replay buffer (capped by
 * `maxBytes` and `maxFrames`; overflow is an error or an {@link OverflowEvent}, never a silent
 * drop). Then `frame` events, each once, in order; `resumed` after each successful resume;
 * `session-reset` when a lost session was replaced (`onSessionLost: 'reset'`), before anything of
 * the fresh session, then `resumed` with `fresh: true` once the fresh session is live. `disconnected`
 * and other events (heartbeat samples) pass through. It errors with {@link SessionLostError} when
 * the session cannot be resumed (by default), with a `ProtocolError` when the peer breaks the
 * protocol or speaks no common version, and with the source's error when the policy gives up.
 * `link.close()` writes what the session still holds, says goodbye (a server speaking version 2
 * of the layer then ends the session at once instead of keeping it for its TTL), closes the
 * connection and completes the stream; closed while disconnected, it ends at once.
 *
 * It does not reconnect by itself, does not time out a handshake (pipe {@link heartbeat} before
 * `reconnectWith` for that), and keeps the buffer in memory only unless given a `journal`:
 * without one, a client process that restarts starts a new session. Piped where a session stream is not expected (before `reconnectWith`, so
 * that its source fails with a connection error), it errors with a `TypeError` that says so; a
 * `reconnectWith` after it gives up at once with a {@link GaveUpError} (reason `'permanent'`) whose
 * message carries that `TypeError`'s.
 *
 * @example
 * ```ts
 * import { memory, policy, reconnectWith, resumable } from 'rx-lifeline';
 * const side = memory();
 * const session = side.transport.pipe(
 *   reconnectWith(policy.exponential({ initial: 100, max: 10_000 })),
 *   resumable<string>({ maxBytes: 1024 * 1024 }),
 * );
 * const sub = session.subscribe({
 *   next: (event) => {
 *     if (event.type === 'connected') event.link.send('hello');
 *     else if (event.type === 'frame') console.log(event.frame);
 *     else if (event.type === 'resumed') console.log(`resumed, resent ${event.replayed}`);
 *   },
 *   // SessionLostError (with what was lost), or the reconnect policy's GaveUpError.
 *   error: (error: unknown) => console.error('session ended', error),
 * });
 * sub.unsubscribe();
 * ```
 * @category Sessions
 */
export function resumable<In = unknown, Out = In>(
  config: ResumableConfig<Out> = {},
): <E extends { readonly type: string }>(
  source: Observable<E>,
) => Observable<ResumableEvent<In, Out> | Exclude<E, ConnectedEvent<unknown> | FrameEvent<unknown>>> {
  checkKnownOptions('resumable', config, CONFIG);
  const { journal, onOverflow = 'error', onSessionLost = 'error' } = config;
  const side = resolveSideOptions('resumable', config);
  checkOneOf('resumable', 'onOverflow', onOverflow, ['error', 'event']);
  checkOneOf('resumable', 'onSessionLost', onSessionLost, ['error', 'reset']);
  checkJournal(journal);

  const settings: ResumableSettings<Out> = {
    journal,
    onOverflow,
    onSessionLost,
    side,
  };
  // Everything of one subscription lives in its run, so the operator itself holds no state.
  const operator = (source: Observable<{ readonly type: string }>) =>
    new Observable<ResumableEmitted<In, Out>>((subscriber) =>
      new ResumableRun<In, Out>(subscriber, settings).start(source),
    );
  return operator as never;
}

/**
 * A journal is an object with the six calls of {@link SessionJournal}, read structurally, and
 * an Observable as `failure$` if it has one.
 */
function checkJournal(journal: unknown): void {
  if (journal === undefined) return;
  const failure$ = (journal as { failure$?: { subscribe?: unknown } } | null)?.failure$;
  if (failure$ !== undefined && typeof failure$?.subscribe !== 'function') {
    throw new TypeError(`resumable: journal.failure$ must be an Observable, got ${describeValue(failure$)}`);
  }
  const calls = ['restore', 'session', 'sent', 'acked', 'received', 'clear'] as const;
  const missing = calls.filter(
    (call) => typeof (journal as Record<string, unknown> | null)?.[call] !== 'function',
  );
  if (typeof journal === 'object' && journal !== null && missing.length === 0) return;
  throw new TypeError(
    `resumable: journal must be a SessionJournal (memoryJournal(), fileJournal(path)), got ${describeValue(journal)}${missing.length && typeof journal === 'object' && journal !== null ? ` without ${missing.join(', ')}` : ''}`,
  );
}
