import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { LENGTH_PREFIX_BYTES } from '../codec/framing.js';
import { ServerCapacityError, type RefusalReason, type WriteReport } from '../core/errors.js';
import type { RefusedEvent } from '../core/transport.js';
import { checkNumber, checkScheduler, type KnownOptions } from '../internal/validate.js';

/** The default of `frameTimeout`: 30 seconds. @internal */
export const DEFAULT_FRAME_TIMEOUT = 30_000;
/**
 * How long a connection that ended its side waits for its peer's end (a TCP FIN, a WebSocket close
 * frame) before it drops the socket: 30 seconds, as the `ws` package waits. @internal
 */
export const CLOSE_TIMEOUT = 30_000;
/** The default of `maxConnections`. @internal */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
/** The floor of the default of `maxPendingFrameBytes`: 64 MiB. @internal */
const PENDING_FLOOR = 64 * 1024 * 1024;

/**
 * How long a started frame may take to arrive whole, for a socket transport's connections.
 *
 * @example
 * ```ts
 * import type { FrameTimeoutOptions } from 'rx-lifeline/node';
 * const patient: FrameTimeoutOptions = { frameTimeout: 120_000 };
 * ```
 */
export interface FrameTimeoutOptions {
  /**
   * Milliseconds a frame may take from its first byte to its last; past it the connection fails
   * with a `FrameTimeoutError` and its bytes are dropped. `Infinity` turns the deadline off. It
   * bounds one frame, not an idle connection: a peer that sends nothing holds no frame (use
   * `heartbeat` to detect a silent peer).
   * @default 30_000
   */
  frameTimeout?: number;
  /**
   * The scheduler of the frame deadline and of the transport's other timers (a dial's
   * `connectTimeout`, the wait for the peer's end after this side closed, a WebSocket server's
   * deadline for an upgrade request); a test passes a virtual-time scheduler.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/**
 * The limits a socket server enforces across its connections, each refusal counted and reported
 * as a `refused` server event.
 *
 * @example
 * ```ts
 * import type { ServerLimitOptions } from 'rx-lifeline/node';
 * const limits: ServerLimitOptions = { maxConnections: 500, maxPendingFrameBytes: 256 * 1024 * 1024 };
 * ```
 */
export interface ServerLimitOptions extends FrameTimeoutOptions {
  /**
   * The most connections open at once, subscribed or not. A connection past it is closed as soon
   * as it arrives (a reset over TCP, close code 1013 over WebSocket), with a `refused` event and no
   * `connection` event. It limits concurrent connections, not connections over time.
   * @default 10_000
   */
  maxConnections?: number;
  /**
   * The most bytes held in unfinished frames across all of the server's connections. A connection
   * whose unfinished frame would take the total past it fails with a `ServerCapacityError` (its
   * bytes are dropped, the other connections keep theirs), with a `refused` event. A connection's
   * share is released when its frame completes or the connection ends. At least `maxFrameBytes` + 4.
   * @default 4 × (maxFrameBytes + 4), and at least 64 MiB
   */
  maxPendingFrameBytes?: number;
}

/** The options of {@link FrameTimeoutOptions}. @internal */
export const FRAME_TIMEOUT_OPTIONS: KnownOptions<FrameTimeoutOptions> = {
  frameTimeout: true,
  scheduler: true,
};

/** The options of {@link ServerLimitOptions}. @internal */
export const SERVER_LIMIT_OPTIONS: KnownOptions<ServerLimitOptions> = {
  maxConnections: true,
  maxPendingFrameBytes: true,
  ...FRAME_TIMEOUT_OPTIONS,
};

/** Resolved server limits. @internal */
export interface ServerLimits {
  readonly maxConnections: number;
  readonly maxPendingFrameBytes: number;
}

/** Resolves the frame deadline options. @internal */
export function resolveFrameTimeout(
  where: string,
  options: FrameTimeoutOptions,
): { frameTimeout: number; scheduler: SchedulerLike } {
  const { frameTimeout = DEFAULT_FRAME_TIMEOUT, scheduler = asyncScheduler } = options;
  if (frameTimeout !== Infinity)
    checkNumber(where, 'frameTimeout', frameTimeout, { min: 0, exclusive: true });
  return { frameTimeout, scheduler: checkScheduler(where, scheduler) };
}

/** Resolves and validates the server limits, for frames of at most `maxFrameBytes` (checked). @internal */
export function resolveServerLimits(
  where: string,
  options: ServerLimitOptions,
  maxFrameBytes: number,
): ServerLimits {
  const frameBytes = maxFrameBytes + LENGTH_PREFIX_BYTES;
  const {
    maxConnections = DEFAULT_MAX_CONNECTIONS,
    maxPendingFrameBytes = Math.max(PENDING_FLOOR, 4 * frameBytes),
  } = options;
  return {
    maxConnections: checkNumber(where, 'maxConnections', maxConnections, {
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
      integer: true,
    }),
    maxPendingFrameBytes: checkNumber(where, 'maxPendingFrameBytes', maxPendingFrameBytes, {
      min: frameBytes,
      max: Number.MAX_SAFE_INTEGER,
      integer: true,
    }),
  };
}

/**
 * One server's count of open connections and of bytes held in unfinished frames, with its
 * refusals. Each admitted connection is a {@link ConnectionAccount}. @internal
 */
export class ServerCapacity {
  #open = 0;
  /** Bytes held in unfinished frames, all connections together. */
  pendingBytes = 0;
  readonly #refusals: Record<RefusalReason, number> = {
    'max-connections': 0,
    'max-pending-frame-bytes': 0,
  };
  readonly #report: (event: RefusedEvent) => void;

