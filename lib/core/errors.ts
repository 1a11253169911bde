import { prototypeNamed } from '../policies/error-names.js';

/**
 * What is known about the last outbound frame when a connection failed: a request whose write
 * never completed can be resent, one written whole only if it is idempotent (the rule bzr adopted
 * for reconnecting clients, https://bugs.launchpad.net/bzr/+bug/819604).
 *
 * - `'none'`: no frame was ever sent on this connection.
 * - `'not-started'`: the last frame was queued, but none of its bytes were handed to the socket,
 *   or the socket refused its write outright (a TCP write failing at once with `ECONNRESET` after
 *   the peer's reset; a WebSocket already closing). Resending it cannot duplicate anything.
 * - `'partial'`: the socket took some of its bytes but never confirmed all of them. The peer may
 *   have the whole frame, part of it, or nothing.
 * - `'whole'`: the socket confirmed it accepted every byte of the frame. That is not proof that the
 *   peer read it, only that the frame left this process whole.
 * - `'unknown'`: the error arose outside a socket (a codec used on its own), so nothing is known.
 *
 * @example
 * ```ts
 * import type { WriteState } from 'rx-lifeline';
 * const neverLeft = (state: WriteState) => state === 'none' || state === 'not-started';
 * ```
 * @category Transports
 */
export type WriteState = 'none' | 'not-started' | 'partial' | 'whole' | 'unknown';

/**
 * The state of a connection's outbound side at the moment it failed.
 *
 * Frames are numbered per connection from 0 in the order `send` accepted them, every layer's
 * frames included (heartbeat pings share the numbering with application frames); a frame's index
 * is the link's `framesSent` just before its `send`. `framesLeft` splits them: the frames
 * below it may have reached the peer, the frames at or above it certainly did not, so resending
 * those cannot duplicate anything.
 *
 * @example
 * ```ts
 * import type { WriteReport } from 'rx-lifeline';
 * const report: WriteReport = { lastFrame: 'whole', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft: 3 };
 * const neverLeft = (index: number) => index >= report.framesLeft;
 * ```
 * @category Transports
 */
export interface WriteReport {
  /** What is known about the last frame passed to `send`. */
  readonly lastFrame: WriteState;
  /** Frames passed to `send` that the socket did not confirm as written whole. */
  readonly unconfirmedFrames: number;
  /** Bytes (framing included) passed to `send` that the socket did not confirm. */
  readonly unconfirmedBytes: number;
  /**
   * How many of the connection's frames, counted from its first, may have reached the peer, whole
   * or in part. Frames with an index at or above it certainly did not: they were never handed to
   * the socket, the socket refused their write outright, or (memory transport) the transport knows
   * they were not delivered. It never
   * exceeds the frames sent; `Infinity` when nothing is known ({@link UNKNOWN_WRITE}).
   */
  readonly framesLeft: number;
}

/**
 * The report used where no socket is involved.
 *
 * @example
 * ```ts
 * import { UNKNOWN_WRITE } from 'rx-lifeline';
 * console.log(UNKNOWN_WRITE.lastFrame); // 'unknown'
 * ```
 * @category Transports
 */
export const UNKNOWN_WRITE: WriteReport = Object.freeze({
  lastFrame: 'unknown',
  unconfirmedFrames: 0,
  unconfirmedBytes: 0,
  framesLeft: Infinity,
});

/**
 * The phase of a connection's life in which it failed.
 *
 * - `'dial'`: before the connection was established (refused, unreachable, timed out).
 * - `'write'`: the socket failed while writing.
 * - `'read'`: the socket failed while reading, or the bytes read were not valid frames.
 * - `'close'`: the peer closed the connection in an unclean way (mid-frame, or with an error code).
 *
 * @example
 * ```ts
 * import type { ConnectionPhase } from 'rx-lifeline';
 * const beforeConnect = (phase: ConnectionPhase) => phase === 'dial';
 * ```
 * @category Transports
 */
export type ConnectionPhase = 'dial' | 'write' | 'read' | 'close';

type ErrorClass<T> = abstract new (...args: never[]) => T;

/**
 * The base class of every error lifeline raises. Every subclass has a stable `name`, keeps the
 * underlying error in `cause`, and has a static type guard `is()` that also recognises errors made
 * by another copy of lifeline (it compares names along the prototype chain, not identities).
 *
 * @example
 * ```ts
 * import { LifelineError, ConnectionError } from 'rx-lifeline';
 * function describe(error: unknown): string {
 *   if (ConnectionError.is(error)) return `${error.name} while ${error.phase}`;
 *   return LifelineError.is(error) ? error.message : String(error);
 * }
 * ```
 * @category Transports
 */
