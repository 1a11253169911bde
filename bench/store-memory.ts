// Redis memory per idle session: INFO memory's used_memory before and after `count` sessions were
// opened through acceptSessions on redisSessionStore, each sent a few frames its client received and
// acknowledged, and left idle (their clients gone without a goodbye, each session waiting for a
// resume). The transport is the in-memory one: only what the store keeps is measured.
import { type Subscription } from 'rxjs';
import { acceptSessions, memory, policy, reconnectWith, resumable, type Transport } from 'rx-lifeline';
import { redisSessionStore } from 'rx-lifeline/redis';
import type { BenchRedis } from './redis-server.js';

export interface RedisMemorySample {
  sessions: number;
  /** used_memory after minus before, divided by `sessions`. */
  bytesPerSession: number;
  /** MEMORY USAGE of one session's record, the only key an idle, acknowledged session keeps. */
  recordBytes: number;
  /** The keys Redis holds for them (a session record each; an acknowledged log is empty, so gone). */
  keys: number;
}

/** How many frames each session sends its client, which acknowledges them all. */
export const FRAMES_ACKED = 3;

const noop = () => undefined;

/** Resolves once `check` is true, asking every 20 ms; fails after `limitMs`. */
async function eventually(what: string, check: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > limitMs) throw new Error(`store bench: ${what} within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Clients opened at a time. */
const BATCH = 500;

/** Opens `count` clients on `transport`; resolves once each received its frames. */
async function openClients(transport: Transport<unknown>, count: number): Promise<Subscription[]> {
  const clients: Subscription[] = [];
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    for (let i = 0; i < count; i++) {
      let got = 0;
      clients.push(
        transport
          .pipe(reconnectWith(policy.constant(0)), resumable<number>({ ackEvery: FRAMES_ACKED }))
          .subscribe({
            next: (e) => e.type === 'frame' && ++got === FRAMES_ACKED && ++done === count && resolve(),
            error: reject,
          }),
      );
    }
  });
  return clients;
}

export async function redisMemoryPerSession(redis: BenchRedis, count: number): Promise<RedisMemorySample> {
  await redis.redis.flushall();
  const before = await redis.usedMemory();
  const keys = async (pattern: string) => ((await redis.redis.keys(pattern)) as string[]).length;
  const pair = memory<number>();
  const subs: Subscription[] = [];
  try {
    subs.push(
      acceptSessions<number>(pair.server, {
        store: redisSessionStore(redis.redis),
        maxSessions: count,
        sessionTtl: 600_000, // nothing expires while it is measured, however slow the machine
      }).subscribe((session) => {
        subs.push(session.events$.subscribe({ error: noop }));
        for (let seq = 1; seq <= FRAMES_ACKED; seq++) session.link.send(seq);
      }),
    );
    // In batches, so that no handshake waits long enough to time out on a loaded machine (its
    // client would then open a second session, and the count would be off).
    const clients: Subscription[] = [];
    for (let opened = 0; opened < count; opened += BATCH) {
      clients.push(...(await openClients(pair.transport, Math.min(BATCH, count - opened))));
    }
    // The acks reach the store: each session's log empties, and Redis drops an empty list.
    await eventually('the acknowledged logs were not dropped', async () => (await keys('*:log')) === 0);
    const records = await keys('*:s');
    if (records !== count) throw new Error(`store bench: ${records} session records in Redis, not ${count}`);
    // The clients go away without a goodbye: each session waits for a resume, up to its TTL.
    for (const client of clients) client.unsubscribe();
    const after = await redis.usedMemory();
    const [key] = (await redis.redis.keys('*:s')) as string[];
    const recordBytes = key === undefined ? 0 : Number(await redis.redis.memory('USAGE', key));
    return {
      sessions: count,
      bytesPerSession: (after - before) / count,
      recordBytes,
      keys: await keys('*'),
    };
  } finally {
    for (const sub of subs.reverse()) sub.unsubscribe();
    await redis.redis.flushall();
  }
}
