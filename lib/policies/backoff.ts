import {
  checkKnownOptions,
  checkNumber,
  describe,
  type KnownOptions,
  MAX_DELAY,
} from '../internal/validate.js';

/**
 * How long to wait before one attempt, and how to get the wait for the attempt after it: an
 * immutable value in the style of cockatiel's `IBackoff`. `next()` returns a new `Backoff` and never
 * changes the one it is called on, so a backoff can be kept, shared and replayed.
 *
 * A backoff does not wait, count attempts or give up: it only says how long. Timers, limits and the
 * retry-or-not decision belong to {@link RetryPolicy}.
 *
 * @example
 * ```ts
 * import { exponentialBackoff, type Backoff } from 'rx-lifeline';
 * let backoff: Backoff = exponentialBackoff({ initial: 100, max: 1_000 });
 * const delays: number[] = [];
 * for (let i = 0; i < 6; i++, backoff = backoff.next()) delays.push(backoff.duration);
 * console.log(delays); // [100, 200, 400, 800, 1000, 1000]
 * ```
 * @category Policies
 */
export interface Backoff {
  /** Milliseconds to wait before this attempt; never more than {@link Backoff.max}. */
  readonly duration: number;
  /**
   * The cap: no duration of this backoff or of any backoff reached from it through `next()` exceeds
   * it. Jitter is capped by it too; a server's hint (`retryAfterMs`) is not: see `RetryPolicy.maxHint`.
   */
  readonly max: number;
  /** The backoff for the attempt after this one. */
  next(): Backoff;
}

/**
 * Options of {@link linearBackoff}.
 *
 * @example
 * ```ts
 * import { linearBackoff, type LinearBackoffOptions } from 'rx-lifeline';
 * const options: LinearBackoffOptions = { initial: 500, step: 500, max: 5_000 };
 * console.log(linearBackoff(options).next().duration); // 1000
 * ```
 * @category Policies
 */
export interface LinearBackoffOptions {
  /**
   * The first delay, in milliseconds.
   * @default 100
   */
  initial?: number | undefined;
  /**
   * Added to the delay at every step, in milliseconds. `0` makes a constant backoff.
   * @default the value of `initial`
   */
  step?: number | undefined;
  /**
   * The cap, in milliseconds: the delay grows up to it and then stays there. It is not a limit on
   * the number of attempts or on the total time (see {@link RetryPolicy.maxElapsed}).
   * @default 30_000
   */
  max?: number | undefined;
}

/**
 * Options of {@link exponentialBackoff}.
 *
 * @example
 * ```ts
 * import { exponentialBackoff, type ExponentialBackoffOptions } from 'rx-lifeline';
 * const options: ExponentialBackoffOptions = { initial: 250, factor: 3, max: 10_000 };
 * console.log(exponentialBackoff(options).next().duration); // 750
 * ```
 * @category Policies
 */
export interface ExponentialBackoffOptions {
  /**
   * The first delay, in milliseconds (Brooker's `base`). Must be more than 0: a backoff that starts
   * at 0 stays at 0 — use `constantBackoff(0)` for that.
   * @default 100
   */
  initial?: number | undefined;
  /**
   * Each delay is the previous one times `factor` (Brooker's formulas use 2). Must be at least 1.
   * @default 2
   */
  factor?: number | undefined;
  /**
   * The cap, in milliseconds (Brooker's `cap`): delays grow up to it and then stay there. It is not
   * a limit on the number of attempts or on the total time (see {@link RetryPolicy.maxElapsed}).
   * @default 30_000
   */
  max?: number | undefined;
}

/** The options of {@link LinearBackoffOptions}. @internal */
export const LINEAR_OPTIONS: KnownOptions<LinearBackoffOptions> = { initial: true, step: true, max: true };

/** The options of {@link ExponentialBackoffOptions}. @internal */
export const EXPONENTIAL_OPTIONS: KnownOptions<ExponentialBackoffOptions> = {
  initial: true,
  factor: true,
  max: true,
};

/**
 * A backoff that waits `ms` milliseconds before every attempt.
 *
 * Does not jitter (see {@link withJitter}) and never ends: limits belong to {@link RetryPolicy}.
 *
 * @param ms - the delay, from 0 to 2_147_483_647 (the longest a timer can wait).
 * @throws TypeError if `ms` is negative, NaN or too large.
 * @example
 * ```ts
 * import { constantBackoff } from 'rx-lifeline';
 * const backoff = constantBackoff(1_000);
 * console.log(backoff.duration, backoff.next().duration); // 1000 1000
 * ```
 * @category Policies
 */
export function constantBackoff(ms: number): Backoff {
  checkNumber('constantBackoff', 'ms', ms, { min: 0 });
  return new ScheduledBackoff(() => ms, 0, ms);
}

