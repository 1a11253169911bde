// The fuzz suite's knobs, read once from the environment: the seed (printed, so any run can be
// replayed), how many inputs each layer gets, and how long a property may run.
//
//   FUZZ_SEED=N      replay a run (default inside `npm test`: 1, so the suite is repeatable there;
//                    `npm run fuzz` picks a fresh random seed; either way it is printed at start)
//   FUZZ_RUNS=N      inputs per in-process layer (default 1,000; --long: 250,000)
//   FUZZ_TIME_LIMIT_S a layer stops taking inputs after this long (default 2.5 s; --long: 30 min)
//   FUZZ_SOCKET_RUNS hostile connections per socket transport (default 60; --long: 3,000)
//   FUZZ_LONG=1      the long run (`npm run fuzz -- --long` sets it)
import fc from 'fast-check';

const LONG = process.env.FUZZ_LONG === '1';

function numberFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new TypeError(`${name} must be an integer ≥ 0, got ${text}`);
  return value;
}

/** The run's seed: `FUZZ_SEED`, or 1 (`npm run fuzz` passes a fresh random one). */
export const SEED = numberFromEnv('FUZZ_SEED', 1);
export const IS_LONG = LONG;
/** Inputs per in-process layer. Five layers: the long run's 5 × 250,000 is above 1,000,000. */
export const RUNS = numberFromEnv('FUZZ_RUNS', LONG ? 250_000 : 1_000);
/** Hostile connections per socket transport. */
export const SOCKET_RUNS = numberFromEnv('FUZZ_SOCKET_RUNS', LONG ? 3_000 : 60);
/**
 * A property stops taking new inputs after this long (the inputs it did run are reported); the short
 * run stays within a few seconds per layer on a loaded 2-core machine.
 */
export const TIME_LIMIT_MS = numberFromEnv('FUZZ_TIME_LIMIT_S', LONG ? 30 * 60 : 2.5) * 1000;
/** One input that takes longer than this is reported as a hang. */
export const HANG_MS = 5_000;

console.log(`fuzz seed: ${SEED} (replay: FUZZ_SEED=${SEED} npm run fuzz)`);

/** Inputs run per layer, and how long they took, for the closing summary. */
export const tally = new Map<string, { inputs: number; ms: number }>();

export function count(layer: string, inputs: number, ms: number): void {
  const entry = tally.get(layer) ?? { inputs: 0, ms: 0 };
  tally.set(layer, { inputs: entry.inputs + inputs, ms: entry.ms + ms });
}

/** The parameters of every property: seeded, bounded in count and time. */
export function parameters<T>(numRuns: number, offset: number): fc.Parameters<T> {
  return {
    seed: SEED + offset,
    numRuns,
    interruptAfterTimeLimit: TIME_LIMIT_MS,
    markInterruptAsFailure: false,
    endOnFailure: false,
    includeErrorInReport: true,
  };
}

/** A counterexample as text, with long byte arrays summarised (an amplifying frame is 100 KiB). */
function show(value: unknown): string {
  const compact = (v: unknown): unknown => {
    if (v instanceof Uint8Array && v.length > 64) {
      const head = Array.from(v.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
      return `<${v.length} bytes: ${head} …>`;
    }
    if (Array.isArray(v)) return v.map(compact);
    if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, compact(x)]));
    }
    return v;
  };
  const text = fc.stringify(compact(value));
  return text.length > 4_000 ? `${text.slice(0, 4_000)} …` : text;
}

/** A failure's kind: its message with numbers and quoted values blanked out. */
function signature(line: string): string {
  return line
    .replace(/\d+/g, 'N')
    .replace(/"[^"]*"/g, '"…"')
    .slice(0, 240);
}

/**
 * Runs `run` on `numRuns` inputs and fails when it threw for any. Unlike `fc.assert`, it does not
 * stop at the first failure: it runs every input, groups the failures by kind (each line `run`
 * threw, numbers blanked out), then has fast-check find and shrink a minimal counterexample for
 * each kind. So a known defect does not hide a new one, and the count of inputs is what was asked.
 */
export function check<T>(
  layer: string,
  arbitrary: fc.Arbitrary<T>,
  run: (input: T) => void,
  params: fc.Parameters<[T]>,
): void {
  const started = performance.now();
  const kinds = new Map<string, number>();
  const details = fc.check(
    fc.property(arbitrary, (input) => {
      try {
        run(input);
      } catch (error) {
        const lines = (error instanceof Error ? error.message : String(error)).split('\n');
        for (const kind of new Set(lines.map(signature))) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
    }),
    params,
  );
  count(layer, details.numRuns, performance.now() - started);
  if (kinds.size === 0) return;
  const reports = [...kinds].map(([kind, times]) => {
    const shrunk = fc.check(
      fc.property(arbitrary, (input) => {
        try {
          run(input);
        } catch (error) {
          const lines = (error instanceof Error ? error.message : String(error)).split('\n');
          if (lines.some((line) => signature(line) === kind))
            throw new Error(
              lines.find((line) => signature(line) === kind),
              { cause: error },
            );
        }
      }),
      { ...params, interruptAfterTimeLimit: 60_000 },
    );
    const example = shrunk.failed ? show(shrunk.counterexample) : '(not found again)';
    const path = shrunk.failed ? ` (replay: seed ${shrunk.seed}, path "${shrunk.counterexamplePath}")` : '';
    return `- ${times} of ${details.numRuns} inputs: ${kind}\n  minimal counterexample${path}: ${example}`;
  });
  throw new Error(`${layer}: ${kinds.size} kinds of failure\n${reports.join('\n')}`);
}

export async function checkAsync<T>(
  layer: string,
  property: fc.IAsyncProperty<T>,
  params: fc.Parameters<T>,
): Promise<number> {
  const started = performance.now();
  const details = await fc.check(property, params);
  count(layer, details.numRuns, performance.now() - started);
  if (details.failed) throw new Error(`${layer}: ${fc.defaultReportMessage(details) ?? 'failed'}`);
  return details.numRuns;
}

export function printTally(title: string, layers: readonly string[]): void {
  const lines = layers.map((layer) => {
    const { inputs, ms } = tally.get(layer) ?? { inputs: 0, ms: 0 };
    return `        ${layer}: ${inputs} inputs in ${(ms / 1000).toFixed(1)} s`;
  });
  console.log(`      ${title} (seed ${SEED}):\n${lines.join('\n')}`);
}
