// The restart storm (issues #12 and #14): `count` clients of each system in a process of their own
// dial a server process through a counting TCP proxy; the server is killed (SIGKILL) and started
// again 2 s later on the same port. The proxy logs every dial: the dials while the server is down,
// the peak dials per second, and the chart of dials per second over time, one line per system.
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { markdownTable } from '../harness.js';
import { PeerProcess } from './peer-process.js';
import { startRedis, type BenchRedis } from '../redis-server.js';
import type { StormProgress } from './storm-peer.js';
import { lineChart, type ChartSeries } from './svg-chart.js';
import { LIFELINE_STORE } from './systems/lifeline.js';
import { ADMISSION, STORM_SYSTEMS, type StormSystem } from './systems/registry.js';
import { TcpProxy } from './tcp-proxy.js';
import type { PeersOptions, Section } from './types.js';

const PEER = fileURLToPath(new URL('./storm-peer.ts', import.meta.url));
const DOWN_MS = 2_000;
/** The chart's bucket: dials are counted per 250 ms and shown per second. */
const BUCKET_MS = 250;

/** What one system's storm came to. Times in ms; `allBackMs` undefined when not all came back. */
export interface StormResult {
  system: string;
  clients: number;
  dialsWhileDown: number;
  /** Dials from the kill until all were back (or the wait ended). */
  dials: number;
  /** The most dials in any one second (a sliding window) from the kill on, and from the restart on. */
  peakPerSecond: number;
  peakAfterRestart: number;
  /** From the restart (the new server listening) until every client was connected again. */
  allBackMs: number | undefined;
  /** Clients connected when the wait ended. */
  back: number;
  /** Reconnections after the restart that resumed their session, and those that started afresh. */
  kept: number;
  fresh: number;
  /** Dial times relative to the kill, in ms. */
  dialTimes: number[];
}

/** The most entries of sorted `times` within any window of `windowMs`. */
export function peakInWindow(times: readonly number[], windowMs: number): number {
  let peak = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

/** Dials per second in buckets of `BUCKET_MS` from `fromMs` to `toMs` (times relative to the kill). */
export function dialRate(times: readonly number[], fromMs: number, toMs: number): [number, number][] {
  const buckets = Math.max(1, Math.ceil((toMs - fromMs) / BUCKET_MS));
  const counts = new Array<number>(buckets).fill(0);
  for (const t of times) {
    const i = Math.floor((t - fromMs) / BUCKET_MS);
    if (i >= 0 && i < buckets) counts[i]!++;
  }
  return counts.map((n, i) => [(fromMs + i * BUCKET_MS) / 1000, (n * 1000) / BUCKET_MS]);
}

/** Polls `clients` every 50 ms until `done` says so or `limitMs` passes; resolves with the last progress. */
async function until(
  clients: PeerProcess,
  limitMs: number,
  done: (p: StormProgress) => boolean,
): Promise<{ progress: StormProgress; at: number }> {
  const end = performance.now() + limitMs;
  for (;;) {
    const progress = await clients.ask<StormProgress>('progress');
    const at = performance.now();
    if (done(progress) || at > end) return { progress, at };
    await delay(50);
  }
}

/** One system's storm. */
export async function stormOne(
  system: StormSystem,
  count: number,
  seed: number,
  limitMs: number,
): Promise<StormResult> {
  // A system whose sessions live in Redis gets a redis-server of its own, which outlives the kill.
  const redis: BenchRedis | undefined =
    STORM_SYSTEMS[system].needs === 'redis' ? await startRedis() : undefined;
  const env: Record<string, string> = redis ? { [LIFELINE_STORE]: redis.socket } : {};
  // Three processes load at once: the server, the clients, and the server that replaces the first.
  const [server, clients, replacement] = await Promise.all(
    [['server'], ['clients'], ['server']].map((role) => PeerProcess.start(PEER, [...role, system], env)),
  );
  let proxy: TcpProxy | undefined;
  try {
    const port = await server!.ask<number>('listen', 0);
    proxy = await TcpProxy.listen(port);
    await clients!.ask('start', { port: proxy.port, count, seed });
    const started = performance.now();
    const up = await until(clients!, limitMs, (p) => p.connected === count);
    const phase = (from: number) => `${((performance.now() - from) / 1000).toFixed(1)} s`;
    console.error(`storm ${system}: ${count} clients connected in ${phase(started)}`);
    if (up.progress.connected < count) {
      throw new Error(
        `${system}: only ${up.progress.connected} of ${count} clients connected in ${limitMs} ms`,
      );
    }
    const before = up.progress;
    const killedAt = performance.now();
    await server!.kill('SIGKILL');
    await delay(Math.max(0, DOWN_MS - (performance.now() - killedAt)));
    await replacement!.ask('listen', port);
    const restartedAt = performance.now();
    const back = await until(
      clients!,
      limitMs,
      (p) => p.connected === count && p.recovered + p.fresh - before.recovered - before.fresh >= count,
    );
    const allBack = back.progress.connected === count;
    console.error(`storm ${system}: ${back.progress.connected} back ${phase(restartedAt)} after the restart`);
    const dialTimes = proxy.dials.filter((t) => t >= killedAt && t <= back.at).map((t) => t - killedAt);
    const restart = restartedAt - killedAt;
    return {
      system,
      clients: count,
      dialsWhileDown: dialTimes.filter((t) => t < restart).length,
      dials: dialTimes.length,
      peakPerSecond: peakInWindow(dialTimes, 1_000),
      peakAfterRestart: peakInWindow(
        dialTimes.filter((t) => t >= restart),
        1_000,
      ),
      allBackMs: allBack ? back.at - restartedAt : undefined,
      back: back.progress.connected,
      kept: back.progress.recovered - before.recovered,
      fresh: back.progress.fresh - before.fresh,
      dialTimes,
    };
  } finally {
    const closing = performance.now();
    await clients!.stop(1_000); // what the clients do after the measurement does not matter
    await Promise.all([server!.stop(), replacement!.stop()]);
    await proxy?.close();
    await redis?.stop();
    console.error(`storm ${system}: closed in ${((performance.now() - closing) / 1000).toFixed(1)} s`);
  }
}

const SESSIONS: Record<StormSystem, string> = {
  'socket.io': 'in memory: lost at a restart unless an adapter (e.g. Redis) keeps them',
  partysocket: 'none (no sessions)',
  'lifeline recommended': 'Redis store (redisSessionStore): outlive the server process',
  'lifeline old README': 'Redis store (redisSessionStore): outlive the server process',
};

/** The table of the storm. */
export function stormTable(results: readonly StormResult[], limitMs: number): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return markdownTable(
    [
      'system',
      'clients',
      'dials while down',
      'peak dials/s',
      'peak after restart',
      'dials in all',
      'all back after restart',
      'sessions kept',
      'sessions',
    ],
    results.map((r) => [
      r.system,
      String(r.clients),
      String(r.dialsWhileDown),
      String(r.peakPerSecond),
      String(r.peakAfterRestart),
      String(r.dials),
      r.allBackMs === undefined ? `${r.back} of ${r.clients} in ${s(limitMs)}` : s(r.allBackMs),
      r.system === 'partysocket' ? 'n/a' : `${r.kept} of ${r.clients}`,
      SESSIONS[r.system as StormSystem] ?? '',
    ]),
  );
}

