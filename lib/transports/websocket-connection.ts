import type { SchedulerLike, Subscriber, Subscription } from 'rxjs';
import type { Codec } from '../codec/codec.js';
import {
  LENGTH_PREFIX_BYTES,
  MAX_BATCH_MESSAGE_BYTES,
  readLengthPrefix,
  type FrameReader,
} from '../codec/framing.js';
import {
  ConnectionResetError,
  DialError,
  FrameTooLargeError,
  PeerClosedError,
  ProtocolError,
  type LifelineError,
  type WriteReport,
} from '../core/errors.js';
import type { LinkInfo, TransportEvent } from '../core/transport.js';
import type { WebSocketCloseEventLike, WebSocketLike } from './websocket.js';
import { deliverBytes, type MessageDecoders } from './inbound.js';
import {
  LinkWriter,
  writerSettings,
  type ByteSink,
  type WriterLimits,
  type WriterSettings,
} from './link-writer.js';
import { isWsSocket, listenToWs, sendConfirmed, terminateWs, wsMessageTooBig } from './ws-socket.js';

export { MAX_BATCH_MESSAGE_BYTES, maxMessageBytes } from '../codec/framing.js';

const CONNECTING = 0;
const OPEN = 1;

/** Close codes that end the stream cleanly: normal, going away, and a close frame without a code. */
const CLEAN_CLOSE_CODES = new Set([1000, 1001, 1005]);
/** The close code a browser or `ws` reports when the connection dropped without a close frame. */
const ABNORMAL_CLOSE = 1006;
/** Close codes sent to a peer whose bytes were not valid frames (RFC 6455 §7.4.1). */
const CLOSE_UNSUPPORTED_DATA = 1003;
const CLOSE_PROTOCOL_ERROR = 1002;
const CLOSE_TOO_BIG = 1009;
/** A close reason is at most 123 bytes of UTF-8. */
const MAX_REASON_BYTES = 123;

/** The settings of a WebSocket transport's links: flushed in a microtask. @internal */
export function webSocketWriterSettings(
  codec: Codec<unknown>,
  limits: WriterLimits,
): WriterSettings<unknown> {
  return writerSettings(codec, limits, scheduleMicrotask);
}

/** What a WebSocket connection needs besides its socket. @internal */
export interface WebSocketSettings {
  /** The codec, limits and flush of every link: see {@link webSocketWriterSettings}. */
  readonly writer: WriterSettings<unknown>;
  /** Lends each message a decoder: shared by every connection with these settings. */
  readonly decoders: MessageDecoders<unknown>;
  /** Describes the endpoints; called once the socket is open. */
  readonly info: () => LinkInfo;
  /** Called once when the connection ends, by any path (its teardown included). */
  readonly ended?: () => void;
  /** A client's bound on its dial: milliseconds until the socket must be open, on `scheduler`. */
  readonly dial?: { readonly timeout: number; readonly scheduler: SchedulerLike };
}

/**
 * Runs one WebSocket for one subscriber, whether it is still connecting (a client) or already
 * open (a server's accepted socket): emits `connected` once it is open, a `frame` per frame in each
 * binary message, and turns every way the socket can end into exactly one completion or typed
 * error. Shared by the browser-safe client and the Node server.
 *
 * Each message must hold whole frames: the connection's decoder keeps stream offsets across
 * messages, and a message that leaves it inside a frame is a `ProtocolError`. Outbound messages
 * hold one frame, or several adding up to at most {@link MAX_BATCH_MESSAGE_BYTES}.
 *
 * Unsubscribing closes the socket with 1000 at once (the closing handshake then runs on its own).
 * The listeners stay attached after the end, guarded, because `ws` emits an 'error' for a socket
 * closed while connecting, and an EventEmitter's 'error' without a listener is thrown.
 * With `listen` false it adds no listener: the caller hands it the socket's events through
 * `handleEvent` (a server that listens to its sockets through shared functions).
 * @returns `shutdown(closeCode, reason)`, which ends the connection from this side: the subscriber
 * completes and the socket closes with that code (a server going away sends 1001).
 * @internal
 */
export function runWebSocket(
  socket: WebSocketLike,
  subscriber: Subscriber<TransportEvent<unknown, unknown>>,
  settings: WebSocketSettings,
  listen = true,
): RunningWebSocket {
  return new WebSocketRun(socket, subscriber, settings, listen);
}

