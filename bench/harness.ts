// A tiny benchmark harness: runs each case several times in this process and reports medians.
// Benchmarks are not tests: nothing here asserts a timing.

export interface Sample {
  /** Items processed in the run (frames, round trips, evictions …). */
  items: number;
  /** Bytes processed in the run, if meaningful. */
  bytes?: number;
  /** Wall time of the run, in milliseconds. */
  ms: number;
}

export interface Row {
  name: string;
  perSecond: number;
  mbPerSecond: number | undefined;
  runs: number[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `once` `runs` times (after one warm-up) and returns the median rate. */
export async function measure(name: string, runs: number, once: () => Promise<Sample>): Promise<Row> {
  await once(); // warm-up: JIT, socket buffers
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  return rowOf(name, samples);
}

/** The median rates of `samples`, as a row named `name`. */
export function rowOf(name: string, samples: readonly Sample[]): Row {
  const rates = samples.map((sample) => (sample.items / sample.ms) * 1000);
  const mbs = samples.flatMap((sample) =>
    sample.bytes === undefined ? [] : [sample.bytes / 1e6 / (sample.ms / 1000)],
  );
  return { name, perSecond: median(rates), mbPerSecond: mbs.length ? median(mbs) : undefined, runs: rates };
}

/**
 * Runs every case `runs` times after one warm-up each, in rounds: a round runs each case once,
 * starting one case later than the round before. A burst of noise on a shared host (another
 * process, a GC of what an earlier case left) then falls on one run of several cases, not on every
 * run of one, and the medians compare like with like. Returns each case's samples, in order.
 */
export async function interleavedRuns<T>(cases: readonly (() => Promise<T>)[], runs: number): Promise<T[][]> {
  for (const once of cases) await once(); // warm-up: JIT, socket buffers
  const samples: T[][] = cases.map(() => []);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < cases.length; k++) {
      const index = (round + k) % cases.length;
      samples[index]!.push(await cases[index]!());
    }
  }
  return samples;
}

export function now(): number {
  return performance.now();
}

export function formatRate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(1);
}

/** Formats a Markdown table with aligned columns (the shape prettier gives it in the README). */
export function markdownTable(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |', ...body.map(line)].join(
    '\n',
  );
}

/** Prints rows as an aligned table, with each rate as a ratio against `baseline`. */
export function printTable(title: string, rows: readonly Row[], baseline: Row): string {
  const header = ['case', 'frames/s (median)', 'MB/s', `× ${baseline.name}`];
  const body = rows.map((row) => [
    row.name,
    formatRate(row.perSecond),
    row.mbPerSecond === undefined ? '' : row.mbPerSecond.toFixed(1),
    (row.perSecond / baseline.perSecond).toFixed(2),
  ]);
  const out = `\n${title}\n${markdownTable(header, body)}`;
  console.log(out);
  return out;
}
