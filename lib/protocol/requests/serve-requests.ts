import { EMPTY, isObservable, Observable, Subscription } from 'rxjs';
import { EncodeError, type ProtocolError } from '../../core/errors.js';
import type { ConnectedEvent, FrameEvent, Link } from '../../core/transport.js';
import { isPromiseLike } from '../../internal/promise-like.js';
import { checkAdmission, type HandshakeAdmission } from '../handshake/admission.js';
import { LAYERS, unlisted } from '../handshake/layers.js';
import { describeValue } from '../../internal/describe-value.js';
import { LayerLink } from '../../internal/layer-link.js';
import {
  notAnEnvelope as notAnEnvelopeOf,
  asLayerError,
  layerProtocolError,
} from '../../internal/peer-input.js';
import { checkKnownOptions, type KnownOptions } from '../../internal/validate.js';
import { BodyInbox } from './body-inbox.js';
import { RemoteError } from './errors.js';
import { ResponseOutbox } from './response-outbox.js';

// The requests layer's envelopes (docs/PROTOCOL.md, "Requests layer").
/** @internal */
export const PLAIN = 0;
/** @internal */
export const REQUEST = 1;
/** @internal */
export const RESPONSE = 2;
/** @internal */
export const CANCEL = 3;
/** A part of a streamed request body, client → server (v2). @internal */
export const BODY = 4;
/** The fourth item of a request head whose body follows in {@link BODY} envelopes (v2). @internal */
export const WITH_BODY = 'body';
/** The requests layer version that brought streamed request bodies. @internal */
export const BODY_VERSION = 2;

/** What an error response carries: a name and a message, nothing else. @internal */
export interface WireError {
  readonly name: string;
  readonly message: string;
}

/** @internal */
export function isRequestId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** @internal */
export function parseWireError(value: unknown): WireError | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { name, message } = value as Record<string, unknown>;
  return typeof name === 'string' && typeof message === 'string' ? { name, message } : undefined;
}

/** Reduces anything thrown to `{ name, message }`; never a stack, never a constructor. @internal */
export function toWireError(error: unknown): WireError {
  try {
    if (typeof error === 'object' && error !== null) {
      const { name, message } = error as { name?: unknown; message?: unknown };
      return {
        name: typeof name === 'string' ? name : 'Error',
        message: typeof message === 'string' ? message : 'Unknown error',
      };
    }
    return { name: 'Error', message: String(error) };
  } catch {
    // A getter or toString that throws: say nothing more than that it failed.
    return { name: 'Error', message: 'Unknown error' };
  }
}

/** @internal */
export function requestsError(message: string, link: Link<unknown> | undefined): ProtocolError {
  return layerProtocolError('requests', message, link);
}

/**
 * What a {@link RequestHandler} learns besides the payload.
 *
 * @example
 * ```ts
 * import type { RequestContext } from 'rx-lifeline';
 * import { lastValueFrom, toArray } from 'rxjs';
 * const slow = (payload: unknown, { signal }: RequestContext) =>
 *   new Promise((resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
 * const lines = (payload: unknown, { body$ }: RequestContext) => lastValueFrom(body$.pipe(toArray()));
 * ```
 * @category Sessions
 */
export interface RequestContext {
  /** The request's id on the wire (for logs). */
  readonly id: number;
  /**
   * Aborted when the client cancels the request or the connection (or session) ends, or when the
   * request's body overflows (`reason` is then a {@link RequestBodyOverflowError}).
   */
  readonly signal: AbortSignal;
  /**
   * The request's streamed body (requests layer v2: the client passed `request(payload, { body })`),
   * in order: its chunks, then complete, or an error (a {@link RemoteError} with the name and
   * message of the client's error) when the client's body Observable failed. `EMPTY` for a
   * request without a body. It may be subscribed once (a second subscription errors with a
   * `TypeError`). Chunks that arrive before it is subscribed wait, bounded by `maxBodyChunks` and
   * `maxBodyBytes`; once subscribed they are delivered as they arrive (a slow reader's own
   * operators buffer them). Unsubscribing drops the rest of the body; the request goes on. When
   * the request is cancelled it errors with the signal's `reason`.
   */
  readonly body$: Observable<unknown>;
  /**
   * `true` when the request may have reached the application before: its session was resumed
   * from a store on this process after the one that held it died, and that one may have run it
   * (see `SessionFrameEvent`). Run a request that is not idempotent only after checking that its
   * effect is not already there. `false` otherwise, and always without a store.
   */
  readonly redelivered: boolean;
}

