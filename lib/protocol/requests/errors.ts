import { LifelineError, type WriteReport } from '../../core/errors.js';

// Each constructor copies its options, whose keys are the fields it declares, with one
// Object.assign; a `cause` among them is Error's own (non-enumerable) property, set by `super`.

/**
 * A request's outcome is unknown: its frame may have reached the server before the
 * connection broke (its index is below the link's `WriteReport.framesLeft`), it is not idempotent,
 * and no resumable session carries it across the break, so the server may or may not have acted
 * on it. It was not sent again. Find out (read the state back) before retrying.
 * Also raised when part of a streamed response had arrived: the rest is lost either way.
 *
 * @example
 * ```ts
 * import { AmbiguousOutcomeError } from 'rx-lifeline';
 * const verdict = (e: unknown) =>
 *   AmbiguousOutcomeError.is(e) ? (e.confirmed ? 'reached the socket whole' : 'maybe sent') : 'other';
 * ```
 * @category Sessions
 */
export class AmbiguousOutcomeError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'AmbiguousOutcomeError';

  /** The request's id on the wire. */
  declare readonly id: number;
  /**
   * True when the socket confirmed the request's frame whole before the break (it left this
   * process; the peer may still not have read it). False when that is unknown.
   */
  declare readonly confirmed: boolean;
  /** Response values that had arrived before the break (streamed responses). */
  declare readonly valuesReceived: number;
  /** What the broken connection's link reported about its outbound side. */
  declare readonly write: WriteReport;

  constructor(
    message: string,
    options: { id: number; confirmed: boolean; valuesReceived: number; write: WriteReport; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    Object.assign(this, options);
  }
}

/**
 * A request got no complete response within its `timeout`. A cancel was sent to the server (when
 * the request had reached a connection), so its handler stops.
 *
 * @example
 * ```ts
 * import { RequestTimeoutError } from 'rx-lifeline';
 * const after = (e: unknown) => (RequestTimeoutError.is(e) ? e.timeout : 0);
 * ```
 * @category Sessions
 */
export class RequestTimeoutError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'RequestTimeoutError';

  /** The request's id on the wire; 0 when it timed out before it was sent. */
  declare readonly id: number;
  /** The timeout that expired, in milliseconds. */
  declare readonly timeout: number;

  constructor(message: string, options: { id: number; timeout: number }) {
    super(message);
    Object.assign(this, options);
  }
}

/**
 * Why a request was cancelled by its stream: the link was `'closed'`, the stream was
 * `'unsubscribed'`, or it `'failed'` (the policy gave up, the session was lost, a protocol error).
 *
 * @example
 * ```ts
 * import type { CancelReason } from 'rx-lifeline';
 * const retryLater = (reason: CancelReason) => reason === 'failed';
 * ```
 * @category Sessions
 */
export type CancelReason = 'closed' | 'unsubscribed' | 'failed';

/**
 * A pending request was settled because its stream ended for good (on quit, every
 * pending request is cancelled rather than left waiting). `cause` is the stream's error when it failed.
 *
 * @example
 * ```ts
 * import { RequestCancelledError } from 'rx-lifeline';
 * const why = (e: unknown) => (RequestCancelledError.is(e) ? e.reason : undefined);
 * ```
 * @category Sessions
 */
export class RequestCancelledError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'RequestCancelledError';

  /** Why the stream ended. */
  declare readonly reason: CancelReason;

  constructor(message: string, options: { reason: CancelReason; cause?: unknown }) {
    super(message, { cause: options.cause });
    Object.assign(this, options);
  }
}

/**
 * A request was refused because `maxPending` requests are already waiting for their responses.
 * Nothing was sent.
 *
 * @example
 * ```ts
 * import { PendingRequestsFullError } from 'rx-lifeline';
 * const cap = (e: unknown) => (PendingRequestsFullError.is(e) ? e.limit : 0);
 * ```
 * @category Sessions
 */
export class PendingRequestsFullError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'PendingRequestsFullError';

  /** The cap, `maxPending`. */
  declare readonly limit: number;

  constructor(message: string, options: { limit: number }) {
    super(message);
    Object.assign(this, options);
  }
}

