import {
  asyncScheduler,
  isObservable,
  Observable,
  Subscription,
  type SchedulerLike,
  type Subscriber,
  type TeardownLogic,
} from 'rxjs';
import { ConnectionError, LinkClosedError, UNKNOWN_WRITE, type WriteReport } from '../../core/errors.js';
import type { ConnectedEvent, FrameEvent, Link, LinkInfo } from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { asLayerError, notAnEnvelope, notASessionEvent } from '../../internal/peer-input.js';
import {
  checkBoolean,
  checkKnownOptions,
  checkNumber,
  checkScheduler,
  COUNT,
  type KnownOptions,
  POSITIVE_DURATION,
} from '../../internal/validate.js';
import { unlisted } from '../handshake/layers.js';
import { SessionLostError } from '../resumable/errors.js';
import type { RestoredEvent, ResumedEvent, SessionResetEvent } from '../resumable/resumable.js';
import { RequestCancelledError, type CancelReason } from './errors.js';
import { PendingRequests } from './pending-requests.js';
import {
  recoveredResponse,
  restoredRequests,
  type RecoveredResponseEvent,
  type RequestsRestoredEvent,
} from './restored-requests.js';
import { SendBuffer } from './send-buffer.js';
import { PLAIN, REQUEST, RESPONSE } from './wire.js';

/**
 * Options of one request.
 *
 * @example
 * ```ts
 * import type { RequestOptions } from 'rx-lifeline';
 * import { defer, from } from 'rxjs';
 * const options: RequestOptions = { idempotent: true, timeout: 2_000 };
 * // A streamed body: cold, so a resend subscribes it again from the start.
 * const upload: RequestOptions = { body: defer(() => from(['line 1', 'line 2'])) };
 * ```
 * @category Sessions
 */
export interface RequestOptions {
  /**
   * The request may be executed twice with the effect of once, so it may be sent again after a
   * connection broke once it was handed to it. It does not make the server deduplicate.
   * @default false
   */
  idempotent?: boolean;
  /**
   * Milliseconds from subscribing until the request fails with {@link RequestTimeoutError} and a
   * cancel goes to the server. It covers the whole wait, reconnects included; it does not stop a
   * streamed response that keeps sending values (it bounds the whole response). `Infinity` waits
   * for as long as the stream lives (a stream that keeps reconnecting may wait forever).
   * @default the operator's `timeout` (30 seconds unless configured)
   */
  timeout?: number;
  /**
   * A streamed request body (requests layer v2): after the request's head, each value of `body`
   * goes to the server as one frame, then its completion or its error (as `{ name, message }`),
   * which the handler reads as `context.body$` (see {@link serveRequests}). The body is
   * subscribed once the head is on a connection (on its `drain$` when the link asked to wait),
   * and unsubscribed when the request ends: its response arrived (the server may answer before
   * reading the whole body), it was cancelled, it timed out, or its stream ended.
   *
   * It must be cold and repeatable: when a connection breaks before any frame of the request
   * (head included) may have reached the server, or after it did and the request is
   * `idempotent`, the request is sent again whole, and `body` is subscribed again from its start
   * (`defer(() => …)` a source that reads once). Inside a resumable session nothing is resent:
   * the body goes on where it was.
   *
   * Values the link cannot take yet wait in this operator's queue, counted with the plain frames
   * against `maxQueued` and `maxQueuedBytes`; one more fails the request with
   * {@link SendQueueFullError} (and cancels it on the server). An Observable cannot be paused, so
   * pace a large body yourself (from a source that reads on demand, or by the link's `drain$`).
   * A value the codec cannot encode fails the request. When the connection's handshake settled
   * requests v1, the request fails at once with {@link RequestBodyUnsupportedError}.
   */
  body?: Observable<unknown>;
}

/**
 * The stable link {@link cancelPending} hands out: plain frames with `send`, requests with
 * `request`. It outlives connections: while no connection is up, frames and requests queue (in
 * order, bounded) and leave on the next one.
 *
 * @example
 * ```ts
 * import type { RequestLink } from 'rx-lifeline';
 * const lookUp = (link: RequestLink<string>) => link.request<string>({ get: 'user/7' }, { idempotent: true });
 * ```
 * @category Sessions
 */
