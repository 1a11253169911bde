// What the TCP and WebSocket throughput benchmarks share: the workload, the raw framing written
// directly (the baseline), and the lifeline side driven through the public API.
import { Packr } from 'msgpackr';
import { firstValueFrom, type Observable, type Subscription } from 'rxjs';
import type { Link, ServerEvent, Transport } from 'lifeline';
import { measure, now, printTable, type Row, type Sample } from './harness.js';

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
  const bodies: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const body = packr.pack(payload);
    bodies.push(body);
    total += 4 + body.length;
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const body of bodies) {
    out.writeUInt32BE(body.length, pos);
    out.set(body, pos + 4);
    pos += 4 + body.length;
  }
  return out;
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
  const payload = new Uint8Array(c.payloadBytes).fill(7);
  const start = now();
  for (let sent = 0; sent < c.frames;) {
    const n = Math.min(BURST, c.frames - sent);
    let ok = true;
    for (let i = 0; i < n; i++) ok = link.send(payload);
    sent += n;
    if (!ok) await firstValueFrom(link.drain$);
    else await turn();
  }
  await done;
  const ms = now() - start;
  for (const sub of subs.reverse()) sub.unsubscribe();
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
  },
): Promise<string[]> {
  const tables: string[] = [];
  for (const c of CASES) {
    const measured: Row[] = [];
    measured.push(await measure(rows.perFrame[0], runs, () => rows.perFrame[1](c)));
    const baseline = await measure(rows.batched[0], runs, () => rows.batched[1](c));
    measured.push(baseline);
    measured.push(await measure(rows.lifeline[0], runs, () => rows.lifeline[1](c)));
    const heading = `${title}, ${c.payloadBytes}-byte payloads, ${c.frames} frames, median of ${runs}`;
    tables.push(printTable(heading, measured, baseline));
  }
  return tables;
}
