import { Observable, Subject, asyncScheduler, type SchedulerLike } from 'rxjs';
import { DueTimer } from '../internal/due-timer.js';
import { constantBackoff, isBackoff, nextBackoff, type Backoff } from './backoff.js';
import {
  consecutiveFailures,
  createCounter,
  type BreakerStrategy,
  type OutcomeCounter,
} from './breaker-strategy.js';
import { CircuitOpenError } from './errors.js';
import { BREAKER_BRAND, brand, hasBrand } from './brands.js';
import {
  checkKnownOptions,
  checkNumber,
  checkScheduler,
  describe,
  type KnownOptions,
} from '../internal/validate.js';

/**
 * The state of a {@link CircuitBreaker}:
 *
 * - `'closed'`: attempts are admitted; outcomes are counted by the strategy.
 * - `'open'`: attempts are refused with {@link CircuitOpenError} until `reopensAt`.
 * - `'half-open'`: a few probe attempts are admitted; their successes close the breaker, a failure
 *   opens it again.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, type CircuitState } from 'rx-lifeline';
 * const state: CircuitState = new CircuitBreaker().state; // 'closed'
 * ```
 * @category Policies
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * One change of a breaker's state, as emitted by {@link CircuitBreaker.state$}. Times are
 * `scheduler.now()` readings, in milliseconds.
 *
 * @example
 * ```ts
 * import type { CircuitTransition } from 'rx-lifeline';
 * const opened: CircuitTransition = { state: 'open', at: 1_000, reopensAt: 11_000 };
 * ```
 * @category Policies
 */
export interface CircuitTransition {
  readonly state: CircuitState;
  /** When the breaker entered `state`. For `'half-open'`, the moment the open period ended. */
  readonly at: number;
  /** For `'open'` only: when the breaker turns half-open. */
  readonly reopensAt?: number;
}

/**
 * The right to make one attempt, handed out by {@link CircuitBreaker.admit}. Report how the attempt
 * went with exactly one of `success()`, `failure()` or `release()`; the first call settles the
 * permit and later calls do nothing, so teardown code may call `release()` unconditionally.
 *
 * An outcome reported after the breaker changed state (a slow attempt admitted while closed that
 * fails after the breaker opened) frees its slot but does not move the breaker: it describes the
 * backend as it was.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, type BreakerPermit } from 'rx-lifeline';
 * const breaker = new CircuitBreaker();
 * const permit: BreakerPermit = breaker.admit();
 * console.log(permit.probe); // false: the breaker is closed
 * permit.success();
 * ```
 * @category Policies
 */
export interface BreakerPermit {
  /** True for a half-open probe: an attempt whose outcome decides whether the breaker closes. */
  readonly probe: boolean;
  /** The attempt succeeded. */
  success(): void;
  /** The attempt failed in a way that counts against the backend (see {@link classifyFailure}). */
  failure(): void;
  /**
   * The attempt ended without an outcome that says anything about the backend (it was cancelled, or
   * failed permanently for a reason of its own). Frees the slot; counts neither way.
   */
  release(): void;
}

/**
 * Options of {@link CircuitBreaker}.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, exponentialBackoff, failureRatio, type CircuitBreakerOptions } from 'rx-lifeline';
 * const options: CircuitBreakerOptions = {
 *   strategy: failureRatio({ threshold: 0.5, window: { count: 20 } }),
 *   openFor: exponentialBackoff({ initial: 1_000, max: 60_000 }),
 *   halfOpenProbes: 2,
 *   closeAfter: 3,
 * };
 * const breaker = new CircuitBreaker(options);
 * ```
 * @category Policies
 */
