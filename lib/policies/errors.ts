import { LifelineError } from '../core/errors.js';

/**
 * A {@link CircuitBreaker} refused an attempt: it is open (the backend failed too often and is
 * being left alone until `reopensAt`), or half-open with every probe slot taken.
 *
 * The default classifier ({@link classifyFailure}) calls it transient, and {@link RetryPolicy}
 * waits until `reopensAt` before trying again; it does not count as a failure of the backend.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitOpenError } from 'rx-lifeline';
 * const breaker = new CircuitBreaker();
 * try {
 *   breaker.admit().success();
 * } catch (error) {
 *   if (CircuitOpenError.is(error)) console.log(`try again at ${error.reopensAt ?? 'a later probe'}`);
 * }
 * ```
 * @category Policies
 */
export class CircuitOpenError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'CircuitOpenError';

  /** The breaker's state when it refused: `'open'`, or `'half-open'` with every probe in flight. */
  readonly state: 'open' | 'half-open';
  /**
   * When an open breaker turns half-open (`scheduler.now()` time, in milliseconds); `undefined`
   * when it is half-open already and only waits for its probes.
   */
  readonly reopensAt: number | undefined;

  constructor(
    message: string,
    options: { state: 'open' | 'half-open'; reopensAt?: number | undefined; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.state = options.state;
    this.reopensAt = options.reopensAt;
  }
}

/**
 * A retry was refused because the shared {@link RetryBudget} had no token left: too many retries
 * for too few successes, which is what a retry storm looks like. `cause` is the failure that would
 * have been retried.
 *
 * The default classifier calls it permanent: retrying it would spend the budget it protects.
 *
 * @example
 * ```ts
 * import { RetryBudgetExhaustedError } from 'rx-lifeline';
 * const gaveUpForBudget = (e: unknown) => RetryBudgetExhaustedError.is(e);
 * ```
 * @category Policies
 */
export class RetryBudgetExhaustedError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'RetryBudgetExhaustedError';
}
