import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs';
import { msgpackCodec, type Codec } from '../codec/codec.js';
import type { LinkOptions, Transport, TransportEvent } from '../core/transport.js';
import { MessageDecoders } from './inbound.js';
import { LINK_OPTIONS, resolveLimits } from './link-writer.js';
import {
  checkCodec,
  checkFunction,
  checkNumber,
  checkRequiredOptions,
  checkScheduler,
  describe,
  POSITIVE_DURATION,
  type KnownOptions,
} from '../internal/validate.js';
import { runWebSocket, webSocketWriterSettings } from './websocket-connection.js';
import { openWs } from './ws-socket.js';

/**
 * The close event lifeline reads: the browser's `CloseEvent` and `ws`'s both have these fields.
 *
 * @example
 * ```ts
 * import type { WebSocketCloseEventLike } from 'rx-lifeline';
 * const clean = (event: WebSocketCloseEventLike) => event.wasClean && event.code === 1000;
 * ```
 * @category Transports
 */
export interface WebSocketCloseEventLike {
  /** The close code: 1000 normal, 1001 going away, 1006 dropped without a close frame, … */
  readonly code: number;
  /** The peer's close reason; may be empty. */
  readonly reason: string;
  /** True when the closing handshake completed. */
  readonly wasClean: boolean;
}

/**
 * The part of a WebSocket lifeline uses. The browser's `WebSocket` and the `ws` package's both
 * satisfy it, so either can be passed as {@link WebSocketOptions.WebSocket}.
 *
 * @example
 * ```ts
 * import type { WebSocketLike } from 'rx-lifeline';
 * const isOpen = (socket: WebSocketLike) => socket.readyState === 1;
 * ```
 * @category Transports
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes passed to `send` and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** How binary messages are delivered; lifeline sets `'arraybuffer'`. */
  binaryType: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: 'close', listener: (event: WebSocketCloseEventLike) => void): void;
}

/**
 * A WebSocket class: the browser's `WebSocket`, or `WebSocket` from the `ws` package in Node.
 *
 * @example
 * ```ts
 * import type { WebSocketConstructor } from 'rx-lifeline';
 * const open = (Impl: WebSocketConstructor) => new Impl('ws://127.0.0.1:7070');
 * ```
 * @category Transports
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/**
 * Options of {@link websocket}.
 *
 * @typeParam T - the frames this connection encodes and decodes (both directions share the codec).
 * @example
 * ```ts
 * import type { WebSocketOptions } from 'rx-lifeline';
 * import { WebSocket } from 'ws';
 * const options: WebSocketOptions = { url: 'wss://example.com/live', protocols: ['v1'], WebSocket };
 * ```
 * @category Transports
 */