export interface CircuitBreakerOptions {
  /**
   * When a closed breaker opens: {@link consecutiveFailures} or {@link failureRatio}.
   * @default consecutiveFailures(5)
   */
  strategy?: BreakerStrategy | undefined;
  /**
   * How long the breaker stays open, in milliseconds, before it admits probes. A {@link Backoff}
   * makes each re-opening after a failed probe last `next()` of the previous one; closing starts it
   * over. It is not jittered unless the Backoff is (see {@link withJitter}).
   * @default 10_000
   */
  openFor?: number | Backoff | undefined;
  /**
   * Probes the half-open breaker lets run at once (N). Other attempts are refused meanwhile; they
   * are not queued. A probe still in flight from an earlier half-open period keeps its slot.
   * @default 1
   */
  halfOpenProbes?: number | undefined;
  /**
   * Successful probes needed to close the breaker (M). It may exceed `halfOpenProbes`: a probe that
   * succeeds frees its slot for the next.
   * @default 1
   */
  closeAfter?: number | undefined;
  /**
   * The clock (`now()`), and the timer that turns the breaker half-open while someone watches
   * `state$`. A `TestScheduler` drives it in virtual time.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike | undefined;
}

const OPTIONS: KnownOptions<CircuitBreakerOptions> = {
  strategy: true,
  openFor: true,
  halfOpenProbes: true,
  closeAfter: true,
  scheduler: true,
};

/**
 * A circuit breaker shared by many streams that talk to one backend: after enough failures
 * (per its {@link BreakerStrategy}) it opens and refuses attempts for a while, sparing a struggling
 * backend the retries of every client; then it admits a few probes (half-open) and closes again
 * when they succeed. A failed probe opens it again.
 *
 * It is a plain object, not an operator: callers ask {@link CircuitBreaker.admit} before each
 * attempt and report the outcome on the permit. `RetryPolicy.breaker(...)` hands one to the retry
 * machinery. It keeps O(1) state plus the strategy's bounded window.
 *
 * It does not retry, time out attempts, or classify errors: report as `failure()` only failures that
 * say the backend is unwell (see {@link classifyFailure}), and `release()` the rest. Time comes from
 * `scheduler.now()`; the open → half-open change happens when time has passed, noticed by the next
 * call, or by a timer that exists only while `state$` has subscribers.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitOpenError, consecutiveFailures } from 'rx-lifeline';
 * const breaker = new CircuitBreaker({ strategy: consecutiveFailures(3), openFor: 10_000 });
 * breaker.state$.subscribe(({ state, at }) => console.log(`${state} at ${at}`));
 *
 * async function call(fetchUser: () => Promise<string>): Promise<string> {
 *   const permit = breaker.admit(); // throws CircuitOpenError while open
 *   try {
 *     const user = await fetchUser();
 *     permit.success();
 *     return user;
 *   } catch (error) {
 *     permit.failure();
 *     throw error;
 *   }
 * }
 * ```
 * @category Policies
 */
export class CircuitBreaker {
  /**
   * The breaker's state now, then every change, as {@link CircuitTransition}s; shared by all who
   * subscribe. It never completes or errors. While it has a subscriber and the breaker is open, a
   * timer from the scheduler turns the breaker half-open on time; without subscribers there is no
   * timer.
   */
  readonly state$: Observable<CircuitTransition>;

  /**
   * @internal Marks every breaker, whatever copy of the library made it (see `is`). A static field,
   * not a statement after the class, so that a bundler drops the class when nothing uses it.
   */
  protected static readonly branded: true = /* @__PURE__ */ brand(this, BREAKER_BRAND);

  /**
   * True when `value` is a CircuitBreaker, even one made by another copy of the library (a config
   * file loaded through its own TypeScript loader, a bundle that inlines its own copy).
   * @example
   * ```ts
   * import { CircuitBreaker } from 'rx-lifeline';
   * console.log(CircuitBreaker.is(new CircuitBreaker()), CircuitBreaker.is({})); // true false
   * ```
   */
  static is(value: unknown): value is CircuitBreaker {
    return value instanceof CircuitBreaker || hasBrand(value, BREAKER_BRAND);
  }

  readonly #counter: OutcomeCounter;
  readonly #initialOpenFor: Backoff;
  readonly #halfOpenProbes: number;
  readonly #closeAfter: number;
  readonly #scheduler: SchedulerLike;
  readonly #transitions = new Subject<CircuitTransition>();

  #current: CircuitTransition;
  /** Bumped at every transition; a permit from an older generation describes the past. */
  #generation = 0;
  /** The open period in force, or the last one (its `next()` is the one after a failed probe). */
  #openFor: Backoff | undefined;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  #watchers = 0;
  readonly #timer: DueTimer;

  /**
   * @throws TypeError when an option is out of range, the strategy is malformed, or an option is not
   * one of {@link CircuitBreakerOptions}.
   */
  constructor(options: CircuitBreakerOptions = {}) {
    checkKnownOptions('CircuitBreaker', options, OPTIONS);
    const {
      strategy = consecutiveFailures(5),
      openFor = 10_000,
      halfOpenProbes = 1,
      closeAfter = 1,
      scheduler = asyncScheduler,
    } = options;
    const where = 'CircuitBreaker';
    this.#counter = createCounter(strategy);
    if (typeof openFor === 'number') {
      this.#initialOpenFor = constantBackoff(
        checkNumber(where, 'openFor', openFor, { min: 0, exclusive: true }),
      );
    } else if (isBackoff(openFor)) {
      this.#initialOpenFor = openFor;
    } else {
      throw new TypeError(`${where}: openFor must be a number or a Backoff, got ${describe(openFor)}`);
    }
    const countRule = { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true };
    this.#halfOpenProbes = checkNumber(where, 'halfOpenProbes', halfOpenProbes, countRule);
    this.#closeAfter = checkNumber(where, 'closeAfter', closeAfter, countRule);
    this.#scheduler = checkScheduler(where, scheduler);
    this.#timer = new DueTimer(scheduler);
    this.#current = Object.freeze({ state: 'closed', at: scheduler.now() });

