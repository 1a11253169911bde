import { expect } from 'chai';
import fc from 'fast-check';
import {
  acceptSessions,
  memory,
  memorySessionStore,
  ProtocolError,
  ServerCapacityError,
  SessionExpiredError,
  type AcceptSessionsConfig,
  type Link,
  type MemoryPair,
  type ServerSession,
  type SessionServerStats,
  type TransportEvent,
} from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';
import {
  catchError,
  map,
  mergeMap,
  of,
  Subject,
  tap,
  timer,
  VirtualTimeScheduler,
  type Observable,
} from 'rxjs';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TestScheduler } from 'rxjs/testing';
import { bentRecord, INT64_FRAME, oddValue, peerFrame, unhandledDuring } from '../peer-input.js';
import { newTestScheduler } from '../../operators/support.js';
import { earlyTimers } from '../../support/early-timers.js';
import { fieldOf } from '../../support/private-fields.js';

/** A session id no server gave out. */
const UNKNOWN = 'f'.repeat(32);
const ZEROS = '0'.repeat(32);

/** Each reply of the server as one letter: a welcome, or the reason of a refusal. */
const LETTERS: Record<string, string> = {
  'unknown-session': 'u',
  'bad-token': 'b',
  overloaded: 'o',
  version: 'v',
};

interface Welcome {
  readonly session: string;
  readonly token: string;
}

/**
 * A hand-made client on the raw transport: `script` runs on connect with a `send` that does nothing
 * once the connection closed. It shows `c` on connect, `w` per welcome (passed to `onWelcome`), the
 * letter of each refusal's reason, `|` when the server ends the connection.
 */
function peer(
  pair: MemoryPair,
  script: (send: (frame: unknown) => void) => void,
  onWelcome: (welcome: Welcome) => void = () => undefined,
): Observable<string> {
  return pair.transport.pipe(
    map((event) => {
      if (event.type === 'connected') {
        const link: Link<unknown> = event.link;
        script((frame) => {
          if (!link.closed) link.send(frame);
        });
        return 'c';
      }
      const [kind, body] = event.frame as [number, Welcome & { reason: string }];
      if (kind === 3) {
        onWelcome(body);
        return 'w';
      }
      return LETTERS[body.reason] ?? JSON.stringify(event.frame);
    }),
    catchError((error: Error) => of(`E:${error.name}`)),
  );
}

const hello = (session?: string, token?: string) =>
  session === undefined ? [2, { v: [1, 1], received: 0 }] : [2, { v: [1, 1], session, token, received: 0 }];

/** Starts a session server on `pair` and keeps its latest stats. */
function serve(
  pair: MemoryPair,
  config: AcceptSessionsConfig,
  onSession: (session: ServerSession) => void = () => undefined,
): { stats: () => SessionServerStats; stop: () => void } {
  const server = acceptSessions(pair.server, config);
  let latest: SessionServerStats | undefined;
  const watch = server.stats$.subscribe((stats) => (latest = stats));
  const running = server.subscribe(onSession);
  return {
    stats: () => latest!,
    stop: () => {
      running.unsubscribe();
      watch.unsubscribe();
    },
  };
}

/** Runs `work` at virtual time `at`. */
/** A server of one connection, driven by hand: `connect()` hands it to the server, connected on `link`. */
function oneConnection() {
  const server$ = new Subject<{
    readonly type: 'connection';
    readonly connection: Observable<TransportEvent>;
  }>();
  const connection = new Subject<TransportEvent>();
  const link = new RecordingLink();
  const connect = () => {
    server$.next({ type: 'connection', connection });
    connection.next({ type: 'connected', link });
  };
  return { server$, connection, link, connect };
}

function at(testScheduler: TestScheduler, time: number, work: () => void): void {
  testScheduler.schedule(work, time);
}