/** A request a {@link serveRequests} handler runs. */
interface Running {
  /** Made when the handler first reads its context's `signal`: most handlers never do. */
  controller: AbortController | undefined;
  /** Why it was aborted; {@link NOT_ABORTED} while it was not. */
  aborted: unknown;
  subscription: Subscription | undefined;
  /** The streamed body, for a request that has one (v2). */
  readonly body: BodyInbox | undefined;
}

const NOT_ABORTED: unique symbol = Symbol('not aborted');

/** Where a context keeps its request (a symbol: not among its keys, kept by a spread). */
const RUNNING: unique symbol = Symbol('running request');

/**
 * The context's `signal`, made on first read (an `AbortController` and its signal cost more than
 * the rest of a small request), already aborted if the request was. An own enumerable accessor, so
 * a spread context (`{ ...context }`) reads it too; shared by every context.
 */
const LAZY_SIGNAL: PropertyDescriptor = {
  enumerable: true,
  get(this: { [RUNNING]: Running }): AbortSignal {
    const entry = this[RUNNING];
    if (entry.controller === undefined) {
      entry.controller = new AbortController();
      if (entry.aborted !== NOT_ABORTED) entry.controller.abort(entry.aborted);
    }
    return entry.controller.signal;
  },
};

/** The handler's context of `entry`. */
function contextOf(entry: Running, id: number, redelivered: boolean): RequestContext {
  const context = { id, body$: entry.body ? entry.body.body$ : EMPTY, redelivered, [RUNNING]: entry };
  return Object.defineProperty(context, 'signal', LAZY_SIGNAL) as typeof context & RequestContext;
}

/** Aborts `entry`'s signal with `reason` (once): now if it was read, else when it is. */
function abortRunning(entry: Running, reason: unknown): void {
  if (entry.aborted !== NOT_ABORTED) return;
  entry.aborted = reason;
  entry.controller?.abort(reason);
}

/**
 * Answers one request: return a value, a Promise of one, or an Observable for a streamed response
 * (subscribed once; unsubscribed on cancel). Throwing, rejecting or erroring sends an error
 * response with the error's `name` and `message` only.
 *
 * @example
 * ```ts
 * import type { RequestHandler } from 'rx-lifeline';
 * import { interval, take } from 'rxjs';
 * const handler: RequestHandler<{ count: number }> = (payload) => interval(10).pipe(take(payload.count));
 * ```
 * @category Sessions
 */
export type RequestHandler<Req = unknown, Res = unknown> = (
  payload: Req,
  context: RequestContext,
) => Res | PromiseLike<Res> | Observable<Res>;

/**
 * Options of {@link serveRequests}.
 *
 * @example
 * ```ts
 * import type { ServeRequestsConfig } from 'rx-lifeline';
 * const config: ServeRequestsConfig = { maxConcurrent: 100 };
 * ```
 * @category Sessions
 */
export interface ServeRequestsConfig {
  /**
   * Chunks of one request's streamed body that may wait unread (its handler has not subscribed
   * `context.body$` yet). One more fails that request, not the connection: the handler is
   * cancelled and the client gets an error response named `'RequestBodyOverflowError'`.
   * @default 1_024
   */
  maxBodyChunks?: number;
  /**
   * The bytes (MessagePack size) of one request's unread body chunks; past it the request fails
   * as past `maxBodyChunks`. The memory a server holds for bodies is bounded by `maxConcurrent`
   * times this.
   * @default 4 MiB (4_194_304)
   */
  maxBodyBytes?: number;
  /**
   * Requests handled at once on one connection or session. One more is answered at once with an
   * error response named `'TooManyRequestsError'`; the handler is not called. It does not queue.
   * @default 1_000
   */
  maxConcurrent?: number;
  /**
   * Responses waiting for a link that asked to wait (its `send()` returned `false`, or its buffer
   * is full). Final responses always wait their turn; a streamed response whose next value finds
   * this many waiting is ended instead: its handler is cancelled and the client gets an error
   * response named `'ResponseOverflowError'`.
   * @default 1_000
   */
  maxQueued?: number;
  /**
   * The server's admission control, the one its {@link acceptHandshake} shares (pipe the same
   * object): it counts the requests running here, which a drain lets finish before its go-aways
   * ({@link HandshakeAdmission.drain}), and from the start of a drain each request that arrives is
   * refused, not run: an error response named `'ServerDrainingError'` (the client may send it
   * again, to another server). It admits nothing: `maxConcurrent` still caps each stream.
   * @default undefined (a drain does not wait for requests)
   */
  admission?: HandshakeAdmission;
}

