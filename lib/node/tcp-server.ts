import { createServer, type Socket } from 'node:net';
import { Observable, type Subscriber } from 'rxjs';
import { msgpackCodec, type Codec } from '../codec/codec.js';
import type { LinkOptions, ServerEvent, TransportEvent } from '../core/transport.js';
import { LINK_OPTIONS, resolveLimits } from '../transports/link-writer.js';
import {
  checkCodec,
  checkKnownOptions,
  checkNonEmptyString,
  type KnownOptions,
} from '../internal/validate.js';
import { AcceptedConnections, AcceptedSocket } from './accepted.js';
import { checkPort, hostPort } from './address.js';
import {
  resolveFrameTimeout,
  resolveServerLimits,
  SERVER_LIMIT_OPTIONS,
  ServerCapacity,
  type ServerLimitOptions,
} from './capacity.js';
import { listen } from './listen.js';
import {
  runSocket,
  socketWriterSettings,
  type ConnectionHandle,
  type SocketSettings,
} from './socket-connection.js';

/**
 * Options of {@link tcpServer}. The link options, the frame deadline and the limits apply to every
 * accepted connection.
 *
 * @typeParam T - the frames the connections encode and decode (both directions share the codec).
 * @example
 * ```ts
 * import type { TcpServerOptions } from 'rx-lifeline/node';
 * const options: TcpServerOptions = {
 *   host: '0.0.0.0',
 *   port: 7070,
 *   maxConnections: 1_000,
 *   maxFrameBytes: 1024 * 1024,
 *   frameTimeout: 10_000,
 * };
 * ```
 * @category Transports
 */
export interface TcpServerOptions<T = unknown> extends LinkOptions<T>, ServerLimitOptions {
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
}

const OPTIONS: KnownOptions<TcpServerOptions> = {
  host: true,
  port: true,
  ...LINK_OPTIONS,
  ...SERVER_LIMIT_OPTIONS,
};

/**
 * A TCP server on `node:net`: subscribing listens and emits `listening` (with the real port), then
 * a `connection` event per accepted socket.
 *
 * Each `connection` is a {@link rx-lifeline!Transport} that is already dialled: subscribe to it once to get
 * `connected` and the frames, with the same completions and errors as {@link tcp}; the socket is
 * not read until then, so the peer's writes wait in the kernel's buffers (back-pressure, not loss).
 * Unsubscribing the server closes the listener and every accepted socket; subscribed connections
 * complete.
 *
 * The server errors only when it cannot listen (`ListenError`: `EADDRINUSE`, …). A connection's
 * failure reaches that connection's subscriber and nothing else: subscribe with an `error`
 * handler, or RxJS reports the error as unhandled, which ends a Node process. A connection over
 * `maxConnections` or `maxPendingFrameBytes` is refused with a `refused` event; a failure no
 * subscriber could receive is a `connection-error` event.
 *
 * @typeParam In - frames the clients send. @typeParam Out - frames the server sends.
 * @example
 * ```ts
 * import { tcpServer } from 'rx-lifeline/node';
 * const server = tcpServer<string>({ port: 7070 }).subscribe({
 *   next: (event) => {
 *     if (event.type === 'listening') console.log('listening on', event.address);
 *     else if (event.type === 'connection')
 *       event.connection.subscribe({
 *         next: (e) => {
 *           if (e.type === 'connected') e.link.send('welcome');
 *           else console.log('received', e.frame);
 *         },
 *         error: (error: unknown) => console.warn(event.remote, 'failed:', error),
 *       });
 *     else if (event.type === 'refused') console.warn('refused', event.remote, event.reason);
 *     else console.warn('connection error', event.remote, event.error);
 *   },
 *   error: (error: unknown) => console.error('cannot listen:', error),
 * });
 * server.unsubscribe();
 * ```
 * @category Transports
 */
export function tcpServer<In = unknown, Out = In>(
  options: TcpServerOptions<In | Out> = {},
): Observable<ServerEvent<In, Out>> {
  checkKnownOptions('tcpServer', options, OPTIONS);
  const { host = '127.0.0.1', port = 0, codec = msgpackCodec() } = options;
  checkPort('tcpServer', port, 0);
  checkCodec('tcpServer', codec);
  checkNonEmptyString('tcpServer', 'host', host);
  const limits = resolveLimits('tcpServer', options);
  const serverLimits = resolveServerLimits('tcpServer', options, limits.maxFrameBytes);
  const settings = {
    writer: socketWriterSettings(codec as Codec<unknown>, limits),
    ...resolveFrameTimeout('tcpServer', options),
  };
  return new Observable<ServerEvent<In, Out>>((subscriber) => {
    const capacity = new ServerCapacity(serverLimits, (event) => subscriber.next(event));
    const connections = new AcceptedConnections((remote, error) =>
      subscriber.next({ type: 'connection-error', remote, error }),
    );
    // Accepted sockets stay paused until their connection is subscribed.
    const server = createServer({ pauseOnConnect: true, noDelay: true });
    server.on('connection', (socket) => {
      if (subscriber.closed) {
        socket.destroy();
        return;
      }
      const remote = hostPort(socket.remoteAddress, socket.remotePort);
      if (!capacity.admit(remote)) {
        // A reset, not a FIN: the client's transport fails (transient) instead of completing.
        socket.on('error', () => undefined);
        socket.resetAndDestroy();
        return;
      }
      const accepted = new AcceptedTcpSocket(capacity, connections, remote, socket, settings);
      const connection = connections.accept<In, Out>(socket, accepted);
      subscriber.next({ type: 'connection', connection, remote });
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
      acceptFailed: (error) => subscriber.next({ type: 'connection-error', remote: '?', error }),
    });
    return () => {
      stop();
      connections.shutdownAll();
    };
  });
}

/** An accepted TCP socket: run by {@link runSocket} once subscribed. */
class AcceptedTcpSocket extends AcceptedSocket {
  private run: ConnectionHandle | undefined;

  constructor(
    capacity: ServerCapacity,
    connections: AcceptedConnections,
    readonly remote: string,
    private readonly socket: Socket,
    private readonly settings: Omit<SocketSettings, 'account'>,
  ) {
    super(capacity, connections);
  }

  get transport(): string {
    return 'tcp';
  }

  start(subscriber: Subscriber<TransportEvent<unknown, unknown>>): void {
    this.run = runSocket(this.socket, subscriber, { ...this.settings, account: this });
  }

  shutdown(): void {
    this.run?.shutdown();
  }

  discard(): void {
    this.socket.destroy();
  }
}
