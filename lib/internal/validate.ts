/**
 * Argument checks shared by the policies: each throws a `TypeError` naming the function, the
 * option and the value, the way RxJS operators reject nonsense config.
 * @internal
 * @packageDocumentation
 */

import type { SchedulerLike } from 'rxjs';
import { describeValue as describe } from './describe-value.js';

/**
 * How a caller's value reads in a message: the same total description as every layer's check of a
 * peer's bytes uses (it never throws, even for a Proxy or a throwing `toString`).
 * @internal
 */
export { describe };

/**
 * The longest delay a timer can wait. Node and browsers store timer delays as signed 32-bit
 * integers and fire a longer one after 1 ms instead, so a larger cap would turn into a retry storm.
 * @internal
 */
export const MAX_DELAY = 2_147_483_647;

/** What {@link checkNumber} accepts. @internal */
export interface NumberRule {
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
  // NaN fails the comparison with `min`, as with any number.
  const ok =
    typeof value === 'number' &&
    (exclusive ? value > min : value >= min) &&
    value <= max &&
    (!integer || Number.isInteger(value) || value === Infinity);
  if (ok) return value;
  // A bound as large as MAX_SAFE_INTEGER is left out: its digits say nothing to a reader.
  const bounds = [
    Number.isFinite(min) ? `${exclusive ? '>' : '≥'} ${min}` : '',
    max < Number.MAX_SAFE_INTEGER ? `≤ ${max}` : '',
  ].filter(Boolean);
  const kind = integer ? 'an integer' : 'a number';
  throw new TypeError(`${where}: ${option} must be ${kind} ${bounds.join(' and ')}, got ${describe(value)}`);
}

/** A whole number > 0 up to `Number.MAX_SAFE_INTEGER`: a cap or a count. @internal */
export const POSITIVE_INTEGER: NumberRule = {
  min: 0,
  exclusive: true,
  integer: true,
  max: Number.MAX_SAFE_INTEGER,
};

/** A whole number ≥ 0 up to `Number.MAX_SAFE_INTEGER`. @internal */
export const COUNT: NumberRule = { min: 0, integer: true, max: Number.MAX_SAFE_INTEGER };

/** A duration in milliseconds > 0 that a timer can wait ({@link MAX_DELAY} at most). @internal */
export const POSITIVE_DURATION: NumberRule = { min: 0, exclusive: true };

/**
 * Returns `value` when it is one of `allowed`, else throws a `TypeError` such as
 * "resumable: onOverflow must be 'error' or 'event', got \"drop\"".
 * @internal
 */
export function checkOneOf<const T extends string>(
  where: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  const names = allowed.map((name) => `'${name}'`);
  const last = names.pop();
  throw new TypeError(
    `${where}: ${option} must be ${names.length > 0 ? `${names.join(', ')} or ${last}` : last}, got ${describe(value)}`,
  );
}

/**
 * Returns `value` when it is an RxJS `SchedulerLike` (it has `now` and `schedule`), else throws a
 * `TypeError` such as "heartbeat: scheduler must be a SchedulerLike, got 5".
 * @internal
 */
export function checkScheduler(where: string, value: unknown): SchedulerLike {
  const scheduler = value as Partial<SchedulerLike> | null | undefined;
  if (typeof scheduler?.now === 'function' && typeof scheduler.schedule === 'function') {
    return value as SchedulerLike;
  }
  throw new TypeError(`${where}: scheduler must be a SchedulerLike, got ${describe(value)}`);
}

/**
 * Returns `value` when it has the methods of a codec that `uses` names (both by default), else
 * throws a `TypeError` such as "tcp: codec must be a Codec (with encode and decode), got 5".
 * @internal
 */
export function checkCodec<T>(
  where: string,
  value: T,
  uses: readonly ('encode' | 'decode')[] = ['encode', 'decode'],
): T {
  const codec = value as Record<string, unknown> | null | undefined;
  if (uses.every((method) => typeof codec?.[method] === 'function')) return value;
  throw new TypeError(`${where}: codec must be a Codec (with ${uses.join(' and ')}), got ${describe(value)}`);
}

