/**
 * One subscription of {@link serveRequests}: the server side of the requests layer on one
 * connection (or session).
 * @internal
 * @packageDocumentation
 */
import { EMPTY, isObservable, Subscription, type Observable, type Observer, type Subscriber } from 'rxjs';
import { EncodeError } from '../../core/errors.js';
import type { ConnectedEvent, FrameEvent, Link } from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { LayerLink } from '../../internal/layer-link.js';
import { asLayerError, notAnEnvelope } from '../../internal/peer-input.js';
import { isPromiseLike, thenOrFail } from '../../internal/promise-like.js';
import type { HandshakeAdmission } from '../handshake/admission.js';
import { LAYERS, unlisted } from '../handshake/layers.js';
import { BodyInbox } from './body-inbox.js';
import { RemoteError } from './errors.js';
import { ResponseOutbox } from './response-outbox.js';
import type { RequestContext, RequestHandler } from './serve-requests.js';
import {
  BODY,
  BODY_VERSION,
  CANCEL,
  isRequestId,
  parseWireError,
  PLAIN,
  REQUEST,
  requestsError,
  RESPONSE,
  toWireError,
  WITH_BODY,
} from './wire.js';

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

/** The error response to a request that arrives while its server drains. */
const DRAINING = {
  name: 'ServerDrainingError',
  message: 'The server is going away (it drains): the request was not run; send it again, to another server',
} as const;

function overflowed(maxQueued: number): string {
  return `The client reads responses too slowly: ${maxQueued} wait already (serveRequests maxQueued), so this streamed response was ended`;
}

/** The options of {@link serveRequests}, checked and with their defaults: shared by its subscriptions. */
export interface RequestServerSettings {
  readonly handler: RequestHandler;
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  readonly maxBodyChunks: number;
  readonly maxBodyBytes: number;
  readonly admission: HandshakeAdmission | undefined;
}

type Event = { readonly type: string };

/**
 * The requests a peer sends on one connection (or session), run by the handler and answered: the
 * running table, the response outbox, bodies, cancels and how it all ends. It is the observer of
 * its source; every request it runs is settled when it ends.
 */
export class RequestServer<In, Out> implements Observer<Event> {
  #link: Link<unknown> | undefined;
  /** The requests layer version this connection's handshake settled; the latest without one. */
  #version = LAYERS.requests.versions[1];
  #outbox: ResponseOutbox | undefined;
  readonly #running = new Map<number, Running>();
  readonly #upstream = new Subscription();
  #ended = false;
  readonly #subscriber: Subscriber<Event>;
  readonly #settings: RequestServerSettings;

  constructor(subscriber: Subscriber<Event>, settings: RequestServerSettings) {
    this.#subscriber = subscriber;
    this.#settings = settings;
  }

  /** Listens to `source`; returns the subscription's teardown. */
  start(source: Observable<Event>): () => void {
    this.#upstream.add(source.subscribe(this));
    return () => {
      this.#ended = true;
      this.#upstream.unsubscribe();
      this.#cancelAll();
      this.#outbox?.dispose();
    };
  }

  // The source's observer. Nothing throws out of `next`, whatever the peer sent: RxJS would report
  // it as uncaught.
  next(event: Event): void {
    try {
      this.#onEvent(event);
    } catch (error) {
      this.#fail(asLayerError('requests', error, this.#link));
    }
  }

  error(error: unknown): void {
    this.#fail(error);
  }

  complete(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#cancelAll();
    this.#outbox?.dispose();
    this.#subscriber.complete();
  }

