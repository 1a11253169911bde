// The chaos test over real sockets: a resumable session (heartbeat + reconnectWith + resumable on the
// client, acceptSessions over heartbeat on the server) carries frames both ways through a TCP proxy
// whose fault injector cuts the connection every 20–100 ms, at random moments and at random byte
// offsets, resetting one side and closing the other. Every frame must arrive exactly once, in order.
// Real time, real sockets; everything waits on events (the injector's timer is the only clock).
import { expect } from 'chai';
import net from 'node:net';
import { asyncScheduler, map, type Observable, type Subscription } from 'rxjs';
import { WebSocket } from 'ws';
import {
  acceptSessions,
  heartbeat,
  policy,
  reconnectWith,
  resumable,
  websocket,
  type Link,
  type ServerEvent,
  type ServerSession,
  type Transport,
} from 'lifeline';
import { tcp, tcpServer, websocketServer } from 'lifeline/node';
import { seededRandom } from 'lifeline/testing';

/**
 * Frames each way: the 100,000. They take 1–2 s per transport on this 2-core machine (at
 * most 5 s over 40 seeds), so 15–60 cuts per run; `CHAOS_FRAMES` runs longer soaks.
 */
const FRAMES = Number(process.env.CHAOS_FRAMES ?? 100_000);
/** Frames sent per event-loop turn while the session link accepts them. */
const BURST = 250;
/** A run that has not finished after this long fails, naming its seed, instead of hanging. */
const BUDGET_MS = 60_000;
const HEARTBEAT = { interval: 250, timeout: 2_000 } as const;

/** Frame `n`: its number, and every 16th one padded so frames and chunks split in varied places. */
type Frame = readonly [number, string];
const frame = (n: number): Frame => [n, n % 16 === 0 ? 'x'.repeat(n % 1021) : ''];

// ---------------------------------------------------------------------------------------------
// The fault injector: a TCP proxy between client and server that can cut a connection pair.

type Side = 'client' | 'server';

interface Pair {
  readonly client: net.Socket;
  readonly server: net.Socket;
  /** Cut when the next chunk flowing towards `towards` has been forwarded up to `offset` bytes. */
  midChunk: { towards: Side; offset: number; reset: Side } | undefined;
  /** Nothing more is forwarded (a cut is done or under way). */
  halted: boolean;
}

interface ChaosProxy {
  readonly port: number;
  /** Pairs currently forwarding. */
  readonly pairs: ReadonlySet<Pair>;
  close(): Promise<void>;
}

/**
 * Cuts `pair`: the `reset` side's socket gets an RST (`resetAndDestroy`), the other a FIN
 * (`destroy`), so one peer sees a reset and the other a close, possibly inside a frame.
 */
function cutPair(pair: Pair, reset: Side | undefined): void {
  pair.halted = true;
  const [hard, soft] = reset === 'client' ? [pair.client, pair.server] : [pair.server, pair.client];
  if (reset === undefined || hard.connecting || hard.destroyed) hard.destroy();
  else hard.resetAndDestroy();
  soft.destroy();
}

async function startProxy(target: number): Promise<ChaosProxy> {
  const pairs = new Set<Pair>();
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Resets are the point of this proxy: an 'error' is expected, and ends the pair below.
    socket.on('error', () => undefined);
  };
  const forward = (pair: Pair, from: net.Socket, to: net.Socket, towards: Side) => {
    from.on('data', (chunk: Buffer) => {
      if (pair.halted) return;
      const armed = pair.midChunk;
      if (armed?.towards === towards) {
        // Forward part of this chunk (often mid-frame), then cut once it left this process.
        pair.halted = true;
        to.write(chunk.subarray(0, Math.min(armed.offset, chunk.length - 1)), () =>
          cutPair(pair, armed.reset),
        );
        return;
      }
      to.write(chunk);
    });
    // One end went away by itself (a heartbeat timeout, a takeover): close the other end too.
    from.on('close', () => {
      pairs.delete(pair);
      cutPair(pair, undefined);
    });
  };
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
    track(client);
    const upstream = net.connect({ port: target, host: '127.0.0.1', noDelay: true });
    track(upstream);
    const pair: Pair = { client, server: upstream, midChunk: undefined, halted: false };
    pairs.add(pair);
    forward(pair, client, upstream, 'server');
    forward(pair, upstream, client, 'client');
    upstream.once('connect', () => client.resume());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    pairs,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The two ends.

