// ConnectionPool: acquire/release throughput, and the cost of one eviction as the idle pool grows
// from 100 to 100,000 connections, against a naive pool that finds its oldest idle connection by
// scanning the whole map (seed 002's removeOldestProxyConnectionPool). The links are simulated: a
// fake Transport that connects synchronously and never touches a socket, so what is measured is
// the pool's own bookkeeping. Not a test: nothing here fails on a slow machine.
import { NEVER, Observable } from 'rxjs';
import {
  ConnectionPool,
  originOf,
  type Link,
  type Origin,
  type Transport,
  type TransportEvent,
} from 'rx-lifeline';
import { formatRate, markdownTable, measure, median, now } from './harness.js';

const fakeLink: Link<unknown> = {
  send: () => true,
  close: () => undefined,
  bufferedBytes: 0,
  closed: false,
  closeRequested: false,
  drain$: NEVER,
  framesSent: 0,
  writeReport: () => ({ lastFrame: 'whole', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft: 0 }),
  info: { transport: 'fake', local: 'here', remote: 'there' },
};

/** A connection that opens at once and stays open until unsubscribed. */
const fakeTransport: Transport = new Observable<TransportEvent>((subscriber) => {
  subscriber.next({ type: 'connected', link: fakeLink });
});

function origins(count: number, offset = 0): Origin[] {
  return Array.from({ length: count }, (_, i) =>
    originOf({ scheme: 'tcp', host: `h${i + offset}`, port: 7070 }),
  );
}

/**
 * The naive pool: idle connections in a Map by key with their last use; to evict, scan every
 * entry for the oldest, as seed 002's proxy did. O(n) per eviction.
 */
class NaiveIdlePool {
  private readonly idle = new Map<string, { lastUsed: number; close: () => void }>();
  private clock = 0;

  constructor(private readonly cap: number) {}

  release(key: string, close: () => void): void {
    this.idle.set(key, { lastUsed: ++this.clock, close });
    if (this.idle.size <= this.cap) return;
    let oldestKey: string | undefined;
    let oldest = Infinity;
    for (const [k, entry] of this.idle) {
      if (entry.lastUsed < oldest) {
        oldest = entry.lastUsed;
        oldestKey = k;
      }
    }
    const evicted = this.idle.get(oldestKey!)!;
    this.idle.delete(oldestKey!);
    evicted.close();
  }
}

/** Fills a pool with `size` idle connections, then times `evictions` new origins, each evicting one. */
function lifelineEvictions(size: number, evictions: number): number {
  const pool = new ConnectionPool({ dial: () => fakeTransport, idleTotal: size, idleTimeout: Infinity });
  for (const o of origins(size)) pool.transport(o).subscribe().unsubscribe();
  const fresh = origins(evictions, size);
  collectGarbage();
  const started = now();
  for (const o of fresh) pool.transport(o).subscribe().unsubscribe();
  const ms = now() - started;
  if (pool.snapshot().total.idle !== size) throw new Error('the pool did not evict');
  pool.close();
  return (ms * 1e6) / evictions;
}

/**
 * Starts a timed batch with a clean heap when the bench runs with `--expose-gc` (npm run bench
 * does), so a major collection of the filled pool's heap is not billed to the evictions.
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function naiveEvictions(size: number, evictions: number): number {
  const pool = new NaiveIdlePool(size);
  const close = () => fakeTransport.subscribe().unsubscribe();
  for (const o of origins(size)) pool.release(o.key, close);
  const fresh = origins(evictions, size);
  collectGarbage();
  const started = now();
  for (const o of fresh) {
    fakeTransport.subscribe().unsubscribe(); // the dial, as in the lifeline case
    pool.release(o.key, close);
  }
  return ((now() - started) * 1e6) / evictions;
}

export async function benchPool(runs: number): Promise<void> {
  const address = originOf('tcp://bench.example.com:7070');
  const pool = new ConnectionPool({ dial: () => fakeTransport, idleTimeout: Infinity });
  const transport = pool.transport(address);
  const lease$ = pool.lease(address);
  const cycles = 200_000;
  const acquire = await measure('transport: subscribe + unsubscribe (idle reuse)', runs, async () => {
    const started = now();
    for (let i = 0; i < cycles; i++) transport.subscribe().unsubscribe();
    return { items: cycles, ms: now() - started };
  });
  const leases = await measure('lease + release', runs, async () => {
    const started = now();
    for (let i = 0; i < cycles; i++) lease$.subscribe((lease) => lease.release());
    return { items: cycles, ms: now() - started };
  });
  pool.close();
  console.log('\nConnectionPool: acquire/release on one idle connection (simulated links)');
  console.log(`| case | acquire+release/s (median of ${runs}) |`);
  console.log('|---|---|');
  for (const row of [acquire, leases]) console.log(`| ${row.name} | ${formatRate(row.perSecond)} |`);

  const sizes = [100, 1_000, 10_000, 100_000];
  const rows: { size: number; lifeline: number; naive: number }[] = [];
  for (const size of sizes) {
    const naiveCount = Math.max(200, Math.min(20_000, Math.floor(2e7 / size)));
    lifelineEvictions(size, 20_000); // warm-up
    const lifeline = median(Array.from({ length: runs }, () => lifelineEvictions(size, 20_000)));
    const naive = median(Array.from({ length: runs }, () => naiveEvictions(size, naiveCount)));
    rows.push({ size, lifeline, naive });
  }
  const base = rows[0]!;
  const header = [
    'idle connections',
    'lifeline ns/eviction',
    '× at 100',
    'naive scan ns/eviction',
    '× at 100',
    'naive / lifeline',
  ];
  const body = rows.map((r) => [
    r.size.toLocaleString('en-US'),
    r.lifeline.toFixed(0),
    (r.lifeline / base.lifeline).toFixed(2),
    r.naive.toFixed(0),
    (r.naive / base.naive).toFixed(2),
    (r.naive / r.lifeline).toFixed(2),
  ]);
  console.log(
    `\nConnectionPool: one eviction (dial a new origin, release it, evict the LRU idle), median of ${runs}\n` +
      markdownTable(header, body),
  );
}
