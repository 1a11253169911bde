import { checkKnownOptions, checkNumber, describe, type KnownOptions } from '../internal/validate.js';

/**
 * When a closed {@link CircuitBreaker} opens: a plain, immutable description, made by
 * {@link consecutiveFailures} or {@link failureRatio}. Each breaker keeps its own counts, so one
 * strategy value can configure many breakers.
 *
 * @example
 * ```ts
 * import { consecutiveFailures, failureRatio, type BreakerStrategy } from 'rx-lifeline';
 * const strict: BreakerStrategy = consecutiveFailures(3);
 * const tolerant: BreakerStrategy = failureRatio({ threshold: 0.5, window: { duration: 10_000 } });
 * ```
 * @category Policies
 */
export type BreakerStrategy = ConsecutiveFailuresStrategy | FailureRatioStrategy;

/**
 * The strategy made by {@link consecutiveFailures}.
 *
 * @example
 * ```ts
 * import { consecutiveFailures, type ConsecutiveFailuresStrategy } from 'rx-lifeline';
 * const strategy: ConsecutiveFailuresStrategy = consecutiveFailures(5);
 * console.log(strategy.failures); // 5
 * ```
 * @category Policies
 */
export interface ConsecutiveFailuresStrategy {
  readonly kind: 'consecutive-failures';
  /** Failures in a row, with no success between them, that open the breaker. */
  readonly failures: number;
}

/**
 * The strategy made by {@link failureRatio}.
 *
 * @example
 * ```ts
 * import { failureRatio, type FailureRatioStrategy } from 'rx-lifeline';
 * const strategy: FailureRatioStrategy = failureRatio({ threshold: 0.25, window: { count: 40 } });
 * console.log(strategy.minimumThroughput); // 10
 * ```
 * @category Policies
 */
export interface FailureRatioStrategy {
  readonly kind: 'failure-ratio';
  /** The share of failures in the window, in (0, 1], at or above which the breaker opens. */
  readonly threshold: number;
  /** The sliding window over which outcomes are counted. */
  readonly window: SlidingWindow;
  /** Outcomes the window must hold before the ratio can open the breaker. */
  readonly minimumThroughput: number;
}

/**
 * A sliding window of outcomes, bounded in memory either way:
 *
 * - `{ count }`: the last `count` outcomes (a ring of `count` slots, at most 1_000_000).
 * - `{ duration, buckets }`: the outcomes of the last `duration` milliseconds, counted in `buckets`
 *   slices of `duration / buckets` ms each (at most 1_000), so old outcomes leave a slice at a time.
 *   `buckets` defaults to 10.
 *
 * @example
 * ```ts
 * import type { SlidingWindow } from 'rx-lifeline';
 * const lastHundred: SlidingWindow = { count: 100 };
 * const lastMinute: SlidingWindow = { duration: 60_000, buckets: 12 };
 * ```
 * @category Policies
 */
export type SlidingWindow =
  { readonly count: number } | { readonly duration: number; readonly buckets?: number | undefined };

/**
 * Options of {@link failureRatio}.
 *
 * @example
 * ```ts
 * import { failureRatio, type FailureRatioOptions } from 'rx-lifeline';
 * const options: FailureRatioOptions = { threshold: 0.5, window: { count: 20 }, minimumThroughput: 5 };
 * console.log(failureRatio(options).kind); // 'failure-ratio'
 * ```
 * @category Policies
 */
export interface FailureRatioOptions {
  /**
   * The share of failures in the window, in (0, 1], at or above which the breaker opens: with 0.5,
   * 5 failures out of 10 open it.
   * @default 0.5
   */
  threshold?: number | undefined;
  /**
   * The sliding window, by count or by time ({@link SlidingWindow}).
   * @default { duration: 10_000, buckets: 10 }
   */
  window?: SlidingWindow | undefined;
  /**
   * Outcomes the window must hold before the ratio is trusted, so that 1 failure out of 1 at a quiet
   * hour does not open the breaker. It does not delay opening once reached. For a count window it
   * cannot exceed `count`.
   * @default 10, or the window's `count` if smaller
   */
  minimumThroughput?: number | undefined;
}