describe('acceptSessions', () => {
  describe('the handshake deadline', () => {
    it('runs from the accept: refused hellos do not extend it', () => {
      const testScheduler = newTestScheduler();
      let stats: (() => SessionServerStats) | undefined;
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        stats = serve(pair, { handshakeTimeout: 30, maxRefusedHellos: 100 }).stats;
        // A hello for an unknown session every 10 ms: refused at 3, 13 and 23; closed at 31 all the same.
        const stubborn = peer(pair, (send) => {
          for (const time of [0, 10, 20, 30, 40])
            testScheduler.schedule(() => send(hello(UNKNOWN, ZEROS)), time);
        });
        // prettier-ignore
        expectObservable(stubborn).toBe('-c-u 9ms u 9ms u 8ms |', { c: 'c', u: 'u' });
        at(testScheduler, 40, () => expect(pair.openConnections).to.equal(0));
      });
      expect(stats!().closed).to.deep.equal({ handshakeTimeout: 1, tooManyRefusals: 0, protocolError: 0 });
      expect(stats!().refused['unknown-session']).to.equal(3);
      expect(stats!().connections).to.equal(0);
    });

    it('closes a silent connection on time when its timers fire early', () => {
      const testScheduler = newTestScheduler();
      let stats: (() => SessionServerStats) | undefined;
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        stats = serve(pair, { handshakeTimeout: 30, scheduler: earlyTimers(testScheduler, 1) }).stats;
        // Accepted at 1, due at 31: the sweep that fires at 30 finds it not yet due and waits.
        // prettier-ignore
        expectObservable(peer(pair, () => undefined)).toBe('-c 30ms |', { c: 'c' });
      });
      expect(stats!().closed.handshakeTimeout).to.equal(1);
    });

    it('is forgotten once it passed: a connection keeps no number for it for its life', () => {
      const testScheduler = newTestScheduler();
      const sessions: ServerSession[] = [];
      const deadlines: unknown[] = [];
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        serve(pair, { handshakeTimeout: 30 }, (session) => sessions.push(session));
        // prettier-ignore
        expectObservable(peer(pair, (send) => send(hello())), '^ 60ms !').toBe('-c-w', { c: 'c', w: 'w' });
        const deadline = () => fieldOf(fieldOf(fieldOf(sessions[0], 'session'), 'connection'), 'deadline');
        // Accepted at 1, due at 31: the sweep that runs then forgets it.
        at(testScheduler, 10, () => deadlines.push(deadline()));
        at(testScheduler, 40, () => deadlines.push(deadline()));
      });
      expect(deadlines).to.deep.equal([31, undefined]);
    });

    it('a hello refused after it, on a connection that had a session, closes the connection at once', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        serve(pair, { handshakeTimeout: 30 });
        const late = peer(pair, (send) => {
          send(hello());
          testScheduler.schedule(() => send(hello(UNKNOWN, ZEROS)), 50);
        });
        // Welcomed at 3; the hello sent at 51 is refused at 53, and the connection ends with it.
        // prettier-ignore
        expectObservable(late).toBe('-c-w 49ms (u|)', { c: 'c', w: 'w', u: 'u' });
      });
    });

    it(`closes a connection at its maxRefusedHellos-th refusal (3 by default)`, () => {
      const testScheduler = newTestScheduler();
      let stats: (() => SessionServerStats) | undefined;
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        stats = serve(pair, {}).stats;
        const guesser = peer(pair, (send) => {
          for (let i = 0; i < 10; i++) send(hello(UNKNOWN, ZEROS));
        });
        // prettier-ignore
        expectObservable(guesser).toBe('-c-(uuu|)', { c: 'c', u: 'u' });
      });
      expect(stats!().refused['unknown-session']).to.equal(3);
      expect(stats!().closed.tooManyRefusals).to.equal(1);
    });

    it('closes each silent connection at its own deadline, a later one after an earlier one', () => {
      const testScheduler = newTestScheduler();
      let stats: (() => SessionServerStats) | undefined;
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        stats = serve(pair, { handshakeTimeout: 30 }).stats;
        // Accepted at 1 and 11: closed at 31 and 41, which the clients hear at 32 and 42.
        const silent = (time: number) => timer(time).pipe(mergeMap(() => peer(pair, () => undefined)));
        // prettier-ignore
        expectObservable(silent(0)).toBe('-c 30ms |', { c: 'c' });
        // prettier-ignore
        expectObservable(silent(10)).toBe('11ms c 30ms |', { c: 'c' });
      });
      expect(stats!().closed.handshakeTimeout).to.equal(2);
      expect(stats!().connections).to.equal(0);
    });

    it('is not counted as passed for a connection that ended before it', () => {
      const testScheduler = newTestScheduler();
      let stats: (() => SessionServerStats) | undefined;
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        stats = serve(pair, { handshakeTimeout: 30 }).stats;
        // The client leaves at 10, its deadline (31) still ahead.
        // prettier-ignore
        expectObservable(peer(pair, () => undefined), '^ 10ms !').toBe('-c', { c: 'c' });
        at(testScheduler, 50, () => expect(stats!().connections).to.equal(0));
      });
      expect(stats!().closed.handshakeTimeout).to.equal(0);
    });
  });

  it("counts its server's refused connections and connections that failed unheard in stats$", () => {
    const server$ = new Subject<
      Parameters<typeof acceptSessions>[0] extends Observable<infer E> ? E : never
    >();
    const server = acceptSessions(server$);
    let latest: SessionServerStats | undefined;
    const watch = server.stats$.subscribe((stats) => (latest = stats));
    const running = server.subscribe();
    const error = new ServerCapacityError('full', { reason: 'max-connections', limit: 1 });
    server$.next({ type: 'refused', reason: 'max-connections', remote: '127.0.0.1:1', total: 1, error });
    server$.next({
      type: 'refused',
      reason: 'max-pending-frame-bytes',
      remote: '127.0.0.1:2',
      total: 1,
      error,
    });
    server$.next({ type: 'refused', reason: 'max-connections', remote: '127.0.0.1:3', total: 2, error });
    expect(latest?.refusedConnections, 'each refusal is told at once').to.deep.equal({
      'max-connections': 2,
      'max-pending-frame-bytes': 1,
    });
    server$.next({
      type: 'connection-error',
      remote: '127.0.0.1:4',
      error: new ProtocolError('garbage', { offset: 0 }),
    });
    expect(latest).to.deep.include({
      refusedConnections: { 'max-connections': 2, 'max-pending-frame-bytes': 1 },
      connectionErrors: 1,
      connections: 0,
    });
    running.unsubscribe();
    watch.unsubscribe();
  });

  it('stats$ tells the counts at once on subscribe, then each change as it happens', () => {
    const testScheduler = newTestScheduler();
    const seen: Partial<SessionServerStats>[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const initial: SessionServerStats[] = [];
      acceptSessions(pair.server)
        .stats$.subscribe((stats) => initial.push(stats))
        .unsubscribe();
      expect(initial.map(({ connections, sessions }) => ({ connections, sessions }))).to.deep.equal([
        { connections: 0, sessions: 0 },
      ]);
      const server = serve(pair, { sessionTtl: 50 });
      const look = () => {
        const { connections, handshaking, sessions, refused } = server.stats();
        seen.push({ connections, handshaking, sessions, refused: { ...refused } });
      };
      // A client welcomed at 3 and gone at 10: its session expires 50 ms after the server saw it go.
      // prettier-ignore
      expectObservable(peer(pair, (send) => send(hello())), '^ 10ms !').toBe('-c-w', { c: 'c', w: 'w' });
      // One refused at 23, its connection still open.
      // prettier-ignore
      expectObservable(peer(pair, (send) => send(hello(UNKNOWN, ZEROS))), '20ms ^ 10ms !').toBe('21ms c-u', { c: 'c', u: 'u' });
      at(testScheduler, 25, look);
      at(testScheduler, 55, look);
      at(testScheduler, 65, look);
      at(testScheduler, 70, () => server.stop());
    });
    const refused = (unknown: number) => ({
      'unknown-session': unknown,
      'bad-token': 0,
      version: 0,
      overloaded: 0,
      locked: 0,
      store: 0,
    });
    expect(seen).to.deep.equal([
      { connections: 1, handshaking: 1, sessions: 1, refused: refused(1) },
      { connections: 0, handshaking: 0, sessions: 1, refused: refused(1) },
      { connections: 0, handshaking: 0, sessions: 0, refused: refused(1) },
    ]);
  });

  it('a second connection resuming a session closes the first, which is no longer counted', () => {
    const testScheduler = newTestScheduler();
    const seen: SessionServerStats[] = [];
    const events: string[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serve(pair, {}, (session) =>
        session.events$.subscribe((event) => events.push(`${event.type} at ${testScheduler.now()}`)),
      );
      let welcome: Welcome | undefined;
      const first = peer(
        pair,
        (send) => send(hello()),
        (w) => (welcome = w),
      );
      const second = peer(pair, (send) => send(hello(welcome!.session, welcome!.token)));
      at(testScheduler, 10, () => seen.push(server.stats()));
      // The first connection is still open (half-open, say) when the client dials again at 20.
      // prettier-ignore
      expectObservable(first, '^ 40ms !').toBe('-c-w 19ms |', { c: 'c', w: 'w' });
      // prettier-ignore
      expectObservable(second, '20ms ^ 20ms !').toBe('21ms c-w', { c: 'c', w: 'w' });
      at(testScheduler, 30, () => seen.push(server.stats()));
      at(testScheduler, 50, () => server.stop());
    });
    const counts = ({ connections, handshaking, sessions }: SessionServerStats) => ({
      connections,
      handshaking,
      sessions,
    });
    expect(seen.map(counts)).to.deep.equal([
      { connections: 1, handshaking: 0, sessions: 1 },
      { connections: 1, handshaking: 0, sessions: 1 },
    ]);
    // Its client gone at 40, the session waits for it.
    expect(events).to.deep.equal([
      'connected at 2',
      'disconnected at 22',
      'resumed at 22',
      'disconnected at 42',
    ]);
  });

  it('holds maxFrames events while events$ is not subscribed; one more ends the session, as a late subscriber hears', () => {
    const testScheduler = newTestScheduler();
    const sessions: ServerSession[] = [];
    const seen: string[][] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      const server = serve(pair, { maxFrames: 3 }, (session) => sessions.push(session));
      // connected and two frames: three events, as many as the session holds.
      peer(pair, (send) => [hello(), [0, 1, 'a'], [0, 2, 'b']].forEach(send)).subscribe();
      // One frame more than it holds.
      peer(pair, (send) => [hello(), [0, 1, 'a'], [0, 2, 'b'], [0, 3, 'c']].forEach(send)).subscribe();
      at(testScheduler, 5, () => {
        for (const session of sessions) {
          const events: string[] = [];
          seen.push(events);
          session.events$.subscribe({
            next: (event) => events.push(event.type === 'frame' ? String(event.frame) : event.type),
            error: (error: Error) => events.push(`E:${error.name}`),
            complete: () => events.push('complete'),
          });
        }
      });
      at(testScheduler, 10, () => server.stop());
    });
    // The first is alive when subscribed, and ends with the server at 10.
    expect(seen).to.deep.equal([
      ['connected', 'a', 'b', 'complete'],
      ['connected', 'a', 'b', 'E:ReplayBufferFullError'],
    ]);
  });

  it("unsubscribing a session's events$ ends the session, and its connection", () => {
    const testScheduler = newTestScheduler();
    const counts: number[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serve(pair, {}, (session) => {
        const subscription = session.events$.subscribe();
        at(testScheduler, 5, () => subscription.unsubscribe());
      });
      at(testScheduler, 4, () => counts.push(server.stats().sessions));
      at(testScheduler, 12, () => counts.push(server.stats().sessions));
      // prettier-ignore
      expectObservable(peer(pair, (send) => send(hello())), '^ 20ms !').toBe('-c-w 4ms |', { c: 'c', w: 'w' });
      at(testScheduler, 30, () => server.stop());
    });
    expect(counts).to.deep.equal([1, 0]);
  });

  it('unsubscribing drops the connection of a session that ended while it is still closing', () => {
    const { server$, connection, link, connect } = oneConnection();
    const sessions: ServerSession[] = [];
    const server = acceptSessions(server$, { scheduler: new VirtualTimeScheduler() });
    const running = server.subscribe((session) => {
      sessions.push(session);
      session.events$.subscribe();
    });
    connect();
    connection.next({ type: 'frame', frame: hello() });
    expect(sessions).to.have.length(1);
    // The application ends the session: its connection is asked to close, and is still open.
    sessions[0]!.link.close();
    expect(link.closeReason).to.equal('session closed');
    expect(connection.observed).to.equal(true);
    running.unsubscribe();
    expect(connection.observed).to.equal(false);
  });

  it('keeps nothing of a connection that ended: its link can be collected while the server runs', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const links: WeakRef<object>[] = [];
    const testScheduler = newTestScheduler();
    let server: { stop: () => void } | undefined;
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      // The server's side of each connection, as acceptSessions sees it, recorded weakly.
      const accepted = pair.server.pipe(
        map((event) =>
          event.type !== 'connection'
            ? event
            : {
                ...event,
                connection: event.connection.pipe(
                  tap((inner) => {
                    if (inner.type === 'connected') links.push(new WeakRef(inner.link));
                  }),
                ),
              },
        ),
      );
      server = serve({ ...pair, server: accepted }, {});
      for (let start = 0; start < 50; start += 10) {
        // prettier-ignore
        expectObservable(peer(pair, (send) => send(hello())), `${start}ms ^ 5ms !`).toBe(`${start + 1}ms c-w`, { c: 'c', w: 'w' });
      }
    });
    expect(links).to.have.length(5);
    // A WeakRef holds its target until the job that made it ends; a few rounds let the jobs other
    // specs left (their finalizers, their timers' callbacks) run too: a link still held then is held.
    const alive = () => links.filter((link) => link.deref() !== undefined).length;
    for (let round = 0; round < 3 && alive() > 0; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    expect(alive()).to.equal(0);
    server!.stop();
  });

  it('its counts come back to zero once every client of any mix of joins, resumes, takeovers and failures left', () => {
    // Each client dials at `start`, says `what`, and leaves `stay` ms later: a new session, a
    // resume of the latest session welcomed (a takeover if its connection is still open), a wrong
    // token, a frame that is not a hello, or nothing (the handshake deadline closes it).
    const client = fc.record({
      start: fc.integer({ min: 0, max: 100 }),
      stay: fc.integer({ min: 1, max: 60 }),
      what: fc.constantFrom('new', 'resume', 'bad-token', 'garbage', 'silent'),
    });
    fc.assert(
      fc.property(fc.array(client, { minLength: 1, maxLength: 12 }), (clients) => {
        const testScheduler = newTestScheduler();
        const looks: { connections: number; handshaking: number; sessions: number; open: number }[] = [];
        testScheduler.run(() => {
          const pair = memory({ latency: 1 });
          const server = serve(pair, { sessionTtl: 50, handshakeTimeout: 30 });
          let latest: Welcome | undefined;
          for (const { start, stay, what } of clients) {
            const say = (send: (frame: unknown) => void) => {
              if (what === 'new' || (what === 'resume' && !latest)) send(hello());
              else if (what === 'resume') send(hello(latest!.session, latest!.token));
              else if (what === 'bad-token') send(hello(latest?.session ?? UNKNOWN, ZEROS));
              else if (what === 'garbage') send([0, 'not a hello']);
            };
            at(testScheduler, start, () => {
              const running = peer(pair, say, (welcome) => (latest = welcome)).subscribe();
              testScheduler.schedule(() => running.unsubscribe(), stay);
            });
          }
          // Every client gone by 160, every session expired 50 ms later.
          at(testScheduler, 400, () => {
            const { connections, handshaking, sessions } = server.stats();
            looks.push({ connections, handshaking, sessions, open: pair.openConnections });
            server.stop();
          });
        });
        expect(looks).to.deep.equal([{ connections: 0, handshaking: 0, sessions: 0, open: 0 }]);
      }),
      { numRuns: 200 },
    );
  });

  it('resumes a session it holds even when it holds maxSessions, with a store', () => {
    const testScheduler = newTestScheduler();
    let stats: (() => SessionServerStats) | undefined;
    const welcomes: Welcome[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serve(pair, { store: memorySessionStore(), maxSessions: 1, sessionTtl: 1_000 });
      stats = server.stats;
      // With a store, it touches its sessions on a timer: it is stopped once the clients are done.
      at(testScheduler, 50, () => server.stop());
      // prettier-ignore
      expectObservable(peer(pair, (send) => send(hello()), (w) => welcomes.push(w)), '^ 10ms !').toBe('-c-w');
      const resume = timer(20).pipe(
        mergeMap(() => peer(pair, (send) => send(hello(welcomes[0]!.session, welcomes[0]!.token)))),
      );
      // prettier-ignore
      expectObservable(resume, '^ 40ms !').toBe('21ms c-w');
      // A new session is refused: the one held is all it may hold.
      const fresh = timer(30).pipe(mergeMap(() => peer(pair, (send) => send(hello()))));
      // prettier-ignore
      expectObservable(fresh, '^ 40ms !').toBe('31ms c-(o|)');
    });
    expect(stats!().refused.overloaded).to.equal(1);
  });

  it('ends a session its client left sessionTtl later, with a SessionExpiredError saying how long it waited', () => {
    const testScheduler = newTestScheduler();
    const ended: unknown[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      serve(pair, { sessionTtl: 100 }, (session) =>
        session.events$.subscribe({ error: (error: unknown) => ended.push([testScheduler.now(), error]) }),
      );
      // prettier-ignore
      expectObservable(peer(pair, (send) => send(hello())), '^ 10ms !').toBe('-c-w', { c: 'c', w: 'w' });
    });
    // The server heard the client leave at 12: expired at 112.
    expect(ended).to.have.length(1);
    const [at, error] = ended[0] as [number, SessionExpiredError];
    expect(at).to.equal(112);
    expect(SessionExpiredError.is(error) && error.idleFor).to.equal(100);
    expect(error.message).to.match(/expired after 100 ms without a connection/);
  });

  it('takes a data frame numbered 0 for a protocol error: frames count from 1', () => {
    const testScheduler = newTestScheduler();
    let stats: (() => SessionServerStats) | undefined;
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      stats = serve(pair, {}).stats;
      const bad = peer(pair, (send) => {
        send(hello());
        testScheduler.schedule(() => send([0, 0, 'x']), 5);
      });
      // Sent at 6, it reaches the server at 7, which closes the connection: the client hears it at 8.
      // prettier-ignore
      expectObservable(bad, '^ 20ms !').toBe('-c-w 4ms |', { c: 'c', w: 'w' });
    });
    expect(stats!().closed.protocolError).to.equal(1);
  });

  describe('token guesses', () => {
    it('a wrong token locks its session for badTokenLockout: hellos for it, from any connection, are refused unchecked', () => {
      const testScheduler = newTestScheduler();
      let stats: (() => SessionServerStats) | undefined;
      const welcomes: Welcome[] = [];
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        stats = serve(pair, { badTokenLockout: 100, sessionTtl: 1_000 }).stats;
        const session = () => welcomes[0]!.session;
        const token = () => welcomes[0]!.token;
        // The owner opens a session at 0 and leaves at 10.
        // prettier-ignore
        expectObservable(peer(pair, (send) => send(hello()), (w) => welcomes.push(w)), '^ 10ms !').toBe('-c-w');
        /** A fresh connection at `time` that sends one hello for the owner's session. */
        const guess = (time: number, tokenOf: () => string) =>
          timer(time).pipe(
            mergeMap(() =>
              peer(
                pair,
                (send) => send(hello(session(), tokenOf())),
                (w) => welcomes.push(w),
              ),
            ),
          );
        // A wrong guess at 20 locks the session until 121: a second guess at 30 and the owner's
        // right token at 40 are refused 'overloaded' and closed, the token not even compared.
        // prettier-ignore
        expectObservable(guess(20, () => ZEROS), '^ 200ms !').toBe('21ms c-b');
        // prettier-ignore
        expectObservable(guess(30, () => UNKNOWN), '^ 200ms !').toBe('31ms c-(o|)');
        // prettier-ignore
        expectObservable(guess(40, token), '^ 200ms !').toBe('41ms c-(o|)');
        // After the lockout, the right token resumes the session.
        // prettier-ignore
        expectObservable(guess(130, token), '^ 200ms !').toBe('131ms c-w');
      });
      expect(welcomes.map((w) => w.session)).to.deep.equal([welcomes[0]!.session, welcomes[0]!.session]);
      const { refused } = stats!();
      expect(refused).to.deep.equal({
        'unknown-session': 0,
        'bad-token': 1,
        version: 0,
        overloaded: 0,
        locked: 2,
        store: 0,
      });
    });

    it('a lockout ends badTokenLockout after the wrong guess, to the millisecond', () => {
      const testScheduler = newTestScheduler();
      const welcomes: Welcome[] = [];
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        serve(pair, { badTokenLockout: 100, sessionTtl: 1_000 });
        // prettier-ignore
        expectObservable(peer(pair, (send) => send(hello()), (w) => welcomes.push(w)), '^ 10ms !').toBe('-c-w');
        const guess = (time: number, token: () => string) =>
          timer(time).pipe(mergeMap(() => peer(pair, (send) => send(hello(welcomes[0]!.session, token())))));
        // The wrong guess sent at 20 locks the session for 100 ms: the right token sent 1 ms before
        // the end is refused unchecked, the one sent at the end resumes.
        // prettier-ignore
        expectObservable(guess(20, () => ZEROS), '^ 200ms !').toBe('21ms c-b');
        // prettier-ignore
        expectObservable(guess(119, () => welcomes[0]!.token), '^ 200ms !').toBe('120ms c-(o|)');
        // prettier-ignore
        expectObservable(guess(120, () => welcomes[0]!.token), '^ 200ms !').toBe('121ms c-w');
      });
    });

    it('a resume whose welcome was lost can be made again with the token it proved, once', () => {
      const testScheduler = newTestScheduler();
      const welcomes: Welcome[] = [];
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        serve(pair, { sessionTtl: 1_000 });
        const first = () => welcomes[0]!;
        // prettier-ignore
        expectObservable(peer(pair, (send) => send(hello()), (w) => welcomes.push(w)), '^ 10ms !').toBe('-c-w');
        const resume = (time: number) =>
          timer(time).pipe(
            mergeMap(() =>
              peer(
                pair,
                (send) => send(hello(first().session, first().token)),
                (w) => welcomes.push(w),
              ),
            ),
          );
        // Resumed at 20 with the first token; its welcome (a new token) never used: the client
        // that missed it comes again at 40 with the token it had, and is welcomed.
        // prettier-ignore
        expectObservable(resume(20), '^ 30ms !').toBe('21ms c-w');
        // prettier-ignore
        expectObservable(resume(40), '^ 60ms !').toBe('41ms c-w');
      });
      expect(welcomes.map((w) => w.session)).to.deep.equal(Array(3).fill(welcomes[0]!.session));
    });
  });

  describe('given any value a peer can decode to', () => {
    it('a frame holding a 64-bit integer closes only its connection; after a handshake, the session sees a ProtocolError', async () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      let stats: (() => SessionServerStats) | undefined;
      const reported = await unhandledDuring(() =>
        testScheduler.run(({ expectObservable }) => {
          const pair = memory({ latency: 1 });
          const server = serve(pair, {}, (session) =>
            session.events$.subscribe({
              next: (event) =>
                seen.push(
                  event.type === 'disconnected'
                    ? `disconnected:${String((event.error as Error)?.name)}`
                    : event.type,
                ),
              error: (error: Error) => seen.push(`error:${error.name}`),
            }),
          );
          stats = server.stats;
          at(testScheduler, 40, server.stop);
          // Before any hello: the connection is closed.
          // prettier-ignore
          expectObservable(peer(pair, (send) => send(INT64_FRAME))).toBe('-c-|', { c: 'c' });
          // After a handshake: the connection is closed, the session waits for a resume.
          const handshaken = peer(pair, (send) => {
            send(hello());
            testScheduler.schedule(() => send(INT64_FRAME), 10);
          });
          // prettier-ignore
          expectObservable(handshaken).toBe('-c-w 9ms |', { c: 'c', w: 'w' });
          // The server carries on.
          const later = timer(20).pipe(mergeMap(() => peer(pair, (send) => send(hello()))));
          // prettier-ignore
          expectObservable(later, '^ 30ms !').toBe('21ms c-w', { c: 'c', w: 'w' });
        }),
      );
      expect(reported).to.deep.equal([]);
      // The third client leaves at 30, then the server stops.
      expect(seen).to.deep.equal([
        'connected',
        'disconnected:ProtocolError',
        'connected',
        'disconnected:undefined',
      ]);
      expect(stats!().closed.protocolError).to.equal(2);
    });

    it('property: any frames make sessions, refusals or a ProtocolError for that connection, and never throw', async () => {
      const helloBody = bentRecord(
        fc.record(
          {
            v: fc.constantFrom<unknown>([1, 1], [0, 1], [2, 3], [1, 0], [1]),
            received: fc.constantFrom<unknown>(0, 1),
            session: fc.constantFrom<unknown>(UNKNOWN, 'F'.repeat(32), 'f'),
            token: fc.constantFrom<unknown>(ZEROS, 1n),
          },
          { requiredKeys: ['v', 'received'] },
        ),
      );
      const envelopes = fc.oneof(
        fc.tuple(fc.constant(2), helloBody),
        fc.tuple(fc.constant(0), fc.integer({ min: 0, max: 2 }), oddValue),
        fc.tuple(fc.constant(1), fc.integer({ min: 0, max: 2 })),
      );
      const frames = fc.tuple(fc.boolean(), fc.array(peerFrame(envelopes), { maxLength: 4 }));
      await fc.assert(
        fc.asyncProperty(frames, async ([handshake, rest]) => {
          const { server$, connection, link, connect } = oneConnection();
          const seen: unknown[] = [];
          let failed: unknown;
          let stats: SessionServerStats | undefined;
          let fed: SessionServerStats | undefined;
          const reported = await unhandledDuring(() => {
            const server = acceptSessions(server$, { scheduler: new VirtualTimeScheduler() });
            const watch = server.stats$.subscribe((latest) => (stats = latest));
            const running = server.subscribe({
              next: (session) =>
                session.events$.subscribe((event) =>
                  seen.push(event.type === 'disconnected' ? { error: event.error } : event.type),
                ),
              error: (error: unknown) => (failed = error),
            });
            connect();
            for (const frame of handshake ? [hello(), ...rest] : rest)
              connection.next({ type: 'frame', frame });
            fed = stats;
            running.unsubscribe();
            watch.unsubscribe();
          });
          expect(reported).to.deep.equal([]);
          expect(failed).to.equal(undefined);
          for (const item of seen) {
            if (typeof item === 'string') expect(item).to.be.oneOf(['connected', 'frame']);
            else {
              // A clean detach (a new hello on the same connection), or the connection broke the protocol.
              const { error } = item as { error: unknown };
              if (error !== undefined) expect(ProtocolError.is(error), String(error)).to.equal(true);
            }
          }
          // The connection is open, closed after a refusal, or closed for breaking the protocol.
          const { closed } = fed!;
          const dropped = fed!.connections === 0 && !link.closeRequested;
          expect(dropped).to.equal(
            closed.protocolError + closed.tooManyRefusals === 1 && !link.closeRequested,
          );
        }),
        { numRuns: 300 },
      );
    });
  });
});