    this.state$ = new Observable<CircuitTransition>((subscriber) => {
      this.#refresh();
      subscriber.next(this.#current);
      const subscription = this.#transitions.subscribe(subscriber);
      this.#watchers++;
      this.#armTimer();
      return () => {
        subscription.unsubscribe();
        if (--this.#watchers === 0) this.#disarmTimer();
      };
    });
  }

  /** The state now (an open breaker whose time is up reads `'half-open'`). */
  get state(): CircuitState {
    this.#refresh();
    return this.#current.state;
  }

  /** When the open breaker turns half-open; `undefined` unless it is open. */
  get reopensAt(): number | undefined {
    this.#refresh();
    return this.#current.reopensAt;
  }

  /**
   * Asks to make one attempt. Closed: always admitted. Half-open: admitted as a probe while fewer
   * than `halfOpenProbes` probes are in flight. Open: refused.
   *
   * @returns a permit, on which to report the attempt's outcome.
   * @throws {@link CircuitOpenError} when refused, with `reopensAt` when open.
   */
  admit(): BreakerPermit {
    this.#refresh();
    const { state, reopensAt } = this.#current;
    if (state === 'closed') return this.#permit(false);
    if (state === 'open') {
      throw new CircuitOpenError(`The circuit breaker is open until ${reopensAt}`, { state, reopensAt });
    }
    if (this.#probesInFlight >= this.#halfOpenProbes) {
      const message = `The circuit breaker is half-open and all ${this.#halfOpenProbes} probes are in flight`;
      throw new CircuitOpenError(message, { state });
    }
    this.#probesInFlight++;
    return this.#permit(true);
  }

  #permit(probe: boolean): BreakerPermit {
    const generation = this.#generation;
    let settled = false;
    const settle = (outcome: 'success' | 'failure' | 'release'): void => {
      if (settled) return;
      settled = true;
      if (probe) this.#probesInFlight--;
      this.#refresh();
      if (outcome === 'release' || generation !== this.#generation) return;
      this.#record(outcome === 'success');
    };
    return Object.freeze({
      probe,
      success: () => settle('success'),
      failure: () => settle('failure'),
      release: () => settle('release'),
    });
  }

  /** Records an outcome of the current generation. */
  #record(success: boolean): void {
    const now = this.#scheduler.now();
    if (this.#current.state === 'closed') {
      if (success) this.#counter.success(now);
      else if (this.#counter.failure(now)) this.#open(now, this.#initialOpenFor);
    } else if (this.#current.state === 'half-open') {
      if (!success)
        this.#open(
          now,
          this.#openFor ? nextBackoff('CircuitBreaker: openFor', this.#openFor) : this.#initialOpenFor,
        );
      else if (++this.#probeSuccesses >= this.#closeAfter) this.#enter({ state: 'closed', at: now });
    }
  }

  #open(now: number, openFor: Backoff): void {
    this.#openFor = openFor;
    this.#enter({ state: 'open', at: now, reopensAt: now + openFor.duration });
    this.#armTimer();
  }

  /** Turns an open breaker half-open once its time is up; the clock is read, never trusted to a timer. */
  #refresh(): void {
    const { state, reopensAt } = this.#current;
    if (state === 'open' && reopensAt !== undefined && this.#scheduler.now() >= reopensAt) {
      this.#disarmTimer();
      this.#enter({ state: 'half-open', at: reopensAt });
    }
  }

  #enter(transition: CircuitTransition): void {
    this.#generation++;
    this.#counter.reset();
    this.#probeSuccesses = 0;
    if (transition.state === 'closed') this.#openFor = undefined;
    this.#current = Object.freeze(transition);
    // State is complete before anyone hears of it: an observer may call admit() from here.
    this.#transitions.next(this.#current);
  }

  #armTimer(): void {
    const { state, reopensAt } = this.#current;
    if (this.#watchers === 0 || state !== 'open' || reopensAt === undefined) return;
    // Due by the clock that set reopensAt: a timer that fires early waits again for the rest.
    this.#timer.setEarliest(reopensAt, () => {
      this.#refresh();
      // The breaker may have opened again meanwhile, until a later time.
      this.#armTimer();
    });
  }

  #disarmTimer(): void {
    this.#timer.cancel();
  }
}
