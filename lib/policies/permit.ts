import type { BreakerPermit } from './circuit-breaker.js';
import { verdictOf, type FailureClass } from './classify.js';

/**
 * Settles the breaker permit of an attempt that failed with `error` before it proved the endpoint
 * healthy, and returns how `classify` judged the failure: a transient failure counts against the
 * endpoint; any other is released, as it says nothing of the endpoint's health. A classifier that
 * throws, or answers anything but a {@link FailureClass} (a TypeError that names `where`), is a bug
 * in it: the permit is released (a half-open breaker's probe slot is never left taken, which would
 * refuse every later attempt) and the exception thrown, for the caller to end its stream with.
 * @internal
 */
export function settleFailure(
  permit: BreakerPermit,
  where: string,
  classify: (error: unknown) => FailureClass,
  error: unknown,
): FailureClass {
  let verdict: FailureClass;
  try {
    verdict = verdictOf(where, classify, error);
  } catch (classifierError) {
    permit.release();
    throw classifierError;
  }
  if (verdict === 'transient') permit.failure();
  else permit.release();
  return verdict;
}
