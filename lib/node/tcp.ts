import { connect as dial } from 'node:net';
import { Observable, type Subscription } from 'rxjs';
import { msgpackCodec, type Codec } from '../codec/codec.js';
import { DialError } from '../core/errors.js';
import type { LinkOptions, Transport, TransportEvent } from '../core/transport.js';
import { LINK_OPTIONS, resolveLimits } from '../transports/link-writer.js';
import {
  checkCodec,
  checkNonEmptyString,
  checkNumber,
  checkRequiredOptions,
  type KnownOptions,
  POSITIVE_DURATION,
} from '../internal/validate.js';
import { checkPort, hostPort } from './address.js';
import { FRAME_TIMEOUT_OPTIONS, resolveFrameTimeout, type FrameTimeoutOptions } from './capacity.js';
import { runSocket, socketWriterSettings } from './socket-connection.js';

/**
 * Options of {@link tcp}.
 *
 * @typeParam T - the frames this connection encodes and decodes (both directions share the codec).
 * @example
 * ```ts
 * import { msgpackCodec } from 'rx-lifeline';
 * import type { TcpOptions } from 'rx-lifeline/node';
 * const options: TcpOptions<{ n: number }> = {
 *   host: 'example.com',
 *   port: 7070,
 *   connectTimeout: 5_000,
 *   codec: msgpackCodec<{ n: number }>(),
 *   maxFrameBytes: 64 * 1024,
 * };
 * ```
 * @category Transports
 */
export interface TcpOptions<T = unknown> extends LinkOptions<T>, FrameTimeoutOptions {
  /**
   * The host to dial: a name or an IP address. A name is resolved again at each dial; lifeline
   * does not cache the result.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The port to dial, from 1 to 65535. Required: there is no default port, and a service name such
   * as `'http'` is not accepted.
   * @default none (required)
   */
  port: number;
  /**
   * Milliseconds to wait for the connection to be established; past it the dial fails with a
   * `DialError` whose `code` is `'ETIMEDOUT'`. `Infinity` leaves the dial to the operating system's
   * own limit (on Linux, about two minutes of unanswered SYNs). It bounds the dial only, not reads
   * or writes on the open connection (use `heartbeat` for those).
   * @default 30_000, as websocket's
   */
  connectTimeout?: number;
}

const OPTIONS: KnownOptions<TcpOptions> = {
  host: true,
  port: true,
  connectTimeout: true,
  ...LINK_OPTIONS,
  ...FRAME_TIMEOUT_OPTIONS,
};

/**
 * A TCP client {@link rx-lifeline!Transport} on `node:net`: each subscription dials, emits `connected` with a
 * {@link rx-lifeline!Link}, then a `frame` per inbound length-prefixed frame.
 *
 * It completes when the peer closes cleanly (or after `link.close()`, once the peer closed too: a
 * peer that has not ended its side 30 s after this side's end is dropped, with a
 * `ConnectionResetError` whose code is `ETIMEDOUT`, so it cannot hold the socket open). It errors
 * with `DialError` (with the system `code`: `ECONNREFUSED`, `ETIMEDOUT`, …) when the dial fails, `ConnectionResetError` when the established connection breaks (its `write` report says
 * which frames left whole), `PeerClosedError` when the peer closes inside a frame, and
 * `ProtocolError` / `FrameTooLargeError` when the peer sends bytes that are not valid frames, and
 * `FrameTimeoutError` when a frame the peer started is not whole within `frameTimeout`.
 * Unsubscribing destroys the socket at once; queued frames are dropped. Nagle's algorithm is off.
 * It does not reconnect: pipe it through `reconnectWith` for that.
 *
 * @typeParam In - inbound frame type. @typeParam Out - outbound frame type.
 * @throws TypeError when the options name no `port`, an option `tcp` does not know, or a value out
 * of range.
 * @example
 * ```ts
 * import { tcp } from 'rx-lifeline/node';
 * const subscription = tcp<string>({ host: '127.0.0.1', port: 7070, connectTimeout: 5_000 }).subscribe({
 *   next: (event) => {
 *     if (event.type === 'connected') event.link.send('hello');
 *     else console.log('received', event.frame);
 *   },
 *   error: (error: unknown) => console.error(error),
 * });
 * subscription.unsubscribe();
 * ```
 * @category Transports
 */
export function tcp<In = unknown, Out = In>(options: TcpOptions<In | Out>): Transport<In, Out> {
  checkRequiredOptions('tcp', options, OPTIONS, 'port', 'name the server, as { host, port } (or { port })');
  const { host = '127.0.0.1', port, connectTimeout = 30_000, codec = msgpackCodec() } = options;
  checkPort('tcp', port, 1);
  checkCodec('tcp', codec);
  checkNonEmptyString('tcp', 'host', host);
  if (connectTimeout !== Infinity) checkNumber('tcp', 'connectTimeout', connectTimeout, POSITIVE_DURATION);
  const settings = {
    writer: socketWriterSettings(codec as Codec<unknown>, resolveLimits('tcp', options)),
    ...resolveFrameTimeout('tcp', options),
  };
  const target = hostPort(host, port);

  const transport = new Observable<TransportEvent<unknown, unknown>>((subscriber) => {
    const socket = dial({ host, port });
    let timer: Subscription | undefined;
    const stopTimer = (): void => {
      timer?.unsubscribe();
      timer = undefined;
    };
    const dialFailed = (cause: NodeJS.ErrnoException): void => {
      stopTimer();
      socket.destroy();
      subscriber.error(
        new DialError(`Could not connect to ${target}: ${cause.message}`, {
          cause,
          ...(cause.code === undefined ? {} : { code: cause.code }),
        }),
      );
    };
    socket.once('error', dialFailed);
    socket.once('connect', () => {
      stopTimer();
      socket.removeListener('error', dialFailed);
      socket.setNoDelay(true);
      runSocket(socket, subscriber, settings);
    });
    if (connectTimeout !== Infinity) {
      timer = settings.scheduler.schedule(() => {
        timer = undefined;
        socket.removeListener('error', dialFailed);
        // Destroying a connecting socket emits no error, but keep a listener in case one is queued.
        socket.on('error', () => undefined);
        socket.destroy();
        subscriber.error(
          new DialError(`Could not connect to ${target}: no connection after ${connectTimeout} ms`, {
            code: 'ETIMEDOUT',
          }),
        );
      }, connectTimeout);
    }
    return () => {
      stopTimer();
      socket.destroy();
    };
  });
  return transport as Observable<TransportEvent<In, Out>>;
}
