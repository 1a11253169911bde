import { createServer, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Observable, type SchedulerLike } from 'rxjs';
import { WebSocketServer } from 'ws';
import { msgpackCodec, type Codec } from '../codec/codec.js';
import type { LinkOptions, ServerEvent } from '../core/transport.js';
import { LINK_OPTIONS, resolveLimits } from '../transports/link-writer.js';
import { checkKnownOptions, type KnownOptions } from '../internal/validate.js';
import { FrameTimeoutError, type LifelineError } from '../core/errors.js';
import { FrameDeadline } from '../transports/inbound.js';
import { maxMessageBytes, runWebSocket } from '../transports/websocket-connection.js';
import { AcceptedConnections } from './accepted.js';
import { checkPort, hostPort } from './address.js';
import {
  resolveFrameTimeout,
  resolveServerLimits,
  SERVER_LIMIT_OPTIONS,
  ServerCapacity,
  type ConnectionAccount,
  type ServerLimitOptions,
} from './capacity.js';
import { listen } from './listen.js';
import { WebSocketMeter } from './websocket-meter.js';

/** The close code and reason sent to every open connection when the server is unsubscribed. */
const GOING_AWAY = 1001;
const GOING_AWAY_REASON = 'server shutting down';
/** RFC 6455 close codes for a refusal under load (try again later) and a frame past its deadline. */
const TRY_AGAIN_LATER = 1013;
const POLICY_VIOLATION = 1008;

/**
 * Options of {@link websocketServer}. The link options apply to every accepted connection.
 *
 * @typeParam T - the frames the connections encode and decode (both directions share the codec).
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import type { WebSocketServerOptions } from 'rx-lifeline/node';
 * const onItsOwnPort: WebSocketServerOptions = { host: '0.0.0.0', port: 8080, path: '/live' };
 * const besideAnApp: WebSocketServerOptions = { server: createServer(), path: '/live' };
 * ```
 * @category Transports
 */
export interface WebSocketServerOptions<T = unknown> extends LinkOptions<T>, ServerLimitOptions {
  /**
   * The address to listen on. Ignored when `server` is given.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The port to listen on; 0 lets the system choose one, reported by the `listening` event.
   * Ignored when `server` is given.
   * @default 0
   */
  port?: number;
  /**
   * An HTTP(S) server to accept WebSocket upgrades on, instead of listening on `host`/`port`.
   * lifeline neither starts nor stops it: `listening` is emitted once it listens, and unsubscribing
   * leaves it running (only the WebSocket connections are closed).
   * @default undefined (a server of its own on host/port, answering plain HTTP requests with 426)
   */
  server?: HttpServer | HttpsServer;
  /**
   * Accept upgrades only on this path (e.g. `'/live'`); `ws` refuses other paths with HTTP 400. It
   * does not let several `websocketServer`s share one `server` by path: each would refuse the
   * others' upgrades.
   * @default undefined (every path)
   */
  path?: string;
}

const OPTIONS: KnownOptions<WebSocketServerOptions> = {
  host: true,
  port: true,
  server: true,
  path: true,
  ...LINK_OPTIONS,
  ...SERVER_LIMIT_OPTIONS,
};

