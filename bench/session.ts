// The full session stack on TCP: handshake + heartbeat + reconnectWith + resumable on the client,
// acceptSessions over acceptHandshake + heartbeat on the server. Four figures: throughput against raw `node:net` with the same
// framing; request/response round trips per second and their latency with 100 in flight (with
// cancelPending on top, serveRequests on the server); the time from a cut to resumed flow (the
// policy's own delay is 0); and the heap held by each idle server session, 10,000 of them.
import v8 from 'node:v8';
import vm from 'node:vm';
import { filter, firstValueFrom, map, Subject, takeUntil, type Observable, type Subscription } from 'rxjs';
import {
  acceptHandshake,
  acceptSessions,
  cancelPending,
  handshake,
  heartbeat,
  memory,
  policy,
  reconnectWith,
  resumable,
  serveRequests,
  type LayerName,
  type Link,
  type RequestLink,
  type ResumableConfig,
  type ServerEvent,
  type ServerSession,
  websocket,
} from 'rx-lifeline';
import { tcp, tcpServer, websocketServer } from 'rx-lifeline/node';
import { WebSocket } from 'ws';
import { rawWebSocketRun } from './websocket.js';
import { formatRate, markdownTable, median, now } from './harness.js';
import { lifelineRun, rawTcpRun, timedSends, type ThroughputCase, throughputTables } from './throughput.js';

const HEARTBEAT = { interval: 5_000, timeout: 15_000 } as const;

/** The transport under the stack. */
type Kind = 'tcp' | 'websocket';

/** The layers of the stack without requests, and with them. */
export const SESSION: LayerName[] = ['heartbeat', 'resumable'];
const WITH_REQUESTS: LayerName[] = [...SESSION, 'requests'];

/**
 * Each accepted connection through the handshake and heartbeat (and through `until`, to cut it
 * from the server).
 */
export function sessionServer(layers: LayerName[], until?: Observable<unknown>, kind: Kind = 'tcp') {
  const listen = kind === 'tcp' ? tcpServer({ port: 0 }) : websocketServer({ port: 0 });
  return listen.pipe(
    map((event: ServerEvent) => {
      if (event.type !== 'connection') return event;
      const connection = event.connection.pipe(acceptHandshake({ layers }), heartbeat(HEARTBEAT));
      return { ...event, connection: until ? connection.pipe(takeUntil(until)) : connection };
    }),
  );
}

/** The client's full stack, dialling `port`. */
export function sessionClient<T>(
  port: number,
  layers: LayerName[],
  config: ResumableConfig<T> = {},
  kind: Kind = 'tcp',
) {
  const dial = kind === 'tcp' ? tcp({ port }) : websocket({ url: `ws://127.0.0.1:${port}`, WebSocket });
  return dial.pipe(
    handshake({ layers }),
    heartbeat(HEARTBEAT),
    reconnectWith(policy.constant(0)),
    resumable<T>(config),
  );
}

/** Listens, dials, and resolves with the server's first session and the client's session link. */
async function openSession<T>(
  subs: Subscription[],
  config: ResumableConfig<T>,
  onServerFrame: (frame: T) => void,
  onClientFrame: (frame: T) => void,
  until?: Observable<unknown>,
  kind: Kind = 'tcp',
): Promise<{ server: ServerSession<T>; link: Link<T> }> {
  let resolvePort!: (port: number) => void;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  const server$ = sessionServer(SESSION, until, kind).pipe(
    map((e) => (e.type === 'listening' && resolvePort(e.port), e)),
  );
  const server = new Promise<ServerSession<T>>((resolve) =>
    subs.push(
      acceptSessions<T>(server$).subscribe((session) => {
        subs.push(session.events$.subscribe((e) => e.type === 'frame' && onServerFrame(e.frame)));
        resolve(session);
      }),
    ),
  );
  const client$ = sessionClient<T>(await port, SESSION, config, kind);
  const link = new Promise<Link<T>>((resolve) =>
    subs.push(
      client$.subscribe((e) => {
        if (e.type === 'connected') resolve(e.link);
        else if (e.type === 'frame') onClientFrame(e.frame);
      }),
    ),
  );
  return { server: await server, link: await link };
}

/** Throughput client → server through the full stack, until the server session has every frame. */
export async function sessionRun(c: ThroughputCase, config: ResumableConfig<Uint8Array>, kind: Kind = 'tcp') {
  const subs: Subscription[] = [];
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const { link } = await openSession<Uint8Array>(
    subs,
    config,
    () => ++received === c.frames && resolveDone(),
    () => undefined,
    undefined,
    kind,
  );
  // Half the replay buffer's default 4 MiB in flight: the kernel's buffers alone can hold more.
  const sample = await timedSends(c, link, done, 2 * 1024 * 1024);
  for (const sub of subs.reverse()) sub.unsubscribe();
  return sample;
}

