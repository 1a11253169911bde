import { describeValue } from '../internal/describe-value.js';
import { BehaviorSubject, ReplaySubject, Subject, type Observable, type Observer } from 'rxjs';
import { LinkClosedError } from '../core/errors.js';
import type { DisconnectedEvent } from '../core/session.js';
import type { FrameEvent } from '../core/transport.js';
import type { RequestLink, RequestLinkEvent, RequestOptions } from '../protocol/requests/cancelPending.js';
import type {
  RecoveredResponseEvent,
  RequestsRestoredEvent,
} from '../protocol/requests/restored-requests.js';
import type { SessionResetEvent } from '../protocol/resumable/resumable.js';

/**
 * Where a {@link ClientSession} stands. `reconnecting` says when the next dial starts and why the
 * last connection ended; `reset` that the session could not be resumed and a fresh one replaces it
 * (`resumable({ onSessionLost: 'reset' })`: what may be lost is in `lost`; `connected` follows once
 * the fresh session is live); `closed` carries the error when the stream failed (the policy gave
 * up, the session was lost), and nothing after `close()` or a clean end.
 *
 * @example
 * ```ts
 * import type { ClientState } from 'rx-lifeline';
 * const badge = (s: ClientState) =>
 *   s.status === 'reconnecting' ? `reconnecting in ${s.delay} ms (try ${s.attempt + 1})` : s.status;
 * ```
 * @category Sessions
 */
export type ClientState =
  | { readonly status: 'connecting' }
  | { readonly status: 'connected' }
  | {
      readonly status: 'reconnecting';
      readonly attempt: number;
      readonly delay: number;
      readonly error: unknown;
    }
  | {
      readonly status: 'reset';
      readonly reason: SessionResetEvent['reason'];
      readonly lost: SessionResetEvent['lost'];
    }
  | { readonly status: 'closed'; readonly error?: unknown };

/**
 * What {@link openSession} returns: one handle for a connection that survives reconnects.
 *
 * @example
 * ```ts
 * import type { ClientSession } from 'rx-lifeline';
 * const hello = (session: ClientSession<string, string>) => session.send('hello');
 * ```
 * @category Sessions
 */
export interface ClientSession<In = unknown, Out = In> {
  /**
   * Every plain inbound message, across reconnects (exactly once with `resumable` in the pipe).
   * Hot: a subscriber sees the messages that arrive after it subscribed. Completes after `close()`
   * or a clean end; errors with the stream's error when it fails for good.
   */
  readonly messages$: Observable<In>;
  /** The current {@link ClientState} at once, then every change; completes after `closed`. */
  readonly state$: Observable<ClientState>;
  /**
   * Each time the session was lost and a fresh one took its place (`onSessionLost: 'reset'`), the
   * {@link SessionResetEvent}, before any message of the fresh session reaches `messages$`: the
   * application resynchronises its state here. Hot; completes with `state$`.
   */
  readonly resets$: Observable<SessionResetEvent>;
  /**
   * With a journal (`resumable({ journal })`) that held a session of an earlier process: what it
   * restored, once (the {@link RequestsRestoredEvent}: the messages and requests that process
   * sent, for {@link sentOutcomes}). It is emitted while `openSession` subscribes, so this
   * replays it to a later subscriber. Completes with `state$`; nothing when the journal held no
   * session.
   */
  readonly restored$: Observable<RequestsRestoredEvent>;
  /**
   * The answers to requests an earlier process made on the restored session
   * ({@link RecoveredResponseEvent}: each part, with the request's id), which no Observable of
   * this process waits for. Hot, like `messages$`: they come over a connection, never before
   * `openSession` returns, so subscribe right after it. Completes with `state$`.
   */
  readonly recovered$: Observable<RecoveredResponseEvent>;
  /**
   * Sends a plain message, or queues it while no connection takes it (then it returns `false`).
   * @throws `SendQueueFullError` when `maxQueued` messages wait already; `LinkClosedError` after
   * `close()` or the end of the stream; `EncodeError` when the message cannot be encoded.
   */
  send(message: Out): boolean;
  /** A cold Observable of the response to `payload`: see {@link RequestLink.request}. */
  request<R = unknown>(payload: unknown, options?: RequestOptions): Observable<R>;
  /**
   * Ends everything: cancels every pending request on the server and fails it here with
   * `RequestCancelledError`, flushes queued messages onto a live connection, closes it gracefully.
   * Returns the queued messages that could not be handed to a connection (there was none): they
   * are never sent. Calling it again returns an empty array.
   */
  close(): readonly Out[];
}

