import { Subject, takeUntil, type Subscription } from 'rxjs';
import { LinkClosedError, SendBufferFullError } from '../../core/errors.js';
import type { Link } from '../../core/transport.js';
import { Fifo } from '../../internal/fifo.js';
import { layerOwnFrame } from '../../internal/layer-own-frame.js';
import { ReplayBufferFullError } from '../resumable/errors.js';
import { msgpackSize } from '../../codec/codec.js';
import { RequestBodyUnsupportedError, SendQueueFullError } from './errors.js';
import type { Pending, PendingRequests } from './pending-requests.js';
import { BODY, BODY_VERSION, CANCEL, PLAIN, REQUEST, toWireError, WITH_BODY } from './wire.js';

/**
 * What waits in the outbox: a request's head (made when it leaves, which gives it its id), or a
 * plain frame or a part of a streamed body ({@link QueuedFrame}).
 */
type Outgoing = { readonly request: Pending; readonly run?: undefined } | QueuedFrame;

/** A plain frame or a body part in the outbox. */
interface QueuedFrame {
  /**
   * A plain frame as given to `send`, enveloped when it leaves (an envelope made earlier would be
   * one more object per queued frame to keep), or a body part's envelope.
   */
  readonly frame: unknown;
  /** Its MessagePack size as the caps count it; 0 for a body's end, which they do not count. */
  readonly size: number;
  /** The body subscription that made a part (a part of an older one is stale); none for a plain frame. */
  readonly run?: BodyRun | undefined;
  /** A cancel the full link refused: `frame` is its envelope, which goes once the link drains. */
  readonly cancel?: true;
}

/**
 * One subscription of a request's streamed body: made each time its head is handed to a link,
 * stopped when the request settles or is queued again after a broken connection. It is current
 * while it is its request's `run`: what an older one still emits or queued is stale.
 * @internal
 */
export interface BodyRun {
  /** The request whose body it sends. */
  readonly request: Pending;
  /** Emits once when the run stops: it unsubscribes the body, even one that emits synchronously. */
  readonly stop: Subject<void>;
  /** Parts of this run waiting in the outbox. */
  queued: number;
}

/** The caps of a {@link SendBuffer}'s queue: the options of {@link cancelPending} by those names. @internal */
export interface QueueCaps {
  /** Plain frames and body chunks. */
  readonly maxQueued: number;
  /** Their MessagePack bytes. */
  readonly maxQueuedBytes: number;
}

/**
 * The outbound side of one {@link cancelPending} stream: the current link, and the frames and
 * requests queued (in order, plain frames bounded by `maxQueued` and `maxQueuedBytes`) while no link takes them, handed
 * on as it drains.
 * @internal
 */
export class SendBuffer<Out> {
  /** The link of the current connection, `undefined` between connections. */
  link: Link<unknown> | undefined;
  /**
   * The requests layer version the latest connection's handshake settled, `undefined` when no
   * handshake ran: a streamed body needs {@link BODY_VERSION}.
   */
  version: number | undefined;
  /** Emits when everything queued has left after a `send` that returned false. */
  readonly drained = new Subject<void>();
  #outbox = new Fifo<Outgoing>();
  #queuedFrames = 0;
  /** The MessagePack size of the plain frames queued. */
  #queuedBytes = 0;
  #drainWait: Subscription | undefined;
  #needDrain = false;
  #overflowed = false;
  #ended = false;
  /** Requests whose head the link took while past its high-water mark: their bodies wait for drain$. */
  #bodiesWaiting: Pending[] = [];

  readonly #caps: QueueCaps;
  readonly #pending: PendingRequests;
  readonly #failStream: (error: unknown) => void;

  /**
   * @param pending The stream's requests: a request the link refuses (not encodable, too large)
   * fails there, and its head's id comes from there.
   * @param failStream Fails the stream: a queued plain frame the link cannot encode, whose sender
   * is long gone.
   */
  constructor(caps: QueueCaps, pending: PendingRequests, failStream: (error: unknown) => void) {
    this.#caps = caps;
    this.#pending = pending;
    this.#failStream = failStream;
  }

