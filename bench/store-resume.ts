// Resume on another process: sessions opened on server A (a forked process on a Redis session
// store) are resumed on server B (another forked process on the same Redis) after A is killed with
// SIGKILL. Each client dials B only when released, one at a time, so each figure is one resume
// alone: from the client's dial of B (its TCP connect) to its `resumed` event, which covers the
// connect, the hello, B's claim in Redis (token checked and rotated, epoch bumped, the session
// read), and the welcome. The baseline, in the same run: a new session on B, from the dial to
// `connected` (the hello, B's create in Redis, the welcome).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defer, Subject, switchMap, take, type Observable, type Subscription } from 'rxjs';
import { policy, reconnectWith, resumable } from 'rx-lifeline';
import { tcp } from 'rx-lifeline/node';
import { now } from './harness.js';
import { stopChild } from './redis-server.js';

const SERVER = fileURLToPath(new URL('./store-server.ts', import.meta.url));

/** Frames each session receives from A before A is killed. */
export const FRAMES_BEFORE_KILL = 10;

/** Resumes and new sessions measured, in ms, and the warm-up ones left out of both. */
export interface ResumeSample {
  resumes: number[];
  fresh: number[];
  warmUp: number;
}

interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
}

/** Forks bench/store-server.ts and resolves with the port it listens on. */
function startServer(redisSocket: string, frames: number): Promise<ServerProcess> {
  const child = fork(SERVER, [redisSocket, String(frames)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, port: (message as { port: number }).port }));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`store bench: a server process exited (${code ?? signal}) before it listened`)),
    );
  });
}

/** One client: first on A, then on B once released; each of its milestones as a promise. */
class MovingClient {
  /** When it dialled B. */
  dialedAt = 0;
  readonly received: Promise<void>;
  readonly disconnected: Promise<void>;
  readonly resumed: Promise<number>;
  private readonly release$ = new Subject<void>();
  private readonly subscription: Subscription;

  constructor(portA: number, portB: number, frames: number) {
    let dials = 0;
    const source = defer(() =>
      dials++ === 0
        ? tcp({ port: portA })
        : this.release$.pipe(
            take(1),
            switchMap(() => {
              this.dialedAt = now();
              return tcp({ port: portB });
            }),
          ),
    );
    const events$ = source.pipe(reconnectWith(policy.constant(0)), resumable<number>());
    let got = 0;
    const callbacks: { received: () => void; disconnected: () => void; resumed: (ms: number) => void } = {
      received: noop,
      disconnected: noop,
      resumed: noop,
    };
    let fail: (error: unknown) => void = noop;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(noop);
    const milestone = <T>(set: (resolve: (value: T) => void) => void) =>
      Promise.race([new Promise<T>((resolve) => set(resolve)), failed]);
    this.received = milestone<void>((r) => (callbacks.received = r));
    this.disconnected = milestone<void>((r) => (callbacks.disconnected = r));
    this.resumed = milestone<number>((r) => (callbacks.resumed = r));
    this.subscription = events$.subscribe({
      next: (event) => {
        if (event.type === 'frame' && ++got === frames) callbacks.received();
        else if (event.type === 'disconnected') callbacks.disconnected();
        else if (event.type === 'resumed') {
          const ms = now() - this.dialedAt;
          if (event.fresh) fail(new Error('store bench: B started a new session instead of resuming'));
          else callbacks.resumed(ms);
        }
      },
      error: fail,
    });
  }

  /** Dials B, and resolves with the ms from that dial to `resumed`. */
  resume(): Promise<number> {
    this.release$.next();
    return this.resumed;
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}

const noop = () => undefined;

/** Ms from the dial to `connected`, for one new session on `port`. */
async function openFresh(port: number, subs: Subscription[]): Promise<number> {
  const start = now();
  const events$: Observable<{ type: string }> = tcp({ port }).pipe(
    reconnectWith(policy.constant(0)),
    resumable(),
  );
  await new Promise<void>((resolve, reject) =>
    subs.push(events$.subscribe({ next: (e) => e.type === 'connected' && resolve(), error: reject })),
  );
  return now() - start;
}

/** `count` sessions opened on A, A killed, each resumed on B; `count` new sessions on B. */
export async function resumeOnAnotherProcess(
  redisSocket: string,
  count: number,
  warmUp = 5,
): Promise<ResumeSample> {
  const servers: ServerProcess[] = [];
  const clients: MovingClient[] = [];
  const subs: Subscription[] = [];
  try {
    const [a, b] = await Promise.all([
      startServer(redisSocket, FRAMES_BEFORE_KILL),
      startServer(redisSocket, 0),
    ]);
    servers.push(a, b);
    for (let i = 0; i < count + warmUp; i++)
      clients.push(new MovingClient(a.port, b.port, FRAMES_BEFORE_KILL));
    await Promise.all(clients.map((c) => c.received));
    await stopChild(a.child, 'SIGKILL');
    await Promise.all(clients.map((c) => c.disconnected));
    // Interleaved, so that both meet B equally warm.
    const fresh: number[] = [];
    const resumes: number[] = [];
    for (const client of clients) {
      fresh.push(await openFresh(b.port, subs));
      resumes.push(await client.resume());
    }
    return { resumes: resumes.slice(warmUp), fresh: fresh.slice(warmUp), warmUp };
  } finally {
    for (const client of clients) client.close();
    for (const sub of subs) sub.unsubscribe();
    for (const server of servers) await stopChild(server.child);
  }
}
