import type { Observable } from 'rxjs';
import { Subject } from 'rxjs';
import type { Codec } from '../codec/codec.js';
import {
  checkMaxFrameBytes,
  DEFAULT_MAX_FRAME_BYTES,
  joinFrames,
  LENGTH_PREFIX_BYTES,
} from '../codec/framing.js';
import {
  EncodeError,
  LinkClosedError,
  SendBufferFullError,
  type WriteReport,
  type WriteState,
} from '../core/errors.js';
import type { Link, LinkInfo, LinkOptions } from '../core/transport.js';
export type { LinkOptions };
import type { KnownOptions } from '../internal/validate.js';
import { Fifo } from '../internal/fifo.js';

/** The options of {@link LinkOptions}, which every transport's options spread. @internal */
export const LINK_OPTIONS: KnownOptions<LinkOptions<unknown>> = {
  codec: true,
  maxFrameBytes: true,
  highWaterMark: true,
  maxBufferedBytes: true,
};

/**
 * Where a {@link LinkWriter} puts its bytes: a socket, a WebSocket, an in-memory pipe.
 * @internal
 */
export interface ByteSink {
  /**
   * Writes one batch of length-prefixed frames. Call `done()` when the socket confirmed every byte
   * (or at once, for sinks that cannot tell, with `pendingBytes` supplying the truth). Call
   * `refused(bytes)` when the socket refused the last `bytes` of the batch outright (it failed the
   * write before taking a byte of them), so they are known never to have reached the peer; the
   * writer then accepts nothing more. Other errors are reported by the transport, not here.
   */
  write(batch: Uint8Array, done: () => void, refused: (bytes: number) => void): void;
  /** Closes the outbound side once the writer has flushed everything. */
  end(reason: string | undefined): void;
  /**
   * For sinks that confirm late (a browser WebSocket's `bufferedAmount`): how many of the bytes
   * handed over are still unconfirmed. Omitted when `done` is exact.
   */
  pendingBytes?(): number;
}

/** The resolved limits of a writer. @internal */
export interface WriterLimits {
  maxFrameBytes: number;
  highWaterMark: number;
  maxBufferedBytes: number;
}

/** Resolves and validates the writer limits of a transport's options. @internal */
export function resolveLimits(options: Omit<LinkOptions<never>, 'codec'>): WriterLimits {
  const maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const {
    highWaterMark = Math.min(1024 * 1024, maxFrameBytes + LENGTH_PREFIX_BYTES),
    maxBufferedBytes = 2 * maxFrameBytes + LENGTH_PREFIX_BYTES,
  } = options;
  if (!Number.isInteger(highWaterMark) || highWaterMark < 1) {
    throw new TypeError(`highWaterMark must be a positive integer, got ${String(highWaterMark)}`);
  }
  if (!Number.isInteger(maxBufferedBytes) || maxBufferedBytes < maxFrameBytes + LENGTH_PREFIX_BYTES) {
    throw new TypeError(
      `maxBufferedBytes must be an integer of at least maxFrameBytes + 4 (${maxFrameBytes + LENGTH_PREFIX_BYTES}), got ${String(maxBufferedBytes)}`,
    );
  }
  if (highWaterMark > maxBufferedBytes) {
    throw new TypeError(`highWaterMark (${highWaterMark}) exceeds maxBufferedBytes (${maxBufferedBytes})`);
  }
  return { maxFrameBytes, highWaterMark, maxBufferedBytes };
}

/**
 * The one implementation of {@link Link}: encodes frames, coalesces the frames sent in one tick
 * into a single write with one write in flight at a time, enforces the queue limits, and keeps the
 * byte accounting that makes {@link WriteReport} true rather than guessed.
 *
 * Accounting: `handed` counts bytes given to the sink, `confirmed` those the sink confirmed. Each
 * frame handed but not yet confirmed has its end offset in `unconfirmedEnds`, so the report can say
 * exactly which frames left whole. Frames are also counted: `sentFrames` accepted by `send`,
 * `handedFrames` given to the sink (always a prefix, since frames leave in order), and, after an
 * exact `fail(undelivered)`, `undeliveredFrames` at the end of those that never reached the peer;
 * so `framesLeft` = `handedFrames - undeliveredFrames`.
 * @internal
 */