  /**
   * The error of a request with a streamed body when the current connection's handshake settled a
   * requests layer older than {@link BODY_VERSION} (such a request never gets an id); `undefined`
   * when a body may go.
   */
  bodyUnsupported(): RequestBodyUnsupportedError | undefined {
    const { version } = this;
    if (version === undefined || version >= BODY_VERSION) return undefined;
    return new RequestBodyUnsupportedError(
      `A streamed request body needs requests layer v${BODY_VERSION}, but the handshake says the server speaks requests v${version}`,
      { version, needs: BODY_VERSION },
    );
  }

  /** Plain frames and body chunks queued. */
  get queued(): number {
    return this.#queuedFrames;
  }

  /** A resumable session below refused the frame being sent now (`onOverflow: 'event'`). */
  overflow(): void {
    this.#overflowed = true;
  }

  /**
   * Offers one envelope to the link: `true` when it took it, `false` when it took it but asks to
   * wait, `'kept'` when it did not (it has no room, then pump waits for its `drain$`, or it is
   * closing): the envelope is still ours. Throws what else the link throws (not encodable, too
   * large).
   */
  #offer(link: Link<unknown>, envelope: unknown[]): boolean | 'kept' {
    this.#overflowed = false;
    let taken = false;
    try {
      taken = link.send(envelope);
    } catch (error) {
      if (LinkClosedError.is(error)) return 'kept';
      if (!SendBufferFullError.is(error) && !ReplayBufferFullError.is(error)) throw error;
      this.#overflowed = true;
    }
    // A resumable session with `onOverflow: 'event'` refuses by returning false and emitting.
    if (!this.#overflowed) return taken;
    this.#awaitDrain();
    return 'kept';
  }