/**
 * The messages a session stream delivers, read from its type: the frame type of its `frame` events
 * (`In` of `cancelPending<In, Out>()` at the end of the pipe). {@link openSession} infers it.
 *
 * @example
 * ```ts
 * import type { FrameEvent, RequestLinkEvent, SessionIn } from 'rx-lifeline';
 * type Received = SessionIn<FrameEvent<number> | RequestLinkEvent<string>>; // number
 * const n: Received = 7;
 * ```
 * @category Sessions
 */
export type SessionIn<E> = E extends FrameEvent<infer In> ? In : never;

/**
 * The messages a session stream sends, read from its type: the frame type of its request link
 * (`Out` of `cancelPending<In, Out>()`). `never` when the stream has no request link.
 *
 * @example
 * ```ts
 * import type { FrameEvent, RequestLinkEvent, SessionOut } from 'rx-lifeline';
 * type Sent = SessionOut<FrameEvent<number> | RequestLinkEvent<string>>; // string
 * const s: Sent = 'hello';
 * ```
 * @category Sessions
 */
export type SessionOut<E> = E extends RequestLinkEvent<infer Out> ? Out : never;

/**
 * Turns a resilient pipe into a handle an application keeps: `messages$`, `state$`, `send`,
 * `request`, `close()`, stable across reconnects. The message types come from the pipe: what
 * `cancelPending<In, Out>()` at its end receives and sends ({@link SessionIn}, {@link SessionOut}). The stream must end with {@link cancelPending};
 * the usual pipe is `transport.pipe(handshake({ layers: ['heartbeat', 'resumable', 'requests'] }),
 * heartbeat(), reconnectWith(policy), resumable(), cancelPending())`, the handshake first: it names
 * every layer piped after it, and the server's {@link acceptHandshake} must name the same.
 * It subscribes at once (the first dial starts now), so subscribe to `messages$` right after.
 *
 * `messages$` works with `for await` through rxjs-for-await's `eachValueFrom`. `state$` is a badge:
 * `connecting`, then `connected` / `reconnecting` (attempt, delay, error) as connections come and
 * go, `connected` again on a resume, `reset` (then `connected`) when a lost session was replaced,
 * and `closed` once; `resets$` carries each reset too, before any message of the fresh session.
 * Messages and requests made while disconnected wait in order in one send buffer: with `resumable`
 * in the pipe, its replay buffer (`maxBytes`, `maxFrames`); without it, the queue of
 * {@link cancelPending} (`maxQueued` frames, `maxQueuedBytes` bytes).
 *
 * It does not retry a failed stream: once `closed`, create a new session. It does not buffer
 * inbound messages for late subscribers.
 *
 * @example
 * ```ts
 * import {
 *   cancelPending,
 *   handshake,
 *   heartbeat,
 *   memory,
 *   openSession,
 *   policy,
 *   reconnectWith,
 *   resumable,
 * } from 'rx-lifeline';
 * import { eachValueFrom } from 'rxjs-for-await';
 * const endpoint = memory();
 * const session = openSession(
 *   endpoint.transport.pipe(
 *     handshake({ layers: ['heartbeat', 'resumable', 'requests'] }),
 *     heartbeat({ interval: 5_000, timeout: 15_000 }),
 *     reconnectWith(policy.exponential({ initial: 100, max: 30_000 })),
 *     resumable(),
 *     cancelPending<string, string>({ timeout: 10_000 }),
 *   ),
 * ); // a ClientSession<string, string>
 * session.state$.subscribe((state) => console.log(state.status));
 * session.send('hello');
 * session.request<string>({ get: 'user/7' }, { idempotent: true, timeout: 2_000 }).subscribe({
 *   next: console.log,
 *   error: (error: unknown) => console.error('request failed', error), // RequestTimeoutError, …
 * });
 * async function read() {
 *   for await (const message of eachValueFrom(session.messages$)) console.log(message);
 * }
 * void read();
 * session.close();
 * ```
 * @category Sessions
 */
