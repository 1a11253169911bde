// The main job: a resumable session over a bad network, on loopback. One process runs a server, a
// client with the full stack (handshake + heartbeat + reconnectWith + resumable) and, between them,
// a proxy whose fault injector cuts the connection at random moments (often inside a frame) and now
// and then stalls it without a FIN, which only the heartbeat can detect. Frames flow both ways the
// whole time; a progress line shows them, and the run ends with a summary. Exit code 0 means
// nothing was lost and nothing was duplicated.
// Run: npm start  (or: npx tsx examples/demo.ts --duration 10 --seed 7 --transport websocket)
import net from 'node:net';
import { asyncScheduler, map, type Subscription } from 'rxjs';
import { WebSocket } from 'ws';
import {
  acceptHandshake,
  acceptSessions,
  handshake,
  heartbeat,
  HeartbeatTimeoutError,
  policy,
  reconnectWith,
  resumable,
  websocket,
  type Link,
} from 'rx-lifeline';
import { tcp, tcpServer, websocketServer } from 'rx-lifeline/node';
import { seededRandom } from 'rx-lifeline/testing';

// ---------------------------------------------------------------------------------------------
// Flags.

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}
function usage(message: string): never {
  console.error(`${message}\nusage: demo.ts [--duration seconds] [--seed n] [--transport tcp|websocket]`);
  process.exit(2);
}
const duration = Number(flag('duration') ?? 10);
if (!(Number.isFinite(duration) && duration > 0)) usage('--duration must be a positive number of seconds');
const seed = Number(flag('seed') ?? Math.floor(Math.random() * 2 ** 31));
if (!Number.isSafeInteger(seed)) usage('--seed must be an integer');
const transport = flag('transport') ?? 'tcp';
if (transport !== 'tcp' && transport !== 'websocket') usage('--transport must be tcp or websocket');

// Two streams from the seed: the faults' moments do not depend on how often the client backed off.
const random = seededRandom(seed);
const jitterRandom = seededRandom(seed ^ 0x5eed);
/** Pings after 50 ms of silence (so between bursts: the rtt samples), declares death after 500 ms. */
const HEARTBEAT = { interval: 50, timeout: 500 } as const;
/** The layers both ends stack after the handshake, which names them on each connection. */
const LAYERS = ['heartbeat', 'resumable'] as const;
/** Frames each side sends per tick, and the tick: 10,000 frames per second each way, in bursts. */
const BURST = 1000;
const TICK_MS = 100;
/** A side stops sending while this many bytes wait for the peer's ack (a stall, a long outage). */
const MAX_UNACKED = 1024 * 1024;
/** After `--duration`, how long the frames still in flight may take to arrive. */
const FLUSH_LIMIT_MS = 10_000;
const timers: Subscription[] = [];

// ---------------------------------------------------------------------------------------------
// The bad network: a TCP proxy between client and server, with a fault injector.

interface Pair {
  readonly client: net.Socket;
  readonly server: net.Socket;
  /** Cut inside the next chunk that flows towards the server (or the client), after `offset` bytes. */
  armed: { towardsServer: boolean; offset: number } | undefined;
  halted: boolean;
  stalled: boolean;
}

const pairs = new Set<Pair>();
const proxySockets = new Set<net.Socket>();
const faults = { cuts: 0, insideFrame: 0, stalls: 0 };

/** Cuts a connection like a crash does: an RST to one end, a FIN to the other. */
function cut(pair: Pair): void {
  pair.halted = true;
  const [reset, close] = faults.cuts % 2 ? [pair.client, pair.server] : [pair.server, pair.client];
  // A socket shutting down already (its side ended) cannot be reset: Node would never close it.
  if (reset.connecting || reset.destroyed || reset.writableEnded) reset.destroy();
  else reset.resetAndDestroy();
  close.destroy();
}

function forward(pair: Pair, from: net.Socket, to: net.Socket, towardsServer: boolean): void {
  from.on('data', (chunk: Buffer) => {
    if (pair.halted) return;
    if (pair.armed?.towardsServer === towardsServer) {
      // Part of this chunk goes through (a frame cut in two), then the connection dies.
      pair.halted = true;
      to.write(chunk.subarray(0, Math.min(pair.armed.offset, chunk.length - 1)), () => cut(pair));
      return;
    }
    to.write(chunk);
  });
  from.on('close', () => {
    pairs.delete(pair);
    pair.halted = true;
    to.destroy();
  });
}