  /** Whether `link` took `envelope`; it may also refuse it, or throw (closed, not encodable). */
  #handOver(link: Link<unknown>, envelope: unknown[]): boolean {
    try {
      return this.#offer(link, envelope) !== 'kept';
    } catch {
      return false;
    }
  }

  #awaitDrain(): void {
    if (this.#drainWait || !this.link) return;
    this.#drainWait = this.link.drain$.subscribe(() => {
      this.stopWaiting();
      this.pump();
    });
  }

  /** Stops waiting for the link to drain (it broke, or the stream ends). */
  stopWaiting(): void {
    this.#drainWait?.unsubscribe();
    this.#drainWait = undefined;
  }

  /** Whether queued frames may go to the link now. */
  #canPump(): boolean {
    return this.link !== undefined && !this.#drainWait && !this.#ended;
  }

  /**
   * The request's head to the link: `false` when it stays queued (the link is full or closed),
   * `'wait'` when the link took it but asks to wait, `true` when it is done with (taken, or failed).
   */
  #hand(request: Pending, link: Link<unknown>): boolean | 'wait' {
    const unsupported = request.body && this.bodyUnsupported();
    if (unsupported) {
      this.#pending.fail(request, unsupported);
      return true;
    }
    // Its index among every frame of the connection, the layers' below included (pings).
    const position = link.framesSent;
    const id = this.#pending.idFor(request);
    const head = request.body ? [REQUEST, id, request.payload, WITH_BODY] : [REQUEST, id, request.payload];
    let taken: boolean | 'kept';
    try {
      taken = this.#offer(link, head);
    } catch (error) {
      // Not encodable, or too large for the link: this request fails, nothing else does.
      this.#pending.fail(request, error);
      return true;
    }
    if (taken === 'kept') return false;
    this.#pending.handed(request, id, position);
    return taken || 'wait';
  }

  /**
   * After `hand`, once the head has left the outbox: a streamed body starts now, or on the link's
   * `drain$` when the link asked to wait.
   */
  #begin(request: Pending, handed: true | 'wait'): void {
    if (handed === true) return this.#startBody(request);
    if (!request.body) return;
    this.#bodiesWaiting.push(request);
    this.#awaitDrain();
  }

  /** A new request: to the link at once if nothing is queued before it, else to the queue. */
  submit(request: Pending): void {
    // To the link at once only when nothing is queued before it.
    const handed = this.link && this.#outbox.length === 0 && this.#hand(request, this.link);
    if (handed) return this.#begin(request, handed);
    if (request.state === 'queued') this.#outbox.push({ request });
  }

  /**
   * Subscribes the body of a request whose head the current link has: each chunk, then its end,
   * is sent after everything queued before it.
   */
  #startBody(request: Pending): void {
    const { body } = request;
    if (!body || request.state !== 'handed' || request.run) return;
    const run: BodyRun = { request, stop: new Subject<void>(), queued: 0 };
    request.run = run;
    const { id } = request;
    body.pipe(takeUntil(run.stop)).subscribe({
      next: (chunk) => this.#sendPart(run, layerOwnFrame([BODY, id, 'next', chunk])),
      error: (error: unknown) => this.#sendPart(run, layerOwnFrame([BODY, id, 'error', toWireError(error)])),
      complete: () => this.#sendPart(run, layerOwnFrame([BODY, id, 'complete'])),
    });
  }

  /**
   * One part of a running body: to the link when nothing is queued before it, else queued; a
   * chunk (`'next'`) counts against the caps, the body's end does not.
   */
  #sendPart(run: BodyRun, envelope: unknown[]): void {
    const { request } = run;
    if (request.run !== run || this.#ended) return;
    if (this.link && this.#outbox.length === 0 && this.#offerQueued(envelope, run, this.link)) return;
    let size = 0;
    if (envelope[2] === 'next') {
      try {
        size = this.#count(envelope[3], request);
      } catch (error) {
        return this.#pending.fail(request, error);
      }
    }
    run.queued++;
    this.#outbox.push({ frame: envelope, size, run });
  }

  /**
   * A plain frame, or a part of `run`'s body, to the link: false when it stays queued (the link is
   * full or closing). One the link refuses (not encodable, too large) fails its request, or the
   * stream for a plain frame (its sender is gone).
   */
  #offerQueued(envelope: unknown[], run: BodyRun | undefined, link: Link<unknown>): boolean {
    // Only a body part's position is kept (its request's `last`); not read for each plain frame.
    const position = run ? link.framesSent : 0;
    try {
      if (this.#offer(link, envelope) === 'kept') return false;
    } catch (error) {
      if (run) this.#pending.fail(run.request, error);
      else this.#failStream(error);
      return true;
    }
    if (run) run.request.last = position;
    return true;
  }

  /**
   * Stops the body of `request` (it settled): unsubscribes it and drops the parts it queued.
   */
  release(request: Pending): void {
    this.#stopBodies([request]);
  }

  /** Stops the bodies of `requests` and drops the parts they queued, their counts given back. */
  #stopBodies(requests: readonly Pending[]): void {
    const runs = new Set<BodyRun>();
    for (const request of requests) {
      const run = stopBody(request);
      if (run && run.queued > 0) runs.add(run);
    }
    if (runs.size === 0) return;
    const items = this.#outbox.drain();
    for (const item of items) {
      if (item.run && runs.has(item.run)) this.#unqueue(item);
      else this.#outbox.push(item);
    }
  }

  /** A queued frame or body part left the outbox: the caps count it no more. */
  #unqueue(item: Outgoing): void {
    if ('request' in item) return;
    if (item.run) item.run.queued--;
    if (item.size === 0) return;
    this.#queuedFrames--;
    this.#queuedBytes -= item.size;
  }

  /** Removes `item` from the head of the outbox, unless what it did to the link removed it already. */
  #shift(item: Outgoing): void {
    if (this.#outbox.peek() !== item) return;
    this.#outbox.shift();
    this.#unqueue(item);
  }

  /** Hands queued frames and requests to the link, in order, until it is full. */
  pump(): void {
    for (let item = this.#outbox.peek(); item && this.#canPump(); item = this.#outbox.peek()) {
      if (!this.#pumpItem(item, this.link!)) return;
    }
    if (this.#needDrain && this.#canPump() && this.#outbox.length === 0) {
      this.#needDrain = false;
      this.drained.next();
    }
    // Bodies whose head the link took while asking to wait: they start once it drained.
    while (this.#bodiesWaiting.length > 0 && this.#canPump()) this.#startBody(this.#bodiesWaiting.shift()!);
  }

  /** The outbox's oldest item to the link; false when it stays queued (the link is full or closed). */
  #pumpItem(item: Outgoing, link: Link<unknown>): boolean {
    if ('request' in item) {
      const { request } = item;
      const handed = request.state === 'queued' ? this.#hand(request, link) : undefined;
      if (handed === false) return false;
      this.#shift(item);
      if (handed) this.#begin(request, handed);
      return true;
    }
    // A part of a stopped run is stale: release drops them, this is defensive.
    const { frame, run } = item;
    const stale = run && run.request.run !== run;
    const envelope = run || item.cancel ? (frame as unknown[]) : [PLAIN, frame];
    if (!stale && !this.#offerQueued(envelope, run, link)) return false;
    this.#shift(item);
    return true;
  }

  /** A plain frame: to the link when nothing is queued and it has room, else queued (bounded). */
  send(frame: Out): boolean {
    const taken = this.link && this.#outbox.length === 0 ? this.#offer(this.link, [PLAIN, frame]) : 'kept';
    if (taken === true) return true;
    if (taken === 'kept') this.#outbox.push({ frame, size: this.#count(frame, undefined) });
    this.#needDrain = true;
    if (taken === false) this.#awaitDrain();
    return false;
  }

  /**
   * Counts `value`, a plain frame or the chunk of `request`'s body, into both caps and returns its
   * MessagePack size; throws the SendQueueFullError of the cap it would pass, or the codec's error
   * when it cannot be encoded.
   */
  #count(value: unknown, request: Pending | undefined): number {
    const { maxQueued, maxQueuedBytes } = this.#caps;
    if (this.#queuedFrames >= maxQueued) {
      throw new SendQueueFullError(
        `${refused(request)} cannot be queued: ${maxQueued} frames and body chunks are queued already (maxQueued)`,
        { limit: maxQueued },
      );
    }
    const size = msgpackSize(value);
    if (this.#queuedBytes + size > maxQueuedBytes) {
      throw new SendQueueFullError(
        `${refused(request)} needs ${size} bytes, but ${this.#queuedBytes} of the ${maxQueuedBytes} allowed are queued already (maxQueuedBytes)`,
        { limit: maxQueuedBytes, unit: 'bytes' },
      );
    }
    this.#queuedFrames++;
    this.#queuedBytes += size;
    return size;
  }

  /**
   * Best effort: a cancel lost with its connection is covered by the server ending it. One the
   * full link refuses waits in the outbox (not counted by the caps: one per handed request at
   * most), and goes once the link drains, before what is sent after it.
   */
  sendCancel(request: Pending): void {
    if (request.state !== 'handed' || !this.link) return;
    const frame = layerOwnFrame([CANCEL, request.id]);
    // Closed or unencodable: the connection is going, and its requests with it.
    if (!this.#handOver(this.link, frame) && this.#overflowed)
      this.#outbox.push({ frame, size: 0, cancel: true });
  }

  /**
   * Requests a broken connection left to send again: they go first, in their order, whole (a
   * streamed body is subscribed again from its start once the head is on the next link).
   */
  resendFirst(requests: readonly Pending[]): void {
    if (requests.length === 0) return;
    this.#stopBodies(requests);
    const rest = this.#outbox.drain();
    for (const request of requests) this.#outbox.push({ request });
    for (const item of rest) this.#outbox.push(item);
  }

  /**
   * Empties the queue and returns its plain messages, oldest first (queued requests and body
   * parts are dropped: they are being cancelled). Given a `link` (on close), it first hands them
   * to it while it takes them, and returns only those it did not take.
   */
  takeMessages(link?: Link<unknown>): Out[] {
    const leftover: Out[] = [];
    for (const item of this.#outbox.drain()) {
      if ('request' in item || item.run || item.cancel) continue;
      if (leftover.length > 0 || !link || !this.#handOver(link, [PLAIN, item.frame]))
        leftover.push(item.frame as Out);
    }
    this.#queuedFrames = 0;
    this.#queuedBytes = 0;
    return leftover;
  }

  /** The stream ends: nothing is sent any more, and nothing waits for the link. */
  end(): void {
    this.#ended = true;
    this.#bodiesWaiting = [];
    this.stopWaiting();
  }
}

/** What the full queue refused, as its message says it: "Request 7: the body chunk", or "The frame". */
function refused(request: Pending | undefined): string {
  return request ? `Request ${request.id}: the body chunk` : 'The frame';
}

/** Unsubscribes the body of `request`, if it runs, and returns its run. */
function stopBody(request: Pending): BodyRun | undefined {
  const run = request.run;
  if (!run) return undefined;
  request.run = undefined;
  run.stop.next();
  return run;
}
