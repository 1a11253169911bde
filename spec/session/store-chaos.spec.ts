// A chaos test across processes for acceptSessions({ store: redisSessionStore(...) }): three server
// processes (chaos/store-server.ts) share one real redis-server; four clients here reach them
// through an EndpointSet over their three ports, or through one round-robin TCP proxy, with
// reconnectWith + resumable. Both directions stream numbered frames: each client 1, 2, 3, …; each
// server process [its incarnation, 1], [incarnation, 2], … to every session copy it holds.
//
// Chaos: every 1–2 s (seeded) one server process is SIGKILLed and started again on its port; or
// Redis is SIGKILLed and started again mid-stream, with its append-only file or without; or, as a
// rolling deploy, each process in turn is drained (HandshakeAdmission.drain: go-away, running
// requests finished, store flushed), exits, and starts again, while the clients also send requests
// (through handshake + cancelPending; the servers answer with serveRequests on the same admission).
//
// Checked at the end:
// - server → client: each client sees, per server incarnation, [I, 1], [I, 2], … with no gap and
//   no repeat, incarnations one after the other, never back; and in all exactly as many frames as
//   the store accepted for its session (its `sent` in Redis once every server stopped);
// - client → server: every number a client sent was delivered to some server's application (the
//   servers log each delivery synchronously, so a SIGKILL loses no line that matters); a number
//   delivered more than once was delivered unflagged at most once: every later delivery carried
//   `redelivered` (counted, printed);
// - Redis without persistence: every server session copy ends with SessionStoreError and every
//   client with SessionLostError: nothing silent.
// - Rolling deploy: all of the above that holds through a cut, and every request settled exactly
//   once: answered (with its own number) or refused by a draining process (ServerDrainingError,
//   never run); none ambiguous, none left waiting, none timed out.
// Real time, real sockets; everything waits on events (IPC, exits, frames); the chaos timers and
// the run's budget are the only clocks. Every process and socket is closed at the end.
import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer, interval, tap, type Observable, type Subscription } from 'rxjs';
import {
  AllEndpointsFailedError,
  AmbiguousOutcomeError,
  cancelPending,
  EndpointSet,
  handshake,
  policy,
  reconnectWith,
  RemoteError,
  resumable,
  SessionLostError,
  type Link,
  type RequestLink,
  type TransportEvent,
} from 'rx-lifeline';
import { tcp } from 'rx-lifeline/node';
import { seededRandom } from 'rx-lifeline/testing';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round-robin-proxy.js';
import {
  parseDeliveries,
  stream,
  type Delivery,
  CLIENT_BASE,
  DEPLOY_LAYERS,
  type DownFrame,
  type UpAnswer,
  type ServerCommand,
  type ServerReport,
} from './chaos/store-parts.js';
import { bundleForNode } from './chaos/bundle.js';
import { conditions } from './chaos/conditions.js';

const SERVERS = 3;
const CLIENTS = Number(process.env.STORE_CHAOS_CLIENTS ?? 4);
/** How long the chaos lasts; then the streams stop and everything must arrive. */
const CHAOS_MS = Number(process.env.STORE_CHAOS_MS ?? 15_000);
/** A server process is killed this long after the previous kill's restart. */
const KILL_EVERY_MS: readonly [number, number] = [1_000, 2_000];
/** In the rolling deploy, the next process is drained this long after the previous one is back. */
const DRAIN_EVERY_MS = 1_000;
/** In the rolling deploy, each client sends a request this often (about 25 a second). */
const REQUEST_EVERY_MS = 40;
/** A run that has not finished after this long fails, naming its seed, instead of hanging. */
const BUDGET_MS = CHAOS_MS + 30_000;
const SEED = process.env.STORE_CHAOS_SEED === undefined ? 1 : Number(process.env.STORE_CHAOS_SEED);

interface Scenario {
  readonly dial: 'endpoint-set' | 'proxy';
  /** Kill a random server process every 1–2 s. */
  readonly kills: boolean;
  /** Kill and restart Redis once, halfway through. */
  readonly redisRestart: boolean;
  /** Redis keeps an append-only file (fsync always). */
  readonly persist: boolean;
  /** A rolling deploy: each process in turn drained and started again; the clients send requests. */
  readonly drains?: boolean;
}

