// Runs one section of the peers benchmark alone and prints its Markdown (and writes its chart):
//   npx tsx bench/peers/run-section.ts <latency|memory|survival|storm|throughput> [--quick] [--seed n]
//     [--svg-dir dir] [--systems a,b] (storm: only these systems, by name)
// Throughput and latency take BENCH_RUNS runs per median (default 5, as bench:peers); memory takes
// BENCH_MEMORY_RUNS (default 1); the others take one.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchLatency } from './latency.js';
import { benchMemory } from './memory.js';
import { benchStorm } from './storm.js';
import { benchSurvival } from './survival.js';
import { benchThroughput } from './throughput.js';
import type { PeersOptions, Section } from './types.js';

const SECTIONS: Record<string, (options: PeersOptions) => Promise<Section>> = {
  latency: benchLatency,
  memory: benchMemory,
  survival: benchSurvival,
  storm: benchStorm,
  throughput: benchThroughput,
};
const USAGE =
  'usage: run-section.ts <latency|memory|survival|storm|throughput> [--quick] [--seed n] [--svg-dir dir] [--systems a,b]';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}

const name = process.argv[2] ?? '';
const section = SECTIONS[name];
const seed = Number(flag('seed') ?? 1);
if (!section || !Number.isSafeInteger(seed)) {
  console.error(section ? `--seed must be an integer, got ${flag('seed')}` : `unknown section "${name}"`);
  console.error(USAGE);
  process.exit(2);
}
const started = performance.now();
const systems = flag('systems')?.split(',');
const quick = process.argv.includes('--quick');
const runs =
  (name === 'throughput' || name === 'latency') && !quick
    ? Math.max(1, Number(process.env.BENCH_RUNS ?? 5))
    : 1;
const result = await section({ seed, runs, quick, systems });
console.log(`\n## ${result.title}\n\n${result.markdown}`);
if (result.svg) {
  const dir = flag('svg-dir') ?? '.';
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, result.svg.file);
  writeFileSync(file, result.svg.content);
  console.log(`\n(chart written to ${file})`);
}
console.log(`\n(${name} took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
