// lifeline's full stack as the benchmarks assemble it (the same as bench/session.ts and the
// examples): on the client, handshake + heartbeat before reconnectWith, resumable (and the
// requests layer, cancelPending) after it; on the server, acceptHandshake + heartbeat on each
// connection, then acceptSessions (and serveRequests on each session).
import { map, type Observable } from 'rxjs';
import {
  acceptHandshake,
  acceptSessions,
  cancelPending,
  handshake,
  heartbeat,
  policy,
  reconnectWith,
  resumable,
  websocket,
  type LayerName,
  type ServerEvent,
} from 'rx-lifeline';
import { tcp, tcpServer, websocketServer } from 'rx-lifeline/node';
import { WebSocket } from 'ws';

/** The transport under a stack. */
export type StackTransport = 'tcp' | 'websocket';

/** Heartbeat on both ends: a ping every 5 s, a connection dead after 15 s of silence. */
export const HEARTBEAT = { interval: 5_000, timeout: 15_000 } as const;

/** Requests past the default 1,000 pending: the latency runs keep up to 1,000 in flight. */
export const MAX_PENDING = 2_000;

/** Connections and sessions a server accepts: room for the 10,000 idle sessions of the memory run. */
export const MAX_CONNECTIONS = 12_000;

const SESSION: LayerName[] = ['heartbeat', 'resumable'];
const WITH_REQUESTS: LayerName[] = [...SESSION, 'requests'];

const layersOf = (requests: boolean) => (requests ? WITH_REQUESTS : SESSION);

/** A plain lifeline listener on port 0 of 127.0.0.1. */
export function plainServer<T>(kind: StackTransport): Observable<ServerEvent<T>> {
  const options = { port: 0, host: '127.0.0.1', maxConnections: MAX_CONNECTIONS };
  return kind === 'tcp' ? tcpServer<T>(options) : websocketServer<T>(options);
}

/** A plain lifeline dial to `port` on 127.0.0.1. */
export function plainClient<T>(kind: StackTransport, port: number) {
  return kind === 'tcp'
    ? tcp<T>({ port, host: '127.0.0.1' })
    : websocket<T>({ url: `ws://127.0.0.1:${port}`, WebSocket });
}

/**
 * The server's sessions: each connection through acceptHandshake + heartbeat, then acceptSessions.
 * `onPort` hears the port it listens on.
 */
export function sessionServer<T>(kind: StackTransport, requests: boolean, onPort: (port: number) => void) {
  // The per-connection operators are made once and piped on every connection, as an application
  // would: each call of acceptHandshake() or heartbeat() makes its own settings.
  const accept = acceptHandshake({ layers: layersOf(requests) });
  const beat = heartbeat(HEARTBEAT);
  const server$ = plainServer<T>(kind).pipe(
    map((event) => {
      if (event.type === 'listening') onPort(event.port);
      if (event.type !== 'connection') return event;
      return { ...event, connection: event.connection.pipe(accept, beat) };
    }),
  );
  return acceptSessions<T>(server$, { maxSessions: MAX_CONNECTIONS });
}

/** The client's full stack: handshake + heartbeat + reconnectWith + resumable, to `port`. */
export function sessionClient<T>(kind: StackTransport, port: number, requests: boolean) {
  return plainClient<T>(kind, port).pipe(
    handshake({ layers: layersOf(requests) }),
    heartbeat(HEARTBEAT),
    reconnectWith(policy.constant(0)),
    resumable<T>(),
  );
}

/** The full stack with the requests layer on top. */
export function requestClient<T>(kind: StackTransport, port: number) {
  return sessionClient<T>(kind, port, true).pipe(cancelPending({ maxPending: MAX_PENDING }));
}