export interface RequestLink<Out = unknown> extends Link<Out> {
  /**
   * A cold Observable of the response: one value then complete, or the values of a streamed
   * response. Each subscription sends one request; unsubscribing before the end sends a cancel.
   * It errors with {@link RemoteError} (the handler failed), {@link RequestTimeoutError},
   * {@link AmbiguousOutcomeError}, {@link RequestCancelledError} or {@link PendingRequestsFullError};
   * a request with a streamed `body` also with {@link SendQueueFullError} or
   * {@link RequestBodyUnsupportedError}.
   * @throws TypeError at once when `options` has a key other than `idempotent`, `timeout` and
   * `body`, a `timeout` that is not a positive number, or a `body` that is not an Observable.
   */
  request<R = unknown>(payload: unknown, options?: RequestOptions): Observable<R>;
  /** Requests waiting for (the end of) their response. */
  readonly pending: number;
  /** Plain frames (and chunks of streamed request bodies) queued until a connection takes them. */
  readonly queued: number;
  /**
   * After `close()` or the end of the stream: the queued frames that never reached a link. Empty
   * before. (A lost session hands back what its replay buffer held in `SessionLostError.unsent`.)
   */
  readonly unsent: readonly Out[];
}

/**
 * Emitted once, at once when {@link cancelPending}'s stream is subscribed: the stable
 * {@link RequestLink}, usable before the first connection (it queues).
 *
 * @example
 * ```ts
 * import type { RequestLinkEvent } from 'rx-lifeline';
 * const keep = (e: RequestLinkEvent<string>) => e.link.send('queued until connected');
 * ```
 * @category Sessions
 */
export interface RequestLinkEvent<Out = unknown> {
  readonly type: 'request-link';
  /** The link, the same object for the stream's whole life. */
  readonly link: RequestLink<Out>;
}

/**
 * What {@link cancelPending} emits besides the events it passes through (`disconnected`,
 * `resumed`, heartbeat samples): `request-link` once, `connected` per connection (with the same
 * stable link), and each plain inbound frame; over a journaled `resumable` that restored a
 * session, `restored` in the application's terms and the responses to the earlier process's
 * requests.
 *
 * @example
 * ```ts
 * import type { CancelPendingEvent } from 'rx-lifeline';
 * const show = (e: CancelPendingEvent<string>) => (e.type === 'frame' ? e.frame : e.type);
 * ```
 * @category Sessions
 */
export type CancelPendingEvent<In = unknown, Out = In> =
  | RequestLinkEvent<Out>
  | ConnectedEvent<Out>
  | FrameEvent<In>
  | RequestsRestoredEvent
  | RecoveredResponseEvent;

/**
 * Options of {@link cancelPending}.
 *
 * @example
 * ```ts
 * import type { CancelPendingConfig } from 'rx-lifeline';
 * const config: CancelPendingConfig = { maxPending: 100, timeout: 30_000 };
 * ```
 * @category Sessions
 */
