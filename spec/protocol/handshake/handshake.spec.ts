import { expect } from 'chai';
import fc from 'fast-check';
import {
  acceptHandshake,
  acceptSessions,
  cancelPending,
  classifyFailure,
  type GaveUpError,
  handshake,
  HandshakeRefusedError,
  HandshakeTimeoutError,
  heartbeat,
  LifelineError,
  memory,
  PeerClosedError,
  policy,
  ProtocolError,
  reconnectWith,
  resumable,
  serveRequests,
  type AcceptHandshakeConfig,
  type AuthenticateRequest,
  type HandshakeConfig,
  type LayerName,
  type Link,
  type MemoryPair,
  type ServerSession,
  type TransportEvent,
} from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';
import { catchError, EMPTY, map, mergeMap, of, Subject, type Observable } from 'rxjs';
import { newTestScheduler } from '../../operators/support.js';
import { bentRecord, oddValue, unhandledDuring } from '../peer-input.js';

const ALL: readonly LayerName[] = ['heartbeat', 'resumable', 'requests'];

/** Every subset of the layers, in stacking order. */
const STACKS: readonly (readonly LayerName[])[] = [0, 1, 2, 3, 4, 5, 6, 7].map((bits) =>
  ALL.filter((_, i) => bits & (1 << i)),
);

interface Side {
  readonly events: { readonly type: string; readonly handshake?: unknown }[];
  error: unknown;
  readonly link: RecordingLink;
  readonly source: Subject<TransportEvent>;
}

function side(
  operator: (source: Observable<TransportEvent>) => Observable<TransportEvent>,
  remote: string,
): Side {
  const source = new Subject<TransportEvent>();
  const link = new RecordingLink({ info: { transport: 'recording', local: 'here', remote } });
  const result: Side = { events: [], error: undefined, link, source };
  operator(source).subscribe({
    next: (event) => result.events.push(event),
    error: (error: unknown) => (result.error = error),
  });
  source.next({ type: 'connected', link });
  return result;
}

/**
 * One handshake between a client and a server operator over recording links, hello and answer
 * carried by hand: `tamper` may replace the hello on its way. The server's connection ends after
 * its answer (as the socket does after a refusal), so a refused server side has its error.
 */
async function meet(
  client: HandshakeConfig,
  server: AcceptHandshakeConfig,
  tamper: (hello: unknown) => unknown = (hello) => hello,
): Promise<{ client: Side; server: Side; hello: unknown; answer: unknown }> {
  const c = side(handshake(client), '127.0.0.1:7000');
  await Promise.resolve();
  const hello = tamper(c.link.sent[0]);
  const s = side(acceptHandshake(server), '127.0.0.1:50000');
  s.source.next({ type: 'frame', frame: hello, address: 'there' } as TransportEvent);
  await new Promise((resolve) => setImmediate(resolve));
  const answer = s.link.sent[0];
  if (s.link.closed) s.source.complete();
  if (answer !== undefined)
    c.source.next({ type: 'frame', frame: answer, address: 'there' } as TransportEvent);
  return { client: c, server: s, hello, answer };
}

const refusedWith = (error: unknown) => (HandshakeRefusedError.is(error) ? error : undefined);

