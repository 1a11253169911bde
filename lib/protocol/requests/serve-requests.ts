import { isObservable, Observable, Subscription } from 'rxjs';
import { EncodeError, type ProtocolError } from '../../core/errors.js';
import type { ConnectedEvent, FrameEvent, Link } from '../../core/transport.js';
import { isPromiseLike } from '../../internal/promise-like.js';
import { unlisted } from '../handshake/layers.js';
import { describeValue } from '../../internal/describe-value.js';
import { LayerLink } from '../../internal/layer-link.js';
import {
  notAnEnvelope as notAnEnvelopeOf,
  asLayerError,
  layerProtocolError,
} from '../../internal/peer-input.js';
import { checkKnownOptions, type KnownOptions } from '../../policies/validate.js';
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
 * const slow = (payload: unknown, { signal }: RequestContext) =>
 *   new Promise((resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
 * ```
 * @category Sessions
 */
export interface RequestContext {
  /** The request's id on the wire (for logs). */
  readonly id: number;
  /** Aborted when the client cancels the request or the connection (or session) ends. */
  readonly signal: AbortSignal;
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
}

const CONFIG: KnownOptions<ServeRequestsConfig> = { maxConcurrent: true, maxQueued: true };

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
  const { maxConcurrent = 1_000, maxQueued = 1_000 } = config;
  for (const [name, value] of [
    ['maxConcurrent', maxConcurrent],
    ['maxQueued', maxQueued],
  ] as const) {
    if (!(Number.isSafeInteger(value) && value > 0)) {
      throw new TypeError(`serveRequests: ${name} must be a positive integer, got ${describeValue(value)}`);
    }
  }

  const operator = (source: Observable<{ readonly type: string }>) =>
    new Observable<{ readonly type: string }>((subscriber) => {
      interface Running {
        readonly controller: AbortController;
        subscription: Subscription | undefined;
      }
      let link: Link<unknown> | undefined;
      let outbox: ResponseOutbox | undefined;
      const running = new Map<number, Running>();
      const upstream = new Subscription();
      let ended = false;

      const cancelAll = () => {
        const all = [...running.values()];
        running.clear();
        for (const entry of all) stop(entry);
      };
      const stop = (entry: Running) => {
        entry.controller.abort(new DOMException('The request was cancelled', 'AbortError'));
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
      };

      const finish = (id: number, entry: Running, envelope: unknown[]) => {
        if (running.get(id) !== entry) return;
        running.delete(id);
        respond(envelope);
      };

      const start = (id: number, payload: unknown) => {
        const entry: Running = { controller: new AbortController(), subscription: undefined };
        running.set(id, entry);
        let result: unknown;
        try {
          result = handler(payload as Req, { id, signal: entry.controller.signal });
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

      const onFrame = (frame: unknown) => {
        if (!Array.isArray(frame)) throw notAnEnvelope(frame);
        const kind: unknown = frame[0];
        if (kind === PLAIN && frame.length === 2) {
          subscriber.next({ type: 'frame', frame: frame[1] as In } as FrameEvent<In>);
        } else if (kind === REQUEST && frame.length === 3 && isRequestId(frame[1])) {
          const id = frame[1];
          if (running.has(id))
            throw requestsError(`request ${id} arrived while ${id} is still running`, link);
          if (running.size >= maxConcurrent) {
            return respond([
              RESPONSE,
              id,
              'error',
              { name: 'TooManyRequestsError', message: `The server runs ${maxConcurrent} requests already` },
            ]);
          }
          start(id, frame[2]);
        } else if (kind === CANCEL && frame.length === 2 && isRequestId(frame[1])) {
          const entry = running.get(frame[1]);
          // An unknown id is a cancel that crossed the response on the wire.
          if (!entry) return;
          running.delete(frame[1]);
          stop(entry);
        } else {
          throw notAnEnvelope(frame);
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
          outbox?.dispose();
          outbox = new ResponseOutbox(link, refused);
          subscriber.next({
            type: 'connected',
            link: new LayerLink<Out>(link, (frame) => [PLAIN, frame]),
            ...(connected.handshake ? { handshake: connected.handshake } : {}),
          } as ConnectedEvent<Out>);
        } else if (event.type === 'frame') {
          onFrame((event as FrameEvent<unknown>).frame);
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
