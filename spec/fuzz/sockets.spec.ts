// The fuzz suite over real loopback sockets: the documented server stack runs in a child process
// (targets/server.ts); hostile raw TCP and WebSocket clients (through ws, and raw sockets writing
// damaged WebSocket frames of their own) send it random, mutated and torn frames, while one
// well-behaved client keeps a resumable session with requests going. The child must stay alive,
// see only typed errors, keep its RSS under a bound, and exit by itself once stopped; the control
// client must see no disconnect and get every request answered.
import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import fc from 'fast-check';
import { type Subscription } from 'rxjs';
import { WebSocket } from 'ws';
import {
  cancelPending,
  heartbeat,
  policy,
  reconnectWith,
  resumable,
  websocket,
  type RequestLink,
  type Transport,
} from 'rx-lifeline';
import { tcp } from 'rx-lifeline/node';
import {
  amplifier,
  byteMutation,
  clientConversation,
  CONTROL_SESSION,
  cuts,
  encodeBody,
  mutateBytes,
  OWN_SESSION,
  OWN_TOKEN,
  split,
  withPrefix,
  type ByteMutation,
  type Step,
} from './arbitraries.js';
import { resetSocket } from '../support/reset-socket.js';
import { checkAsync, IS_LONG, parameters, printTally, SEED, SOCKET_RUNS } from './settings.js';

/**
 * The child's RSS may grow this much over its RSS once listening. What hostile clients may make it
 * hold, by the library's promise: at most one frame of 1 MiB (its `maxFrameBytes`) per connection,
 * with at most 8 hostile connections at once here, decoded within 32× its bytes (the decoded-size
 * budget the in-process suite checks): 8 × 33 MiB ≈ 264 MiB in the worst case, transient; plus the
 * heap a busy Node process grows anyway. Without the caps, one connection can make it hold 100 MiB
 * (a WebSocket message) or 1 GiB (a frame of empty maps).
 */
const RSS_GROWTH_BOUND = 384 * 1024 * 1024;

interface Stats {
  rss: number;
  peakRss: number;
  errors: Record<string, number>;
  sessions: number;
}

