import { createServer } from 'node:net';
import { Observable } from 'rxjs';
import { msgpackCodec, type Codec } from '../codec/codec.js';
import type { LinkOptions, ServerEvent } from '../core/transport.js';
import { resolveLimits } from '../internal/link-writer.js';
import { AcceptedConnections } from './accepted.js';
import { checkPort, hostPort } from './address.js';
import { listen } from './listen.js';
import { runSocket } from './socket-connection.js';

/**
 * Options of {@link tcpServer}. The link options apply to every accepted connection.
 *
 * @typeParam T - the frames the connections encode and decode (both directions share the codec).
 * @example
 * ```ts
 * import type { TcpServerOptions } from 'rx-lifeline/node';
 * const options: TcpServerOptions = { host: '0.0.0.0', port: 7070, maxConnections: 1_000, maxFrameBytes: 1024 * 1024 };
 * ```
 * @category Transports
 */
export interface TcpServerOptions<T = unknown> extends LinkOptions<T> {
  /**
   * The address to listen on. `'0.0.0.0'` or `'::'` accept connections from other hosts; the
   * default accepts only local ones. It does not filter clients by address.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The port to listen on; 0 lets the system choose one, reported by the `listening` event. With
   * 0, each subscription gets a new port: it is not kept across resubscriptions.
   * @default 0
   */
  port?: number;
  /**
   * The most connections open at once; further ones are closed by Node as soon as they are accepted,
   * without a `connection` event. It does not limit connections over time, only concurrent ones.
   * @default undefined (no limit)
   */
  maxConnections?: number;
}

/**
 * A TCP server on `node:net`: subscribing listens and emits `listening` (with the real port), then
 * a `connection` event per accepted socket.
 *
 * Each `connection` is a {@link rx-lifeline!Transport} that is already dialled: subscribe to it once to get
 * `connected` and the frames, with the same completions and errors as {@link tcp}; the socket is
 * not read until then, so the peer's writes wait in the kernel's buffers (back-pressure, not loss).
 * Unsubscribing the server closes the listener and every accepted socket; subscribed connections
 * complete. A bind failure (`EADDRINUSE`, …) errors the server with a `ListenError`. Errors of one
 * connection never reach the server or other connections.
 *
 * @typeParam In - frames the clients send. @typeParam Out - frames the server sends.
 * @example
 * ```ts
 * import { tcpServer } from 'rx-lifeline/node';
 * const server = tcpServer<string>({ port: 7070 }).subscribe((event) => {
 *   if (event.type === 'listening') console.log('listening on', event.address);
 *   else
 *     event.connection.subscribe((e) => {
 *       if (e.type === 'connected') e.link.send('welcome');
 *       else console.log('received', e.frame);
 *     });
 * });
 * server.unsubscribe();
 * ```
 * @category Transports
 */
export function tcpServer<In = unknown, Out = In>(
  options: TcpServerOptions<In | Out> = {},
): Observable<ServerEvent<In, Out>> {
  const { host = '127.0.0.1', port = 0, maxConnections, codec = msgpackCodec() } = options;
  checkPort(port, 0);
  if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && maxConnections >= 1)) {
    throw new TypeError(`maxConnections must be a positive integer, got ${String(maxConnections)}`);
  }
  const settings = { codec: codec as Codec<unknown>, limits: resolveLimits(options) };

  return new Observable<ServerEvent<In, Out>>((subscriber) => {
    const connections = new AcceptedConnections();
    // Accepted sockets stay paused until their connection is subscribed.
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    if (maxConnections !== undefined) server.maxConnections = maxConnections;
    server.on('connection', (socket) => {
      if (subscriber.closed) {
        socket.destroy();
        return;
      }
      const connection = connections.accept<In, Out>(
        socket,
        { start: (events) => runSocket(socket, events, settings), discard: () => socket.destroy() },
        'tcp',
      );
      subscriber.next({
        type: 'connection',
        connection,
        remote: hostPort(socket.remoteAddress, socket.remotePort),
      });
    });
    const stop = listen(server, host, port, {
      listening: (bound) =>
        subscriber.next({
          type: 'listening',
          host: bound.address,
          port: bound.port,
          address: hostPort(bound.address, bound.port),
        }),
      failed: (error) => subscriber.error(error),
    });
    return () => {
      stop();
      connections.shutdownAll();
    };
  });
}