/** Checks one direction's frames as they arrive: exactly once, in order. */
class Receiver {
  next = 0;
  duplicated = 0;
  lost = 0;
  firstProblem: string | undefined;

  constructor(private readonly direction: string) {}

  take(received: Frame): void {
    const [n] = received;
    if (n === this.next) this.next++;
    else if (n < this.next) {
      this.duplicated++;
      this.firstProblem ??= `${this.direction}: frame ${n} again after ${this.next - 1}`;
    } else {
      this.lost += n - this.next;
      this.firstProblem ??= `${this.direction}: frame ${n} after ${this.next - 1}, frames missing`;
      this.next = n + 1;
    }
  }

  get done(): boolean {
    return this.next >= FRAMES;
  }
}

/** Sends frames 0 … FRAMES−1 on a session link, a burst per turn, waiting for acks when it is full. */
async function pump(link: Link<Frame>, stopped: () => boolean): Promise<void> {
  for (let n = 0; n < FRAMES && !stopped();) {
    let ready = true;
    for (let i = 0; i < BURST && n < FRAMES; i++) ready = link.send(frame(n++));
    if (ready) await new Promise<void>((resolve) => setImmediate(resolve));
    else
      await new Promise<void>((resolve) => {
        // Offline or above the high-water mark: the next ack that frees space resumes us.
        const wait = link.drain$.subscribe({ next: () => done(), complete: () => done() });
        const done = () => {
          wait.unsubscribe();
          resolve();
        };
      });
  }
}

interface Setup {
  name: string;
  server: () => Observable<ServerEvent<unknown, unknown>>;
  client: (port: number) => Transport<unknown, unknown>;
}

const SETUPS: Setup[] = [
  { name: 'TCP', server: () => tcpServer({ port: 0 }), client: (port) => tcp({ port }) },
  {
    name: 'WebSocket',
    server: () => websocketServer({ port: 0 }),
    client: (port) => websocket({ url: `ws://127.0.0.1:${port}`, WebSocket }),
  },
];

interface Result {
  up: Receiver;
  down: Receiver;
  cuts: number;
  midChunk: number;
  resumes: number;
  sessions: number;
  ms: number;
}

