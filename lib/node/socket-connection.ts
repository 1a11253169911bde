import type { Socket } from 'node:net';
import type { SchedulerLike, Subscriber } from 'rxjs';
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
  type WriterLimits,
  type WriterSettings,
} from '../transports/link-writer.js';
import { hostPort } from './address.js';
import type { ConnectionAccount } from './capacity.js';

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
  const { writer: writerSettings, account } = settings;
  const info: LinkInfo = {
    transport: 'tcp',
    local: hostPort(socket.localAddress, socket.localPort),
    remote: hostPort(socket.remoteAddress, socket.remotePort),
  };
  let finished = false;
  const writer = new LinkWriter<unknown>(
    writerSettings,
    {
      // `done` only when Node confirms the write: the frame then left this process whole.
      write: (batch, done, refused) => {
        socket.write(batch, (error) => {
          if (!error) done();
        });
        // Node marks the socket errored during `write` only when its first attempt failed (say,
        // ECONNRESET from a peer that already reset): not a byte of the batch reached the kernel.
        // A later failure may follow a partial write, so it stays unconfirmed.
        if (socket.errored) refused(batch.length);
      },
      end: () => {
        socket.end();
      },
      // Node calls back once the bytes are in the kernel, and reads the batch no more.
      releasesOnDone: true,
    },
    info,
  );
  const decoder = new LinkFrameDecoder<unknown>(
    writerSettings.codec,
    writerSettings.limits.maxFrameBytes,
    writer,
  );

  const deadline = new FrameDeadline(settings.frameTimeout, settings.scheduler, (held) =>
    fail(
      new FrameTimeoutError(
        `TCP connection ${info.local} <- ${info.remote}: a frame started at offset ${decoder.offset} was not whole after ${settings.frameTimeout} ms (${held} bytes arrived)`,
        { timeout: settings.frameTimeout, bufferedBytes: held, write: writer.writeReport() },
      ),
    ),
  );
  /** Releases everything once; true for the caller that got to end the connection. */
  const finish = (): boolean => {
    if (finished) return false;
    finished = true;
    deadline.stop();
    account?.hold(0);
    writer.dispose();
    decoder.dispose();
    socket.destroy();
    return true;
  };
  const fail = (error: ConnectionError | ProtocolError): void => {
    if (finish()) subscriber.error(error);
  };
  const complete = (): void => {
    if (finish()) subscriber.complete();
  };
  const inputEnded = (): void => {
    if (finished) return;
    const error = endOfInput(decoder, writer, 'tcp');
    if (error) fail(error);
    else complete();
  };

  // The listeners stay attached after the end: they are guarded by `finished`, and an 'error'
  // listener must exist for as long as the socket can emit one, or Node would throw it.
  socket.on('data', (chunk: Buffer) => {
    if (finished) return;
    const error = deliverBytes(decoder, chunk, subscriber);
    if (error) return fail(error);
    if (finished) return;
    const held = decoder.bufferedBytes;
    deadline.watch(decoder.offset, held);
    const refused = account?.hold(held, () => writer.writeReport());
    if (refused) fail(refused);
  });
  // The peer's FIN. With `allowHalfOpen` off, Node ends our side too; we are done either way.
  socket.on('end', inputEnded);
  // Closed without an 'end' or 'error' (destroyed from outside): judged like an end of input.
  socket.on('close', inputEnded);
  socket.on('error', (cause: NodeJS.ErrnoException) => {
    if (finished) return;
    const write = writer.writeReport();
    writer.fail();
    fail(
      new ConnectionResetError(`TCP connection ${info.local} -> ${info.remote} failed: ${cause.message}`, {
        phase: write.unconfirmedFrames > 0 ? 'write' : 'read',
        write,
        cause,
        ...(cause.code === undefined ? {} : { code: cause.code }),
      }),
    );
  });

  subscriber.add(finish);
  subscriber.next({ type: 'connected', link: writer });
  if (!finished) socket.resume();
  return { shutdown: complete };
}
