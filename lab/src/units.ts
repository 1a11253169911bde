/**
 * The units the lab reads from flags and config files: durations (`'30s'`) and fractions (`'30%'`).
 * @internal
 * @packageDocumentation
 */

/**
 * A mistake in what the user asked for (a flag, a config file): the CLI prints the message and
 * exits with status 2.
 * @internal
 * @example
 * ```ts
 * import { LabUsageError } from '../lab/src/units.js';
 * const error = new LabUsageError('--clients must be a positive integer, got "many"');
 * console.log(error.name); // 'LabUsageError'
 * ```
 */
export class LabUsageError extends Error {
  override readonly name = 'LabUsageError';
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration written with a unit (`'500ms'`, `'30s'`, `'1.5m'`, `'1h'`) into milliseconds.
 * A bare number is taken as milliseconds (the unit of JSON config files); a bare numeric string is
 * refused, so that `--down 30` cannot be misread.
 * @internal
 * @throws LabUsageError naming `what` when the value is not a duration ≥ 0.
 * @example
 * ```ts
 * import { parseDuration } from '../lab/src/units.js';
 * console.log(parseDuration('--down', '1.5m')); // 90000
 * ```
 */
export function parseDuration(what: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
    if (match) return Number(match[1]) * UNITS[match[2]!]!;
  }
  throw new LabUsageError(
    `${what} must be a duration such as 500ms, 30s, 10m or 1h, got ${JSON.stringify(value) ?? String(value)}`,
  );
}

/**
 * Parses a fraction: `'30%'`, `'0.3'` or `0.3`, into a number from 0 to 1.
 * @internal
 * @throws LabUsageError naming `what` when the value is not a fraction.
 * @example
 * ```ts
 * import { parseFraction } from '../lab/src/units.js';
 * console.log(parseFraction('--fail-rate', '25%')); // 0.25
 * ```
 */
export function parseFraction(what: string, value: unknown): number {
  let fraction = NaN;
  if (typeof value === 'number') fraction = value;
  else if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value);
    if (match) fraction = Number(match[1]) / (match[2] ? 100 : 1);
  }
  if (fraction >= 0 && fraction <= 1) return fraction;
  throw new LabUsageError(
    `${what} must be a fraction from 0 to 1 or a percentage (0.3, 30%), got ${JSON.stringify(value) ?? String(value)}`,
  );
}

/**
 * Parses a count: a positive integer (or ≥ 0 with `min: 0`), as a number or a numeric string.
 * @internal
 * @throws LabUsageError naming `what` when the value is not such an integer.
 * @example
 * ```ts
 * import { parseCount } from '../lab/src/units.js';
 * console.log(parseCount('--clients', '1000')); // 1000
 * ```
 */
export function parseCount(what: string, value: unknown, min = 1): number {
  const count = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof count === 'number' && Number.isSafeInteger(count) && count >= min) return count;
  const kind = min === 0 ? 'an integer ≥ 0' : `an integer ≥ ${min}`;
  throw new LabUsageError(`${what} must be ${kind}, got ${JSON.stringify(value) ?? String(value)}`);
}

/** Formats milliseconds as seconds for tables and labels: `'12.35 s'`. @internal */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
