// Survival under cuts (issue #14): each system's client and server in processes of their own, a
// seeded TCP proxy between them that cuts the client's connection every 50–200 ms, both sides
// streaming numbered messages and the client asking requests where the system has them. Counts,
// per direction, what was lost, duplicated and reordered, and the requests never settled.
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { seededRandom } from 'rx-lifeline/testing';
import { markdownTable } from '../harness.js';
import { PeerProcess } from './peer-process.js';
import type { RequestCounts } from './survival-peer.js';
import { SURVIVAL_SYSTEMS, type SurvivalSystem } from './systems/registry.js';
import { tallySequence, type Tally } from './tally.js';
import { TcpProxy } from './tcp-proxy.js';
import type { PeersOptions, Section } from './types.js';

const PEER = fileURLToPath(new URL('./survival-peer.ts', import.meta.url));
const CUT_EVERY = [50, 200] as const;
/**
 * After the cuts, how long the counts may stay still before the run ends (longer than socket.io's
 * 10 s ackTimeout, so that an event waiting for its retry gets it), and the most it waits.
 */
const SETTLED_MS = 11_000;
const DRAIN_MAX_MS = 15_000;

interface PeerReport {
  sent: number;
  received: number[];
  requests?: RequestCounts;
}

/** One system's run: its cuts, each direction's tally, and its requests (undefined: it has none). */
export interface SurvivalResult {
  system: string;
  cuts: number;
  toServer: Tally;
  toClient: Tally;
  requests: RequestCounts | undefined;
}

/** Cuts a live connection every 50–200 ms (seeded) for `durationMs`; resolves with the cuts made. */
async function cutFor(proxy: TcpProxy, durationMs: number, random: () => number): Promise<number> {
  const end = performance.now() + durationMs;
  let cuts = 0;
  while (performance.now() < end) {
    await delay(CUT_EVERY[0] + Math.floor(random() * (CUT_EVERY[1] - CUT_EVERY[0])));
    if (proxy.cut(Math.floor(random() * 2 ** 31))) cuts++;
  }
  return cuts;
}

/** Waits until each side has received as many as the other sent and no request is pending, or the counts stop moving. */
async function drain(server: PeerProcess, client: PeerProcess, serverSent: number, clientSent: number) {
  type Progress = { received: number; pending: number };
  const start = performance.now();
  let last = '';
  let still = performance.now();
  while (performance.now() - start < DRAIN_MAX_MS) {
    const [s, c] = await Promise.all([server.ask<Progress>('progress'), client.ask<Progress>('progress')]);
    if (s.received >= clientSent && c.received >= serverSent && c.pending === 0) return;
    const now = JSON.stringify([s, c]);
    if (now !== last) [last, still] = [now, performance.now()];
    else if (performance.now() - still > SETTLED_MS) return;
    await delay(100);
  }
}

/** Runs one system through `durationMs` of cuts. */
export async function surviveOne(
  system: SurvivalSystem,
  durationMs: number,
  seed: number,
): Promise<SurvivalResult> {
  const [server, client] = await Promise.all([
    PeerProcess.start(PEER, ['server', system]),
    PeerProcess.start(PEER, ['client', system, String(seed)]),
  ]);
  let proxy: TcpProxy | undefined;
  try {
    proxy = await TcpProxy.listen(await server!.ask<number>('listen'));
    await client!.ask('connect', proxy.port);
    await Promise.all([server!.ask('start'), client!.ask('start')]);
    const cuts = await cutFor(proxy, durationMs, seededRandom(seed));
    const [serverSent, clientSent] = await Promise.all([
      server.ask<number>('stop'),
      client.ask<number>('stop'),
    ]);
    await drain(server!, client!, serverSent, clientSent);
    const [atServer, atClient] = await Promise.all([
      server!.ask<PeerReport>('report'),
      client!.ask<PeerReport>('report'),
    ]);
    return {
      system,
      cuts,
      toServer: tallySequence(atClient.sent, atServer.received),
      toClient: tallySequence(atServer.sent, atClient.received),
      requests: atClient.requests,
    };
  } finally {
    await Promise.all([client!.stop(), server!.stop()]);
    await proxy?.close();
  }
}

const cell = (n: number) => String(n);

/** The two tables: messages per direction, and requests. */
export function survivalTables(results: readonly SurvivalResult[]): string {
  const messages = results.flatMap((r) =>
    (
      [
        ['client → server', r.toServer],
        ['server → client', r.toClient],
      ] as const
    ).map(([direction, t]) => [
      r.system,
      cell(r.cuts),
      direction,
      cell(t.sent),
      cell(t.lost),
      cell(t.duplicated),
      cell(t.reordered),
    ]),
  );
  const requests = results.map((r) =>
    r.requests
      ? [
          r.system,
          cell(r.requests.issued),
          cell(r.requests.answered + r.requests.wrong),
          cell(r.requests.wrong),
          cell(r.requests.failed),
          cell(r.requests.pending),
        ]
      : [r.system, 'no requests', '', '', '', ''],
  );
  return [
    markdownTable(['system', 'cuts', 'direction', 'sent', 'lost', 'duplicated', 'reordered'], messages),
    '',
    markdownTable(
      ['system', 'requests', 'answered', 'wrong answer', 'failed (error or timeout)', 'never settled'],
      requests,
    ),
  ].join('\n');
}

const SETTINGS = `Settings: socket.io 4.8 server with \`connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true }\` and client with \`retries: 3, ackTimeout: 10000\` (its delivery-guarantees guide), the server acknowledging each event; requests are \`socket.timeout(10000).emitWithAck\`. partysocket 1.x (its send queue, unbounded by default) against a plain \`ws\` server, which has nothing to send on while the client is away. lifeline: handshake + heartbeat + reconnectWith + resumable + cancelPending ({ timeout: 10000 }, requests idempotent) against acceptHandshake + heartbeat + acceptSessions + serveRequests. Every client reconnects after 50 ms at first, 500 ms at most (lifeline: exponential 50 ms → 500 ms, full jitter). socket.io on its WebSocket transport only. Each side sends 5 numbered messages every 10 ms; the client asks a request every 50 ms.`;

/** The survival section: every system through the same seeded cuts. */
export async function benchSurvival(options: PeersOptions): Promise<Section> {
  const durationMs = options.quick ? 4_000 : 20_000;
  const results: SurvivalResult[] = [];
  for (const system of Object.keys(SURVIVAL_SYSTEMS) as SurvivalSystem[]) {
    results.push(await surviveOne(system, durationMs, options.seed));
  }
  const markdown = [
    `A TCP proxy in the benchmark process cuts the client's connection every 50–200 ms (seed ${options.seed}) for ${durationMs / 1000} s while both sides stream; client and server run in processes of their own. One run per system (\`runs\` does not apply). Lost, duplicated and reordered are counted once the cuts have stopped and the counts have stood still for ${SETTLED_MS / 1000} s (at most ${DRAIN_MAX_MS / 1000} s): a message still queued then counts as lost.`,
    '',
    survivalTables(results),
    '',
    SETTINGS,
  ].join('\n');
  return { title: 'Survival under cuts', markdown };
}
