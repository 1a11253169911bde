import {
  Observable,
  Subscription,
  throwError,
  type MonoTypeOperatorFunction,
  type ObservableInput,
  type SchedulerLike,
  type Subscriber,
} from 'rxjs';
import { DueTimer } from '../internal/due-timer.js';
import { resolveConfig } from './resolve-config.js';
import { FailureRun, retryOrEnd } from '../policies/failure-run.js';
import type { BreakerPermit } from '../policies/circuit-breaker.js';
import type { RetryPolicy } from '../policies/retry-policy.js';
import type { KnownOptions } from '../internal/validate.js';

/**
 * Options of {@link retryWith} and {@link retryDelay}.
 *
 * @example
 * ```ts
 * import { policy, type RetryConfig } from 'rx-lifeline';
 * const config: RetryConfig = { policy: policy.constant(250).maxAttempts(4) };
 * ```
 * @category Operators
 */
export interface RetryConfig {
  /** Decides whether and when to try again after each failure. */
  policy: RetryPolicy;
  /**
   * Schedules the waits between attempts and the per-attempt timeout.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

const CONFIG: KnownOptions<RetryConfig> = { policy: true, scheduler: true };

/**
 * Retries a one-shot cold Observable (an HTTP request, a query) with a {@link RetryPolicy}: on
 * error it asks the policy, waits the delay on the scheduler and subscribes again; when the policy
 * gives up it errors with a {@link GaveUpError} whose `cause` is the last failure. Values pass
 * through; an attempt's first value (or its completion, if it has none) is a success for the
 * policy's breaker and budget, so a caller that stops at the first value (`firstValueFrom`) still
 * closes a half-open breaker.
 *
 * The policy's `attemptTimeout` is not applied here (a one-shot source has no "connected" moment):
 * put RxJS `timeout()` inside the retried Observable. It does not make a request idempotent:
 * retry only what is safe to send twice.
 *
 * @example
 * ```ts
 * import { defer } from 'rxjs';
 * import { policy, retryWith } from 'rx-lifeline';
 * let calls = 0;
 * const flaky = defer(async () => {
 *   if (++calls < 3) throw Object.assign(new Error('busy'), { status: 503 });
 *   return 'ok';
 * });
 * flaky.pipe(retryWith(policy.exponential({ initial: 10 }).maxAttempts(5))).subscribe({
 *   next: console.log,
 *   error: (error: unknown) => console.error('gave up', error), // GaveUpError, cause: the last error
 * });
 * ```
 * @category Operators
 */
export function retryWith<T>(policyOrConfig: RetryPolicy | RetryConfig): MonoTypeOperatorFunction<T> {
  const { policy, scheduler } = resolveConfig('retryWith', policyOrConfig, CONFIG);
  return (source) =>
    new Observable<T>((subscriber) => new RetryRun(source, subscriber, policy, scheduler).start());
}

/**
 * One subscription of {@link retryWith}: subscribe to the source under a breaker permit, and on
 * each failure ask the policy whether and when to subscribe again.
 */
class RetryRun<T> {
  readonly #failures: FailureRun;
  #permit: BreakerPermit | undefined;
  /** The current attempt's first value, or its completion, came: it was a success. */
  #succeeded = false;
  #attempt = new Subscription();
  /** The wait before the next attempt, due by the scheduler's clock. */
  readonly #wait: DueTimer;
  readonly #source: Observable<T>;
  readonly #subscriber: Subscriber<T>;
  readonly #policy: RetryPolicy;

  constructor(
    source: Observable<T>,
    subscriber: Subscriber<T>,
    policy: RetryPolicy,
    scheduler: SchedulerLike,
  ) {
    this.#source = source;
    this.#subscriber = subscriber;
    this.#policy = policy;
    this.#failures = new FailureRun(policy, scheduler);
    this.#wait = new DueTimer(scheduler);
  }

  /** Makes the first attempt; returns the subscription's teardown. */
  start(): () => void {
    this.#try();
    return () => {
      this.#attempt.unsubscribe();
      this.#wait.cancel();
      this.#permit?.release();
    };
  }

  #try(): void {
    this.#succeeded = false;
    const { breaker } = this.#policy.config;
    if (breaker) {
      try {
        this.#permit = breaker.admit();
      } catch (refusal) {
        return this.#fail(refusal);
      }
    }
    const current = new Subscription();
    this.#attempt = current;
    current.add(
      this.#source.subscribe({
        next: (value) => {
          // The first value is the attempt's success: a caller may stop listening right after it
          // (firstValueFrom), and the breaker must still hear that the endpoint answered.
          this.#succeed();
          this.#subscriber.next(value);
        },
        error: (error: unknown) => {
          if (current === this.#attempt) this.#fail(error);
        },
        complete: () => {
          this.#succeed();
          this.#subscriber.complete();
        },
      }),
    );
  }

  #succeed(): void {
    if (this.#succeeded) return;
    this.#succeeded = true;
    this.#permit?.success();
    this.#permit = undefined;
    this.#policy.config.budget?.deposit();
  }

  #fail(error: unknown): void {
    this.#attempt.unsubscribe();
    const permit = this.#permit;
    this.#permit = undefined;
    const delay = retryOrEnd(this.#failures, error, permit, this.#subscriber);
    // Due by the scheduler's clock: a wait for a breaker to half-open never ends early.
    if (delay !== undefined) this.#wait.setIn(delay, () => this.#try());
  }
}

/**
 * Adapts a {@link RetryPolicy} to RxJS's own `retry({ delay })`: the returned function answers each
 * error with a timer for the policy's delay, or with a {@link GaveUpError} when it gives up. Pass
 * `resetOnSuccess: true` to `retry` if a value should start a new run of failures.
 *
 * The run of failures restarts whenever RxJS passes `retryCount` 1, so use one `retryDelay(...)`
 * per `retry` operator, not one shared by several. Breaker permits are not taken (RxJS gives no
 * hook before an attempt): prefer {@link retryWith} where a breaker matters.
 *
 * @example
 * ```ts
 * import { defer, retry } from 'rxjs';
 * import { policy, retryDelay } from 'rx-lifeline';
 * const request = defer(() => fetch('http://127.0.0.1:8080/health'));
 * request.pipe(retry({ delay: retryDelay(policy.exponential({ initial: 100 }).maxAttempts(3)) }));
 * ```
 * @category Operators
 */
export function retryDelay(
  policyOrConfig: RetryPolicy | RetryConfig,
): (error: unknown, retryCount: number) => ObservableInput<unknown> {
  const { policy, scheduler } = resolveConfig('retryDelay', policyOrConfig, CONFIG);
  let failures = new FailureRun(policy, scheduler);
  return (error, retryCount) => {
    if (retryCount === 1) failures = new FailureRun(policy, scheduler);
    const decision = failures.decide(error);
    if (!decision.retry) {
      const gaveUp = failures.gaveUp(decision);
      return throwError(() => gaveUp);
    }
    return dueAfter(decision.delay, scheduler);
  };
}

/** Emits once `delay` ms have passed by the scheduler's clock (RxJS's `timer` may end a little early). */
function dueAfter(delay: number, scheduler: SchedulerLike): Observable<0> {
  return new Observable<0>((subscriber) => {
    const due = new DueTimer(scheduler);
    due.setIn(delay, () => {
      subscriber.next(0);
      subscriber.complete();
    });
    return () => due.cancel();
  });
}
