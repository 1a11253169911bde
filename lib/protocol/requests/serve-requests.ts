import { Observable } from 'rxjs';
import type { ConnectedEvent, FrameEvent } from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { checkKnownOptions, type KnownOptions } from '../../internal/validate.js';
import { checkAdmission, type HandshakeAdmission } from '../handshake/admission.js';
import { RequestServer, type RequestServerSettings } from './request-server.js';
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

/**
 * Answers one request: return a value, a Promise of one, or an Observable for a streamed response
 * (subscribed once; unsubscribed on cancel). Throwing, rejecting or erroring (a thenable whose
 * `then` throws counts as rejecting) sends an error response with the error's `name` and
 * `message` only, for that request.
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

  const settings: RequestServerSettings = {
    handler: handler as RequestHandler,
    maxConcurrent,
    maxQueued,
    maxBodyChunks,
    maxBodyBytes,
    admission,
  };
  // Everything of one subscription lives in its server, so the operator itself holds no state.
  const operator = (source: Observable<{ readonly type: string }>) =>
    new Observable<{ readonly type: string }>((subscriber) =>
      new RequestServer<In, Out>(subscriber, settings).start(source),
    );
  return operator as never;
}
