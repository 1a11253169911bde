import { expect } from 'chai';
import {
  AmbiguousOutcomeError,
  cancelPending,
  serveRequests,
  type RequestLink,
  acceptSessions,
  memory,
  memorySessionStore,
  policy,
  reconnectWith,
  resumable,
  SessionExpiredError,
  SessionStoreError,
  type SessionLostError,
  type Link,
  type MemoryPair,
  type SessionServerStats,
  type SessionStore,
} from 'rx-lifeline';
import { defer, NEVER, of, type Subscription } from 'rxjs';
import { settledNow } from '../../../lib/internal/settled-now.js';
import { newTestScheduler } from '../../operators/support.js';

/**
 * What one server process saw: frames (`seq:frame`, `!` when redelivered), how sessions ended, and
 * what its `errors$` told.
 */
interface ServerLog {
  got: string[];
  sessions: string[];
  errors: unknown[];
  storeErrors: SessionStoreError[];
  links: Map<string, Link<string>>;
}

const newLog = (): ServerLog => ({ got: [], sessions: [], errors: [], storeErrors: [], links: new Map() });

/** A server process on `pair` and `store` that echoes each frame upper-cased. */
function echoServer(
  pair: MemoryPair,
  store: SessionStore,
  log: ServerLog,
  sessionTtl?: number,
): Subscription {
  const server$ = acceptSessions<string>(pair.server, { store, ...(sessionTtl ? { sessionTtl } : {}) });
  const server = server$.subscribe((session) => {
    log.sessions.push(session.id);
    log.links.set(session.id, session.link);
    session.events$.subscribe({
      next: (event) => {
        if (event.type !== 'frame') return;
        log.got.push(`${event.seq}:${event.frame}${event.redelivered ? '!' : ''}`);
        session.link.send(event.frame.toUpperCase());
      },
      error: (error: unknown) => log.errors.push(error),
    });
  });
  server.add(server$.errors$.subscribe((error) => log.storeErrors.push(error)));
  return server;
}

/** A client that dials whichever pair `target()` names at each attempt. */
function client(
  target: () => MemoryPair,
  got: string[],
  onLink: (link: Link<string>) => void,
  errors: unknown[] = [],
): Subscription {
  return defer(() => target().transport)
    .pipe(reconnectWith(policy.constant(10)), resumable<string>())
    .subscribe({
      next: (event) => {
        if (event.type === 'connected') onLink(event.link as Link<string>);
        else if (event.type === 'frame') got.push(event.frame as string);
      },
      error: (error: unknown) => errors.push(error),
    });
}

/** What a script of {@link twoServers} may do at its times. */
interface TwoServerWorld {
  readonly a: ServerLog;
  send(...frames: string[]): void;
  /** Server A's process ends: its connections drop, its sessions stay in the store. */
  stopA(): void;
  /** Only A's connections break. */
  cutA(): void;
  /** The client dials B from now on. */
  toB(): void;
}

/**
 * A client on server A, then as the script says on server B, both echo servers on one memory
 * store (A's wrapped by `storeOfA`), in virtual time until 150 ms.
 */
function twoServers(
  script: (at: (time: number, act: (world: TwoServerWorld) => void) => void) => void,
  storeOfA: (store: SessionStore) => SessionStore = (store) => store,
): { a: ServerLog; b: ServerLog; got: string[] } {
  const testScheduler = newTestScheduler();
  const store = memorySessionStore();
  const a = newLog();
  const b = newLog();
  const got: string[] = [];
  testScheduler.run(() => {
    const pairA = memory({ latency: 2 });
    const pairB = memory({ latency: 2 });
    let target = pairA;
    const serverA = echoServer(pairA, storeOfA(store), a);
    const serverB = echoServer(pairB, store, b);
    let link: Link<string> | undefined;
    const sub = client(
      () => target,
      got,
      (l) => (link = l),
    );
    const world: TwoServerWorld = {
      a,
      send: (...frames) => frames.forEach((frame) => link!.send(frame)),
      stopA: () => serverA.unsubscribe(),
      cutA: () => pairA.faults.cut(),
      toB: () => (target = pairB),
    };
    script((time, act) => testScheduler.schedule(() => act(world), time));
    testScheduler.schedule(() => (sub.unsubscribe(), serverA.unsubscribe(), serverB.unsubscribe()), 150);
  });
  return { a, b, got };
}

