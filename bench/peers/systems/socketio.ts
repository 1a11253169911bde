// socket.io 4.8 as its delivery-guarantees guide recommends: connection state recovery on the
// server (server → client: missed packets replayed on a recovered reconnection), and the client's
// `retries` + `ackTimeout` (client → server: each event resent until the server acknowledges it).
// The WebSocket transport only (no long-polling): one TCP connection per client, which the proxy
// can count and cut.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import type { StormClient, SurvivalClient, System } from './peer.js';

/** The server's options: the documented defaults of connection state recovery. */
export const SOCKET_IO_SERVER = {
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true },
  transports: ['websocket' as const],
};
/** The client's options for at-least-once delivery, from socket.io's delivery-guarantees guide. */
export const SOCKET_IO_CLIENT = { retries: 3, ackTimeout: 10_000, transports: ['websocket'], forceNew: true };

function listen(port: number, onSocket: (socket: ServerSocket) => void) {
  const http: HttpServer = createServer();
  const server = new Server(http, SOCKET_IO_SERVER);
  server.on('connection', onSocket);
  return new Promise<{ port: number; close(): Promise<void> }>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () =>
      resolve({
        port: (http.address() as AddressInfo).port,
        close: () => new Promise((done) => void server.close(() => done())),
      }),
    );
  });
}

function survivalClient(
  port: number,
  onReceive: (n: unknown) => void,
  reconnection: { reconnectionDelay: number; reconnectionDelayMax: number },
): SurvivalClient {
  const socket: Socket = io(`http://127.0.0.1:${port}`, { ...SOCKET_IO_CLIENT, ...reconnection });
  socket.on('m', onReceive);
  return {
    connected: new Promise((resolve) => socket.once('connect', () => resolve())),
    send: (n) => void socket.emit('m', n),
    request: (n) => socket.timeout(SOCKET_IO_CLIENT.ackTimeout).emitWithAck('req', n),
    close: async () => void socket.disconnect(),
  };
}

function stormClient(port: number): StormClient {
  // socket.io's own reconnection defaults: 1 s doubling to 5 s, randomization factor 0.5.
  const socket: Socket = io(`http://127.0.0.1:${port}`, SOCKET_IO_CLIENT);
  let connects = 0;
  const client: StormClient = { connected: false, recovered: 0, fresh: 0, close: () => socket.disconnect() };
  socket.on('connect', () => {
    client.connected = true;
    if (connects++ > 0) client[socket.recovered ? 'recovered' : 'fresh']++;
  });
  socket.on('disconnect', () => (client.connected = false));
  return client;
}

/** socket.io as a {@link System}; `reconnection` sets the survival client's delays. */
export function socketIo(reconnection: { reconnectionDelay: number; reconnectionDelayMax: number }): System {
  return {
    survivalServer: async (onReceive) => {
      let current: ServerSocket | undefined;
      const server = await listen(0, (socket) => {
        current = socket; // a recovered socket has the old id: emits meanwhile were kept for it
        socket.on('m', (n: unknown, ack?: () => void) => (onReceive(n), ack?.()));
        socket.on('req', (n: unknown, ack?: (answer: unknown) => void) => ack?.(n));
      });
      return { port: server.port, send: (n) => void current?.emit('m', n), close: server.close };
    },
    survivalClient: (port, onReceive) => survivalClient(port, onReceive, reconnection),
    stormServer: (port) => listen(port, () => undefined),
    stormClient: (port) => stormClient(port),
  };
}
