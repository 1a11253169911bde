import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { brand, BUDGET_BRAND } from './brands.js';
import { RetryBudgetExhaustedError } from './errors.js';
import { checkKnownOptions, checkNumber, checkScheduler, type KnownOptions } from '../internal/validate.js';

/**
 * Options of {@link RetryBudget}.
 *
 * @example
 * ```ts
 * import { RetryBudget, type RetryBudgetOptions } from 'rx-lifeline';
 * const options: RetryBudgetOptions = { ratio: 0.2, minRetriesPerSecond: 5, maxTokens: 50 };
 * const budget = new RetryBudget(options);
 * ```
 * @category Policies
 */
export interface RetryBudgetOptions {
  /**
   * Tokens each success deposits: with 0.1, retries may add at most 10% to the load the successes
   * carry (Finagle's `percentCanRetry`, gRPC's `tokenRatio`). `0` leaves only the floor. Failures
   * do not withdraw anything by themselves; only retries do.
   * @default 0.1
   */
  ratio?: number | undefined;
  /**
   * The floor: tokens that accrue with time alone, so that a quiet client (few successes to earn
   * from) can still retry. Accrued tokens are kept up to one second's worth (at least 1); the budget
   * starts with them. `0` disables the floor. It is not a rate limit on first attempts.
   * @default 10
   */
  minRetriesPerSecond?: number | undefined;
  /**
   * The most tokens successes can bank, so a long good spell cannot fund an unbounded burst of
   * retries later. It does not cap the floor's tokens, which have their own cap.
   * @default 100
   */
  maxTokens?: number | undefined;
  /**
   * The clock: `now()` says how much floor has accrued. Never used for timers.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike | undefined;
}

const OPTIONS: KnownOptions<RetryBudgetOptions> = {
  ratio: true,
  minRetriesPerSecond: true,
  maxTokens: true,
  scheduler: true,
};

/**
 * A token bucket shared by many streams that limits retries to a share of successes, so that an
 * outage does not turn every client's retries into a storm that keeps the backend down. The design
 * of Finagle's `RetryBudget` and gRPC's retry throttling:
 *
 * - every success {@link RetryBudget.deposit | deposits} `ratio` tokens, up to `maxTokens`;
 * - a floor of `minRetriesPerSecond` tokens accrues with `scheduler.now()`, up to one second's worth;
 * - every retry must {@link RetryBudget.tryWithdraw | withdraw} one whole token, or not happen.
 *
 * So when N streams fail at once, at most `floor + ratio × successes` of them retry; the rest give
 * up with {@link RetryBudgetExhaustedError} (through `RetryPolicy.budget`).
 *
 * It does not count first attempts, does not expire banked tokens (the cap bounds them instead), and
 * sets no timer: the floor accrues by reading the clock when asked.
 *
 * @example
 * ```ts
 * import { RetryBudget } from 'rx-lifeline';
 * const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0 });
 * for (let i = 0; i < 20; i++) budget.deposit(); // 20 successes earn 2 retries
 * console.log(budget.tryWithdraw(), budget.tryWithdraw(), budget.tryWithdraw()); // true true false
 * ```
 * @category Policies
 */
export class RetryBudget {
  /**
   * @internal Marks every budget, whatever copy of the library made it, for `RetryPolicy.budget`. A
   * static field, not a statement after the class, so that a bundler drops the class when unused.
   */
  protected static readonly branded: true = /* @__PURE__ */ brand(this, BUDGET_BRAND);

  readonly #ratio: number;
  readonly #floorRate: number;
  readonly #floorCap: number;
  readonly #maxTokens: number;
  readonly #scheduler: SchedulerLike;
  /** Tokens earned by successes, in [0, maxTokens]. */
  #earned = 0;
  /** Tokens accrued by time, in [0, floorCap], as of `accruedAt`. */
  #floor: number;
  #accruedAt: number;

  /** @throws TypeError when an option is out of range or is not one of these four. */
  constructor(options: RetryBudgetOptions = {}) {
    checkKnownOptions('RetryBudget', options, OPTIONS);
    const { ratio = 0.1, minRetriesPerSecond = 10, maxTokens = 100, scheduler = asyncScheduler } = options;
    const where = 'RetryBudget';
    const unbounded = { min: 0, max: Number.MAX_SAFE_INTEGER };
    this.#ratio = checkNumber(where, 'ratio', ratio, unbounded);
    this.#floorRate = checkNumber(where, 'minRetriesPerSecond', minRetriesPerSecond, unbounded);
    this.#maxTokens = checkNumber(where, 'maxTokens', maxTokens, { min: 1, max: Number.MAX_SAFE_INTEGER });
    this.#scheduler = checkScheduler(where, scheduler);
    // A rate below 1/s still has to add up to one whole retry to be of use.
    this.#floorCap = this.#floorRate === 0 ? 0 : Math.max(1, this.#floorRate);
    this.#floor = this.#floorCap;
    this.#accruedAt = scheduler.now();
  }

  /** Tokens available now (earned plus accrued); a retry needs 1. */
  get balance(): number {
    this.#accrue();
    return this.#earned + this.#floor;
  }

  /** Records one success: deposits `ratio` tokens, up to `maxTokens`. Call it once per success. */
  deposit(): void {
    this.#earned = Math.min(this.#maxTokens, this.#earned + this.#ratio);
  }

  /**
   * Takes one token for a retry, if there is one. Accrued (floor) tokens are spent first, so earned
   * ones are kept for when time has not yet refilled the floor.
   *
   * @returns true when the retry may go ahead; false when it must not (nothing is taken).
   */
  tryWithdraw(): boolean {
    this.#accrue();
    // Tolerates the rounding of repeated fractional deposits: ten deposits of 0.1 are one token.
    if (this.#earned + this.#floor < 1 - EPSILON) return false;
    const fromFloor = Math.min(1, this.#floor);
    this.#floor -= fromFloor;
    this.#earned = Math.max(0, this.#earned - (1 - fromFloor));
    return true;
  }

  /**
   * The failure a retry policy reports when this budget refused to retry `cause`. Made here, so
   * that a bundle of a policy without a budget carries no budget error class.
   * @internal
   */
  refusal(cause: unknown): RetryBudgetExhaustedError {
    return new RetryBudgetExhaustedError('The retry budget is exhausted', { cause });
  }

  #accrue(): void {
    const now = this.#scheduler.now();
    const elapsed = now - this.#accruedAt;
    // A clock that goes backwards accrues nothing; a NaN reading changes nothing.
    if (Number.isFinite(now)) this.#accruedAt = now;
    if (elapsed > 0) this.#floor = Math.min(this.#floorCap, this.#floor + (elapsed / 1000) * this.#floorRate);
  }
}

const EPSILON = 1e-9;
