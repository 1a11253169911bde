/**
 * One client's run of consecutive failures, as lifeline's retrying operators keep it: the attempt
 * count, when the run began, and the backoff to continue from.
 * @internal
 * @packageDocumentation
 */
import type { Backoff, RetryDecision, RetryPolicy } from 'rx-lifeline';

/**
 * Records failures and asks the policy what to do next, as `reconnectWith` does.
 * @internal
 * @example
 * ```ts
 * import { policy } from 'rx-lifeline';
 * import { FailureRun } from '../lab/src/failure-run.js';
 * const run = new FailureRun(policy.exponential(), { now: () => 0 });
 * console.log(run.decide(new Error('refused')).retry); // true
 * ```
 */
export class FailureRun {
  attempts = 0;
  private firstFailureAt = 0;
  private backoff: Backoff | undefined;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly clock: { now(): number },
  ) {}

  /** Records a failure and asks the policy what to do next. */
  decide(error: unknown): RetryDecision {
    const now = this.clock.now();
    if (this.attempts === 0) this.firstFailureAt = now;
    this.attempts++;
    const decision = this.policy.decide({
      error,
      attempt: this.attempts,
      firstFailureAt: this.firstFailureAt,
      now,
      backoff: this.backoff,
    });
    if (decision.retry) this.backoff = decision.backoff;
    return decision;
  }

  /** The run ended in success: the next failure starts a new run with the initial delay. */
  reset(): void {
    this.attempts = 0;
    this.backoff = undefined;
  }
}
