import { isBackoff, type Backoff } from './backoff.js';
import {
  checkFunction,
  checkKnownOptions,
  checkOneOf,
  describe,
  drawRandom,
  type KnownOptions,
} from '../internal/validate.js';

/**
 * How a delay is randomised, after Marc Brooker, "Exponential Backoff and Jitter" (AWS
 * Architecture Blog, 2015, https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 * With `base` the first delay, `cap` the backoff's `max`, and `v = min(cap, base * 2^n)` the
 * un-jittered delay of step `n` (more generally: the wrapped backoff's duration):
 *
 * - `'none'`: `v`. Clients that failed together retry together.
 * - `'full'`: `random_between(0, min(cap, base * 2^n))`. The least total work; some waits are ~0.
 * - `'equal'`: `v / 2 + random_between(0, v / 2)`. Never waits less than half of `v`.
 * - `'decorrelated'`: `sleep = min(cap, random_between(base, sleep * 3))`, starting from
 *   `sleep = min(base, cap / 3)`. Grows from the previous *jittered* delay, so it uses only `base`
 *   and `cap` of the wrapped backoff, not its shape. Brooker starts from `sleep = base`; when
 *   `cap < 3 * base` that clamps a share of the *first* waits onto the cap exactly (with 2 s and
 *   5 s, a quarter of them), so clients that lost their connection at the same instant (a server
 *   killed) would all dial at the same instant again. Starting from `cap / 3` draws the first wait
 *   evenly from `[base, cap]` instead; later waits follow Brooker's formula, and by then each
 *   client's first draw has spread them apart. With `cap >= 3 * base` it is Brooker's exactly.
 *
 * `random_between(low, high)` is `low + random() * (high - low)` with the injected `random`, so every
 * jittered delay is at most `cap`.
 *
 * @example
 * ```ts
 * import type { JitterKind } from 'rx-lifeline';
 * const kinds: JitterKind[] = ['none', 'full', 'equal', 'decorrelated'];
 * ```
 * @category Policies
 */
export type JitterKind = 'none' | 'full' | 'equal' | 'decorrelated';

/**
 * Options of {@link withJitter} and {@link RetryPolicy.jitter}.
 *
 * @example
 * ```ts
 * import type { JitterOptions } from 'rx-lifeline';
 * import { seededRandom } from 'rx-lifeline/testing';
 * const inTests: JitterOptions = { random: seededRandom(7) };
 * const fromCrypto = () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
 * const inProduction: JitterOptions = { random: fromCrypto };
 * ```
 * @category Policies
 */
export interface JitterOptions {
  /**
   * Returns a number in [0, 1) at each call. It is injected, never defaulted, so that a test can pass
   * `seededRandom(seed)` from 'rx-lifeline/testing' and get one exact sequence of delays; production
   * code passes the platform's generator (see the example). It is not called for `'none'`.
   * A value outside [0, 1) makes the backoff throw a `TypeError` rather than exceed its cap.
   */
  random: () => number;
}

const OPTIONS: KnownOptions<JitterOptions> = { random: true };

/**
 * Wraps a backoff so that each of its delays is randomised as {@link JitterKind} says. The result is
 * a {@link Backoff} like any other, with the same `max`; every delay stays within [0, max].
 *
 * The random number for a delay is drawn when the value holding it is made, so `duration` never
 * changes; but each call to `next()` draws again, so calling `next()` twice on one value gives two
 * different (equally valid) successors. It does not seed, store or share a generator: `random` is
 * called as given.
 *
 * @param kind - the formula, see {@link JitterKind}.
 * @throws TypeError if `backoff` is not a Backoff, `kind` is unknown, `random` is not a function
 * (for a kind other than `'none'`), or `options` has another key; later, if `random()` returns a
 * value outside [0, 1).
 * @example
 * ```ts
 * import { exponentialBackoff, withJitter } from 'rx-lifeline';
 * import { seededRandom } from 'rx-lifeline/testing';
 * const backoff = withJitter(exponentialBackoff({ initial: 100, max: 10_000 }), 'full', {
 *   random: seededRandom(42),
 * });
 * console.log(backoff.duration < 100, backoff.next().duration < 200); // true true
 * ```
 * @category Policies
 */
export function withJitter(backoff: Backoff, kind: JitterKind, options?: JitterOptions): Backoff {
  if (!isBackoff(backoff))
    throw new TypeError(`withJitter: backoff must be a Backoff, got ${describe(backoff)}`);
  const random = checkJitter('withJitter', kind, options);
  if (kind === 'none' || random === undefined) return backoff;
  const draw = (): number => drawRandom('withJitter', 'random', random);
  return kind === 'decorrelated'
    ? new DecorrelatedBackoff(
        backoff.duration,
        backoff.max,
        Math.min(backoff.duration, backoff.max / 3),
        draw,
      )
    : new ProportionalBackoff(backoff, kind, draw);
}

/** Every {@link JitterKind}. */
const JITTER_KINDS: readonly JitterKind[] = ['none', 'full', 'equal', 'decorrelated'];

/**
 * Throws a `TypeError` unless `kind` is a {@link JitterKind}, `options` holds no key but `random`
 * and, for a kind other than `'none'`, `options.random` is a function; returns that function.
 * Draws nothing.
 * @internal
 */
export function checkJitter(
  where: string,
  kind: JitterKind,
  options: JitterOptions | undefined,
): (() => number) | undefined {
  checkKnownOptions(where, options, OPTIONS);
  if (kind === 'none') return undefined;
  checkOneOf(where, 'kind', kind, JITTER_KINDS);
  return checkFunction(where, 'random', options?.random);
}

/** `low + random() * (high - low)`: Brooker's `random_between`. */
function randomBetween(low: number, high: number, random: () => number): number {
  return low + random() * (high - low);
}

/** Full and equal jitter: a random share of the wrapped backoff's own delay. */
class ProportionalBackoff implements Backoff {
  readonly duration: number;
  readonly max: number;

  readonly #inner: Backoff;
  readonly #kind: 'full' | 'equal';
  readonly #random: () => number;

  constructor(inner: Backoff, kind: 'full' | 'equal', random: () => number) {
    this.#inner = inner;
    this.#kind = kind;
    this.#random = random;
    this.max = inner.max;
    // The wrapped duration is already capped: v = min(cap, base * 2^n).
    const v = Math.min(inner.max, inner.duration);
    this.duration = kind === 'full' ? randomBetween(0, v, random) : v / 2 + randomBetween(0, v / 2, random);
  }

  next(): Backoff {
    return new ProportionalBackoff(this.#inner.next(), this.#kind, this.#random);
  }
}

/** Decorrelated jitter: each delay is drawn from [base, 3 × the previous delay), capped. */
class DecorrelatedBackoff implements Backoff {
  readonly duration: number;

  readonly #base: number;
  readonly #random: () => number;

  constructor(
    base: number,
    readonly max: number,
    previous: number,
    random: () => number,
  ) {
    this.#base = base;
    this.#random = random;
    this.duration = Math.min(max, randomBetween(base, previous * 3, random));
  }

  next(): Backoff {
    return new DecorrelatedBackoff(this.#base, this.max, this.duration, this.#random);
  }
}