export class LinkWriter<Out> implements Link<Out> {
  /** Made on first use of `drain$`: most links never wait for a drain. */
  private drains: Subject<void> | undefined;
  /** Frames accepted and not yet handed to the sink; `undefined` rather than empty. */
  private queued: Uint8Array[] | undefined;
  private queuedBodyBytes = 0;
  private handed = 0;
  /** Bytes beyond this offset are known never to have reached the peer (set by `fail`). */
  private reachable = Infinity;
  private confirmed = 0;
  /** `undefined` rather than empty: an idle link holds no queue (see `confirm`). */
  private unconfirmedEnds: Fifo<number> | undefined;
  /** The end offset of the last frame confirmed whole: where the first unconfirmed frame starts. */
  private lastConfirmedEnd = 0;
  private sentFrames = 0;
  /** Frames handed to the sink: the first `handedFrames` of the connection, in order. */
  private handedFrames = 0;
  /** Handed frames known never to have reached the peer (set by `fail`): a tail of the handed. */
  private undeliveredFrames = 0;
  private lastFrameBytes = 0;
  private inFlight = false;
  private flushScheduled = false;
  private needDrain = false;
  private closing: { reason: string | undefined } | undefined;
  private ended = false;
  private dead = false;

  constructor(
    private readonly codec: Codec<Out>,
    private readonly limits: WriterLimits,
    private readonly sink: ByteSink,
    /** Runs `flush` soon: a microtask for sockets, the scheduler for virtual transports. */
    private readonly scheduleFlush: (flush: () => void) => void,
    readonly info: LinkInfo,
  ) {}

  get drain$(): Observable<void> {
    if (this.drains === undefined) {
      this.drains = new Subject<void>();
      if (this.dead) this.drains.complete();
    }
    return this.drains.asObservable();
  }

  get closeRequested(): boolean {
    return this.closing !== undefined;
  }

  get closed(): boolean {
    return this.closing !== undefined || this.dead;
  }

  get bufferedBytes(): number {
    return this.queuedBytes() + this.unconfirmedHandedBytes();
  }

  get framesSent(): number {
    return this.sentFrames;
  }