const CONFIG: KnownOptions<ServeRequestsConfig> = {
  maxConcurrent: true,
  maxQueued: true,
  maxBodyChunks: true,
  maxBodyBytes: true,
  admission: true,
};

/** The error response to a request that arrives while its server drains. */
const DRAINING = {
  name: 'ServerDrainingError',
  message: 'The server is going away (it drains): the request was not run; send it again, to another server',
} as const;

/**
 * The server side of {@link cancelPending}: answers the client's requests with `handler` and passes
 * plain frames on. Pipe it onto one accepted connection (`event.connection.pipe(serveRequests(h))`,
 * after `heartbeat()` if the client pipes one) or onto a {@link ServerSession}'s `events$` (after
 * {@link acceptSessions}); the shape is the same: events in, `connected` (with a link that wraps
 * plain frames) and plain `frame` events out, other events passed through.
 *
 * Each request runs the handler once with an `AbortSignal`; a value or a resolved Promise goes back
 * as one response frame, an Observable's values as a streamed response. A cancel from the client
 * aborts the signal and unsubscribes the Observable. When the stream ends (the connection closed,
 * the session ended) or is unsubscribed, every running handler is cancelled the same way. On a
 * `ServerSession`, handlers keep running while the client is away and their responses queue in the
 * session's replay buffer. Errors become error responses carrying `{ name, message }` only.
 *
 * A request with a streamed body (requests layer v2, `request(payload, { body })` on the client)
 * runs its handler as soon as its head arrives; the body follows in `context.body$`, which the
 * handler may subscribe once. Chunks that arrive before it does wait, at most `maxBodyChunks` of
 * them and `maxBodyBytes` of MessagePack: one more fails that request alone (the handler is
 * cancelled with a {@link RequestBodyOverflowError}, the client gets an error response named
 * `'RequestBodyOverflowError'`); the connection goes on. A cancel, or the end of the stream, also
 * errors a subscribed `body$` and drops the rest of the body. A handler may answer before its body
 * ended: the rest is then dropped as it arrives, and the client stops sending it. When the
 * connection's handshake settled requests v1, body envelopes are a `ProtocolError` like any
 * unknown envelope.
 *
 * It does not retry handlers, does not deduplicate a request the client sent again after a broken
 * connection (it has no memory across connections: mark such requests idempotent), and does not
 * authenticate. A frame that is not a requests envelope, or a request whose id is still running,
 * fails the stream with a `ProtocolError`. Responses honour the link's backpressure: while it asks
 * to wait (`send()` returned `false`, or its buffer is full) they wait in order and leave on its
 * `drain$`, so a burst never fails the stream; a streamed response that outruns the client by
 * `maxQueued` waiting responses is ended with a `'ResponseOverflowError'` error response (never a
 * silent drop).
 *
 * @example
 * ```ts
 * import { memory, serveRequests } from 'rx-lifeline';
 * const endpoint = memory();
 * const server = endpoint.server.subscribe((event) => {
 *   if (event.type !== 'connection') return;
 *   event.connection
 *     .pipe(serveRequests<{ add: [number, number] }>(({ add: [a, b] }) => a + b))
 *     .subscribe({
 *       next: (e) => e.type === 'frame' && console.log('message', e.frame),
 *       error: (error: unknown) => console.error('connection failed', error), // this one only
 *     });
 * });
 * server.unsubscribe();
 * ```
 * A handler that reads a streamed body (the client sends `request({ upload: 'a.bin' }, { body })`):
 * ```ts
 * import { serveRequests } from 'rx-lifeline';
 * import { reduce } from 'rxjs';
 * const uploads = serveRequests<{ upload: string }>((payload, { body$ }) =>
 *   body$.pipe(reduce((bytes, chunk) => bytes + (chunk as Uint8Array).byteLength, 0)),
 * );
 * ```
 * @category Sessions
 */
export function serveRequests<Req = unknown, In = unknown, Out = unknown>(
  handler: RequestHandler<Req>,
  config: ServeRequestsConfig = {},
): <E extends { readonly type: string }>(
  source: Observable<E>,
) => Observable<
  ConnectedEvent<Out> | FrameEvent<In> | Exclude<E, ConnectedEvent<unknown> | FrameEvent<unknown>>
