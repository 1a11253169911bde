// A quick look at what one idle session holds on a server: `tsx bench/peers/memory-profile.ts
// [system] [sessions] [--snapshot [--keep]]`. It runs the memory section's server and clients (forked, as
// `npm run bench:peers` does) with fewer sessions, prints RSS and heap per session, and with
// --snapshot runs again with heap snapshots before and after and prints the objects each session
// added, by kind and constructor (or function name), per session, then by owner (heap-owners.ts:
// arrays, contexts and strings counted with the object that holds them). Run it with plain `tsx` to
// measure lib/ sources, or after `npm run build` with `--tsconfig tsconfig.bench.json` for dist/.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markdownTable } from '../harness.js';
import { growthByOwner } from './heap-owners.js';
import { memoryRun } from './memory.js';
import { isMemorySystem } from './memory-protocol.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and self size of every node kind in a heap snapshot, keyed `type name`. */
async function tally(file: string): Promise<Map<string, { count: number; size: number }>> {
  const { snapshot, nodes, strings } = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
  const fields = snapshot.meta.node_fields;
  const types = snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + typeAt!]!]!;
    const raw = strings[nodes[i + nameAt!]!]!;
    // Strings and numbers are named by their content: lump them by kind.
    const name = ['string', 'concatenated string', 'sliced string', 'number'].includes(type)
      ? ''
      : raw.slice(0, 60);
    const key = `${type} ${name}`;
    const entry = out.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += nodes[i + sizeAt!]!;
    out.set(key, entry);
  }
  return out;
}

/** The rows that grew most between two tallies, per session. */
function growth(
  before: Map<string, { count: number; size: number }>,
  after: Map<string, { count: number; size: number }>,
  sessions: number,
  top: number,
): string[][] {
  const rows = [...after].map(([key, a]) => {
    const b = before.get(key) ?? { count: 0, size: 0 };
    return { key, count: (a.count - b.count) / sessions, size: (a.size - b.size) / sessions };
  });
  const total = rows.reduce((sum, r) => sum + r.size, 0);
  rows.sort((x, y) => y.size - x.size);
  return [
    ['(all)', '', total.toFixed(0)],
    ...rows.slice(0, top).map((r) => [r.key, r.count.toFixed(2), r.size.toFixed(0)]),
  ];
}

const args = process.argv.slice(2);
const system = args.find((a) => isMemorySystem(a)) ?? 'lifeline';
const sessions = Number(args.find((a) => /^\d+$/.test(a)) ?? 2_000);
const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;

const sample = await memoryRun(system, sessions);
console.log(
  `${system}, ${sample.sessions} idle sessions: RSS ${kib(sample.rssPerSession)} and heap ${kib(sample.heapPerSession)} per session; ` +
    `from ${sample.sessions - Math.ceil(sample.sessions / 2)} to ${sample.sessions}: RSS ${kib(sample.marginalRssPerSession)} and heap ${kib(sample.marginalHeapPerSession)} per session added`,
);
if (args.includes('--snapshot')) {
  const folder = await mkdtemp(join(tmpdir(), 'lifeline-memory-'));
  process.env.MEMORY_SNAPSHOTS = folder;
  try {
    const profiled = await memoryRun(system, sessions);
    const [before, after] = await Promise.all([
      tally(join(folder, 'before.heapsnapshot')),
      tally(join(folder, 'after.heapsnapshot')),
    ]);
    const top = Number(process.env.MEMORY_TOP ?? 40);
    console.log(
      `\nGrowth per session in the heap snapshot (${profiled.sessions} sessions)\n\n${markdownTable(
        ['kind and name', 'objects', 'bytes'],
        growth(before, after, profiled.sessions, top),
      )}`,
    );
    const owners = await growthByOwner(
      join(folder, 'before.heapsnapshot'),
      join(folder, 'after.heapsnapshot'),
      profiled.sessions,
    );
    console.log(
      `\nThe same growth by owner: each new object counted with the nearest named object holding it\n\n${markdownTable(
        ['owner', 'objects', 'bytes'],
        owners.slice(0, top).map((o) => [o.owner, o.objects.toFixed(2), o.bytes.toFixed(0)]),
      )}`,
    );
  } finally {
    if (args.includes('--keep')) console.log(`\nSnapshots kept in ${folder}`);
    else await rm(folder, { recursive: true, force: true });
  }
}
