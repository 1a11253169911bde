// Throughput of one TCP connection on 127.0.0.1, client → server, until the server has decoded the
// last frame: raw `node:net` with length-prefix + msgpackr framing written directly (one write per
// frame, and one buffer per tick), against lifeline's tcp()/tcpServer().
import { Packr } from 'msgpackr';
import net from 'node:net';
import { firstValueFrom, type Subscription } from 'rxjs';
import { tcp, tcpServer } from 'lifeline/node';
import { type Link } from 'lifeline';
import { measure, now, printTable, type Row, type Sample } from './harness.js';

const BURST = 1000; // frames produced per event-loop turn, for every case alike
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface ThroughputCase {
  payloadBytes: number;
  frames: number;
}

function newPackr(): Packr {
  return new Packr({ useRecords: false, mapsAsObjects: true, structuredClone: false, moreTypes: false });
}

/** The raw server: length-prefix + msgpackr decoding written directly on node:net. */
async function rawServer(frames: number): Promise<{ port: number; done: Promise<void>; close(): void }> {
  const packr = newPackr();
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let pending: Buffer = Buffer.alloc(0);
    let count = 0;
    socket.on('data', (chunk: Buffer) => {
      const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let pos = 0;
      while (buf.length - pos >= 4) {
        const len = buf.readUInt32BE(pos);
        if (buf.length - pos - 4 < len) break;
        packr.unpack(buf.subarray(pos + 4, pos + 4 + len));
        pos += 4 + len;
        count++;
      }
      pending = pos < buf.length ? buf.subarray(pos) : Buffer.alloc(0);
      if (count === frames) resolveDone();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    done,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function rawClient(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function waitDrain(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => socket.once('drain', resolve));
}

async function rawRun(c: ThroughputCase, batched: boolean): Promise<Sample> {
  const server = await rawServer(c.frames);
  const socket = await rawClient(server.port);
  const packr = newPackr();
  const payload = new Uint8Array(c.payloadBytes).fill(7);
  let wire = 0;
  const start = now();
  for (let sent = 0; sent < c.frames;) {
    const n = Math.min(BURST, c.frames - sent);
    let ok = true;
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
      ok = socket.write(out);
    } else {
      for (let i = 0; i < n; i++) {
        const body = packr.pack(payload);
        const out = Buffer.allocUnsafe(4 + body.length);
        out.writeUInt32BE(body.length, 0);
        out.set(body, 4);
        wire += out.length;
        ok = socket.write(out);
      }
    }
    sent += n;
    if (!ok) await waitDrain(socket);
    else await turn();
  }
  await server.done;
  const ms = now() - start;
  socket.destroy();
  server.close();
  return { items: c.frames, bytes: wire, ms };
}

async function lifelineRun(c: ThroughputCase): Promise<Sample> {
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const subs: Subscription[] = [];
  const server$ = tcpServer<Uint8Array>({ port: 0 });
  const listening = new Promise<number>((resolve) => {
    subs.push(
      server$.subscribe((event) => {
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
  const port = await listening;
  const link = await new Promise<Link<Uint8Array>>((resolve) => {
    subs.push(tcp<Uint8Array>({ port }).subscribe((e) => e.type === 'connected' && resolve(e.link)));
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

export async function benchTcp(runs: number): Promise<string[]> {
  const tables: string[] = [];
  for (const c of [
    { payloadBytes: 64, frames: 200_000 },
    { payloadBytes: 1024, frames: 50_000 },
  ]) {
    const rows: Row[] = [];
    rows.push(await measure('raw net, one write per frame', runs, () => rawRun(c, false)));
    const batched = await measure('raw net, one buffer per tick', runs, () => rawRun(c, true));
    rows.push(batched);
    rows.push(await measure('lifeline tcp()', runs, () => lifelineRun(c)));
    tables.push(
      printTable(
        `TCP, ${c.payloadBytes}-byte payloads, ${c.frames} frames, median of ${runs}`,
        rows,
        batched,
      ),
    );
  }
  return tables;
}
