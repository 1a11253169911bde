import {
  checkedExponentialBackoff,
  checkedLinearBackoff,
  constantBackoff,
  isBackoff,
  nextBackoff,
  type Backoff,
  type ExponentialBackoffOptions,
  type LinearBackoffOptions,
} from './backoff.js';
import { BREAKER_BRAND, BUDGET_BRAND, hasBrand } from './brands.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import {
  checkClassifyOptions,
  classifyFailure,
  type ClassifyOptions,
  type FailureClass,
  verdictOf,
} from './classify.js';

import { fieldOf, hasName } from './error-names.js';
import { checkJitter, withJitter, type JitterKind, type JitterOptions } from './jitter.js';
import { RECOMMENDED_DEFAULTS, RECOMMENDED_OPTIONS, type RecommendedPolicyOptions } from './recommended.js';
import type { RetryBudget } from './retry-budget.js';
import {
  checkFunction,
  checkKnownOptions,
  checkNumber,
  describe,
  type KnownOptions,
  MAX_DELAY,
  POSITIVE_DURATION,
} from '../internal/validate.js';

/** `describe`, with the class of an object: "an object of class Foo". */
function describeObject(value: unknown): string {
  const name = (value as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof value === 'object' && value !== null && typeof name === 'string' && name !== 'Object'
    ? `an object of class ${name}`
    : describe(value);
}

/**
 * One failed attempt, as {@link RetryPolicy.decide} needs to know it. Times are `scheduler.now()`
 * readings in milliseconds.
 *
 * @example
 * ```ts
 * import type { RetryFailure } from 'rx-lifeline';
 * const failure: RetryFailure = { error: new Error('reset'), attempt: 1, firstFailureAt: 0, now: 0 };
 * ```
 * @category Policies
 */
export interface RetryFailure {
  /** What the attempt failed with. */
  readonly error: unknown;
  /** The number of the attempt that failed: 1 for the first attempt. */
  readonly attempt: number;
  /** When the first attempt of this run of failures failed. */
  readonly firstFailureAt: number;
  /** Now. */
  readonly now: number;
  /**
   * The `backoff` of the previous decision in this run of failures, so that the next delay follows
   * on from it (decorrelated jitter needs the previous delay). Omit it for the first failure: the
   * policy starts its backoff over.
   */
  readonly backoff?: Backoff | undefined;
}

/**
 * Why a {@link RetryPolicy} gave up:
 *
 * - `'permanent'`: the classifier said the failure will not go away.
 * - `'max-attempts'`: the attempt that failed was the last one allowed.
 * - `'max-elapsed'`: the next attempt would start after the time allowed.
 * - `'budget-exhausted'`: the shared {@link RetryBudget} had no token.
 *
 * @example
 * ```ts
 * import type { GiveUpReason } from 'rx-lifeline';
 * const explain = (reason: GiveUpReason) => (reason === 'permanent' ? 'not retryable' : 'gave up');
 * ```
 * @category Policies
 */
export type GiveUpReason = 'permanent' | 'max-attempts' | 'max-elapsed' | 'budget-exhausted';

/**
 * What {@link RetryPolicy.decide} decided: retry after `delay` milliseconds, or give up for a
 * `reason` with the `error` to report (the failure itself, or a {@link RetryBudgetExhaustedError}
 * whose `cause` is the failure).
 *
 * @example
 * ```ts
 * import type { RetryDecision } from 'rx-lifeline';
 * const describe = (d: RetryDecision) => (d.retry ? `retry in ${d.delay} ms` : `gave up: ${d.reason}`);
 * ```
 * @category Policies
 */
export type RetryDecision =
  | {
      readonly retry: true;
      /** Milliseconds to wait before the next attempt. */
      readonly delay: number;
      /** Pass it back as `RetryFailure.backoff` with the next failure of this run. */
      readonly backoff: Backoff;
    }
  | { readonly retry: false; readonly reason: GiveUpReason; readonly error: unknown };

/**
 * Everything a {@link RetryPolicy} holds, read-only. The retry machinery (reconnectWith) reads
 * `attemptTimeout`, `breaker` and `budget` from here.
 *
 * @example
 * ```ts
 * import { policy, type RetryPolicyConfig } from 'rx-lifeline';
 * const config: RetryPolicyConfig = policy.exponential().attemptTimeout(5_000).config;
 * console.log(config.attemptTimeout, config.maxAttempts); // 5000 Infinity
 * ```
 * @category Policies
 */
export interface RetryPolicyConfig {
  /** The delays before jitter. */
  readonly backoff: Backoff;
  /** @default 'none' */
  readonly jitter: JitterKind;
  /** The random source for jitter; `undefined` for `'none'`. */
  readonly random: (() => number) | undefined;
  /** Attempts in all, the first included. @default Infinity */
  readonly maxAttempts: number;
  /** Milliseconds from the first failure after which no attempt starts. @default Infinity */
  readonly maxElapsed: number;
  /** The longest server hint (`retryAfterMs`) honoured, in milliseconds. @default 86_400_000 (a day) */
  readonly maxHint: number;
  /** Milliseconds one attempt (a dial) may take before it counts as failed. @default undefined (none) */
  readonly attemptTimeout: number | undefined;
  /** Decides what is worth retrying. @default classifyFailure */
  readonly classify: (error: unknown) => FailureClass;
  /** @default undefined */
  readonly breaker: CircuitBreaker | undefined;
  /** @default undefined */
  readonly budget: RetryBudget | undefined;
}

const CONFIG: KnownOptions<RetryPolicyConfig> = {
  backoff: true,
  jitter: true,
  random: true,
  maxAttempts: true,
  maxElapsed: true,
  maxHint: true,
  attemptTimeout: true,
  classify: true,
  breaker: true,
  budget: true,
};

/**
 * An immutable value that decides, for each failure, whether to try again and after how long. Every
 * builder method returns a new policy and leaves this one as it was, so one policy can be shared
 * by every stream and specialised per stream. Make one with {@link policy}.
 *
 * It does not wait, dial or time anything out: {@link RetryPolicy.decide} returns a delay and the
 * caller's scheduler waits. Nor does it record successes: whoever runs the attempts reports them to
 * the breaker's permit and deposits into the budget.
 *
 * @example
 * ```ts
 * import { policy, CircuitBreaker, RetryBudget } from 'rx-lifeline';
 * const sharedBreaker = new CircuitBreaker();
 * const sharedBudget = new RetryBudget();
 * const reconnect = policy
 *   .exponential({ initial: 100, max: 30_000 })
 *   .jitter('full', { random: () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32 })
 *   .maxElapsed(5 * 60_000)
 *   .breaker(sharedBreaker)
 *   .budget(sharedBudget);
 * const decision = reconnect.decide({ error: new Error('?'), attempt: 1, firstFailureAt: 0, now: 0 });
 * console.log(decision.retry); // false: an unknown error is permanent
 * ```
 * @category Policies
 */
export class RetryPolicy {
  /** Everything this policy holds. */
  readonly config: RetryPolicyConfig;

  /** @internal Use {@link policy}. */
  constructor(config: RetryPolicyConfig) {
    checkKnownOptions('RetryPolicy', config, CONFIG);
    this.config = Object.freeze({ ...config });
  }

  /**
   * Randomises the delays ({@link JitterKind}, after Marc Brooker, "Exponential Backoff and
   * Jitter", AWS Architecture Blog, 2015). Every delay stays at most the backoff's `max`. Replaces
   * any jitter set before. `random` is required, never defaulted to the platform's generator, so
   * that tests can inject `seededRandom` and get exact delays.
   *
   * @default 'none'
   * @throws TypeError if `kind` is unknown, `random` is not a function, or `options` has another key.
   */
  jitter(kind: 'none'): RetryPolicy;
  jitter(kind: JitterKind, options: JitterOptions): RetryPolicy;
  jitter(kind: JitterKind, options?: JitterOptions): RetryPolicy {
    // Checked now rather than at the first failure.
    const random = checkJitter('RetryPolicy.jitter', kind, options);
    return this.#with({ jitter: kind, random });
  }

  /**
   * Allows at most `n` attempts in all, the first included: `maxAttempts(1)` never retries. It counts
   * attempts within one run of failures; starting a new run (after a success) is the caller's call.
   *
   * @default Infinity
   * @throws TypeError if `n` is not an integer ≥ 1 (or Infinity).
   */
  maxAttempts(n: number): RetryPolicy {
    return this.#with({
      maxAttempts: checkNumber('RetryPolicy.maxAttempts', 'n', n, { min: 1, max: Infinity, integer: true }),
    });
  }

  /**
   * Gives up when the next attempt would start more than `ms` milliseconds after the first failure
   * of the run (the rule of cenkalti/backoff). It does not cut an attempt short: see
   * {@link RetryPolicy.attemptTimeout}.
   *
   * @default Infinity
   * @throws TypeError if `ms` is negative or NaN.
   */
  maxElapsed(ms: number): RetryPolicy {
    return this.#with({
      maxElapsed: checkNumber('RetryPolicy.maxElapsed', 'ms', ms, { min: 0, max: Infinity }),
    });
  }

  /**
   * Caps the server hints the policy honours: a `retryAfterMs` on the error (HTTP's `Retry-After`,
   * a handshake refusal's or a close reason's hint) is the delay when it is at most `ms`, even
   * above the backoff's own `max` and even below its current delay — a server that says "come back
   * in 5 minutes", or that gave this client the next free slot in 300 ms, knows its load better
   * than the client's backoff does (gRPC's retry pushback works the same way). A longer hint waits
   * `ms` (or the backoff, if longer). `maxHint(0)` ignores hints. No delay is longer than a timer
   * can wait (2,147,483,647 ms, about 24.8 days), however long the hint under `maxHint(Infinity)`.
   *
   * @default 86_400_000 (a day)
   * @throws TypeError if `ms` is negative or NaN.
   * @example
   * ```ts
   * import { policy } from 'rx-lifeline';
   * // Backs off up to 30 s on its own, and waits up to 5 minutes when a server asks it to.
   * const retry = policy.exponential({ initial: 100, max: 30_000 }).maxHint(5 * 60_000);
   * ```
   */
  maxHint(ms: number): RetryPolicy {
    return this.#with({ maxHint: checkNumber('RetryPolicy.maxHint', 'ms', ms, { min: 0, max: Infinity }) });
  }

  /**
   * Stores how long one attempt (a dial) may take before it counts as a failed attempt. The policy
   * only holds the number; the retry machinery (reconnectWith) applies it with its scheduler.
   *
   * @default undefined (attempts are not timed out)
   * @throws TypeError if `ms` is not more than 0, or more than 2_147_483_647.
   */
  attemptTimeout(ms: number): RetryPolicy {
    return this.#with({
      attemptTimeout: checkNumber('RetryPolicy.attemptTimeout', 'ms', ms, POSITIVE_DURATION),
    });
  }

  /**
   * Replaces the classifier: a function that says `'transient'` (retry) or `'permanent'` (give up),
   * or {@link ClassifyOptions} for the default {@link classifyFailure}. An exception thrown by the
   * function escapes from `decide`; {@link reconnectWith}, {@link retryWith}, `EndpointSet.use` and
   * {@link fanout} end their stream with it, after releasing the attempt's breaker permit. An answer
   * that is neither `'transient'` nor `'permanent'` (an `undefined`) is a TypeError that says so,
   * thrown and handled the same way.
   *
   * @default classifyFailure
   * @throws TypeError if given neither a function nor an options object, or options it does not know.
   */
  classify(classifier: ((error: unknown) => FailureClass) | ClassifyOptions): RetryPolicy {
    if (typeof classifier === 'function') return this.#with({ classify: classifier });
    if (typeof classifier !== 'object' || classifier === null) {
      throw new TypeError(
        `RetryPolicy.classify: expected a function or ClassifyOptions, got ${describe(classifier)}`,
      );
    }
    checkClassifyOptions('RetryPolicy.classify', classifier);
    const options: ClassifyOptions = { ...classifier };
    return this.#with({ classify: (error) => classifyFailure(error, options) });
  }

  /**
   * Retries exactly the failures for which `predicate` returns true: shorthand for
   * `classify(e => predicate(e) ? 'transient' : 'permanent')`. It replaces the default classifier
   * rather than adding to it; to add to it, use `classify({ transient })`.
   *
   * @throws TypeError if `predicate` is not a function.
   */
  retryIf(predicate: (error: unknown) => boolean): RetryPolicy {
    checkFunction('RetryPolicy.retryIf', 'predicate', predicate);
    return this.#with({ classify: (error) => (predicate(error) ? 'transient' : 'permanent') });
  }

  /**
   * Shares a {@link CircuitBreaker}: while it is open, a retry waits at least until it turns
   * half-open (which may be longer than the backoff's `max`), instead of knocking on a door known to
   * be shut. A {@link CircuitOpenError} failure is waited out the same way. `decide` only reads the
   * breaker; the retry machinery asks it for a permit before each attempt and reports outcomes.
   *
   * @default undefined (no breaker)
   * @throws TypeError if `breaker` is not a CircuitBreaker.
   */
  breaker(breaker: CircuitBreaker): RetryPolicy {
    // Not instanceof: a breaker made by another copy of the library (a config file loaded through
    // its own TypeScript loader) is still a breaker. The brand, not CircuitBreaker.is, so that a
    // bundle of `policy` alone does not carry the breaker.
    if (!hasBrand(breaker, BREAKER_BRAND)) {
      throw new TypeError(
        `RetryPolicy.breaker: expected a CircuitBreaker (new CircuitBreaker(…)), got ${describeObject(breaker)}`,
      );
    }
    return this.#with({ breaker });
  }

  /**
   * Shares a {@link RetryBudget}: `decide` withdraws a token for every retry it allows, and gives up
   * with a {@link RetryBudgetExhaustedError} when there is none. Depositing on success is the retry
   * machinery's job.
   *
   * @default undefined (no budget)
   * @throws TypeError if `budget` is not a RetryBudget.
   */
  budget(budget: RetryBudget): RetryPolicy {
    // The brand, as for the breaker: a budget made by another copy of the library is still a budget.
    if (!hasBrand(budget, BUDGET_BRAND)) {
      throw new TypeError(`RetryPolicy.budget: expected a RetryBudget, got ${describe(budget)}`);
    }
    return this.#with({ budget });
  }

  /**
   * The first backoff of a run, jittered as configured: its `duration` is the delay after a first
   * failure. Each call draws fresh randomness, so streams sharing the policy do not move in step.
   */
  startBackoff(): Backoff {
    const { backoff, jitter, random } = this.config;
    return jitter === 'none' || random === undefined ? backoff : withJitter(backoff, jitter, { random });
  }

  /**
   * Decides whether to try again after `failure`, and after how long. In order:
   *
   * 1. a `'permanent'` failure (per the classifier) is not retried;
   * 2. nor is the attempt numbered `maxAttempts`;
   * 3. the delay is the next backoff (`failure.backoff.next()`, or the first one), jittered;
   * 4. an error carrying a numeric `retryAfterMs` (a server's Retry-After, or the slot its admission
   *    control gave this client) is the delay instead, shorter or longer than the backoff's, above
   *    its `max` too, as gRPC's retry pushback is; a hint above {@link RetryPolicy.maxHint} (a day
   *    by default) waits `maxHint`, or the backoff when that is longer. The backoff still advances,
   *    so a later failure without a hint goes on from it;
   * 5. an open breaker (or a `CircuitOpenError` with `reopensAt`) raises it to the reopening time;
   * 6. if the next attempt would then start after `maxElapsed`, give up;
   * 7. the budget, if any, must yield a token, else give up with a `RetryBudgetExhaustedError`.
   *
   * Pure but for the random draws of jitter, a breaker read, and the token it withdraws when it says
   * retry: call it once per failure.
   *
   * @throws TypeError if `attempt` is not an integer ≥ 1, or a time is not a finite number. Whatever
   * the classifier throws.
   * @example
   * ```ts
   * import { policy, DialError } from 'rx-lifeline';
   * const retry = policy.exponential({ initial: 100, max: 1_000 }).maxAttempts(3);
   * const error = new DialError('refused', { code: 'ECONNREFUSED' });
   * const first = retry.decide({ error, attempt: 1, firstFailureAt: 0, now: 0 });
   * if (first.retry) {
   *   console.log(first.delay); // 100
   *   const { backoff } = first;
   *   const second = retry.decide({ error, attempt: 2, firstFailureAt: 0, now: 150, backoff });
   *   console.log(second.retry && second.delay); // 200
   * }
   * const third = retry.decide({ error, attempt: 3, firstFailureAt: 0, now: 500 });
   * console.log(third.retry || third.reason); // 'max-attempts'
   * ```
   */
  decide(failure: RetryFailure): RetryDecision {
    const { error, attempt, firstFailureAt, now, backoff: previous } = failure;
    const where = 'RetryPolicy.decide';
    checkNumber(where, 'attempt', attempt, { min: 1, max: Number.MAX_SAFE_INTEGER, integer: true });
    checkNumber(where, 'firstFailureAt', firstFailureAt, { max: Number.MAX_VALUE });
    checkNumber(where, 'now', now, { max: Number.MAX_VALUE });
    if (previous !== undefined && !isBackoff(previous)) {
      throw new TypeError(
        `${where}: backoff must be a Backoff from a previous decision, got ${describe(previous)}`,
      );
    }
    const { classify, maxAttempts, maxElapsed, maxHint, breaker, budget } = this.config;

    if (verdictOf('RetryPolicy.classify', classify, error) === 'permanent') {
      return { retry: false, reason: 'permanent', error };
    }
    if (attempt >= maxAttempts) return { retry: false, reason: 'max-attempts', error };

    const backoff = previous ? nextBackoff('policy.backoff', previous) : this.startBackoff();
    let delay = backoff.duration;
    const hint = retryAfterOf(error);
    // Never longer than a timer can wait: above that a timer fires within milliseconds (a retry
    // storm), whatever a server's hint under maxHint(Infinity) says.
    if (hint !== undefined && maxHint > 0) {
      delay = Math.min(hint <= maxHint ? hint : Math.max(delay, maxHint), MAX_DELAY);
    }
    const reopensAt = Math.max(breaker?.reopensAt ?? -Infinity, reopensAtOf(error));
    // A breaker open for longer than a timer can wait is asked again when the longest wait ends.
    if (reopensAt > now + delay) delay = Math.min(reopensAt - now, MAX_DELAY);

    if (Math.max(0, now - firstFailureAt) + delay > maxElapsed)
      return { retry: false, reason: 'max-elapsed', error };
    if (budget && !budget.tryWithdraw()) {
      return { retry: false, reason: 'budget-exhausted', error: budget.refusal(error) };
    }
    return { retry: true, delay, backoff };
  }

  #with(changes: Partial<RetryPolicyConfig>): RetryPolicy {
    return new RetryPolicy({ ...this.config, ...changes });
  }
}