export interface CancelPendingConfig {
  /**
   * Requests pending at once; one more fails at once with {@link PendingRequestsFullError}. It does
   * not count plain frames.
   * @default 1_000
   */
  maxPending?: number;
  /**
   * Plain frames queued here while no link takes them; one more is refused with
   * {@link SendQueueFullError}. Chunks of streamed request bodies count too (one more fails its
   * request with that error). Without {@link resumable}, that is while offline or while the
   * connection's send buffer is full. With it, the session link takes messages and requests while
   * offline too: its replay buffer is then the one send buffer (`maxBytes`, `maxFrames`), and
   * this queue holds only what that buffer refused as full.
   * @default 1_000
   */
  maxQueued?: number;
  /**
   * The bytes of the plain frames (and body chunks) queued here, each measured as MessagePack when
   * it is queued; a frame that would take the queue past it is refused with
   * {@link SendQueueFullError}, `unit` `'bytes'`.
   * @default 4 MiB (4_194_304)
   */
  maxQueuedBytes?: number;
  /**
   * The timeout of requests that set none, in milliseconds: a request still unanswered after it
   * fails with {@link RequestTimeoutError}, outage or not. `Infinity` turns the default deadline off
   * (then only the end of the stream settles a request that gets no answer). It does not apply to
   * plain frames.
   * @default 30_000
   */
  timeout?: number;
  /**
   * Runs the request timeouts.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/** How long a request waits for its answer unless configured: nothing waits forever by default. */
const DEFAULT_REQUEST_TIMEOUT = 30_000;

const CONFIG: KnownOptions<CancelPendingConfig> = {
  maxPending: true,
  maxQueued: true,
  maxQueuedBytes: true,
  timeout: true,
  scheduler: true,
};

const REQUEST_OPTIONS: KnownOptions<RequestOptions> = { idempotent: true, timeout: true, body: true };

const OFFLINE: LinkInfo = Object.freeze({ transport: 'requests', remote: '', local: '' });

/**
 * Requests and responses over a session stream, such that nothing waits forever (across
 * connections: pipe it last, after {@link reconnectWith} and after {@link resumable} if any). It
 * emits a {@link RequestLinkEvent} at once with a stable {@link RequestLink}: `request(payload,
 * { idempotent, timeout })` returns a cold Observable of the response, and unsubscribing it sends a
 * cancel; `send(frame)` sends a plain frame. The server pipes {@link serveRequests}.
 *
 * When a connection breaks (docs/PROTOCOL.md, "Requests layer"), a request whose frame
 * certainly never reached the peer — it never reached a link, or the link's {@link WriteReport}
 * says its frame never left (its index is at or above `framesLeft`: still queued in the link, or
 * known undelivered) — is sent on the next connection; one that may have reached the peer is sent
 * again if idempotent and fails with {@link AmbiguousOutcomeError} if not, because the server may
 * have acted on it. Inside a resumable session (the link below survives the break) requests simply continue:
 * the session delivers them and their responses exactly once. A request's timeout (30 s unless
 * configured, reconnects included) fails it with {@link RequestTimeoutError} and cancels it on the
 * server. When the stream ends for good — the
 * policy gave up, the stream was unsubscribed, `link.close()` was called — every pending request
 * fails at once with {@link RequestCancelledError}; `close()` first sends a cancel for
 * each, so the server stops too. Pending requests are capped (`maxPending`), as are plain frames
 * queued while offline (`maxQueued` frames, `maxQueuedBytes` bytes).
 *
 * A request may stream a body (`request(payload, { body })`, requests layer v2; see
 * {@link RequestOptions.body}): its head, then each body value, then the body's end, each a frame
 * through the same queue as everything else. The rules above apply to the request as a whole: sent
 * again (and its body subscribed again) only when none of its frames may have reached the server,
 * or when it is idempotent.
 *
 * Over `resumable({ journal })` a request outlives the process that made it: its head is journaled
 * before it leaves, and the session resumed by a restarted process delivers it and its response.
 * Request ids are numbered per session, in the order heads reach the link, and a restarted process
 * numbers its own above the journal's `lastSeq`, so they never collide with an earlier process's
 * (whose requests may still run on the server). What the journal restored comes first as a
 * {@link RequestsRestoredEvent}, in the application's terms (read it with {@link sentOutcomes});
 * each part of a response to an earlier process's request comes as a
 * {@link RecoveredResponseEvent}, neither dropped nor an error.
 *
 * It does not reconnect, does not deduplicate on the server (idempotency is the caller's promise),
 * and does not resend cancels lost with a connection (the server cancels everything of a connection
 * that ends). A peer that does not pipe `serveRequests` fails the stream with a `ProtocolError`.
 *
 * @example
 * ```ts
 * import { cancelPending, memory, policy, reconnectWith, type RequestLink } from 'rx-lifeline';
 * const endpoint = memory();
 * let link: RequestLink<string> | undefined;
 * const sub = endpoint.transport
 *   .pipe(reconnectWith(policy.constant(100)), cancelPending<string>({ timeout: 5_000 }))
 *   .subscribe({
 *     next: (event) => {
 *       if (event.type === 'request-link') link = event.link;
 *       else if (event.type === 'frame') console.log(event.frame);
 *     },
 *     error: (error: unknown) => console.error('connection ended', error),
 *   });
 * link?.request({ get: 'user/7' }, { idempotent: true }).subscribe({
 *   next: (user) => console.log(user),
 *   // RequestTimeoutError, RequestFailedError, or the connection's end.
 *   error: (error: unknown) => console.error('request failed', error),
 * });
 * sub.unsubscribe();
 * ```
 * @category Sessions
 */
export function cancelPending<In = unknown, Out = In>(
  config: CancelPendingConfig = {},
): <E extends { readonly type: string }>(
  source: Observable<E>,
) => Observable<
  CancelPendingEvent<In, Out> | Exclude<E, ConnectedEvent<unknown> | FrameEvent<unknown> | RestoredEvent>
> {
  checkKnownOptions('cancelPending', config, CONFIG);
  const {
    maxPending = 1_000,
    maxQueued = 1_000,
    maxQueuedBytes = 4 * 1024 * 1024,
    timeout = DEFAULT_REQUEST_TIMEOUT,
    scheduler = asyncScheduler,
  } = config;
  checkNumber('cancelPending', 'maxPending', maxPending, COUNT);
  checkNumber('cancelPending', 'maxQueued', maxQueued, COUNT);
  checkNumber('cancelPending', 'maxQueuedBytes', maxQueuedBytes, COUNT);
  checkTimeout('cancelPending', timeout);
  checkScheduler('cancelPending', scheduler);

  const settings: Settings = { maxPending, maxQueued, maxQueuedBytes, timeout, scheduler };
  const operator = (source: Observable<{ readonly type: string }>) =>
    new Observable<Emitted<In, Out>>((subscriber) =>
      new RequestClient<In, Out>(settings, subscriber).start(source),
    );
  return operator as never;
}

type Emitted<In, Out> = CancelPendingEvent<In, Out> | { readonly type: string };

interface Settings {
  readonly maxPending: number;
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
  readonly timeout: number;
  readonly scheduler: SchedulerLike;
}

/**
 * One subscription of {@link cancelPending}: it wires the session events to the pending requests
 * and the send buffer, and hands out the stable link. The operator itself holds no state.
 */
class RequestClient<In, Out> {
  readonly link: RequestLink<Out>;
  readonly #pending: PendingRequests;
  readonly #buffer: SendBuffer<Out>;
  readonly #upstream = new Subscription();
  #ended: { reason: CancelReason; cause: unknown } | undefined;
  #closeRequested = false;
  #unsent: Out[] = [];
  /** The payloads of the earlier process's requests the journal held, by id, until answered. */
  #restoredPayloads = new Map<number, unknown>();