export class LifelineError extends Error {
  // The fields of lifeline's error classes are `declare`d and assigned by their constructors, each
  // in the order declared: a declared field emits no JavaScript, so its name is in a bundle once.

  /**
   * @internal The stable name, put on the prototype by the first construction (see `nameClasses`).
   * A string literal, so a bundler drops a class nothing uses.
   */
  protected static readonly named: string = 'LifelineError';

  /**
   * True when `value` is an instance of this class or of a subclass, even one created by another
   * copy of the library.
   */
  static is<T>(this: ErrorClass<T>, value: unknown): value is T {
    if (value instanceof this) return true;
    if (typeof value !== 'object' || value === null) return false;
    return prototypeNamed(
      Object.getPrototypeOf(value) as object | null,
      (this as unknown as { named: string }).named,
    );
  }

  constructor(message: string, options?: { cause?: unknown }) {
    // Before `super`: an engine that writes the stack's first line there finds the name already.
    nameClasses(new.target);
    super(message, options);
  }
}

/**
 * Options every {@link ConnectionError} takes.
 *
 * @example
 * ```ts
 * import { ConnectionResetError, type ConnectionErrorOptions } from 'rx-lifeline';
 * const options: ConnectionErrorOptions = { phase: 'read', code: 'ECONNRESET' };
 * const error = new ConnectionResetError('reset by peer', options);
 * ```
 * @category Transports
 */
export interface ConnectionErrorOptions {
  /** The underlying error, e.g. Node's `ECONNRESET` error. */
  cause?: unknown;
  /** The phase in which the connection failed. */
  phase: ConnectionPhase;
  /** What is known about outbound frames; defaults to {@link UNKNOWN_WRITE}. */
  write?: WriteReport | undefined;
  /** A system error code (`ECONNREFUSED`, `ECONNRESET`, …) or WebSocket close code, when known. */
  code?: string | number | undefined;
}

/**
 * A connection failed. Says in which {@link ConnectionPhase} and what is known about the last
 * outbound frame ({@link WriteReport}), so a retry decision can be made safely: a frame whose
 * write never started can always be resent; one that left whole only if it is idempotent.
 *
 * @example
 * ```ts
 * import { ConnectionError } from 'rx-lifeline';
 * function safeToResend(error: unknown, idempotent: boolean): boolean {
 *   if (!ConnectionError.is(error)) return false;
 *   const last = error.write.lastFrame;
 *   return last === 'none' || last === 'not-started' || idempotent;
 * }
 * ```
 * @category Transports
 */
export class ConnectionError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'ConnectionError';

  /** The phase in which the connection failed. */
  declare readonly phase: ConnectionPhase;
  /** What is known about outbound frames at the moment of failure. */
  declare readonly write: WriteReport;
  /** A system error code or WebSocket close code, when known. */
  declare readonly code: string | number | undefined;

  constructor(message: string, options: ConnectionErrorOptions) {
    super(message, { cause: options.cause });
    this.phase = options.phase;
    this.write = options.write ?? UNKNOWN_WRITE;
    this.code = options.code;
  }
}

/**
 * The connection could not be established: refused, unreachable, or it timed out.
 * Nothing was sent, so anything may be retried.
 *
 * @example
 * ```ts
 * import { DialError } from 'rx-lifeline';
 * const refused = (e: unknown) => DialError.is(e) && e.code === 'ECONNREFUSED';
 * ```
 * @category Transports
 */
export class DialError extends ConnectionError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'DialError';

  constructor(message: string, options: Omit<ConnectionErrorOptions, 'phase' | 'write'>) {
    super(message, { ...options, phase: 'dial', write: NOTHING_SENT });
  }
}

/**
 * An established connection broke: reset, aborted, or a write failed (`EPIPE`).
 *
 * @example
 * ```ts
 * import { ConnectionResetError } from 'rx-lifeline';
 * const wasReset = (e: unknown) => ConnectionResetError.is(e);
 * ```
 * @category Transports
 */
export class ConnectionResetError extends ConnectionError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'ConnectionResetError';
}

