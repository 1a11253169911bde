// partysocket: a reconnecting WebSocket client whose send() queues messages while the socket is
// not open (maxEnqueuedMessages, unbounded by default). It has no acknowledgements, no requests
// and no sessions; its server here is a plain `ws` server, which has no buffer of its own.
import type { AddressInfo } from 'node:net';
import PartySocket from 'partysocket/ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { StormClient, SurvivalClient, System } from './peer.js';

function listen(port: number, onSocket: (socket: WebSocket) => void) {
  const server = new WebSocketServer({ host: '127.0.0.1', port });
  server.on('connection', onSocket);
  return new Promise<{ port: number; close(): Promise<void> }>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => {
          for (const client of server.clients) client.terminate();
          return new Promise((done) => server.close(() => done()));
        },
      }),
    );
  });
}

function survivalClient(
  port: number,
  onReceive: (n: unknown) => void,
  reconnection: { minReconnectionDelay: number; maxReconnectionDelay: number },
): SurvivalClient {
  const socket = new PartySocket(`ws://127.0.0.1:${port}`, undefined, { WebSocket, ...reconnection });
  socket.addEventListener('message', (event) => onReceive(Number(event.data)));
  return {
    connected: new Promise((resolve) => socket.addEventListener('open', () => resolve(), { once: true })),
    send: (n) => socket.send(String(n)),
    close: async () => socket.close(),
  };
}

function stormClient(port: number): StormClient {
  // partysocket's own defaults: 3 s growing ×1.3 to 10 s, no jitter.
  const socket = new PartySocket(`ws://127.0.0.1:${port}`, undefined, { WebSocket });
  let connects = 0;
  const client: StormClient = { connected: false, recovered: 0, fresh: 0, close: () => socket.close() };
  socket.addEventListener('open', () => {
    client.connected = true;
    if (connects++ > 0) client.fresh++; // no sessions: every reconnection starts afresh
  });
  socket.addEventListener('close', () => (client.connected = false));
  return client;
}

/** partysocket as a {@link System}; `reconnection` sets the survival client's delays. */
export function partysocket(reconnection: {
  minReconnectionDelay: number;
  maxReconnectionDelay: number;
}): System {
  return {
    survivalServer: async (onReceive) => {
      let current: WebSocket | undefined;
      const server = await listen(0, (socket) => {
        current = socket;
        socket.on('message', (data) => onReceive(Number(String(data))));
      });
      return {
        port: server.port,
        // Nothing to send on while the client is away: those messages are lost, and counted so.
        send: (n) => current?.readyState === WebSocket.OPEN && current.send(String(n)),
        close: server.close,
      };
    },
    survivalClient: (port, onReceive) => survivalClient(port, onReceive, reconnection),
    stormServer: (port) => listen(port, () => undefined),
    stormClient: (port) => stormClient(port),
  };
}
