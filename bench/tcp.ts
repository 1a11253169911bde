// Throughput of one TCP connection on 127.0.0.1, client → server, until the server has decoded the
// last frame: raw `node:net` with length-prefix + msgpackr framing written directly (one write per
// frame, and one buffer per tick), against lifeline's tcp()/tcpServer().
import net from 'node:net';
import { tcp, tcpServer } from 'lifeline/node';
import { now, type Sample } from './harness.js';
import {
  BURST,
  encodeBatch,
  lifelineRun,
  newPackr,
  throughputTables,
  turn,
  type ThroughputCase,
} from './throughput.js';

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
      const out = encodeBatch(packr, payload, n);
      wire += out.length;
      ok = socket.write(out);
    } else {
      for (let i = 0; i < n; i++) {
        const out = encodeBatch(packr, payload, 1);
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

export function benchTcp(runs: number): Promise<string[]> {
  return throughputTables('TCP', runs, {
    perFrame: ['raw net, one write per frame', (c) => rawRun(c, false)],
    batched: ['raw net, one buffer per tick', (c) => rawRun(c, true)],
    lifeline: [
      'lifeline tcp()',
      (c) => lifelineRun(c, tcpServer<Uint8Array>({ port: 0 }), (port) => tcp({ port })),
    ],
  });
}