  #fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#upstream.unsubscribe();
    this.#cancelAll();
    this.#outbox?.dispose();
    this.#subscriber.error(error);
  }

  #onEvent(event: Event): void {
    if (event.type === 'connected') this.#onConnected(event as ConnectedEvent<unknown>);
    else if (event.type === 'frame') this.#onFrame(event as FrameEvent<unknown>);
    else this.#subscriber.next(event);
  }

  #onConnected(connected: ConnectedEvent<unknown>): void {
    const wrong = unlisted('requests', connected, 'serveRequests()');
    if (wrong) return this.#fail(wrong);
    const link = connected.link;
    this.#link = link;
    this.#version = connected.handshake?.layers.requests ?? LAYERS.requests.versions[1];
    this.#outbox?.dispose();
    this.#outbox = new ResponseOutbox(link, (envelope, error) => this.#refused(envelope, error));
    this.#subscriber.next({
      type: 'connected',
      link: new LayerLink<Out>(link, (frame) => [PLAIN, frame]),
      ...(connected.handshake ? { handshake: connected.handshake } : {}),
    } as ConnectedEvent<Out>);
  }

  #onFrame(event: FrameEvent<unknown>): void {
    const frame = event.frame;
    if (!Array.isArray(frame)) throw this.#notAnEnvelope(frame);
    const kind: unknown = frame[0];
    if (kind === PLAIN && frame.length === 2) {
      // The session's own fields (a store's seq and redelivered flag) stay with the frame.
      this.#subscriber.next({ ...event, frame: frame[1] as In } as FrameEvent<In>);
    } else if (kind === REQUEST && isRequestId(frame[1]) && this.#isHead(frame)) {
      this.#onRequest(frame[1], frame, (event as { redelivered?: boolean }).redelivered === true);
    } else if (kind === BODY && this.#version >= BODY_VERSION && isRequestId(frame[1])) {
      this.#onBody(frame[1], frame);
    } else if (kind === CANCEL && frame.length === 2 && isRequestId(frame[1])) {
      this.#onCancel(frame[1]);
    } else {
      throw this.#notAnEnvelope(frame);
    }
  }

  /** A request head: `[1, id, payload]`, or `[1, id, payload, 'body']` from v2 on. */
  #isHead(frame: unknown[]): boolean {
    return (
      frame.length === 3 || (frame.length === 4 && frame[3] === WITH_BODY && this.#version >= BODY_VERSION)
    );
  }

  #onRequest(id: number, head: unknown[], redelivered: boolean): void {
    const { admission, maxConcurrent } = this.#settings;
    if (this.#running.has(id))
      throw requestsError(`request ${id} arrived while ${id} is still running`, this.#link);
    if (admission?.refusesRequests()) return this.#respond([RESPONSE, id, 'error', DRAINING]);
    if (this.#running.size >= maxConcurrent) {
      return this.#respond([
        RESPONSE,
        id,
        'error',
        { name: 'TooManyRequestsError', message: `The server runs ${maxConcurrent} requests already` },
      ]);
    }
    this.#run(id, head[2], head.length === 4, redelivered);
  }

  /** Runs the handler on a request and answers with what it returns, throws or streams. */
  #run(id: number, payload: unknown, withBody: boolean, redelivered: boolean): void {
    const { handler, maxBodyChunks, maxBodyBytes, admission } = this.#settings;
    const body = withBody ? new BodyInbox(id, { chunks: maxBodyChunks, bytes: maxBodyBytes }) : undefined;
    const entry: Running = { controller: undefined, aborted: NOT_ABORTED, subscription: undefined, body };
    this.#running.set(id, entry);
    admission?.working(1);
    let result: unknown;
    try {
      result = handler(payload, contextOf(entry, id, redelivered));
    } catch (error) {
      return this.#finish(id, entry, [RESPONSE, id, 'error', toWireError(error)]);
    }
    if (isObservable(result)) this.#stream(id, entry, result);
    else if (isPromiseLike(result)) {
      thenOrFail(
        result,
        (value) => this.#finish(id, entry, [RESPONSE, id, 'value', value]),
        (error: unknown) => this.#finish(id, entry, [RESPONSE, id, 'error', toWireError(error)]),
      );
    } else {
      this.#finish(id, entry, [RESPONSE, id, 'value', result]);
    }
  }

  /** A streamed response: each value a `next`, then its end. */
  #stream(id: number, entry: Running, result: Observable<unknown>): void {
    const subscription = result.subscribe({
      next: (value) => this.#respondNext(id, entry, value),
      error: (error: unknown) => this.#finish(id, entry, [RESPONSE, id, 'error', toWireError(error)]),
      complete: () => this.#finish(id, entry, [RESPONSE, id, 'complete']),
    });
    // Cancelled or failed while subscribing: do not keep it.
    if (this.#running.get(id) === entry) entry.subscription = subscription;
    else subscription.unsubscribe();
  }

  /** `[4, id, 'next', chunk]`, `[4, id, 'complete']` or `[4, id, 'error', error]`. */
  #onBody(id: number, frame: unknown[]): void {
    const link = this.#link;
    const part: unknown = frame[2];
    const error = part === 'error' && frame.length === 4 ? parseWireError(frame[3]) : undefined;
    const valid =
      (part === 'next' && frame.length === 4) || (part === 'complete' && frame.length === 3) || error;
    if (!valid) throw requestsError(`malformed body part ${describeValue(part)}`, link);
    const entry = this.#running.get(id);
    // Not running: the body crossed the response, a cancel or a refusal on the wire.
    if (!entry) return;
    const { body } = entry;
    if (!body) throw requestsError(`body part for request ${id}, which has no body`, link);
    if (body.ended) throw requestsError(`body part for request ${id} after its body ended`, link);
    if (part === 'next') this.#onBodyChunk(id, entry, body, frame[3]);
    else if (part === 'complete') body.finish({ kind: 'complete' });
    else
      body.finish({ kind: 'error', error: new RemoteError(error!.message, { id, remoteName: error!.name }) });
  }

  #onBodyChunk(id: number, entry: Running, body: BodyInbox, chunk: unknown): void {
    const overflow = body.push(chunk);
    if (!overflow || this.#running.get(id) !== entry) return;
    this.#running.delete(id);
    stop(entry, overflow);
    this.#respond([RESPONSE, id, 'error', toWireError(overflow)]);
    this.#released();
  }

  #onCancel(id: number): void {
    const entry = this.#running.get(id);
    // An unknown id is a cancel that crossed the response on the wire.
    if (!entry) return;
    this.#running.delete(id);
    stop(entry);
    this.#released();
  }

  #notAnEnvelope(frame: unknown) {
    return notAnEnvelope('requests', frame, 'does the client pipe cancelPending()?', this.#link);
  }

  #respond(envelope: unknown[]): void {
    if (!this.#ended) this.#outbox?.push(envelope);
  }

  /** A response the link refused for a reason other than backpressure. */
  #refused(envelope: unknown[], error: unknown): unknown[] | undefined {
    if (envelope[2] !== 'error' && EncodeError.is(error)) {
      return [RESPONSE, envelope[1], 'error', toWireError(error)];
    }
    this.#fail(error);
    return undefined;
  }

  /** The next value of a streamed response, unless the client is too far behind. */
  #respondNext(id: number, entry: Running, value: unknown): void {
    if (this.#running.get(id) !== entry) return;
    const { maxQueued } = this.#settings;
    if ((this.#outbox?.length ?? 0) < maxQueued) return this.#respond([RESPONSE, id, 'next', value]);
    this.#running.delete(id);
    stop(entry);
    this.#respond([RESPONSE, id, 'error', { name: 'ResponseOverflowError', message: overflowed(maxQueued) }]);
    this.#released();
  }

  #finish(id: number, entry: Running, envelope: unknown[]): void {
    if (this.#running.get(id) !== entry) return;
    this.#running.delete(id);
    // Answered: the rest of the body, if any, is dropped as it arrives.
    entry.body?.close();
    this.#respond(envelope);
    this.#released();
  }

  /** A request left the running table, its response (if any) pushed: a drain may go on. */
  #released(count = 1): void {
    this.#settings.admission?.working(-count);
  }

  #cancelAll(): void {
    const all = [...this.#running.values()];
    this.#running.clear();
    for (const entry of all) stop(entry);
    if (all.length > 0) this.#released(all.length);
  }
}

/** Stops a running request: its signal aborted with `reason`, its body closed, its stream unsubscribed. */
function stop(
  entry: Running,
  reason: unknown = new DOMException('The request was cancelled', 'AbortError'),
): void {
  abortRunning(entry, reason);
  entry.body?.close(reason);
  entry.subscription?.unsubscribe();
}