/**
 * The state of {@link runWebSocket}: one object with methods rather than a dozen closures over
 * shared variables, so each open connection holds little. On a `ws` socket it is its own listener
 * (an EventListener object, whose `handleEvent` `ws` calls) and its writer's sink (`write`, `end`);
 * on any other socket, which may take functions only, three listeners are the only functions it
 * makes, and a {@link BrowserSink} writes.
 */
class WebSocketRun implements RunningWebSocket, ByteSink {
  #writer: LinkWriter<unknown> | undefined;
  /** The stream offset of the next message: the bytes of the frames decoded so far. */
  #offset = 0;
  /** The decoder lent to the message being read, if one is (see MessageDecoders). */
  #decoding: FrameReader<unknown> | undefined;
  #finished = false;
  /** The last 'error' event, attached as the cause of the close that follows it. */
  #lastError: unknown;
  /** Until the socket opens: the dial's deadline, if it has one. */
  #dialDeadline: Subscription | undefined;

  readonly #socket: WebSocketLike;
  readonly #subscriber: Subscriber<TransportEvent<unknown, unknown>>;
  readonly #settings: WebSocketSettings;

  constructor(
    socket: WebSocketLike,
    subscriber: Subscriber<TransportEvent<unknown, unknown>>,
    settings: WebSocketSettings,
    listen: boolean,
  ) {
    this.#socket = socket;
    this.#subscriber = subscriber;
    this.#settings = settings;
    socket.binaryType = 'arraybuffer';
    if (listen) this.#listenTo(socket);
    subscriber.add(this);
    if (socket.readyState === OPEN) {
      this.#open();
      return;
    }
    socket.addEventListener('open', () => this.#open());
    const { dial } = settings;
    if (dial && dial.timeout !== Infinity) {
      this.#dialDeadline = dial.scheduler.schedule(() => this.#dialTimedOut(dial.timeout), dial.timeout);
    }
  }

  #dialTimedOut(timeout: number): void {
    this.#fail(this.#dialError(`not open after ${timeout} ms`, { code: 'ETIMEDOUT' }), 1000);
  }

