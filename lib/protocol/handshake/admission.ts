import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs';
import { describeValue } from '../../internal/describe-value.js';
import {
  checkKnownOptions,
  checkNumber,
  checkScheduler,
  type KnownOptions,
} from '../../internal/validate.js';
import { ServerDrain, type DrainedServer, type DrainingLayer } from './drain.js';

/**
 * Options of {@link HandshakeAdmission}.
 *
 * @example
 * ```ts
 * import type { HandshakeAdmissionOptions } from 'rx-lifeline';
 * const options: HandshakeAdmissionOptions = { perSecond: 200, burst: 50, maxWait: 60_000 };
 * ```
 * @category Handshake
 */
export interface HandshakeAdmissionOptions {
  /**
   * Handshakes admitted per second, on average.
   * @default Infinity (no rate limit: the object then only drains)
   */
  perSecond?: number;
  /**
   * Handshakes admitted at once after a quiet spell (the bucket's size).
   * @default perSecond (1 when perSecond is Infinity: unused)
   */
  burst?: number;
  /**
   * The longest wait a refusal asks for, in milliseconds: the queue of refused clients is spread
   * over at most this long, and a refusal past it asks for `maxWait`.
   * @default 60_000
   */
  maxWait?: number;
  /**
   * The most connections admitted and open at once (a connected client holds one, with its
   * session): a handshake that would open one more is refused `'overloaded'` once it is otherwise
   * accepted (after `authenticate`), with a hint of at least `fullRetryAfterMs` (one slot of the
   * rate later for each next refusal, as above), and the client comes back then. A session
   * waiting to be resumed holds no connection: `acceptSessions`' `maxSessions` bounds those.
   * @default Infinity
   */
  maxConnections?: number;
  /**
   * The hint of a refusal because `maxConnections` are open, in milliseconds: a connection frees
   * when a client leaves, which the server cannot foresee.
   * @default 1_000
   */
  fullRetryAfterMs?: number;
  /** Reads the clock. @default asyncScheduler */
  scheduler?: SchedulerLike;
}

/** A connection that can be told to leave. @internal */
export interface Departing {
  /** Sends a go-away with the hint, then closes gracefully. */
  goAway(retryAfterMs: number): void;
}

/**
 * Options of {@link HandshakeAdmission.drain}.
 *
 * @example
 * ```ts
 * import type { DrainOptions } from 'rx-lifeline';
 * // Clients come back after 500 ms (to another process); requests get 10 s to finish.
 * const options: DrainOptions = { retryAfterMs: 500, timeout: 10_000 };
 * ```
 * @category Handshake
 */
export interface DrainOptions {
  /**
   * The hint sent with the first go-away or refusal: the milliseconds after which a client
   * should come back (an integer from 0 to a day). A client with several servers goes to another
   * one meanwhile; a client of this server alone comes back once it restarted. With a rate
   * (`perSecond`), each next client is told one slot of that rate later (at most `maxWait` more),
   * so the crowd comes back at the rate a server admits instead of in one instant; without one,
   * every client gets this hint.
   * @default 1_000
   */
  retryAfterMs?: number;
  /**
   * Milliseconds from `drain()` that the requests already running (on a {@link serveRequests}
   * given this admission) have to finish and have their responses written, before the go-aways
   * leave. A request still running then is cut with its connection: its client learns it, typed
   * (see {@link HandshakeAdmission.drain}). It does not bound the close of a connection after
   * its go-away, nor the writes to a session store that follow.
   * @default 30_000 (cancelPending's default request timeout: a client waits no longer anyway)
   */
  timeout?: number;
}

const DRAIN_OPTIONS: KnownOptions<DrainOptions> = { retryAfterMs: true, timeout: true };

const OPTIONS: KnownOptions<HandshakeAdmissionOptions> = {
  perSecond: true,
  burst: true,
  maxWait: true,
  maxConnections: true,
  fullRetryAfterMs: true,
  scheduler: true,
};

