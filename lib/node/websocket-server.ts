import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server as HttpServer,
} from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { msgpackCodec, type Codec } from '../codec/codec.js';
import type { LinkInfo, LinkOptions, ServerEvent, TransportEvent } from '../core/transport.js';
import { LINK_OPTIONS, resolveLimits, type WriterSettings } from '../transports/link-writer.js';
import {
  checkCodec,
  checkKnownOptions,
  checkNonEmptyString,
  describe,
  type KnownOptions,
} from '../internal/validate.js';
import { FrameTimeoutError, MessageTooLargeError, ProtocolError } from '../core/errors.js';
import { FrameDeadline, MessageDecoders } from '../transports/inbound.js';
import {
  maxMessageBytes,
  runWebSocket,
  webSocketWriterSettings,
  type RunningWebSocket,
  type WebSocketSettings,
} from '../transports/websocket-connection.js';
import type { WebSocketLike } from '../transports/websocket.js';
import { AcceptedConnections, AcceptedSocket } from './accepted.js';
import { checkPort, hostPort } from './address.js';
import {
  CLOSE_TIMEOUT,
  resolveFrameTimeout,
  resolveServerLimits,
  SERVER_LIMIT_OPTIONS,
  ServerCapacity,
  type ServerLimitOptions,
  type ServerLimits,
} from './capacity.js';
import { listen } from './listen.js';
import type { ConnectionHandle } from './socket-connection.js';
import {
  BINARY_OPCODE,
  binaryHeader,
  CLOSE_NO_CODE,
  CLOSE_TOO_BIG,
  closeFrame,
  PONG_OPCODE,
  serverFrame,
  WebSocketReader,
  type FrameSink,
  type FrameViolation,
} from './websocket-frames.js';
import { answerUpgrade, isRefusal, refuseUpgrade } from './websocket-upgrade.js';

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
   * Accept upgrades only on this path (e.g. `'/live'`); other paths are refused with HTTP 400. It
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
 * A WebSocket server (RFC 6455, on Node's HTTP server): subscribing listens and emits `listening` (with the real
 * port and a `ws://` address), then a `connection` event per accepted WebSocket.
 *
 * Each `connection` is a {@link rx-lifeline!Transport} that is already open: subscribe to it once to get
 * `connected` and the frames, with the same wire format, completions and errors as the
 * {@link rx-lifeline!websocket} client (the same code runs both ends). A connection is not read until it is
 * subscribed. Unsubscribing the server stops accepting and closes every WebSocket with 1001 (going
 * away): subscribed connections complete, and their clients complete too. It does not compress
 * messages (no permessage-deflate), answers pings with pongs, and chooses the first subprotocol a
 * client offers. It speaks the protocol itself, with no per-connection object besides Node's
 * socket and its own: an idle connection costs little.
 *
 * A client's bytes are checked as RFC 6455 §5 asks of a server: a frame unmasked, with a reserved
 * bit or opcode, a control frame fragmented or over 125 bytes, or a continuation outside a message
 * fails that connection with a `ProtocolError` (close code 1002); a text message, which lifeline
 * never sends, with one too (1003). A closing handshake the client does not finish is cut after
 * 30 s (on `scheduler`).
 *
 * A message larger than `maxFrameBytes` + 4 (and 64 KiB) is refused from its header, before its
 * payload is buffered: the peer gets close code 1009 and the connection errors with
 * `MessageTooLargeError`. A message still unfinished `frameTimeout` after its first byte fails the
 * connection with `FrameTimeoutError` (close code 1008). Refusals under `maxConnections` and
 * `maxPendingFrameBytes` close with 1013 (try again later) and are `refused` events. On the server
 * it creates, a socket whose upgrade request is not whole `frameTimeout` after it connected (one
 * that sends nothing, or a request a byte at a time) is closed: it is not a connection yet, and
 * `maxConnections` does not count it. A `server` you pass keeps its own timeouts (Node's
 * `headersTimeout` and `requestTimeout`).
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
  checkPort('websocketServer', port, 0);
  checkCodec('websocketServer', codec);
  if (external !== undefined && typeof (external as { on?: unknown } | null)?.on !== 'function') {
    throw new TypeError(
      `websocketServer: server must be a node:http or node:https Server, got ${describe(external)}`,
    );
  }
  checkNonEmptyString('websocketServer', 'host', host);
  if (path !== undefined && !(typeof path === 'string' && path.startsWith('/'))) {
    throw new TypeError(`websocketServer: path must be a string that starts with '/', got ${describe(path)}`);
  }
  const codecOfAll = codec as Codec<unknown>;
  const limits = resolveLimits('websocketServer', options);
  const serverLimits = resolveServerLimits('websocketServer', options, limits.maxFrameBytes);
  const { frameTimeout, scheduler } = resolveFrameTimeout('websocketServer', options);
  const decoders = new MessageDecoders(codecOfAll, limits.maxFrameBytes);
  const connectionSettings: ConnectionSettings = {
    writer: webSocketWriterSettings(codecOfAll, limits),
    decoders,
    frameTimeout,
    scheduler,
    maxMessageBytes: maxMessageBytes(limits.maxFrameBytes),
  };
  return new Observable<ServerEvent<In, Out>>((subscriber) => {
    const acceptor = new Acceptor<In, Out>(subscriber, serverLimits, connectionSettings, path);
    const http = external ?? createServer((_request, response) => response.writeHead(426).end());
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      deadlines?.met(socket as Socket);
      acceptor.upgrade(request, socket as Socket, head);
    };
    http.on('upgrade', onUpgrade);
    const deadlines = external ? undefined : new UpgradeDeadlines(frameTimeout, scheduler);
    if (deadlines) http.on('connection', deadlines.watch);
    const announce = (bound: AddressInfo | string) => acceptor.listening(bound);
    const stop = external
      ? watchExternal(external, announce)
      : listen(http, host, port, { listening: announce, failed: (error) => subscriber.error(error) });
    return () => {
      stop();
      http.removeListener('upgrade', onUpgrade);
      if (deadlines) http.removeListener('connection', deadlines.watch);
      deadlines?.stop();
      acceptor.connections.shutdownAll();
      if (!external) (http as HttpServer).closeAllConnections();
    };
  });
}