/** One run of request round trips: the rate, and the latencies' p50 and p99 in ms. */
interface RequestSample {
  perSecond: number;
  p50: number;
  p99: number;
}

/**
 * `total` requests through `client$` (a stream ending in cancelPending), `inFlight` pending at a
 * time, against a server that answers each with its payload; resolves once the last is answered.
 */
async function requestRun(
  subs: Subscription[],
  client$: Observable<{ readonly type: string; readonly link?: unknown }>,
  total: number,
  inFlight: number,
): Promise<RequestSample> {
  const link = await new Promise<RequestLink<unknown>>((resolve, reject) => {
    let requestLink: RequestLink<unknown> | undefined;
    subs.push(
      client$.subscribe({
        next: (e) => {
          if (e.type === 'request-link') requestLink = e.link as RequestLink<unknown>;
          else if (e.type === 'connected') resolve(requestLink!);
        },
        error: reject,
      }),
    );
  });
  const latencies = new Float64Array(total);
  let issued = 0;
  let answered = 0;
  let resolveAll!: () => void;
  let rejectAll!: (error: unknown) => void;
  const all = new Promise<void>((resolve, reject) => ((resolveAll = resolve), (rejectAll = reject)));
  const issue = () => {
    const i = issued++;
    const sent = now();
    link.request(i).subscribe({
      complete: () => {
        latencies[i] = now() - sent;
        if (++answered === total) resolveAll();
        else if (issued < total) issue();
      },
      error: rejectAll,
    });
  };
  const start = now();
  for (let i = 0; i < inFlight && i < total; i++) issue();
  await all;
  const ms = now() - start;
  latencies.sort();
  return {
    perSecond: (total / ms) * 1000,
    p50: latencies[Math.floor(total * 0.5)]!,
    p99: latencies[Math.floor(total * 0.99)]!,
  };
}

/** Round trips through the full stack: handshake + heartbeat + reconnectWith + resumable + cancelPending. */
async function sessionRequestRun(total: number, inFlight: number): Promise<RequestSample> {
  const subs: Subscription[] = [];
  let resolvePort!: (port: number) => void;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  const server$ = sessionServer(WITH_REQUESTS).pipe(
    map((e) => (e.type === 'listening' && resolvePort(e.port), e)),
  );
  subs.push(
    acceptSessions<unknown>(server$).subscribe((session) =>
      subs.push(session.events$.pipe(serveRequests((n: unknown) => n)).subscribe()),
    ),
  );
  const client$ = sessionClient<unknown>(await port, WITH_REQUESTS).pipe(cancelPending());
  const sample = await requestRun(subs, client$, total, inFlight);
  for (const sub of subs.reverse()) sub.unsubscribe();
  return sample;
}

/** Round trips without a session: tcp() + reconnectWith + cancelPending, serveRequests per connection. */
async function plainRequestRun(total: number, inFlight: number): Promise<RequestSample> {
  const subs: Subscription[] = [];
  let resolvePort!: (port: number) => void;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  subs.push(
    tcpServer({ port: 0 }).subscribe((event) => {
      if (event.type === 'listening') resolvePort(event.port);
      else if (event.type === 'connection') {
        subs.push(event.connection.pipe(serveRequests((n: unknown) => n)).subscribe());
      }
    }),
  );
  const client$ = tcp({ port: await port }).pipe(reconnectWith(policy.constant(0)), cancelPending());
  const sample = await requestRun(subs, client$, total, inFlight);
  for (const sub of subs.reverse()) sub.unsubscribe();
  return sample;
}

/** Each case `runs` times after a warm-up: the median of each figure, as a table. */
async function requestTable(runs: number, total: number, inFlight: number): Promise<string> {
  const cases: [string, (total: number, inFlight: number) => Promise<RequestSample>][] = [
    [
      'lifeline full stack (handshake + heartbeat + reconnectWith + resumable + cancelPending)',
      sessionRequestRun,
    ],
    ['lifeline tcp() + reconnectWith + cancelPending (no session)', plainRequestRun],
  ];
  const body: string[][] = [];
  for (const [name, once] of cases) {
    await once(total, inFlight); // warm-up
    const samples: RequestSample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await once(total, inFlight));
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    body.push([
      name,
      formatRate(median(samples.map((s) => s.perSecond))),
      ms(median(samples.map((s) => s.p50))),
      ms(median(samples.map((s) => s.p99))),
    ]);
  }
  const table = markdownTable(['case', 'round trips/s (median)', 'p50 latency', 'p99 latency'], body);
  return `\nTCP loopback, request/response, ${total} requests, ${inFlight} in flight, median of ${runs}\n${table}`;
}

