import { describeError } from '../internal/describe-value.js';
import type { Observable } from 'rxjs';
import { Subject } from 'rxjs';
import { directEncoderOf, type Codec, type DirectEncoder } from '../codec/codec.js';
import {
  checkMaxFrameBytes,
  DEFAULT_MAX_FRAME_BYTES,
  encodeBody,
  LENGTH_PREFIX_BYTES,
  writeLengthPrefix,
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
import { checkNumber, COUNT, type KnownOptions, POSITIVE_INTEGER } from '../internal/validate.js';
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
  /**
   * True when the sink reads a batch no more once it called `done()` (Node's socket and `ws` call
   * back after the bytes left the process): the writer then reuses the batch's buffer. Omitted
   * when `done` may come before the batch is read (an in-memory pipe delivers it after).
   */
  readonly releasesOnDone?: boolean;
}

/** The resolved limits of a writer. @internal */
export interface WriterLimits {
  maxFrameBytes: number;
  highWaterMark: number;
  maxBufferedBytes: number;
}

/**
 * Resolves and validates the writer limits of a transport's options; `where` names the transport
 * in messages. @internal
 */
export function resolveLimits(where: string, options: Omit<LinkOptions<never>, 'codec'>): WriterLimits {
  const maxFrameBytes = checkMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES, where);
  const framed = maxFrameBytes + LENGTH_PREFIX_BYTES;
  const { highWaterMark = Math.min(1024 * 1024, framed), maxBufferedBytes = maxFrameBytes + framed } =
    options;
  checkNumber(where, 'highWaterMark', highWaterMark, POSITIVE_INTEGER);
  // One frame of the largest size must fit, with its length prefix.
  checkNumber(where, 'maxBufferedBytes', maxBufferedBytes, { ...COUNT, min: framed });
  if (highWaterMark > maxBufferedBytes) {
    throw new TypeError(
      `${where}: highWaterMark (${highWaterMark}) exceeds maxBufferedBytes (${maxBufferedBytes})`,
    );
  }
  return { maxFrameBytes, highWaterMark, maxBufferedBytes };
}

/** The smallest batch buffer: room for a few small frames. */
const MIN_BATCH_BYTES = 256;

/**
 * Batch buffers released by their sinks, for the next batch of any link: a busy link then writes
 * into the same memory again instead of allocating (and zeroing) a buffer per tick. At most
 * `MAX_SPARE_BATCHES` of up to `MAX_SPARE_BYTES` each; a link hands its sink only the bytes it
 * wrote, so what a buffer held before never leaves with it.
 */
const spareBatches: Uint8Array[] = [];
const MAX_SPARE_BATCHES = 2;
const MAX_SPARE_BYTES = 4 * 1024 * 1024;

/** A spare batch buffer of at least `bytes`, if there is one. */
function takeSpare(bytes: number): Uint8Array | undefined {
  for (let i = 0; i < spareBatches.length; i++) {
    const buffer = spareBatches[i]!;
    if (buffer.length < bytes) continue;
    spareBatches[i] = spareBatches[spareBatches.length - 1]!;
    spareBatches.pop();
    return buffer;
  }
  return undefined;
}

/** Keeps `buffer` for a later batch, in place of a smaller spare when they are full. */
function giveSpare(buffer: Uint8Array): void {
  if (buffer.length > MAX_SPARE_BYTES) return;
  if (spareBatches.length < MAX_SPARE_BATCHES) {
    spareBatches.push(buffer);
    return;
  }
  let smallest = 0;
  for (let i = 1; i < spareBatches.length; i++) {
    if (spareBatches[i]!.length < spareBatches[smallest]!.length) smallest = i;
  }
  if (spareBatches[smallest]!.length < buffer.length) spareBatches[smallest] = buffer;
}

const EMPTY = new Uint8Array(0);

/** Where a {@link LinkWriter} is: idle, a flush scheduled, a batch in flight, or dead (failed or disposed). */
const IDLE = 0;
const FLUSH_SCHEDULED = 1;
const IN_FLIGHT = 2;
const DEAD = 3;
type WriterState = typeof IDLE | typeof FLUSH_SCHEDULED | typeof IN_FLIGHT | typeof DEAD;