> {
  if (typeof handler !== 'function') throw new TypeError('serveRequests: handler must be a function');
  checkKnownOptions('serveRequests', config, CONFIG);
  const {
    maxConcurrent = 1_000,
    maxQueued = 1_000,
    maxBodyChunks = 1_024,
    maxBodyBytes = 4 * 1024 * 1024,
  } = config;
  const admission = checkAdmission('serveRequests', config.admission);
  for (const [name, value] of [
    ['maxConcurrent', maxConcurrent],
    ['maxQueued', maxQueued],
    ['maxBodyChunks', maxBodyChunks],
    ['maxBodyBytes', maxBodyBytes],
  ] as const) {
    if (!(Number.isSafeInteger(value) && value > 0)) {
      throw new TypeError(`serveRequests: ${name} must be a positive integer, got ${describeValue(value)}`);
    }
  }

  const operator = (source: Observable<{ readonly type: string }>) =>
    new Observable<{ readonly type: string }>((subscriber) => {
      let link: Link<unknown> | undefined;
      /** The requests layer version this connection's handshake settled; the latest without one. */
      let version = LAYERS.requests.versions[1];
      let outbox: ResponseOutbox | undefined;
      const running = new Map<number, Running>();
      const upstream = new Subscription();
      let ended = false;

      /** A request left `running`, its response (if any) pushed: a drain may go on. */
      const released = (count = 1) => admission?.working(-count);
      const cancelAll = () => {
        const all = [...running.values()];
        running.clear();
        for (const entry of all) stop(entry);
        if (all.length > 0) released(all.length);
      };
      const stop = (
        entry: Running,
        reason: unknown = new DOMException('The request was cancelled', 'AbortError'),
      ) => {
        abortRunning(entry, reason);
        entry.body?.close(reason);
        entry.subscription?.unsubscribe();
      };
      const fail = (error: unknown) => {
        if (ended) return;
        ended = true;
        upstream.unsubscribe();
        cancelAll();
        outbox?.dispose();
        subscriber.error(error);
      };

      const respond = (envelope: unknown[]) => {
        if (!ended) outbox?.push(envelope);
      };
      /** A response the link refused for a reason other than backpressure. */
      const refused = (envelope: unknown[], error: unknown): unknown[] | undefined => {
        if (envelope[2] !== 'error' && EncodeError.is(error)) {
          return [RESPONSE, envelope[1], 'error', toWireError(error)];
        }
        fail(error);
        return undefined;
      };
      /** The next value of a streamed response, unless the client is too far behind. */
      const respondNext = (id: number, entry: Running, value: unknown) => {
        if (running.get(id) !== entry) return;
        if ((outbox?.length ?? 0) < maxQueued) return respond([RESPONSE, id, 'next', value]);
        running.delete(id);
        stop(entry);
        respond([RESPONSE, id, 'error', { name: 'ResponseOverflowError', message: overflowed(maxQueued) }]);
        released();
      };

      const finish = (id: number, entry: Running, envelope: unknown[]) => {
        if (running.get(id) !== entry) return;
        running.delete(id);
        // Answered: the rest of the body, if any, is dropped as it arrives.
        entry.body?.close();
        respond(envelope);
        released();
      };

      const start = (id: number, payload: unknown, withBody: boolean, redelivered: boolean) => {
        const body = withBody ? new BodyInbox(id, { chunks: maxBodyChunks, bytes: maxBodyBytes }) : undefined;
        const entry: Running = { controller: undefined, aborted: NOT_ABORTED, subscription: undefined, body };
        running.set(id, entry);
        admission?.working(1);
        let result: unknown;
        try {
          result = handler(payload as Req, contextOf(entry, id, redelivered));
        } catch (error) {
          return finish(id, entry, [RESPONSE, id, 'error', toWireError(error)]);
        }
        if (isObservable(result)) {
          const subscription = result.subscribe({
            next: (value) => respondNext(id, entry, value),
            error: (error: unknown) => finish(id, entry, [RESPONSE, id, 'error', toWireError(error)]),
            complete: () => finish(id, entry, [RESPONSE, id, 'complete']),
          });
          // Cancelled or failed while subscribing: do not keep it.
          if (running.get(id) === entry) entry.subscription = subscription;
          else subscription.unsubscribe();
        } else if (isPromiseLike(result)) {
          result.then(
            (value) => finish(id, entry, [RESPONSE, id, 'value', value]),
            (error: unknown) => finish(id, entry, [RESPONSE, id, 'error', toWireError(error)]),
          );
        } else {
          finish(id, entry, [RESPONSE, id, 'value', result]);
        }
      };

      const onFrame = (event: FrameEvent<unknown>) => {
        const frame = event.frame;
        if (!Array.isArray(frame)) throw notAnEnvelope(frame);
        const kind: unknown = frame[0];
        if (kind === PLAIN && frame.length === 2) {
          // The session's own fields (a store's seq and redelivered flag) stay with the frame.
          subscriber.next({ ...event, frame: frame[1] as In } as FrameEvent<In>);
        } else if (kind === REQUEST && isRequestId(frame[1]) && isHead(frame)) {
          const id = frame[1];
          if (running.has(id))
            throw requestsError(`request ${id} arrived while ${id} is still running`, link);
          if (admission?.refusesRequests()) return respond([RESPONSE, id, 'error', DRAINING]);
          if (running.size >= maxConcurrent) {
            return respond([
              RESPONSE,
              id,
              'error',
              { name: 'TooManyRequestsError', message: `The server runs ${maxConcurrent} requests already` },
            ]);
          }
          start(id, frame[2], frame.length === 4, (event as { redelivered?: boolean }).redelivered === true);
        } else if (kind === BODY && version >= BODY_VERSION && isRequestId(frame[1])) {
          onBody(frame[1], frame);
        } else if (kind === CANCEL && frame.length === 2 && isRequestId(frame[1])) {
          const entry = running.get(frame[1]);
          // An unknown id is a cancel that crossed the response on the wire.
          if (!entry) return;
          running.delete(frame[1]);
          stop(entry);
          released();
        } else {
          throw notAnEnvelope(frame);
        }
      };

      /** A request head: `[1, id, payload]`, or `[1, id, payload, 'body']` from v2 on. */
      const isHead = (frame: unknown[]) =>
        frame.length === 3 || (frame.length === 4 && frame[3] === WITH_BODY && version >= BODY_VERSION);

      /** `[4, id, 'next', chunk]`, `[4, id, 'complete']` or `[4, id, 'error', error]`. */
      const onBody = (id: number, frame: unknown[]) => {
        const part: unknown = frame[2];
        const error = part === 'error' && frame.length === 4 ? parseWireError(frame[3]) : undefined;
        const valid =
          (part === 'next' && frame.length === 4) || (part === 'complete' && frame.length === 3) || error;
        if (!valid) throw requestsError(`malformed body part ${describeValue(part)}`, link);
        const entry = running.get(id);
        // Not running: the body crossed the response, a cancel or a refusal on the wire.
        if (!entry) return;
        const { body } = entry;
        if (!body) throw requestsError(`body part for request ${id}, which has no body`, link);
        if (body.ended) throw requestsError(`body part for request ${id} after its body ended`, link);
        if (part === 'next') {
          const overflow = body.push(frame[3]);
          if (!overflow || running.get(id) !== entry) return;
          running.delete(id);
          stop(entry, overflow);
          respond([RESPONSE, id, 'error', toWireError(overflow)]);
          released();
        } else if (part === 'complete') body.finish({ kind: 'complete' });
        else {
          body.finish({
            kind: 'error',
            error: new RemoteError(error!.message, { id, remoteName: error!.name }),
          });
        }
      };

      const notAnEnvelope = (frame: unknown) =>
        notAnEnvelopeOf('requests', frame, 'does the client pipe cancelPending()?', link);

      const onEvent = (event: { readonly type: string }) => {
        if (event.type === 'connected') {
          const connected = event as ConnectedEvent<unknown>;
          const wrong = unlisted('requests', connected, 'serveRequests()');
          if (wrong) return fail(wrong);
          link = connected.link;
          version = connected.handshake?.layers.requests ?? LAYERS.requests.versions[1];
          outbox?.dispose();
          outbox = new ResponseOutbox(link, refused);
          subscriber.next({
            type: 'connected',
            link: new LayerLink<Out>(link, (frame) => [PLAIN, frame]),
            ...(connected.handshake ? { handshake: connected.handshake } : {}),
          } as ConnectedEvent<Out>);
        } else if (event.type === 'frame') {
          onFrame(event as FrameEvent<unknown>);
        } else subscriber.next(event);
      };

      upstream.add(
        source.subscribe({
          // Nothing throws out of here, whatever the peer sent: RxJS would report it as uncaught.
          next: (event) => {
            try {
              onEvent(event);
            } catch (error) {
              fail(asLayerError('requests', error, link));
            }
          },
          error: (error: unknown) => fail(error),
          complete: () => {
            if (ended) return;
            ended = true;
            cancelAll();
            outbox?.dispose();
            subscriber.complete();
          },
        }),
      );
      return () => {
        ended = true;
        upstream.unsubscribe();
        cancelAll();
        outbox?.dispose();
      };
    });
  return operator as never;
}

function overflowed(maxQueued: number): string {
  return `The client reads responses too slowly: ${maxQueued} wait already (serveRequests maxQueued), so this streamed response was ended`;
}
