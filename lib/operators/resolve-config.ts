import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { RetryPolicy } from '../policies/retry-policy.js';
import { checkKnownOptions, checkScheduler } from '../internal/validate.js';

/**
 * Resolves the one-argument shorthand and validates the config: a config object may hold only the
 * `known` options of the operator. @internal
 */
export function resolveConfig(
  where: string,
  policyOrConfig: RetryPolicy | { policy: RetryPolicy; scheduler?: SchedulerLike },
  known: Readonly<Record<string, true>>,
): { policy: RetryPolicy; scheduler: SchedulerLike } {
  if (
    typeof policyOrConfig === 'object' &&
    policyOrConfig !== null &&
    !(policyOrConfig instanceof RetryPolicy)
  ) {
    checkKnownOptions(where, policyOrConfig, known);
  }
  const config = policyOrConfig instanceof RetryPolicy ? { policy: policyOrConfig } : policyOrConfig;
  const { policy, scheduler = asyncScheduler } = config ?? {};
  if (!(policy instanceof RetryPolicy)) {
    throw new TypeError(`${where}: pass a RetryPolicy (from \`policy.*\`) or { policy }`);
  }
  return { policy, scheduler: checkScheduler(where, scheduler) };
}
