import { asyncScheduler, Observable, type SchedulerLike, type Subscriber } from 'rxjs';
import { checkKnownOptions, checkNumber, type KnownOptions } from '../../internal/validate.js';

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
  /** Reads the clock. @default asyncScheduler */
  scheduler?: SchedulerLike;
}

/** A connection that can be told to leave. @internal */
export interface Departing {
  /** Sends a go-away with the hint, then closes gracefully. */
  goAway(retryAfterMs: number): void;
}

const DRAIN_OPTIONS = { retryAfterMs: true } as const;

const OPTIONS: KnownOptions<HandshakeAdmissionOptions> = {
  perSecond: true,
  burst: true,
  maxWait: true,
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
  private readonly interval: number;
  private readonly burst: number;
  private readonly maxWait: number;
  private readonly scheduler: SchedulerLike;
  private tokens: number;
  private refilledAt: number;
  /** When the last refused client was told to come back: the end of the queue. */
  private queueEnd = -Infinity;
  private counts = { admitted: 0, refused: 0 };
  /** The accepted connections still open, each able to be told to go away. */
  private readonly open = new Set<Departing>();
  /** Set by {@link drain}: every handshake from then on is refused with this hint. */
  private draining: { readonly retryAfterMs: number } | undefined;
  /** Subscribers of {@link drain}, told when the last connection has gone. */
  private readonly drainWatchers = new Set<Subscriber<void>>();

  constructor(options: HandshakeAdmissionOptions = {}) {
    const where = 'HandshakeAdmission';
    checkKnownOptions(where, options, OPTIONS);
    const perSecond = checkNumber(where, 'perSecond', options.perSecond ?? Infinity, {
      min: 0,
      exclusive: true,
      max: Infinity,
    });
    const finite = Number.isFinite(perSecond);
    this.burst = checkNumber(where, 'burst', options.burst ?? (finite ? perSecond : 1), { min: 1, max: 1e9 });
    this.maxWait = checkNumber(where, 'maxWait', options.maxWait ?? 60_000, { min: 0, max: 86_400_000 });
    this.interval = 1000 / perSecond;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.tokens = this.burst;
    this.refilledAt = this.scheduler.now();
  }

  /** Handshakes admitted and refused so far, the connections open, and whether it drains. */
  get stats(): {
    readonly admitted: number;
    readonly refused: number;
    readonly open: number;
    readonly draining: boolean;
  } {
    return { ...this.counts, open: this.open.size, draining: this.draining !== undefined };
  }

  /**
   * A graceful close of the whole server, as a rolling deploy does it: from now on every handshake
   * is refused `'overloaded'` with `retryAfterMs` (so clients go to another node, or come back to
   * this one once it restarted), and every connection admitted and still open is sent a go-away
   * with the same hint, then closed once what it had queued is written. Each client's handshake
   * fails that connection with a `PeerClosedError` carrying the hint, which its retry policy
   * honours. A session kept only in this process's memory does not survive: its client learns it,
   * typed, when it comes back (`SessionLostError`).
   *
   * Returns an Observable that completes once the last connection has closed (at once when none
   * is open). Draining again changes the hint for handshakes refused from then on.
   */
  drain(options: { retryAfterMs?: number } = {}): Observable<void> {
    checkKnownOptions('HandshakeAdmission.drain', options, DRAIN_OPTIONS);
    const retryAfterMs = checkNumber(
      'HandshakeAdmission.drain',
      'retryAfterMs',
      options.retryAfterMs ?? 1_000,
      {
        min: 0,
        max: 86_400_000,
        integer: true,
      },
    );
    this.draining = { retryAfterMs };
    for (const connection of [...this.open]) connection.goAway(retryAfterMs);
    return new Observable<void>((subscriber) => {
      if (this.open.size === 0) return subscriber.complete();
      this.drainWatchers.add(subscriber);
      return () => this.drainWatchers.delete(subscriber);
    });
  }

  /**
   * An admitted connection is open: it is told to go away when the server drains. Returns what
   * to call once it has closed. @internal
   */
  enter(connection: Departing): () => void {
    this.open.add(connection);
    if (this.draining) connection.goAway(this.draining.retryAfterMs);
    return () => {
      this.open.delete(connection);
      if (this.open.size > 0 || !this.draining) return;
      for (const watcher of [...this.drainWatchers]) watcher.complete();
    };
  }

  /**
   * Takes a token for one handshake: `undefined` when it is admitted, else the milliseconds after
   * which the client should come back (a whole number, at least 1).
   */
  admit(): number | undefined {
    if (this.draining) {
      this.counts.refused++;
      return Math.max(1, this.draining.retryAfterMs);
    }
    if (this.interval === 0) {
      this.counts.admitted++;
      return undefined;
    }
    const now = this.scheduler.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) / this.interval);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.counts.admitted++;
      return undefined;
    }
    this.counts.refused++;
    // The next free slot after the queue's end (or after the bucket's next token), at most maxWait.
    const nextToken = now + (1 - this.tokens) * this.interval;
    this.queueEnd = Math.min(Math.max(this.queueEnd + this.interval, nextToken), now + this.maxWait);
    return Math.max(1, Math.ceil(this.queueEnd - now));
  }
}