/** Cuts the server's side of the connection `cuts` times; each time, how long until flow resumes. */
async function cutToResumed(cuts: number): Promise<number[]> {
  const subs: Subscription[] = [];
  const cut$ = new Subject<void>();
  const arrived = new Subject<number>();
  const { server } = await openSession<number>(
    subs,
    {},
    () => undefined,
    (n) => arrived.next(n),
    cut$,
  );
  const resumedAfter: number[] = [];
  for (let i = 1; i <= cuts + 1; i++) {
    const next = firstValueFrom(arrived.pipe(filter((n) => n === i)));
    const start = now();
    cut$.next(); // the server destroys its socket; the client sees it and dials again at once
    server.link.send(i); // queued while the session is detached, replayed right after the welcome
    await next;
    if (i > 1) resumedAfter.push(now() - start); // the first one warms up
  }
  for (const sub of subs.reverse()) sub.unsubscribe();
  return resumedAfter;
}

/** `global.gc`, exposed at run time when node was not started with --expose-gc. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

async function settledHeap(gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

/** Heap per server session: connected (with both ends of each memory connection), then idle. */
async function memoryPerSession(count: number): Promise<{ connected: number; idle: number }> {
  const gc = collector();
  const pair = memory<unknown>();
  const before = await settledHeap(gc);
  let sessions = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  const server = acceptSessions<unknown>(pair.server, { maxSessions: count }).subscribe((session) => {
    session.events$.subscribe();
    if (++sessions === count) resolveAll();
  });
  const clients: Subscription[] = [];
  for (let i = 0; i < count; i++) {
    clients.push(pair.transport.pipe(reconnectWith(policy.constant(0)), resumable()).subscribe());
  }
  await all;
  const connected = await settledHeap(gc);
  // The clients go away without a goodbye: each session now waits for a resume, up to its TTL.
  for (const client of clients.splice(0)) client.unsubscribe();
  const idle = await settledHeap(gc);
  server.unsubscribe();
  return { connected: (connected - before) / count, idle: (idle - before) / count };
}

export async function benchSession(runs: number): Promise<string[]> {
  const out: string[] = [];
  out.push(
    ...(await throughputTables(
      'TCP, full session stack (handshake + heartbeat + reconnectWith + resumable)',
      runs,
      {
        perFrame: ['raw net, one write per frame', (c) => rawTcpRun(c, false)],
        batched: ['raw net, one buffer per tick', (c) => rawTcpRun(c, true)],
        lifeline: [
          'lifeline tcp()',
          (c) => lifelineRun(c, tcpServer<Uint8Array>({ port: 0 }), (port) => tcp({ port })),
        ],
        more: [
          ['lifeline full stack', (c) => sessionRun(c, {})],
          ['lifeline full stack, sizeOf = byteLength', (c) => sessionRun(c, { sizeOf: (f) => f.byteLength })],
        ],
      },
    )),
  );

  out.push(
    ...(await throughputTables(
      'WebSocket, full session stack (handshake + heartbeat + reconnectWith + resumable)',
      runs,
      {
        perFrame: ['raw ws, one message per frame', (c) => rawWebSocketRun(c, false)],
        batched: ['raw ws, one message per tick', (c) => rawWebSocketRun(c, true)],
        lifeline: [
          'lifeline websocket()',
          (c) =>
            lifelineRun(c, websocketServer<Uint8Array>({ port: 0 }), (port) =>
              websocket({ url: `ws://127.0.0.1:${port}`, WebSocket }),
            ),
        ],
        more: [['lifeline full stack', (c) => sessionRun(c, {}, 'websocket')]],
      },
    )),
  );

  out.push(await requestTable(runs, 20_000, 100));
  console.log(out.at(-1));

  const cuts = await cutToResumed(30);
  const sorted = [...cuts].sort((a, b) => a - b);
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const cutTable = markdownTable(
    ['cuts', 'median', 'p90', 'max'],
    [
      [
        String(cuts.length),
        ms(median(cuts)),
        ms(sorted[Math.floor(sorted.length * 0.9)]!),
        ms(sorted.at(-1)!),
      ],
    ],
  );
  out.push(
    `\nCut to resumed flow on loopback (server cuts, policy.constant(0); goal < 5 ms median)\n${cutTable}`,
  );
  console.log(out.at(-1));

  const count = 10_000;
  const heap = await memoryPerSession(count);
  const kib = (v: number) => `${(v / 1024).toFixed(2)} KiB`;
  const memTable = markdownTable(
    [
      'sessions',
      'per session, connected (both ends, memory transport)',
      'per idle server session (goal < 10 KiB)',
    ],
    [[formatRate(count), kib(heap.connected), kib(heap.idle)]],
  );
  out.push(`\nHeap per resumable server session (heapUsed deltas after gc)\n${memTable}`);
  console.log(out.at(-1));
  return out;
}