/**
 * The peer closed the connection uncleanly: in the middle of a frame, or (WebSocket) with a close
 * code other than 1000/1001. `code` and `reason` carry what the peer said, if anything.
 *
 * @example
 * ```ts
 * import { PeerClosedError } from 'rx-lifeline';
 * const reasonOf = (e: unknown) => (PeerClosedError.is(e) ? e.reason : undefined);
 * ```
 * @category Transports
 */
export class PeerClosedError extends ConnectionError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'PeerClosedError';

  /** The peer's close reason, when the protocol carries one (WebSocket). */
  declare readonly reason: string;
  /**
   * The peer's hint of when to come back, in milliseconds, read from a close reason such as
   * `retry in 3000 ms` or `retry in 5 s`. A retry policy takes it as a floor on its next delay,
   * above the policy's own maximum, up to its `maxHint`. Undefined when the peer gave none.
   */
  declare readonly retryAfterMs: number | undefined;

  constructor(message: string, options: Omit<ConnectionErrorOptions, 'phase'> & { reason?: string }) {
    super(message, { ...options, phase: 'close' });
    this.reason = options.reason ?? '';
    this.retryAfterMs = retryHintOf(this.reason);
  }
}

/** Reads a "retry in N ms" / "retry in N s" hint from a close reason. */
function retryHintOf(reason: string): number | undefined {
  const match = /\bretry in (\d{1,10}(?:\.\d+)?)\s*(ms|s)\b/i.exec(reason);
  if (!match) return undefined;
  const value = Number(match[1]) * (match[2]!.toLowerCase() === 's' ? 1000 : 1);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The bytes read were not valid frames: a malformed length prefix or msgpack body, trailing bytes
 * after a value, or a message truncated inside a frame. `offset` is the byte offset, counted from
 * the start of the connection's inbound stream, of the frame that was wrong. Retrying will not help.
 *
 * @example
 * ```ts
 * import { ProtocolError } from 'rx-lifeline';
 * const where = (e: unknown) => (ProtocolError.is(e) ? e.offset : -1);
 * ```
 * @category Transports
 */
export class ProtocolError extends ConnectionError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'ProtocolError';

  /**
   * Byte offset of the offending frame in the inbound stream, or -1 when a protocol layer above the
   * framing (heartbeat, sessions) rejected a frame that decoded fine.
   */
  declare readonly offset: number;

  constructor(
    message: string,
    options: { offset: number; cause?: unknown; write?: WriteReport | undefined; phase?: ConnectionPhase },
  ) {
    super(message, { phase: 'read', ...options });
    this.offset = options.offset;
  }
}

/**
 * A frame's length prefix announced more bytes than the configured maximum. Raised before any of
 * the frame's body is buffered, so a hostile prefix cannot make the reader allocate.
 *
 * @example
 * ```ts
 * import { FrameTooLargeError } from 'rx-lifeline';
 * const tooBig = (e: unknown) => (FrameTooLargeError.is(e) ? `${e.size} > ${e.limit}` : '');
 * ```
 * @category Transports
 */
export class FrameTooLargeError extends ProtocolError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'FrameTooLargeError';

  /** The size the frame announced, in bytes. */
  declare readonly size: number;
  /** The largest frame accepted, in bytes. */
  declare readonly limit: number;

  constructor(
    message: string,
    options: { offset: number; size: number; limit: number; write?: WriteReport; phase?: ConnectionPhase },
  ) {
    super(message, options);
    this.size = options.size;
    this.limit = options.limit;
  }
}

/**
 * A WebSocket message was larger than the receiver accepts: its largest frame plus the length
 * prefix, or 64 KiB for a message of several frames, whichever is more. The message was refused
 * from its header, before its payload was buffered, and the peer was sent close code 1009 (message
 * too big). Retrying will not help: the peer sends frames larger than this side's `maxFrameBytes`.
 *
 * @example
 * ```ts
 * import { MessageTooLargeError } from 'rx-lifeline';
 * const limitOf = (e: unknown) => (MessageTooLargeError.is(e) ? e.limit : undefined);
 * ```
 */
export class MessageTooLargeError extends ProtocolError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'MessageTooLargeError';

  /** The largest message accepted, in bytes. */
  declare readonly limit: number;

  constructor(message: string, options: { limit: number; cause?: unknown; write?: WriteReport }) {
    super(message, { offset: -1, ...options });
    this.limit = options.limit;
  }
}

