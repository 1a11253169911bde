import type { KnownOptions } from '../internal/validate.js';

/**
 * Options of `policy.recommended` ({@link policy}): the reconnect policy lifeline recommends for a client of a
 * server that may restart under it.
 *
 * @example
 * ```ts
 * import { policy, type RecommendedPolicyOptions } from 'rx-lifeline';
 * const options: RecommendedPolicyOptions = { random: Math.random, max: 10_000 };
 * const retry = policy.recommended(options);
 * ```
 * @category Policies
 */
export interface RecommendedPolicyOptions {
  /**
   * Returns a number in [0, 1) at each call: the jitter's randomness, injected (`Math.random` in
   * production, `seededRandom(seed)` from 'rx-lifeline/testing' in tests). Required: a preset does
   * not pick a generator for you either.
   */
  random: () => number;
  /**
   * The shortest wait after a lost connection, in milliseconds: no client of a fleet redials sooner,
   * so a crashed server is not hit by every client in the seconds it takes to start again. A lone
   * client on a flaky network may want less (a cut is not a crash); it is not a timeout.
   * @default 2_000
   */
  initial?: number | undefined;
  /**
   * The longest wait between two dials, in milliseconds: once a server is back, every client is
   * back within about `max` (or when the server's hint says). It does not cap a server's hint
   * (`maxHint` does) and is not a limit on attempts or total time.
   * @default 5_000
   */
  max?: number | undefined;
}

/** The options of {@link RecommendedPolicyOptions}. @internal */
export const RECOMMENDED_OPTIONS: KnownOptions<RecommendedPolicyOptions> = {
  random: true,
  initial: true,
  max: true,
};

/** The recommended first delay and cap, in milliseconds. @internal */
export const RECOMMENDED_DEFAULTS = { initial: 2_000, max: 5_000 } as const;
