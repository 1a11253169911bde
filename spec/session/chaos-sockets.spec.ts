// The chaos test over real sockets, client and server in separate processes: a resumable session
// (heartbeat + reconnectWith + resumable + cancelPending on the client, acceptSessions over
// heartbeat + serveRequests on the server, in a child process: chaos/server.ts) carries frames both
// ways and requests (mixed idempotent and not) through a TCP proxy whose fault injector cuts the
// connection every 20–100 ms, at random moments and at random byte offsets, resetting one side and
// closing the other. Both ends send as fast as send()/drain$ allow, steadily or in one burst. Every
// frame must arrive exactly once, in order; every request must succeed exactly once, its handler
// run exactly once. Real time, real sockets; everything waits on events (the injector's timer is the
// only clock).
import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { asyncScheduler, type Subscription } from 'rxjs';
import { WebSocket } from 'ws';
import {
  cancelPending,
  handshake,
  heartbeat,
  policy,
  reconnectWith,
  resumable,
  websocket,
  type RequestLink,
  type Transport,
} from 'rx-lifeline';
import { tcp } from 'rx-lifeline/node';
import { seededRandom } from 'rx-lifeline/testing';
import { cutPair, startProxy, type Side } from '../support/tcp-proxy.js';
import {
  FRAMES,
  CREDENTIALS,
  HEARTBEAT,
  LAYERS,
  MODES,
  pump,
  Receiver,
  REQUESTS,
  type Frame,
  type Received,
} from './chaos/parts.js';
import type { ServerReport } from './chaos/server.js';

/** Requests in flight at a time. */
const IN_FLIGHT = 100;
/** A run that has not finished after this long fails, naming its seed, instead of hanging. */
const BUDGET_MS = 60_000;

/**
 * Issues requests 0 … REQUESTS−1, `IN_FLIGHT` at a time, and checks each settles exactly once with
 * the right value. The server answers `n` with `2n`, as a value or (every third) a Promise.
 */
class Requester {
  issued = 0;
  succeeded = 0;
  idempotent = 0;
  /** Settlements per request: each must end at exactly 1. */
  readonly outcomes = new Uint8Array(REQUESTS);
  firstProblem: string | undefined;

  constructor(
    private readonly link: RequestLink<Frame>,
    private readonly random: () => number,
    private readonly stopped: () => boolean,
    private readonly onSettled: () => void,
  ) {}

  get done(): boolean {
    return this.succeeded >= REQUESTS;
  }

  /** Tops the requests in flight up to IN_FLIGHT. */
  fill(): void {
    while (this.issued < REQUESTS && this.issued - this.settledCount() < IN_FLIGHT) this.issue(this.issued++);
  }

  private settledCount(): number {
    return this.succeeded + (this.firstProblem === undefined ? 0 : 1);
  }

  private issue(n: number): void {
    const idempotent = this.random() < 0.5;
    if (idempotent) this.idempotent++;
    let values = 0;
    const problem = (what: string) => {
      if (this.stopped()) return; // the teardown cancels what is left; that is not a failure
      this.firstProblem ??= `request ${n} (${idempotent ? 'idempotent' : 'not idempotent'}): ${what}`;
      this.onSettled();
    };
    this.link.request<number>(n, { idempotent }).subscribe({
      next: (value) => {
        values++;
        if (value !== 2 * n) problem(`answered ${value}, not ${2 * n}`);
      },
      error: (error: Error) => {
        this.outcomes[n]!++;
        problem(`failed with ${error.name}: ${error.message}`);
      },
      complete: () => {
        this.outcomes[n]!++;
        if (values !== 1) return problem(`completed after ${values} values`);
        this.succeeded++;
        this.onSettled();
        if (!this.stopped()) this.fill();
      },
    });
  }
}

interface Setup {
  name: string;
  transport: 'tcp' | 'websocket';
  client: (port: number) => Transport<unknown, unknown>;
}

const SETUPS: Setup[] = [
  { name: 'TCP', transport: 'tcp', client: (port) => tcp({ port }) },
  {
    name: 'WebSocket',
    transport: 'websocket',
    client: (port) => websocket({ url: `ws://127.0.0.1:${port}`, WebSocket }),
  },
];