/**
 * The peer started a frame and did not finish it within the connection's `frameTimeout`: the bytes
 * of a frame are held only that long. Only that connection fails. A new connection may succeed (the
 * network may have been slow), so a retry policy treats it as transient.
 *
 * @example
 * ```ts
 * import { FrameTimeoutError } from 'rx-lifeline';
 * const held = (e: unknown) => (FrameTimeoutError.is(e) ? `${e.bufferedBytes} bytes for ${e.timeout} ms` : '');
 * ```
 */
export class FrameTimeoutError extends ConnectionError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'FrameTimeoutError';

  /** The deadline that passed, in milliseconds. */
  declare readonly timeout: number;
  /** The bytes of the unfinished frame that had arrived. */
  declare readonly bufferedBytes: number;

  constructor(message: string, options: { timeout: number; bufferedBytes: number; write?: WriteReport }) {
    super(message, { phase: 'read', write: options.write });
    this.timeout = options.timeout;
    this.bufferedBytes = options.bufferedBytes;
  }
}

/**
 * Which server limit refused a connection: `'max-connections'` (it arrived when the server already
 * had `maxConnections` open) or `'max-pending-frame-bytes'` (its unfinished frame took the bytes
 * held in unfinished frames, across all of the server's connections, past `maxPendingFrameBytes`).
 *
 * @example
 * ```ts
 * import type { RefusalReason } from 'rx-lifeline';
 * const busy = (reason: RefusalReason) => reason === 'max-connections';
 * ```
 */
export type RefusalReason = 'max-connections' | 'max-pending-frame-bytes';

/**
 * A server refused a connection because one of its limits was reached ({@link RefusalReason}).
 * The server reports each refusal as a `refused` event carrying this error; a connection refused
 * while subscribed also errors with it. The peer sees a reset (TCP) or close code 1013, try again
 * later (WebSocket).
 *
 * @example
 * ```ts
 * import { ServerCapacityError } from 'rx-lifeline';
 * const why = (e: unknown) => (ServerCapacityError.is(e) ? `${e.reason}: limit ${e.limit}` : '');
 * ```
 */
export class ServerCapacityError extends ConnectionError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'ServerCapacityError';

  /** The limit that was reached. */
  declare readonly reason: RefusalReason;
  /** Its configured value: a count of connections, or bytes. */
  declare readonly limit: number;

  constructor(message: string, options: { reason: RefusalReason; limit: number; write?: WriteReport }) {
    super(message, { phase: 'read', write: options.write });
    this.reason = options.reason;
    this.limit = options.limit;
  }
}

/**
 * `send` was called on a link that is closed. The frame was not queued.
 *
 * @example
 * ```ts
 * import { LinkClosedError } from 'rx-lifeline';
 * const isClosed = (e: unknown) => LinkClosedError.is(e);
 * ```
 * @category Transports
 */
export class LinkClosedError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'LinkClosedError';
}

/**
 * `send` would have pushed the link's outbound queue past its hard cap (`maxBufferedBytes`).
 * The frame was not queued; the connection stays open. Wait for `drain$` and send again.
 *
 * @example
 * ```ts
 * import { SendBufferFullError } from 'rx-lifeline';
 * const full = (e: unknown) => (SendBufferFullError.is(e) ? e.bufferedBytes : 0);
 * ```
 * @category Transports
 */
export class SendBufferFullError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'SendBufferFullError';

  /** Bytes already queued when the frame was refused. */
  declare readonly bufferedBytes: number;
  /** The cap that would have been exceeded. */
  declare readonly limit: number;

  constructor(message: string, options: { bufferedBytes: number; limit: number }) {
    super(message);
    this.bufferedBytes = options.bufferedBytes;
    this.limit = options.limit;
  }
}

/**
 * A value could not be encoded as a frame (msgpackr refused it), or the encoded frame is larger
 * than the link's maximum frame size. Nothing was queued.
 *
 * @example
 * ```ts
 * import { EncodeError } from 'rx-lifeline';
 * const notEncodable = (e: unknown) => EncodeError.is(e);
 * ```
 * @category Transports
 */
export class EncodeError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'EncodeError';
}

/**
 * A server could not listen, or its listener failed: the address is in use (`EADDRINUSE`), not
 * available on this host (`EADDRNOTAVAIL`), or not permitted (`EACCES`). No connection was affected,
 * because none was accepted on that address.
 *
 * @example
 * ```ts
 * import { ListenError } from 'rx-lifeline';
 * const inUse = (e: unknown) => ListenError.is(e) && e.code === 'EADDRINUSE';
 * ```
 * @category Transports
 */