/**
 * The deadline of each socket of a {@link websocketServer}'s own HTTP server for its upgrade
 * request: `frameTimeout` after it connected, it is destroyed unless it upgraded.
 */
class UpgradeDeadlines {
  readonly #pending = new Map<Socket, Subscription>();

  constructor(
    readonly timeout: number,
    readonly scheduler: SchedulerLike,
  ) {}

  /** The HTTP server's 'connection' listener. */
  readonly watch = (socket: Socket): void => {
    if (this.timeout === Infinity) return;
    const deadline = this.scheduler.schedule(() => {
      this.#pending.delete(socket);
      socket.destroy();
    }, this.timeout);
    // One that closes first is forgotten at its deadline: no listener stays on an upgraded socket.
    this.#pending.set(socket, deadline);
  };

  /** `socket` upgraded: its deadline is off. */
  met(socket: Socket): void {
    this.#pending.get(socket)?.unsubscribe();
    this.#pending.delete(socket);
  }

  stop(): void {
    for (const deadline of this.#pending.values()) deadline.unsubscribe();
    this.#pending.clear();
  }
}

/**
 * One subscription of a {@link websocketServer}: answers each upgrade request (or refuses it),
 * admits the connection under the server's limits, and emits it; announces where it listens.
 */
class Acceptor<In, Out> {
  readonly connections: AcceptedConnections;
  readonly #capacity: ServerCapacity;
  readonly #headerValues = new HeaderValues();
  #lastLocal = '';
  /**
   * The listening address, when it is one address (not a wildcard): every connection's local
   * address then, known without asking each socket (Node keeps an object per socket it asks).
   */
  #listeningOn: string | undefined;