/**
 * Admission control for handshakes, shared by every connection of a server: a token bucket admits
 * `perSecond` handshakes on average (`burst` at once), and each one over it is refused
 * `'overloaded'` with a hint of when to come back. The hints form a queue: the refused clients are
 * told to return one per slot of the admission rate (the first in one slot, the next in two, …),
 * so a restart storm of thousands of clients comes back spread at the rate the server admits,
 * instead of all at once when their backoffs happen to meet. The client's retry policy takes the
 * hint as its next delay ({@link RetryPolicy.maxHint}). Pass it as {@link AcceptHandshakeConfig.admission};
 * it is checked before the hello is parsed or `authenticate` runs, so the excess costs little.
 *
 * @example
 * ```ts
 * import { acceptHandshake, HandshakeAdmission } from 'rx-lifeline';
 * const admission = new HandshakeAdmission({ perSecond: 200, burst: 50 });
 * // One admission for the whole server, one acceptHandshake per connection.
 * const perConnection = () => acceptHandshake({ layers: ['heartbeat', 'resumable'], admission });
 * ```
 * @category Handshake
 */
export class HandshakeAdmission {
  readonly #interval: number;
  readonly #burst: number;
  readonly #maxWait: number;
  readonly #maxConnections: number;
  readonly #fullRetryAfterMs: number;
  readonly #scheduler: SchedulerLike;
  #tokens: number;
  #refilledAt: number;
  /** When the last refused client was told to come back: the end of the queue. */
  #queueEnd = -Infinity;
  /** When the last client told to go away (or refused) while draining was told to come back. */
  #drainQueueEnd = -Infinity;
  #counts = { admitted: 0, refused: 0 };
  /** The accepted connections still open, each able to be told to go away. */
  readonly #open = new Set<Departing>();
  /** Set by {@link drain}: every handshake from then on is refused with its hint. */
  #draining: ServerDrain | undefined;
  /** Requests running on this server's connections and sessions (see {@link working}). */
  #running = 0;
  /** The layers above the handshake that take part in a drain (see {@link joinDrain}). */
  readonly #layers = new Set<DrainingLayer>();