/**
 * A frame could not be queued while the connection is away: `maxQueued` frames, or frames
 * adding up to `maxQueuedBytes`, are waiting already (`unit` says which cap). The frame was not
 * queued and nothing queued was dropped.
 *
 * @example
 * ```ts
 * import { SendQueueFullError } from 'rx-lifeline';
 * const cap = (e: unknown) => (SendQueueFullError.is(e) ? e.limit : 0);
 * ```
 * @category Sessions
 */
export class SendQueueFullError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'SendQueueFullError';

  /** The cap that refused the frame: `maxQueued` (frames) or `maxQueuedBytes` (bytes). */
  declare readonly limit: number;
  /** Which cap: frames or bytes. */
  declare readonly unit: 'frames' | 'bytes';

  constructor(message: string, options: { limit: number; unit?: 'frames' | 'bytes' }) {
    super(message);
    Object.assign(this, options);
    this.unit = options.unit ?? 'frames';
  }
}

/**
 * The other end failed: on a client, the server's handler (the request's error response); on a
 * server, the client's streamed request body (what a handler's `body$` errors with when the body
 * Observable failed on the client). Only the error's `name` (as `remoteName`) and `message` cross
 * the wire: never a stack, never a class, so neither end can be made to construct anything.
 *
 * @example
 * ```ts
 * import { RemoteError } from 'rx-lifeline';
 * const notFound = (e: unknown) => RemoteError.is(e) && e.remoteName === 'NotFoundError';
 * ```
 * @category Sessions
 */
export class RemoteError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'RemoteError';

  /** The request's id on the wire. */
  declare readonly id: number;
  /** The `name` of the error the other end raised, as it sent it. */
  declare readonly remoteName: string;

  constructor(message: string, options: { id: number; remoteName: string }) {
    super(message);
    Object.assign(this, options);
  }
}

/**
 * A request with a streamed `body` was refused before anything was sent: the connection's
 * handshake negotiated requests layer v1 (the server speaks requests v1), and streamed bodies need
 * v2. Send the body inside the payload, or upgrade the server. Without a handshake the client
 * cannot know the server's version, and sends the body (a v1 server then fails the connection with
 * a `ProtocolError`).
 *
 * @example
 * ```ts
 * import { RequestBodyUnsupportedError } from 'rx-lifeline';
 * const serverSpeaks = (e: unknown) => (RequestBodyUnsupportedError.is(e) ? e.version : undefined);
 * ```
 * @category Sessions
 */
export class RequestBodyUnsupportedError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'RequestBodyUnsupportedError';

  /** The requests layer version the handshake negotiated (1). */
  declare readonly version: number;
  /** The version a streamed body needs. */
  declare readonly needs: number;

  constructor(message: string, options: { version: number; needs: number }) {
    super(message);
    Object.assign(this, options);
  }
}

/**
 * On a server: a request's streamed body outran its handler. More than `serveRequests`'
 * `maxBodyChunks` body chunks, or chunks adding up to more than `maxBodyBytes`, arrived that the
 * handler had not read (it had not subscribed `context.body$` yet). The request fails, not the
 * connection: its handler is cancelled (this error is the signal's `reason`), its remaining body
 * chunks are dropped, and the client gets an error response named `'RequestBodyOverflowError'`
 * (a {@link RemoteError} there).
 *
 * @example
 * ```ts
 * import { RequestBodyOverflowError } from 'rx-lifeline';
 * const tooMuch = (signal: AbortSignal) => RequestBodyOverflowError.is(signal.reason);
 * ```
 * @category Sessions
 */
export class RequestBodyOverflowError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'RequestBodyOverflowError';

  /** The request's id on the wire. */
  declare readonly id: number;
  /** The cap that was exceeded: `maxBodyChunks` (chunks) or `maxBodyBytes` (bytes). */
  declare readonly limit: number;
  /** Which cap: body chunks or their bytes. */
  declare readonly unit: 'chunks' | 'bytes';

  constructor(message: string, options: { id: number; limit: number; unit: 'chunks' | 'bytes' }) {
    super(message);
    Object.assign(this, options);
  }
}