  #dialError(why: string, options: ConstructorParameters<typeof DialError>[1]): DialError {
    return new DialError(`Could not open a WebSocket to ${this.#settings.info().remote}: ${why}`, options);
  }

  #listenTo(socket: WebSocketLike): void {
    if (listenToWs(socket, this)) return;
    socket.addEventListener('message', (event) => this.#onMessage(event));
    socket.addEventListener('error', (event) => this.#onError(event));
    socket.addEventListener('close', (event) => this.#onClose(event));
  }

  /** As its `ws` socket's sink: `ws` calls back once a message is written, and reads it no more. */
  get releasesOnDone(): boolean {
    return true;
  }

  // As its `ws` socket's sink: `done` only when ws confirms the write, when the message left this
  // process whole. Messages go out in order, so the last one's confirmation confirms the batch.
  write(batch: Uint8Array, done: () => void, refused: (bytes: number) => void): void {
    const socket = this.#socket;
    sendWhileOpen(socket, batch, refused, (message, last) => sendConfirmed(socket, message, last && done));
  }

  end(reason: string | undefined): void {
    endSocket(this.#socket, reason);
  }

  /** The listener of a `ws` socket's events (see the class's note), or the caller's relay. */
  handleEvent(event: WebSocketEvent): void {
    if (event.type === 'message') this.#onMessage(event as { readonly type: string; readonly data: unknown });
    else if (event.type === 'error') this.#onError(event);
    else if (event.type === 'close')
      this.#onClose(event as WebSocketCloseEventLike & { readonly type: string });
  }

  /** The stream offset of the next message, for errors about it. */
  get offset(): number {
    return this.#offset;
  }

  writeReport(): WriteReport | undefined {
    return this.#writer?.writeReport();
  }

  /** The subscriber's teardown: closes the socket with 1000. */
  unsubscribe(): void {
    this.#finish(1000);
  }

  shutdown(closeCode?: number, reason?: string): void {
    if (this.#finish(closeCode, reason)) this.#subscriber.complete();
  }

  abort(error: LifelineError, closeCode: number): void {
    if (this.#finished) return;
    this.#fail(error, closeCode);
    // The close frame is on its way; dropping the socket now releases what ws buffered of a
    // message in progress instead of holding it through the closing handshake.
    terminateWs(this.#socket);
  }

  #finish(closeCode?: number, reason?: string): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    this.#dialDeadline?.unsubscribe();
    this.#settings.ended?.();
    this.#writer?.dispose();
    this.#decoding?.dispose();
    const socket = this.#socket;
    if (closeCode !== undefined && (socket.readyState === CONNECTING || socket.readyState === OPEN)) {
      socket.close(closeCode, reason);
    }
    return true;
  }

  #fail(error: LifelineError, closeCode?: number): void {
    if (this.#finish(closeCode, closeCode === undefined ? undefined : closeReason(error.message)))
      this.#subscriber.error(error);
  }

  #open(): void {
    if (this.#finished) return;
    this.#dialDeadline?.unsubscribe();
    this.#dialDeadline = undefined;
    const link = new LinkWriter<unknown>(
      this.#settings.writer,
      isWsSocket(this.#socket) ? this : new BrowserSink(this.#socket),
      this.#settings.info(),
    );
    this.#writer = link;
    this.#subscriber.next({ type: 'connected', link });
  }

  #onMessage(event: { readonly data: unknown }): void {
    const writer = this.#writer;
    const offset = this.#offset;
    if (this.#finished || !writer) return;
    const bytes = binaryData(event.data);
    if (bytes === undefined || bytes.length === 0) {
      const what = bytes === undefined ? 'A text message' : 'An empty message';
      const error = new ProtocolError(
        `${what} arrived at offset ${offset}: lifeline frames travel in binary messages`,
        { offset, write: writer.writeReport() },
      );
      return this.#fail(error, bytes === undefined ? CLOSE_UNSUPPORTED_DATA : CLOSE_PROTOCOL_ERROR);
    }
    const { decoders } = this.#settings;
    const decoder = decoders.lend(writer, offset);
    this.#decoding = decoder;
    const error = deliverBytes(decoder, bytes, this.#subscriber);
    this.#decoding = undefined;
    this.#offset = decoder.offset;
    // A message that ends inside a frame is a ProtocolError too: a frame never spans messages.
    if (error) return this.#fail(error, FrameTooLargeError.is(error) ? CLOSE_TOO_BIG : CLOSE_PROTOCOL_ERROR);
    if (!this.#finished) decoders.giveBack(decoder);
  }

  #onError(event: unknown): void {
    if (this.#finished) return;
    const writer = this.#writer;
    const settings = this.#settings;
    const cause = errorOf(event);
    if (writer) {
      const tooBig = wsMessageTooBig(cause, settings, writer);
      if (tooBig) return this.#fail(tooBig);
      this.#lastError = cause; // the close event follows and says more
      return;
    }
    const code = (cause as { code?: unknown } | undefined)?.code;
    this.#fail(
      this.#dialError(describe(cause), {
        cause,
        code: typeof code === 'string' || typeof code === 'number' ? code : undefined,
      }),
    );
  }

  #onClose(event: WebSocketCloseEventLike): void {
    if (this.#finished) return;
    const writer = this.#writer;
    const settings = this.#settings;
    const lastError = this.#lastError;
    const { code, reason, wasClean } = event;
    const said = `code ${code}${reason ? ` (${reason})` : ''}`;
    if (!writer) {
      return this.#fail(this.#dialError(`closed with ${said}`, { code, cause: lastError }));
    }
    if (wasClean && CLEAN_CLOSE_CODES.has(code)) return this.shutdown();
    const write = writer.writeReport();
    writer.fail();
    const { local, remote } = settings.info();
    const where = local ? `${local} -> ${remote}` : `to ${remote}`;
    if (code === ABNORMAL_CLOSE) {
      return this.#fail(
        new ConnectionResetError(`WebSocket ${where} dropped without a close frame (${said})`, {
          phase: write.unconfirmedFrames > 0 ? 'write' : 'read',
          code,
          write,
          cause: lastError,
        }),
      );
    }
    this.#fail(
      new PeerClosedError(`WebSocket ${where} closed by the peer with ${said}`, {
        code,
        reason,
        write,
        cause: lastError,
      }),
    );
  }
}

/** A WebSocket event as {@link RunningWebSocket.handleEvent} reads it. @internal */
export type WebSocketEvent =
  | { readonly type: 'message'; readonly data: unknown }
  | { readonly type: 'error'; readonly error: unknown }
  | ({ readonly type: 'close' } & WebSocketCloseEventLike)
  | { readonly type: string };

/** Control over a running WebSocket connection. @internal */
export interface RunningWebSocket {
  /** Takes one of the socket's events: 'message', 'error' or 'close' (others are ignored). */
  handleEvent(event: WebSocketEvent): void;
  /** Ends the connection from this side: the subscriber completes, the socket closes with `closeCode`. */
  shutdown(closeCode?: number, reason?: string): void;
  /** Fails the connection with `error` and drops the socket after sending `closeCode`. */
  abort(error: LifelineError, closeCode: number): void;
  /** The stream offset of the next message: the bytes of the frames decoded so far. */
  readonly offset: number;
  /** What the link wrote, once it is open. */
  writeReport(): WriteReport | undefined;
}

/** Closes the socket with 1000 once the writer has flushed, if it is still open. */
function endSocket(socket: WebSocketLike, reason: string | undefined): void {
  if (socket.readyState === OPEN) socket.close(1000, reason === undefined ? undefined : closeReason(reason));
}

/** The sink of a browser's WebSocket, which only exposes `bufferedAmount`. */
class BrowserSink implements ByteSink {
  readonly #socket: WebSocketLike;

  constructor(socket: WebSocketLike) {
    this.#socket = socket;
  }

  write(batch: Uint8Array, done: () => void, refused: (bytes: number) => void): void {
    const socket = this.#socket;
    if (sendWhileOpen(socket, batch, refused, (message) => socket.send(message))) done();
  }

  end(reason: string | undefined): void {
    endSocket(this.#socket, reason);
  }

  // What the browser still holds is unconfirmed: LinkWriter derives the confirmed bytes from it.
  pendingBytes(): number {
    return this.#socket.bufferedAmount;
  }
}

/**
 * Sends a batch as messages (see {@link splitMessages}) while the socket is open, telling `send`
 * which message is the last. A closing or closed socket sends nothing (`ws` fails the send, a
 * browser drops it): the messages from there on are reported `refused`, known never to have left.
 * True when every message went out.
 */
function sendWhileOpen(
  socket: WebSocketLike,
  batch: Uint8Array,
  refused: (bytes: number) => void,
  send: (message: Uint8Array, last: boolean) => void,
): boolean {
  const messages = splitMessages(batch);
  for (let i = 0; i < messages.length; i++) {
    if (socket.readyState !== OPEN) {
      refused(messages.slice(i).reduce((bytes, message) => bytes + message.length, 0));
      return false;
    }
    send(messages[i]!, i === messages.length - 1);
  }
  return true;
}

/**
 * Cuts a batch of length-prefixed frames into messages: a frame larger than
 * {@link MAX_BATCH_MESSAGE_BYTES} alone, smaller ones together up to that size. Views, no copies.
 */
function splitMessages(batch: Uint8Array): Uint8Array[] {
  if (batch.length <= MAX_BATCH_MESSAGE_BYTES) return [batch];
  const messages: Uint8Array[] = [];
  let start = 0;
  let pos = 0;
  while (pos < batch.length) {
    const size = LENGTH_PREFIX_BYTES + readLengthPrefix(batch, pos);
    if (pos > start && pos + size - start > MAX_BATCH_MESSAGE_BYTES) {
      messages.push(batch.subarray(start, pos));
      start = pos;
    }
    pos += size;
  }
  messages.push(batch.subarray(start, pos));
  return messages;
}

function binaryData(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** Trims `reason` to the 123 UTF-8 bytes a close frame allows, on a character boundary. */
function closeReason(reason: string): string {
  // encodeInto writes whole characters only, and says how much of the string they took.
  const { read } = new TextEncoder().encodeInto(reason, new Uint8Array(MAX_REASON_BYTES));
  return reason.slice(0, read);
}

function errorOf(event: unknown): unknown {
  const error = (event as { error?: unknown } | undefined)?.error;
  return error ?? event;
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  const message = (cause as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && message !== '' ? message : 'the connection failed';
}

/**
 * Runs `flush` in a microtask. A wrapper, not `queueMicrotask` itself: the writer calls it as a
 * method, and browsers throw "Illegal invocation" when `queueMicrotask` is called on another `this`.
 */
function scheduleMicrotask(flush: () => void): void {
  queueMicrotask(flush);
}