/** The child process and its reports. */
class Target {
  readonly escaped: string[] = [];
  exitCode: number | null | undefined;
  private waiting: { resolve: (stats: Stats) => void; reject: (error: Error) => void }[] = [];
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly ports: { tcp: number; websocket: number },
  ) {
    child.on('message', (message: { type: string; what?: string } & Stats) => {
      if (message.type === 'escaped') this.escaped.push(message.what!);
      if (message.type === 'stats') this.waiting.shift()?.resolve(message);
    });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        this.exitCode = code;
        for (const { reject } of this.waiting.splice(0)) reject(this.death());
        resolve(code);
      }),
    );
  }

  static start(): Promise<Target> {
    const child = fork('spec/fuzz/targets/server.ts', [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the target exited with ${code} before listening`)));
      child.once('message', (message: { type: string; tcp: number; websocket: number }) => {
        child.removeAllListeners('exit');
        resolve(new Target(child, { tcp: message.tcp, websocket: message.websocket }));
      });
    });
  }

  get alive(): boolean {
    return this.exitCode === undefined && this.child.connected;
  }

  stats(type: 'stats' | 'reset-peak' = 'stats'): Promise<Stats> {
    return new Promise((resolve, reject) => {
      if (!this.alive) return reject(this.death());
      this.waiting.push({ resolve, reject });
      this.child.send({ type });
    });
  }

  private death(): Error {
    return new Error(`the target died: ${this.escaped.join('; ') || `exit code ${String(this.exitCode)}`}`);
  }

  async stop(): Promise<number | null> {
    if (this.alive) this.child.send({ type: 'stop' });
    // The child must exit by itself once everything is unsubscribed; a leftover socket or timer
    // would keep it alive, and the test would time out here.
    return this.exited;
  }
}

/**
 * The well-behaved client: the full client stack, one request at a time, each answered with its
 * payload. It must never see a disconnect.
 */
class ControlClient {
  answered = 0;
  readonly problems: string[] = [];
  private subscription: Subscription;
  private link: RequestLink | undefined;
  private stopping = false;
  private idle: (() => void) | undefined;

  constructor(transport: Transport) {
    this.subscription = transport
      .pipe(heartbeat(), reconnectWith(policy.constant(50)), resumable(), cancelPending({ timeout: 20_000 }))
      .subscribe({
        next: (event) => {
          if (event.type === 'request-link') {
            this.link = event.link as RequestLink;
            this.ask();
          } else if (event.type === 'disconnected' || event.type === 'session-reset') {
            this.problems.push(`${event.type}: ${String((event as { error?: unknown }).error)}`);
          }
        },
        error: (error: unknown) => this.problems.push(`the control stream failed: ${String(error)}`),
        complete: () => this.problems.push('the control stream completed'),
      });
  }

  private ask(): void {
    if (this.stopping) return this.idle?.();
    const n = this.answered + 1;
    this.link!.request<number>(n).subscribe({
      next: (value) => {
        if (value !== n) this.problems.push(`request ${n} was answered with ${String(value)}`);
      },
      complete: () => {
        this.answered++;
        // One event-loop turn between requests: a steady trickle, not a flood.
        setImmediate(() => this.ask());
      },
      error: (error: unknown) => this.problems.push(`request ${n} failed: ${String(error)}`),
    });
  }

  /** Waits for the request in flight to be answered, then closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    await new Promise<void>((resolve) => (this.idle = resolve));
    this.subscription.unsubscribe();
  }

  /** Closes at once (the test failed already). */
  dispose(): void {
    this.stopping = true;
    this.subscription.unsubscribe();
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile clients

/** Placeholders stand for values a hostile client cannot know: random ids. */
function fill(value: unknown): unknown {
  const id = '0123456789abcdef0123456789abcdef';
  if (value === CONTROL_SESSION || value === OWN_SESSION || value === OWN_TOKEN) return id;
  if (Array.isArray(value)) return value.map(fill);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: fill(v), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

interface HostileInput {
  readonly steps: readonly Step[];
  readonly extra: readonly Uint8Array[];
  readonly damage: readonly (readonly [number, ByteMutation])[];
  readonly cutAt: readonly number[];
  readonly ending: 'end' | 'reset' | 'half-frame';
  readonly text: boolean;
}

const hostileInput: fc.Arbitrary<HostileInput> = fc.record({
  steps: clientConversation,
  extra: fc.array(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 64 }), amplifier), { maxLength: 1 }),
  damage: fc.array(fc.tuple(fc.nat(), byteMutation), { maxLength: 2 }),
  cutAt: cuts,
  ending: fc.constantFrom('end' as const, 'reset' as const, 'half-frame' as const),
  text: fc.boolean(),
});

/** The frames of an input, each with its prefix, damaged as the input says. */
function framesOf(input: HostileInput): Uint8Array[] {
  const frames = [...input.steps.map((step) => encodeBody(fill(step.frame))), ...input.extra].map(withPrefix);
  return frames.map((frame, index) => {
    const damage = input.damage.find(([i]) => i % frames.length === index)?.[1];
    return damage ? mutateBytes(frame, damage) : frame;
  });
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One hostile TCP connection: the bytes in torn writes, then a FIN, a reset, or half a frame and a FIN. */
async function hostileTcp(port: number, input: HostileInput): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined); // the server may reset it: that is its right
  socket.resume(); // read and drop whatever the server says
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', resolve).once('close', resolve));
  const stream = concat(framesOf(input));
  for (const chunk of split(stream, input.cutAt)) {
    if (socket.destroyed) break;
    socket.write(chunk);
    await turn();
  }
  if (input.ending === 'half-frame' && !socket.destroyed) socket.write(Uint8Array.of(0, 0, 1, 0, 0x92));
  if (input.ending === 'reset') resetSocket(socket);
  else socket.end();
  await closed;
}

/** One hostile WebSocket connection: the frames in binary messages (maybe a text one), then a close. */
async function hostileWebSocket(port: number, input: HostileInput): Promise<void> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('open', resolve).once('close', resolve));
  // Messages are cut where the input cuts the stream, so some end inside a frame (a protocol error).
  for (const message of split(concat(framesOf(input)), input.cutAt)) {
    if (socket.readyState !== WebSocket.OPEN) break;
    if (message.length > 0) socket.send(message, { binary: true });
    await turn();
  }
  if (input.text && socket.readyState === WebSocket.OPEN) socket.send('not binary');
  if (input.ending === 'reset') socket.terminate();
  else if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close();
  await closed;
}

/** The upgrade request of a raw WebSocket client (the key is RFC 6455's example). */
const UPGRADE_REQUEST =
  'GET / HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** One client frame (RFC 6455 §5.2), masked with `key`: `first` is its FIN/RSV/opcode byte. */
function clientFrame(first: number, payload: Uint8Array, key: number): Uint8Array {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const header = [first, 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127)];
  for (let i = extended - 1; i >= 0; i--) header.push(Math.floor(length / 256 ** i) % 256);
  const mask = [key >>> 24, (key >>> 16) & 0xff, (key >>> 8) & 0xff, key & 0xff];
  return Uint8Array.from([...header, ...mask, ...payload.map((byte, i) => byte ^ mask[i % 4]!)]);
}

/**
 * The WebSocket frames of an input, as a raw client writes them: each message of the stream (cut
 * where the input cuts) in one or two fragments with a ping between them, maybe a text frame, then
 * the damage the input says applied to the frames themselves (headers, masks, lengths, opcodes).
 */
function webSocketFramesOf(input: HostileInput): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const [index, message] of split(concat(framesOf(input)), input.cutAt).entries()) {
    const parts =
      index % 3 === 2 && message.length > 2 ? [message.subarray(0, 1), message.subarray(1)] : [message];
    parts.forEach((part, i) => {
      const fin = i === parts.length - 1 ? 0x80 : 0;
      frames.push(clientFrame(fin | (i === 0 ? 0x2 : 0x0), part, index * 0x9e3779b1));
      if (!fin) frames.push(clientFrame(0x89, part.subarray(0, 125), index));
    });
  }
  if (input.text) frames.push(clientFrame(0x81, new TextEncoder().encode('not binary'), 7));
  return frames.map((frame, index) => {
    const damage = input.damage.find(([i]) => i % frames.length === index)?.[1];
    return damage ? mutateBytes(frame, damage) : frame;
  });
}

/**
 * One hostile WebSocket client below the protocol: a raw socket that upgrades, then writes frames
 * it built and damaged itself (no WebSocket library would send them) in torn writes, then a FIN,
 * a reset, or half a frame header and a FIN.
 */
async function hostileWebSocketFrames(port: number, input: HostileInput): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  socket.resume();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', resolve).once('close', resolve));
  if (!socket.destroyed) socket.write(UPGRADE_REQUEST);
  for (const chunk of split(concat(webSocketFramesOf(input)), input.cutAt)) {
    if (socket.destroyed) break;
    socket.write(chunk);
    await turn();
  }
  if (input.ending === 'half-frame' && !socket.destroyed) socket.write(Uint8Array.of(0x82, 0xfe, 0x01));
  if (input.ending === 'reset') resetSocket(socket);
  else socket.end();
  await closed;
}

// ---------------------------------------------------------------------------------------------

const TRANSPORTS = [
  {
    name: 'tcp',
    dial: (target: Target) => tcp({ host: '127.0.0.1', port: target.ports.tcp }),
    hostile: (target: Target, input: HostileInput) => hostileTcp(target.ports.tcp, input),
  },
  {
    name: 'websocket',
    dial: (target: Target) => websocket({ url: `ws://127.0.0.1:${target.ports.websocket}`, WebSocket }),
    hostile: (target: Target, input: HostileInput) => hostileWebSocket(target.ports.websocket, input),
  },
  {
    name: 'websocket frames',
    dial: (target: Target) => websocket({ url: `ws://127.0.0.1:${target.ports.websocket}`, WebSocket }),
    hostile: (target: Target, input: HostileInput) => hostileWebSocketFrames(target.ports.websocket, input),
  },
] as const;

describe('fuzz over loopback sockets: hostile clients against the server stack in a child process', function () {
  this.timeout(IS_LONG ? 0 : 120_000);
  /** A target of its own per test (a crash in one test must not hide the next test's findings). */
  let target: Target;
  const peaks: number[] = [];
  const exits: (number | null)[] = [];

  after(() => {
    const worst = Math.max(0, ...peaks);
    console.log(
      `      fuzz over sockets (seed ${SEED}): peak child RSS ${mib(worst)} MiB; child exit codes ${exits.join(', ')}`,
    );
    printTally(
      'fuzz over sockets',
      TRANSPORTS.map((t) => `${t.name} connections`),
    );
  });

  /** Runs `attack` beside a control client of `transport`; checks the promise afterwards. */
  async function underAttack(
    transport: (typeof TRANSPORTS)[number],
    attack: () => Promise<void>,
  ): Promise<void> {
    target = await Target.start();
    let before: Stats | undefined;
    let stats: Stats | undefined;
    let control: ControlClient | undefined;
    try {
      before = await target.stats('reset-peak');
      control = new ControlClient(transport.dial(target));
      await attack();
      await control.stop();
      stats = await target.stats();
      peaks.push(stats.peakRss);
    } finally {
      control?.dispose();
      // It must exit by itself once stopped: a leftover socket or timer would keep it alive.
      exits.push(await target.stop());
    }
    const untyped = Object.keys(stats.errors).filter((name) => name.startsWith('untyped'));
    expect(target.escaped, 'uncaught in the child').to.deep.equal([]);
    expect(untyped, 'untyped errors in the child').to.deep.equal([]);
    expect(exits.at(-1), 'the exit code of the stopped child').to.equal(0);
    expect(control.problems, 'the control client').to.deep.equal([]);
    expect(control.answered, 'requests the control client got answered').to.be.above(0);
    expect(
      stats.peakRss - before.rss,
      `RSS growth (${mib(before.rss)} → peak ${mib(stats.peakRss)} MiB)`,
    ).to.be.below(RSS_GROWTH_BOUND);
  }

  for (const [index, transport] of TRANSPORTS.entries()) {
    it(`${transport.name}: random, mutated and torn frames from hostile clients; the child stays alive with only typed errors and bounded RSS; a control session is unaffected`, async () => {
      await underAttack(transport, async () => {
        await checkAsync(
          `${transport.name} connections`,
          fc.asyncProperty(hostileInput, async (input) => {
            await transport.hostile(target, input);
            // A round trip to the child: it has handled this input's bytes, and is alive.
            await target.stats();
          }),
          // A crash kills the target, so every later input fails too: no shrinking over sockets
          // (the in-process suite finds the minimal counterexample of the same defect).
          { ...parameters(SOCKET_RUNS, 10 + index), endOnFailure: true },
        );
      });
    });
  }

  it('tcp: 1024 connections each holding a partial frame of 1 MiB (the frame limit) leave RSS bounded', async () => {
    await underAttack(TRANSPORTS[0], async () => {
      // Announces 1 MiB (allowed) and sends all but its last byte; one buffer for every socket.
      const partial = concat([Uint8Array.of(0, 0x10, 0, 0), new Uint8Array(1024 * 1024 - 1).fill(0x80)]);
      const sockets = await Promise.all(
        Array.from({ length: 1024 }, async () => {
          const socket = net.connect({ host: '127.0.0.1', port: target.ports.tcp });
          socket.on('error', () => undefined);
          socket.resume();
          await new Promise<void>((resolve) => socket.once('connect', resolve).once('close', resolve));
          if (!socket.destroyed) await new Promise<void>((resolve) => socket.write(partial, () => resolve()));
          return socket;
        }),
      );
      // Round trips to the child let it read what the kernel still holds.
      for (let i = 0; i < 20; i++) await target.stats();
      for (const socket of sockets) resetSocket(socket);
    });
  });

  it('websocket: 6 messages of 64 MiB (beyond any frame the server accepts) leave RSS bounded', async () => {
    await underAttack(TRANSPORTS[1], async () => {
      const message = new Uint8Array(64 * 1024 * 1024);
      message.set(Uint8Array.of(0, 0x10, 0, 0), 0);
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          const socket = new WebSocket(`ws://127.0.0.1:${target.ports.websocket}`);
          socket.on('error', () => undefined);
          const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
          await new Promise<void>((resolve) => socket.once('open', resolve).once('close', resolve));
          if (socket.readyState === WebSocket.OPEN) socket.send(message, { binary: true });
          await new Promise<void>((resolve) =>
            socket.once('close', resolve).once('message', () => resolve()),
          );
          await target.stats();
          socket.terminate();
          await closed;
        }),
      );
    });
  });

  it('tcp: requests whose payload is 1 MiB of empty maps, echoed into unacknowledged replay buffers, leave RSS bounded', async () => {
    // Each payload decodes to ~64 MiB; the echo waits in the session's replay buffer (the client
    // never acks), which counts its encoded bytes only: 4 MiB of buffer can hold ~256 MiB of heap.
    await underAttack(TRANSPORTS[0], async () => {
      const maps = 1024 * 1024 - 64;
      const sockets = await Promise.all(
        Array.from({ length: 2 }, async () => {
          const socket = net.connect({ host: '127.0.0.1', port: target.ports.tcp });
          socket.on('error', () => undefined);
          socket.resume();
          await new Promise<void>((resolve) => socket.once('connect', resolve).once('close', resolve));
          const hello = withPrefix(encodeBody([0, [2, { v: [1, 1], received: 0 }]]));
          socket.write(hello);
          for (let n = 1; n <= 4 && !socket.destroyed; n++) {
            const head = encodeBody([0, [0, n, [1, n, null]]]);
            // [0, [0, n, [1, n, <array 32 of `maps` empty maps>]]]: the null replaced by the array.
            const body = new Uint8Array(head.length - 1 + 5 + maps);
            body.set(head.subarray(0, head.length - 1), 0);
            body[head.length - 1] = 0xdd;
            new DataView(body.buffer).setUint32(head.length, maps);
            body.fill(0x80, head.length + 4);
            await new Promise<void>((resolve) => socket.write(withPrefix(body), () => resolve()));
            await target.stats();
          }
          return socket;
        }),
      );
      await target.stats();
      for (const socket of sockets) resetSocket(socket);
    });
  });
});

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