/**
 * A WebSocket server on the `ws` package: subscribing listens and emits `listening` (with the real
 * port and a `ws://` address), then a `connection` event per accepted WebSocket.
 *
 * Each `connection` is a {@link rx-lifeline!Transport} that is already open: subscribe to it once to get
 * `connected` and the frames, with the same wire format, completions and errors as the
 * {@link rx-lifeline!websocket} client (the same code runs both ends). A connection is not read until it is
 * subscribed. Unsubscribing the server stops accepting and closes every WebSocket with 1001 (going
 * away): subscribed connections complete, and their clients complete too. It does not compress
 * messages (no permessage-deflate).
 *
 * A message larger than `maxFrameBytes` + 4 (and 64 KiB) is refused from its header, before its
 * payload is buffered: the peer gets close code 1009 and the connection errors with
 * `MessageTooLargeError`. A message still unfinished `frameTimeout` after its first byte fails the
 * connection with `FrameTimeoutError` (close code 1008). Refusals under `maxConnections` and
 * `maxPendingFrameBytes` close with 1013 (try again later) and are `refused` events.
 *
 * The server errors only when it cannot listen (`ListenError`). A connection's failure reaches
 * that connection's subscriber and nothing else: subscribe with an `error` handler, or RxJS
 * reports the error as unhandled, which ends a Node process. A failure no subscriber could receive
 * is a `connection-error` event.
 *
 * @typeParam In - frames the clients send. @typeParam Out - frames the server sends.
 * @example
 * ```ts
 * import { websocketServer } from 'rx-lifeline/node';
 * const server = websocketServer<string>({ port: 7070, path: '/live' }).subscribe({
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
export function websocketServer<In = unknown, Out = In>(
  options: WebSocketServerOptions<In | Out> = {},
): Observable<ServerEvent<In, Out>> {
  checkKnownOptions('websocketServer', options, OPTIONS);
  const { host = '127.0.0.1', port = 0, server: external, path, codec = msgpackCodec() } = options;
  checkPort(port, 0);
  if (path !== undefined && !path.startsWith('/'))
    throw new TypeError(`path must start with '/', got ${path}`);
  const codecOfAll = codec as Codec<unknown>;
  const limits = resolveLimits(options);
  const serverLimits = resolveServerLimits('websocketServer', options);
  const { frameTimeout, scheduler } = resolveFrameTimeout('websocketServer', options);
  return new Observable<ServerEvent<In, Out>>((subscriber) => {
    const capacity = new ServerCapacity(serverLimits, (event) => subscriber.next(event));
    const connections = new AcceptedConnections((remote, error) =>
      subscriber.next({ type: 'connection-error', remote, error }),
    );
    const http = external ?? createServer((_request, response) => response.writeHead(426).end());
    const wss = new WebSocketServer({
      server: http,
      perMessageDeflate: false,
      // ws refuses a larger message from its header, with 1009, before buffering its payload.
      maxPayload: maxMessageBytes(limits.maxFrameBytes),
      ...(path === undefined ? {} : { path }),
    });
    // ws re-emits the HTTP server's errors; an 'error' without a listener would be thrown.
    wss.on('error', () => undefined);
    wss.on('connection', (socket, request) => {
      if (subscriber.closed) {
        socket.terminate();
        return;
      }
      socket.pause();
      const remote = hostPort(request.socket.remoteAddress, request.socket.remotePort);
      const local = hostPort(request.socket.localAddress, request.socket.localPort);
      const { headers } = request;
      const account = capacity.admit(remote);
      if (!account) {
        socket.close(TRY_AGAIN_LATER, 'server full: too many connections');
        socket.terminate();
        return;
      }
      socket.on('close', () => account.release());
      const settings = {
        codec: codecOfAll,
        limits,
        info: () => ({ transport: 'websocket', remote, local, headers }),
      };
      // Attached while paused, after ws's own listener: it sees every byte, after ws has read it.
      const meter = new WebSocketMeter();
      let watch: ((held: number) => void) | undefined;
      request.socket.on('data', (chunk: Buffer) => {
        meter.push(chunk);
        watch?.(meter.held);
      });
      const connection = connections.accept<In, Out>(
        socket,
        {
          start: (events) => {
            const run = runWebSocket(socket, events, settings);
            const watcher = watchMessages(meter, account, frameTimeout, scheduler, run.abort, remote);
            watch = watcher.watch;
            events.add(() => {
              watch = undefined;
              watcher.stop();
              account.hold(0);
            });
            if (!events.closed) socket.resume();
            return { shutdown: () => run.shutdown(GOING_AWAY, GOING_AWAY_REASON) };
          },
          discard: () => {
            // Resumed so the closing handshake can be read; nothing listens for messages any more.
            socket.resume();
            socket.close(GOING_AWAY, GOING_AWAY_REASON);
          },
        },
        'websocket',
        remote,
      );
      subscriber.next({ type: 'connection', connection, remote });
    });

    const announce = (bound: AddressInfo | string): void => {
      // An external server may listen on a Unix socket or named pipe: no port then.
      if (typeof bound === 'string') {
        subscriber.next({
          type: 'listening',
          host: bound,
          port: 0,
          address: `ws+unix:${bound}:${path ?? '/'}`,
        });
        return;
      }
      const address = `ws://${hostPort(bound.address, bound.port)}${path ?? ''}`;
      subscriber.next({ type: 'listening', host: bound.address, port: bound.port, address });
    };
    const stop = external
      ? watchExternal(external, announce)
      : listen(http, host, port, { listening: announce, failed: (error) => subscriber.error(error) });
    return () => {
      stop();
      wss.close();
      connections.shutdownAll();
      if (!external) (http as HttpServer).closeAllConnections();
    };
  });
}

/**
 * Enforces the message deadline and the server's cap on a running connection, from the meter's
 * count after each read: `watch` is called after each read, `stop` when the connection ends.
 */
function watchMessages(
  meter: WebSocketMeter,
  account: ConnectionAccount,
  frameTimeout: number,
  scheduler: SchedulerLike,
  abort: (error: LifelineError, closeCode: number) => void,
  remote: string,
): { watch(held: number): void; stop(): void } {
  const deadline = new FrameDeadline(frameTimeout, scheduler, (held) =>
    abort(
      new FrameTimeoutError(
        `WebSocket from ${remote}: a message was not whole after ${frameTimeout} ms (${held} bytes arrived)`,
        { timeout: frameTimeout, bufferedBytes: held },
      ),
      POLICY_VIOLATION,
    ),
  );
  return {
    watch: (held) => {
      deadline.watch(meter.rests, held);
      const refused = account.hold(held);
      if (refused) abort(refused, TRY_AGAIN_LATER);
    },
    stop: () => deadline.stop(),
  };
}

/** Announces an external server once it listens; the returned function stops watching it. */
function watchExternal(
  server: HttpServer | HttpsServer,
  announce: (bound: AddressInfo | string) => void,
): () => void {
  const onListening = (): void => {
    const bound = server.address();
    if (bound !== null) announce(bound);
  };
  if (server.listening) onListening();
  else server.once('listening', onListening);
  return () => server.removeListener('listening', onListening);
}
