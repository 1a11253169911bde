// The wire v2 handshake over real loopback sockets (127.0.0.1, port 0), for TCP and for WebSocket:
// the whole stack on both sides, and each way a handshake is refused, as a client sees it and as the
// server sees it. Everything waits on events, never on a clock, and leaves nothing open.
import { expect } from 'chai';
import { catchError, EMPTY, filter, firstValueFrom, map, mergeMap, tap, type Observable } from 'rxjs';
import { WebSocket } from 'ws';
import {
  acceptHandshake,
  acceptSessions,
  cancelPending,
  classifyFailure,
  GaveUpError,
  handshake,
  HandshakeRefusedError,
  heartbeat,
  PeerClosedError,
  policy,
  ProtocolError,
  reconnectWith,
  resumable,
  serveRequests,
  websocket,
  type AuthenticateRequest,
  type HandshakeResult,
  type LayerName,
  type RequestLink,
  type ServerEvent,
  type ServerSession,
  type SessionServerConnection,
  type Transport,
} from 'rx-lifeline';
import { tcp, tcpServer, websocketServer } from 'rx-lifeline/node';
import type { Outcome } from '../../support/loopback.js';

/** One socket transport: its server, and a client dialling it. */
interface Kind {
  readonly name: 'TCP' | 'WebSocket';
  /** `LinkInfo.transport` on an accepted connection. */
  readonly transport: 'tcp' | 'websocket';
  server(): Observable<ServerEvent<unknown, unknown>>;
  dial(port: number): Transport<unknown, unknown>;
}

const KINDS: readonly Kind[] = [
  { name: 'TCP', transport: 'tcp', server: () => tcpServer(), dial: (port) => tcp({ port }) },
  {
    name: 'WebSocket',
    transport: 'websocket',
    server: () => websocketServer(),
    dial: (port) => websocket({ url: `ws://127.0.0.1:${port}`, WebSocket }),
  },
];

const FULL_STACK: readonly LayerName[] = ['heartbeat', 'resumable', 'requests'];

type Connection = SessionServerConnection['connection'];

/** A server whose every connection is piped through `pipeConnection` and watched to its end. */
interface Listener {
  /** Cold: the server listens once subscribed (directly, or by acceptSessions). */
  readonly server$: Observable<SessionServerConnection>;
  /** The port it listens on, once subscribed. */
  readonly port: Promise<number>;
  /** How each accepted connection's piped stream ended, in order of acceptance. */
  readonly ends: Promise<Outcome>[];
}

function listen(
  kind: Kind,
  pipeConnection: (connection: Transport<unknown, unknown>) => Connection,
): Listener {
  let listening!: (port: number) => void;
  let failed!: (error: unknown) => void;
  const port = new Promise<number>((resolve, reject) => {
    listening = resolve;
    failed = reject;
  });
  const ends: Promise<Outcome>[] = [];
  const server$ = kind.server().pipe(
    tap({ next: (event) => event.type === 'listening' && listening(event.port), error: failed }),
    filter((event) => event.type === 'connection'),
    map((event): SessionServerConnection => {
      let settle!: (outcome: Outcome) => void;
      ends.push(new Promise<Outcome>((resolve) => (settle = resolve)));
      return {
        type: 'connection',
        connection: pipeConnection(event.connection).pipe(
          tap({ error: (error: unknown) => settle({ error }), complete: () => settle('complete') }),
        ),
      };
    }),
  );
  return { server$, port, ends };
}

/** Subscribes each connection of `listener` on its own (no sessions); a failed one ends quietly. */
function servePlain(listener: Listener): { stop(): void } {
  const subscription = listener.server$
    .pipe(mergeMap((event) => event.connection.pipe(catchError(() => EMPTY))))
    .subscribe();
  return { stop: () => subscription.unsubscribe() };
}

/** A client stream, subscribed: the types of its events, its `connected` events' handshakes, its end. */
interface Client {
  readonly types: string[];
  readonly handshakes: (HandshakeResult | undefined)[];
  readonly outcome: Promise<Outcome>;
  stop(): void;
}

