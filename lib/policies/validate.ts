/**
 * Argument checks shared by the policies: each throws a `TypeError` naming the function, the
 * option and the value, the way RxJS operators reject nonsense config.
 * @internal
 * @packageDocumentation
 */

import { describeValue } from '../internal/describe-value.js';

/**
 * The longest delay a timer can wait. Node and browsers store timer delays as signed 32-bit
 * integers and fire a longer one after 1 ms instead, so a larger cap would turn into a retry storm.
 * @internal
 */
export const MAX_DELAY = 2_147_483_647;

interface NumberRule {
  /** Smallest allowed value. @default -Infinity */
  readonly min?: number;
  /** True when `min` itself is not allowed. @default false */
  readonly exclusive?: boolean;
  /** Largest allowed value. @default MAX_DELAY */
  readonly max?: number;
  /** Must be an integer (`Infinity` counts when `max` allows it). @default false */
  readonly integer?: boolean;
}

/**
 * Returns `value` when it is a number within the rule, else throws a `TypeError` such as
 * "exponentialBackoff: max must be a number ≥ 100, got 50".
 * @internal
 */
export function checkNumber(where: string, option: string, value: unknown, rule: NumberRule = {}): number {
  const { min = -Infinity, exclusive = false, max = MAX_DELAY, integer = false } = rule;
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (exclusive ? value > min : value >= min) &&
    value <= max &&
    (!integer || Number.isInteger(value) || value === Infinity);
  if (ok) return value;
  const bounds = [
    Number.isFinite(min) ? `${exclusive ? '>' : '≥'} ${min}` : '',
    Number.isFinite(max) ? `≤ ${max}` : '',
  ].filter(Boolean);
  const kind = integer ? 'an integer' : 'a number';
  throw new TypeError(`${where}: ${option} must be ${kind} ${bounds.join(' and ')}, got ${describe(value)}`);
}

/**
 * Returns `value` when it is a function, else throws a `TypeError`.
 * @internal
 */
export function checkFunction<T>(where: string, option: string, value: T): T {
  if (typeof value === 'function') return value;
  throw new TypeError(`${where}: ${option} must be a function, got ${describe(value)}`);
}

/**
 * How a caller's value reads in a message: the same total description as every layer's check of a
 * peer's bytes uses (it never throws, even for a Proxy or a throwing `toString`).
 * @internal
 */
export function describe(value: unknown): string {
  return describeValue(value);
}