/** The chart: dials per second from 1 s before the kill, one line per system. */
export function stormChart(results: readonly StormResult[]): string {
  const end = Math.max(DOWN_MS + 1_000, ...results.flatMap((r) => r.dialTimes)) + BUCKET_MS;
  const series: ChartSeries[] = results.map((r) => ({
    name: r.system,
    points: dialRate(r.dialTimes, -1_000, end),
  }));
  return lineChart(series, {
    title: `Restart storm: dials per second, ${results[0]?.clients ?? 0} clients, server killed at 0 s, back at ${DOWN_MS / 1000} s`,
    xLabel: 'seconds since the kill',
    yLabel: 'dials per second',
  });
}

const SETTINGS = `Settings: socket.io 4.8 with connectionStateRecovery (default durations) and its client's reconnection defaults (1 s doubling to 5 s, randomization 0.5), WebSocket transport only. partysocket with its defaults (3 s growing ×1.3 to 10 s, no jitter) against a plain \`ws\` server. lifeline over TCP, full stack (handshake + heartbeat + reconnectWith + resumable({ onSessionLost: 'reset' }) + cancelPending), its server keeping sessions in a redis-server of the benchmark's own (\`redisSessionStore\`, which outlives the kill): "recommended" is the README's \`policy.recommended({ random })\` (decorrelated jitter from 2 s to 5 s) against a server with \`HandshakeAdmission({ perSecond: ${ADMISSION.perSecond}, burst: ${ADMISSION.burst} })\`, whose hints the policy honours; "old README" is the former README's policy (exponential 100 ms → 30 s, full jitter) without admission control. A dial is a TCP connection the proxy accepted; while the server is down the proxy resets each at once, as a refused dial is. "sessions kept": reconnections after the restart that resumed their session (lifeline: no \`SessionLostError\`/reset; socket.io: \`socket.recovered\`).`;

/** The systems named (all when undefined), or a TypeError naming the ones there are. */
function stormSystems(names: readonly string[] | undefined): StormSystem[] {
  const all = Object.keys(STORM_SYSTEMS) as StormSystem[];
  if (names === undefined) return all;
  const unknown = names.filter((name) => !(all as string[]).includes(name));
  if (unknown.length > 0) {
    throw new TypeError(`storm: unknown system ${JSON.stringify(unknown[0])}: use some of ${all.join(', ')}`);
  }
  return names as StormSystem[];
}

/** The restart-storm section, with its chart. */
export async function benchStorm(options: PeersOptions): Promise<Section> {
  const count = options.quick ? 200 : 2_000;
  const limitMs = options.quick ? 30_000 : 60_000;
  const results: StormResult[] = [];
  for (const system of stormSystems(options.systems)) {
    results.push(await stormOne(system, count, options.seed, limitMs));
  }
  const markdown = [
    `${count} clients of each system in one client process, through a counting TCP proxy; the server process is killed (SIGKILL) and started again ${DOWN_MS / 1000} s later on the same port. One run per system (seed ${options.seed}; \`runs\` does not apply).`,
    '',
    stormTable(results, limitMs),
    '',
    SETTINGS,
  ].join('\n');
  return { title: 'Restart storm', markdown, svg: { file: 'peers-storm.svg', content: stormChart(results) } };
}