/**
 * When a `CircuitOpenError` says its breaker reopens, or -Infinity. Matched by name, as the
 * classifier matches errors: a bundle of the policy alone carries no breaker class.
 */
function reopensAtOf(error: unknown): number {
  const reopensAt = hasName(error, 'CircuitOpenError') ? fieldOf(error, 'reopensAt') : undefined;
  return typeof reopensAt === 'number' ? reopensAt : -Infinity;
}

/** A server's hint (`retryAfterMs`, a non-negative number of milliseconds), read structurally. */
function retryAfterOf(error: unknown): number | undefined {
  const retryAfterMs = fieldOf(error, 'retryAfterMs');
  return typeof retryAfterMs === 'number' && retryAfterMs >= 0 ? retryAfterMs : undefined;
}

function fromBackoff(backoff: Backoff): RetryPolicy {
  if (!isBackoff(backoff))
    throw new TypeError(`policy.backoff: expected a Backoff, got ${describe(backoff)}`);
  return new RetryPolicy({
    backoff,
    jitter: 'none',
    random: undefined,
    maxAttempts: Infinity,
    maxElapsed: Infinity,
    maxHint: 86_400_000,
    attemptTimeout: undefined,
    classify: (error) => classifyFailure(error),
    breaker: undefined,
    budget: undefined,
  });
}

