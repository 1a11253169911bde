// The peers, each used as its docs show: socket.io 4.8 (server with connectionStateRecovery, client
// on the websocket transport), partysocket's reconnecting WebSocket and RxJS's webSocket() subject
// (both against the raw `ws` server, one message per frame). Every payload is a msgpackr body,
// as in lifeline and the raw baselines; socket.io then wraps it as a binary attachment.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import ReconnectingWebSocket from 'partysocket/ws';
import { webSocket } from 'rxjs/webSocket';
import { WebSocket } from 'ws';
import { newPackr } from '../throughput.js';
import { bytesOf, HIGH_WATER, turn } from './common.js';
import { rawWsServer } from './raw.js';
import type { Channel, ThroughputRig } from './channel.js';

/** socket.io's recommended reliability options, as its docs give them. */
export const SOCKET_IO_RECOVERY = {
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true },
} as const;

/** A socket.io server with connection state recovery on 127.0.0.1 port 0. */
export async function listenSocketIo() {
  const http = createServer();
  const io = new Server(http, SOCKET_IO_RECOVERY);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const close = () => new Promise<void>((resolve) => void io.close(() => resolve()));
  return { io, port: (http.address() as AddressInfo).port, close };
}

/** A socket.io client on the websocket transport only (no long-polling first), connected. */
export async function dialSocketIo(port: number): Promise<ClientSocket> {
  const socket = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Packets socket.io's client holds before its transport takes them. */
const writeBufferOf = (socket: ClientSocket) => socket.io.engine.writeBuffer.length;

export const socketIoRig: ThroughputRig = {
  name: 'socket.io 4.8, connectionStateRecovery',
  wire: 'WebSocket',
  async open(echo, onArrive) {
    const server = await listenSocketIo();
    server.io.on('connection', (socket) => {
      const packr = newPackr();
      socket.on('m', (data: unknown) => {
        const value: unknown = packr.unpack(bytesOf(data));
        if (echo) socket.emit('m', packr.pack(value));
        else onArrive();
      });
    });
    const client = await dialSocketIo(server.port);
    const packr = newPackr();
    if (echo) client.on('m', (data: unknown) => (packr.unpack(bytesOf(data)), onArrive()));
    return {
      send: (payload) => (client.emit('m', packr.pack(payload)), writeBufferOf(client) < 1000),
      flush: () => true,
      drained: async () => {
        do await turn();
        while (writeBufferOf(client) >= 1000);
      },
      close: async () => {
        client.disconnect();
        await server.close();
      },
    };
  },
};

export const partySocketRig: ThroughputRig = {
  name: 'partysocket (reconnecting WebSocket)',
  wire: 'WebSocket',
  async open(echo, onArrive) {
    const server = await rawWsServer(false, echo, onArrive);
    const client = new ReconnectingWebSocket(`ws://127.0.0.1:${server.port}`, [], { WebSocket });
    client.binaryType = 'arraybuffer';
    await new Promise<void>((resolve) => client.addEventListener('open', () => resolve(), { once: true }));
    const packr = newPackr();
    if (echo) client.addEventListener('message', (e) => (packr.unpack(bytesOf(e.data)), onArrive()));
    return {
      send: (payload) => (
        client.send(packr.pack(payload) as Uint8Array<ArrayBuffer>),
        client.bufferedAmount < HIGH_WATER
      ),
      flush: () => true,
      drained: async () => {
        do await turn();
        while (client.bufferedAmount >= HIGH_WATER);
      },
      close: async () => {
        client.close();
        await server.close();
      },
    };
  },
};

export const rxjsWebSocketRig: ThroughputRig = {
  name: 'RxJS webSocket() (ws as WebSocketCtor)',
  wire: 'WebSocket',
  async open(echo, onArrive) {
    const server = await rawWsServer(false, echo, onArrive);
    const packr = newPackr();
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const subject = webSocket<unknown>({
      url: `ws://127.0.0.1:${server.port}`,
      WebSocketCtor: WebSocket as unknown as typeof globalThis.WebSocket,
      binaryType: 'arraybuffer',
      serializer: (value) => packr.pack(value),
      deserializer: (e: MessageEvent) => packr.unpack(bytesOf(e.data)),
      openObserver: { next: () => opened() },
    });
    const sub = subject.subscribe(() => onArrive());
    await open;
    // webSocket() gives no backpressure signal: the driver paces it by one burst per turn.
    const channel: Channel = {
      send: (payload) => (subject.next(payload), true),
      flush: () => true,
      drained: turn,
      close: async () => {
        sub.unsubscribe();
        await server.close();
      },
    };
    return channel;
  },
};
