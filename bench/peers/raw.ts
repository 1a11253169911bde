// The raw baselines: msgpackr bodies written directly on `node:net` (length-prefixed) and `ws`,
// one write per frame, or one buffer per event-loop turn (batched). Nothing else: no reconnect,
// no acks, no heartbeat.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { newPackr } from '../throughput.js';
import { bytesOf, frameAll, HIGH_WATER, LengthPrefixedReader, turn } from './common.js';
import type { Channel, ThroughputRig } from './channel.js';

/** Listens on 127.0.0.1 port 0 with `node:net`; resolves with the server and its port. */
export async function listenNet(onSocket: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as AddressInfo).port, close };
}

/** Dials 127.0.0.1:`port` with `node:net`. */
export function dialNet(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A `ws` server on 127.0.0.1 port 0; resolves with its port and a close that ends every socket. */
export async function listenWs(onSocket: (socket: WebSocket) => void) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', onSocket);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const close = async () => {
    for (const socket of server.clients) socket.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as AddressInfo).port, close };
}

/** Dials `ws://127.0.0.1:port` with `ws`. */
export async function dialWs(port: number): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/**
 * The server of every WebSocket system without its own server (raw ws, partysocket, RxJS
 * webSocket()): decodes each message (one body, or length-prefixed bodies when `batched`) and
 * counts it, or echoes it encoded again, the same way it came.
 */
export function rawWsServer(batched: boolean, echo: boolean, onArrive: () => void) {
  const packr = newPackr();
  return listenWs((socket) => {
    socket.on('message', (data) => {
      const bytes = bytesOf(data);
      const values: unknown[] = [];
      if (batched) new LengthPrefixedReader().push(bytes, (body) => values.push(packr.unpack(body)));
      else values.push(packr.unpack(bytes));
      if (!echo) return values.forEach(onArrive);
      const bodies = values.map((value) => packr.pack(value));
      if (batched) socket.send(frameAll(bodies));
      else for (const body of bodies) socket.send(body);
    });
  });
}

/** Decodes a length-prefixed stream from `socket`, calling `onValue` per body. */
function readNet(socket: net.Socket, onValues: (values: unknown[]) => void) {
  const packr = newPackr();
  const reader = new LengthPrefixedReader();
  socket.on('data', (chunk: Buffer) => {
    const values: unknown[] = [];
    reader.push(chunk, (body) => values.push(packr.unpack(body)));
    onValues(values);
  });
}

/** Raw `node:net`: one write per frame, or one buffer per turn. */
export function rawNetRig(batched: boolean): ThroughputRig {
  return {
    name: batched ? 'raw net, one buffer per turn' : 'raw net, one write per frame',
    wire: 'TCP',
    ...(batched ? { baseline: true as const } : {}),
    async open(echo, onArrive) {
      const server = await listenNet((socket) =>
        readNet(socket, (values) => {
          if (!echo) return values.forEach(onArrive);
          const packr = newPackr();
          const bodies = values.map((value) => packr.pack(value));
          if (batched) socket.write(frameAll(bodies));
          else for (const body of bodies) socket.write(frameAll([body]));
        }),
      );
      const socket = await dialNet(server.port);
      if (echo) readNet(socket, (values) => values.forEach(onArrive));
      return rawChannel(
        (bodies) => socket.write(frameAll(bodies)),
        batched,
        () => !socket.writableNeedDrain,
        async () => {
          socket.destroy();
          await server.close();
        },
      );
    },
  };
}

/** Raw `ws`: one message per frame, or one message of length-prefixed frames per turn. */
export function rawWsRig(batched: boolean): ThroughputRig {
  return {
    name: batched ? 'raw ws, one message per turn' : 'raw ws, one message per frame',
    wire: 'WebSocket',
    ...(batched ? { baseline: true as const } : {}),
    async open(echo, onArrive) {
      const server = await rawWsServer(batched, echo, onArrive);
      const socket = await dialWs(server.port);
      if (echo) {
        const packr = newPackr();
        socket.on('message', (data) => {
          const bytes = bytesOf(data);
          if (!batched) return (packr.unpack(bytes), onArrive());
          new LengthPrefixedReader().push(bytes, (body) => (packr.unpack(body), onArrive()));
        });
      }
      return rawChannel(
        (bodies) => (
          socket.send(batched ? frameAll(bodies) : bodies[0]!),
          socket.bufferedAmount < HIGH_WATER
        ),
        batched,
        () => socket.bufferedAmount < HIGH_WATER,
        async () => {
          socket.terminate();
          await server.close();
        },
      );
    },
  };
}

/** A channel writing each body at once, or a turn's bodies in one `write` when `batched`. */
function rawChannel(
  write: (bodies: Uint8Array[]) => boolean,
  batched: boolean,
  writable: () => boolean,
  close: () => Promise<void>,
): Channel {
  const packr = newPackr();
  let pending: Uint8Array[] = [];
  return {
    send: (payload) => {
      if (batched) return (pending.push(packr.pack(payload)), true);
      return write([packr.pack(payload)]);
    },
    flush: () => {
      if (!batched || pending.length === 0) return true;
      const ok = write(pending);
      pending = [];
      return ok;
    },
    drained: async () => {
      do await turn();
      while (!writable());
    },
    close,
  };
}