/**
 * Makes {@link RetryPolicy} values: pick the shape of the delays, then refine with the builder
 * methods. Every policy starts with no jitter, no limits, the default {@link classifyFailure}, no
 * breaker and no budget — it retries transient failures forever, with capped delays.
 *
 * @example
 * ```ts
 * import { policy } from 'rx-lifeline';
 * import { seededRandom } from 'rx-lifeline/testing';
 * const random = seededRandom(1);
 * const backOff = policy.exponential({ initial: 100, max: 30_000 }).jitter('full', { random });
 * const steady = policy.constant(1_000).maxAttempts(5);
 * const ramp = policy.linear({ initial: 500, step: 500, max: 5_000 }).maxElapsed(60_000);
 * ```
 * @category Policies
 */
export const policy = Object.freeze({
  /**
   * Delays `min(max, initial * factor^n)`: see {@link exponentialBackoff}.
   * @throws TypeError on nonsense options.
   */
  exponential(options: ExponentialBackoffOptions = {}): RetryPolicy {
    return fromBackoff(checkedExponentialBackoff('policy.exponential', options));
  },
  /**
   * Delays `min(max, initial + step * n)`: see {@link linearBackoff}.
   * @throws TypeError on nonsense options.
   */
  linear(options: LinearBackoffOptions = {}): RetryPolicy {
    return fromBackoff(checkedLinearBackoff('policy.linear', options));
  },
  /**
   * The same delay, `ms`, every time: see {@link constantBackoff}.
   * @throws TypeError if `ms` is negative, NaN or more than 2_147_483_647.
   */
  constant(ms: number): RetryPolicy {
    return fromBackoff(constantBackoff(ms));
  },
  /**
   * The reconnect policy lifeline recommends for clients of a server that may crash or restart:
   * decorrelated jitter (Brooker's formula: each wait drawn from [`initial`, 3 × the previous
   * wait], capped) from 2 s up to 5 s, retrying transient failures forever and honouring a
   * server's hint (`retryAfterMs`) up to a day. The same as
   * `policy.exponential({ initial, max }).jitter('decorrelated', { random })`.
   *
   * Why these numbers: no client redials sooner than 2 s after a loss, so a crashed server is not
   * met by the whole fleet while it starts again (socket.io's client, by default, waits 0.5–1.5 s,
   * then 1–3 s, 2–6 s, capped at 5 s: every wait of this policy is at least as long as socket.io's
   * first, so it dials less through any outage); the waits are spread over three times the
   * previous one, so clients that lost their connection together come back apart; and the 5 s
   * cap, socket.io's too, bounds the gap between dials, so every client is back within about 5 s
   * of the server. The cost: a one-second blip takes 2–5 s to recover from. Pair it with a
   * server-side `HandshakeAdmission` sized to what the server can take: its refusals tell each
   * client when to come back, which this policy honours above `max`.
   *
   * It does not set a breaker, a budget, an attempt timeout or a limit: add them with the builder
   * methods (the result is a {@link RetryPolicy} like any other).
   *
   * @throws TypeError if `random` is not a function, `initial` is not more than 0, `max < initial`,
   * or an option is not one of `random`, `initial` and `max`.
   * @example
   * ```ts
   * import { policy, reconnectWith } from 'rx-lifeline';
   * import { tcp } from 'rx-lifeline/node';
   * const session = tcp<string>({ port: 7070 }).pipe(reconnectWith(policy.recommended({ random: Math.random })));
   * ```
   */
  recommended(options: RecommendedPolicyOptions): RetryPolicy {
    if (options === undefined) {
      throw new TypeError(
        'policy.recommended: pass the options, { random } at least (e.g. { random: Math.random })',
      );
    }
    checkKnownOptions('policy.recommended', options, RECOMMENDED_OPTIONS);
    const { random, initial = RECOMMENDED_DEFAULTS.initial, max = RECOMMENDED_DEFAULTS.max } = options;
    checkFunction('policy.recommended', 'random', random);
    const backoff = checkedExponentialBackoff('policy.recommended', { initial, max });
    return fromBackoff(backoff).jitter('decorrelated', { random });
  },
  /**
   * Delays from any {@link Backoff}, including one written by hand.
   * @throws TypeError if `backoff` is not a Backoff.
   */
  backoff(backoff: Backoff): RetryPolicy {
    return fromBackoff(backoff);
  },
});