async function chaos(setup: Setup, seed: number): Promise<Result> {
  const random = seededRandom(seed);
  const subscriptions: Subscription[] = [];
  const up = new Receiver('client → server');
  const down = new Receiver('server → client');
  let stopped = false;
  let cuts = 0;
  let midChunk = 0;
  let resumes = 0;
  let sessions = 0;
  const started = performance.now();

  let settle!: (error?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error) => {
      if (stopped) return;
      stopped = true;
      if (error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error(String(error)));
    };
  });
  const check = () => {
    if (up.done && down.done) settle();
  };

  // The server: each accepted connection through heartbeat, then grouped into sessions.
  let resolvePort!: (port: number) => void;
  const listening = new Promise<number>((resolve) => (resolvePort = resolve));
  const server$ = setup.server().pipe(
    map((event) => {
      if (event.type === 'listening') resolvePort(event.port);
      return event.type === 'connection'
        ? { ...event, connection: event.connection.pipe(heartbeat(HEARTBEAT)) }
        : event;
    }),
  );
  subscriptions.push(
    acceptSessions<Frame>(server$, { ackInterval: 20 }).subscribe({
      next: (session: ServerSession<Frame>) => {
        if (++sessions > 1) return settle(new Error('a second session started: the first one was lost'));
        subscriptions.push(
          session.events$.subscribe({
            next: (event) => {
              if (event.type === 'connected') void pump(event.link, () => stopped).catch(settle);
              else if (event.type === 'frame') {
                up.take(event.frame);
                check();
              }
            },
            error: settle,
          }),
        );
      },
      error: settle,
    }),
  );
  const proxy = await startProxy(await listening);

  // The client: the full stack, dialling the proxy.
  const delay = 1 + Math.floor(random() * 5);
  subscriptions.push(
    setup
      .client(proxy.port)
      .pipe(
        heartbeat(HEARTBEAT),
        reconnectWith(policy.constant(delay)),
        resumable<Frame>({ ackInterval: 20 }),
      )
      .subscribe({
        next: (event) => {
          if (event.type === 'connected') {
            // Chaos starts once the session exists: a cut before the first welcome is a new session.
            subscriptions.push(asyncScheduler.schedule(inject, 20 + Math.floor(random() * 81)));
            void pump(event.link, () => stopped).catch(settle);
          } else if (event.type === 'frame') {
            down.take(event.frame);
            check();
          } else if (event.type === 'resumed') resumes++;
        },
        error: settle,
        complete: () => settle(new Error('the client session completed')),
      }),
  );

  // The injector: every 20–100 ms, cut the live pair at once, or arm a cut inside the next chunk,
  // resetting the client's side and the server's side in turn.
  const inject = () => {
    if (stopped) return;
    if (performance.now() - started > BUDGET_MS) return settle(new Error(`no end after ${BUDGET_MS} ms`));
    const reset: Side = cuts % 2 === 0 ? 'server' : 'client';
    const roll = random();
    const offset = 1 + Math.floor(random() * 2048);
    for (const pair of proxy.pairs) {
      if (pair.halted) continue;
      cuts++;
      if (roll < 0.5) cutPair(pair, reset);
      else {
        midChunk++;
        pair.midChunk = { towards: random() < 0.5 ? 'client' : 'server', offset, reset };
      }
    }
    subscriptions.push(asyncScheduler.schedule(inject, 20 + Math.floor(random() * 81)));
  };

  try {
    await finished;
  } finally {
    stopped = true;
    for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
    await proxy.close();
  }
  return { up, down, cuts, midChunk, resumes, sessions, ms: performance.now() - started };
}

describe('resumable chaos over real sockets (real time, a cutting proxy)', () => {
  const replay = process.env.CHAOS_SEED === undefined ? undefined : Number(process.env.CHAOS_SEED);
  SETUPS.forEach((setup, index) => {
    const seed = replay ?? index + 1;
    it(`${setup.name}: ${FRAMES} frames each way arrive exactly once and in order through cuts every 20–100 ms (seed ${seed})`, async function () {
      this.timeout(BUDGET_MS + 10_000);
      const replayHint = `chaos seed ${seed} (replay with CHAOS_SEED=${seed})`;
      let result: Result;
      try {
        result = await chaos(setup, seed);
      } catch (error) {
        throw new Error(`${replayHint}: ${String(error)}`, { cause: error });
      }
      const { up, down, cuts, midChunk, resumes, sessions, ms } = result;
      if (process.env.CHAOS_VERBOSE) {
        console.log(
          `${setup.name} seed ${seed}: ${Math.round(ms)} ms, ${cuts} cuts (${midChunk} mid-chunk), ${resumes} resumes`,
        );
      }
      const problems = [up.firstProblem, down.firstProblem].filter(Boolean);
      if (problems.length > 0) expect.fail(`${replayHint}: ${problems.join('; ')}`);
      expect(
        { lost: up.lost + down.lost, duplicated: up.duplicated + down.duplicated },
        replayHint,
      ).to.deep.equal({
        lost: 0,
        duplicated: 0,
      });
      expect([up.next, down.next], replayHint).to.deep.equal([FRAMES, FRAMES]);
      expect(sessions, replayHint).to.equal(1);
      // The injector really cut live connections, and the session really resumed across them.
      expect(cuts, `${replayHint}: cuts`).to.be.at.least(10);
      expect(resumes, `${replayHint}: resumes`).to.be.at.least(10);
    });
  });
});