  readonly #settings: Settings;
  readonly #subscriber: Subscriber<Emitted<In, Out>>;

  constructor(settings: Settings, subscriber: Subscriber<Emitted<In, Out>>) {
    this.#settings = settings;
    this.#subscriber = subscriber;
    this.#pending = new PendingRequests(
      settings.maxPending,
      settings.scheduler,
      (request) => this.#buffer.sendCancel(request),
      (request) => this.#buffer.release(request),
    );
    this.#buffer = new SendBuffer<Out>(settings, this.#pending, (error) => this.#fail(error));
    this.link = RequestClient.#linkOf(this);
  }

  start(source: Observable<{ readonly type: string }>): TeardownLogic {
    this.#subscriber.next({ type: 'request-link', link: this.link } satisfies RequestLinkEvent<Out>);
    this.#upstream.add(
      source.subscribe({
        // Nothing throws out of here, whatever the peer sent: RxJS would report it as uncaught.
        next: (event) => {
          try {
            this.#onEvent(event);
          } catch (error) {
            this.#fail(asLayerError('requests', error, this.#buffer.link));
          }
        },
        error: (error: unknown) => this.#fail(error),
        complete: () => {
          this.#finish('closed', undefined);
          this.#subscriber.complete();
        },
      }),
    );
    return () => {
      this.#upstream.unsubscribe();
      this.#finish('unsubscribed', undefined);
    };
  }

  /**
   * The stable link of `client`, passed rather than read from `this`, which in the link's getters
   * is the link.
   */
  static #linkOf<In, Out>(client: RequestClient<In, Out>): RequestLink<Out> {
    const buffer = client.#buffer;
    return {
      send: (frame: Out) => client.#send(frame),
      close: (reason?: string) => client.#close(reason),
      request: <R>(payload: unknown, options?: RequestOptions) => client.#request<R>(payload, options),
      get pending() {
        return client.#pending.size;
      },
      get queued() {
        return buffer.queued;
      },
      get unsent() {
        return client.#unsent;
      },
      get bufferedBytes() {
        return buffer.link?.bufferedBytes ?? 0;
      },
      get framesSent() {
        return buffer.link?.framesSent ?? 0;
      },
      get closed() {
        return client.#closeRequested || client.#ended !== undefined;
      },
      get closeRequested() {
        return client.#closeRequested;
      },
      drain$: buffer.drained.asObservable(),
      writeReport: () => buffer.link?.writeReport() ?? UNKNOWN_WRITE,
      get info() {
        return buffer.link?.info ?? OFFLINE;
      },
    };
  }

  #request<R>(payload: unknown, options: RequestOptions = {}): Observable<R> {
    checkKnownOptions('request', options, REQUEST_OPTIONS);
    const { idempotent = false, timeout = this.#settings.timeout, body } = options;
    checkTimeout('request', timeout);
    checkBoolean('request', 'idempotent', idempotent);
    if (body !== undefined && !isObservable(body)) {
      throw new TypeError(`request: body must be an Observable, got ${describeValue(body)}`);
    }
    return new Observable<R>((requestSubscriber) => {
      const refused =
        this.#ended || this.#closeRequested ? this.#cancelledError() : body && this.#buffer.bodyUnsupported();
      if (refused) return requestSubscriber.error(refused);
      const entry = this.#pending.open(
        payload,
        idempotent,
        timeout,
        requestSubscriber as Subscriber<unknown>,
        body,
      );
      if (!entry) return undefined;
      this.#buffer.submit(entry);
      return () => this.#pending.abandon(entry);
    });
  }

  #send(frame: Out): boolean {
    if (this.#closeRequested || this.#ended) throw new LinkClosedError('The request link is closed');
    return this.#buffer.send(frame);
  }

  #close(reason?: string): void {
    if (this.#closeRequested || this.#ended) return;
    this.#closeRequested = true;
    // On quit, cancel every pending request while the connection can still say so.
    for (const entry of this.#pending.all()) this.#buffer.sendCancel(entry);
    const link = this.#buffer.link;
    this.#unsent = this.#buffer.takeMessages(link);
    this.#finish('closed', undefined);
    if (link) link.close(reason);
    else {
      this.#upstream.unsubscribe();
      this.#subscriber.complete();
    }
  }

  #cancelledError(): RequestCancelledError {
    const { reason, cause } = this.#ended ?? { reason: 'closed' };
    return new RequestCancelledError(
      `The request was cancelled: its stream ${reason === 'failed' ? reason : `was ${reason}`}`,
      { reason, cause },
    );
  }

  /** The stream ends for good: every pending request fails at once. */
  #finish(reason: CancelReason, cause: unknown): void {
    if (this.#ended) return;
    this.#ended = { reason, cause };
    this.#buffer.end();
    const all = this.#pending.settleAll();
    // What never reached a link is handed back (close() hands back its own leftovers).
    const queued = this.#buffer.takeMessages();
    if (this.#unsent.length === 0) this.#unsent = queued;
    for (const request of all) request.subscriber.error(this.#cancelledError());
    this.#buffer.drained.complete();
  }

  #fail(error: unknown): void {
    if (this.#ended) return;
    this.#upstream.unsubscribe();
    const requests = this.#pending.size;
    this.#finish('failed', error);
    this.#subscriber.error(SessionLostError.is(error) ? this.#inMessages(error, requests) : error);
  }

  /**
   * A lost session, said in the application's terms: the messages the session held (its frames
   * are this layer's envelopes) and those queued here, and the requests that were pending.
   */
  #inMessages(error: SessionLostError, requests: number): SessionLostError {
    return new SessionLostError(error.message, {
      reason: error.reason,
      lost: error.lost,
      unsent: [...plainMessages(error.unsent), ...this.#unsent],
      requests,
      cause: error.cause,
    });
  }

  /**
   * The connection under the requests broke: see {@link PendingRequests.connectionLost}. Without a
   * report nothing is known of its writes, and how many frames its link took does not matter.
   */
  #connectionLost(report: WriteReport = UNKNOWN_WRITE, linkFrames = 0, cause?: unknown): void {
    this.#buffer.stopWaiting();
    this.#buffer.resendFirst(this.#pending.connectionLost(report, linkFrames, cause));
  }

  #onEvent(event: { readonly type: string }): void {
    const notAnEvent = notASessionEvent('cancelPending', event);
    if (notAnEvent) return this.#fail(notAnEvent);
    switch (event.type) {
      case 'connected':
        return this.#onConnected(event as ConnectedEvent<unknown>);
      case 'frame':
        return this.#onFrame((event as FrameEvent<unknown>).frame);
      case 'disconnected':
        return this.#onDisconnected(event);
      case 'session-reset':
        return this.#onSessionReset(event as SessionResetEvent);
      case 'resumed':
        return this.#onResumed(event as ResumedEvent);
      case 'restored':
        return this.#onRestored(event as RestoredEvent);
      case 'overflow':
        // Every frame goes through the send buffer, so a resumable overflow is always one of ours
        // being sent now: it stays queued here (bounded by maxQueued) instead.
        return this.#buffer.overflow();
      default:
        this.#subscriber.next(event);
    }
  }

  #onConnected(event: ConnectedEvent<unknown>): void {
    const wrong = unlisted('requests', event, 'cancelPending()');
    if (wrong) return this.#fail(wrong);
    const next = event.link;
    const inner = this.#buffer.link;
    if (inner && inner !== next) this.#connectionLost();
    this.#buffer.link = next;
    this.#buffer.version = event.handshake?.layers.requests;
    if (this.#closeRequested) return next.close();
    const { handshake } = event;
    this.#subscriber.next({ type: 'connected', link: this.link, ...(handshake ? { handshake } : {}) });
    this.#buffer.pump();
  }

  #onDisconnected(event: { readonly type: string }): void {
    // A link that survives the break belongs to a resumable session: nothing is lost.
    const inner = this.#buffer.link;
    if (inner && inner.closed) {
      const cause = (event as { error?: unknown }).error;
      const report = ConnectionError.is(cause) ? cause.write : UNKNOWN_WRITE;
      const linkFrames = inner.framesSent;
      this.#buffer.link = undefined;
      this.#connectionLost(report, linkFrames, cause);
    }
    this.#subscriber.next(event);
  }

  /** A session that moved to another server process: the requests the old one took are settled. */
  #onResumed(event: ResumedEvent): void {
    if (event.moved && event.peerReceived !== undefined) {
      this.#buffer.resendFirst(this.#pending.moved(event.peerReceived, undefined));
    }
    this.#subscriber.next(event);
    this.#buffer.pump();
  }

  /**
   * A journal restored a session an earlier process made requests on: this one's ids go above
   * theirs, and the application learns what became of them.
   */
  #onRestored(event: RestoredEvent): void {
    const said = restoredRequests(event, this.#pending.restored(event.state.lastSeq));
    for (const { id, payload } of said.requests) this.#restoredPayloads.set(id, payload);
    this.#subscriber.next(said);
  }

  #onSessionReset(reset: SessionResetEvent): void {
    // The old session's frames may be lost: its requests are as if handed to a broken link.
    this.#connectionLost();
    // The fresh session numbers its frames from 1 again, and its requests too.
    this.#pending.renumber();
    this.#restoredPayloads.clear();
    const requests = reset.unsent.filter((frame) => envelopeKind(frame) === REQUEST).length;
    const said: SessionResetEvent = { ...reset, unsent: plainMessages(reset.unsent), requests };
    this.#subscriber.next(said);
    this.#buffer.pump();
  }

  #onFrame(frame: unknown): void {
    const kind = envelopeKind(frame);
    if (kind === PLAIN && (frame as unknown[]).length === 2) {
      this.#subscriber.next({ type: 'frame', frame: (frame as unknown[])[1] as In });
    } else if (kind === RESPONSE) {
      const recovered = this.#pending.respond(frame as unknown[], this.#buffer.link);
      if (recovered) this.#subscriber.next(recoveredResponse(recovered, this.#restoredPayloads));
    } else {
      throw notAnEnvelope('requests', frame, 'does the server pipe serveRequests()?', this.#buffer.link);
    }
  }
}

function envelopeKind(frame: unknown): unknown {
  return Array.isArray(frame) ? frame[0] : undefined;
}

/** The application's messages among this layer's envelopes, in order. */
function plainMessages(frames: readonly unknown[]): unknown[] {
  return frames.filter((frame) => envelopeKind(frame) === PLAIN).map((frame) => (frame as unknown[])[1]);
}

function checkTimeout(where: string, timeout: number): void {
  if (timeout !== Infinity) checkNumber(where, 'timeout', timeout, POSITIVE_DURATION);
}
