// Throughput of one WebSocket on 127.0.0.1, client → server: raw `ws` (one message per frame, and
// one message per tick carrying length-prefixed frames) against lifeline's websocket()/websocketServer().
import { Packr } from 'msgpackr';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, type Subscription } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import { websocket, type Link } from 'lifeline';
import { websocketServer } from 'lifeline/node';
import { measure, now, printTable, type Row, type Sample } from './harness.js';
import type { ThroughputCase } from './tcp.js';

const BURST = 1000;
const HIGH_WATER = 1024 * 1024;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function newPackr(): Packr {
  return new Packr({ useRecords: false, mapsAsObjects: true, structuredClone: false, moreTypes: false });
}

async function rawRun(c: ThroughputCase, batched: boolean): Promise<Sample> {
  const packr = newPackr();
  let count = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (socket) => {
    socket.on('message', (data: Buffer) => {
      if (!batched) {
        packr.unpack(data);
        count++;
      } else {
        for (let pos = 0; pos < data.length;) {
          const len = data.readUInt32BE(pos);
          packr.unpack(data.subarray(pos + 4, pos + 4 + len));
          pos += 4 + len;
          count++;
        }
      }
      if (count === c.frames) resolveDone();
    });
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise<void>((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  const payload = new Uint8Array(c.payloadBytes).fill(7);
  let wire = 0;
  const start = now();
  for (let sent = 0; sent < c.frames;) {
    const n = Math.min(BURST, c.frames - sent);
    if (batched) {
      const bodies: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
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
      wire += total;
      client.send(out);
    } else {
      for (let i = 0; i < n; i++) {
        const body = packr.pack(payload);
        wire += body.length;
        client.send(body);
      }
    }
    sent += n;
    await turn();
    while (client.bufferedAmount > HIGH_WATER) await turn();
  }
  await done;
  const ms = now() - start;
  client.terminate();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of server.clients) socket.terminate();
  return { items: c.frames, bytes: wire, ms };
}

async function lifelineRun(c: ThroughputCase): Promise<Sample> {
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const subs: Subscription[] = [];
  const port = await new Promise<number>((resolve) => {
    subs.push(
      websocketServer<Uint8Array>({ port: 0 }).subscribe((event) => {
        if (event.type === 'listening') resolve(event.port);
        else
          subs.push(
            event.connection.subscribe((e) => {
              if (e.type === 'frame' && ++received === c.frames) resolveDone();
            }),
          );
      }),
    );
  });
  const link = await new Promise<Link<Uint8Array>>((resolve) => {
    subs.push(
      websocket<Uint8Array>({ url: `ws://127.0.0.1:${port}`, WebSocket }).subscribe(
        (e) => e.type === 'connected' && resolve(e.link),
      ),
    );
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
  const wire = c.frames * (4 + newPackr().pack(payload).length);
  return { items: c.frames, bytes: wire, ms };
}

export async function benchWebSocket(runs: number): Promise<string[]> {
  const tables: string[] = [];
  for (const c of [
    { payloadBytes: 64, frames: 200_000 },
    { payloadBytes: 1024, frames: 50_000 },
  ]) {
    const rows: Row[] = [];
    rows.push(await measure('raw ws, one message per frame', runs, () => rawRun(c, false)));
    const batched = await measure('raw ws, one message per tick', runs, () => rawRun(c, true));
    rows.push(batched);
    rows.push(await measure('lifeline websocket()', runs, () => lifelineRun(c)));
    tables.push(
      printTable(
        `WebSocket, ${c.payloadBytes}-byte payloads, ${c.frames} frames, median of ${runs}`,
        rows,
        batched,
      ),
    );
  }
  return tables;
}
