import type { Observable } from 'rxjs';
import type { Codec } from './codec.js';
import type { LifelineError, RefusalReason, ServerCapacityError, WriteReport } from './errors.js';

/**
 * One live connection, handed out by a transport's {@link ConnectedEvent}.
 *
 * Writes are queued and coalesced: frames sent in the same tick leave in one socket write. The
 * queue has two limits. Above `highWaterMark`, `send` still queues but returns `false`, the cue to
 * wait for `drain$`. A frame that would take the queue past `maxBufferedBytes` is refused with a
 * `SendBufferFullError` and not queued, so a slow reader can never make the writer's memory grow
 * without bound. Nothing is dropped silently.
 *
 * @typeParam Out - the type of outbound frames.
 * @example
 * ```ts
 * import type { Link } from 'rx-lifeline';
 * function greet(link: Link<{ hello: string }>): void {
 *   if (!link.send({ hello: 'world' })) link.drain$.subscribe(() => console.log('drained'));
 * }
 * ```
 * @category Transports
 */
export interface Link<Out = unknown> {
  /**
   * Encodes `frame` and queues it for writing. Returns `false` when the queue is at or above the
   * high-water mark after queueing (the frame is still queued).
   *
   * @throws `LinkClosedError` if the link is closed; `SendBufferFullError` if the queue is full
   * (the frame is not queued; `drain$` says when to try again, as after `false`);
   * `EncodeError` if the frame cannot be encoded or is larger than the maximum frame size.
   */
  send(frame: Out): boolean;
  /**
   * Closes the connection gracefully: queued frames are flushed first, then the transport
   * completes. `reason` is sent where the protocol carries one (a WebSocket close reason).
   * Calling it more than once does nothing.
   */
  close(reason?: string): void;
  /** Bytes queued or in flight that the socket has not yet confirmed. */
  readonly bufferedBytes: number;
  /** True once `close` was called or the connection ended. */
  readonly closed: boolean;
  /** True once `close` was called on this side (not when the peer or the network ended it). */
  readonly closeRequested: boolean;
  /** Emits each time the queue falls below the low-water mark after `send` returned `false` or threw `SendBufferFullError`. */
  readonly drain$: Observable<void>;
  /**
   * Frames `send` accepted on this connection so far: the index the next frame will get. Read it
   * just before a `send` to learn that frame's position, which the connection's
   * {@link WriteReport.framesLeft} later judges (at or above it: the frame certainly never reached
   * the peer). Frames of every layer count: a wrapping link (a protocol layer) reports the count of
   * the link it wraps. A link that spans connections (a resumable session's) counts frames since
   * its session began.
   */
  readonly framesSent: number;
  /** The current outbound state: what the socket has confirmed, and which frames never left. */
  writeReport(): WriteReport;
  /** Where this connection goes, for logs and pool keys. */
  readonly info: LinkInfo;
}

/**
 * Describes a link's endpoints.
 *
 * @example
 * ```ts
 * import type { LinkInfo } from 'rx-lifeline';
 * const info: LinkInfo = { transport: 'tcp', remote: '127.0.0.1:7070', local: '127.0.0.1:50000' };
 * ```
 * @category Transports
 */