describe('acceptSessions with a store: sessions outlive the server process', () => {
  it('a client whose server died resumes on another server of the same store, nothing lost either way', () => {
    const { a, b, got } = twoServers((at) => {
      at(20, ({ send }) => send('a', 'b', 'c'));
      // Server A's process ends: its connections drop, its sessions stay in the store.
      at(40, ({ stopA, toB }) => (stopA(), toB()));
      at(60, ({ send }) => send('d', 'e'));
    });
    expect(got).to.deep.equal(['A', 'B', 'C', 'D', 'E']);
    expect(a.got).to.deep.equal(['1:a', '2:b', '3:c']);
    expect(b.got).to.deep.equal(['4:d', '5:e']);
    expect(b.sessions).to.deep.equal(a.sessions);
  });

  it('frames a dead server delivered but never stored as received come again, flagged with their seq', () => {
    // Server A's writes never complete: it dies with every batch in flight.
    const stuck = (store: SessionStore): SessionStore => ({
      ...bind(store),
      write: () => new Promise<void>(() => undefined),
    });
    const { a, b, got } = twoServers((at) => {
      at(20, ({ send }) => send('a', 'b'));
      at(40, ({ stopA, toB }) => (stopA(), toB()));
      at(60, ({ send }) => send('c'));
    }, stuck);
    // A's echoes never left (write-ahead); B sees a and b again, flagged, then c.
    expect(a.got).to.deep.equal(['1:a', '2:b']);
    expect(b.got).to.deep.equal(['1:a!', '2:b!', '3:c']);
    expect(got).to.deep.equal(['A', 'B', 'C']);
  });

  it('a server holding a stale copy is fenced: its send ends its copy, typed, and never reaches the client', () => {
    const { a, b, got } = twoServers((at) => {
      at(20, ({ send }) => send('a'));
      // Only the connection to A breaks: A keeps its copy, waiting for a resume that goes to B.
      at(40, ({ cutA, toB }) => (toB(), cutA()));
      at(70, ({ a }) => a.links.get(a.sessions[0]!)!.send('from A'));
      at(80, ({ send }) => send('b'));
    });
    expect(got).to.deep.equal(['A', 'B']);
    expect(b.got).to.deep.equal(['2:b']);
    expect(a.errors).to.have.length(1);
    const fenced = a.errors[0];
    expect(SessionStoreError.is(fenced) && fenced.code).to.equal('fenced');
    expect((fenced as SessionStoreError).unsent).to.deep.equal(['from A']);
    // The session's own error says it: errors$ does not say it again.
    expect(a.storeErrors).to.deep.equal([]);
  });

  it('a stale copy its application closes is no failure: the store refuses its removal as fenced, and errors$ says nothing', () => {
    const removals: string[] = [];
    const { a, b, got } = twoServers(
      (at) => {
        at(20, ({ send }) => send('a'));
        // Only the connection to A breaks: A keeps its copy, waiting for a resume that goes to B.
        at(40, ({ cutA, toB }) => (toB(), cutA()));
        at(70, ({ a }) => a.links.get(a.sessions[0]!)!.close());
        at(80, ({ send }) => send('b'));
      },
      (store) => ({
        ...bind(store),
        remove: (id, epoch) => {
          const removal = store.remove(id, epoch);
          removal.then(
            () => removals.push('removed'),
            (error: SessionStoreError) => removals.push(error.code),
          );
          return removal;
        },
      }),
    );
    expect(got).to.deep.equal(['A', 'B']);
    expect(b.got).to.deep.equal(['2:b']);
    expect(removals).to.deep.equal(['fenced']);
    expect(a.storeErrors).to.deep.equal([]);
  });

  for (const moves of [true, false]) {
    it(
      moves
        ? "a copy left behind by a session that moved ends 'fenced' at its TTL, not expired: it lives on elsewhere"
        : 'a copy whose client never came back expires at its TTL, and leaves the store',
      () => {
        const testScheduler = newTestScheduler();
        const store = memorySessionStore();
        const a = newLog();
        const b = newLog();
        let id = '';
        testScheduler.run(() => {
          const pairA = memory({ latency: 2 });
          const pairB = memory({ latency: 2 });
          let target = pairA;
          const serverA = echoServer(pairA, store, a, 50);
          const serverB = echoServer(pairB, store, b);
          let link: Link<string> | undefined;
          const sub = client(
            () => target,
            [],
            (l) => (link = l),
          );
          testScheduler.schedule(() => link!.send('a'), 10);
          testScheduler.schedule(() => {
            id = a.sessions[0]!;
            if (moves) target = pairB;
            else sub.unsubscribe();
            pairA.faults.cut();
          }, 30);
          // A's copy has been without a connection since 30: it expires at 80.
          testScheduler.schedule(
            () => (sub.unsubscribe(), serverA.unsubscribe(), serverB.unsubscribe()),
            150,
          );
        });
        expect(a.errors).to.have.length(1);
        // A removal refused as fenced is no failure, and the session's own error says it.
        expect(a.storeErrors).to.deep.equal([]);
        const error = a.errors[0];
        if (moves) {
          expect(b.sessions).to.deep.equal([id]);
          expect(SessionStoreError.is(error) && error.code, String(error)).to.equal('fenced');
        } else {
          expect(SessionExpiredError.is(error), String(error)).to.equal(true);
          let status = '';
          store
            .claim({
              id,
              token: 'f'.repeat(32),
              nextToken: 'e'.repeat(32),
              received: 0,
              lockout: 0,
              ttl: 1000,
            })
            .then((result) => (status = result.status));
          expect(status).to.equal('unknown');
        }
      },
    );
  }

  it("a session its application closes leaves the store: a later resume is refused as 'unknown-session'", () => {
    const testScheduler = newTestScheduler();
    const store = memorySessionStore();
    const log = newLog();
    const clientErrors: unknown[] = [];
    let id = '';
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const server = echoServer(pair, store, log);
      let link: Link<string> | undefined;
      const sub = client(
        () => pair,
        [],
        (l) => (link = l),
        clientErrors,
      );
      testScheduler.schedule(() => link!.send('a'), 10);
      testScheduler.schedule(() => {
        id = log.sessions[0]!;
        log.links.get(id)!.close();
      }, 30);
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 60);
    });
    let status = '';
    store
      .claim({ id, token: 'f'.repeat(32), nextToken: 'e'.repeat(32), received: 0, lockout: 0, ttl: 1000 })
      .then((result) => (status = result.status));
    expect(status).to.equal('unknown');
    // Its client, cut off by the close, finds the session gone when it comes back.
    expect(clientErrors.map((e) => (e as SessionLostError).reason)).to.deep.equal(['unknown-session']);
  });

  it('a session its application closes while its client is away ends at once, not at its TTL', () => {
    const testScheduler = newTestScheduler();
    const ended: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const server = acceptSessions<string>(pair.server, {
        store: memorySessionStore(),
        sessionTtl: 1_000,
      }).subscribe((session) => {
        session.events$.subscribe({ complete: () => ended.push(`ended@${testScheduler.now()}`) });
        // The client is cut off at 20 (and kept out); the application closes at 30.
        testScheduler.schedule(() => {
          session.link.close();
          ended.push(`closed ${session.link.closed}, close requested ${session.link.closeRequested}`);
        }, 30 - testScheduler.now());
      });
      const sub = client(
        () => pair,
        [],
        () => undefined,
      );
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 20);
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 100);
    });
    expect(ended).to.deep.equal(['ended@30', 'closed true, close requested true']);
  });
  it('a session its application closes while its last frames wait for the store ends at once when its client goes', () => {
    const testScheduler = newTestScheduler();
    const ended: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const memoryStore = bind(memorySessionStore());
      let stalled = false;
      // From 25, the store takes writes and never answers: the frame sent then waits, and so does the close.
      const store: SessionStore = {
        ...memoryStore,
        write: (...args) => (stalled ? new Promise<void>(() => undefined) : memoryStore.write(...args)),
      };
      const server = acceptSessions<string>(pair.server, { store, sessionTtl: 1_000 }).subscribe(
        (session) => {
          session.events$.subscribe({ complete: () => ended.push(`ended@${testScheduler.now()}`) });
          testScheduler.schedule(() => {
            stalled = true;
            session.link.send('last');
          }, 25 - testScheduler.now());
          testScheduler.schedule(() => session.link.close(), 30 - testScheduler.now());
        },
      );
      const sub = client(
        () => pair,
        [],
        () => undefined,
      );
      // The client is cut off at 40 (and kept out): the session ends then, not at its TTL.
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 40);
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 100);
    });
    expect(ended).to.deep.equal(['ended@40']);
  });
});

