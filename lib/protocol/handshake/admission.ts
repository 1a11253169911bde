import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { checkKnownOptions, checkNumber, type KnownOptions } from '../../policies/validate.js';

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
  /** Handshakes admitted per second, on average. */
  perSecond: number;
  /**
   * Handshakes admitted at once after a quiet spell (the bucket's size).
   * @default perSecond
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
 * hint as a floor ({@link RetryPolicy.maxHint}). Pass it as {@link AcceptHandshakeConfig.admission};
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

  constructor(options: HandshakeAdmissionOptions) {
    const where = 'HandshakeAdmission';
    checkKnownOptions(where, options, OPTIONS);
    if (options === undefined) throw new TypeError(`${where}: needs { perSecond }`);
    const perSecond = checkNumber(where, 'perSecond', options.perSecond, {
      min: 0,
      exclusive: true,
      max: 1e9,
    });
    this.burst = checkNumber(where, 'burst', options.burst ?? perSecond, { min: 1, max: 1e9 });
    this.maxWait = checkNumber(where, 'maxWait', options.maxWait ?? 60_000, { min: 0, max: 86_400_000 });
    this.interval = 1000 / perSecond;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.tokens = this.burst;
    this.refilledAt = this.scheduler.now();
  }

  /** Handshakes admitted and refused so far. */
  get stats(): { readonly admitted: number; readonly refused: number } {
    return { ...this.counts };
  }

  /**
   * Takes a token for one handshake: `undefined` when it is admitted, else the milliseconds after
   * which the client should come back (a whole number, at least 1).
   */
  admit(): number | undefined {
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