export interface LinkInfo {
  /** The kind of transport: `'memory'`, `'tcp'`, `'websocket'`, … */
  readonly transport: string;
  /** The peer's address as text, when known. */
  readonly remote: string;
  /** This side's address as text, when known. */
  readonly local: string;
  /**
   * On a connection a WebSocket server accepted: the HTTP upgrade request's headers (lower-case
   * names, as Node gives them), for an `authenticate` that reads a cookie or `authorization`. The
   * headers of the WebSocket handshake itself (`connection`, `upgrade`, `sec-websocket-key`,
   * `-version` and `-extensions`, RFC 6455 §4.1) are not kept; `sec-websocket-protocol` is.
   */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/**
 * The first event of every connection: the link is open and can send.
 *
 * @example
 * ```ts
 * import type { ConnectedEvent } from 'rx-lifeline';
 * const onOpen = (event: ConnectedEvent<string>) => event.link.send('hi');
 * ```
 * @category Transports
 */
export interface ConnectedEvent<Out = unknown> {
  readonly type: 'connected';
  /** The live connection. Valid until the transport completes, errors or is unsubscribed. */
  readonly link: Link<Out>;
  /**
   * What the connection's handshake settled, when one ran ({@link handshake} on a client,
   * {@link acceptHandshake} on a server); each layer above passes it on.
   */
  readonly handshake?: HandshakeResult;
}

/**
 * What a connection's handshake settled: the version of each layer both ends stack, the
 * application protocol's version, and on a server the identity `authenticate` returned.
 *
 * @example
 * ```ts
 * import type { ConnectedEvent } from 'rx-lifeline';
 * const who = (event: ConnectedEvent) => event.handshake?.identity;
 * ```
 * @category Handshake
 */
export interface HandshakeResult {
  /** Each layer both ends stack, with the highest version both speak. */
  readonly layers: Readonly<Record<string, number>>;
  /** The application protocol and the version chosen, when the server names one. */
  readonly app?: { readonly name: string; readonly version: number };
  /** On a server: what its `authenticate` returned for this connection's credentials. */
  readonly identity?: unknown;
}

/**
 * One inbound frame, decoded.
 *
 * @example
 * ```ts
 * import type { FrameEvent } from 'rx-lifeline';
 * const payload = (event: FrameEvent<number>) => event.frame;
 * ```
 * @category Transports
 */
export interface FrameEvent<In = unknown> {
  readonly type: 'frame';
  /** The decoded frame. */
  readonly frame: In;
}

/**
 * What a {@link Transport} emits: one `connected`, then a `frame` per inbound frame.
 *
 * @example
 * ```ts
 * import type { TransportEvent } from 'rx-lifeline';
 * const log = (event: TransportEvent) => console.log(event.type);
 * ```
 * @category Transports
 */
export type TransportEvent<In = unknown, Out = In> = ConnectedEvent<Out> | FrameEvent<In>;

/**
 * A cold Observable of one connection's life. Subscribing dials; it emits a `connected` event
 * carrying the {@link Link}, then a `frame` event per inbound frame. It completes when the peer
 * closes cleanly or `link.close()` finishes, errors with a `ConnectionError` subclass when the
 * connection fails, and unsubscribing closes the socket at once. Each subscription is a new
 * connection.
 *
 * @typeParam In - inbound frame type. @typeParam Out - outbound frame type.
 * @example
 * ```ts
 * import { memory, type Transport } from 'rx-lifeline';
 * const pair = memory<string>();
 * const transport: Transport<string> = pair.transport;
 * ```
 * @category Transports
 */
export type Transport<In = unknown, Out = In> = Observable<TransportEvent<In, Out>>;

/**
 * The server is bound and accepting connections.
 *
 * @example
 * ```ts
 * import type { ListeningEvent } from 'rx-lifeline';
 * const port = (event: ListeningEvent) => event.port;
 * ```
 * @category Transports
 */
export interface ListeningEvent {
  readonly type: 'listening';
  /** The bound address (for port 0, the port the system chose). */
  readonly host: string;
  /** The bound port; 0 for transports without ports. */
  readonly port: number;
  /** A URL or `host:port` a client can dial. */
  readonly address: string;
}

/**
 * A connection was accepted. `connection` behaves like a {@link Transport} that is already dialled:
 * subscribe once to receive `connected` and the frames (reading is paused until then);
 * unsubscribing closes it. A second subscription errors with a `TypeError`.
 *
 * @example
 * ```ts
 * import type { AcceptedEvent } from 'rx-lifeline';
 * const accept = (event: AcceptedEvent<string>) => event.connection.subscribe();
 * ```
 * @category Transports
 */
export interface AcceptedEvent<In = unknown, Out = In> {
  readonly type: 'connection';
  /** The accepted connection's events. */
  readonly connection: Transport<In, Out>;
  /** The peer's address as text. */
  readonly remote: string;
}

/**
 * The server refused a connection because one of its limits was reached: it closed the connection
 * (the peer sees a reset over TCP, close code 1013 over WebSocket) and counts the refusal. A
 * connection refused at arrival (`'max-connections'`) was never announced by a `connection` event;
 * one refused later (`'max-pending-frame-bytes'`) also errors with `error` for its subscriber.
 *
 * @example
 * ```ts
 * import type { RefusedEvent } from 'rx-lifeline';
 * const log = (event: RefusedEvent) => console.warn(`refused ${event.remote}: ${event.reason} (${event.total} so far)`);
 * ```
 */
export interface RefusedEvent {
  readonly type: 'refused';
  /** The limit that was reached. */
  readonly reason: RefusalReason;
  /** The refused peer's address as text. */
  readonly remote: string;
  /** Connections this server has refused for this reason so far, this one included. */
  readonly total: number;
  /** The typed reason, as the refused connection's subscriber (if any) receives it. */
  readonly error: ServerCapacityError;
}

/**
 * A connection failed where no subscriber could receive the error: an accepted connection that
 * closed with an error before anyone subscribed to it (a later subscription still errors with it,
 * a `ConnectionResetError`), or a connection the system could not accept (`ListenError` with
 * `EMFILE`, `ENFILE`, …; the server keeps listening). Errors of a subscribed connection reach only
 * its subscriber, never the server.
 *
 * @example
 * ```ts
 * import type { ConnectionErrorEvent } from 'rx-lifeline';
 * const log = (event: ConnectionErrorEvent) => console.warn(`${event.remote}: ${event.error.message}`);
 * ```
 */
export interface ConnectionErrorEvent {
  readonly type: 'connection-error';
  /** The peer's address as text; `'?'` when the connection could not be accepted. */
  readonly remote: string;
  /** Why the connection failed. */
  readonly error: LifelineError;
}

/**
 * What a server Observable emits. Subscribing listens; unsubscribing closes the listener and
 * every connection it accepted. The server errors only when it cannot listen; a connection's
 * failure reaches that connection's subscriber, or the server's `connection-error` event when the
 * connection had none. The memory transport's server emits only `listening` and `connection`.
 *
 * @example
 * ```ts
 * import type { ServerEvent } from 'rx-lifeline';
 * const isListening = (event: ServerEvent) => event.type === 'listening';
 * ```
 * @category Transports
 */
export type ServerEvent<In = unknown, Out = In> =
  ListeningEvent | AcceptedEvent<In, Out> | RefusedEvent | ConnectionErrorEvent;

/**
 * Options shared by every transport's connections: the codec and the limits of the outbound queue.
 *
 * @example
 * ```ts
 * import { memory, type LinkOptions } from 'rx-lifeline';
 * const limits: LinkOptions<unknown> = { maxFrameBytes: 64 * 1024, highWaterMark: 256 * 1024 };
 * const pair = memory(limits);
 * ```
 * @category Transports
 */
export interface LinkOptions<Out> {
  /**
   * Encodes outbound frames (and decodes inbound ones).
   * @default msgpackCodec()
   */
  codec?: Codec<Out>;
  /**
   * The largest frame body sent or accepted, in bytes.
   * @default 16 MiB
   */
  maxFrameBytes?: number;
  /**
   * Queue size, in bytes, at which `send` starts returning `false`. It does not refuse frames.
   * @default 1 MiB
   */
  highWaterMark?: number;
  /**
   * Hard cap on queued bytes: a frame that would exceed it is refused with `SendBufferFullError`.
   * Must be at least `maxFrameBytes` + 4.
   * @default 2 × maxFrameBytes + 4 (32 MiB)
   */
  maxBufferedBytes?: number;
}