  constructor(options: HandshakeAdmissionOptions = {}) {
    const where = 'HandshakeAdmission';
    checkKnownOptions(where, options, OPTIONS);
    const perSecond = checkNumber(where, 'perSecond', options.perSecond ?? Infinity, {
      min: 0,
      exclusive: true,
      max: Infinity,
    });
    const finite = Number.isFinite(perSecond);
    this.#burst = checkNumber(where, 'burst', options.burst ?? (finite ? perSecond : 1), {
      min: 1,
      max: 1e9,
    });
    this.#maxWait = checkNumber(where, 'maxWait', options.maxWait ?? 60_000, { min: 0, max: 86_400_000 });
    this.#maxConnections = checkNumber(where, 'maxConnections', options.maxConnections ?? Infinity, {
      min: 1,
      max: Infinity,
      integer: true,
    });
    this.#fullRetryAfterMs = checkNumber(where, 'fullRetryAfterMs', options.fullRetryAfterMs ?? 1_000, {
      min: 1,
      max: 86_400_000,
      integer: true,
    });
    this.#interval = 1000 / perSecond;
    this.#scheduler = checkScheduler(where, options.scheduler ?? asyncScheduler);
    this.#tokens = this.#burst;
    this.#refilledAt = this.#scheduler.now();
  }

  /**
   * Handshakes admitted and refused so far, the connections open, the requests running (on a
   * {@link serveRequests} given this admission), and whether it drains.
   */
  get stats(): {
    readonly admitted: number;
    readonly refused: number;
    readonly open: number;
    readonly running: number;
    readonly draining: boolean;
  } {
    return {
      ...this.#counts,
      open: this.#open.size,
      running: this.#running,
      draining: this.#draining !== undefined,
    };
  }

  /**
   * A graceful close of the whole server, as a rolling deploy does it, in four steps:
   *
   * 1. From now on every handshake is refused `'overloaded'` with `retryAfterMs` (clients go to
   *    another server, or come back to this one once it restarted), and every request that
   *    arrives on a {@link serveRequests} given this admission is refused, not run: its client
   *    gets a {@link RemoteError} named `'ServerDrainingError'`, and may send it again elsewhere.
   * 2. The requests already running finish, for at most `timeout`, and an
   *    {@link acceptSessions} given this admission writes what they answered to the connections.
   * 3. Every connection admitted and still open is sent a go-away with the hint, then closed once
   *    what it had queued is written. Each client's handshake fails that connection with a
   *    `PeerClosedError` carrying the hint, which its retry policy honours.
   * 4. Once the last connection has closed, that `acceptSessions` waits until its session store
   *    has every frame its sessions took (so a process that exits now loses none: each client
   *    resumes on another process with nothing lost), then ends its sessions on this process
   *    (their `events$` complete; a send on their link throws). A store that refuses a write ends
   *    that session with a `SessionStoreError` that hands back the frames that never left.
   *
   * A request still running at `timeout` is cut: its handler is cancelled once the connections
   * have closed, and its client learns it, typed, when it comes back: with a session store the
   * session resumes elsewhere and the request is sent again if idempotent, or fails with
   * {@link AmbiguousOutcomeError}; without one the session is lost (`SessionLostError`, which
   * counts the requests). A session kept only in this process's memory does not survive: its client
   * learns it, typed, on its next connection (`SessionLostError` `'unknown-session'`).
   *
   * Returns an Observable that completes once drained (at once when nothing is open). The drain
   * starts at the call, not at the subscription. Draining again changes the hint from then on;
   * the first timeout stands.
   *
   * @example
   * ```ts
   * import { HandshakeAdmission } from 'rx-lifeline';
   * const admission = new HandshakeAdmission();
   * // Pass it to acceptHandshake, acceptSessions and serveRequests; on SIGTERM:
   * process.once('SIGTERM', () => {
   *   admission.drain({ retryAfterMs: 500, timeout: 10_000 }).subscribe({ complete: () => process.exit(0) });
   * });
   * ```
   */
  drain(options: DrainOptions = {}): Observable<void> {
    const where = 'HandshakeAdmission.drain';
    checkKnownOptions(where, options, DRAIN_OPTIONS);
    const retryAfterMs = checkNumber(where, 'retryAfterMs', options.retryAfterMs ?? 1_000, {
      min: 0,
      max: 86_400_000,
      integer: true,
    });
    const timeout = checkNumber(where, 'timeout', options.timeout ?? 30_000, { min: 0, max: Infinity });
    if (this.#draining) this.#draining.retryAfterMs = retryAfterMs;
    else {
      this.#draining = new ServerDrain(this.#drainedServer(), retryAfterMs, timeout, this.#scheduler);
      this.#draining.check();
    }
    const drain = this.#draining;
    return new Observable<void>((subscriber) => drain.watch(subscriber));
  }

  /** What the drain reads and asks of this admission. */
  #drainedServer(): DrainedServer {
    return {
      running: () => this.#running,
      openConnections: () => this.#open.size,
      layers: () => [...this.#layers],
      goAwayAll: () => {
        for (const connection of [...this.#open]) connection.goAway(this.#drainHint());
      },
    };
  }

  /**
   * An admitted connection is open: it is told to go away when the server drains. Returns what
   * to call once it has closed. @internal
   */
  enter(connection: Departing): () => void {
    this.#open.add(connection);
    const drain = this.#draining;
    if (drain?.goneAway) connection.goAway(this.#drainHint());
    return () => {
      this.#open.delete(connection);
      this.#draining?.check();
    };
  }

  /**
   * True while the server drains: a request arriving now is refused, not run. @internal
   */
  refusesRequests(): boolean {
    return this.#draining !== undefined;
  }

  /** `delta` requests started (+) or ended (−): a drain waits for them. @internal */
  working(delta: number): void {
    this.#running += delta;
    if (delta < 0) this.#draining?.check();
  }

  /**
   * A layer above the handshake takes part in the drains of this server (acceptSessions). Returns
   * what to call when it leaves (its server was unsubscribed). @internal
   */
  joinDrain(layer: DrainingLayer): () => void {
    this.#layers.add(layer);
    return () => {
      if (!this.#layers.delete(layer)) return;
      this.#draining?.left(layer);
    };
  }

  /**
   * The hint of the next client told to go away or refused while draining: `retryAfterMs` for the
   * first, then one slot of the admission rate later for each next one (as the refusals' queue),
   * at most `maxWait` past `retryAfterMs`. A retry policy takes a hint as its delay, so without
   * this a drained server's whole crowd would come back in the same instant. Without a rate
   * (`perSecond` Infinity) every hint is `retryAfterMs`.
   */
  #drainHint(): number {
    const now = this.#scheduler.now();
    const first = now + this.#draining!.retryAfterMs;
    this.#drainQueueEnd = Math.min(
      Math.max(first, this.#drainQueueEnd + this.#interval),
      first + this.#maxWait,
    );
    return Math.ceil(this.#drainQueueEnd - now);
  }

  /**
   * A handshake otherwise accepted is about to open a connection: `undefined` when there is room
   * for it (`maxConnections`), else the milliseconds after which the client should come back (at
   * least `fullRetryAfterMs`, one slot of the rate later for each next refusal). @internal
   */
  admitConnection(): number | undefined {
    if (this.#open.size < this.#maxConnections) return undefined;
    this.#counts.refused++;
    const now = this.#scheduler.now();
    this.#queueEnd = Math.min(
      Math.max(this.#queueEnd + this.#interval, now + this.#fullRetryAfterMs),
      now + Math.max(this.#maxWait, this.#fullRetryAfterMs),
    );
    return Math.ceil(this.#queueEnd - now);
  }

  /**
   * Takes a token for one handshake: `undefined` when it is admitted, else the milliseconds after
   * which the client should come back (a whole number, at least 1).
   */
  admit(): number | undefined {
    if (this.#draining) {
      this.#counts.refused++;
      return Math.max(1, this.#drainHint());
    }
    if (this.#interval === 0) {
      this.#counts.admitted++;
      return undefined;
    }
    const now = this.#scheduler.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#refilledAt) / this.#interval);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#counts.admitted++;
      return undefined;
    }
    this.#counts.refused++;
    // The next free slot after the queue's end (or after the bucket's next token), at most maxWait.
    const nextToken = now + (1 - this.#tokens) * this.#interval;
    this.#queueEnd = Math.min(Math.max(this.#queueEnd + this.#interval, nextToken), now + this.#maxWait);
    return Math.max(1, Math.ceil(this.#queueEnd - now));
  }
}

/**
 * `admission` when it is a {@link HandshakeAdmission}, read structurally (a second copy of the
 * library, a .ts loader or a bundle, makes another class); `undefined` stays. Else a `TypeError`.
 * @internal
 */
export function checkAdmission(where: string, admission: unknown): HandshakeAdmission | undefined {
  if (admission === undefined) return undefined;
  const calls = ['admit', 'admitConnection', 'enter', 'working', 'refusesRequests', 'joinDrain'];
  const record = (admission ?? {}) as Record<string, unknown>;
  if (typeof admission === 'object' && calls.every((call) => typeof record[call] === 'function')) {
    return admission as HandshakeAdmission;
  }
  throw new TypeError(`${where}: admission must be a HandshakeAdmission, got ${describeValue(admission)}`);
}