/** The server process: started, listening, and reporting. */
class ServerProcess {
  upDone = false;
  problem: string | undefined;
  private final: Extract<ServerReport, { type: 'final' }> | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    onChange: () => void,
  ) {
    child.on('message', (message: ServerReport) => {
      if (message.type === 'up-done') this.upDone = true;
      else if (message.type === 'problem') this.problem ??= `server: ${message.what}`;
      else if (message.type === 'final') this.final = message;
      onChange();
    });
  }

  static async start(setup: Setup, burst: number, maxFrames: number | undefined, onChange: () => void) {
    const child = fork(
      'spec/session/chaos/server.ts',
      [setup.transport, String(burst), String(maxFrames ?? 'default')],
      {
        execArgv: ['--import', 'tsx'],
      },
    );
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`the server process exited with ${String(code)} before listening`);
    });
    const [ready] = (await Promise.race([once(child, 'message'), exited])) as [ServerReport];
    if (ready.type !== 'ready') throw new Error(`the server process said ${JSON.stringify(ready)} first`);
    return new ServerProcess(child, ready.port, onChange);
  }

  /** Asks for the final counts; resolves once the process has exited by itself (teardown is total). */
  async stop(): Promise<{ final: Extract<ServerReport, { type: 'final' }>; code: number | null }> {
    const exited = once(this.child, 'exit') as Promise<[number | null]>;
    this.child.send({ type: 'stop' });
    const [code] = await exited;
    if (!this.final) throw new Error(`the server process exited with ${code} without its final counts`);
    return { final: this.final, code };
  }
}

interface Result {
  up: Received;
  down: Receiver;
  requests: Requester;
  /** Requests whose handler did not run exactly once (counted by the server). */
  callsNotOnce: number;
  firstCallProblem: string | undefined;
  serverExit: number | null;
  cuts: number;
  midChunk: number;
  /** Requests in flight at the cuts, summed: the cuts really hit pending requests. */
  requestsAtCuts: number;
  resumes: number;
  sessions: number;
  ms: number;
}

