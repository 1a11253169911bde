import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { GaveUpError } from '../operators/gave-up-error.js';
import type { Backoff } from '../policies/backoff.js';
import { RetryPolicy, type RetryDecision } from '../policies/retry-policy.js';

/**
 * One run of consecutive failures: counts attempts, remembers when the run began and the backoff
 * to continue from. Shared by every retrying operator so they decide alike.
 * @internal
 */
export class FailureRun {
  attempts = 0;
  private firstFailureAt = 0;
  private backoff: Backoff | undefined;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** Records a failure and asks the policy what to do next. */
  decide(error: unknown): RetryDecision {
    const now = this.scheduler.now();
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

  /** The error to raise when the policy gave up. */
  gaveUp(decision: Extract<RetryDecision, { retry: false }>): GaveUpError {
    const n = this.attempts;
    return new GaveUpError(`Gave up after ${n} failed attempt${n === 1 ? '' : 's'} (${decision.reason})`, {
      cause: decision.error,
      attempts: n,
      reason: decision.reason,
    });
  }
}

/** Resolves the one-argument shorthand and validates the config. @internal */
export function resolveConfig(
  where: string,
  policyOrConfig: RetryPolicy | { policy: RetryPolicy; scheduler?: SchedulerLike },
): { policy: RetryPolicy; scheduler: SchedulerLike } {
  const config = policyOrConfig instanceof RetryPolicy ? { policy: policyOrConfig } : policyOrConfig;
  const { policy, scheduler = asyncScheduler } = config ?? {};
  if (!(policy instanceof RetryPolicy)) {
    throw new TypeError(`${where}: pass a RetryPolicy (from \`policy.*\`) or { policy }`);
  }
  if (typeof scheduler?.schedule !== 'function' || typeof scheduler.now !== 'function') {
    throw new TypeError(`${where}: scheduler must be a SchedulerLike`);
  }
  return { policy, scheduler };
}