describe('acceptSessions with a store that throws, or answers something other than a promise', () => {
  /**
   * Ways a store's method can break its promise: it throws, answers no thenable, or refuses with a
   * SessionStoreError of its own that is not 'fenced'; and how errors$ then says why, for `method`.
   */
  const breaks: readonly [string, () => never, (method: string) => string][] = [
    [
      'throws',
      () => {
        throw new Error('store down');
      },
      () => 'Error: store down',
    ],
    [
      'answers undefined',
      () => undefined as never,
      (method) => `TypeError: SessionStore.${method} must return a promise, it returned undefined`,
    ],
    [
      "refuses with its own SessionStoreError ('unavailable')",
      () => rejectedNow(new SessionStoreError('Redis is down', { code: 'unavailable' })) as never,
      () => 'Redis is down',
    ],
  ];

  /**
   * A client of an echo server on `store`, whose first `create` or `claim` (after a cut at 10, the
   * client resuming) answers `broken()`; it sends 'x' at 50. What the server counted and echoed.
   */
  function firstCallBroken(method: 'create' | 'claim', broken: () => never) {
    const testScheduler = newTestScheduler();
    const store = memorySessionStore();
    // The first call breaks; the next ones are the store's.
    let calls = 0;
    const flaky: SessionStore = { ...bind(store) };
    if (method === 'create') flaky.create = (session) => (calls++ ? store.create(session) : broken());
    else flaky.claim = (claim) => (calls++ ? store.claim(claim) : broken());
    const sessions: string[] = [];
    const got: string[] = [];
    const storeErrors: SessionStoreError[] = [];
    let stats: SessionServerStats | undefined;
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const server$ = acceptSessions<string>(pair.server, { store: flaky });
      const watch = server$.stats$.subscribe((s) => (stats = s));
      watch.add(server$.errors$.subscribe((error) => storeErrors.push(error)));
      const server = server$.subscribe((session) => {
        sessions.push(session.id);
        session.events$.subscribe((event) => event.type === 'frame' && session.link.send(event.frame));
      });
      let link: Link<string> | undefined;
      const sub = client(
        () => pair,
        got,
        (l) => (link = l),
      );
      if (method === 'claim') testScheduler.schedule(() => pair.faults.cut(), 10);
      testScheduler.schedule(() => link!.send('x'), 50);
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe(), watch.unsubscribe()), 100);
    });
    return { stats: stats!, sessions, got, storeErrors };
  }

  /**
   * The hello was refused as a store failure, once, and the client came back to the one session;
   * errors$ told that failure, typed: its `code`, a message matching `says`, the session's id (the
   * one the failed `create` would have made is another) and `cause`.
   */
  function expectRefusedOnceAsStoreFailure(
    run: ReturnType<typeof firstCallBroken>,
    told: { code: string; says: RegExp; cause?: unknown; sameSession: boolean },
  ): void {
    expect(run.stats.refused.store).to.equal(1);
    expect(run.stats.closed.protocolError).to.equal(0);
    expect(run.sessions).to.have.length(1);
    expect(run.got).to.deep.equal(['x']);
    expect(run.storeErrors).to.have.length(1);
    const error = run.storeErrors[0]!;
    expect(SessionStoreError.is(error), String(error)).to.equal(true);
    expect(error.code).to.equal(told.code);
    expect(error.message).to.match(told.says);
    expect(error.session).to.be.a('string');
    expect(error.session === run.sessions[0], error.message).to.equal(told.sameSession);
    expect(error.message).to.include(`(session ${error.session}):`);
    if ('cause' in told) expect(error.cause).to.equal(told.cause);
  }

  it('a store that cannot be asked refuses the hello as overloaded, counted, told on errors$, and the client comes back', () => {
    const down = new Error('ECONNREFUSED');
    expectRefusedOnceAsStoreFailure(
      firstCallBroken('create', () => rejectedNow(down) as never),
      {
        code: 'unavailable',
        says: /^The session store failed to create a session .*: Error: ECONNREFUSED$/,
        cause: down,
        sameSession: false,
      },
    );
  });

  it("a claim the store refuses with a SessionStoreError is told on errors$ with the store's code and message", () => {
    const corrupt = new SessionStoreError('the record of session s is not a hash', { code: 'corrupt' });
    expectRefusedOnceAsStoreFailure(
      firstCallBroken('claim', () => rejectedNow(corrupt) as never),
      {
        code: 'corrupt',
        says: /^The session store failed to claim a session \(session \w+\): the record of session s is not a hash$/,
        cause: corrupt,
        sameSession: true,
      },
    );
  });

  it('a claim that answers no SessionClaimResult refuses the hello as a store failure, and the client comes back', () => {
    // Before: a TypeError blamed the client as a protocol error, or the hello was never answered.
    const answers = [
      undefined,
      { status: 'CLAIMED' },
      { status: 'gap' },
      { status: 'claimed', session: { id: 'another', epoch: 2, lastSeq: 0, received: 0, frames: [] } },
      { status: 'claimed', session: { epoch: 2, lastSeq: 0, received: 0, frames: 'none' } },
    ];
    const told = [
      'status undefined',
      'status "CLAIMED"',
      'a gap from undefined',
      'the claimed session an object',
      'the claimed session an object',
    ];
    answers.forEach((answer, i) => {
      const says = new RegExp(`: its answer is no SessionClaimResult: ${told[i]!}$`);
      expectRefusedOnceAsStoreFailure(
        firstCallBroken('claim', () => settledNow(answer) as never),
        {
          code: 'corrupt',
          says,
          cause: undefined,
          sameSession: true,
        },
      );
    });
  });

  for (const [how, broken, whyOf] of breaks) {
    for (const method of ['create', 'claim'] as const) {
      it(`a ${method} that ${how} refuses the hello as a store failure (not a protocol error), told on errors$, and the client comes back`, () => {
        const says = new RegExp(`\\): ${whyOf(method).replace(/[.()]/g, '\\$&')}$`);
        expectRefusedOnceAsStoreFailure(firstCallBroken(method, broken), {
          code: 'unavailable',
          says,
          sameSession: method === 'claim',
        });
      });
    }

    it(`a touch that ${how} is let go, and the next ones still come`, () => {
      const testScheduler = newTestScheduler();
      const store = memorySessionStore();
      const touches: number[] = [];
      const flaky: SessionStore = {
        ...bind(store),
        touch: (sessions, ttl) => {
          touches.push(testScheduler.now());
          void store.touch(sessions, ttl);
          return broken();
        },
      };
      const got: string[] = [];
      const told: string[] = [];
      testScheduler.run(() => {
        const pair = memory({ latency: 2 });
        const server$ = acceptSessions<string>(pair.server, { store: flaky, sessionTtl: 30 });
        const server = server$.subscribe((session) =>
          session.events$.subscribe((event) => event.type === 'frame' && session.link.send(event.frame)),
        );
        server.add(
          server$.errors$.subscribe((error) => told.push(`${error.code} ${error.session}: ${error.message}`)),
        );
        let link: Link<string> | undefined;
        const sub = client(
          () => pair,
          got,
          (l) => (link = l),
        );
        testScheduler.schedule(() => link!.send('x'), 50);
        testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 65);
      });
      expect(touches).to.deep.equal([10, 20, 30, 40, 50, 60]);
      expect(got).to.deep.equal(['x']);
      const why = whyOf('touch');
      expect(told).to.deep.equal(
        touches.map(
          () =>
            `unavailable undefined: The session store failed to keep the attached sessions alive (touch): ${why}`,
        ),
      );
    });

    it(`a remove that ${how} still ends the session: expired at its TTL, or closed by its application`, () => {
      const testScheduler = newTestScheduler();
      const store = memorySessionStore();
      const flaky: SessionStore = { ...bind(store), remove: broken };
      const ended: string[] = [];
      const ids: string[] = [];
      const told: SessionStoreError[] = [];
      testScheduler.run(() => {
        const pair = memory({ latency: 2 });
        const server$ = acceptSessions<string>(pair.server, { store: flaky, sessionTtl: 50 });
        const watch = server$.errors$.subscribe((error) => {
          told.push(error);
          ended.push(`told@${testScheduler.now()}`);
        });
        const server = server$.subscribe((session) => {
          ids.push(session.id);
          session.events$.subscribe({
            complete: () => ended.push(`closed@${testScheduler.now()}`),
            error: (error: unknown) =>
              ended.push(
                `${SessionExpiredError.is(error) ? 'expired' : String(error)}@${testScheduler.now()}`,
              ),
          });
          // The first session is closed by its application at 20; the second expires.
          if (ended.length === 0 && testScheduler.now() < 20) {
            testScheduler.schedule(() => session.link.close(), 20 - testScheduler.now());
          }
        });
        const first = client(
          () => pair,
          [],
          () => undefined,
        );
        testScheduler.schedule(() => first.unsubscribe(), 30);
        let second: Subscription | undefined;
        testScheduler.schedule(
          () =>
            (second = client(
              () => pair,
              [],
              () => undefined,
            )),
          40,
        );
        // Its client goes at 50 without a goodbye: its end reaches the server at 52, and the session waits until 102.
        testScheduler.schedule(() => second!.unsubscribe(), 50);
        testScheduler.schedule(() => (server.unsubscribe(), watch.unsubscribe()), 200);
      });
      expect(ended).to.deep.equal(['told@20', 'closed@20', 'told@102', 'expired@102']);
      const why = whyOf('remove');
      expect(told.map((error) => [error.code, error.session, error.message])).to.deep.equal([
        [
          'unavailable',
          ids[0],
          `The session store failed to remove an ended session (session ${ids[0]}): ${why}`,
        ],
        [
          'unavailable',
          ids[1],
          `The session store failed to remove an expired session (session ${ids[1]}): ${why}`,
        ],
      ]);
    });
  }

  it('errors$ is hot: a subscriber hears only the failures from when it subscribed, and it outlives the server', () => {
    const testScheduler = newTestScheduler();
    const store = memorySessionStore();
    const flaky: SessionStore = {
      ...bind(store),
      touch: () => rejectedNow(new Error('store down')) as never,
    };
    const told: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const server$ = acceptSessions<string>(pair.server, { store: flaky, sessionTtl: 30 });
      const server = server$.subscribe((session) => session.events$.subscribe({ error: () => undefined }));
      const sub = client(
        () => pair,
        [],
        () => undefined,
      );
      let watch: Subscription | undefined;
      // Touches fail at 10, 20, 30 and 40; nobody listens before 25.
      testScheduler.schedule(
        () =>
          (watch = server$.errors$.subscribe({
            next: () => told.push(`told@${testScheduler.now()}`),
            complete: () => told.push('complete'),
          })),
        25,
      );
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 45);
      testScheduler.schedule(() => watch!.unsubscribe(), 60);
    });
    expect(told).to.deep.equal(['told@30', 'told@40']);
  });

  it("a write that answers no promise ends the session with a SessionStoreError 'unavailable' that says so", () => {
    const testScheduler = newTestScheduler();
    const store = memorySessionStore();
    const errors: unknown[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const flaky: SessionStore = { ...bind(store), write: () => undefined as never };
      const server = acceptSessions<string>(pair.server, { store: flaky }).subscribe((session) => {
        session.events$.subscribe({ error: (error: unknown) => errors.push(error) });
        session.link.send('hello');
      });
      const sub = client(
        () => pair,
        [],
        () => undefined,
      );
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 50);
    });
    // Each session the client opens ends so (it comes back and opens another).
    expect(errors).to.not.be.empty;
    for (const error of errors as SessionStoreError[]) {
      expect(SessionStoreError.is(error) && error.code, String(error)).to.equal('unavailable');
      expect(String(error.cause)).to.match(
        /TypeError: SessionStore\.write must return a promise, it returned undefined/,
      );
      expect(error.unsent).to.deep.equal(['hello']);
    }
  });
});

