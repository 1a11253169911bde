import { asyncScheduler, Observable, Subject, Subscription, type SchedulerLike, type Subscriber } from 'rxjs';
import {
  ConnectionError,
  LinkClosedError,
  SendBufferFullError,
  UNKNOWN_WRITE,
  type WriteReport,
} from '../../core/errors.js';
import type { ConnectedEvent, FrameEvent, Link, LinkInfo } from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { Fifo } from '../../internal/fifo.js';
import { asLayerError } from '../../internal/peer-input.js';
import { checkKnownOptions, type KnownOptions } from '../../policies/validate.js';
import { ReplayBufferFullError, SessionLostError } from '../resumable/errors.js';
import type { SessionResetEvent } from '../resumable/resumable.js';
import {
  AmbiguousOutcomeError,
  PendingRequestsFullError,
  RemoteError,
  RequestCancelledError,
  RequestTimeoutError,
  SendQueueFullError,
  type CancelReason,
} from './errors.js';
import {
  CANCEL,
  isRequestId,
  parseWireError,
  PLAIN,
  REQUEST,
  requestsError,
  RESPONSE,
} from './serve-requests.js';

/**
 * Options of one request.
 *
 * @example
 * ```ts
 * import type { RequestOptions } from 'rx-lifeline';
 * const options: RequestOptions = { idempotent: true, timeout: 2_000 };
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
   * {@link AmbiguousOutcomeError}, {@link RequestCancelledError} or {@link PendingRequestsFullError}.
   * @throws TypeError at once when `options` has a key other than `idempotent` and `timeout`, or a
   * `timeout` that is not a positive number.
   */
  request<R = unknown>(payload: unknown, options?: RequestOptions): Observable<R>;
  /** Requests waiting for (the end of) their response. */
  readonly pending: number;
  /** Plain frames queued until a connection takes them. */
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
 * stable link), and each plain inbound frame.
 *
 * @example
 * ```ts
 * import type { CancelPendingEvent } from 'rx-lifeline';
 * const show = (e: CancelPendingEvent<string>) => (e.type === 'frame' ? e.frame : e.type);
 * ```
 * @category Sessions
 */
export type CancelPendingEvent<In = unknown, Out = In> =
  RequestLinkEvent<Out> | ConnectedEvent<Out> | FrameEvent<In>;

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
   * {@link SendQueueFullError}. Without {@link resumable}, that is while offline or while the
   * connection's send buffer is full. With it, the session link takes messages and requests while
   * offline too: its replay buffer is then the one send buffer (`maxBytes`, `maxFrames`), and
   * this queue holds only what that buffer refused as full.
   * @default 1_000
   */
  maxQueued?: number;
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
  timeout: true,
  scheduler: true,
};

const REQUEST_OPTIONS: KnownOptions<RequestOptions> = { idempotent: true, timeout: true };

interface Pending {
  readonly id: number;
  readonly payload: unknown;
  readonly idempotent: boolean;
  readonly subscriber: Subscriber<unknown>;
  state: 'queued' | 'handed' | 'done';
  /**
   * The index of the request's frame on the connection it was handed to (the link's `framesSent`
   * just before the send), which that connection's `WriteReport.framesLeft` judges.
   */
  position: number;
  values: number;
  timer: Subscription | undefined;
}

