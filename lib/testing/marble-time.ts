import { checkNumber } from '../internal/validate.js';

/** A time progression in a run-mode diagram: digits, an optional fraction, a unit, then a space. */
const PROGRESSION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m) /;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000 };

/**
 * Writes computed times into a marble diagram exactly: each number interpolated into the template
 * is the virtual time, in milliseconds from the diagram's first frame, of the character that
 * follows it; `marbleTime` replaces it with the time progression that reaches that time.
 *
 * Why a helper: jittered waits are fractions of a millisecond, and floating-point sums depend on
 * their order. `TestScheduler.run` adds the frames of a diagram one by one (one per character,
 * plus each progression), while the scheduler reaches `wait1 + wait2` by adding the waits. Writing
 * `${wait1 - 1}ms` by hand can land on `3000.9999999999995` where the event is at `3001`, and
 * a tiny wait prints as `1e-7`, which the marble parser does not read as a time. `marbleTime`
 * adds the frames as the parser does and picks the progression (printed in plain decimals) whose
 * sum is the given time to the last bit: the diagram's events land on exactly the float the
 * scheduler computes, if you compute each time the way the scheduler does (`wait1 + wait2`, in
 * the order the waits happen). It does not round to whole milliseconds.
 *
 * Frames are counted as `TestScheduler.run` counts them: spaces take none, `!` none, every other
 * character one, progressions their length. It reads diagrams from their first character, as
 * cold, expected and subscription diagrams are read; it does not shift a hot diagram's times to
 * its `^`.
 *
 * @throws TypeError when a time is not a number, or lies before the frame the diagram has reached
 * (an event cannot come before the one written ahead of it).
 * @category Testing
 * @example
 * ```ts
 * import { marbleTime, seededRandom } from 'rx-lifeline/testing';
 * const draws = seededRandom(42);
 * const wait1 = draws() * 100;
 * const wait2 = draws() * 200;
 * // `x` at 0, `y` after the first wait, `c` after both: exactly where the scheduler puts them.
 * const diagram = marbleTime`x ${wait1} y ${wait1 + wait2} c-a-b`;
 * const dials = marbleTime`${wait1 + wait2} ^ ${1001} !`;
 * ```
 */
export function marbleTime(strings: TemplateStringsArray, ...times: readonly number[]): string {
  let diagram = strings[0] ?? '';
  times.forEach((time, index) => {
    const frame = framesOf(diagram);
    checkNumber('marbleTime', `time ${index + 1}`, time, { min: frame, max: Infinity });
    if (time === Infinity) throw new TypeError(`marbleTime: time ${index + 1} must be finite, got Infinity`);
    const step = progressionBetween(frame, time);
    const next = strings[index + 1] ?? '';
    // Spaces take no time; a progression needs one on each side to be read as one.
    if (step !== 0) diagram += `${diagram === '' || diagram.endsWith(' ') ? '' : ' '}${plainDecimal(step)}ms`;
    const spaces = Number(diagram.endsWith(' ')) + Number(next.startsWith(' '));
    diagram += spaces === 2 ? next.slice(1) : spaces === 1 ? next : ` ${next}`;
  });
  return diagram;
}

/** The frame a run-mode diagram has reached after its last character. */
function framesOf(diagram: string): number {
  let frame = 0;
  for (let i = 0; i < diagram.length; i++) {
    const c = diagram[i];
    if (c === ' ' || c === '!') continue;
    if (c !== undefined && c >= '0' && c <= '9' && (i === 0 || diagram[i - 1] === ' ')) {
      // A progression at the end of what is written so far is followed by the space marbleTime adds.
      const match = PROGRESSION.exec(`${diagram.slice(i)} `);
      if (match) {
        frame += Number.parseFloat(match[1] ?? '0') * (UNIT_MS[match[2] ?? 'ms'] ?? 1);
        i += match[0].length - 2;
        continue;
      }
    }
    frame += 1;
  }
  return frame;
}

/** A duration `step` with `from + step === to` in floating point (one exists for 0 ≤ from ≤ to). */
function progressionBetween(from: number, to: number): number {
  let step = to - from;
  while (from + step < to) step = nextFloat(step, 1);
  while (from + step > to) step = nextFloat(step, -1);
  return step;
}

/** The neighbouring double of a non-negative `value`, up (`1`) or down (`-1`). */
function nextFloat(value: number, direction: 1 | -1): number {
  if (value === 0) return direction === 1 ? Number.MIN_VALUE : 0;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  view.setBigUint64(0, view.getBigUint64(0) + BigInt(direction));
  return view.getFloat64(0);
}

/** `value` in plain decimal notation (no exponent), with the digits that read back as `value`. */
function plainDecimal(value: number): string {
  const text = String(value);
  const match = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const digits = `${match[1] ?? ''}${match[2] ?? ''}`;
  const exponent = Number(match[3]);
  if (exponent < 0) return `0.${'0'.repeat(-exponent - 1)}${digits}`;
  return digits.padEnd(exponent + 1, '0');
}