function startProxy(target: number): Promise<{ port: number; close(): void }> {
  const proxy = net.createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
    const server = net.connect({ port: target, host: '127.0.0.1', noDelay: true });
    const pair: Pair = { client, server, armed: undefined, halted: false, stalled: false };
    for (const socket of [client, server]) {
      proxySockets.add(socket);
      socket.on('close', () => proxySockets.delete(socket));
      socket.on('error', () => undefined); // resets are what this proxy is for
    }
    pairs.add(pair);
    forward(pair, client, server, true);
    forward(pair, server, client, false);
    server.once('connect', () => client.resume());
  });
  return new Promise((resolve) =>
    proxy.listen(0, '127.0.0.1', () =>
      resolve({
        port: (proxy.address() as net.AddressInfo).port,
        close: () => {
          for (const socket of proxySockets) socket.destroy();
          proxy.close();
        },
      }),
    ),
  );
}

/** Stalls a connection: nothing moves either way, and neither end hears of it (no FIN, no RST). */
function stall(pair: Pair, ms: number): void {
  pair.stalled = true;
  pair.client.pause();
  pair.server.pause();
  timers.push(
    asyncScheduler.schedule(() => {
      pair.stalled = false;
      if (!pair.client.destroyed) pair.client.resume();
      if (!pair.server.destroyed) pair.server.resume();
    }, ms),
  );
}

/** Every 300–1200 ms: a cut (at once, or inside the next chunk), or one time in five a stall. */
function injectFaults(): void {
  const live = [...pairs].filter((pair) => !pair.halted && !pair.stalled);
  const roll = random();
  for (const pair of live) {
    if (roll < 0.2) {
      faults.stalls++;
      stall(pair, HEARTBEAT.timeout + 200 + Math.floor(random() * 800));
    } else if (roll < 0.6) {
      faults.cuts++;
      cut(pair);
    } else {
      faults.cuts++;
      faults.insideFrame++;
      pair.armed = { towardsServer: random() < 0.5, offset: 1 + Math.floor(random() * 64) };
    }
  }
  timers.push(asyncScheduler.schedule(injectFaults, 300 + Math.floor(random() * 900)));
}

// ---------------------------------------------------------------------------------------------
// Frames: numbered per direction, checked on arrival.

class Direction {
  sent = 0;
  received = 0;
  lost = 0;
  duplicated = 0;

  /** Frame `n` arrived: it must be the next one. */
  take(n: number): void {
    if (n === this.received + this.lost) this.received++;
    else if (n < this.received + this.lost) this.duplicated++;
    else {
      this.lost += n - (this.received + this.lost);
      this.received++;
    }
  }

  send(link: Link<number>): void {
    if (link.bufferedBytes > MAX_UNACKED) return;
    for (let i = 0; i < BURST; i++) link.send(this.sent++);
  }

  /** Every frame sent has arrived, or is known to be missing. */
  get settled(): boolean {
    return this.received + this.lost >= this.sent;
  }
}

const up = new Direction(); // client → server
const down = new Direction(); // server → client
const rtts: number[] = [];
let reconnects = 0;
let heartbeatTimeouts = 0;
let sending = true;
let onProgress = (): void => undefined;

// ---------------------------------------------------------------------------------------------
// The server: every connection through the handshake and heartbeat, grouped into sessions.

let resolvePort!: (port: number) => void;
const listening = new Promise<number>((resolve) => (resolvePort = resolve));
const server$ = (transport === 'tcp' ? tcpServer({ port: 0 }) : websocketServer({ port: 0 })).pipe(
  map((event) => {
    if (event.type === 'listening') resolvePort(event.port);
    return event.type === 'connection'
      ? {
          ...event,
          connection: event.connection.pipe(acceptHandshake({ layers: LAYERS }), heartbeat(HEARTBEAT)),
        }
      : event;
  }),
);
/** Sends a burst from `stream` on `link` every TICK_MS while the demo is sending. */
function sendEveryTick(stream: { send(link: Link<number>): void }, link: Link<number>): void {
  timers.push(
    asyncScheduler.schedule(function tick() {
      if (!sending) return;
      stream.send(link);
      this.schedule(undefined, TICK_MS);
    }, TICK_MS),
  );
}

const failures: string[] = [];
const server = acceptSessions<number>(server$).subscribe({
  next: (session) =>
    session.events$.subscribe({
      next: (event) => {
        if (event.type === 'connected') {
          sendEveryTick(down, event.link);
        } else if (event.type === 'frame') {
          up.take(event.frame);
          onProgress();
        }
      },
      error: (error: unknown) => failures.push(`server session: ${String(error)}`),
    }),
  error: (error: unknown) => failures.push(`server: ${String(error)}`),
});
const proxy = await startProxy(await listening);

