// Memory per idle connected session, server side: for each system, a server process and a client
// process (child_process.fork), so the server's RSS is its own. The server reports its RSS and
// heap after GC before any connection, then with `sessions` idle clients connected; the table
// shows the difference divided by the sessions.
import { fork, type ChildProcess } from 'node:child_process';
import { markdownTable, median } from '../harness.js';
import { barChartSvg, formatRatio, type PeersOptions, type Section } from './common.js';
import {
  MEMORY_SYSTEMS,
  type ConnectedMessage,
  type ListeningMessage,
  type MemoryReport,
  type MemorySystem,
  type ParentMessage,
} from './memory-protocol.js';

const LABELS: Record<MemorySystem, string> = {
  lifeline: 'lifeline acceptSessions + heartbeat, over websocketServer()',
  'socket.io': 'socket.io 4.8, connectionStateRecovery',
  ws: 'raw ws server',
};

/** Idle sessions per run. */
export function sessionsFor(quick: boolean): number {
  return quick ? 300 : 10_000;
}

/** Forks one of the memory run's children with GC exposed. */
function child(file: string, args: string[]): ChildProcess {
  const execArgv = [...process.execArgv, '--expose-gc'];
  return fork(new URL(file, import.meta.url), args, {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** The next IPC message of `type` from `process`; rejects if it exits first. */
function next<T extends { type: string }>(process: ChildProcess, type: T['type']): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T) => {
      if (message.type !== type) return;
      process.off('exit', onExit);
      process.off('message', onMessage);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`bench/peers memory: a child exited (${code})`));
    process.on('message', onMessage);
    process.once('exit', onExit);
  });
}

/** Tells a child to close and waits for it to exit; kills it if it has not after 10 s. */
async function stop(process: ChildProcess): Promise<void> {
  if (process.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => process.once('exit', () => resolve()));
  process.send({ type: 'close' } satisfies ParentMessage);
  const timer = setTimeout(() => process.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Bytes per session, one run. */
export interface MemorySample {
  /** The server's RSS growth from before any client to `sessions` sessions, per session. */
  rssPerSession: number;
  heapPerSession: number;
  /**
   * The growth from half the sessions to all of them, per session added: what one more idle
   * session costs, without the one-time growth that the first connections bring (the young
   * generation's pages, compiled code, the first slots of the server's tables).
   */
  marginalRssPerSession: number;
  marginalHeapPerSession: number;
  sessions: number;
}

/**
 * Opens `count` more clients in a new client process, then asks the server for its memory once
 * `total` sessions are up.
 */
async function connectMore(
  server: ChildProcess,
  clients: ChildProcess[],
  { system, port, count, total }: { system: MemorySystem; port: number; count: number; total: number },
): Promise<MemoryReport> {
  const process = child('./memory-clients.ts', [system, String(port), String(count)]);
  clients.push(process);
  await next<ConnectedMessage>(process, 'connected');
  const measured = next<MemoryReport>(server, 'memory');
  server.send({ type: 'measure', sessions: total } satisfies ParentMessage);
  return measured;
}

/**
 * One run: the server's memory before any client, with half the sessions (one client process)
 * and with all of them (a second), per session.
 */
export async function memoryRun(system: MemorySystem, sessions: number): Promise<MemorySample> {
  const server = child('./memory-server.ts', [system]);
  const clients: ChildProcess[] = [];
  try {
    const { port, baseline } = await next<ListeningMessage>(server, 'listening');
    const half = Math.floor(sessions / 2);
    const middle = await connectMore(server, clients, { system, port, count: half, total: half });
    const report = await connectMore(server, clients, {
      system,
      port,
      count: sessions - half,
      total: sessions,
    });
    const added = report.sessions - middle.sessions;
    return {
      rssPerSession: (report.rss - baseline.rss) / report.sessions,
      heapPerSession: (report.heapUsed - baseline.heapUsed) / report.sessions,
      marginalRssPerSession: (report.rss - middle.rss) / added,
      marginalHeapPerSession: (report.heapUsed - middle.heapUsed) / added,
      sessions: report.sessions,
    };
  } finally {
    for (const process of clients) await stop(process);
    await stop(server);
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;

/** The memory section: per-session RSS and heap of each server, medians of `runs` runs. */
export async function benchMemory(options: PeersOptions): Promise<Section> {
  const sessions = sessionsFor(options.quick);
  const half = Math.floor(sessions / 2);
  // One run opens 10,000 connections (the lifeline clients alone take a minute): one run unless asked.
  const runs = Math.max(1, Number(process.env.BENCH_MEMORY_RUNS ?? 1));
  const rows: {
    system: MemorySystem;
    rss: number;
    heap: number;
    marginalRss: number;
    marginalHeap: number;
  }[] = [];
  for (const system of MEMORY_SYSTEMS) {
    const samples: MemorySample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await memoryRun(system, sessions));
    rows.push({
      system,
      rss: median(samples.map((s) => s.rssPerSession)),
      heap: median(samples.map((s) => s.heapPerSession)),
      marginalRss: median(samples.map((s) => s.marginalRssPerSession)),
      marginalHeap: median(samples.map((s) => s.marginalHeapPerSession)),
    });
  }
  const raw = rows.find((r) => r.system === 'ws')!;
  const table = markdownTable(
    [
      'server',
      'RSS per idle session',
      'heap per idle session',
      'RSS × raw ws',
      `RSS per session added, ${half} to ${sessions}`,
      'heap per session added',
    ],
    rows.map((r) => [
      LABELS[r.system],
      kib(r.rss),
      kib(r.heap),
      formatRatio(r.rss, raw.rss),
      kib(r.marginalRss),
      kib(r.marginalHeap),
    ]),
  );
  const title = `${sessions} idle connected sessions, server in its own process, after GC, ${runs === 1 ? 'one run' : `median of ${runs}`}`;
  console.log(`\n${title}\n\n${table}`);
  const notes = [
    'Each server runs in a child process and the clients in another (child_process.fork); the server',
    'reports `process.memoryUsage()` after three `gc()` calls, before any client, once half the sessions',
    'are up (the clients of a first client process) and once all are (a second); the first columns divide',
    'the growth from no client to all sessions by the sessions, the last two the growth from half to all',
    'by the sessions added: what one more idle session costs without the one-time growth of the first',
    'connections (V8 grows its young generation to its 32 MiB limit and compiles code once). lifeline: websocketServer() + acceptHandshake',
    '+ heartbeat (5 s) + acceptSessions, clients with the full stack; socket.io: connectionStateRecovery,',
    'clients on the websocket transport; raw ws: `ws` server and clients. One run by default (each opens',
    `${sessions} connections; BENCH_MEMORY_RUNS=3 for a median of three).`,
  ].join(' ');
  return {
    title: 'Memory per idle session',
    markdown: `${notes}\n\n${title}\n\n${table}`,
    svg: {
      file: 'peers-memory.svg',
      content: barChartSvg(
        `Server RSS per idle session, ${sessions} sessions (median)`,
        rows.map((r) => ({ label: LABELS[r.system], value: r.rss })),
        kib,
      ),
    },
  };
}
