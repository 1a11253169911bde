import { Subject, type Subscription } from 'rxjs';
import { LinkClosedError, SendBufferFullError } from '../../core/errors.js';
import type { Link } from '../../core/transport.js';
import { Fifo } from '../../internal/fifo.js';
import { ReplayBufferFullError } from '../resumable/errors.js';
import { msgpackSize } from '../../codec/codec.js';
import { SendQueueFullError } from './errors.js';
import type { Pending } from './pending-requests.js';
import { CANCEL, PLAIN, REQUEST } from './serve-requests.js';

type Outgoing =
  | { readonly kind: 'frame'; readonly frame: unknown; readonly size: number }
  | { readonly kind: 'request'; readonly request: Pending };

/** What a {@link SendBuffer} asks of the stream it serves. @internal */
export interface SendBufferHooks {
  /** A request the link refused for good (not encodable, too large) is done. */
  settle(request: Pending): void;
  /** A queued frame the link cannot encode: the stream fails, since its sender is long gone. */
  fail(error: unknown): void;
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
  /** Emits when everything queued has left after a `send` that returned false. */
  readonly drained = new Subject<void>();
  private outbox = new Fifo<Outgoing>();
  private queuedFrames = 0;
  /** The MessagePack size of the plain frames queued. */
  private queuedBytes = 0;
  private drainWait: Subscription | undefined;
  private needDrain = false;
  private overflowed = false;
  private ended = false;

  constructor(
    private readonly limits: { readonly frames: number; readonly bytes: number },
    private readonly hooks: SendBufferHooks,
  ) {}

  /** Plain frames queued. */
  get queued(): number {
    return this.queuedFrames;
  }

  /** A resumable session below refused the frame being sent now (`onOverflow: 'event'`). */
  overflow(): void {
    this.overflowed = true;
  }

  /** Sends one envelope; 'full' when the link has no room (nothing was queued there). */
  private sendOwn(link: Link<unknown>, envelope: unknown[]): boolean | 'full' {
    this.overflowed = false;
    let ready: boolean;
    try {
      ready = link.send(envelope);
    } catch (error) {
      if (SendBufferFullError.is(error) || ReplayBufferFullError.is(error)) return 'full';
      throw error;
    }
    // A resumable session with `onOverflow: 'event'` refuses by returning false and emitting.
    if (this.overflowed) return 'full';
    return ready;
  }

  private awaitDrain(): void {
    if (this.drainWait || !this.link) return;
    this.drainWait = this.link.drain$.subscribe(() => {
      this.stopWaiting();
      this.pump();
    });
  }

  /** Stops waiting for the link to drain (it broke, or the stream ends). */
  stopWaiting(): void {
    this.drainWait?.unsubscribe();
    this.drainWait = undefined;
  }

  /** The request's frame to the link; false when it stays queued (the link is full or closed). */
  private hand(request: Pending, link: Link<unknown>): boolean {
    let result: boolean | 'full';
    // Its index among every frame of the connection, the layers' below included (pings).
    const position = link.framesSent;
    try {
      result = this.sendOwn(link, [REQUEST, request.id, request.payload]);
    } catch (error) {
      // Not encodable, or too large for the link: this request fails, nothing else does.
      if (LinkClosedError.is(error)) return false;
      this.hooks.settle(request);
      request.subscriber.error(error);
      return true;
    }
    if (result === 'full') {
      this.awaitDrain();
      return false;
    }
    request.state = 'handed';
    request.position = position;
    return true;
  }

  /** A new request: to the link at once if nothing is queued before it, else to the queue. */
  submit(request: Pending): void {
    if (!(this.link && this.outbox.length === 0 && this.hand(request, this.link))) {
      if (request.state === 'queued') this.outbox.push({ kind: 'request', request });
    }
  }

