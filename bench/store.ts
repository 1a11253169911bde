// The session stores' cost, in one run: server → client frames/s through the full session stack
// over TCP with no store, memorySessionStore() and redisSessionStore() on a local redis-server (a
// unix socket), as ratios to no store; resume latency on another process (a session opened on a
// forked server A, resumed on a forked server B after A is killed), against a new session on B;
// and the Redis memory an idle session takes. The redis-server is started here and stopped at the end.
import { memorySessionStore, type SessionStore } from 'rx-lifeline';
import { redisSessionStore } from 'rx-lifeline/redis';
import { formatRate, markdownTable, median } from './harness.js';
import { startRedis, type BenchRedis } from './redis-server.js';
import { FRAMES_ACKED, redisMemoryPerSession } from './store-memory.js';
import { FRAMES_BEFORE_KILL, resumeOnAnotherProcess } from './store-resume.js';
import { storeRun } from './store-throughput.js';
import type { ThroughputCase } from './throughput.js';
import { stormOne, stormTable, type StormResult } from './peers/storm.js';

/** Fewer frames than the transport benches: every frame goes through Redis too. */
export const STORE_CASES: readonly ThroughputCase[] = [
  { payloadBytes: 64, frames: 50_000 },
  { payloadBytes: 1024, frames: 20_000 },
];

export type StoreKind = 'none' | 'memory' | 'redis';
export const STORE_KINDS: readonly StoreKind[] = ['none', 'memory', 'redis'];

const NAMES: Record<StoreKind, string> = {
  none: 'no store (sessions in the server’s memory)',
  memory: 'memorySessionStore()',
  redis: 'redisSessionStore(), redis-server on a unix socket',
};

/** What each figure is measured on; smaller in the spec. */
export interface StoreBenchSizes {
  cases: readonly ThroughputCase[];
  resumes: number;
  idleSessions: number;
  /** Clients of each policy in the restart storm. */
  stormClients: number;
}

const SIZES: StoreBenchSizes = {
  cases: STORE_CASES,
  resumes: 200,
  idleSessions: 10_000,
  stormClients: 2_000,
};

/** The storm's longest wait for every client to be back, in ms. */
const STORM_LIMIT_MS = 60_000;

/** A new store per run (a memory store would otherwise keep growing), Redis emptied first. */
async function storeFor(kind: StoreKind, redis: BenchRedis): Promise<SessionStore | undefined> {
  if (kind === 'none') return undefined;
  if (kind === 'memory') return memorySessionStore();
  await redis.redis.flushall();
  return redisSessionStore(redis.redis);
}

/** Median frames/s per case and store; the stores take turns in each round, after one warm-up each. */
export async function throughputByStore(
  redis: BenchRedis,
  runs: number,
  cases: readonly ThroughputCase[],
): Promise<Map<ThroughputCase, Record<StoreKind, number>>> {
  const out = new Map<ThroughputCase, Record<StoreKind, number>>();
  for (const c of cases) {
    const rates: Record<StoreKind, number[]> = { none: [], memory: [], redis: [] };
    for (const kind of STORE_KINDS) await storeRun(c, await storeFor(kind, redis)); // warm-up
    for (let i = 0; i < runs; i++) {
      for (const kind of STORE_KINDS) {
        const sample = await storeRun(c, await storeFor(kind, redis));
        rates[kind].push(sample.items / (sample.ms / 1000));
      }
    }
    out.set(c, { none: median(rates.none), memory: median(rates.memory), redis: median(rates.redis) });
  }
  return out;
}

/** The value at quantile `q` of `values` (nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

export async function benchStore(runs: number, sizes: StoreBenchSizes = SIZES): Promise<string[]> {
  const redis = await startRedis();
  const out: string[] = [];
  const print = (table: string) => (out.push(table), console.log(table));
  try {
    const rates = await throughputByStore(redis, runs, sizes.cases);
    const body: string[][] = [];
    for (const [c, byKind] of rates) {
      for (const kind of STORE_KINDS) {
        const rate = byKind[kind];
        body.push([`${c.payloadBytes} B`, NAMES[kind], formatRate(rate), (rate / byKind.none).toFixed(2)]);
      }
    }
    const frames = sizes.cases.map((c) => `${c.frames} × ${c.payloadBytes} B`).join(', ');
    print(
      `\nTCP, full session stack, server → client, by session store (${frames} per run), median of ${runs}\n` +
        markdownTable(['payload', 'store', 'frames/s (median)', '× no store'], body),
    );

    const resume = await resumeOnAnotherProcess(redis.socket, sizes.resumes);
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    const row = (name: string, values: number[], base: number[]) => [
      name,
      String(values.length),
      ms(quantile(values, 0.5)),
      ms(quantile(values, 0.99)),
      (quantile(values, 0.5) / quantile(base, 0.5)).toFixed(2),
    ];
    print(
      `\nResume on another process (redisSessionStore): ${FRAMES_BEFORE_KILL} frames received per session from server A, A killed (SIGKILL), ` +
        `each client then dials server B alone; from the dial to \`resumed\` (new session: to \`connected\`), ${resume.warmUp} warm-up each left out\n` +
        markdownTable(
          ['case', 'count', 'p50', 'p99', '× new session (p50)'],
          [
            row('resume on B of a session opened on A', resume.resumes, resume.fresh),
            row('new session on B', resume.fresh, resume.fresh),
          ],
        ),
    );

    await redisMemoryPerSession(redis, 10); // warm-up: the store's scripts loaded in Redis
    const memory = await redisMemoryPerSession(redis, sizes.idleSessions);
    print(
      `\nRedis memory per idle session (used_memory after − before, ÷ sessions; ${FRAMES_ACKED} frames sent and acknowledged each, client gone)\n` +
        markdownTable(
          ['sessions', 'keys left', 'used_memory per session', 'MEMORY USAGE of one record'],
          [
            [
              formatRate(memory.sessions),
              String(memory.keys),
              `${memory.bytesPerSession.toFixed(0)} B`,
              `${memory.recordBytes} B`,
            ],
          ],
        ),
    );
  } finally {
    await redis.stop();
  }
  // The restart storm with the Redis store (each run starts a redis-server of its own), the
  // recommended settings beside the old ones: the peers benchmark's storm, lifeline's two rows.
  const storms: StormResult[] = [];
  for (const system of ['lifeline recommended', 'lifeline old README'] as const) {
    storms.push(await stormOne(system, sizes.stormClients, 1, STORM_LIMIT_MS));
  }
  print(
    `\nRestart storm: ${sizes.stormClients} clients, the server process SIGKILLed and started again 2 s later, sessions in redisSessionStore; "recommended" is policy.recommended() against HandshakeAdmission({ perSecond: 1000, burst: 200 }), "old README" exponential 100 ms → 30 s with full jitter and no admission (seed 1)\n` +
      stormTable(storms, STORM_LIMIT_MS),
  );
  return out;
}