/** One server process, from fork to reaped. */
interface Server {
  readonly incarnation: number;
  readonly child: ChildProcess;
  readonly closed: Promise<unknown>;
  port: number | undefined;
  quiet: Record<string, number> | undefined;
  /** Killed or stopped by the test: its exit is expected. */
  ending: boolean;
  /** Its drain completed (it exits next). */
  drained: boolean;
}

/** One client: its session stream and what it saw. */
interface Client {
  readonly index: number;
  subscription: Subscription | undefined;
  sender: Subscription | undefined;
  session: string | undefined;
  /** Numbers sent so far (1 … sent). */
  sent: number;
  /** Server frames received, in all (the application's: `[incarnation, k]`). */
  received: number;
  /** Session frames received, in all: the application's, and responses to requests. */
  frames: number;
  /** The incarnation whose frames come now, and the last count from it. */
  incarnation: number;
  k: number;
  /** Incarnations seen, in order. */
  seen: number[];
  /** Per incarnation, the last count received from it. */
  lastFrom: Map<number, number>;
  error: unknown;
  /** Rolling deploy: the requests sent, and what settled each (one entry per outcome). */
  requester: Subscription | undefined;
  requests: number;
  outcomes: Map<number, string[]>;
}

interface Figures {
  seed: number;
  kills: number;
  redisRestarts: number;
  serverProcesses: number;
  /** Session copies opened on server processes, and how they ended (`name/code` → count). */
  copies: number;
  endings: Record<string, number>;
  /** Client → server. */
  upSent: number;
  deliveries: number;
  redelivered: number;
  /** Numbers delivered more than once, and those delivered unflagged more than once (must be 0). */
  repeated: number;
  unflaggedRepeats: number;
  notDelivered: number;
  seqMismatch: number;
  /** Server → client. */
  downReceived: number;
  downStored: number;
  /** Sessions whose client received fewer or more frames than the store accepted. */
  downMismatch: string[];
  /** Takeovers seen by clients: frames from a new incarnation after another's. */
  handovers: number;
  clientErrors: Record<string, number>;
  proxy: { forwarded: number; refused: number } | undefined;
  /** Rolling deploy: processes drained, and requests by how they settled. */
  drains: number;
  requests: RequestFigures | undefined;
  ms: number;
}

interface RequestFigures {
  sent: number;
  /** Outcomes by kind: `answered`, `refused` (ServerDrainingError), `ambiguous`, or another error's name. */
  outcomes: Record<string, number>;
  /** Requests settled more than once, never settled, or answered with another request's number. */
  settledTwice: number;
  unsettled: number;
  wrongAnswers: number;
}

function bundleServer(dir: string): string {
  return bundleForNode('spec/session/chaos/store-server.ts', dir);
}

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

