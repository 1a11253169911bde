// What the TCP and WebSocket throughput benchmarks share: the workload, the raw framing written
// directly (the baseline), and the lifeline side driven through the public API.
import net from 'node:net';
import { Packr } from 'msgpackr';
import { firstValueFrom, type Observable, type Subscription } from 'rxjs';
import {
  encodeFrames,
  FrameDecoder,
  msgpackCodec,
  type Link,
  type ServerEvent,
  type Transport,
} from 'rx-lifeline';
import { measure, now, printTable, type Row, type Sample } from './harness.js';
import { frameAll, LengthPrefixedReader } from './peers/common.js';

/** One workload: `frames` frames of `payloadBytes`-byte `Uint8Array` payloads, client → server. */
export interface ThroughputCase {
  payloadBytes: number;
  frames: number;
}

export const CASES: readonly ThroughputCase[] = [
  { payloadBytes: 64, frames: 200_000 },
  { payloadBytes: 1024, frames: 50_000 },
];

/** Frames produced per event-loop turn, for every case alike. */
export const BURST = 1000;

export const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** msgpackr as the baselines use it: the options of lifeline's codec, without its checks. */
export function newPackr(): Packr {
  return new Packr({ useRecords: false, mapsAsObjects: true, structuredClone: false, moreTypes: false });
}

/** `count` encoded payloads, each behind its 4-byte big-endian length, in one buffer. */
export function encodeBatch(packr: Packr, payload: Uint8Array, count: number): Buffer {
  return frameAll(Array.from({ length: count }, () => packr.pack(payload)));
}

/**
 * The lifeline side: listens with `server`, dials with `dial(port)`, sends the case's frames in
 * bursts (waiting for `drain$` when `send` says the queue is full), and times until the server
 * has decoded the last one.
 */
export async function lifelineRun(
  c: ThroughputCase,
  server: Observable<ServerEvent<Uint8Array>>,
  dial: (port: number) => Transport<Uint8Array>,
): Promise<Sample> {
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const subs: Subscription[] = [];
  const port = await new Promise<number>((resolve) => {
    subs.push(
      server.subscribe((event) => {
        if (event.type === 'listening') return resolve(event.port);
        if (event.type !== 'connection') return;
        subs.push(
          event.connection.subscribe((e) => {
            if (e.type === 'frame' && ++received === c.frames) resolveDone();
          }),
        );
      }),
    );
  });
  const link = await new Promise<Link<Uint8Array>>((resolve) => {
    subs.push(dial(port).subscribe((e) => e.type === 'connected' && resolve(e.link)));
  });
  const sample = await timedSends(c, link, done);
  for (const sub of subs.reverse()) sub.unsubscribe();
  return sample;
}

/**
 * Sends the case's frames on `link` in bursts, waiting for `drain$` when `send` says the queue is
 * full, and times until `done` (the receiver has decoded the last frame). Any link will do: a
 * transport's, or a resumable session's. With `window` (a session's replay buffer is capped), a
 * burst stops at the first `false`, and while `window` bytes or more wait for the peer's ack.
 */
export async function timedSends(
  c: ThroughputCase,
  link: Link<Uint8Array>,
  done: Promise<void>,
  window?: number,
): Promise<Sample> {
  const payload = new Uint8Array(c.payloadBytes).fill(7);
  const start = now();
  for (let sent = 0; sent < c.frames;) {
    const n = Math.min(BURST, c.frames - sent);
    let ok = true;
    let i = 0;
    for (; i < n; i++) {
      if (window !== undefined && (!ok || link.bufferedBytes >= window)) break;
      ok = link.send(payload);
    }
    sent += i;
    if (!ok) await firstValueFrom(link.drain$);
    else await turn();
  }
  await done;
  const ms = now() - start;
  return { items: c.frames, bytes: c.frames * (4 + newPackr().pack(payload).length), ms };
}

