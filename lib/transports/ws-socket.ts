import { maxMessageBytes } from '../codec/framing.js';
import { MessageTooLargeError } from '../core/errors.js';
import type { LinkWriter } from './link-writer.js';
import type { WebSocketConstructor, WebSocketLike } from './websocket.js';
import type { WebSocketSettings } from './websocket-connection.js';

// What only sockets of the `ws` package (and of lifeline's WebSocket server, which behave alike)
// need. A browser bundle has ws-socket.browser.ts in its place (the "browser" field of
// package.json), whose functions are empty: a browser never meets such a socket, and a bundler
// drops the calls with this code.

/**
 * A socket of the `ws` package, or of lifeline's WebSocket server: one that can be dropped
 * (`terminate`) and confirms each send through a callback. A `ws` socket also takes EventListener
 * objects as a browser does (the server's is not listened to: it relays its events). Other
 * WebSocketLike sockets (wrappers, test doubles) may take functions only.
 */
interface WsSocket extends WebSocketLike {
  terminate(): void;
  send(data: Uint8Array, done?: (error?: Error | null) => void): void;
}

/** Whether `socket` is a `ws` socket (see {@link WsSocket}). @internal */
export function isWsSocket(socket: WebSocketLike): socket is WsSocket {
  return typeof (socket as Partial<WsSocket>).terminate === 'function';
}

/** The constructor of the `ws` package, which takes options after the protocols. */
type WsConstructor = new (
  url: string,
  protocols: string | string[] | undefined,
  options: { maxPayload: number },
) => WebSocketLike;

/**
 * A socket of `Impl` for `url`, when `Impl` is the `ws` package's class (an EventEmitter): its
 * `maxPayload` then refuses a message over what a receiver with `maxFrameBytes` accepts from its
 * header (a browser has no such limit and buffers the message whole). Undefined for other classes.
 * @internal
 */
export function openWs(
  Impl: WebSocketConstructor,
  url: string,
  protocols: string | string[] | undefined,
  limits: { readonly maxFrameBytes: number },
): WebSocketLike | undefined {
  if (typeof (Impl.prototype as { on?: unknown } | undefined)?.on !== 'function') return undefined;
  return new (Impl as unknown as WsConstructor)(url, protocols, {
    maxPayload: maxMessageBytes(limits.maxFrameBytes),
  });
}

/**
 * Listens to a `ws` socket's events through `listener`'s `handleEvent` (an EventListener object,
 * which spares a closure per event type); false for other sockets.
 * @internal
 */
export function listenToWs(socket: WebSocketLike, listener: { handleEvent(event: unknown): void }): boolean {
  if (!isWsSocket(socket)) return false;
  for (const type of ['message', 'error', 'close'] as const)
    socket.addEventListener(type as 'open', listener as unknown as () => void);
  return true;
}

/**
 * Sends `message` on a `ws` socket (see {@link isWsSocket}), with `done` called once `ws` confirms
 * the write, when the message left this process whole.
 * @internal
 */
export function sendConfirmed(socket: WebSocketLike, message: Uint8Array, done: (() => void) | false): void {
  (socket as WsSocket).send(message, done ? (error) => !error && done() : ignore);
}

function ignore(): void {}

/** Drops a `ws` socket at once (without waiting for the closing handshake). @internal */
export function terminateWs(socket: WebSocketLike): void {
  if (isWsSocket(socket)) socket.terminate();
}

/** The error code `ws` gives a message over its `maxPayload` (it closes with 1009 by itself). */
const WS_MESSAGE_TOO_BIG = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

/**
 * The error for `cause` when it is `ws` refusing a message over its `maxPayload` from its header
 * (it is closing with 1009 already); undefined for any other error.
 * @internal
 */
export function wsMessageTooBig(
  cause: unknown,
  settings: WebSocketSettings,
  writer: LinkWriter<unknown>,
): MessageTooLargeError | undefined {
  if ((cause as { code?: unknown } | undefined)?.code !== WS_MESSAGE_TOO_BIG) return undefined;
  const limit = maxMessageBytes(settings.writer.limits.maxFrameBytes);
  return new MessageTooLargeError(
    `A WebSocket message from ${settings.info().remote} was over ${limit} bytes, the most a message may carry here`,
    { limit, cause, write: writer.writeReport() },
  );
}
