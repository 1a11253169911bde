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
  type SessionStore,
  type Transport,
} from 'rx-lifeline';
import { tcp, tcpServer, websocketServer } from 'rx-lifeline/node';
import { redisSessionStore } from 'rx-lifeline/redis';
import { Redis } from 'ioredis';
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
  /** Where the server keeps sessions: `'redis'` outlives the process (see LIFELINE_STORE). @default 'memory' */
  readonly store?: 'memory' | 'redis';
}

/**
 * The environment variable that names the Redis of a variant with `store: 'redis'`: a unix socket
 * path (the storm starts a redis-server of its own and sets it) or a `redis://` URL.
 */
export const LIFELINE_STORE = 'LIFELINE_STORE';

/** The server process's session store: Redis for `store: 'redis'` (at LIFELINE_STORE), else memory. */
function sessionStore(variant: LifelineVariant): { store?: SessionStore; close(): Promise<void> } {
  if (variant.store !== 'redis') return { close: async () => undefined };
  const where = process.env[LIFELINE_STORE];
  if (!where) {
    throw new Error(
      `${LIFELINE_STORE} is not set: a lifeline variant with store 'redis' needs a Redis (a unix socket path or a redis:// URL)`,
    );
  }
  const redis = where.startsWith('/') ? new Redis({ path: where }) : new Redis(where);
  // A failure reaches the store's commands, which end their sessions typed; the event would only repeat it.
  redis.on('error', () => undefined);
  return {
    store: redisSessionStore(redis),
    close: async () => void (await redis.quit().catch(() => redis.disconnect())),
  };
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
  const { store, close: closeStore } = sessionStore(variant);
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
  const subscription = acceptSessions<unknown>(server$, store ? { store } : {}).subscribe({
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
  const close = async () => {
    subscription.unsubscribe();
    await closeStore();
  };
  return listening.then((bound) => ({ port: bound, links, close }));
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
    ...(variant.store === 'redis' ? { needs: 'redis' as const } : {}),
  };
}