type Outgoing =
  | { readonly kind: 'frame'; readonly frame: unknown }
  | { readonly kind: 'request'; readonly request: Pending };

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
 * queued while offline (`maxQueued`).
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
) => Observable<CancelPendingEvent<In, Out> | Exclude<E, ConnectedEvent<unknown> | FrameEvent<unknown>>> {
  checkKnownOptions('cancelPending', config, CONFIG);
  const {
    maxPending = 1_000,
    maxQueued = 1_000,
    timeout = DEFAULT_REQUEST_TIMEOUT,
    scheduler = asyncScheduler,
  } = config;
  for (const [name, value] of [
    ['maxPending', maxPending],
    ['maxQueued', maxQueued],
  ] as const) {
    if (!(Number.isSafeInteger(value) && value >= 0)) {
      throw new TypeError(`cancelPending: ${name} must be an integer ≥ 0, got ${describeValue(value)}`);
    }
  }
  checkTimeout(timeout);

  type Emitted = CancelPendingEvent<In, Out> | { readonly type: string };
  const operator = (source: Observable<{ readonly type: string }>) =>
    new Observable<Emitted>((subscriber) => {
      // Everything below belongs to this one subscription, so the operator itself holds no state.
      let inner: Link<unknown> | undefined;
      let lastId = 0;
      const pending = new Map<number, Pending>();
      let outbox = new Fifo<Outgoing>();
      let queuedFrames = 0;
      let drainWait: Subscription | undefined;
      let needDrain = false;
      const drained = new Subject<void>();
      let ended: { reason: CancelReason; cause: unknown } | undefined;
      let closeRequested = false;
      let unsent: Out[] = [];
      const upstream = new Subscription();

      let overflowed = false;
      /** Sends one envelope; 'full' when the link has no room (nothing was queued there). */
      const sendOwn = (link: Link<unknown>, envelope: unknown[]): boolean | 'full' => {
        overflowed = false;
        let ready: boolean;
        try {
          ready = link.send(envelope);
        } catch (error) {
          if (SendBufferFullError.is(error) || ReplayBufferFullError.is(error)) return 'full';
          throw error;
        }
        // A resumable session with `onOverflow: 'event'` refuses by returning false and emitting.
        if (overflowed) return 'full';
        return ready;
      };

      const awaitDrain = () => {
        if (drainWait || !inner) return;
        drainWait = inner.drain$.subscribe(() => {
          drainWait?.unsubscribe();
          drainWait = undefined;
          pump();
        });
      };

      const hand = (request: Pending, link: Link<unknown>): boolean => {
        let result: boolean | 'full';
        // Its index among every frame of the connection, the layers' below included (pings).
        const position = link.framesSent;
        try {
          result = sendOwn(link, [REQUEST, request.id, request.payload]);
        } catch (error) {
          // Not encodable, or too large for the link: this request fails, nothing else does.
          if (LinkClosedError.is(error)) return false;
          settle(request);
          request.subscriber.error(error);
          return true;
        }
        if (result === 'full') {
          awaitDrain();
          return false;
        }
        request.state = 'handed';
        request.position = position;
        return true;
      };

      /** Hands queued frames and requests to the link, in order, until it is full. */
      const pump = () => {
        while (inner && !drainWait && !ended) {
          const item = outbox.peek();
          if (!item) break;
          if (item.kind === 'request') {
            if (item.request.state !== 'queued' || hand(item.request, inner)) outbox.shift();
            else return;
            continue;
          }
          let result: boolean | 'full';
          try {
            result = sendOwn(inner, [PLAIN, item.frame]);
          } catch (error) {
            if (LinkClosedError.is(error)) return;
            // A queued frame the link cannot encode: loud, since its sender is long gone.
            return fail(error);
          }
          if (result === 'full') return awaitDrain();
          outbox.shift();
          queuedFrames--;
        }
        if (needDrain && inner && !drainWait && outbox.length === 0) {
          needDrain = false;
          drained.next();
        }
      };

      const settle = (request: Pending) => {
        request.state = 'done';
        pending.delete(request.id);
        request.timer?.unsubscribe();
        request.timer = undefined;
      };

      /** Best effort: a cancel lost with its connection is covered by the server ending it. */
      const sendCancel = (request: Pending) => {
        if (request.state !== 'handed' || !inner) return;
        try {
          sendOwn(inner, [CANCEL, request.id]);
        } catch {
          // Closed or unencodable: the connection is going, and its requests with it.
        }
      };

      const cancelledError = () =>
        new RequestCancelledError(
          ended?.reason === 'failed'
            ? 'The request was cancelled: its stream failed'
            : `The request was cancelled: its stream was ${ended?.reason ?? 'closed'}`,
          { reason: ended?.reason ?? 'closed', cause: ended?.cause },
        );

      /** The stream ends for good: every pending request fails at once. */
      const finish = (reason: CancelReason, cause: unknown) => {
        if (ended) return;
        ended = { reason, cause };
        drainWait?.unsubscribe();
        drainWait = undefined;
        const all = [...pending.values()];
        for (const request of all) settle(request);
        // What never reached a link is handed back (close() hands back its own leftovers).
        if (unsent.length === 0) unsent = queuedMessages();
        outbox = new Fifo();
        queuedFrames = 0;
        for (const request of all) request.subscriber.error(cancelledError());
        drained.complete();
      };

      const fail = (error: unknown) => {
        if (ended) return;
        upstream.unsubscribe();
        const requests = pending.size;
        finish('failed', error);
        subscriber.error(SessionLostError.is(error) ? inMessages(error, requests) : error);
      };

      /** The plain messages queued here, oldest first. */
      const queuedMessages = (): Out[] =>
        outbox
          .drain()
          .filter((item) => item.kind === 'frame')
          .map((item) => item.frame as Out);

      /**
       * A lost session, said in the application's terms: the messages the session held (its frames
       * are this layer's envelopes) and those queued here, and the requests that were pending.
       */
      const inMessages = (error: SessionLostError, requests: number): SessionLostError =>
        new SessionLostError(error.message, {
          reason: error.reason,
          lost: error.lost,
          unsent: [...plainMessages(error.unsent), ...unsent],
          requests,
          cause: error.cause,
        });

      /**
       * The connection under the requests broke. `report` is what its link knew when it
       * broke, `linkFrames` how many frames the link had accepted by then (every layer's).
       */
      const connectionLost = (report: WriteReport, linkFrames: number, cause: unknown) => {
        drainWait?.unsubscribe();
        drainWait = undefined;
        const resend: Outgoing[] = [];
        const known = report.lastFrame !== 'none' && report.lastFrame !== 'unknown';
        for (const request of [...pending.values()]) {
          if (request.state !== 'handed') continue;
          // The unconfirmed frames are a tail of the connection's outbound stream: a frame before
          // that tail was confirmed whole.
          const confirmed = known && request.position < linkFrames - report.unconfirmedFrames;
          // A frame at or above `framesLeft` certainly never reached the peer: sending it again
          // cannot execute it twice, idempotent or not.
          const neverLeft = request.position >= report.framesLeft;
          if (request.values === 0 && (neverLeft || request.idempotent)) {
            request.state = 'queued';
            resend.push({ kind: 'request', request });
            continue;
          }
          settle(request);
          request.subscriber.error(
            new AmbiguousOutcomeError(
              request.values > 0
                ? `Request ${request.id}: the connection broke after ${request.values} response values; the rest is lost`
                : `Request ${request.id}: the connection broke after the request was sent; it may or may not have been executed`,
              { id: request.id, confirmed, valuesReceived: request.values, write: report, cause },
            ),
          );
        }
        if (resend.length > 0) {
          const rest = outbox.drain();
          outbox = new Fifo();
          for (const item of resend) outbox.push(item);
          for (const item of rest) outbox.push(item);
        }
      };

      const onResponse = (frame: unknown[]) => {
        const id = frame[1];
        const part = frame[2];
        if (!isRequestId(id)) throw requestsError('malformed response', inner);
        const valid =
          ((part === 'next' || part === 'value' || part === 'error') && frame.length === 4) ||
          (part === 'complete' && frame.length === 3);
        if (!valid) throw requestsError(`malformed response part ${describeValue(part)}`, inner);
        const error = part === 'error' ? parseWireError(frame[3]) : undefined;
        if (part === 'error' && !error) throw requestsError('malformed error response', inner);
        const request = pending.get(id);
        if (!request) {
          if (id > lastId) throw requestsError(`response for request ${id}, which was never sent`, inner);
          return; // settled here already: the response crossed a cancel or a timeout
        }
        if (part === 'next') {
          request.values++;
          request.subscriber.next(frame[3]);
        } else if (part === 'value') {
          settle(request);
          request.subscriber.next(frame[3]);
          request.subscriber.complete();
        } else if (part === 'complete') {
          settle(request);
          request.subscriber.complete();
        } else {
          settle(request);
          request.subscriber.error(
            new RemoteError(error!.message, { id: request.id, remoteName: error!.name }),
          );
        }
      };

      const onFrame = (frame: unknown) => {
        const kind: unknown = Array.isArray(frame) ? frame[0] : undefined;
        if (kind === PLAIN && (frame as unknown[]).length === 2) {
          subscriber.next({ type: 'frame', frame: (frame as unknown[])[1] as In });
        } else if (kind === RESPONSE) onResponse(frame as unknown[]);
        else {
          throw requestsError(
            `received ${describeValue(frame)}, not a requests envelope; does the server pipe serveRequests()?`,
            inner,
          );
        }
      };

      const request = <R>(payload: unknown, options: RequestOptions = {}): Observable<R> => {
        checkKnownOptions('request', options, REQUEST_OPTIONS);
        const { idempotent = false, timeout: requestTimeout = timeout } = options;
        checkTimeout(requestTimeout);
        return new Observable<R>((requestSubscriber) => {
          if (ended || closeRequested) {
            requestSubscriber.error(cancelledError());
            return undefined;
          }
          if (pending.size >= maxPending) {
            requestSubscriber.error(
              new PendingRequestsFullError(`${maxPending} requests are pending already`, {
                limit: maxPending,
              }),
            );
            return undefined;
          }
          const entry: Pending = {
            id: ++lastId,
            payload,
            idempotent,
            subscriber: requestSubscriber as Subscriber<unknown>,
            state: 'queued',
            position: 0,
            values: 0,
            timer: undefined,
          };
          pending.set(entry.id, entry);
          if (requestTimeout !== Infinity) {
            entry.timer = scheduler.schedule(() => {
              entry.timer = undefined;
              if (entry.state === 'done') return;
              sendCancel(entry);
              settle(entry);
              requestSubscriber.error(
                new RequestTimeoutError(
                  `Request ${entry.id} got no complete response within ${requestTimeout} ms`,
                  {
                    id: entry.id,
                    timeout: requestTimeout,
                  },
                ),
              );
            }, requestTimeout);
          }
          if (!(inner && outbox.length === 0 && hand(entry, inner))) {
            if (entry.state === 'queued') outbox.push({ kind: 'request', request: entry });
          }
          return () => {
            if (entry.state === 'done') return;
            sendCancel(entry);
            settle(entry);
          };
        });
      };

      const send = (frame: Out): boolean => {
        if (closeRequested || ended) throw new LinkClosedError('The request link is closed');
        if (inner && outbox.length === 0) {
          const result = sendOwn(inner, [PLAIN, frame]);
          if (result !== 'full') {
            if (!result) {
              needDrain = true;
              awaitDrain();
            }
            return result;
          }
          awaitDrain();
        }
        if (queuedFrames >= maxQueued) {
          throw new SendQueueFullError(`${maxQueued} frames are queued already`, { limit: maxQueued });
        }
        outbox.push({ kind: 'frame', frame });
        queuedFrames++;
        needDrain = true;
        return false;
      };

      const close = (reason?: string) => {
        if (closeRequested || ended) return;
        closeRequested = true;
        // On quit, cancel every pending request while the connection can still say so.
        for (const entry of pending.values()) sendCancel(entry);
        const leftover: Out[] = [];
        for (let item = outbox.shift(); item; item = outbox.shift()) {
          if (item.kind !== 'frame') continue;
          let handed = false;
          if (inner && leftover.length === 0) {
            try {
              handed = sendOwn(inner, [PLAIN, item.frame]) !== 'full';
            } catch {
              handed = false;
            }
          }
          if (!handed) leftover.push(item.frame as Out);
        }
        unsent = leftover;
        const link = inner;
        finish('closed', undefined);
        if (link) link.close(reason);
        else {
          upstream.unsubscribe();
          subscriber.complete();
        }
      };

      const link: RequestLink<Out> = {
        send,
        close,
        request,
        get pending() {
          return pending.size;
        },
        get queued() {
          return queuedFrames;
        },
        get unsent() {
          return unsent;
        },
        get bufferedBytes() {
          return inner?.bufferedBytes ?? 0;
        },
        get framesSent() {
          return inner?.framesSent ?? 0;
        },
        get closed() {
          return closeRequested || ended !== undefined;
        },
        get closeRequested() {
          return closeRequested;
        },
        drain$: drained.asObservable(),
        writeReport: () => inner?.writeReport() ?? UNKNOWN_WRITE,
        get info() {
          return inner?.info ?? OFFLINE;
        },
      };

      subscriber.next({ type: 'request-link', link } satisfies RequestLinkEvent<Out>);

      const onEvent = (event: { readonly type: string }) => {
        if (typeof event !== 'object' || event === null || typeof event.type !== 'string') {
          return fail(new TypeError(`cancelPending: expected session events, got ${describeValue(event)}`));
        }
        switch (event.type) {
          case 'connected': {
            const next = (event as ConnectedEvent<unknown>).link;
            if (inner && inner !== next) connectionLost(UNKNOWN_WRITE, inner.framesSent, undefined);
            inner = next;
            if (closeRequested) return next.close();
            subscriber.next({ type: 'connected', link });
            return pump();
          }
          case 'frame':
            return onFrame((event as FrameEvent<unknown>).frame);
          case 'disconnected': {
            // A link that survives the break belongs to a resumable session: nothing is lost.
            if (inner && inner.closed) {
              const cause = (event as { error?: unknown }).error;
              const report = ConnectionError.is(cause) ? cause.write : UNKNOWN_WRITE;
              const linkFrames = inner.framesSent;
              inner = undefined;
              connectionLost(report, linkFrames, cause);
            }
            return subscriber.next(event);
          }
          case 'session-reset': {
            // The old session's frames may be lost: its requests are as if handed to a broken link.
            connectionLost(UNKNOWN_WRITE, inner?.framesSent ?? 0, undefined);
            const reset = event as SessionResetEvent;
            const requests = reset.unsent.filter((frame) => envelopeKind(frame) === REQUEST).length;
            const said: SessionResetEvent = { ...reset, unsent: plainMessages(reset.unsent), requests };
            subscriber.next(said);
            return pump();
          }
          case 'overflow':
            // Every frame goes through sendOwn, so a resumable overflow is always one of ours
            // being sent now: it stays queued here (bounded by maxQueued) instead.
            overflowed = true;
            return;
          default:
            subscriber.next(event);
        }
      };

      upstream.add(
        source.subscribe({
          // Nothing throws out of here, whatever the peer sent: RxJS would report it as uncaught.
          next: (event) => {
            try {
              onEvent(event);
            } catch (error) {
              fail(asLayerError('requests', error, inner));
            }
          },
          error: (error: unknown) => fail(error),
          complete: () => {
            finish('closed', undefined);
            subscriber.complete();
          },
        }),
      );
      return () => {
        upstream.unsubscribe();
        finish('unsubscribed', undefined);
      };
    });
  return operator as never;
}

function envelopeKind(frame: unknown): unknown {
  return Array.isArray(frame) ? frame[0] : undefined;
}

/** The application's messages among this layer's envelopes, in order. */
function plainMessages(frames: readonly unknown[]): unknown[] {
  return frames.filter((frame) => envelopeKind(frame) === PLAIN).map((frame) => (frame as unknown[])[1]);
}

function checkTimeout(timeout: number): void {
  if (!(timeout === Infinity || (Number.isFinite(timeout) && timeout > 0))) {
    throw new TypeError(
      `cancelPending: timeout must be a positive number of milliseconds, got ${describeValue(timeout)}`,
    );
  }
}