async function run(scenario: Scenario, seed: number, dir: string, servers: Server[]): Promise<Figures> {
  const random = seededRandom(seed);
  const started = performance.now();
  const script = bundleServer(dir);
  const timers: NodeJS.Timeout[] = [];
  const redis: RedisServer = await startRedis({ persist: scenario.persist });
  let proxy: RoundRobinProxy | undefined;
  const clients: Client[] = [];

  // Everything waits on `until(condition)`, re-checked whenever something happened (`changed`).
  const { until, changed, fail, problem } = conditions();
  const after = (ms: number) => {
    let due = false;
    timers.push(
      setTimeout(() => {
        due = true;
        changed();
      }, ms),
    );
    return until(() => due);
  };
  timers.push(setTimeout(() => fail(`no end after ${BUDGET_MS} ms`), BUDGET_MS));

  // The servers: SERVERS slots, each a port and the process currently on it.
  let incarnations = 0;
  const slots: Server[] = [];
  const copies: string[] = [];
  const endings: Record<string, number> = {};
  /** Client numbers delivered somewhere (live view; the logs are the record), and their sessions. */
  const delivered = new Set<number>();
  const onReport = (server: Server, report: ServerReport) => {
    switch (report.type) {
      case 'ready':
        server.port = report.port;
        break;
      case 'got':
        for (const [session, n] of report.deliveries) {
          delivered.add(n);
          const client = clients[Math.floor(n / CLIENT_BASE)];
          if (client) client.session ??= session;
        }
        break;
      case 'opened':
        copies.push(report.session);
        break;
      case 'ended': {
        const key = report.code === undefined ? report.name : `${report.name}/${report.code}`;
        endings[key] = (endings[key] ?? 0) + 1;
        break;
      }
      case 'quiet':
        server.quiet = report.sent;
        break;
      case 'drained':
        server.drained = true;
        break;
      case 'problem':
        return fail(`server ${server.incarnation}: ${report.what}`);
    }
    changed();
  };
  const logOf = (incarnation: number) => join(dir, `server-${incarnation}.log`);
  const start = async (port: number): Promise<Server> => {
    const incarnation = incarnations++;
    const mode = scenario.drains ? 'deploy' : 'plain';
    const args = [String(port), redis.socket, String(incarnation), logOf(incarnation), mode];
    const child = fork(script, args, { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const server: Server = {
      incarnation,
      child,
      closed: once(child, 'close'),
      port: undefined,
      quiet: undefined,
      ending: false,
      drained: false,
    };
    servers.push(server);
    child.on('message', (report: ServerReport) => onReport(server, report));
    child.on('exit', (code, signal) => {
      if (!server.ending) fail(`server ${incarnation} exited by itself (${code}, ${signal})`);
      else if (server.drained && code !== 0)
        fail(`server ${incarnation} exited with ${code} after its drain`);
      changed();
    });
    child.on('error', (error) => fail(`server ${incarnation}: ${error.message}`));
    await until(() => server.port !== undefined);
    return server;
  };

  // The clients.
  const retry = policy
    .constant(20)
    .classify({ transient: (error) => (AllEndpointsFailedError.is(error) ? true : undefined) });
  const clientErrors: Record<string, number> = {};
  let handovers = 0;
  const onFrame = (client: Client, [incarnation, k]: DownFrame) => {
    const name = `client ${client.index}`;
    client.received++;
    if (incarnation === client.incarnation) {
      if (k !== client.k + 1)
        return fail(`${name} got [${incarnation}, ${k}] after [${incarnation}, ${client.k}]`);
    } else {
      if (client.seen.includes(incarnation)) {
        return fail(
          `${name} got [${incarnation}, ${k}] after frames of ${client.incarnation}: back to an earlier server`,
        );
      }
      if (k !== 1)
        return fail(`${name} got [${incarnation}, ${k}] as the first frame of ${incarnation}: a gap`);
      if (client.seen.length > 0) handovers++;
      client.seen.push(incarnation);
      client.incarnation = incarnation;
    }
    client.k = k;
    client.lastFrom.set(incarnation, k);
  };
  const dialer = (index: number): Observable<TransportEvent<unknown, unknown>> => {
    if (proxy) return tcp({ port: proxy.port });
    const set = new EndpointSet({
      endpoints: slots.map((slot, i) => ({ id: `server-${i}`, cost: 1, value: slot.port! })),
      breaker: { openFor: 200 },
      random: seededRandom(seed * 100 + index),
    });
    // In the deploy, a draining process refuses the handshake: that endpoint counts as failed.
    const dial = (port: number) =>
      scenario.drains ? tcp({ port }).pipe(handshake({ layers: [...DEPLOY_LAYERS] })) : tcp({ port });
    return defer(() => set.use((endpoint) => dial(endpoint.value)));
  };
  /** Rolling deploy: a request every REQUEST_EVERY_MS, idempotent every other one; each outcome noted. */
  const startRequests = (client: Client, link: RequestLink<number>) =>
    interval(REQUEST_EVERY_MS).subscribe(() => {
      const n = ++client.requests;
      const outcomes: string[] = [];
      client.outcomes.set(n, outcomes);
      const settled = (outcome: string) => {
        outcomes.push(outcome);
        changed();
      };
      link.request<UpAnswer>({ n }, { idempotent: n % 2 === 0 }).subscribe({
        next: (answer) => settled(answer.n === n ? 'answered' : `wrong answer ${answer.n}`),
        error: (error: unknown) => {
          if (RemoteError.is(error) && error.remoteName === 'ServerDrainingError') settled('refused');
          else if (AmbiguousOutcomeError.is(error)) settled('ambiguous');
          else settled(describeError(error));
        },
      });
    });
  const startClient = (index: number): Client => {
    const client: Client = {
      index,
      subscription: undefined,
      sender: undefined,
      session: undefined,
      sent: 0,
      received: 0,
      frames: 0,
      incarnation: -1,
      k: 0,
      seen: [],
      lastFrom: new Map(),
      error: undefined,
      requester: undefined,
      requests: 0,
      outcomes: new Map(),
    };
    clients.push(client);
    const countFrames = tap((event: { readonly type: string }) => {
      if (event.type === 'frame') client.frames++;
    });
    const session$ = dialer(index).pipe(reconnectWith(retry), resumable<DownFrame, number>(), countFrames);
    const events$ = (
      scenario.drains ? session$.pipe(cancelPending<DownFrame, number>({ timeout: 20_000 })) : session$
    ) as Observable<TransportEvent<DownFrame, number>>;
    client.subscription = events$.subscribe({
      next: (event) => {
        if (event.type === 'connected' && !client.sender) {
          client.sender = stream(event.link as Link<number>, () => index * CLIENT_BASE + ++client.sent);
          if (scenario.drains) client.requester = startRequests(client, event.link as RequestLink<number>);
        } else if (event.type === 'frame') onFrame(client, event.frame as DownFrame);
        changed();
      },
      error: (error: unknown) => {
        client.sender?.unsubscribe();
        client.requester?.unsubscribe();
        client.error = error;
        const key = SessionLostError.is(error) ? `SessionLostError/${error.reason}` : describeError(error);
        clientErrors[key] = (clientErrors[key] ?? 0) + 1;
        if (!(scenario.redisRestart && !scenario.persist))
          fail(`client ${index} failed: ${describeError(error)}`);
        changed();
      },
      complete: () => fail(`client ${index}'s session completed`),
    });
    return client;
  };

  let kills = 0;
  let drains = 0;
  let redisRestarts = 0;
  let figures: Figures | undefined;
  try {
    for (let i = 0; i < SERVERS; i++) slots.push(await start(0));
    if (scenario.dial === 'proxy') proxy = await startRoundRobinProxy(slots.map((slot) => slot.port!));
    for (let i = 0; i < CLIENTS; i++) startClient(i);

    // The chaos.
    const chaosEnds = performance.now() + CHAOS_MS;
    if (scenario.drains) {
      // A rolling deploy: each process in turn drains, exits once drained, and starts again on its
      // port; the next one drains a second after it is back.
      while (performance.now() + DRAIN_EVERY_MS < chaosEnds) {
        await after(DRAIN_EVERY_MS);
        const index = drains % SERVERS;
        const victim = slots[index]!;
        victim.ending = true;
        victim.child.send({ type: 'drain' } satisfies ServerCommand);
        await until(() => victim.drained);
        await victim.closed;
        slots[index] = await start(victim.port!);
        drains++;
      }
      await after(Math.max(0, chaosEnds - performance.now()));
    } else if (scenario.kills) {
      // A kill every 1–2 s, of a process that is up; its restart (a second or two on a busy
      // machine) goes on meanwhile, so two may be down at once.
      const restarts: Promise<void>[] = [];
      let down = 0;
      for (;;) {
        const [low, high] = KILL_EVERY_MS;
        const wait = low + Math.floor(random() * (high - low + 1));
        if (performance.now() + wait > chaosEnds) break;
        await after(wait);
        await until(() => down < SERVERS - 1);
        const up = slots.flatMap((slot, index) => (slot.ending ? [] : [index]));
        const index = up[Math.floor(random() * up.length)]!;
        const victim = slots[index]!;
        victim.ending = true;
        victim.child.kill('SIGKILL');
        kills++;
        down++;
        const restart = async () => {
          await victim.closed;
          slots[index] = await start(victim.port!);
          down--;
          changed();
        };
        // A failed restart has set `problem`, which the next wait throws.
        restarts.push(restart().catch(() => undefined));
      }
      await Promise.all(restarts);
      await after(Math.max(0, chaosEnds - performance.now()));
    } else {
      await after(CHAOS_MS / 2);
      if (scenario.redisRestart) {
        await redis.restart();
        redisRestarts++;
      }
      if (scenario.redisRestart && !scenario.persist) {
        // Every session is gone: each client must hear it, and each server copy end, typed.
        await until(
          () =>
            clients.every((client) => client.error !== undefined) &&
            Object.values(endings).reduce((a, b) => a + b, 0) === copies.length,
        );
      } else await after(CHAOS_MS / 2);
    }

    // Quiet: the streams stop; everything sent must arrive, every request must settle.
    for (const client of clients) {
      client.sender?.unsubscribe();
      client.requester?.unsubscribe();
    }
    await until(() =>
      clients.every((client) => [...client.outcomes.values()].every((outcomes) => outcomes.length > 0)),
    );
    for (const slot of slots) slot.child.send({ type: 'quiet' } satisfies ServerCommand);
    await until(() => slots.every((slot) => slot.quiet !== undefined));
    const live = clients.filter((client) => client.error === undefined);
    await until(() =>
      live.every((client) => {
        for (let k = 1; k <= client.sent; k++)
          if (!delivered.has(client.index * CLIENT_BASE + k)) return false;
        return slots.every((slot) => {
          const sent = client.session === undefined ? 0 : (slot.quiet![client.session] ?? 0);
          return sent === 0 || client.lastFrom.get(slot.incarnation) === sent;
        });
      }),
    );
  } finally {
    timers.forEach(clearTimeout);
    for (const slot of slots) {
      if (slot.child.exitCode !== null || slot.child.signalCode !== null) continue;
      slot.ending = true;
      slot.child.send({ type: 'stop' } satisfies ServerCommand);
    }
    await Promise.all(slots.map((slot) => slot.closed));
    for (const client of clients) {
      client.sender?.unsubscribe();
      client.requester?.unsubscribe();
      client.subscription?.unsubscribe();
    }
    await proxy?.close();
    try {
      if (!problem()) figures = await tally();
    } finally {
      await redis.stop();
    }
  }
  const failed = problem();
  if (failed) throw failed;
  return figures!;

  /** Reads every server's delivery log and the store's counts; all servers have exited. */
  async function tally(): Promise<Figures> {
    const deliveries: Delivery[] = servers.flatMap((server) =>
      parseDeliveries(readFileSync(logOf(server.incarnation), { encoding: 'utf8', flag: 'a+' })),
    );
    const times = new Map<number, { all: number; unflagged: number; sessions: Set<string> }>();
    // A number's seq is its own (plain), or, with requests between the numbers (deploy), the same at
    // every delivery and rising with the number.
    const seqOf = new Map<number, number>();
    let seqMismatch = 0;
    for (const { n, seq, redelivered, session } of deliveries) {
      if (scenario.drains ? (seqOf.get(n) ?? seq) !== seq : seq !== n % CLIENT_BASE) seqMismatch++;
      seqOf.set(n, seq);
      const entry = times.get(n) ?? { all: 0, unflagged: 0, sessions: new Set() };
      entry.all++;
      if (!redelivered) entry.unflagged++;
      entry.sessions.add(session);
      times.set(n, entry);
    }
    const numbers = [...seqOf.keys()].sort((x, y) => x - y);
    numbers.forEach((n, i) => {
      const before = numbers[i - 1];
      const sameClient =
        before !== undefined && Math.floor(before / CLIENT_BASE) === Math.floor(n / CLIENT_BASE);
      if (sameClient && seqOf.get(before)! >= seqOf.get(n)!) seqMismatch++;
    });
    let notDelivered = 0;
    let upSent = 0;
    const downMismatch: string[] = [];
    let downStored = 0;
    for (const client of clients) {
      upSent += client.sent;
      if (client.error !== undefined) continue;
      for (let k = 1; k <= client.sent; k++) if (!times.has(client.index * CLIENT_BASE + k)) notDelivered++;
      const stored = Number(await redis.redis.hget(`lifeline:{${client.session}}:s`, 'sent'));
      downStored += stored;
      if (stored !== client.frames) {
        downMismatch.push(`client ${client.index}: received ${client.frames}, the store accepted ${stored}`);
      }
    }
    const entries = [...times.values()];
    const downReceived = clients.reduce((sum, client) => sum + client.frames, 0);
    const mixed = entries.filter((entry) => entry.sessions.size > 1).length;
    if (mixed > 0) downMismatch.push(`${mixed} client numbers delivered on two sessions`);
    return {
      seed,
      kills,
      redisRestarts,
      serverProcesses: servers.length,
      copies: copies.length,
      endings,
      upSent,
      deliveries: deliveries.length,
      redelivered: deliveries.filter((d) => d.redelivered).length,
      repeated: entries.filter((entry) => entry.all > 1).length,
      unflaggedRepeats: entries.filter((entry) => entry.unflagged > 1).length,
      notDelivered,
      seqMismatch,
      downReceived,
      downStored,
      downMismatch,
      handovers,
      clientErrors,
      proxy: proxy ? { ...proxy.counts } : undefined,
      drains,
      requests: scenario.drains ? requestFigures(clients) : undefined,
      ms: performance.now() - started,
    };
  }
}

function requestFigures(clients: readonly Client[]): RequestFigures {
  const figures: RequestFigures = { sent: 0, outcomes: {}, settledTwice: 0, unsettled: 0, wrongAnswers: 0 };
  for (const client of clients) {
    figures.sent += client.requests;
    for (const outcomes of client.outcomes.values()) {
      if (outcomes.length === 0) figures.unsettled++;
      if (outcomes.length > 1) figures.settledTwice++;
      for (const outcome of outcomes) {
        if (outcome.startsWith('wrong answer')) figures.wrongAnswers++;
        figures.outcomes[outcome] = (figures.outcomes[outcome] ?? 0) + 1;
      }
    }
  }
  return figures;
}

function print(label: string, f: Figures): void {
  const endings =
    Object.entries(f.endings)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'none';
  const errors =
    Object.entries(f.clientErrors)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'none';
  console.log(
    `      ${label}, seed ${f.seed}: ${Math.round(f.ms)} ms, ${f.kills} server kills, ${f.redisRestarts} Redis restarts, ${f.serverProcesses} server processes, ${f.copies} session copies (ended: ${endings})\n` +
      `        client → server: ${f.upSent} sent, ${f.deliveries} deliveries, ${f.redelivered} flagged redelivered, ${f.repeated} numbers delivered twice or more, ${f.unflaggedRepeats} of them unflagged twice, ${f.notDelivered} never delivered, ${f.seqMismatch} seq mismatches\n` +
      `        server → client: ${f.downReceived} received, ${f.downStored} accepted by the store, ${f.handovers} handovers to another process; client errors: ${errors}` +
      (f.proxy ? `; proxy: ${f.proxy.forwarded} connections forwarded, ${f.proxy.refused} refused` : '') +
      (f.requests
        ? `\n        ${f.drains} drains; requests: ${f.requests.sent} sent, settled ${JSON.stringify(f.requests.outcomes)}, ${f.requests.settledTwice} settled twice, ${f.requests.unsettled} never settled, ${f.requests.wrongAnswers} wrong answers`
        : ''),
  );
}

describe('acceptSessions over redisSessionStore, three server processes (real time, real sockets, real Redis)', function () {
  this.timeout(BUDGET_MS + 20_000);
  let dir = '';
  const servers: Server[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lifeline-store-chaos-'))));
  afterEach(async () => {
    for (const { child } of servers) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await Promise.all(servers.map(({ closed }) => closed));
    servers.length = 0;
    rmSync(dir, { recursive: true, force: true });
  });

  const attempt = async (label: string, scenario: Scenario): Promise<Figures> => {
    const hint = `${label}, seed ${SEED} (replay with STORE_CHAOS_SEED=${SEED})`;
    let figures: Figures;
    try {
      figures = await run(scenario, SEED, dir, servers);
    } catch (error) {
      throw new Error(`${hint}: ${String(error)}`, { cause: error });
    }
    print(label, figures);
    return figures;
  };

  const expectNothingLost = (f: Figures, hint: string) => {
    expect(f.notDelivered, `${hint}: client numbers never delivered`).to.equal(0);
    expect(f.unflaggedRepeats, `${hint}: numbers delivered twice without the flag`).to.equal(0);
    expect(f.seqMismatch, `${hint}: deliveries whose seq is not the client's`).to.equal(0);
    expect(f.downMismatch, hint).to.deep.equal([]);
    expect(f.downReceived, hint).to.equal(f.downStored);
    expect(f.clientErrors, hint).to.deep.equal({});
  };

  for (const dial of ['endpoint-set', 'proxy'] as const) {
    const label = `server kills, clients through ${dial === 'proxy' ? 'a round-robin proxy' : 'an EndpointSet'}`;
    it(`${label}: a server process SIGKILLed every 1–2 s; downstream exactly once and in order, upstream all delivered, repeats flagged (seed ${SEED})`, async () => {
      const f = await attempt(label, { dial, kills: true, redisRestart: false, persist: false });
      const hint = `${label}, seed ${SEED}`;
      expectNothingLost(f, hint);
      // A kill every 1–2 s, each restart taking up to 3 s on a loaded machine: at least a few.
      expect(f.kills, hint).to.be.at.least(3);
      expect(f.handovers, `${hint}: sessions that moved to another process`).to.be.at.least(1);
    });
  }

  it(`rolling deploy: each process in turn drained, exited and started again while clients stream both ways with requests; nothing lost, every request settled once (seed ${SEED})`, async () => {
    const label = 'rolling deploy';
    const f = await attempt(label, {
      dial: 'endpoint-set',
      kills: false,
      redisRestart: false,
      persist: false,
      drains: true,
    });
    const hint = `${label}, seed ${SEED}`;
    expectNothingLost(f, hint);
    expect(f.drains, `${hint}: processes drained`).to.be.at.least(SERVERS);
    expect(f.handovers, `${hint}: sessions that moved to another process`).to.be.at.least(1);
    const requests = f.requests!;
    expect(requests.settledTwice, hint).to.equal(0);
    expect(requests.unsettled, hint).to.equal(0);
    expect(requests.wrongAnswers, hint).to.equal(0);
    expect(requests.outcomes['answered'], hint).to.be.above(0);
    // Nothing but answers and refusals by a draining process: no ambiguity (an answer or refusal
    // not yet out when the client left is replayed by the next process before the client settles
    // what the drained one took), no timeout, no lost session.
    for (const kind of Object.keys(requests.outcomes)) {
      expect(['answered', 'refused'], `${hint}: ${kind}`).to.include(kind);
    }
  });

  it(`Redis SIGKILLed mid-stream and restarted with its append-only file: sessions go on, nothing lost (seed ${SEED})`, async () => {
    const label = 'Redis restart, persistent';
    const f = await attempt(label, { dial: 'endpoint-set', kills: false, redisRestart: true, persist: true });
    expectNothingLost(f, `${label}, seed ${SEED}`);
  });

  it(`Redis SIGKILLed mid-stream and restarted without persistence: every session ends typed, on both sides (seed ${SEED})`, async () => {
    const label = 'Redis restart, not persistent';
    const f = await attempt(label, {
      dial: 'endpoint-set',
      kills: false,
      redisRestart: true,
      persist: false,
    });
    const hint = `${label}, seed ${SEED}`;
    expect(f.clientErrors, hint).to.deep.equal({ 'SessionLostError/unknown-session': CLIENTS });
    const copiesEnded = Object.values(f.endings).reduce((a, b) => a + b, 0);
    expect(copiesEnded, `${hint}: server session copies ended`).to.equal(f.copies);
    for (const key of Object.keys(f.endings)) expect(key, hint).to.match(/^SessionStoreError\//);
  });
});
