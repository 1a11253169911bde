import { Subject, takeUntil, type Subscription } from 'rxjs';
import { LinkClosedError, SendBufferFullError } from '../../core/errors.js';
import type { Link } from '../../core/transport.js';
import { Fifo } from '../../internal/fifo.js';
import { layerOwnFrame } from '../../internal/layer-own-frame.js';
import { ReplayBufferFullError } from '../resumable/errors.js';
import { msgpackSize } from '../../codec/codec.js';
import { RequestBodyUnsupportedError, SendQueueFullError } from './errors.js';
import type { Pending } from './pending-requests.js';
import { BODY, BODY_VERSION, CANCEL, PLAIN, REQUEST, toWireError, WITH_BODY } from './wire.js';

type Outgoing =
  | { readonly kind: 'frame'; readonly frame: unknown; readonly size: number }
  | { readonly kind: 'request'; readonly request: Pending }
  | {
      readonly kind: 'part';
      readonly request: Pending;
      /** The body subscription that made it: a part of an older one is stale. */
      readonly run: BodyRun;
      readonly envelope: unknown[];
      /** Its MessagePack size; 0 for the body's end, which the caps do not count. */
      readonly size: number;
      /** Counted by the caps: a body chunk (its end is not, one per request at most). */
      readonly counted: boolean;
    };

/**
 * One subscription of a request's streamed body: made each time its head is handed to a link,
 * stopped when the request settles or is queued again after a broken connection.
 * @internal
 */
export interface BodyRun {
  /** Set once the run is over: what it still emits is ignored. */
  stopped: boolean;
  /** Emits once when the run stops, ending even a body that emits synchronously. */
  readonly stop: Subject<void>;
  subscription: Subscription | undefined;
  /** Parts of this run waiting in the outbox. */
  queued: number;
}

/** What a {@link SendBuffer} asks of the stream it serves. @internal */
export interface SendBufferHooks {
  /** A request the link refused for good (not encodable, too large) is done. */
  settle(request: Pending): void;
  /**
   * A request whose head may be on the link failed (a body part it cannot send): it is cancelled
   * on the server, settled and failed with `error`.
   */
  refuse(request: Pending, error: unknown): void;
  /** A queued frame the link cannot encode: the stream fails, since its sender is long gone. */
  fail(error: unknown): void;
  /** The id a request's head goes out with (see `PendingRequests.idFor`). */
  idFor(request: Pending): number;
  /** The link took the request's head, numbered `id`. */
  handed(request: Pending, id: number): void;
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

  readonly #limits: { readonly frames: number; readonly bytes: number };
  readonly #hooks: SendBufferHooks;

  constructor(limits: { readonly frames: number; readonly bytes: number }, hooks: SendBufferHooks) {
    this.#limits = limits;
    this.#hooks = hooks;
  }

  /** Plain frames and body chunks queued. */
  get queued(): number {
    return this.#queuedFrames;
  }

  /** A resumable session below refused the frame being sent now (`onOverflow: 'event'`). */
  overflow(): void {
    this.#overflowed = true;
  }

