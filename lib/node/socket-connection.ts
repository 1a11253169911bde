import type { Socket } from 'node:net';
import type { SchedulerLike, Subscriber, Subscription } from 'rxjs';
import type { Codec } from '../codec/codec.js';
import {
  ConnectionResetError,
  FrameTimeoutError,
  type ConnectionError,
  type ProtocolError,
} from '../core/errors.js';
import type { LinkInfo, TransportEvent } from '../core/transport.js';
import { deliverBytes, endOfInput, FrameDeadline, LinkFrameDecoder } from '../transports/inbound.js';
import {
  LinkWriter,
  writerSettings,
  type ByteSink,
  type WriterLimits,
  type WriterSettings,
} from '../transports/link-writer.js';
import { hostPort } from './address.js';
import { CLOSE_TIMEOUT, type ConnectionAccount } from './capacity.js';

/** What a TCP connection needs besides its socket. @internal */
export interface SocketSettings {
  /** The codec, limits and flush of every link: see {@link socketWriterSettings}. */
  readonly writer: WriterSettings<unknown>;
  /** Milliseconds a started frame may take to arrive whole (`Infinity`: no deadline). */
  readonly frameTimeout: number;
  readonly scheduler: SchedulerLike;
  /** The connection's share of its server's capacity (a server's sockets only). */
  readonly account?: ConnectionAccount | undefined;
}

/** The settings of a TCP transport's links: flushed in a microtask. @internal */
export function socketWriterSettings(codec: Codec<unknown>, limits: WriterLimits): WriterSettings<unknown> {
  return writerSettings(codec, limits, queueMicrotask);
}

/** Control over a running connection, for its server. @internal */
export interface ConnectionHandle {
  /** Ends the connection from this side: the subscriber completes and the socket is closed. */
  shutdown(): void;
}

/**
 * Runs one connected TCP socket for one subscriber: emits `connected` with a {@link LinkWriter} on
 * the socket, then a `frame` per inbound frame, and turns every way the socket can end into exactly
 * one completion or typed error. The client (after its dial) and the server (per accepted socket)
 * both use it, so the two ends of a TCP connection behave alike.
 *
 * The teardown is added to `subscriber` before `connected` is emitted, so a subscriber that
 * unsubscribes inside `next(connected)` destroys the socket at once. Reading starts (`resume`)
 * only after `connected` was delivered: a server's sockets are accepted paused.
 * @internal
 */
export function runSocket(
  socket: Socket,
  subscriber: Subscriber<TransportEvent<unknown, unknown>>,
  settings: SocketSettings,
): ConnectionHandle {
  return new RunningSocket(socket, subscriber, settings).start();
}

/**
 * One connected TCP socket and its subscriber: the sink of its writer, its frame decoder and
 * deadline, and the one way it ends. The socket's listeners stay attached after the end: they are
 * guarded by `finished`, and an 'error' listener must exist for as long as the socket can emit
 * one, or Node would throw it.
 */
class RunningSocket implements ByteSink, ConnectionHandle {
  // Node calls back once the bytes are in the kernel, and reads the batch no more.
  readonly releasesOnDone = true;
  readonly #info: LinkInfo;
  readonly #writer: LinkWriter<unknown>;
  readonly #decoder: LinkFrameDecoder<unknown>;
  readonly #deadline: FrameDeadline;
  /** After this side's end: the peer's end is awaited this long at most. */
  #closeTimer: Subscription | undefined;
  #finished = false;
  readonly #socket: Socket;
  readonly #subscriber: Subscriber<TransportEvent<unknown, unknown>>;
  readonly #settings: SocketSettings;