/**
 * A backoff whose delay grows by a fixed step: `min(max, initial + step * n)` before retry `n`
 * (counting from 0).
 *
 * Does not jitter (see {@link withJitter}) and never ends: limits belong to {@link RetryPolicy}.
 *
 * @throws TypeError if an option is negative, NaN or more than 2_147_483_647, or `max < initial`, or
 * is not one of `initial`, `step` and `max`.
 * @example
 * ```ts
 * import { linearBackoff } from 'rx-lifeline';
 * const backoff = linearBackoff({ initial: 100, step: 50, max: 200 });
 * const third = backoff.next().next();
 * console.log(backoff.duration, backoff.next().duration, third.duration, third.next().duration);
 * // 100 150 200 200
 * ```
 * @category Policies
 */
export function linearBackoff(options: LinearBackoffOptions = {}): Backoff {
  return checkedLinearBackoff('linearBackoff', options);
}

/** {@link linearBackoff}, its errors naming `where` (`policy.linear`). @internal */
export function checkedLinearBackoff(where: string, options: LinearBackoffOptions): Backoff {
  checkKnownOptions(where, options, LINEAR_OPTIONS);
  const { initial = 100, step = initial, max = 30_000 } = options;
  checkNumber(where, 'initial', initial, { min: 0 });
  checkNumber(where, 'step', step, { min: 0 });
  checkNumber(where, 'max', max, { min: initial });
  return new ScheduledBackoff((n) => Math.min(max, initial + step * n), 0, max);
}

/**
 * A backoff whose delay is multiplied by `factor` at every step: `min(max, initial * factor^n)`
 * before retry `n` (counting from 0) — the "exponential backoff" of Marc Brooker's "Exponential
 * Backoff and Jitter" (AWS Architecture Blog, 2015), `min(cap, base * 2^n)`, with `factor` for 2.
 *
 * Does not jitter: without jitter, clients that failed together retry together. Wrap it with
 * {@link withJitter}, or use {@link RetryPolicy.jitter}. It never ends: limits belong to
 * {@link RetryPolicy}.
 *
 * @throws TypeError if `initial` is not more than 0, `factor` is less than 1 or not finite,
 * `max < initial`, `max` is more than 2_147_483_647 (the longest a timer can wait), or an option
 * is not one of `initial`, `factor` and `max`.
 * @example
 * ```ts
 * import { exponentialBackoff } from 'rx-lifeline';
 * const backoff = exponentialBackoff({ initial: 100, max: 30_000 });
 * console.log(backoff.duration, backoff.next().duration, backoff.next().next().duration); // 100 200 400
 * ```
 * @category Policies
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  return checkedExponentialBackoff('exponentialBackoff', options);
}

/** {@link exponentialBackoff}, its errors naming `where` (`policy.exponential`). @internal */
export function checkedExponentialBackoff(where: string, options: ExponentialBackoffOptions): Backoff {
  checkKnownOptions(where, options, EXPONENTIAL_OPTIONS);
  const { initial = 100, factor = 2, max = 30_000 } = options;
  checkNumber(where, 'initial', initial, { min: 0, exclusive: true });
  checkNumber(where, 'factor', factor, { min: 1, max: Number.MAX_VALUE });
  checkNumber(where, 'max', max, { min: initial });
  // `factor ** n` overflows to Infinity for large n; the cap absorbs it (initial > 0, so never NaN).
  return new ScheduledBackoff((n) => Math.min(max, initial * factor ** n), 0, max);
}

/** A backoff given by a closed-form schedule: the delay of step `n` is `delayAt(n)`. */
class ScheduledBackoff implements Backoff {
  readonly duration: number;

  readonly #delayAt: (n: number) => number;
  readonly #n: number;

  constructor(
    delayAt: (n: number) => number,
    n: number,
    readonly max: number,
  ) {
    this.#delayAt = delayAt;
    this.#n = n;
    this.duration = delayAt(n);
  }

  next(): Backoff {
    // At the cap the schedule cannot change any more, and a value is immutable: reuse it.
    return this.duration >= this.max ? this : new ScheduledBackoff(this.#delayAt, this.#n + 1, this.max);
  }
}

/**
 * True when `value` looks like a {@link Backoff}: a `duration` from 0 to its `max`, a `max` a timer
 * can wait, and a `next` method.
 * @internal
 */
export function isBackoff(value: unknown): value is Backoff {
  if (typeof value !== 'object' || value === null) return false;
  const { duration, max, next } = value as Partial<Backoff>;
  return (
    typeof duration === 'number' &&
    duration >= 0 &&
    typeof max === 'number' &&
    duration <= max &&
    max <= MAX_DELAY &&
    typeof next === 'function'
  );
}

/**
 * The backoff after `previous`, checked: a hand-written `next()` that answers a duration that is not
 * a number from 0 to its max would otherwise become a timer that fires at once, again and again.
 * @throws TypeError naming `where` and what `next()` answered.
 * @internal
 */
export function nextBackoff(where: string, previous: Backoff): Backoff {
  const next: unknown = previous.next();
  if (isBackoff(next)) return next;
  const { duration, max } = (next ?? {}) as Partial<Backoff>;
  throw new TypeError(
    `${where}: next() must return a Backoff whose duration is from 0 to its max (at most ${MAX_DELAY} ms), got duration ${describe(duration)} and max ${describe(max)}`,
  );
}