/** Measures the three rows of every case and prints a table per case, batched raw as baseline. */
export async function throughputTables(
  title: string,
  runs: number,
  rows: {
    perFrame: [string, (c: ThroughputCase) => Promise<Sample>];
    batched: [string, (c: ThroughputCase) => Promise<Sample>];
    lifeline: [string, (c: ThroughputCase) => Promise<Sample>];
    /** More rows after the lifeline one (e.g. the same transport under the session operators). */
    more?: readonly [string, (c: ThroughputCase) => Promise<Sample>][];
  },
): Promise<string[]> {
  const tables: string[] = [];
  for (const c of CASES) {
    const measured: Row[] = [];
    measured.push(await measure(rows.perFrame[0], runs, () => rows.perFrame[1](c)));
    const baseline = await measure(rows.batched[0], runs, () => rows.batched[1](c));
    measured.push(baseline);
    measured.push(await measure(rows.lifeline[0], runs, () => rows.lifeline[1](c)));
    for (const [name, run] of rows.more ?? []) measured.push(await measure(name, runs, () => run(c)));
    const heading = `${title}, ${c.payloadBytes}-byte payloads, ${c.frames} frames, median of ${runs}`;
    tables.push(printTable(heading, measured, baseline));
  }
  return tables;
}

/**
 * The raw TCP baseline: length-prefix + msgpackr framing written directly on `node:net`, one
 * write per frame or one buffer per tick (`batched`), timed until the server decoded the last frame.
 */
export async function rawTcpRun(c: ThroughputCase, batched: boolean): Promise<Sample> {
  const packr = newPackr();
  let count = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const reader = new LengthPrefixedReader();
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk, (body) => {
        packr.unpack(body);
        count++;
      });
      if (count === c.frames) resolveDone();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
  const payload = new Uint8Array(c.payloadBytes).fill(7);
  let wire = 0;
  const start = now();
  for (let sent = 0; sent < c.frames;) {
    const n = Math.min(BURST, c.frames - sent);
    let ok = true;
    for (const out of batched
      ? [encodeBatch(packr, payload, n)]
      : Array.from({ length: n }, () => encodeBatch(packr, payload, 1))) {
      wire += out.length;
      ok = socket.write(out);
    }
    sent += n;
    if (!ok) await new Promise<void>((resolve) => socket.once('drain', resolve));
    else await turn();
  }
  await done;
  const ms = now() - start;
  socket.destroy();
  for (const s of sockets) s.destroy();
  server.close();
  return { items: c.frames, bytes: wire, ms };
}

/**
 * Decoder throughput, in process: `FrameDecoder` with lifeline's msgpack codec against msgpackr's
 * own `unpack` on the same frames (no checks), each reading one buffer of framed bodies. Two
 * payloads: the 64-byte binary of the socket benchmarks, and a small record of the shapes an
 * application sends (keys, a string, numbers, a nested array).
 */
export async function benchDecoder(runs: number): Promise<string[]> {
  const record = { id: 12_345, name: 'sensor-7', ok: true, t: 1.5, tags: ['a', 'bc'], at: new Date(0) };
  const cases: [string, unknown, number][] = [
    ['64-byte binary', new Uint8Array(64).fill(7), 200_000],
    ['small record', record, 200_000],
  ];
  const tables: string[] = [];
  for (const [label, payload, frames] of cases) {
    const codec = msgpackCodec();
    const stream = encodeFrames(
      codec,
      Array.from({ length: frames }, () => payload),
    );
    const packr = newPackr();
    const rows: Row[] = [];
    const baseline = await measure('msgpackr unpack, no checks', runs, () => {
      const start = now();
      let count = 0;
      for (let pos = 0; pos < stream.length; count++) {
        const length =
          (stream[pos]! << 24) | (stream[pos + 1]! << 16) | (stream[pos + 2]! << 8) | stream[pos + 3]!;
        packr.unpack(stream, { start: pos + 4, end: pos + 4 + length });
        pos += 4 + length;
      }
      return Promise.resolve({ items: count, bytes: stream.length, ms: now() - start });
    });
    rows.push(baseline);
    rows.push(
      await measure('lifeline FrameDecoder + msgpackCodec', runs, () => {
        const decoder = new FrameDecoder({ codec });
        let count = 0;
        const start = now();
        decoder.push(stream, () => count++);
        return Promise.resolve({ items: count, bytes: stream.length, ms: now() - start });
      }),
    );
    tables.push(
      printTable(`Decoder, ${label}, ${frames} frames in one buffer, median of ${runs}`, rows, baseline),
    );
  }
  return tables;
}
