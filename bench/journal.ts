// The client journal's cost: the full session stack over TCP (handshake + heartbeat + reconnectWith
// + resumable) with resumable({ journal: fileJournal(path) }), fsync 'batch', every 100 ms, 'always' and
// 'never', beside no journal, in the same run; the bytes the file holds per unacknowledged frame; and how long opening
// a journal that holds 10,000 unacknowledged frames takes.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileJournal, type JournalFsync } from 'rx-lifeline/node';
import { formatRate, markdownTable, median, now } from './harness.js';
import { sessionRun } from './session.js';
import type { ThroughputCase } from './throughput.js';

/** Fewer frames than the other benches: with fsync 'always', every frame waits for the disk. */
const CASES: readonly ThroughputCase[] = [
  { payloadBytes: 64, frames: 5_000 },
  { payloadBytes: 1024, frames: 5_000 },
];

type Journaled = 'none' | 'batch' | 'interval' | 'always' | 'never';
const ALL: readonly Journaled[] = ['none', 'batch', 'interval', 'never', 'always'];
/** The interval measured: the example. */
const EVERY_MS = 100;
const FSYNC: Record<Exclude<Journaled, 'none'>, JournalFsync> = {
  batch: 'batch',
  interval: { everyMs: EVERY_MS },
  always: 'always',
  never: 'never',
};

/** Each run writes a journal of its own. */
let serial = 0;

async function once(c: ThroughputCase, journaled: Journaled, dir: string): Promise<number> {
  if (journaled === 'none') {
    const sample = await sessionRun(c, {});
    return sample.items / (sample.ms / 1000);
  }
  const path = join(dir, `bench-${journaled}-${c.payloadBytes}-${(serial++).toString()}.journal`);
  const journal = fileJournal(path, { fsync: FSYNC[journaled] });
  try {
    const sample = await sessionRun(c, { journal });
    return sample.items / (sample.ms / 1000);
  } finally {
    journal.close();
  }
}

/** Bytes on disk per unacknowledged 64-byte frame, and the time to open 10,000 of them. */
function recovery(dir: string, runs: number): { bytesPerFrame: number; openMs: number } {
  const path = join(dir, 'recovery.journal');
  const frames = 10_000;
  const payload = new Uint8Array(64).fill(7);
  const writer = fileJournal(path, { fsync: 'never', compactAt: Infinity });
  writer.session('0'.repeat(32), '1'.repeat(32));
  for (let seq = 1; seq <= frames; seq++) writer.sent(seq, payload);
  writer.close();
  const bytesPerFrame = statSync(path).size / frames;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = now();
    const reader = fileJournal(path, { compactAt: Infinity });
    const state = reader.restore();
    times.push(now() - start);
    reader.close();
    if (state?.frames.length !== frames) throw new Error('journal bench: the recovered journal lost frames');
  }
  return { bytesPerFrame, openMs: median(times) };
}

export async function benchJournal(runs: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-bench-journal-'));
  const out: string[] = [];
  try {
    const body: string[][] = [];
    for (const c of CASES) {
      const rates: Record<Journaled, number[]> = { none: [], batch: [], interval: [], never: [], always: [] };
      for (const journaled of ALL) await once(c, journaled, dir); // warm-up
      for (let i = 0; i < runs; i++) {
        for (const journaled of ALL) rates[journaled].push(await once(c, journaled, dir));
      }
      const base = median(rates.none);
      for (const journaled of ALL) {
        const rate = median(rates[journaled]);
        const name =
          journaled === 'none'
            ? 'no journal'
            : journaled === 'interval'
              ? `fileJournal, fsync { everyMs: ${EVERY_MS} }`
              : `fileJournal, fsync '${journaled}'`;
        body.push([`${c.payloadBytes} B`, name, formatRate(rate), (rate / base).toFixed(2)]);
      }
    }
    out.push(
      `\nTCP, full session stack with a client journal, ${CASES[0]!.frames} frames per run, median of ${runs}\n` +
        markdownTable(['payload', 'case', 'frames/s (median)', '× no journal'], body),
    );
    const { bytesPerFrame, openMs } = recovery(dir, runs);
    out.push(
      `\nA journal holding 10,000 unacknowledged 64-byte frames\n` +
        markdownTable(
          ['bytes on disk per frame', 'open and restore (median)'],
          [[bytesPerFrame.toFixed(1), `${openMs.toFixed(1)} ms`]],
        ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const table of out) console.log(table);
  return out;
}