/**
 * What every link of one transport, or of one server's connections, shares: made once (see
 * {@link writerSettings}) rather than copied into each link.
 * @internal
 */
export interface WriterSettings<Out> {
  readonly codec: Codec<Out>;
  readonly limits: WriterLimits;
  /** Runs `flush` soon: a microtask for sockets, the scheduler for virtual transports. */
  readonly scheduleFlush: (flush: () => void) => void;
  /** The codec's writer straight into a batch, if it has one (msgpackCodec's simple values). */
  readonly encodeInto: DirectEncoder | undefined;
}

/** The settings of a transport's links: `scheduleFlush` is called unbound. @internal */
export function writerSettings<Out>(
  codec: Codec<Out>,
  limits: WriterLimits,
  scheduleFlush: (flush: () => void) => void,
): WriterSettings<Out> {
  return { codec, limits, scheduleFlush, encodeInto: directEncoderOf(codec) };
}

/**
 * The one implementation of {@link Link}: encodes frames, coalesces the frames sent in one tick
 * into a single write with one write in flight at a time, enforces the queue limits, and keeps the
 * byte accounting that makes {@link WriteReport} true rather than guessed.
 *
 * Batching: each frame is written, behind its length prefix, into the tick's batch buffer as it is
 * sent: straight from the codec when it has a {@link DirectEncoder} (msgpackCodec's simple values),
 * else copied from `encode`. A flush hands the filled part to the sink and lets the buffer go (an
 * idle link holds none); the next batch starts at the size of the last one (at most twice the
 * high-water mark: a batch ends soon after passing it), and grows by doubling.
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
  #drains: Subject<void> | undefined;
  /** The tick's batch: `#batchUsed` bytes of length-prefixed frames, one size per frame queued. */
  #batch: Uint8Array = EMPTY;
  #batchUsed = 0;
  /** One size per frame queued in the batch; `undefined` rather than empty (most links are idle). */
  #queued: number[] | undefined;
  /** The size to start the next batch at: the last batch's. */
  #batchHint = MIN_BATCH_BYTES;
  #handed = 0;
  /**
   * Bytes beyond this offset are known never to have reached the peer (set by `fail`). Undefined
   * until then rather than Infinity, which V8 would keep in a number object of its own per link.
   */
  #reachable: number | undefined;
  #confirmed = 0;
  #unconfirmedEnds: Fifo<number> | undefined;
  /** The end offset of the last frame confirmed whole: where the first unconfirmed frame starts. */
  #lastConfirmedEnd = 0;
  #sentFrames = 0;
  /** Frames handed to the sink: the first `handedFrames` of the connection, in order. */
  #handedFrames = 0;
  /** Handed frames known never to have reached the peer (set by `fail`): a tail of the handed. */
  #undeliveredFrames = 0;
  #lastFrameBytes = 0;
  /** Idle, a flush scheduled, a batch in flight, or dead: one field for what excludes each other. */
  #state: WriterState = IDLE;
  #needDrain = false;
  #closing: { reason: string | undefined } | undefined;
  /** The sink was told to end. */
  #ended = false;

  /** Shared by every link of its transport or server: see {@link writerSettings}. */
  readonly #settings: WriterSettings<Out>;
  readonly #sink: ByteSink;

  constructor(
    settings: WriterSettings<Out>,
    sink: ByteSink,
    readonly info: LinkInfo,
  ) {
    this.#settings = settings;
    this.#sink = sink;
  }

  get drain$(): Observable<void> {
    if (this.#drains === undefined) {
      this.#drains = new Subject<void>();
      if (this.#state === DEAD) this.#drains.complete();
    }
    return this.#drains.asObservable();
  }

  get closeRequested(): boolean {
    return this.#closing !== undefined;
  }

  get closed(): boolean {
    return this.#closing !== undefined || this.#state === DEAD;
  }

  get bufferedBytes(): number {
    // The queued frames, and those handed to the sink but not confirmed.
    this.#settleConfirmed();
    return this.#batchUsed + this.#handed - this.#confirmed;
  }

  get framesSent(): number {
    return this.#sentFrames;
  }

  send(frame: Out): boolean {
    if (this.closed) throw new LinkClosedError(`Cannot send: the ${this.info.transport} link is closed`);
    // Written after the queued frames; `#batchUsed` moves past it only once it is accepted.
    const bodyStart = this.#batchUsed + LENGTH_PREFIX_BYTES;
    const bodyEnd = this.#encodeAt(frame, bodyStart);
    const bodyLength = bodyEnd - bodyStart;
    const { maxFrameBytes, maxBufferedBytes, highWaterMark } = this.#settings.limits;
    if (bodyLength === 0 || bodyLength > maxFrameBytes) {
      throw new EncodeError(
        `Encoded frame is ${bodyLength} bytes; frames must be 1 to ${maxFrameBytes} bytes`,
      );
    }
    const size = bodyLength + LENGTH_PREFIX_BYTES;
    const buffered = this.bufferedBytes;
    if (buffered + size > maxBufferedBytes) {
      // The sender waits for drain$ (queued bytes go out, so it comes), below the mark or not.
      this.#needDrain = true;
      throw new SendBufferFullError(
        `Send queue full: ${buffered} bytes queued, the frame needs ${size}, the cap is ${maxBufferedBytes}`,
        { bufferedBytes: buffered, limit: maxBufferedBytes },
      );
    }
    writeLengthPrefix(this.#batch, this.#batchUsed, bodyLength);
    this.#batchUsed = bodyEnd;
    if (this.#queued) this.#queued.push(size);
    else this.#queued = [size];
    this.#sentFrames++;
    this.#lastFrameBytes = size;
    if (this.#state === IDLE) {
      this.#state = FLUSH_SCHEDULED;
      const { scheduleFlush } = this.#settings;
      scheduleFlush(() => this.#flush());
    }
    if (buffered + size >= highWaterMark) {
      this.#needDrain = true;
      return false;
    }
    return true;
  }

  close(reason?: string): void {
    if (this.closed) return;
    this.#closing = { reason };
    if (this.#state === IDLE) this.#flush();
  }

  writeReport(): WriteReport {
    this.#settleConfirmed();
    const unconfirmedBytes = this.bufferedBytes;
    const unconfirmedFrames = (this.#queued?.length ?? 0) + (this.#unconfirmedEnds?.length ?? 0);
    let lastFrame: WriteState;
    if (this.#sentFrames === 0) lastFrame = 'none';
    else if (this.#queued) lastFrame = 'not-started';
    else if (this.#confirmed >= this.#handed) lastFrame = 'whole';
    else if (this.#handed - this.#lastFrameBytes >= (this.#reachable ?? Infinity)) lastFrame = 'not-started';
    else lastFrame = 'partial';
    const framesLeft = this.#handedFrames - this.#undeliveredFrames;
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
    if (this.#state === DEAD) return;
    if (undelivered !== undefined) {
      const reachable = this.#handed - Math.min(undelivered, this.#handed - this.#confirmed);
      this.#reachable = reachable;
      this.#confirm(reachable);
      // The frames still unconfirmed end past `reachable`; all but the first start at or past it.
      // The first starts at the end of the last frame confirmed whole: it reached the peer in part
      // unless it starts exactly at `reachable`.
      const beyond = this.#unconfirmedEnds?.length ?? 0;
      this.#undeliveredFrames = beyond > 0 && this.#lastConfirmedEnd < reachable ? beyond - 1 : beyond;
    }
    this.#state = DEAD;
    this.#drains?.complete();
  }

  /** Releases queued bytes; called on teardown. */
  dispose(): void {
    this.#state = DEAD;
    this.#queued = undefined;
    this.#batch = EMPTY;
    this.#batchUsed = 0;
    this.#unconfirmedEnds = undefined;
    this.#drains?.complete();
  }

  // A method, not an arrow field: an idle link holds no closure for it (send makes one per tick).
  #flush(): void {
    // Nothing while a batch is in flight (its confirmation flushes again), or once dead or ended.
    if (this.#state > FLUSH_SCHEDULED || this.#ended) return;
    this.#state = IDLE;
    const sizes = this.#queued;
    if (sizes) {
      const ends = (this.#unconfirmedEnds ??= new Fifo<number>());
      const batch = this.#batch.subarray(0, this.#batchUsed);
      for (const size of sizes) {
        this.#handed += size;
        ends.push(this.#handed);
      }
      this.#handedFrames += sizes.length;
      this.#queued = undefined;
      // The sink owns the batch now (its buffer comes back at `done` from a sink that releases it):
      // the next frames go into another buffer.
      const buffer = this.#sink.releasesOnDone ? this.#batch : undefined;
      this.#batchHint = Math.min(
        Math.max(MIN_BATCH_BYTES, this.#batchUsed),
        2 * this.#settings.limits.highWaterMark,
      );
      this.#batch = EMPTY;
      this.#batchUsed = 0;
      this.#state = IN_FLIGHT;
      const end = this.#handed;
      this.#sink.write(
        batch,
        () => this.#written(end, buffer),
        (bytes) => this.fail(bytes),
      );
    }
    // The end follows the last batch at once, as a FIN follows the data; it does not wait for the
    // batch to be confirmed.
    if (this.#closing) {
      this.#ended = true;
      this.#sink.end(this.#closing.reason);
    }
  }

  #written(end: number, buffer: Uint8Array | undefined): void {
    if (buffer) giveSpare(buffer);
    if (this.#state === DEAD) return;
    this.#state = IDLE;
    if (!this.#sink.pendingBytes) this.#confirm(end);
    if (this.#queued || this.#closing) this.#flush();
    if (this.#needDrain && this.bufferedBytes < this.#settings.limits.highWaterMark / 2) {
      this.#needDrain = false;
      this.#drains?.next();
    }
  }

  /** Marks the bytes up to `upTo` delivered; frames ending there or before are confirmed whole. */
  #confirm(upTo: number): void {
    if (upTo <= this.#confirmed) return;
    this.#confirmed = upTo;
    const ends = this.#unconfirmedEnds;
    if (!ends) return;
    while ((ends.peek() ?? Infinity) <= upTo) this.#lastConfirmedEnd = ends.shift()!;
    if (ends.length === 0) this.#unconfirmedEnds = undefined;
  }

  /** For late-confirming sinks, derive `confirmed` from what the sink still holds. */
  #settleConfirmed(): void {
    if (this.#sink.pendingBytes) this.#confirm(this.#handed - this.#sink.pendingBytes());
  }

  /**
   * Writes `frame`'s encoding into the batch at `start`, growing the batch as needed (the queued
   * frames before `start` are kept); returns where it ends. Throws {@link EncodeError}.
   */
  #encodeAt(frame: Out, start: number): number {
    let body: Uint8Array;
    try {
      const direct = this.#settings.encodeInto;
      if (direct) {
        if (this.#batch.length === 0) this.#reserve(this.#batchHint);
        let end = direct(frame, this.#batch, start);
        if (end > this.#batch.length) {
          // Too large for the rest of the batch: once more in a larger one, unless it is too large
          // for a frame (then refused below, nothing allocated). A frame whose getters answer
          // differently the second time takes `encode`.
          if (end - start > this.#settings.limits.maxFrameBytes) return end;
          this.#reserve(end);
          const needed = end;
          end = direct(frame, this.#batch, start);
          if (end !== needed) end = -1;
        }
        if (end >= 0) return end;
      }
      body = encodeBody(this.#settings.codec, frame);
    } catch (cause) {
      throw new EncodeError(`Frame could not be encoded: ${describeError(cause)}`, {
        cause,
      });
    }
    if (body.length > 0 && body.length <= this.#settings.limits.maxFrameBytes) {
      this.#reserve(start + body.length);
      this.#batch.set(body, start);
    }
    return start + body.length;
  }

  /** Makes the batch at least `bytes` long, keeping the queued frames. */
  #reserve(bytes: number): void {
    const old = this.#batch;
    if (bytes <= old.length) return;
    const grown = takeSpare(bytes) ?? new Uint8Array(Math.max(bytes, 2 * old.length, this.#batchHint));
    grown.set(old.subarray(0, this.#batchUsed));
    this.#batch = grown;
    if (old !== EMPTY) giveSpare(old);
  }
}