  /** Sends one envelope; 'full' when the link has no room (nothing was queued there). */
  #sendOwn(link: Link<unknown>, envelope: unknown[]): boolean | 'full' {
    this.#overflowed = false;
    let ready: boolean;
    try {
      ready = link.send(envelope);
    } catch (error) {
      if (SendBufferFullError.is(error) || ReplayBufferFullError.is(error)) return 'full';
      throw error;
    }
    // A resumable session with `onOverflow: 'event'` refuses by returning false and emitting.
    if (this.#overflowed) return 'full';
    return ready;
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

  /**
   * The request's frame to the link: `false` when it stays queued (the link is full or closed),
   * `'wait'` when the link took it but asks to wait, `true` when it is done with (taken, or failed).
   */
  #hand(request: Pending, link: Link<unknown>): boolean | 'wait' {
    if (request.body && this.version !== undefined && this.version < BODY_VERSION) {
      this.#hooks.settle(request);
      request.subscriber.error(bodyUnsupported(this.version));
      return true;
    }
    let result: boolean | 'full';
    // Its index among every frame of the connection, the layers' below included (pings).
    const position = link.framesSent;
    const id = this.#hooks.idFor(request);
    try {
      result = this.#sendOwn(
        link,
        request.body ? [REQUEST, id, request.payload, WITH_BODY] : [REQUEST, id, request.payload],
      );
    } catch (error) {
      // Not encodable, or too large for the link: this request fails, nothing else does.
      if (LinkClosedError.is(error)) return false;
      this.#hooks.settle(request);
      request.subscriber.error(error);
      return true;
    }
    if (result === 'full') {
      this.#awaitDrain();
      return false;
    }
    this.#hooks.handed(request, id);
    request.state = 'handed';
    request.position = position;
    request.last = position;
    return result || 'wait';
  }

  /**
   * After `hand`, once the head has left the outbox: a streamed body starts now, or on the link's
   * `drain$` when the link asked to wait.
   */
  #begin(request: Pending, handed: true | 'wait'): void {
    if (!request.body || request.state !== 'handed') return;
    if (handed === true) return this.#startBody(request);
    this.#bodiesWaiting.push(request);
    this.#awaitDrain();
  }

  /** A new request: to the link at once if nothing is queued before it, else to the queue. */
  submit(request: Pending): void {
    if (this.link && this.#outbox.length === 0) {
      const handed = this.#hand(request, this.link);
      if (handed) return this.#begin(request, handed);
    }
    if (request.state === 'queued') this.#outbox.push({ kind: 'request', request });
  }

  /**
   * Subscribes the body of a request whose head the current link has: each chunk, then its end,
   * is sent after everything queued before it.
   */
  #startBody(request: Pending): void {
    const { body } = request;
    if (!body || request.state !== 'handed' || request.run) return;
    const run: BodyRun = { stopped: false, stop: new Subject<void>(), subscription: undefined, queued: 0 };
    request.run = run;
    const { id } = request;
    const subscription = body.pipe(takeUntil(run.stop)).subscribe({
      next: (chunk) => this.#sendPart(request, run, layerOwnFrame([BODY, id, 'next', chunk]), true),
      error: (error: unknown) =>
        this.#sendPart(request, run, layerOwnFrame([BODY, id, 'error', toWireError(error)]), false),
      complete: () => this.#sendPart(request, run, layerOwnFrame([BODY, id, 'complete']), false),
    });
    if (run.stopped) subscription.unsubscribe();
    else run.subscription = subscription;
  }

  /** One part of a running body: to the link when nothing is queued before it, else queued. */
  #sendPart(request: Pending, run: BodyRun, envelope: unknown[], counted: boolean): void {
    if (run.stopped || request.run !== run || this.#ended) return;
    const link = this.link;
    if (link && this.#outbox.length === 0) {
      const position = link.framesSent;
      let result: boolean | 'full';
      try {
        result = this.#sendOwn(link, envelope);
      } catch (error) {
        // The link is going: queue it, the broken connection's rules decide what becomes of it.
        if (!LinkClosedError.is(error)) return this.#hooks.refuse(request, error);
        result = 'full';
      }
      if (result !== 'full') {
        request.last = position;
        return;
      }
      if (!link.closed) this.#awaitDrain();
    }
    let size = 0;
    if (counted) {
      try {
        size = this.#count(envelope[3], request);
      } catch (error) {
        return this.#hooks.refuse(request, error);
      }
    }
    run.queued++;
    this.#outbox.push({ kind: 'part', request, run, envelope, size, counted });
  }

  /**
   * Stops the body of `request` (it settled, or goes back to the queue to be sent again whole):
   * unsubscribes it and drops the parts it queued.
   */
  release(request: Pending): void {
    const run = stopBody(request);
    if (run && run.queued > 0) this.#outbox = this.#without(this.#outbox.drain(), new Set([run]));
  }

  /** `items` less the parts of `runs`, their counts given back. */
  #without(items: readonly Outgoing[], runs: ReadonlySet<BodyRun>): Fifo<Outgoing> {
    const kept = new Fifo<Outgoing>();
    for (const item of items) {
      if (item.kind === 'part' && runs.has(item.run)) this.#unqueue(item);
      else kept.push(item);
    }
    return kept;
  }

  /** A part left the outbox. */
  #unqueue(item: Outgoing & { kind: 'part' }): void {
    item.run.queued--;
    if (!item.counted) return;
    this.#queuedFrames--;
    this.#queuedBytes -= item.size;
  }

  /** Bodies whose head the link took while asking to wait: they start once it drained. */
  #startWaitingBodies(): void {
    while (this.#bodiesWaiting.length > 0 && this.link && !this.#drainWait && !this.#ended) {
      this.#startBody(this.#bodiesWaiting.shift()!);
    }
  }

  /** Hands queued frames and requests to the link, in order, until it is full. */
  pump(): void {
    while (this.link && !this.#drainWait && !this.#ended) {
      const item = this.#outbox.peek();
      if (!item) break;
      if (item.kind === 'request') {
        if (item.request.state !== 'queued') {
          this.#outbox.shift();
          continue;
        }
        const handed = this.#hand(item.request, this.link);
        if (!handed) return;
        if (this.#outbox.peek() === item) this.#outbox.shift();
        this.#begin(item.request, handed);
        continue;
      }
      if (item.kind === 'part') {
        if (!this.#pumpPart(item, this.link)) return;
        continue;
      }
      let result: boolean | 'full';
      try {
        result = this.#sendOwn(this.link, [PLAIN, item.frame]);
      } catch (error) {
        if (LinkClosedError.is(error)) return;
        return this.#hooks.fail(error);
      }
      if (result === 'full') return this.#awaitDrain();
      this.#outbox.shift();
      this.#queuedFrames--;
      this.#queuedBytes -= item.size;
    }
    if (this.#needDrain && this.link && !this.#drainWait && this.#outbox.length === 0) {
      this.#needDrain = false;
      this.drained.next();
    }
    this.#startWaitingBodies();
  }

  /** A queued body part to the link; false when it stays queued (the link is full or closed). */
  #pumpPart(item: Outgoing & { kind: 'part' }, link: Link<unknown>): boolean {
    const { request, run } = item;
    if (run.stopped || request.run !== run) {
      // Stale (its run was released without dropping it): defensive, release drops them.
      this.#outbox.shift();
      this.#unqueue(item);
      return true;
    }
    const position = link.framesSent;
    let result: boolean | 'full';
    try {
      result = this.#sendOwn(link, item.envelope);
    } catch (error) {
      if (LinkClosedError.is(error)) return false;
      if (this.#outbox.peek() === item) {
        this.#outbox.shift();
        this.#unqueue(item);
      }
      this.#hooks.refuse(request, error);
      return true;
    }
    if (result === 'full') {
      this.#awaitDrain();
      return false;
    }
    if (this.#outbox.peek() === item) {
      this.#outbox.shift();
      this.#unqueue(item);
    }
    request.last = position;
    return true;
  }

  /** A plain frame: to the link when nothing is queued and it has room, else queued (bounded). */
  send(frame: Out): boolean {
    if (this.link && this.#outbox.length === 0) {
      const result = this.#sendOwn(this.link, [PLAIN, frame]);
      if (result !== 'full') {
        if (!result) {
          this.#needDrain = true;
          this.#awaitDrain();
        }
        return result;
      }
      this.#awaitDrain();
    }
    this.#queue(frame);
    return false;
  }

  /** Queues a plain frame within both caps; its size is measured here, where it is refused. */
  #queue(frame: Out): void {
    const size = this.#count(frame, undefined);
    this.#outbox.push({ kind: 'frame', frame, size });
    this.#needDrain = true;
  }

  /**
   * Counts `value`, a plain frame or the chunk of `request`'s body, into both caps and returns its
   * MessagePack size; throws the SendQueueFullError of the cap it would pass, or the codec's error
   * when it cannot be encoded.
   */
  #count(value: unknown, request: Pending | undefined): number {
    const { frames, bytes } = this.#limits;
    if (this.#queuedFrames >= frames) {
      const items = request ? 'frames and body chunks' : 'frames';
      throw new SendQueueFullError(`${whose(request)}${frames} ${items} are queued already (maxQueued)`, {
        limit: frames,
      });
    }
    const size = msgpackSize(value);
    if (this.#queuedBytes + size > bytes) {
      const item = request ? 'the body chunk' : 'the frame';
      throw new SendQueueFullError(
        `${whose(request)}${this.#queuedBytes} bytes are queued already and ${item} needs ${size}; the cap is ${bytes} (maxQueuedBytes)`,
        { limit: bytes, unit: 'bytes' },
      );
    }
    this.#queuedFrames++;
    this.#queuedBytes += size;
    return size;
  }

  /** Best effort: a cancel lost with its connection is covered by the server ending it. */
  sendCancel(request: Pending): void {
    if (request.state !== 'handed' || !this.link) return;
    try {
      this.#sendOwn(this.link, layerOwnFrame([CANCEL, request.id]));
    } catch {
      // Closed or unencodable: the connection is going, and its requests with it.
    }
  }

  /**
   * Requests a broken connection left to send again: they go first, in their order, whole (a
   * streamed body is subscribed again from its start once the head is on the next link).
   */
  resendFirst(requests: readonly Pending[]): void {
    if (requests.length === 0) return;
    const runs = new Set<BodyRun>();
    for (const request of requests) {
      const run = stopBody(request);
      if (run) runs.add(run);
    }
    const rest = this.#without(this.#outbox.drain(), runs);
    this.#outbox = new Fifo();
    for (const request of requests) this.#outbox.push({ kind: 'request', request });
    for (const item of rest.drain()) this.#outbox.push(item);
  }

  /**
   * On close: empties the queue, handing its plain frames to the link while it takes them, and
   * returns those it did not take (queued requests are dropped: they are being cancelled).
   */
  flush(): Out[] {
    const leftover: Out[] = [];
    for (let item = this.#outbox.shift(); item; item = this.#outbox.shift()) {
      if (item.kind !== 'frame') continue;
      let handed = false;
      if (this.link && leftover.length === 0) {
        try {
          handed = this.#sendOwn(this.link, [PLAIN, item.frame]) !== 'full';
        } catch {
          handed = false;
        }
      }
      if (!handed) leftover.push(item.frame as Out);
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

  /** Empties the queue and returns its plain messages, oldest first. */
  takeMessages(): Out[] {
    const messages = this.#outbox
      .drain()
      .filter((item) => item.kind === 'frame')
      .map((item) => item.frame as Out);
    this.#outbox = new Fifo();
    this.#queuedFrames = 0;
    this.#queuedBytes = 0;
    return messages;
  }
}

/** How a message about the queue starts: "Request 7: " for a chunk of its body, nothing for a frame. */
function whose(request: Pending | undefined): string {
  return request ? `Request ${request.id}: ` : '';
}

/** Unsubscribes the body of `request`, if it runs, and returns its run. */
function stopBody(request: Pending): BodyRun | undefined {
  const run = request.run;
  if (!run) return undefined;
  request.run = undefined;
  run.stopped = true;
  run.stop.next();
  run.subscription?.unsubscribe();
  return run;
}

/**
 * The error of a request with a streamed body on a connection whose handshake settled a requests
 * layer older than {@link BODY_VERSION} (such a request never gets an id).
 * @internal
 */
export function bodyUnsupported(version: number): RequestBodyUnsupportedError {
  return new RequestBodyUnsupportedError(
    `A request with a streamed body needs requests layer v${BODY_VERSION}, but the connection's handshake settled requests v${version}: the server speaks requests v${version}`,
    { version, needs: BODY_VERSION },
  );
}