  send(frame: Out): boolean {
    if (this.closed) throw new LinkClosedError(`Cannot send: the ${this.info.transport} link is closed`);
    let body: Uint8Array;
    try {
      body = this.codec.encode(frame);
    } catch (cause) {
      throw new EncodeError(`Frame could not be encoded: ${(cause as Error)?.message ?? String(cause)}`, {
        cause,
      });
    }
    if (body.length === 0 || body.length > this.limits.maxFrameBytes) {
      throw new EncodeError(
        `Encoded frame is ${body.length} bytes; frames must be 1 to ${this.limits.maxFrameBytes} bytes`,
      );
    }
    const size = body.length + LENGTH_PREFIX_BYTES;
    const buffered = this.bufferedBytes;
    if (buffered + size > this.limits.maxBufferedBytes) {
      throw new SendBufferFullError(
        `Send queue full: ${buffered} bytes queued, the frame needs ${size}, the cap is ${this.limits.maxBufferedBytes}`,
        { bufferedBytes: buffered, limit: this.limits.maxBufferedBytes },
      );
    }
    if (this.queued) this.queued.push(body);
    else this.queued = [body];
    this.queuedBodyBytes += body.length;
    this.sentFrames++;
    this.lastFrameBytes = size;
    if (!this.inFlight && !this.flushScheduled) {
      this.flushScheduled = true;
      this.scheduleFlush(() => this.flush());
    }
    if (buffered + size >= this.limits.highWaterMark) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  close(reason?: string): void {
    if (this.closed) return;
    this.closing = { reason };
    if (!this.inFlight && !this.flushScheduled) this.flush();
  }

  writeReport(): WriteReport {
    this.settleConfirmed();
    const unconfirmedBytes = this.bufferedBytes;
    const unconfirmedFrames = (this.queued?.length ?? 0) + (this.unconfirmedEnds?.length ?? 0);
    let lastFrame: WriteState;
    if (this.sentFrames === 0) lastFrame = 'none';
    else if (this.queued) lastFrame = 'not-started';
    else if (this.confirmed >= this.handed) lastFrame = 'whole';
    else if (this.handed - this.lastFrameBytes >= this.reachable) lastFrame = 'not-started';
    else lastFrame = 'partial';
    const framesLeft = this.handedFrames - this.undeliveredFrames;
    return { lastFrame, unconfirmedFrames, unconfirmedBytes, framesLeft };
  }

  /**
   * The transport lost the connection; the writer accepts nothing more. Exact transports (memory,
   * or a socket that refused a write outright) pass `undelivered`, how many handed bytes are known
   * not to have reached the peer: the bytes before them count as confirmed, the frames after them
   * as never started (and above `framesLeft`). Otherwise whatever was handed but unconfirmed stays
   * `'partial'` and counts as possibly received.
   */
  fail(undelivered?: number): void {
    if (this.dead) return;
    if (undelivered !== undefined) {
      this.reachable = this.handed - Math.min(undelivered, this.handed - this.confirmed);
      this.confirm(this.reachable);
      // The frames still unconfirmed end past `reachable`; all but the first start at or past it.
      // The first starts at the end of the last frame confirmed whole: it reached the peer in part
      // unless it starts exactly at `reachable`.
      const beyond = this.unconfirmedEnds?.length ?? 0;
      this.undeliveredFrames = beyond > 0 && this.lastConfirmedEnd < this.reachable ? beyond - 1 : beyond;
    }
    this.dead = true;
    this.inFlight = false;
    this.drains?.complete();
  }

  /** Releases queued bytes; called on teardown. */
  dispose(): void {
    this.dead = true;
    this.queued = undefined;
    this.queuedBodyBytes = 0;
    this.unconfirmedEnds = undefined;
    this.drains?.complete();
  }

  // A method, not an arrow field: an idle link holds no closure for it (send makes one per tick).
  private flush(): void {
    this.flushScheduled = false;
    if (this.dead || this.inFlight || this.ended) return;
    const bodies = this.queued;
    if (bodies) {
      const batch = joinFrames(bodies, this.queuedBodyBytes);
      const ends = (this.unconfirmedEnds ??= new Fifo<number>());
      for (const body of bodies) {
        this.handed += body.length + LENGTH_PREFIX_BYTES;
        ends.push(this.handed);
      }
      this.handedFrames += bodies.length;
      this.queued = undefined;
      this.queuedBodyBytes = 0;
      this.inFlight = true;
      const end = this.handed;
      this.sink.write(
        batch,
        () => this.written(end),
        (bytes) => this.fail(bytes),
      );
    }
    // The end follows the last batch at once, as a FIN follows the data; it does not wait for the
    // batch to be confirmed.
    if (this.closing && !this.ended) {
      this.ended = true;
      this.sink.end(this.closing.reason);
    }
  }

  private written(end: number): void {
    if (this.dead) return;
    this.inFlight = false;
    if (!this.sink.pendingBytes) this.confirm(end);
    if (this.queued || this.closing) this.flush();
    if (this.needDrain && this.bufferedBytes < this.limits.highWaterMark / 2) {
      this.needDrain = false;
      this.drains?.next();
    }
  }

  /** Marks the bytes up to `upTo` delivered; frames ending there or before are confirmed whole. */
  private confirm(upTo: number): void {
    if (upTo <= this.confirmed) return;
    this.confirmed = upTo;
    const ends = this.unconfirmedEnds;
    if (!ends) return;
    while ((ends.peek() ?? Infinity) <= upTo) this.lastConfirmedEnd = ends.shift()!;
    if (ends.length === 0) this.unconfirmedEnds = undefined;
  }

  /** For late-confirming sinks, derive `confirmed` from what the sink still holds. */
  private settleConfirmed(): void {
    if (this.sink.pendingBytes) this.confirm(this.handed - this.sink.pendingBytes());
  }

  private unconfirmedHandedBytes(): number {
    this.settleConfirmed();
    return this.handed - this.confirmed;
  }

  private queuedBytes(): number {
    return this.queuedBodyBytes + (this.queued?.length ?? 0) * LENGTH_PREFIX_BYTES;
  }
}