const RATIO_OPTIONS: KnownOptions<FailureRatioOptions> = {
  threshold: true,
  window: true,
  minimumThroughput: true,
};

/**
 * Opens the breaker after `failures` failures in a row; any success resets the count. The simplest
 * strategy, good when calls are few; it does not look at time or at a ratio.
 *
 * @param failures - a positive integer.
 * @throws TypeError if `failures` is not a positive integer.
 * @example
 * ```ts
 * import { CircuitBreaker, consecutiveFailures } from 'rx-lifeline';
 * const breaker = new CircuitBreaker({ strategy: consecutiveFailures(3), openFor: 5_000 });
 * ```
 * @category Policies
 */
export function consecutiveFailures(failures: number): ConsecutiveFailuresStrategy {
  checkNumber('consecutiveFailures', 'failures', failures, {
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    integer: true,
  });
  return Object.freeze({ kind: 'consecutive-failures', failures });
}

/**
 * Opens the breaker when the share of failures among the outcomes in a sliding window reaches
 * `threshold`, once the window holds at least `minimumThroughput` outcomes (the approach of
 * cockatiel's CountBreaker and SamplingBreaker, and of resilience4j). Memory is bounded by the window.
 *
 * It does not weigh outcomes by age within the window, and forgets every outcome when the breaker
 * opens or closes.
 *
 * @throws TypeError if `threshold` is not in (0, 1], the window is malformed,
 * `minimumThroughput` is not a positive integer (or exceeds a count window), or an option is not
 * one of these three.
 * @example
 * ```ts
 * import { CircuitBreaker, failureRatio } from 'rx-lifeline';
 * const breaker = new CircuitBreaker({
 *   strategy: failureRatio({ threshold: 0.5, window: { duration: 30_000 }, minimumThroughput: 20 }),
 * });
 * ```
 * @category Policies
 */
export function failureRatio(options: FailureRatioOptions = {}): FailureRatioStrategy {
  checkKnownOptions('failureRatio', options, RATIO_OPTIONS);
  const { threshold = 0.5, window = { duration: 10_000 } } = options;
  const where = 'failureRatio';
  checkNumber(where, 'threshold', threshold, { min: 0, exclusive: true, max: 1 });
  let checked: SlidingWindow;
  let largest = Number.MAX_SAFE_INTEGER;
  if (typeof window === 'object' && window !== null && 'count' in window) {
    largest = checkNumber(where, 'window.count', window.count, {
      min: 1,
      max: MAX_WINDOW_COUNT,
      integer: true,
    });
    checked = Object.freeze({ count: largest });
  } else if (typeof window === 'object' && window !== null && 'duration' in window) {
    const duration = checkNumber(where, 'window.duration', window.duration, { min: 0, exclusive: true });
    const buckets = checkNumber(where, 'window.buckets', window.buckets ?? 10, {
      min: 1,
      max: MAX_WINDOW_BUCKETS,
      integer: true,
    });
    checked = Object.freeze({ duration, buckets });
  } else {
    throw new TypeError(
      `${where}: window must be { count } or { duration, buckets? }, got ${describe(window)}`,
    );
  }
  const minimumThroughput = checkNumber(
    where,
    'minimumThroughput',
    options.minimumThroughput ?? Math.min(10, largest),
    {
      min: 1,
      max: largest,
      integer: true,
    },
  );
  return Object.freeze({ kind: 'failure-ratio', threshold, window: checked, minimumThroughput });
}

const MAX_WINDOW_COUNT = 1_000_000;
const MAX_WINDOW_BUCKETS = 1_000;

/**
 * The mutable counts a breaker keeps for its strategy while closed.
 * @internal
 */
export interface OutcomeCounter {
  /** Records a success at `now`. */
  success(now: number): void;
  /** Records a failure at `now`; true when the breaker should open. */
  failure(now: number): boolean;
  /** Forgets every outcome. */
  reset(): void;
}

/**
 * Checks a strategy (which may be a literal written by hand) and makes its counter.
 * @internal
 */