export function openSession<E extends { readonly type: string }>(
  stream: Observable<E>,
): ClientSession<SessionIn<E>, SessionOut<E>> {
  type Out = SessionOut<E>;
  if (typeof (stream as Partial<Observable<E>> | null)?.subscribe !== 'function') {
    throw new TypeError(`openSession: stream must be an Observable, got ${describeValue(stream)}`);
  }
  const events = new SessionEvents<SessionIn<E>, Out>();
  const subscription = stream.subscribe(events);
  const requestLink = events.link;
  if (!requestLink) {
    subscription.unsubscribe();
    throw new TypeError('openSession: the stream emitted no request link; pipe cancelPending() last');
  }
  const { messages, states, resets, restored, recovered } = events;
  return {
    messages$: messages.asObservable(),
    state$: states.asObservable(),
    resets$: resets.asObservable(),
    restored$: restored.asObservable(),
    recovered$: recovered.asObservable(),
    send: (message) => {
      if (events.closed) throw new LinkClosedError('The session is closed');
      return requestLink.send(message);
    },
    request: (payload, options) => requestLink.request(payload, options),
    close: () => {
      if (events.closed || requestLink.closeRequested) return [];
      requestLink.close();
      return requestLink.unsent;
    },
  };
}

/**
 * What {@link openSession} hears from its stream, sorted into the session's Observables: a
 * `request-link` event gives the link, connection events move `state$`, frames go to `messages$`,
 * and the stream's end closes them all.
 */
class SessionEvents<In, Out> implements Observer<{ readonly type: string }> {
  readonly messages = new Subject<In>();
  readonly states = new BehaviorSubject<ClientState>({ status: 'connecting' });
  readonly resets = new Subject<SessionResetEvent>();
  /** One event, emitted while `openSession` subscribes: kept for a later subscriber. */
  readonly restored = new ReplaySubject<RequestsRestoredEvent>(1);
  readonly recovered = new Subject<RecoveredResponseEvent>();
  /** The first request link the stream emitted. */
  link: RequestLink<Out> | undefined;
  /** Set once the stream ended: the session is closed. */
  closed = false;

  next(event: { readonly type: string }): void {
    switch (event.type) {
      case 'request-link':
        this.link ??= (event as RequestLinkEvent<Out>).link;
        return;
      case 'connected':
      case 'resumed':
        if (this.states.value.status !== 'connected') this.states.next({ status: 'connected' });
        return;
      case 'session-reset': {
        const reset = event as SessionResetEvent;
        this.states.next({ status: 'reset', reason: reset.reason, lost: reset.lost });
        this.resets.next(reset);
        return;
      }
      case 'disconnected': {
        const { attempt, delay, error } = event as DisconnectedEvent;
        this.states.next({ status: 'reconnecting', attempt, delay, error });
        return;
      }
      case 'frame':
        this.messages.next((event as FrameEvent<In>).frame);
        return;
      case 'restored':
        this.restored.next(event as RequestsRestoredEvent);
        return;
      case 'recovered-response':
        this.recovered.next(event as RecoveredResponseEvent);
        return;
      default:
    }
  }

  error(error: unknown): void {
    if (this.#end({ status: 'closed', error })) this.messages.error(error);
  }

  complete(): void {
    if (this.#end({ status: 'closed' })) this.messages.complete();
  }

  /** Moves to the `closed` state and completes all but `messages`, once: `false` when closed already. */
  #end(state: ClientState): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.states.next(state);
    this.states.complete();
    this.resets.complete();
    this.restored.complete();
    this.recovered.complete();
    return true;
  }
}
