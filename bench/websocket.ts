// Throughput of one WebSocket on 127.0.0.1, client → server: raw `ws` (one message per frame, and
// one message per tick carrying length-prefixed frames) against lifeline's websocket()/websocketServer().
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { websocket } from 'rx-lifeline';
import { websocketServer } from 'rx-lifeline/node';
import { now, type Sample } from './harness.js';
import { stackRun } from './stack.js';
import {
  BURST,
  encodeBatch,
  lifelineRun,
  newPackr,
  throughputTables,
  turn,
  type ThroughputCase,
} from './throughput.js';

const HIGH_WATER = 1024 * 1024;

/** The raw `ws` baseline: one message per frame, or one per tick (`batched`). */
export async function rawWebSocketRun(c: ThroughputCase, batched: boolean): Promise<Sample> {
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
      const out = encodeBatch(packr, payload, n);
      wire += out.length;
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

export function benchWebSocket(runs: number): Promise<string[]> {
  return throughputTables('WebSocket', runs, {
    perFrame: ['raw ws, one message per frame', (c) => rawWebSocketRun(c, false)],
    batched: ['raw ws, one message per tick', (c) => rawWebSocketRun(c, true)],
    lifeline: [
      'lifeline websocket()',
      (c) =>
        lifelineRun(c, websocketServer<Uint8Array>({ port: 0 }), (port) =>
          websocket({ url: `ws://127.0.0.1:${port}`, WebSocket }),
        ),
    ],
    more: [['lifeline full stack + requests', (c) => stackRun(c, 'websocket')]],
  });
}