function subscribeClient(stream: Observable<{ readonly type: string }>): Client {
  const types: string[] = [];
  const handshakes: (HandshakeResult | undefined)[] = [];
  let settle!: (outcome: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
  const subscription = stream.subscribe({
    next: (event) => {
      types.push(event.type);
      if (event.type === 'connected') handshakes.push((event as { handshake?: HandshakeResult }).handshake);
    },
    error: (error: unknown) => settle({ error }),
    complete: () => settle('complete'),
  });
  return { types, handshakes, outcome, stop: () => subscription.unsubscribe() };
}

/** The error an outcome holds; fails the test if the stream completed. */
async function errorOf(outcome: Promise<Outcome>): Promise<unknown> {
  const ended = await outcome;
  if (ended === 'complete') throw new Error('expected the stream to fail, but it completed');
  return ended.error;
}

/** `error` as a HandshakeRefusedError; fails the test, naming what it was, if it is not one. */
function asRefusal(error: unknown): HandshakeRefusedError {
  expect(HandshakeRefusedError.is(error), `expected a HandshakeRefusedError, got ${String(error)}`).to.equal(
    true,
  );
  return error as HandshakeRefusedError;
}

/**
 * A session server over `kind` whose connections stack the handshake (heartbeat + resumable) and
 * heartbeat: its listener, the sessions it opened, its subscription and its port.
 */
async function heartbeatSessions(kind: Kind) {
  const listener = listen(kind, (connection) =>
    connection.pipe(acceptHandshake({ layers: ['heartbeat', 'resumable'] }), heartbeat()),
  );
  const sessions: ServerSession[] = [];
  const serving = acceptSessions(listener.server$).subscribe((session) => sessions.push(session));
  return { listener, sessions, serving, port: await listener.port };
}

for (const kind of KINDS) {
  describe(`handshake over loopback ${kind.name}`, () => {
    it('a full stack accepts: a request round-trips and the session carries the identity authenticate returned', async () => {
      const identity = { user: 'ada', via: kind.name };
      const asked: AuthenticateRequest[] = [];
      const authenticate = (request: AuthenticateRequest) => {
        asked.push(request);
        return (request.credentials as { token?: unknown } | undefined)?.token === 't' ? identity : undefined;
      };
      const listener = listen(kind, (connection) =>
        connection.pipe(acceptHandshake({ layers: FULL_STACK, authenticate }), heartbeat()),
      );
      const sessions: ServerSession[] = [];
      const handled: unknown[] = [];
      const serving = acceptSessions(listener.server$)
        .pipe(
          mergeMap((session) => {
            sessions.push(session);
            return session.events$.pipe(
              serveRequests((payload: string) => {
                handled.push(payload);
                return payload.toUpperCase();
              }),
              catchError(() => EMPTY),
            );
          }),
        )
        .subscribe();
      const port = await listener.port;

      let link: RequestLink<string> | undefined;
      const client = subscribeClient(
        kind.dial(port).pipe(
          handshake({ layers: FULL_STACK, credentials: { token: 't' } }),
          heartbeat(),
          reconnectWith(policy.exponential({ initial: 10, max: 100 })),
          resumable(),
          cancelPending<string>(),
          tap((event) => {
            if (event.type === 'request-link') link = event.link as RequestLink<string>;
          }),
        ),
      );
      try {
        expect(link, 'cancelPending emits its request link on subscribe').to.not.equal(undefined);
        expect(await firstValueFrom(link!.request<string>('ping'))).to.equal('PING');
        expect(handled).to.deep.equal(['ping']);

        // The client's `connected` carries the versions chosen (no identity on a client).
        expect(client.handshakes).to.deep.equal([{ layers: { heartbeat: 1, resumable: 2, requests: 2 } }]);
        expect(client.types).to.not.include('disconnected');

        expect(sessions).to.have.length(1);
        expect(sessions[0]!.identity).to.equal(identity);
        expect(listener.ends).to.have.length(1);

        expect(asked).to.have.length(1);
        const { credentials, info, handshake: result } = asked[0]!;
        expect(credentials).to.deep.equal({ token: 't' });
        expect(result).to.deep.equal({ layers: { heartbeat: 1, resumable: 2, requests: 2 } });
        expect(info.transport).to.equal(kind.transport);
        expect(info.remote.startsWith('127.0.0.1:'), info.remote).to.equal(true);
        if (kind.name === 'WebSocket') {
          expect(info.headers).to.be.an('object');
          expect(info.headers!['host']).to.equal(`127.0.0.1:${port}`);
          // The handshake's own headers, answered by ws, are not kept for the connection's life.
          expect(info.headers).to.not.have.any.keys(
            'connection',
            'upgrade',
            'sec-websocket-key',
            'sec-websocket-version',
            'sec-websocket-extensions',
          );
        } else {
          expect(info.headers).to.equal(undefined);
        }
      } finally {
        client.stop();
        serving.unsubscribe();
      }
    });

    it('a layer only the server stacks is refused once, for good, on both sides, naming heartbeat()', async () => {
      const { listener, sessions, serving, port } = await heartbeatSessions(kind);
      const client = subscribeClient(
        kind
          .dial(port)
          .pipe(
            handshake({ layers: ['resumable'] }),
            reconnectWith(policy.exponential({ initial: 10, max: 100 }).maxAttempts(5)),
            resumable(),
          ),
      );
      try {
        const error = await errorOf(client.outcome);
        expect(GaveUpError.is(error), String(error)).to.equal(true);
        const gaveUp = error as GaveUpError;
        expect(gaveUp.reason).to.equal('permanent');
        expect(gaveUp.attempts).to.equal(1);
        const refused = asRefusal(gaveUp.cause);
        expect(refused.side).to.equal('client');
        expect(refused.reason).to.equal('layers');
        expect(refused.layers).to.deep.equal({
          clientOnly: [],
          serverOnly: ['heartbeat'],
          noCommonVersion: [],
        });
        expect(refused.message).to.include('heartbeat()');
        expect(classifyFailure(refused)).to.equal('permanent');
        // Never connected, never retried: the policy gave up on the first failure.
        expect(client.types).to.deep.equal([]);

        const atServer = asRefusal(await errorOf(listener.ends[0]!));
        expect(atServer.side).to.equal('server');
        expect(atServer.reason).to.equal('layers');
        expect(atServer.layers?.serverOnly).to.deep.equal(['heartbeat']);
        // The client gave up and unsubscribed before this: no other dial can come.
        expect(listener.ends).to.have.length(1);
        expect(sessions).to.deep.equal([]);
      } finally {
        client.stop();
        serving.unsubscribe();
      }
    });

    it('a lifeline v1 client (no handshake) is refused with version: it fails for good with a ProtocolError', async () => {
      const { listener, sessions, serving, port } = await heartbeatSessions(kind);
      const client = subscribeClient(
        kind
          .dial(port)
          .pipe(
            heartbeat(),
            reconnectWith(policy.exponential({ initial: 10, max: 100 }).maxAttempts(5)),
            resumable(),
          ),
      );
      try {
        // The v1 client's resumable layer reads the [0, [4, { reason: 'version' }]] it was answered.
        const error = await errorOf(client.outcome);
        expect(ProtocolError.is(error), String(error)).to.equal(true);
        expect((error as ProtocolError).message).to.include('(refused: version)');
        expect(classifyFailure(error)).to.equal('permanent');
        expect(client.types).to.deep.equal([]);

        const atServer = asRefusal(await errorOf(listener.ends[0]!));
        expect(atServer.side).to.equal('server');
        expect(atServer.reason).to.equal('version');
        expect(atServer.message).to.include('v1');
        expect(listener.ends).to.have.length(1);
        expect(sessions).to.deep.equal([]);
      } finally {
        client.stop();
        serving.unsubscribe();
      }
    });

    it('a v2 client of a server without acceptHandshake() fails with a typed error naming acceptHandshake', async () => {
      const listener = listen(kind, (connection) => connection.pipe(heartbeat()));
      const server = servePlain(listener);
      const port = await listener.port;
      const client = subscribeClient(kind.dial(port).pipe(handshake({ layers: ['heartbeat'] }), heartbeat()));
      try {
        // The server's heartbeat reads the hello as no heartbeat envelope and drops the
        // connection without a byte: the client hears the close before any answer.
        const error = await errorOf(client.outcome);
        expect(PeerClosedError.is(error), String(error)).to.equal(true);
        expect((error as PeerClosedError).message).to.include('acceptHandshake()');
        expect(client.types).to.deep.equal([]);

        const atServer = await errorOf(listener.ends[0]!);
        expect(ProtocolError.is(atServer), String(atServer)).to.equal(true);
        expect(listener.ends).to.have.length(1);
      } finally {
        client.stop();
        server.stop();
      }
    });

    describe('credentials over the socket', () => {
      async function refusedBy(authenticate: (request: AuthenticateRequest) => unknown) {
        const listener = listen(kind, (connection) =>
          connection.pipe(acceptHandshake({ layers: ['heartbeat'], authenticate }), heartbeat()),
        );
        const server = servePlain(listener);
        const port = await listener.port;
        const client = subscribeClient(
          kind
            .dial(port)
            .pipe(handshake({ layers: ['heartbeat'], credentials: { token: 'wrong' } }), heartbeat()),
        );
        try {
          const atClient = asRefusal(await errorOf(client.outcome));
          const atServer = asRefusal(await errorOf(listener.ends[0]!));
          expect(client.types).to.deep.equal([]);
          expect(listener.ends).to.have.length(1);
          return { atClient, atServer };
        } finally {
          client.stop();
          server.stop();
        }
      }

      it('authenticate returning undefined refuses with unauthorized, a permanent failure', async () => {
        const asked: unknown[] = [];
        const { atClient, atServer } = await refusedBy(({ credentials }) => {
          asked.push(credentials);
          return undefined;
        });
        expect(asked).to.deep.equal([{ token: 'wrong' }]);
        expect(atClient.side).to.equal('client');
        expect(atClient.reason).to.equal('unauthorized');
        expect(classifyFailure(atClient)).to.equal('permanent');
        expect(atServer.side).to.equal('server');
        expect(atServer.reason).to.equal('unauthorized');
      });

      it('authenticate rejecting refuses with unavailable, a transient failure', async () => {
        const down = new Error('the user store is down');
        const { atClient, atServer } = await refusedBy(() => Promise.reject(down));
        expect(atClient.side).to.equal('client');
        expect(atClient.reason).to.equal('unavailable');
        expect(classifyFailure(atClient)).to.equal('transient');
        expect(atServer.side).to.equal('server');
        expect(atServer.reason).to.equal('unavailable');
        expect(atServer.cause).to.equal(down);
      });
    });
  });
}