/** Returns `value` when it is `true` or `false`, else throws a `TypeError`. @internal */
export function checkBoolean(where: string, option: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw new TypeError(`${where}: ${option} must be true or false, got ${describe(value)}`);
}

/**
 * Returns `value` when it is a non-empty string, else throws a `TypeError` such as
 * "tcp: host must be a non-empty string, got 5".
 * @internal
 */
export function checkNonEmptyString(where: string, option: string, value: unknown): string {
  if (typeof value === 'string' && value !== '') return value;
  throw new TypeError(`${where}: ${option} must be a non-empty string, got ${describe(value)}`);
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
 * One number from an injected `random` (`where`'s option `option`), which must answer in [0, 1) as
 * `Math.random` does; anything else is a `TypeError`, not a silent bias.
 * @internal
 */
export function drawRandom(where: string, option: string, random: () => unknown): number {
  const value = random();
  if (typeof value === 'number' && value >= 0 && value < 1) return value;
  throw new TypeError(`${where}: ${option}() must return a number in [0, 1), got ${describe(value)}`);
}

/**
 * The option names of an options type, for {@link checkKnownOptions}. Typed by the interface, so a
 * list that misses an option, or names one the interface does not have, fails the type check: add
 * or remove an option and its list must follow. A derived interface spreads its base's list.
 * @internal
 */
export type KnownOptions<T> = Readonly<Record<keyof Required<T>, true>>;

/** Longest key shown as it is in a message; a longer one is cut. */
const MAX_KEY_SHOWN = 40;

/**
 * Throws a `TypeError` when `options` is given but is not an object (null, a number, a string, an
 * array, a function: "heartbeat: options must be an object, got null"), or has an own enumerable
 * string key that `known` does not list:
 * "heartbeat: unknown option 'intervall' (did you mean 'interval'?); known options: interval, …".
 * The hint names the known option that differs only in case, else the closest one within two
 * edits (insertions, deletions, substitutions, swaps of adjacent letters) and no more edits than
 * half the key's length; it is left out when none is that close. `undefined` passes: callers whose
 * options are required say themselves what they need. Inherited, non-enumerable and symbol keys
 * are not checked.
 * @internal
 */
export function checkKnownOptions(
  where: string,
  options: unknown,
  known: Readonly<Record<string, true>>,
): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(known, key)) continue;
    const names = Object.keys(known);
    const near = closest(key, names);
    const shown = key.length <= MAX_KEY_SHOWN ? key : `${key.slice(0, MAX_KEY_SHOWN)}…`;
    throw new TypeError(
      `${where}: unknown option '${shown}'${near === undefined ? '' : ` (did you mean '${near}'?)`}; ` +
        `known options: ${names.join(', ')}`,
    );
  }
}

/**
 * For options that must be given and must hold `required`: throws a `TypeError` that says what
 * they must hold, `${where}: options must ${needs}` ("websocket: options must name the server, as
 * { url }"), then what came instead (", got null", ", got no url"); and what
 * {@link checkKnownOptions} throws for a key it does not know.
 * @internal
 */
export function checkRequiredOptions(
  where: string,
  options: unknown,
  known: Readonly<Record<string, true>>,
  required: string,
  needs: string,
): void {
  const needed = `${where}: options must ${needs}`;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${needed}, got ${describe(options)}`);
  }
  checkKnownOptions(where, options, known);
  if ((options as Record<string, unknown>)[required] === undefined) {
    throw new TypeError(`${needed}, got no ${required}`);
  }
}

/**
 * The name in `names` a caller most likely meant by `key`, if one is close enough: the nearest in
 * edits, letters compared without case (so a name that differs only in case, at 0, comes first),
 * the first of equals.
 */
function closest(key: string, names: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(key.length / 2)) + 1;
  for (const name of names) {
    const distance = editDistance(lower, name.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * The optimal-string-alignment distance (Damerau–Levenshtein with adjacent swaps) between `a` and
 * `b`, or `limit` when it is at least `limit`.
 */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, before[j - 2]! + 1);
      }
      current.push(distance);
    }
    before = previous;
    previous = current;
  }
  return Math.min(previous[b.length]!, limit);
}
