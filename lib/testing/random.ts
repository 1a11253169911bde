import { describeValue } from '../internal/describe-value.js';

/**
 * A seeded pseudo-random generator (mulberry32) returning numbers in [0, 1), for the `random`
 * option of jitter and random choices: the same seed gives the same sequence, so a marble test of
 * jittered backoff has one exact expected diagram. Not for cryptography.
 *
 * @example
 * ```ts
 * import { seededRandom } from 'rx-lifeline/testing';
 * const random = seededRandom(42);
 * const a = random();
 * console.log(a === seededRandom(42)()); // true
 * ```
 * @category Testing
 */
export function seededRandom(seed: number): () => number {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new TypeError(`seededRandom: seed must be a finite number, got ${describeValue(seed)}`);
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