async function chaos(
  setup: Setup,
  seed: number,
  { burst, maxFrames, minCuts }: { burst: number; maxFrames: number | undefined; minCuts: number },
): Promise<Result> {
  const caps = maxFrames === undefined ? {} : { maxFrames };
  const random = seededRandom(seed);
  const subscriptions: Subscription[] = [];
  let requests: Requester | undefined;
  const down = new Receiver('server → client');
  let stopped = false;
  let cuts = 0;
  let midChunk = 0;
  let requestsAtCuts = 0;
  let resumes = 0;
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
  // Called on the server's reports and on the client's progress; the server reports only after
  // `start` resolved, so `server` is set by then. A run that moved everything before `minCuts` cuts
  // (a fast machine) goes on idle, still cut, until the session resumed across that many.
  const check = () => {
    const problem = server.problem ?? requests?.firstProblem;
    if (problem) settle(new Error(problem));
    else if (server.upDone && down.done && requests?.done && cuts >= minCuts && resumes >= minCuts) settle();
  };
  const server = await ServerProcess.start(setup, burst, maxFrames, () => check());
  const proxy = await startProxy(server.port);

  // The client: the full stack, dialling the proxy.
  const delay = 1 + Math.floor(random() * 5);
  subscriptions.push(
    setup
      .client(proxy.port)
      .pipe(
        handshake({ layers: LAYERS, credentials: CREDENTIALS }),
        heartbeat(HEARTBEAT),
        reconnectWith(policy.constant(delay)),
        resumable<unknown>({ ackInterval: 20, ...caps }),
        cancelPending<Frame>(),
      )
      .subscribe({
        next: (event) => {
          if (event.type === 'request-link') {
            // Usable at once: requests queue until the session is up.
            requests = new Requester(event.link, seededRandom(seed + 1_000), () => stopped, check);
            requests.fill();
          } else if (event.type === 'connected') {
            // Chaos starts once the session exists: a cut before the first welcome is a new session.
            subscriptions.push(asyncScheduler.schedule(inject, 20 + Math.floor(random() * 81)));
            void pump(event.link, () => stopped, burst).catch(settle);
          } else if (event.type === 'frame') {
            down.take(event.frame);
            check();
          } else if (event.type === 'resumed') {
            resumes++;
            check();
          }
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
      if (requests) requestsAtCuts += requests.issued - requests.succeeded;
      if (roll < 0.5) cutPair(pair, reset);
      else {
        midChunk++;
        pair.midChunk = { towards: random() < 0.5 ? 'client' : 'server', offset, reset };
      }
    }
    subscriptions.push(asyncScheduler.schedule(inject, 20 + Math.floor(random() * 81)));
  };

  let ended: Awaited<ReturnType<ServerProcess['stop']>>;
  try {
    await finished;
  } finally {
    stopped = true;
    for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
    ended = await server.stop();
    await proxy.close();
  }
  const ms = performance.now() - started;
  const { final, code } = ended;
  return {
    up: final.up,
    down,
    requests: requests!,
    callsNotOnce: final.callsNotOnce,
    firstCallProblem: final.firstCallProblem,
    serverExit: code,
    cuts,
    midChunk,
    requestsAtCuts,
    resumes,
    sessions: final.sessions,
    ms,
  };
}

describe('resumable chaos over real sockets, server in its own process (real time, a cutting proxy)', () => {
  const replay = process.env.CHAOS_SEED === undefined ? undefined : Number(process.env.CHAOS_SEED);
  MODES.forEach(({ mode, ...options }, m) =>
    SETUPS.forEach((setup, index) => {
      const seed = replay ?? m * SETUPS.length + index + 1;
      it(`${setup.name}, ${mode}both ends honouring send()/drain$: ${FRAMES} frames each way arrive exactly once and in order, ${REQUESTS} requests succeed exactly once, through cuts every 20–100 ms (seed ${seed})`, async function () {
        this.timeout(BUDGET_MS + 10_000);
        const replayHint = `chaos seed ${seed} (replay with CHAOS_SEED=${seed})`;
        let result: Result;
        try {
          result = await chaos(setup, seed, options);
        } catch (error) {
          throw new Error(`${replayHint}: ${String(error)}`, { cause: error });
        }
        const {
          up,
          down,
          requests,
          callsNotOnce,
          firstCallProblem,
          serverExit,
          cuts,
          midChunk,
          requestsAtCuts,
          resumes,
          sessions,
          ms,
        } = result;
        console.log(
          `      ${setup.name} seed ${seed}: ${Math.round(ms)} ms, ${cuts} cuts (${midChunk} mid-chunk), ${resumes} resumes, ${requests.idempotent} of ${REQUESTS} requests idempotent, ${requestsAtCuts} in flight at cuts`,
        );
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
        // Every request succeeded, settled once, and its handler ran once: none was resent, none
        // was ambiguous, idempotent or not, since the session carried each exactly once.
        expect(requests.firstProblem, replayHint).to.equal(undefined);
        expect(requests.succeeded, replayHint).to.equal(REQUESTS);
        const onceEach = (counts: Uint8Array) => counts.every((count) => count === 1);
        expect(onceEach(requests.outcomes), `${replayHint}: each request settles once`).to.equal(true);
        expect({ callsNotOnce, firstCallProblem }, `${replayHint}: each handler runs once`).to.deep.equal({
          callsNotOnce: 0,
          firstCallProblem: undefined,
        });
        // The server process ended by itself once everything was unsubscribed.
        expect(serverExit, `${replayHint}: the server process's exit code`).to.equal(0);
        expect(requests.idempotent, replayHint).to.be.within(REQUESTS * 0.4, REQUESTS * 0.6);
        expect(requestsAtCuts, `${replayHint}: requests in flight at cuts`).to.be.above(0);
        // The injector really cut live connections, and the session really resumed across them.
        expect(cuts, `${replayHint}: cuts`).to.be.at.least(options.minCuts);
        expect(resumes, `${replayHint}: resumes`).to.be.at.least(options.minCuts);
      });
    }),
  );
});