export function createCounter(strategy: BreakerStrategy): OutcomeCounter {
  // Re-running the constructors validates literals that did not come from them.
  if (strategy?.kind === 'consecutive-failures') {
    return new ConsecutiveCounter(consecutiveFailures(strategy.failures).failures);
  }
  if (strategy?.kind === 'failure-ratio') {
    const { threshold, window, minimumThroughput } = failureRatio({
      threshold: strategy.threshold,
      window: strategy.window,
      minimumThroughput: strategy.minimumThroughput,
    });
    return 'count' in window
      ? new CountWindowCounter(threshold, minimumThroughput, window.count)
      : new TimeWindowCounter(threshold, minimumThroughput, window.duration, window.buckets ?? 10);
  }
  throw new TypeError(`CircuitBreaker: strategy must be a BreakerStrategy, got ${describe(strategy)}`);
}

class ConsecutiveCounter implements OutcomeCounter {
  private count = 0;

  constructor(private readonly failures: number) {}

  success(): void {
    this.count = 0;
  }

  failure(): boolean {
    return ++this.count >= this.failures;
  }

  reset(): void {
    this.count = 0;
  }
}

/** The last `size` outcomes in a ring: 1 for a failure, 0 for a success. */
class CountWindowCounter implements OutcomeCounter {
  private readonly ring: Uint8Array;
  private next = 0;
  private filled = 0;
  private failures = 0;

  constructor(
    private readonly threshold: number,
    private readonly minimumThroughput: number,
    size: number,
  ) {
    this.ring = new Uint8Array(size);
  }

  success(): void {
    this.record(0);
  }

  failure(): boolean {
    this.record(1);
    return this.filled >= this.minimumThroughput && this.failures >= this.threshold * this.filled;
  }

  reset(): void {
    this.ring.fill(0);
    this.next = 0;
    this.filled = 0;
    this.failures = 0;
  }

  private record(outcome: 0 | 1): void {
    if (this.filled === this.ring.length) this.failures -= this.ring[this.next] ?? 0;
    else this.filled++;
    this.ring[this.next] = outcome;
    this.failures += outcome;
    this.next = (this.next + 1) % this.ring.length;
  }
}

/**
 * Outcomes of the last `duration` ms in `buckets` slices. Slice `i` of the ring holds the outcomes
 * of time slice `epochs[i]` (= floor(now / width)); a slice found holding an older epoch is stale
 * and reset before use, so old outcomes leave without a timer.
 */
class TimeWindowCounter implements OutcomeCounter {
  private readonly width: number;
  private readonly epochs: Float64Array;
  private readonly successes: Float64Array;
  private readonly failures: Float64Array;

  constructor(
    private readonly threshold: number,
    private readonly minimumThroughput: number,
    duration: number,
    buckets: number,
  ) {
    this.width = duration / buckets;
    this.epochs = new Float64Array(buckets).fill(-Infinity);
    this.successes = new Float64Array(buckets);
    this.failures = new Float64Array(buckets);
  }

  success(now: number): void {
    this.successes[this.slot(now)]! += 1;
  }

  failure(now: number): boolean {
    this.failures[this.slot(now)]! += 1;
    const oldest = Math.floor(now / this.width) - this.epochs.length;
    let failures = 0;
    let total = 0;
    for (let i = 0; i < this.epochs.length; i++) {
      if (this.epochs[i]! <= oldest) continue;
      failures += this.failures[i]!;
      total += this.failures[i]! + this.successes[i]!;
    }
    return total >= this.minimumThroughput && failures >= this.threshold * total;
  }

  reset(): void {
    this.epochs.fill(-Infinity);
    this.successes.fill(0);
    this.failures.fill(0);
  }

  private slot(now: number): number {
    const epoch = Math.floor(now / this.width);
    const slot = ((epoch % this.epochs.length) + this.epochs.length) % this.epochs.length;
    if (this.epochs[slot] !== epoch) {
      this.epochs[slot] = epoch;
      this.successes[slot] = 0;
      this.failures[slot] = 0;
    }
    return slot;
  }
}