  constructor(
    readonly limits: ServerLimits,
    report: (event: RefusedEvent) => void,
  ) {
    this.#report = report;
  }

  /**
   * A connection arrived: true when it is counted in (its {@link ConnectionAccount} releases it),
   * false when it must be refused (already reported).
   */
  admit(remote: string): boolean {
    if (this.#open >= this.limits.maxConnections) {
      this.refuse('max-connections', remote, this.limits.maxConnections);
      return false;
    }
    this.#open++;
    return true;
  }

  /** @internal */
  closed(): void {
    this.#open--;
  }

  /** Counts and reports a refusal; returns its error. @internal */
  refuse(reason: RefusalReason, remote: string, limit: number, write?: WriteReport): ServerCapacityError {
    const total = ++this.#refusals[reason];
    const what =
      reason === 'max-connections'
        ? `${limit} connections are open`
        : `its unfinished frame would take the server past ${limit} bytes held in unfinished frames`;
    const error = new ServerCapacityError(`Connection from ${remote} refused: ${what}`, {
      reason,
      limit,
      ...(write ? { write } : {}),
    });
    this.#report({ type: 'refused', reason, remote, total, error });
    return error;
  }
}

/**
 * One admitted connection's share of its server's capacity: the bytes it holds in an unfinished
 * frame, and its place until it is released. The base of each server's accepted sockets, so that
 * a connection is one object. @internal
 */
export abstract class ConnectionAccount {
  /** Bytes it holds in an unfinished frame; -1 once released (one field for both). */
  #held = 0;
  readonly #server: ServerCapacity;

  /** `server` admitted this connection (see {@link ServerCapacity.admit}). */
  constructor(server: ServerCapacity) {
    this.#server = server;
  }

  /** The peer's address, `host:port`, for refusals. */
  abstract get remote(): string;

  /**
   * The connection now holds `bytes` in an unfinished frame. Returns the refusal (counted and
   * reported) when that takes the server past its cap; the caller then fails the connection.
   */
  hold(bytes: number, write?: () => WriteReport): ServerCapacityError | undefined {
    if (this.#held < 0) return undefined;
    const server = this.#server;
    server.pendingBytes += bytes - this.#held;
    this.#held = bytes;
    const limit = server.limits.maxPendingFrameBytes;
    if (server.pendingBytes <= limit) return undefined;
    this.hold(0);
    return server.refuse('max-pending-frame-bytes', this.remote, limit, write?.());
  }

  /** The connection ended: its bytes and its place are given back. Idempotent. */
  release(): void {
    if (this.#held < 0) return;
    this.hold(0);
    this.#held = -1;
    this.#server.closed();
  }
}
