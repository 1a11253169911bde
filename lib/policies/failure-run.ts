import { describeError } from '../internal/describe-value.js';
import { GaveUpError } from './gave-up-error.js';
import type { Backoff } from './backoff.js';
import type { BreakerPermit } from './circuit-breaker.js';
import { settleFailure } from './permit.js';
import type { RetryDecision, RetryPolicy } from './retry-policy.js';

/**
 * One run of consecutive failures under a {@link RetryPolicy}: it counts the attempts, remembers
 * when the run began and which backoff to continue from, and asks the policy what to do after each
 * failure. `reconnectWith`, `retryWith` and `retryDelay` each keep one per subscription; use one
 * yourself to drive a policy from a loop of your own (a simulator, a job queue, a custom operator)
 * so it decides exactly as those operators do.
 *
 * @example
 * ```ts
 * import { DialError, FailureRun, policy } from 'rx-lifeline';
 * let now = 0;
 * const run = new FailureRun(policy.exponential({ initial: 100 }).maxAttempts(3), { now: () => now });
 * const refused = new DialError('refused', { code: 'ECONNREFUSED' });
 * const first = run.decide(refused);
 * if (first.retry) now += first.delay; // wait 100 ms, then try again
 * const second = run.decide(refused);
 * console.log(second.retry && second.delay); // 200
 * const third = run.decide(refused);
 * if (!third.retry) console.log(run.gaveUp(third).message); // Gave up after 3 failed attempts (max-attempts): DialError: refused
 * ```
 * @category Policies
 */
export class FailureRun {
  /** Failures in the current run (0 after {@link FailureRun.reset}). */
  attempts = 0;
  #firstFailureAt = 0;
  #backoff: Backoff | undefined;

  readonly #policy: RetryPolicy;
  readonly #clock: { now(): number };

  /**
   * @param policy The policy that decides.
   * @param clock Where "now" comes from, in milliseconds: a scheduler, or any `{ now() }`.
   */
  constructor(policy: RetryPolicy, clock: { now(): number }) {
    this.#policy = policy;
    this.#clock = clock;
  }

  /** Records a failure and asks the policy what to do next. */
  decide(error: unknown): RetryDecision {
    const now = this.#clock.now();
    if (this.attempts === 0) this.#firstFailureAt = now;
    this.attempts++;
    const decision = this.#policy.decide({
      error,
      attempt: this.attempts,
      firstFailureAt: this.#firstFailureAt,
      now,
      backoff: this.#backoff,
    });
    if (decision.retry) this.#backoff = decision.backoff;
    return decision;
  }

  /**
   * An attempt failed with `error`: settles its breaker permit, if it had one (a failure the
   * policy's classifier calls transient counts against the endpoint; any other is released), then
   * records the failure and asks the policy what to do next. Throws what the policy's classifier,
   * random source or backoff throws (a bug in it), the permit released first: end the stream with it.
   */
  failed(error: unknown, permit: BreakerPermit | undefined): RetryDecision {
    if (permit) settleFailure(permit, 'RetryPolicy.classify', this.#policy.config.classify, error);
    return this.decide(error);
  }

  /** The run ended in success: the next failure starts a new run with the initial delay. */
  reset(): void {
    this.attempts = 0;
    this.#backoff = undefined;
  }

  /** The error to raise when the policy gave up: a {@link GaveUpError} with the run's attempts. */
  gaveUp(decision: Extract<RetryDecision, { retry: false }>): GaveUpError {
    const n = this.attempts;
    // The cause's own words in the message: a log line that shows only this one still says why.
    const why = `Gave up after ${n} failed attempt${n === 1 ? '' : 's'} (${decision.reason})`;
    return new GaveUpError(`${why}: ${describeError(decision.error)}`, {
      cause: decision.error,
      attempts: n,
      reason: decision.reason,
    });
  }
}

/**
 * An operator's attempt failed with `error` (see {@link FailureRun.failed}): returns the delay to
 * wait before the next attempt, or ends `subscriber` and returns `undefined`, with the run's
 * {@link GaveUpError} when the policy gives up, or with what the policy threw (a bug in its
 * classifier, random source or backoff, which must not escape from an RxJS callback).
 * @internal
 */
export function retryOrEnd(
  failures: FailureRun,
  error: unknown,
  permit: BreakerPermit | undefined,
  subscriber: { error(error: unknown): void },
): number | undefined {
  let decision: RetryDecision;
  try {
    decision = failures.failed(error, permit);
  } catch (bug) {
    subscriber.error(bug);
    return undefined;
  }
  if (decision.retry) return decision.delay;
  subscriber.error(failures.gaveUp(decision));
  return undefined;
}
