import type { SchedulerLike, Subscriber, Subscription } from 'rxjs';
import type { Codec } from '../codec/codec.js';
import { FrameDecoder, FrameReader, type WriteReporter } from '../codec/framing.js';
import { PeerClosedError, ProtocolError, UNKNOWN_WRITE, type ConnectionError } from '../core/errors.js';
import type { TransportEvent } from '../core/transport.js';
import type { LinkWriter } from './link-writer.js';

/**
 * Feeds inbound bytes to a connection's decoder and its subscriber. Returns the error that ended
 * the connection, or undefined. Shared by every byte-stream transport.
 *
 * Whatever throws during delivery fails this connection only: a subscriber that throws from `next`
 * (RxJS normally reports that asynchronously, but a hand-made `Subscriber` throws straight back)
 * becomes a {@link ProtocolError} with the thrown value as `cause`, instead of an exception in the
 * socket's event handler that would end the process.
 * @internal
 */
export function deliverBytes<In, Out>(
  decoder: FrameReader<In>,
  chunk: Uint8Array,
  subscriber: Subscriber<TransportEvent<In, Out>>,
): ProtocolError | undefined {
  try {
    decoder.push(chunk, (frame) => subscriber.next({ type: 'frame', frame }));
    return undefined;
  } catch (error) {
    if (ProtocolError.is(error)) return error;
    // The decoder is spent: the bytes after the frame being delivered were not read.
    return new ProtocolError(
      `A frame's subscriber threw before offset ${decoder.offset}; the connection cannot go on`,
      { offset: decoder.offset, cause: error },
    );
  }
}

/**
 * The peer closed its side. A stream that stopped inside a frame is a {@link PeerClosedError}
 * (a cut, worth retrying), not a protocol error; a clean end returns undefined.
 * @internal
 */
export function endOfInput<In>(
  decoder: FrameDecoder<In>,
  writer: LinkWriter<unknown> | undefined,
  transport: string,
): ConnectionError | undefined {
  try {
    decoder.end('close');
    return undefined;
  } catch (cause) {
    if (!ProtocolError.is(cause)) throw cause;
    return new PeerClosedError(`The ${transport} peer closed the connection inside a frame`, {
      cause,
      write: writer?.writeReport(),
    });
  }
}

/**
 * The deadline for finishing a frame once its first byte arrived. After each read the connection
 * calls {@link FrameDeadline.watch} with where the unfinished frame starts and how many of its
 * bytes are held: the timer starts with a frame, keeps running while that frame stays unfinished,
 * starts again for the next one, and stops when nothing is held. `expired` runs once, on the
 * scheduler, when a frame is still unfinished `timeout` ms after its first byte.
 * @internal
 */
export class FrameDeadline {
  #timer: Subscription | undefined;
  #frameStart = -1;
  #held = 0;

  readonly #timeout: number;
  readonly #scheduler: SchedulerLike;
  readonly #expired: (held: number) => void;

  constructor(timeout: number, scheduler: SchedulerLike, expired: (held: number) => void) {
    this.#timeout = timeout;
    this.#scheduler = scheduler;
    this.#expired = expired;
  }

  /** `held` bytes of the unfinished frame that starts at stream position `start` (0: none). */
  watch(start: number, held: number): void {
    this.#held = held;
    if (held === 0) return this.stop();
    if (this.#timer !== undefined && start === this.#frameStart) return;
    this.stop();
    if (this.#timeout === Infinity) return;
    this.#frameStart = start;
    this.#timer = this.#scheduler.schedule(() => {
      this.#timer = undefined;
      this.#expired(this.#held);
    }, this.#timeout);
  }

  stop(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
  }
}

export type { WriteReporter };

/**
 * A connection's decoder, whose errors carry its link's write report: it holds the link itself,
 * not a closure over it (one object less for each open connection).
 * @internal
 */
export class LinkFrameDecoder<T> extends FrameDecoder<T> {
  constructor(codec: Codec<T>, maxFrameBytes: number, link: WriteReporter) {
    super({ codec, maxFrameBytes });
    this.lendTo(link, 0);
  }
}

/**
 * The decoder of connections whose messages each hold whole frames (a WebSocket's): a
 * {@link FrameReader}, which fails a message that ends inside a frame and between two messages holds
 * nothing but its stream offset, which the connection keeps, so the connections of one server (or
 * client) share one, lent to one message at a time. A message
 * decoded while another is (a frame's subscriber that makes another connection read) gets a
 * decoder of its own, and a decoder that failed or was disposed is not taken back.
 * @internal
 */
export class MessageDecoders<T> {
  #spare: FrameReader<T> | undefined;
  readonly #codec: Codec<T>;
  readonly #maxFrameBytes: number;

  constructor(codec: Codec<T>, maxFrameBytes: number) {
    this.#codec = codec;
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** A decoder for one message of the connection of `link`, whose stream is at `offset`. */
  lend(link: WriteReporter, offset: number): FrameReader<T> {
    const decoder = this.#spare ?? new FrameReader(this.#codec, this.#maxFrameBytes, link);
    this.#spare = undefined;
    decoder.lendTo(link, offset);
    return decoder;
  }

  /** Takes `decoder` back once its message is read, unless it is spent (a message that ended inside a frame spends it). */
  giveBack(decoder: FrameReader<T>): void {
    if (decoder.spent) return;
    decoder.lendTo(UNLENT, 0); // it keeps no connection's link alive
    this.#spare = decoder;
  }
}

/** The link of a decoder not lent to any connection. */
const UNLENT: WriteReporter = { writeReport: () => UNKNOWN_WRITE };