describe('handshake (wire v2)', () => {
  describe('every pair of stacks', () => {
    for (const clientLayers of STACKS) {
      for (const serverLayers of STACKS) {
        const name = (layers: readonly LayerName[]) => (layers.length ? layers.join('+') : 'nothing');
        it(`client ${name(clientLayers)} / server ${name(serverLayers)}`, async () => {
          const { client, server, answer } = await meet({ layers: clientLayers }, { layers: serverLayers });
          const serverOnly = serverLayers.filter((l) => !clientLayers.includes(l));
          const clientOnly = clientLayers.filter((l) => !serverLayers.includes(l));
          if (serverOnly.length === 0 && clientOnly.length === 0) {
            const layers = Object.fromEntries(clientLayers.map((l) => [l, l === 'heartbeat' ? 1 : 2]));
            expect(answer).to.deep.equal({ lifeline: 2, layers });
            expect(client.error).to.equal(undefined);
            expect(client.events).to.deep.equal([
              { type: 'connected', link: client.link, handshake: { layers } },
            ]);
            expect(server.events).to.deep.equal([
              { type: 'connected', link: server.link, handshake: { layers } },
            ]);
            return;
          }
          // Both sides fail, typed, with the same facts, and the server closed the connection.
          expect(client.events).to.deep.equal([]);
          expect(server.events).to.deep.equal([]);
          expect(server.link.closed).to.equal(true);
          for (const [error, where] of [
            [refusedWith(client.error), 'client'],
            [refusedWith(server.error), 'server'],
          ] as const) {
            expect(error, `${where} error`).to.not.equal(undefined);
            expect(error!.side).to.equal(where);
            expect(error!.reason).to.equal('layers');
            expect(error!.layers).to.deep.equal({ clientOnly, serverOnly, noCommonVersion: [] });
            expect(classifyFailure(error)).to.equal('permanent');
            // Each missing layer is named with where to pipe it.
            for (const layer of serverOnly) {
              expect(error!.message).to.include(`stacks ${layer} and`);
            }
            for (const layer of clientOnly) expect(error!.message).to.include(`stacks ${layer} and`);
          }
          if (serverOnly.includes('heartbeat')) {
            expect((client.error as Error).message).to.include(
              'pipe heartbeat() after handshake(), before reconnectWith() on the client',
            );
          }
          if (clientOnly.includes('requests')) {
            expect((server.error as Error).message).to.include(
              'pipe serveRequests() on each connection or session',
            );
          }
        });
      }
    }
  });

  describe('versions', () => {
    it('refuses a layer both stack with no version in common, naming it and both ranges', async () => {
      const { client, server, answer } = await meet(
        { layers: ['heartbeat'] },
        { layers: ['heartbeat'] },
        () => ({
          lifeline: [2, 2],
          layers: { heartbeat: [2, 3] },
        }),
      );
      expect(answer).to.deep.equal({ lifeline: 2, refused: 'version', layers: { heartbeat: [1, 1] } });
      const error = refusedWith(server.error)!;
      expect(error.reason).to.equal('version');
      expect(error.layers!.noCommonVersion).to.deep.equal(['heartbeat']);
      expect(error.message).to.include(
        'heartbeat: the client speaks heartbeat v2–3, the server heartbeat v1',
      );
      // The real client offered v1, so its own message compares what it offered.
      expect(refusedWith(client.error)!.reason).to.equal('version');
    });

    it('refuses a hello of another handshake version', async () => {
      const { server, answer } = await meet({ layers: [] }, { layers: [] }, () => ({
        lifeline: [3, 4],
        layers: {},
      }));
      expect((answer as { refused: string }).refused).to.equal('version');
      expect(refusedWith(server.error)!.reason).to.equal('version');
    });

    it('chooses the highest version both speak of each layer, within both ranges (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 0, max: 3 }),
          async (low, span) => {
            const range = [low, low + span] as const;
            const { answer, server } = await meet(
              { layers: ['resumable'] },
              { layers: ['resumable'] },
              () => ({
                lifeline: [2, 2],
                layers: { resumable: range },
              }),
            );
            // This implementation speaks resumable 1–2.
            const highest = Math.min(range[1], 2);
            if (highest >= Math.max(range[0], 1)) {
              expect(answer).to.deep.equal({ lifeline: 2, layers: { resumable: highest } });
              expect(server.error).to.equal(undefined);
            } else {
              expect((answer as { refused: string }).refused).to.equal('version');
            }
          },
        ),
      );
    });
  });

  describe('the application protocol', () => {
    const server: AcceptHandshakeConfig = { layers: [], app: { name: 'chat', versions: [2, 4] } };

    it('chooses the highest version both speak', async () => {
      const { client, answer } = await meet({ layers: [], app: { name: 'chat', versions: [1, 3] } }, server);
      expect(answer).to.deep.equal({ lifeline: 2, layers: {}, app: { name: 'chat', version: 3 } });
      expect(client.events[0]!.handshake).to.deep.equal({ layers: {}, app: { name: 'chat', version: 3 } });
    });

    for (const [name, app, says] of [
      ['another name', { name: 'news', versions: [2, 2] }, 'the client speaks news v2, the server chat v2–4'],
      [
        'no version in common',
        { name: 'chat', versions: [5, 6] },
        'the client speaks chat v5–6, the server chat v2–4',
      ],
      ['none at all', undefined, 'the client speaks none (no app option), the server chat v2–4'],
    ] as const) {
      it(`refuses a client with ${name} ('app', permanent)`, async () => {
        const { client, server: s } = await meet({ layers: [], ...(app ? { app } : {}) }, server);
        for (const error of [refusedWith(client.error)!, refusedWith(s.error)!]) {
          expect(error.reason).to.equal('app');
          expect(error.message).to.include(says);
          expect(classifyFailure(error)).to.equal('permanent');
        }
      });
    }

    it('a server without an app protocol accepts any, and says none', async () => {
      const { answer } = await meet({ layers: [], app: { name: 'chat', versions: [1, 1] } }, { layers: [] });
      expect(answer).to.deep.equal({ lifeline: 2, layers: {} });
    });
  });

  describe('credentials and authenticate', () => {
    it('hands authenticate the credentials and the connection, and keeps the identity on connected', async () => {
      const asked: AuthenticateRequest[] = [];
      const { server, hello } = await meet(
        { layers: ['heartbeat'], credentials: { token: 'letmein' } },
        {
          layers: ['heartbeat'],
          authenticate: (request) => {
            asked.push(request);
            return Promise.resolve({ user: 'ada' });
          },
        },
      );
      expect((hello as { credentials: unknown }).credentials).to.deep.equal({ token: 'letmein' });
      expect(asked).to.have.length(1);
      expect(asked[0]!.credentials).to.deep.equal({ token: 'letmein' });
      expect(asked[0]!.info.remote).to.equal('127.0.0.1:50000');
      expect(asked[0]!.handshake).to.deep.equal({ layers: { heartbeat: 1 } });
      expect(server.events[0]!.handshake).to.deep.equal({
        layers: { heartbeat: 1 },
        identity: { user: 'ada' },
      });
    });

    it('calls a credentials function once per connection, waiting for its Promise', async () => {
      let calls = 0;
      const credentials = () => Promise.resolve(`token-${++calls}`);
      const first = await meet(
        { layers: [], credentials },
        { layers: [], authenticate: (r) => r.credentials },
      );
      const second = await meet(
        { layers: [], credentials },
        { layers: [], authenticate: (r) => r.credentials },
      );
      expect(first.server.events[0]!.handshake).to.deep.equal({ layers: {}, identity: 'token-1' });
      expect(second.server.events[0]!.handshake).to.deep.equal({ layers: {}, identity: 'token-2' });
    });

    it('fails the connection with what a credentials function throws or its Promise rejects with, sending no hello', async () => {
      const denied = new Error('no token yet');
      for (const credentials of [
        () => {
          throw denied;
        },
        () => Promise.reject(denied),
        // A hand-written thenable whose then() throws: rejected with that, not thrown.
        () => ({
          then: () => {
            throw denied;
          },
        }),
      ]) {
        const client = side(handshake({ layers: [], credentials }), '127.0.0.1:7000');
        await new Promise((resolve) => setImmediate(resolve));
        expect(client.error).to.equal(denied);
        expect(client.link.sent).to.deep.equal([]);
      }
    });

    for (const verdict of [undefined, null, false]) {
      it(`refuses 'unauthorized' (permanent) when authenticate returns ${String(verdict)}`, async () => {
        const { client, server } = await meet(
          { layers: [], credentials: 'wrong' },
          { layers: [], authenticate: () => verdict },
        );
        expect(refusedWith(client.error)!.reason).to.equal('unauthorized');
        expect(refusedWith(client.error)!.message).to.include('turned the credentials down');
        expect(classifyFailure(client.error)).to.equal('permanent');
        expect(refusedWith(server.error)!.reason).to.equal('unauthorized');
        expect(server.events).to.deep.equal([]);
      });
    }

    it("refuses 'unavailable' (transient) when authenticate throws or rejects, with the cause on the server", async () => {
      const boom = new Error('auth backend down');
      for (const authenticate of [
        () => {
          throw boom;
        },
        () => Promise.reject(boom),
        () => ({
          then: () => {
            throw boom;
          },
        }),
      ]) {
        const { client, server } = await meet({ layers: [] }, { layers: [], authenticate });
        expect(refusedWith(client.error)!.reason).to.equal('unavailable');
        expect(classifyFailure(client.error)).to.equal('transient');
        expect(refusedWith(server.error)!.cause).to.equal(boom);
      }
    });

    it("an authenticate that fails with retryAfterMs sends the hint, and the client's policy waits that long", () => {
      const busy = Object.assign(new Error('auth backend busy'), { retryAfterMs: 2_000 });
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        pair.server
          .pipe(
            mergeMap((e) =>
              e.type === 'connection'
                ? e.connection.pipe(
                    acceptHandshake({
                      layers: [],
                      authenticate: () => {
                        throw busy;
                      },
                    }),
                    catchError(() => EMPTY),
                  )
                : EMPTY,
            ),
          )
          .subscribe();
        let refused: HandshakeRefusedError | undefined;
        const client = pair.transport.pipe(
          handshake({ layers: [] }),
          reconnectWith(policy.exponential({ initial: 10, max: 60_000 }).maxAttempts(2)),
          map((event) => {
            if (event.type !== 'disconnected') return event.type;
            refused = refusedWith(event.error);
            return `d${event.delay}`;
          }),
          named(),
        );
        // Refused at 15; the policy's 10 ms is raised to the server's 2,000; refused again at 2,030.
        expectObservable(client).toBe('15ms d 2014ms (x|)', { d: 'd2000', x: 'E:GaveUpError' });
        testScheduler.schedule(() => {
          expect(refused!.reason).to.equal('unavailable');
          expect(refused!.retryAfterMs).to.equal(2_000);
          expect(refused!.message).to.include('come back in 2000 ms');
        }, 20);
      });
    });

    it('a hint that is not a whole number of milliseconds up to a day is not sent', async () => {
      for (const retryAfterMs of [-1, 1.5, 86_400_001, '5']) {
        const error = Object.assign(new Error('busy'), { retryAfterMs });
        const { answer, client } = await meet(
          { layers: [] },
          { layers: [], authenticate: () => Promise.reject(error) },
        );
        expect(answer).to.not.have.property('retryAfterMs');
        expect(refusedWith(client.error)!.retryAfterMs).to.equal(undefined);
      }
    });

    it('a frame from the client while authenticate decides is a ProtocolError', async () => {
      const s = side(acceptHandshake({ layers: [], authenticate: () => new Promise(() => undefined) }), 'x');
      s.source.next({
        type: 'frame',
        frame: { lifeline: [2, 2], layers: {} },
        address: 'x',
      } as TransportEvent);
      s.source.next({ type: 'frame', frame: 'too soon', address: 'x' } as TransportEvent);
      expect(ProtocolError.is(s.error)).to.equal(true);
      expect((s.error as Error).message).to.include('before its hello was answered');
    });

    it('the identity reaches the server session (acceptSessions)', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        const identities: unknown[] = [];
        const sessions = acceptSessions(
          pair.server.pipe(
            map((event) =>
              event.type === 'connection'
                ? {
                    ...event,
                    connection: event.connection.pipe(
                      acceptHandshake({
                        layers: ['resumable'],
                        authenticate: (r) => ({ user: r.credentials }),
                      }),
                    ),
                  }
                : event,
            ),
          ),
        );
        sessions.subscribe((session: ServerSession) => {
          identities.push(session.identity);
          // It expires once the client is gone; that is not what this test is about.
          session.events$.subscribe({ error: () => undefined });
        });
        const client = pair.transport.pipe(
          handshake({ layers: ['resumable'], credentials: 'ada' }),
          reconnectWith(policy.constant(10).maxAttempts(2)),
          resumable(),
          map((event) => (event.type === 'connected' ? JSON.stringify(event.handshake) : event.type)),
        );
        // Connected at 5, hello there at 10, accept back at 15, resumable's hello and welcome by 25.
        expectObservable(client, '^ 50ms !').toBe('25ms c', { c: '{"layers":{"resumable":2}}' });
        testScheduler.schedule(() => expect(identities).to.deep.equal([{ user: 'ada' }]), 40);
      });
    });
  });

  describe('deadlines (virtual time)', () => {
    it('the client fails with HandshakeTimeoutError when the server never answers (transient)', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        pair.server.pipe(mergeMap((e) => (e.type === 'connection' ? e.connection : EMPTY))).subscribe();
        const client = pair.transport.pipe(
          handshake({ layers: [], timeout: 100 }),
          map((e) => e.type),
          named(),
        );
        expectObservable(client).toBe('105ms (x|)', { x: 'E:HandshakeTimeoutError' });
      });
      const error = new HandshakeTimeoutError('t', { after: 1 });
      expect(classifyFailure(error)).to.equal('transient');
    });

    it('the server closes a connection without a hello at its deadline from the accept, never extended', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        const server = pair.server.pipe(
          mergeMap((e) =>
            e.type === 'connection'
              ? e.connection.pipe(
                  acceptHandshake({ layers: [], timeout: 100 }),
                  map((x) => x.type),
                  named(),
                )
              : EMPTY,
          ),
        );
        // A client that says nothing, then a frame that is no hello would change nothing anyway.
        pair.transport.subscribe();
        expectObservable(server, '^ 200ms !').toBe('105ms x', { x: 'E:HandshakeTimeoutError' });
        testScheduler.schedule(() => expect(pair.openConnections).to.equal(0), 150);
      });
    });

    it('the server waits no longer than its deadline for an authenticate that never settles', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        const server = pair.server.pipe(
          mergeMap((e) =>
            e.type === 'connection'
              ? e.connection.pipe(
                  acceptHandshake({
                    layers: [],
                    timeout: 100,
                    authenticate: () => new Promise(() => undefined),
                  }),
                  map((x) => x.type),
                  named(),
                )
              : EMPTY,
          ),
        );
        const client = pair.transport.pipe(
          handshake({ layers: [], timeout: 1_000 }),
          map((e) => e.type),
          named(),
        );
        expectObservable(server, '^ 300ms !').toBe('105ms x', { x: 'E:HandshakeTimeoutError' });
        // The server's close reaches the client as an end before any answer.
        expectObservable(client, '^ 300ms !').toBe('110ms (x|)', { x: 'E:PeerClosedError' });
      });
    });
  });

  describe('lifeline wire v1 peers', () => {
    for (const [name, frame, refusal] of [
      ['a v1 session hello', [2, { v: [1, 1], received: 0 }], [4, { reason: 'version' }]],
      [
        'a v1 session hello inside a heartbeat',
        [0, [2, { v: [1, 2], received: 0 }]],
        [0, [4, { reason: 'version' }]],
      ],
      ['a plain frame', 'hello?', { lifeline: 2, refused: 'version', layers: { heartbeat: [1, 1] } }],
    ] as const) {
      it(`answers ${name} with a refusal it understands, and closes`, () => {
        const s = side(acceptHandshake({ layers: ['heartbeat'] }), '10.0.0.1:1');
        s.source.next({ type: 'frame', frame, address: 'x' } as TransportEvent);
        expect(s.link.sent).to.deep.equal([refusal]);
        expect(s.link.closed).to.equal(true);
        s.source.complete();
        const error = refusedWith(s.error)!;
        expect(error.reason).to.equal('version');
        expect(error.message).to.include('speaks lifeline wire v1');
      });
    }

    it('a v1 client stack fails for good on its first connection, not in a loop', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        const server = serveHandshaken(pair, ['heartbeat', 'resumable'], heartbeat());
        server.events.subscribe();
        const v1 = pair.transport.pipe(
          heartbeat(),
          reconnectWith(policy.constant(10).maxAttempts(5)),
          resumable(),
          map((e) => e.type),
          // Its resumable layer reads the refusal: no common version, a ProtocolError, for good.
          catchError((error: Error) => of(`${error.name}: ${error.message}`)),
        );
        expectObservable(v1).toBe('15ms (x|)', {
          x: 'ProtocolError: resumable: the server speaks no version in [1, 2] (refused: version); if it pipes acceptHandshake(), pipe handshake() first on this transport',
        });
        testScheduler.schedule(() => expect(server.accepted()).to.equal(1), 100);
      });
    });

    it('a v2 client facing a server without acceptHandshake is told so', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        // A v1 server: heartbeat only. Its heartbeat rejects the hello and closes.
        pair.server
          .pipe(
            mergeMap((e) =>
              e.type === 'connection'
                ? e.connection.pipe(
                    heartbeat(),
                    catchError(() => EMPTY),
                  )
                : EMPTY,
            ),
          )
          .subscribe();
        let message = '';
        const client = pair.transport.pipe(
          handshake({ layers: ['heartbeat'] }),
          map((e) => e.type),
          catchError((error: Error) => {
            message = error.message;
            return of(`E:${error.name}`);
          }),
        );
        expectObservable(client).toBe('15ms (x|)', { x: 'E:PeerClosedError' });
        testScheduler.schedule(() => expect(message).to.include('does not pipe acceptHandshake()'), 20);
      });
      expect(classifyFailure(new PeerClosedError('x', {}))).to.equal('transient');
    });
  });

  describe('a refusal ends reconnecting', () => {
    it('reconnectWith gives up after one attempt (permanent), the server saw one connection', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        const server = serveHandshaken(pair, ['heartbeat'], heartbeat());
        server.events.subscribe();
        const client = pair.transport.pipe(
          handshake({ layers: [] }),
          reconnectWith(policy.constant(10).maxAttempts(5)),
          map((e) => e.type),
          catchError((error: unknown) => {
            const gaveUp = error as GaveUpError;
            return of(`${gaveUp.reason}:${gaveUp.attempts}:${refusedWith(gaveUp.cause)?.reason}`);
          }),
        );
        expectObservable(client).toBe('15ms (x|)', { x: 'permanent:1:layers' });
        testScheduler.schedule(() => expect(server.accepted()).to.equal(1), 100);
      });
    });
  });

  describe('after the accept', () => {
    it('frames pass untouched both ways: the handshake costs nothing per frame', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        // A raw server: it records what arrives, answers the hello by hand at 10, then sends 'raw'.
        const frames: unknown[] = [];
        let serverLink: Link<unknown> | undefined;
        pair.server
          .pipe(mergeMap((e) => (e.type === 'connection' ? e.connection : EMPTY)))
          .subscribe((e) => (e.type === 'connected' ? (serverLink = e.link) : frames.push(e.frame)));
        testScheduler.schedule(() => {
          serverLink!.send({ lifeline: 2, layers: {} });
          serverLink!.send('raw');
        }, 10);
        const client = pair.transport.pipe(
          handshake<string, string>({ layers: [] }),
          map((e) => {
            if (e.type === 'connected') e.link.send('plain');
            return e.type === 'connected' ? 'c' : e.frame;
          }),
        );
        expectObservable(client, '^ 50ms !').toBe('15ms (cr)', { c: 'c', r: 'raw' });
        testScheduler.schedule(
          () => expect(frames).to.deep.equal([{ lifeline: [2, 2], layers: {} }, 'plain']),
          40,
        );
      });
    });
  });

  describe('each layer checks the handshake listed it', () => {
    const connected = { type: 'connected', link: new RecordingLink(), handshake: { layers: {} } } as const;
    for (const [name, operator] of [
      ['heartbeat()', () => heartbeat()],
      ['resumable()', () => resumable()],
      ['cancelPending()', () => cancelPending()],
      ['serveRequests()', () => serveRequests(() => 1)],
    ] as const) {
      it(`${name} fails with a TypeError naming the layer to add`, () => {
        const source = new Subject<TransportEvent>();
        let error: unknown;
        (source.pipe(operator() as never) as Observable<unknown>).subscribe({
          error: (e: unknown) => (error = e),
        });
        source.next(connected);
        expect(error).to.be.instanceOf(TypeError);
        expect((error as Error).message).to.match(
          /is piped, but the connection's handshake did not list '\w+'/,
        );
        expect((error as Error).message).to.include(name);
        expect((error as Error).message).to.include(
          ': add it to handshake({ layers }) on a client, acceptHandshake({ layers }) on a server',
        );
      });
    }

    it('a layer that receives a handshake frame says the handshake is missing on its side', () => {
      const hello = { lifeline: [2, 2], layers: {} };
      const answer = { lifeline: 2, layers: {} };
      for (const [operator, frame] of [
        [heartbeat(), hello],
        [resumable(), answer],
        [cancelPending(), answer],
        [serveRequests(() => 1), hello],
      ] as const) {
        const source = new Subject<TransportEvent>();
        let error: unknown;
        (source.pipe(operator as never) as Observable<unknown>).subscribe({
          error: (e: unknown) => (error = e),
        });
        source.next({ type: 'connected', link: new RecordingLink() });
        source.next({ type: 'frame', frame, address: 'x' } as TransportEvent);
        expect(ProtocolError.is(error), String(error)).to.equal(true);
        expect((error as Error).message).to.include('it is a lifeline handshake frame');
      }
    });

    it('acceptSessions() fails the server with the TypeError', () => {
      const connections = new Subject<{ type: 'connection'; connection: Observable<TransportEvent> }>();
      let error: unknown;
      acceptSessions(connections as never).subscribe({ error: (e: unknown) => (error = e) });
      connections.next({ type: 'connection', connection: of(connected) });
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.include("did not list 'resumable'");
    });
  });

  describe('a server session whose client stacks the requests layer', () => {
    it("refuses a plain send on session.link (TypeError), while serveRequests()'s link carries it", () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        const layers: LayerName[] = ['resumable', 'requests'];
        const refused: string[] = [];
        acceptSessions(
          pair.server.pipe(
            map((event) =>
              event.type === 'connection'
                ? { ...event, connection: event.connection.pipe(acceptHandshake({ layers })) }
                : event,
            ),
          ),
        ).subscribe((session) => {
          try {
            session.link.send('unwrapped');
          } catch (error) {
            refused.push((error as Error).message);
          }
          session.events$.pipe(serveRequests(() => 'answer')).subscribe({
            next: (event) => {
              if (event.type === 'connected') event.link.send('wrapped');
            },
            error: () => undefined,
          });
        });
        const client = pair.transport.pipe(
          handshake({ layers }),
          reconnectWith(policy.constant(10).maxAttempts(2)),
          resumable(),
          cancelPending(),
          map((event) => (event.type === 'frame' ? String(event.frame) : event.type)),
          named(),
        );
        // Handshake by 15; resumable's welcome and the wrapped frame arrive together at 25.
        expectObservable(client, '^ 60ms !').toBe('r 24ms (cw)', {
          r: 'request-link',
          c: 'connected',
          w: 'wrapped',
        });
        testScheduler.schedule(() => {
          expect(refused).to.have.length(1);
          expect(refused[0]).to.include(
            "send on the link of the 'connected' event that serveRequests() emits",
          );
        }, 50);
      });
    });
  });

  describe('hostile hellos', () => {
    const hellos = bentRecord(
      fc.record({
        lifeline: fc.oneof(fc.constant([2, 2]), fc.tuple(fc.integer(), fc.integer())),
        layers: fc.oneof(
          fc.constant({ heartbeat: [1, 1] }),
          fc.dictionary(fc.string({ maxLength: 70 }), fc.tuple(fc.integer(), fc.integer()), { maxKeys: 20 }),
        ),
        app: fc.option(fc.record({ name: fc.string(), versions: fc.tuple(fc.integer(), fc.integer()) }), {
          nil: undefined,
        }),
        credentials: oddValue,
      }),
    );

    it('any first frame is answered once and typed: accepted, or refused and closed; nothing thrown', async () => {
      const reported = await unhandledDuring(() =>
        fc.assert(
          fc.property(fc.oneof(hellos, oddValue), (frame) => {
            const s = side(acceptHandshake({ layers: ['heartbeat'], authenticate: () => 'x' }), 'x');
            s.source.next({ type: 'frame', frame, address: 'x' } as TransportEvent);
            s.source.complete();
            expect(s.link.sent).to.have.length(1);
            if (s.events.length === 1) {
              expect(s.events[0]!.type).to.equal('connected');
              expect(s.link.closed).to.equal(false);
            } else {
              expect(s.link.closed).to.equal(true);
              expect(HandshakeRefusedError.is(s.error)).to.equal(true);
              expect(['version', 'layers', 'app', 'malformed']).to.include(
                (s.error as HandshakeRefusedError).reason,
              );
            }
          }),
          { numRuns: 2_000 },
        ),
      );
      expect(reported).to.deep.equal([]);
    });

    it('any answer a client gets is an accept it checks, or a typed error', async () => {
      const answers = fc.oneof(
        oddValue,
        bentRecord(fc.record({ lifeline: fc.constant(2), layers: fc.constant({ heartbeat: 1 }) })),
        bentRecord(fc.record({ lifeline: fc.constant(2), refused: fc.constantFrom('layers', 'bogus') })),
      );
      const reported = await unhandledDuring(() =>
        fc.assert(
          fc.property(answers, (answer) => {
            const c = side(handshake({ layers: ['heartbeat'] }), 'x');
            c.source.next({ type: 'frame', frame: answer, address: 'x' } as TransportEvent);
            if (c.events.length === 1) {
              expect(c.events[0]!.handshake).to.deep.equal({ layers: { heartbeat: 1 } });
            } else {
              expect(LifelineError.is(c.error), String(c.error)).to.equal(true);
            }
          }),
          { numRuns: 2_000 },
        ),
      );
      expect(reported).to.deep.equal([]);
    });
  });

  describe('options', () => {
    it('say what is wrong, by name', () => {
      expect(() => handshake(undefined as never)).to.throw(TypeError, 'handshake: needs { layers }');
      expect(() => handshake({ layer: [] } as never)).to.throw(TypeError, /layer.*did you mean 'layers'/);
      expect(() => handshake({ layers: ['hearbeat'] } as never)).to.throw(
        TypeError,
        `handshake: layers: "hearbeat" is not a layer; the layers are 'heartbeat', 'resumable', 'requests'`,
      );
      expect(() => handshake({ layers: ['heartbeat', 'heartbeat'] })).to.throw(
        TypeError,
        "names 'heartbeat' twice",
      );
      expect(() => handshake({ layers: [], app: { name: 'x', versions: [2, 1] } })).to.throw(
        TypeError,
        'app must be',
      );
      expect(() => handshake({ layers: [], timeout: 0 })).to.throw(TypeError, 'timeout must be a number > 0');
      expect(() => acceptHandshake({ layers: [], authenticate: 'yes' } as never)).to.throw(
        TypeError,
        'acceptHandshake: authenticate must be a function',
      );
      expect(() => acceptHandshake({ layers: [], authenticat: () => 1 } as never)).to.throw(
        TypeError,
        /did you mean 'authenticate'/,
      );
    });

    it('a handshake piped after reconnectWith is a TypeError naming the right place', () => {
      const source = new Subject<{ type: string }>();
      let error: unknown;
      source.pipe(handshake({ layers: [] }) as never).subscribe({ error: (e: unknown) => (error = e) });
      source.next({ type: 'disconnected' });
      expect((error as Error).message).to.include('pipe handshake() first, right on the transport');
    });
  });
});

/**
 * A memory server whose connections go through acceptHandshake, then `next`; errors swallowed.
 * `accepted()` counts the connections it saw.
 */
function serveHandshaken(
  pair: MemoryPair,
  layers: LayerName[],
  next: (source: Observable<TransportEvent>) => Observable<unknown>,
): { events: Observable<unknown>; accepted: () => number } {
  let accepted = 0;
  const events = pair.server.pipe(
    mergeMap((e) => {
      if (e.type !== 'connection') return EMPTY;
      accepted++;
      return e.connection.pipe(
        acceptHandshake({ layers }),
        next,
        catchError(() => EMPTY),
      );
    }),
  );
  return { events, accepted: () => accepted };
}

/** Maps an error to `E:<name>` and completes. */
function named<T>(): (source: Observable<T>) => Observable<T | string> {
  return catchError((error: Error) => of(`E:${error.name}`));
}