  /** Hands queued frames and requests to the link, in order, until it is full. */
  pump(): void {
    while (this.link && !this.drainWait && !this.ended) {
      const item = this.outbox.peek();
      if (!item) break;
      if (item.kind === 'request') {
        if (item.request.state !== 'queued' || this.hand(item.request, this.link)) this.outbox.shift();
        else return;
        continue;
      }
      let result: boolean | 'full';
      try {
        result = this.sendOwn(this.link, [PLAIN, item.frame]);
      } catch (error) {
        if (LinkClosedError.is(error)) return;
        return this.hooks.fail(error);
      }
      if (result === 'full') return this.awaitDrain();
      this.outbox.shift();
      this.queuedFrames--;
      this.queuedBytes -= item.size;
    }
    if (this.needDrain && this.link && !this.drainWait && this.outbox.length === 0) {
      this.needDrain = false;
      this.drained.next();
    }
  }

  /** A plain frame: to the link when nothing is queued and it has room, else queued (bounded). */
  send(frame: Out): boolean {
    if (this.link && this.outbox.length === 0) {
      const result = this.sendOwn(this.link, [PLAIN, frame]);
      if (result !== 'full') {
        if (!result) {
          this.needDrain = true;
          this.awaitDrain();
        }
        return result;
      }
      this.awaitDrain();
    }
    this.queue(frame);
    return false;
  }

  /** Queues a plain frame within both caps; its size is measured here, where it is refused. */
  private queue(frame: Out): void {
    const { frames, bytes } = this.limits;
    if (this.queuedFrames >= frames) {
      throw new SendQueueFullError(`${frames} frames are queued already (maxQueued)`, { limit: frames });
    }
    const size = msgpackSize(frame);
    if (this.queuedBytes + size > bytes) {
      throw new SendQueueFullError(
        `${this.queuedBytes} bytes are queued already and the frame needs ${size}; the cap is ${bytes} (maxQueuedBytes)`,
        { limit: bytes, unit: 'bytes' },
      );
    }
    this.outbox.push({ kind: 'frame', frame, size });
    this.queuedFrames++;
    this.queuedBytes += size;
    this.needDrain = true;
  }

  /** Best effort: a cancel lost with its connection is covered by the server ending it. */
  sendCancel(request: Pending): void {
    if (request.state !== 'handed' || !this.link) return;
    try {
      this.sendOwn(this.link, [CANCEL, request.id]);
    } catch {
      // Closed or unencodable: the connection is going, and its requests with it.
    }
  }

  /** Requests a broken connection left to send again: they go first, in their order. */
  resendFirst(requests: readonly Pending[]): void {
    if (requests.length === 0) return;
    const rest = this.outbox.drain();
    this.outbox = new Fifo();
    for (const request of requests) this.outbox.push({ kind: 'request', request });
    for (const item of rest) this.outbox.push(item);
  }

  /**
   * On close: empties the queue, handing its plain frames to the link while it takes them, and
   * returns those it did not take (queued requests are dropped: they are being cancelled).
   */
  flush(): Out[] {
    const leftover: Out[] = [];
    for (let item = this.outbox.shift(); item; item = this.outbox.shift()) {
      if (item.kind !== 'frame') continue;
      let handed = false;
      if (this.link && leftover.length === 0) {
        try {
          handed = this.sendOwn(this.link, [PLAIN, item.frame]) !== 'full';
        } catch {
          handed = false;
        }
      }
      if (!handed) leftover.push(item.frame as Out);
    }
    this.queuedFrames = 0;
    this.queuedBytes = 0;
    return leftover;
  }

  /** The stream ends: nothing is sent any more, and nothing waits for the link. */
  end(): void {
    this.ended = true;
    this.stopWaiting();
  }

  /** Empties the queue and returns its plain messages, oldest first. */
  takeMessages(): Out[] {
    const messages = this.outbox
      .drain()
      .filter((item) => item.kind === 'frame')
      .map((item) => item.frame as Out);
    this.outbox = new Fifo();
    this.queuedFrames = 0;
    this.queuedBytes = 0;
    return messages;
  }
}
