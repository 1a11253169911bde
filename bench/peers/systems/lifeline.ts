// lifeline's full stack: handshake + heartbeat + reconnectWith + resumable + cancelPending on the
// client (openSession), acceptHandshake + heartbeat + acceptSessions + serveRequests on the server,
// over TCP or over WebSocket.
import { firstValueFrom, map } from 'rxjs';
import {
  acceptHandshake,
  acceptSessions,
  cancelPending,
  handshake,
  HandshakeAdmission,
  heartbeat,
  openSession,
  reconnectWith,
  resumable,
  serveRequests,
  websocket,
  type Link,
  type RetryPolicy,
  type ServerEvent,
  type Transport,
} from 'rx-lifeline';
import { tcp, tcpServer, websocketServer } from 'rx-lifeline/node';
import { WebSocket } from 'ws';
import type { StormClient, SurvivalClient, System } from './peer.js';

const LAYERS = ['heartbeat', 'resumable', 'requests'] as const;
/** The README's heartbeat. */
const HEARTBEAT = { interval: 5_000, timeout: 15_000 } as const;
/** Requests time out after 10 s on every system that has them (socket.io's documented ackTimeout). */
export const REQUEST_TIMEOUT = 10_000;

/** A lifeline variant: the transport, the client's reconnect policy, the server's admission. */
export interface LifelineVariant {
  readonly kind: 'tcp' | 'websocket';
  readonly policy: (random: () => number) => RetryPolicy;
  /** Handshakes per second the server admits with pushback; undefined: no admission control. */
  readonly admission?: { readonly perSecond: number; readonly burst: number };
}

/**
 * The session store of the server process. Only the memory store exists today: `LIFELINE_STORE`
 * (e.g. `redis://127.0.0.1:6379`) is the hook for the Redis store being built elsewhere, and is
 * ignored until it exists: every restart then loses every session, as the report says.
 */
function sessionStore(): undefined {
  const wanted = process.env.LIFELINE_STORE;
  if (wanted) console.warn(`LIFELINE_STORE=${wanted} is ignored: only the memory store exists yet`);
  return undefined;
}

function listen(kind: LifelineVariant['kind'], port: number) {
  const host = '127.0.0.1';
  return kind === 'tcp' ? tcpServer({ host, port }) : websocketServer({ host, port });
}

function dial(kind: LifelineVariant['kind'], port: number): Transport<unknown> {
  return kind === 'tcp'
    ? tcp<unknown>({ host: '127.0.0.1', port })
    : websocket<unknown>({ url: `ws://127.0.0.1:${port}`, WebSocket });
}

/**
 * Listens on `port`; every session's plain frames go to `onFrame`, its requests are answered with
 * their payload, and `links` holds the newest link of each session (for the server to stream on).
 */
function sessionServer(variant: LifelineVariant, port: number, onFrame: (frame: unknown) => void) {
  sessionStore();
  const admission = variant.admission && new HandshakeAdmission(variant.admission);
  const links = new Map<string, Link<unknown>>();
  let resolvePort!: (port: number) => void;
  let rejectPort!: (error: unknown) => void;
  const listening = new Promise<number>(
    (resolve, reject) => ((resolvePort = resolve), (rejectPort = reject)),
  );
  const server$ = listen(variant.kind, port).pipe(
    map((event: ServerEvent) => {
      if (event.type === 'listening') resolvePort(event.port);
      if (event.type !== 'connection') return event;
      const connection = event.connection.pipe(
        acceptHandshake({ layers: LAYERS, ...(admission ? { admission } : {}) }),
        heartbeat(HEARTBEAT),
      );
      return { ...event, connection };
    }),
  );
  const subscription = acceptSessions<unknown>(server$).subscribe({
    next: (session) =>
      session.events$.pipe(serveRequests((n: unknown) => n)).subscribe({
        next: (event) => {
          if (event.type === 'connected') links.set(session.id, event.link);
          else if (event.type === 'frame') onFrame(event.frame);
        },
        error: () => links.delete(session.id),
        complete: () => links.delete(session.id),
      }),
    error: rejectPort,
  });
  return listening.then((bound) => ({ port: bound, links, close: async () => subscription.unsubscribe() }));
}

/** The client's full stack, as an openSession() session. */
function sessionClient(variant: LifelineVariant, port: number, random: () => number) {
  return openSession(
    dial(variant.kind, port).pipe(
      handshake({ layers: LAYERS }),
      heartbeat(HEARTBEAT),
      reconnectWith(variant.policy(random)),
      resumable({ onSessionLost: 'reset' }),
      cancelPending<unknown, unknown>({ timeout: REQUEST_TIMEOUT }),
    ),
  );
}

function survivalClient(
  variant: LifelineVariant,
  port: number,
  onReceive: (n: unknown) => void,
  random: () => number,
): SurvivalClient {
  const session = sessionClient(variant, port, random);
  const messages = session.messages$.subscribe(onReceive);
  const connected = new Promise<void>((resolve) =>
    session.state$.subscribe((state) => state.status === 'connected' && resolve()),
  );
  return {
    connected,
    send: (n) => void session.send(n),
    request: (n) => firstValueFrom(session.request(n, { idempotent: true })),
    close: async () => {
      session.close();
      messages.unsubscribe();
    },
  };
}

function stormClient(variant: LifelineVariant, port: number, random: () => number): StormClient {
  const session = sessionClient(variant, port, random);
  let connects = 0;
  let reset = false;
  const client: StormClient = {
    connected: false,
    recovered: 0,
    fresh: 0,
    close: () => {
      session.close();
      states.unsubscribe();
    },
  };
  const states = session.state$.subscribe((state) => {
    if (state.status === 'reset') reset = true;
    if (state.status !== 'connected') {
      client.connected = false;
      return;
    }
    client.connected = true;
    if (connects++ > 0) client[reset ? 'fresh' : 'recovered']++;
    reset = false;
  });
  return client;
}

/** lifeline as a {@link System}, in the given variant. */
export function lifeline(variant: LifelineVariant): System {
  return {
    survivalServer: async (onReceive) => {
      const server = await sessionServer(variant, 0, onReceive);
      return {
        port: server.port,
        send: (n) => {
          for (const link of server.links.values()) link.send(n);
        },
        close: server.close,
      };
    },
    survivalClient: (port, onReceive, random) => survivalClient(variant, port, onReceive, random),
    stormServer: (port) => sessionServer(variant, port, () => undefined),
    stormClient: (port, random) => stormClient(variant, port, random),
  };
}