export interface WebSocketOptions<T = unknown> extends LinkOptions<T> {
  /**
   * The server to connect to: a `ws:` or `wss:` URL. It is passed to the WebSocket class as it is,
   * not rewritten or resolved by lifeline.
   * @default none (required)
   */
  url: string;
  /**
   * Subprotocols to offer in the handshake. They are only offered: lifeline does not check which
   * one the server picked.
   * @default undefined (none offered)
   */
  protocols?: string | string[];
  /**
   * The WebSocket class to use. In Node 20 there is no global one: pass `WebSocket` from the `ws`
   * package. With `ws`, each write is confirmed by `ws`'s send callback; with a browser's WebSocket
   * the confirmation is read from `bufferedAmount`. It does not change the wire format.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Milliseconds the socket may take to open (the TCP dial, TLS and the upgrade); past it the dial
   * fails with a `DialError` whose `code` is `'ETIMEDOUT'`. A server that accepts the connection
   * but never answers the upgrade would otherwise hold the dial for good: neither the WebSocket
   * API nor `ws` bounds it. `Infinity` turns it off. It bounds the dial only, not an open
   * connection (use `heartbeat` for that).
   * @default 30_000
   */
  connectTimeout?: number;
  /**
   * The scheduler of `connectTimeout`; a test passes a virtual-time scheduler.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

const OPTIONS: KnownOptions<WebSocketOptions> = {
  url: true,
  protocols: true,
  WebSocket: true,
  connectTimeout: true,
  scheduler: true,
  ...LINK_OPTIONS,
};

/** The default of `connectTimeout`: 30 seconds. */
const DEFAULT_CONNECT_TIMEOUT = 30_000;

/**
 * A WebSocket client {@link Transport}, browser-safe: each subscription opens a WebSocket, emits
 * `connected` with a {@link Link}, then a `frame` per inbound frame.
 *
 * Each binary message carries one or more whole length-prefixed frames: the frames sent in one
 * tick travel together, in messages of at most 64 KiB unless one frame is larger (see
 * docs/PROTOCOL.md). It completes when the peer closes cleanly
 * (close code 1000, 1001, or a close frame without a code) or after `link.close(reason)`, which
 * closes with 1000 and `reason` once the queued frames are sent. It errors with `DialError` when
 * the socket cannot open (or is not open after `connectTimeout`), `ConnectionResetError` on an
 * abnormal close (1006), `PeerClosedError` (with `code` and `reason`) on any other close code, and
 * `ProtocolError` / `FrameTooLargeError` when a message is not whole valid frames (a text message,
 * a frame cut at the message's end). A WebSocket constructor that throws at the dial (a browser's
 * SecurityError for a blocked port) errors the stream with what it threw.
 * With `ws` as the WebSocket class, a message larger than `maxFrameBytes` + 4 (64 KiB at least) is
 * refused from its header with close code 1009 and a `MessageTooLargeError`; a browser's WebSocket
 * offers no such limit, so there the whole message is received before lifeline can refuse it.
 * Unsubscribing closes the socket with 1000 at once. It does not reconnect: pipe it through
 * `reconnectWith` for that.
 *
 * @typeParam In - inbound frame type. @typeParam Out - outbound frame type.
 * @throws TypeError when no WebSocket implementation is available; `url` is missing, not a ws:,
 * wss:, http: or https: URL (or ws+unix:, which `ws` takes), or has a fragment; `protocols` are not
 * distinct tokens; or the options name an option `websocket` does not know.
 * @example
 * ```ts
 * import { websocket } from 'rx-lifeline';
 * import { WebSocket } from 'ws';
 * const subscription = websocket<string>({ url: 'ws://127.0.0.1:7070', WebSocket }).subscribe({
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
export function websocket<In = unknown, Out = In>(options: WebSocketOptions<In | Out>): Transport<In, Out> {
  checkRequiredOptions('websocket', options, OPTIONS, 'url', 'name the server, as { url }');
  const { url, protocols, WebSocket: Impl = globalWebSocket(), codec = msgpackCodec() } = options;
  if (Impl === undefined) {
    throw new TypeError(
      'websocket: no WebSocket implementation: pass { WebSocket } (e.g. from the ws package)',
    );
  }
  checkUrl(url);
  checkFunction('websocket', 'WebSocket', Impl);
  checkCodec('websocket', codec);
  checkProtocols(protocols);
  const { connectTimeout = DEFAULT_CONNECT_TIMEOUT, scheduler = asyncScheduler } = options;
  if (connectTimeout !== Infinity) {
    checkNumber('websocket', 'connectTimeout', connectTimeout, POSITIVE_DURATION);
  }
  const limits = resolveLimits('websocket', options);
  const settings = {
    dial: { timeout: connectTimeout, scheduler: checkScheduler('websocket', scheduler) },
    writer: webSocketWriterSettings(codec as Codec<unknown>, limits),
    decoders: new MessageDecoders(codec as Codec<unknown>, limits.maxFrameBytes),
    info: () => ({ transport: 'websocket', remote: url, local: '' }),
  };

  const transport = new Observable<TransportEvent<unknown, unknown>>((subscriber) => {
    const socket =
      openWs(Impl, url, protocols, limits) ??
      (protocols === undefined ? new Impl(url) : new Impl(url, protocols));
    runWebSocket(socket, subscriber, settings);
  });
  return transport as Observable<TransportEvent<In, Out>>;
}

/**
 * What the WebSocket constructor would refuse (the WHATWG WebSocket standard, and `ws` alike, throw a
 * SyntaxError) is refused here, once, rather than at every dial: a URL of another scheme, or with a
 * fragment. (`ws` also takes `ws+unix:`.)
 */
function checkUrl(url: unknown): void {
  let parsed: URL | undefined;
  try {
    if (typeof url === 'string') parsed = new URL(url);
  } catch {
    // refused below
  }
  if (parsed === undefined) throw new TypeError(`websocket: url must be a URL, got ${describe(url)}`);
  if (!/^(wss?|https?|ws\+unix):$/.test(parsed.protocol)) {
    throw new TypeError(`websocket: url must be a ws:, wss:, http: or https: URL, got ${describe(url)}`);
  }
  if (parsed.hash !== '') {
    throw new TypeError(`websocket: url must not have a fragment (${parsed.hash}), which is never sent`);
  }
}

/** A subprotocol name: a token of RFC 7230, as RFC 6455 requires. */
const TOKEN = /^[!#$%&'*+\-.^`|~\w]+$/;

function checkProtocols(protocols: unknown): void {
  if (protocols === undefined) return;
  const names: unknown[] = Array.isArray(protocols) ? protocols : [protocols];
  if (!names.every((name) => typeof name === 'string')) {
    throw new TypeError(
      `websocket: protocols must be a string or an array of strings, got ${describe(protocols)}`,
    );
  }
  const bad = names.find((name, at) => !TOKEN.test(name as string) || names.indexOf(name) !== at);
  if (bad !== undefined) {
    const why = TOKEN.test(bad as string) ? 'is there twice' : 'is not';
    throw new TypeError(`websocket: protocols must be tokens (RFC 6455), each once: ${describe(bad)} ${why}`);
  }
}

function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}