  readonly #subscriber: Subscriber<ServerEvent<In, Out>>;
  readonly #settings: ConnectionSettings;
  readonly #path: string | undefined;

  constructor(
    subscriber: Subscriber<ServerEvent<In, Out>>,
    limits: ServerLimits,
    settings: ConnectionSettings,
    path: string | undefined,
  ) {
    this.#subscriber = subscriber;
    this.#settings = settings;
    this.#path = path;
    this.#capacity = new ServerCapacity(limits, (event) => subscriber.next(event));
    this.connections = new AcceptedConnections((remote, error) =>
      subscriber.next({ type: 'connection-error', remote, error }),
    );
  }

  upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    // Until it closes, an 'error' must have a listener or it is thrown.
    socket.on('error', onServedError);
    if (this.#subscriber.closed) return void socket.destroy();
    const answer = answerUpgrade(request, this.#path);
    if (isRefusal(answer)) return refuseUpgrade(socket, answer);
    const remote = hostPort(socket.remoteAddress, socket.remotePort);
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.write(answer.response);
    if (!this.#capacity.admit(remote)) {
      socket.once('finish', () => socket.destroy());
      socket.end(closeFrame(TRY_AGAIN_LATER, 'server full: too many connections'));
      return;
    }
    // Read once its connection is subscribed; the bytes that came with the request first.
    socket.pause();
    if (head.length > 0) socket.unshift(head);
    const info: LinkInfo = {
      transport: 'websocket',
      remote,
      local: this.#localOf(socket),
      headers: applicationHeaders(request.headers, this.#headerValues),
    };
    const served = new ServedWebSocket(this.#capacity, this.connections, socket, info, this.#settings);
    const connection = this.connections.accept<In, Out>(socket, served);
    this.#subscriber.next({ type: 'connection', connection, remote });
  }

  /** Every connection to one address shares one string for it. */
  #localOf(socket: Socket): string {
    const address = this.#listeningOn ?? hostPort(socket.localAddress, socket.localPort);
    return address === this.#lastLocal ? this.#lastLocal : (this.#lastLocal = address);
  }

  listening(bound: AddressInfo | string): void {
    const path = this.#path;
    // An external server may listen on a Unix socket or named pipe: no port then.
    if (typeof bound === 'string') {
      const address = `ws+unix:${bound}:${path ?? '/'}`;
      this.#subscriber.next({ type: 'listening', host: bound, port: 0, address });
      return;
    }
    if (!WILDCARDS.has(bound.address)) this.#listeningOn = hostPort(bound.address, bound.port);
    const address = `ws://${hostPort(bound.address, bound.port)}${path ?? ''}`;
    this.#subscriber.next({ type: 'listening', host: bound.address, port: bound.port, address });
  }
}

/** Listening addresses that accept connections to any of the host's addresses. */
const WILDCARDS: ReadonlySet<string> = new Set(['0.0.0.0', '::']);

/** The close code reported for a connection that ended without a close frame. */
const ABNORMAL_CLOSE = 1006;
/** WebSocket ready states. */
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** Messages up to this size are written with their header in one buffer; larger ones beside it. */
const COPY_LIMIT = 16 * 1024;

/** Where a served WebSocket's TCP socket keeps its ServedWebSocket, for the shared listeners. */
const SERVED = Symbol('ServedWebSocket');

type ServedTcpSocket = Socket & { [SERVED]?: ServedWebSocket };

// The listeners of every served socket: shared functions that find its ServedWebSocket.
function onServedData(this: Socket, chunk: Buffer): void {
  (this as ServedTcpSocket)[SERVED]?.read(chunk);
}

function onServedError(this: Socket, error: Error): void {
  (this as ServedTcpSocket)[SERVED]?.failed(error);
}

function onServedClose(this: Socket): void {
  (this as ServedTcpSocket)[SERVED]?.closed();
}

/** What every connection of one server shares. */
interface ConnectionSettings {
  readonly writer: WriterSettings<unknown>;
  readonly decoders: MessageDecoders<unknown>;
  readonly frameTimeout: number;
  readonly scheduler: SchedulerLike;
  /** The largest message a client may send. */
  readonly maxMessageBytes: number;
}

/** The reader of the connections between messages (see {@link WebSocketReader}). */
let restingReader: WebSocketReader | undefined;

/**
 * One accepted WebSocket, from its upgrade to its close: its place in its server (an
 * {@link AcceptedSocket}), the WebSocket its {@link runWebSocket} drives (the RFC 6455 frames on
 * its TCP socket: {@link WebSocketReader} in, {@link serverFrame} out, the closing handshake), the
 * settings that run reads, and the watch on its unfinished message (the deadline and the server's
 * cap). One object for all of it, so an idle connection holds little besides Node's socket.
 */
class ServedWebSocket
  extends AcceptedSocket
  implements WebSocketSettings, WebSocketLike, ConnectionHandle, FrameSink
{
  /** Only while a message is unfinished: between messages, connections share one. */
  #reader: WebSocketReader | undefined;
  #run: RunningWebSocket | undefined;
  /** Made when a message is first left unfinished by a read: most connections never need one. */
  #deadline: FrameDeadline | undefined;
  readyState = OPEN;
  /** The code and reason of the close frame received; none yet (a close then is 1006). */
  #closeFrame: { readonly code: number; readonly reason: string } | undefined;
  /** Reading stopped: a close frame, a text message or a violation came. */
  #stopped = false;
  #closeTimer: Subscription | undefined;
  readonly #socket: ServedTcpSocket;
  readonly #linkInfo: LinkInfo;
  readonly #settings: ConnectionSettings;

  constructor(
    capacity: ServerCapacity,
    connections: AcceptedConnections,
    socket: ServedTcpSocket,
    linkInfo: LinkInfo,
    settings: ConnectionSettings,
  ) {
    super(capacity, connections);
    this.#socket = socket;
    this.#linkInfo = linkInfo;
    this.#settings = settings;
    socket[SERVED] = this;
  }

  get transport(): string {
    return 'websocket';
  }

  get remote(): string {
    return this.#linkInfo.remote;
  }

  // Read from the server's settings: no copies per connection.
  get writer(): WriterSettings<unknown> {
    return this.#settings.writer;
  }

  get decoders(): MessageDecoders<unknown> {
    return this.#settings.decoders;
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  // Messages are handed to the run as views of the bytes read, whatever it asks.
  get binaryType(): string {
    return 'arraybuffer';
  }

  set binaryType(_type: string) {}

  /** The socket is open before its run starts, which hears its events from this object. */
  addEventListener(): void {}

  /**
   * Listens to the socket from its accept on, with the shared listeners. A client that ends its
   * side without a closing handshake gets this side ended too: Node does it when `allowHalfOpen`
   * is off (the HTTP server turned it on for its responses), with no 'end' listener to hold.
   */
  override watch(): void {
    const socket = this.#socket;
    socket.allowHalfOpen = false;
    socket.on('data', onServedData);
    socket.on('close', onServedClose);
  }

  failed(error: Error): void {
    this.onError(error);
    this.#run?.handleEvent({ type: 'error', error });
  }

  /**
   * The socket closed: its entry first (its place in the server is given back), then the run. A
   * close frame received makes a clean close; 1006 when none came.
   */
  closed(): void {
    this.readyState = CLOSED;
    this.#closeTimer?.unsubscribe();
    this.onClose();
    // The socket's events reach the run once subscribed.
    const { code, reason } = this.#closeFrame ?? { code: ABNORMAL_CLOSE, reason: '' };
    this.#run?.handleEvent({ type: 'close', code, reason, wasClean: code !== ABNORMAL_CLOSE });
  }

  info(): LinkInfo {
    return this.#linkInfo;
  }

  start(events: Subscriber<TransportEvent<unknown, unknown>>): void {
    // The run is the subscriber's one teardown, and tells `ended` when it finishes.
    this.#run = runWebSocket(this, events, this, false);
    if (!events.closed) this.#socket.resume();
  }

  discard(): void {
    // Resumed so the closing handshake can be read; nothing listens for messages any more.
    this.#socket.resume();
    this.close(GOING_AWAY, GOING_AWAY_REASON);
  }

  shutdown(): void {
    this.#run?.shutdown(GOING_AWAY, GOING_AWAY_REASON);
  }

  /** The connection ended: the watch stops and its bytes are given back. */
  ended(): void {
    this.#run = undefined;
    this.#deadline?.stop();
    this.hold(0);
  }

  /** Sends one binary message; `done` once the socket has written it, or with the error. */
  send(data: Uint8Array, done?: (error?: Error | null) => void): void {
    const socket = this.#socket;
    if (data.length <= COPY_LIMIT) {
      socket.write(serverFrame(BINARY_OPCODE, data), done);
      return;
    }
    socket.cork();
    socket.write(binaryHeader(data.length));
    socket.write(data, done);
    socket.uncork();
  }

  /**
   * Starts the closing handshake: sends a close frame (with `code` and `reason`, or none), then
   * ends the socket once the client's close frame came, or drops it after {@link CLOSE_TIMEOUT}.
   */
  close(code?: number, reason?: string): void {
    if (this.readyState !== OPEN) return;
    this.readyState = CLOSING;
    const socket = this.#socket;
    socket.write(closeFrame(code, reason));
    // Nothing more is read once reading stopped: the client's close frame is not awaited then.
    if (this.#stopped) socket.end();
    this.#closeTimer = this.#settings.scheduler.schedule(() => socket.destroy(), CLOSE_TIMEOUT);
  }

  terminate(): void {
    this.readyState = CLOSING;
    this.#socket.destroy();
  }

  /** Every chunk read from the socket. */
  read(chunk: Buffer): void {
    if (this.#stopped) return;
    const reader = this.#reader ?? restingReader ?? new WebSocketReader();
    this.#reader = undefined;
    if (reader === restingReader) restingReader = undefined;
    // False when reading stopped (`stopped` is set): the reader is left half-way, not reused.
    const reading = reader.push(chunk, this, this.#settings.maxMessageBytes);
    const held = reading ? reader.held : 0;
    if (reading && held > 0) this.#reader = reader;
    else if (reading) restingReader ??= reader;
    if (this.#run === undefined) return;
    if (held > 0 || this.#deadline) {
      const { frameTimeout, scheduler } = this.#settings;
      this.#deadline ??= new FrameDeadline(frameTimeout, scheduler, (bytes) => this.messageLate(bytes));
      this.#deadline.watch(reader.rests, held);
    }
    const refused = this.hold(held);
    if (refused) this.#run.abort(refused, TRY_AGAIN_LATER);
  }

  // The frames the reader found (FrameSink).

  message(data: Uint8Array): void {
    this.#run?.handleEvent({ type: 'message', data });
  }

  /** A text message is refused unread: the run fails the connection with 1003. */
  text(): void {
    this.#stopped = true;
    this.#run?.handleEvent({ type: 'message', data: '' });
  }

  /**
   * Answers a ping, unless the socket already holds more than its high-water mark unwritten: a
   * client that pings and never reads would grow it without bound. RFC 6455 §5.5.3 lets a pong
   * answer only the latest ping; one of the next pings is answered once the client reads.
   */
  ping(payload: Uint8Array): void {
    const socket = this.#socket;
    if (this.readyState === OPEN && !socket.writableNeedDrain)
      socket.write(serverFrame(PONG_OPCODE, payload));
  }

  /** The client's close frame: answered with the same code unless this side closed first. */
  closeFrame(code: number, reason: string): void {
    this.#stopped = true;
    this.#closeFrame = { code, reason };
    if (this.readyState === OPEN) this.close(code === CLOSE_NO_CODE ? undefined : code, reason);
    else this.#socket.end();
  }

  violation(violation: FrameViolation): void {
    this.#stopped = true;
    const run = this.#run;
    if (run === undefined) return this.terminate();
    const write = run.writeReport();
    const from = `WebSocket from ${this.#linkInfo.remote}`;
    const error =
      violation.closeCode === CLOSE_TOO_BIG
        ? new MessageTooLargeError(`${from}: ${violation.reason}`, {
            limit: this.#settings.maxMessageBytes,
            ...(write ? { write } : {}),
          })
        : new ProtocolError(`${from}: ${violation.reason}, not a valid WebSocket frame`, {
            offset: run.offset,
            ...(write ? { write } : {}),
          });
    run.abort(error, violation.closeCode);
  }

  /**
   * The unfinished message is still not whole `frameTimeout` after its first byte (`held` bytes
   * came): the connection fails with 1008. A method, not a `#` one, which would add a field to
   * each connection.
   */
  messageLate(held: number): void {
    const { frameTimeout } = this.#settings;
    this.#run?.abort(
      new FrameTimeoutError(
        `WebSocket from ${this.#linkInfo.remote}: a message was not whole after ${frameTimeout} ms (${held} bytes arrived)`,
        { timeout: frameTimeout, bufferedBytes: held },
      ),
      POLICY_VIOLATION,
    );
  }
}

/** The upgrade request's headers that served only the WebSocket handshake itself (RFC 6455 §4.1). */
const HANDSHAKE_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
]);

/** The headers a connection keeps, as {@link applicationHeaders} gives them. */
type KeptHeaders = NonNullable<LinkInfo['headers']>;

/**
 * The headers a connection keeps for its `info`: all but the handshake's own, which the upgrade
 * answered already and no application reads (a connection held them for its whole life). Equal
 * values of different connections share one string, and a connection that sent the same headers as
 * the one before shares that one's object, frozen (see {@link HeaderValues}).
 */
function applicationHeaders(headers: IncomingHttpHeaders, values: HeaderValues): KeptHeaders {
  const kept: Record<string, string | string[] | undefined> = {};
  for (const name of Object.keys(headers)) {
    if (HANDSHAKE_HEADERS.has(name)) continue;
    const value = headers[name];
    kept[name] = typeof value === 'string' ? values.shared(value) : value;
  }
  return values.sharedHeaders(kept);
}

/** The same names with the same values (strings compared as they are: shared ones are one). */
function sameHeaders(a: KeptHeaders, b: KeptHeaders): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  return names.every((name) => Object.hasOwn(b, name) && a[name] === b[name]);
}

/** The most header values one server shares, and the longest it shares. */
const MAX_SHARED_VALUES = 256;
const MAX_SHARED_LENGTH = 512;

/**
 * Header values that many connections of a server send alike (its host, the page's origin, a
 * browser's user agent), kept once: a connection holds its headers for its whole life. Bounded:
 * past {@link MAX_SHARED_VALUES} values, or for a longer value, a connection keeps its own. Clients
 * of one kind often send the very same headers: a connection whose headers equal the last ones kept
 * shares their object, frozen (one object, however many connections).
 * @internal
 */
export class HeaderValues {
  readonly #known = new Map<string, string>();
  #lastHeaders: KeptHeaders | undefined;

  /** How many values it keeps. */
  get size(): number {
    return this.#known.size;
  }

  shared(value: string): string {
    const known = this.#known.get(value);
    if (known !== undefined) return known;
    if (value.length <= MAX_SHARED_LENGTH && this.#known.size < MAX_SHARED_VALUES)
      this.#known.set(value, value);
    return value;
  }

  /** `kept`, frozen, or the equal headers kept last: frozen too, so that they can be shared. */
  sharedHeaders(kept: KeptHeaders): KeptHeaders {
    const last = this.#lastHeaders;
    if (last !== undefined && sameHeaders(last, kept)) return last;
    return (this.#lastHeaders = Object.freeze(kept));
  }
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