export class ListenError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'ListenError';

  /** The system error code (`EADDRINUSE`, …), when known. */
  declare readonly code: string | undefined;
  /** The address the server tried to listen on, as `host:port`. */
  declare readonly address: string;

  constructor(message: string, options: { address: string; code?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.code = options.code;
    this.address = options.address;
  }
}

/**
 * An HTTP server answered with a status outside 2xx ({@link http} raises it). It carries what a
 * retry decision and a log line need: the `status` ({@link classifyFailure} reads it: 503 is
 * transient, 500 and 4xx permanent), the server's `Retry-After` hint as `retryAfterMs`
 * ({@link RetryPolicy.decide} waits at least that long, up to the policy's `max`), the start of
 * the body, and whether the request was `idempotent` — when it was not, the classifier calls the
 * error permanent, because the server may have acted on the request already.
 *
 * It holds at most 4 KiB of the body, decoded as UTF-8; the rest is never read.
 *
 * @example
 * ```ts
 * import { HttpError } from 'rx-lifeline';
 * const error = new HttpError('GET https://example.com/ failed: 503', {
 *   status: 503,
 *   method: 'GET',
 *   url: 'https://example.com/',
 *   retryAfterMs: 1_000,
 *   idempotent: true,
 * });
 * const summary = (e: unknown) => (HttpError.is(e) ? `${e.status} ${e.statusText}` : String(e));
 * console.log(summary(error)); // '503 '
 * ```
 * @category Transports
 */
export class HttpError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'HttpError';

  /** The response status, 100–599 (in practice 3xx–5xx: fetch follows redirects). */
  declare readonly status: number;
  /** The response's reason phrase; empty over HTTP/2 and HTTP/3, which have none. */
  declare readonly statusText: string;
  /** The request method, upper-case for the standard methods. */
  declare readonly method: string;
  /** The URL requested (not the one a redirect led to). */
  declare readonly url: string;
  /** The response headers. */
  declare readonly headers: Headers;
  /**
   * The server's `Retry-After`, in milliseconds from when the response arrived; `undefined` when the
   * header is absent, not a valid delta-seconds or HTTP-date, or a date already past.
   */
  declare readonly retryAfterMs: number | undefined;
  /** The first 4 KiB (at most) of the response body, decoded as UTF-8. */
  declare readonly bodyText: string;
  /**
   * Whether the request may be sent twice with the effect of once: its method is idempotent, it had
   * an `Idempotency-Key`, or the caller said so. When false, {@link classifyFailure} calls the
   * error permanent whatever the status.
   */
  declare readonly idempotent: boolean;

  constructor(
    message: string,
    options: {
      status: number;
      method: string;
      url: string;
      idempotent: boolean;
      statusText?: string | undefined;
      headers?: Headers | undefined;
      retryAfterMs?: number | undefined;
      bodyText?: string | undefined;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.statusText = options.statusText ?? '';
    this.method = options.method;
    this.url = options.url;
    this.headers = options.headers ?? new Headers();
    this.retryAfterMs = options.retryAfterMs;
    this.bodyText = options.bodyText ?? '';
    this.idempotent = options.idempotent;
  }
}

const NOTHING_SENT: WriteReport = Object.freeze({
  lastFrame: 'none',
  unconfirmedFrames: 0,
  unconfirmedBytes: 0,
  framesLeft: 0,
});

/**
 * Puts each class's stable `name` (its static `named`) on its prototype, from `errorClass` up to
 * the first class already named, so `name` survives minifiers and {@link LifelineError.is} finds
 * it along the chain. It runs on construction rather than at class definition: a static field
 * that calls a function is code a bundler must keep, and TypeScript drops the `@__PURE__`
 * annotation that would let it go, so every error class of an imported module would ship.
 * A subclass without its own `named` (an application's) keeps its parent's name.
 */
function nameClasses(errorClass: abstract new (...args: never[]) => Error): void {
  for (
    let current: { prototype: object; named?: string } = errorClass as never;
    !Object.hasOwn(current.prototype, 'name');
    current = Object.getPrototypeOf(current) as typeof current
  ) {
    if (Object.hasOwn(current, 'named')) {
      Object.defineProperty(current.prototype, 'name', {
        value: current.named,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    }
  }
}