// ---------------------------------------------------------------------------------------------
// The client: the full stack, dialling the proxy.

const dial =
  transport === 'tcp'
    ? tcp<unknown>({ port: proxy.port })
    : websocket<unknown>({ url: `ws://127.0.0.1:${proxy.port}`, WebSocket });
const client = dial
  .pipe(
    handshake({ layers: LAYERS }),
    heartbeat(HEARTBEAT),
    reconnectWith({
      policy: policy.exponential({ initial: 10, max: 200 }).jitter('full', { random: jitterRandom }),
      healthyAfter: 'first-frame',
    }),
    resumable<number>(),
  )
  .subscribe({
    next: (event) => {
      if (event.type === 'connected') {
        sendEveryTick(up, event.link);
        timers.push(asyncScheduler.schedule(injectFaults, 300 + Math.floor(random() * 900)));
      } else if (event.type === 'frame') {
        down.take(event.frame);
        onProgress();
      } else if (event.type === 'resumed') reconnects++;
      else if (event.type === 'heartbeat') rtts.push(event.rtt);
      else if (event.type === 'disconnected' && HeartbeatTimeoutError.is(event.error)) heartbeatTimeouts++;
    },
    error: (error: unknown) => failures.push(`client: ${String(error)}`),
  });

// ---------------------------------------------------------------------------------------------
// Progress, the end, the summary.

const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
const lastRtt = () => (rtts.length ? `${rtts[rtts.length - 1]!} ms` : '–');
const progress = () =>
  `${seconds()} s  up ${up.sent} sent ${up.received} received  down ${down.sent} sent ${down.received} received  ` +
  `reconnects ${reconnects}  rtt ${lastRtt()}  lost ${up.lost + down.lost}  duplicated ${up.duplicated + down.duplicated}`;
const tty = process.stdout.isTTY === true;
console.log(
  `lifeline demo: ${transport} on loopback for ${duration} s, seed ${seed} (replay: --seed ${seed}); ` +
    `cuts and stalls every 0.3–1.2 s`,
);
timers.push(
  asyncScheduler.schedule(
    function show() {
      if (tty) process.stdout.write(`\r${progress()}\x1b[K`);
      else console.log(progress());
      this.schedule(undefined, tty ? 100 : 1000);
    },
    tty ? 100 : 1000,
  ),
);

await new Promise<void>((resolve) => timers.push(asyncScheduler.schedule(() => resolve(), duration * 1000)));
// Stop the faults and the senders, end any stall, and wait for what is still in flight.
sending = false;
for (const timer of timers.splice(0)) timer.unsubscribe();
for (const pair of pairs) {
  pair.armed = undefined;
  if (pair.stalled) {
    pair.stalled = false;
    pair.client.resume();
    pair.server.resume();
  }
}
await new Promise<void>((resolve) => {
  const limit = asyncScheduler.schedule(() => resolve(), FLUSH_LIMIT_MS);
  onProgress = () => {
    if (up.settled && down.settled) {
      limit.unsubscribe();
      resolve();
    }
  };
  onProgress();
  if (failures.length) resolve();
});
onProgress = () => undefined;
client.unsubscribe();
server.unsubscribe();
proxy.close();

const missing = (d: Direction) => d.lost + Math.max(0, d.sent - d.received - d.lost);
const lost = missing(up) + missing(down);
const duplicated = up.duplicated + down.duplicated;
const sorted = [...rtts].sort((a, b) => a - b);
const medianRtt = sorted.length ? `${sorted[sorted.length >> 1]!} ms over ${sorted.length} samples` : '–';
if (tty) process.stdout.write(`\r${progress()}\x1b[K\n`);
console.log(`summary (${transport}, seed ${seed}, ${seconds()} s):`);
console.log(`  client → server  sent ${up.sent}  received ${up.received}`);
console.log(`  server → client  sent ${down.sent}  received ${down.received}`);
console.log(
  `  faults           cuts ${faults.cuts} (${faults.insideFrame} inside a chunk), stalls ${faults.stalls}`,
);
console.log(`  reconnects       ${reconnects} (${heartbeatTimeouts} found by the heartbeat)`);
console.log(`  rtt              median ${medianRtt}`);
console.log(`  lost ${lost}, duplicated ${duplicated}`);
for (const failure of failures) console.log(`  error: ${failure}`);
const ok = lost === 0 && duplicated === 0 && failures.length === 0;
console.log(
  ok ? 'OK: every frame arrived exactly once, in order.' : 'FAILED: frames were lost or duplicated.',
);
process.exitCode = ok ? 0 : 1;