  constructor(
    socket: Socket,
    subscriber: Subscriber<TransportEvent<unknown, unknown>>,
    settings: SocketSettings,
  ) {
    this.#socket = socket;
    this.#subscriber = subscriber;
    this.#settings = settings;
    const { writer: writerSettings } = settings;
    this.#info = {
      transport: 'tcp',
      local: hostPort(socket.localAddress, socket.localPort),
      remote: hostPort(socket.remoteAddress, socket.remotePort),
    };
    this.#writer = new LinkWriter<unknown>(writerSettings, this, this.#info);
    this.#decoder = new LinkFrameDecoder<unknown>(
      writerSettings.codec,
      writerSettings.limits.maxFrameBytes,
      this.#writer,
    );
    this.#deadline = new FrameDeadline(settings.frameTimeout, settings.scheduler, (held) =>
      this.#frameLate(held),
    );
  }

  /**
   * Listens to the socket, emits `connected` (after adding the teardown, so that a subscriber that
   * unsubscribes inside `next(connected)` destroys the socket at once) and starts reading.
   */
  start(): ConnectionHandle {
    const socket = this.#socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // The peer's FIN. With `allowHalfOpen` off, Node ends our side too; we are done either way.
    socket.on('end', () => this.#inputEnded());
    // Closed without an 'end' or 'error' (destroyed from outside): judged like an end of input.
    socket.on('close', () => this.#inputEnded());
    socket.on('error', (cause: NodeJS.ErrnoException) => this.#onError(cause));
    this.#subscriber.add(() => this.#finish());
    this.#subscriber.next({ type: 'connected', link: this.#writer });
    if (!this.#finished) socket.resume();
    return this;
  }

  /** The writer's sink: `done` only when Node confirms the write, the frame then left this process whole. */
  write(batch: Uint8Array, done: () => void, refused: (bytes: number) => void): void {
    const socket = this.#socket;
    socket.write(batch, (error) => {
      if (!error) done();
    });
    // Node marks the socket errored during `write` only when its first attempt failed (say,
    // ECONNRESET from a peer that already reset): not a byte of the batch reached the kernel.
    // A later failure may follow a partial write, so it stays unconfirmed.
    if (socket.errored) refused(batch.length);
  }

  /**
   * Ends this side; the connection ends when the peer ends its side too. A peer that never does
   * (its half left open, or gone without a word) is dropped after {@link CLOSE_TIMEOUT}: it would
   * hold the socket, and a server's place, for good.
   */
  end(): void {
    this.#socket.end();
    this.#closeTimer ??= this.#settings.scheduler.schedule(() => this.#closeLate(), CLOSE_TIMEOUT);
  }

  /** Ends the connection from this side. */
  shutdown(): void {
    if (this.#finish()) this.#subscriber.complete();
  }

  #onData(chunk: Buffer): void {
    if (this.#finished) return;
    const decoder = this.#decoder;
    const error = deliverBytes(decoder, chunk, this.#subscriber);
    if (error) return this.#fail(error);
    if (this.#finished) return;
    const held = decoder.bufferedBytes;
    this.#deadline.watch(decoder.offset, held);
    const refused = this.#settings.account?.hold(held, () => this.#writer.writeReport());
    if (refused) this.#fail(refused);
  }

  #inputEnded(): void {
    if (this.#finished) return;
    const error = endOfInput(this.#decoder, this.#writer, 'tcp');
    if (error) this.#fail(error);
    else this.shutdown();
  }

  #onError(cause: NodeJS.ErrnoException): void {
    if (this.#finished) return;
    const write = this.#writer.writeReport();
    this.#writer.fail();
    const { local, remote } = this.#info;
    this.#fail(
      new ConnectionResetError(`TCP connection ${local} -> ${remote} failed: ${cause.message}`, {
        phase: write.unconfirmedFrames > 0 ? 'write' : 'read',
        write,
        cause,
        ...(cause.code === undefined ? {} : { code: cause.code }),
      }),
    );
  }

  #frameLate(held: number): void {
    const { frameTimeout } = this.#settings;
    const { local, remote } = this.#info;
    this.#fail(
      new FrameTimeoutError(
        `TCP connection ${local} <- ${remote}: a frame started at offset ${this.#decoder.offset} was not whole after ${frameTimeout} ms (${held} bytes arrived)`,
        { timeout: frameTimeout, bufferedBytes: held, write: this.#writer.writeReport() },
      ),
    );
  }

  #closeLate(): void {
    const { local, remote } = this.#info;
    this.#fail(
      new ConnectionResetError(
        `TCP connection ${local} -> ${remote}: the peer did not end its side within ${CLOSE_TIMEOUT} ms of this side's end, so it was dropped`,
        { phase: 'read', code: 'ETIMEDOUT', write: this.#writer.writeReport() },
      ),
    );
  }

  #fail(error: ConnectionError | ProtocolError): void {
    if (this.#finish()) this.#subscriber.error(error);
  }

  /** Releases everything once; true for the caller that got to end the connection. */
  #finish(): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    this.#deadline.stop();
    this.#closeTimer?.unsubscribe();
    this.#settings.account?.hold(0);
    this.#writer.dispose();
    this.#decoder.dispose();
    this.#socket.destroy();
    return true;
  }
}