/** A thenable already rejected, calling back at once (virtual time, like the memory store). */
function rejectedNow(reason: unknown): PromiseLike<never> {
  return {
    then: (_ok, failed) => {
      failed?.(reason);
      return rejectedNow(reason) as never;
    },
  };
}

/** A store's calls as plain functions, so a test can replace one. */
function bind(store: SessionStore): SessionStore {
  return {
    create: (session) => store.create(session),
    claim: (claim) => store.claim(claim),
    write: (id, epoch, changes, ttl) => store.write(id, epoch, changes, ttl),
    touch: (sessions, ttl) => store.touch(sessions, ttl),
    remove: (id, epoch) => store.remove(id, epoch),
  };
}

describe('requests through a session that moves to another server process', () => {
  /** A server whose handler answers `n * 10`, or never when `hang` (the process dies first). */
  function requestServer(pair: MemoryPair, store: SessionStore, hang: boolean, ran: number[]): Subscription {
    return acceptSessions(pair.server, { store }).subscribe((session) => {
      session.events$
        .pipe(
          serveRequests<number>((n) => {
            ran.push(n);
            return hang ? NEVER : of(n * 10);
          }),
        )
        .subscribe({ error: () => undefined });
    });
  }

  function run(idempotent: boolean): { outcome: unknown[]; ranA: number[]; ranB: number[] } {
    const testScheduler = newTestScheduler();
    const store = memorySessionStore();
    const outcome: unknown[] = [];
    const ranA: number[] = [];
    const ranB: number[] = [];
    testScheduler.run(() => {
      const pairA = memory({ latency: 2 });
      const pairB = memory({ latency: 2 });
      let target = pairA;
      const serverA = requestServer(pairA, store, true, ranA);
      const serverB = requestServer(pairB, store, false, ranB);
      let link: RequestLink<number> | undefined;
      const client = defer(() => target.transport)
        .pipe(reconnectWith(policy.constant(10)), resumable(), cancelPending<number>({ timeout: 60_000 }))
        .subscribe((event) => {
          if (event.type === 'connected') link = event.link as RequestLink<number>;
        });
      testScheduler.schedule(
        () =>
          link!.request<number>(7, { idempotent }).subscribe({
            next: (value) => outcome.push(value),
            error: (error: unknown) => outcome.push(error),
          }),
        20,
      );
      // A took the request (stored it as received, acked it) and dies before answering.
      testScheduler.schedule(() => {
        serverA.unsubscribe();
        target = pairB;
      }, 300);
      testScheduler.schedule(() => (client.unsubscribe(), serverB.unsubscribe()), 500);
    });
    return { outcome, ranA, ranB };
  }

  it('a request the dead process ran without storing it comes to the new one marked redelivered', () => {
    const testScheduler = newTestScheduler();
    const store = memorySessionStore();
    const stuck: SessionStore = { ...bind(store), write: () => new Promise<void>(() => undefined) };
    const seen: string[] = [];
    const outcome: unknown[] = [];
    testScheduler.run(() => {
      const serve = (pair: MemoryPair, on: SessionStore, name: string) =>
        acceptSessions(pair.server, { store: on }).subscribe((session) =>
          session.events$
            .pipe(
              serveRequests<number>((n, context) => {
                seen.push(`${name}:${n}${context.redelivered ? '!' : ''}`);
                return of(n * 10);
              }),
            )
            .subscribe({ error: () => undefined }),
        );
      const pairA = memory({ latency: 2 });
      const pairB = memory({ latency: 2 });
      let target = pairA;
      const serverA = serve(pairA, stuck, 'A');
      const serverB = serve(pairB, store, 'B');
      let link: RequestLink<number> | undefined;
      const client = defer(() => target.transport)
        .pipe(reconnectWith(policy.constant(10)), resumable(), cancelPending<number>())
        .subscribe((event) => {
          if (event.type === 'connected') link = event.link as RequestLink<number>;
        });
      testScheduler.schedule(() => link!.request<number>(7).subscribe((value) => outcome.push(value)), 20);
      testScheduler.schedule(() => {
        serverA.unsubscribe();
        target = pairB;
      }, 60);
      testScheduler.schedule(() => (client.unsubscribe(), serverB.unsubscribe()), 200);
    });
    // A's answer never left (its write hung); B runs it again, told it may have run before.
    expect(seen).to.deep.equal(['A:7', 'B:7!']);
    expect(outcome).to.deep.equal([70]);
  });

  it('an idempotent request the dead process took is sent again to the new one, and answered', () => {
    const { outcome, ranA, ranB } = run(true);
    expect(ranA).to.deep.equal([7]);
    expect(ranB).to.deep.equal([7]);
    expect(outcome).to.deep.equal([70]);
  });

  it('a request that is not idempotent fails with AmbiguousOutcomeError instead of waiting for its timeout', () => {
    const { outcome, ranA, ranB } = run(false);
    expect(ranA).to.deep.equal([7]);
    expect(ranB).to.deep.equal([]);
    expect(outcome).to.have.length(1);
    expect(AmbiguousOutcomeError.is(outcome[0]), String(outcome[0])).to.equal(true);
  });
});
