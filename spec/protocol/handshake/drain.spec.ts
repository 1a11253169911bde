// HandshakeAdmission.drain() across the layers that take part in it: serveRequests (running
// requests finish, new ones are refused), acceptSessions (responses written out before the go-away,
// the store written before the drain completes). Two server "processes" A and B in virtual time,
// on one memorySessionStore (which answers at once) or on none; the client dials A, and B once A
// drains.
import { expect } from 'chai';
import type { SessionStoreError } from 'rx-lifeline';
import {
  acceptHandshake,
  acceptSessions,
  AmbiguousOutcomeError,
  cancelPending,
  handshake,
  HandshakeAdmission,
  memory,
  memorySessionStore,
  PeerClosedError,
  policy,
  reconnectWith,
  RemoteError,
  resumable,
  serveRequests,
  SessionLostError,
  type Link,
  type MemoryPair,
  type RequestHandler,
  type RequestLink,
  type SessionStore,
} from 'rx-lifeline';
import { defer, map, NEVER, timer, type Subscription } from 'rxjs';
import { newTestScheduler } from '../../operators/support.js';

const LAYERS = ['resumable', 'requests'] as const;

/** What one server process saw. */
interface ServerLog {
  /** `t:what`: requests run (`run n`), aborted (`abort n`), frames got, sessions ended. */
  readonly events: string[];
  /** The application's link of each session (serveRequests' plain-frame link). */
  readonly links: Link<string>[];
  readonly errors: unknown[];
}

interface World {
  readonly admissionA: HandshakeAdmission;
  readonly a: ServerLog;
  readonly b: ServerLog;
  now(): number;
  /** The client's request link, once connected. */
  link(): RequestLink<string>;
  /** Sends a request and logs its outcome in the client's log. */
  request(payload: number, idempotent?: boolean): void;
  /** Drains A and logs its completion; the client dials B from now on. */
  drainA(options?: { retryAfterMs?: number; timeout?: number }): void;
  log(what: string): void;
}

interface WorldOptions {
  /** The store both servers share; `undefined`: sessions live in each server's memory. */
  readonly store: SessionStore | undefined;
  /** What A uses instead of the store (a slow one, say). */
  readonly storeOfA?: SessionStore;
  readonly handler: (server: 'A' | 'B', log: ServerLog, now: () => number) => RequestHandler<number>;
  /** When the world ends (everything is unsubscribed). */
  readonly until?: number;
}

/** One server process: acceptHandshake + acceptSessions + serveRequests, all on `admission`. */
function serve(
  pair: MemoryPair,
  store: SessionStore | undefined,
  admission: HandshakeAdmission,
  handler: RequestHandler<number>,
  log: ServerLog,
  now: () => number,
): Subscription {
  const server$ = pair.server.pipe(
    map((event) =>
      event.type === 'connection'
        ? { ...event, connection: event.connection.pipe(acceptHandshake({ layers: [...LAYERS], admission })) }
        : event,
    ),
  );
  return acceptSessions<unknown, unknown>(server$, { admission, ...(store ? { store } : {}) }).subscribe(
    (session) =>
      session.events$.pipe(serveRequests(handler, { admission })).subscribe({
        next: (event) => {
          if (event.type === 'connected') log.links.push(event.link as Link<string>);
          else if (event.type === 'frame') log.events.push(`${now()}:got ${String(event.frame)}`);
          else if (event.type === 'disconnected') log.events.push(`${now()}:disconnected`);
        },
        error: (error: unknown) => {
          log.errors.push(error);
          log.events.push(`${now()}:ended ${(error as Error).name}`);
        },
        complete: () => log.events.push(`${now()}:ended`),
      }),
  );
}

/** Runs `script` in a world of A and B and one client, until `until` (default 1,000 ms). */
function world(options: WorldOptions, script: (w: World, at: (t: number, act: () => void) => void) => void) {
  const testScheduler = newTestScheduler();
  const a: ServerLog = { events: [], links: [], errors: [] };
  const b: ServerLog = { events: [], links: [], errors: [] };
  const client: string[] = [];
  const outcomes: unknown[] = [];
  testScheduler.run(() => {
    const now = () => testScheduler.now();
    const pairA = memory({ latency: 2 });
    const pairB = memory({ latency: 2 });
    const admissionA = new HandshakeAdmission();
    const admissionB = new HandshakeAdmission();
    let target = pairA;
    const serverA = serve(
      pairA,
      options.storeOfA ?? options.store,
      admissionA,
      options.handler('A', a, now),
      a,
      now,
    );
    const serverB = serve(pairB, options.store, admissionB, options.handler('B', b, now), b, now);
    let link: RequestLink<string> | undefined;
    const log = (what: string) => client.push(`${now()}:${what}`);
    const subscription = defer(() => target.transport)
      .pipe(
        handshake({ layers: [...LAYERS] }),
        reconnectWith(policy.constant(10)),
        resumable(),
        cancelPending<string>({ timeout: 5_000 }),
      )
      .subscribe({
        next: (event) => {
          if (event.type === 'request-link') link = event.link;
          else if (event.type === 'frame') log(`got ${String(event.frame)}`);
          else if (event.type === 'disconnected') {
            const error = (event as { error?: unknown }).error;
            log(
              `disconnected ${PeerClosedError.is(error) ? `${error.code} ${error.retryAfterMs}` : String(error)}`,
            );
          } else if (event.type === 'resumed')
            log(`resumed${(event as { moved?: true }).moved ? ' moved' : ''}`);
        },
        error: (error: unknown) => {
          outcomes.push(error);
          log(`failed ${(error as Error).name}`);
        },
      });
    const w: World = {
      admissionA,
      a,
      b,
      now,
      link: () => link!,
      log,
      request: (payload, idempotent = false) =>
        link!.request<number>(payload, { idempotent }).subscribe({
          next: (value) => log(`response ${payload}: ${value}`),
          error: (error: unknown) => {
            outcomes.push(error);
            const remote = RemoteError.is(error) ? ` ${error.remoteName}` : '';
            log(`response ${payload}: ${(error as Error).name}${remote}`);
          },
        }),
      drainA: (drainOptions = {}) => {
        target = pairB;
        admissionA.drain(drainOptions).subscribe({ complete: () => log('A drained') });
      },
    };
    script(w, (t, act) => testScheduler.schedule(act, t));
    testScheduler.schedule(
      () => (subscription.unsubscribe(), serverA.unsubscribe(), serverB.unsubscribe()),
      options.until ?? 1_000,
    );
  });
  return { a, b, client, outcomes };
}

/** A handler that answers `n * 10` after `ms`, logging when it runs and when it is aborted. */
const after =
  (ms: number) =>
  (server: 'A' | 'B', log: ServerLog, now: () => number): RequestHandler<number> =>
  (n, { signal }) => {
    log.events.push(`${now()}:run ${n}`);
    signal.addEventListener('abort', () => log.events.push(`${now()}:abort ${n}`));
    return ms === Infinity && server === 'A'
      ? NEVER
      : timer(ms === Infinity ? 0 : ms).pipe(map(() => n * 10));
  };

describe('HandshakeAdmission.drain() with serveRequests and acceptSessions', () => {
  it('lets a running request finish and its response reach the client before the go-away, and refuses a request that arrives meanwhile', () => {
    const { a, b, client } = world({ store: memorySessionStore(), handler: after(30) }, (w, at) => {
      at(20, () => w.request(7));
      at(30, () => w.drainA({ retryAfterMs: 5, timeout: 1_000 }));
      at(34, () => w.request(8));
    });
    // 7 reaches A at 22 and answers at 52; 8 reaches A at 36, draining: refused, never run. The
    // go-away follows 7's response; the client resumes on B, moved, and nothing is ambiguous.
    expect(a.events).to.deep.equal(['22:run 7', '54:disconnected', '54:ended']);
    expect(client).to.deep.equal([
      '38:response 8: RemoteError ServerDrainingError',
      '54:response 7: 70',
      '54:A drained',
      '54:disconnected go-away 5',
      '69:resumed moved',
    ]);
    expect(b.events).to.deep.equal(['1000:ended']);
  });

  it('at the timeout goes away anyway; the client resends the idempotent request to B and fails the other as ambiguous', () => {
    const { a, b, client, outcomes } = world(
      { store: memorySessionStore(), handler: after(Infinity) },
      (w, at) => {
        at(20, () => (w.request(7, true), w.request(9)));
        at(30, () => w.drainA({ retryAfterMs: 5, timeout: 50 }));
      },
    );
    // A never answers; at 80 the go-aways leave; once the connection closed, A's session ends
    // and its handlers are aborted. B runs 7 again.
    expect(a.events).to.deep.equal([
      '22:run 7',
      '22:run 9',
      '82:disconnected',
      '82:abort 7',
      '82:abort 9',
      '82:ended',
    ]);
    expect(b.events).to.deep.equal(['99:run 7', '1000:ended']);
    expect(client).to.deep.equal([
      '82:A drained',
      '82:disconnected go-away 5',
      '97:response 9: AmbiguousOutcomeError',
      '97:resumed moved',
      '101:response 7: 70',
    ]);
    expect(AmbiguousOutcomeError.is(outcomes[0])).to.equal(true);
  });

  it('writes out what the application sent last before the go-away, once the store has it', () => {
    const store = memorySessionStore();
    const slow = heldWrites(store);
    const { a, client } = world({ store, storeOfA: slow.store, handler: after(0) }, (w, at) => {
      at(20, () => (slow.holding = true));
      at(30, () => (w.a.links[0]!.send('last'), w.drainA({ retryAfterMs: 5, timeout: 1_000 })));
      at(60, () => slow.release());
    });
    // The go-away waited for the store's write: the frame left on A's connection before it.
    expect(client).to.deep.equal([
      '62:got last',
      '62:A drained',
      '62:disconnected go-away 5',
      '77:resumed moved',
    ]);
    expect(a.events).to.deep.equal(['62:disconnected', '62:ended']);
  });

  it('does not complete while the store still writes the frames sent after the go-away; the client gets them from B', () => {
    const store = memorySessionStore();
    const slow = heldWrites(store);
    const { a, client } = world({ store, storeOfA: slow.store, handler: after(0) }, (w, at) => {
      at(20, () => (slow.holding = true));
      at(30, () => w.drainA({ retryAfterMs: 100, timeout: 1_000 }));
      // The go-away has left, the connection is closing: the session queues what its application sends.
      at(31, () => w.a.links[0]!.send('last'));
      at(60, () => slow.release());
    });
    expect(a.events).to.deep.equal(['32:disconnected', '60:ended']);
    expect(client).to.deep.equal([
      '32:disconnected go-away 100',
      '60:A drained',
      '142:got last',
      '142:resumed moved',
    ]);
  });

  it('a request that reaches A after its go-away is refused there, and the client reads that refusal from B before it settles what A took', () => {
    const { a, b, client, outcomes } = world({ store: memorySessionStore(), handler: after(0) }, (w, at) => {
      at(29, () => w.request(8));
      at(30, () => w.drainA({ retryAfterMs: 5, timeout: 1_000 }));
    });
    // Nothing runs at 30: the go-away leaves at once. 8 reaches A at 31, draining: refused, never
    // run; the refusal is stored but cannot leave on the closing connection. B replays it, and the
    // client hears it before 'resumed moved': 8 is refused, not ambiguous.
    expect(a.events.filter((e) => e.includes('run'))).to.deep.equal([]);
    expect(b.events.filter((e) => e.includes('run'))).to.deep.equal([]);
    expect(client).to.deep.equal([
      '32:A drained',
      '32:disconnected go-away 5',
      '47:response 8: RemoteError ServerDrainingError',
      '47:resumed moved',
    ]);
    expect(outcomes.map((e) => (e as Error).name)).to.deep.equal(['RemoteError']);
  });

  it("tells the application which frames never left when B took the session over before A's write landed", () => {
    const store = memorySessionStore();
    const slow = heldWrites(store);
    const { a, client } = world({ store, storeOfA: slow.store, handler: after(0) }, (w, at) => {
      at(20, () => (slow.holding = true));
      at(30, () => w.drainA({ retryAfterMs: 5, timeout: 1_000 }));
      at(31, () => w.a.links[0]!.send('late'));
      at(60, () => slow.release());
    });
    expect(a.events).to.deep.equal(['32:disconnected', '60:ended SessionStoreError']);
    const error = a.errors[0] as SessionStoreError;
    expect(error.code).to.equal('fenced');
    expect(error.unsent).to.deep.equal([[0, 'late']]);
    expect(client).to.deep.equal(['32:disconnected go-away 5', '47:resumed moved', '60:A drained']);
  });

  it('without a store, the client learns that its session ended, typed, with its pending request counted', () => {
    const { a, client, outcomes } = world({ store: undefined, handler: after(Infinity) }, (w, at) => {
      at(20, () => w.request(9));
      at(30, () => w.drainA({ retryAfterMs: 5, timeout: 20 }));
    });
    expect(a.events).to.deep.equal(['22:run 9', '52:disconnected', '52:abort 9', '52:ended']);
    expect(client).to.deep.equal([
      '52:A drained',
      '52:disconnected go-away 5',
      '67:response 9: RequestCancelledError',
      '67:failed SessionLostError',
    ]);
    const lost = outcomes[1] as SessionLostError;
    expect(SessionLostError.is(lost) && lost.reason).to.equal('unknown-session');
    expect(lost.requests).to.equal(1);
  });

  it('on connections without sessions, waits for the running request before the go-away', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const admission = new HandshakeAdmission();
      const server = pair.server.subscribe((event) => {
        if (event.type !== 'connection') return;
        event.connection
          .pipe(
            acceptHandshake({ layers: ['requests'], admission }),
            serveRequests<number>((n) => timer(30).pipe(map(() => n * 10)), { admission }),
          )
          .subscribe({ error: () => undefined });
      });
      let link: RequestLink | undefined;
      const client = pair.transport.pipe(handshake({ layers: ['requests'] }), cancelPending()).subscribe({
        next: (event) => {
          if (event.type === 'request-link') link = event.link;
        },
        error: (error: unknown) => log.push(`${testScheduler.now()}:failed ${(error as Error).name}`),
        complete: () => log.push(`${testScheduler.now()}:closed`),
      });
      testScheduler.schedule(() => {
        link!.request(4).subscribe((value) => log.push(`${testScheduler.now()}:response ${String(value)}`));
      }, 10);
      testScheduler.schedule(() => {
        expect(admission.stats.running).to.equal(1);
        admission
          .drain({ timeout: 1_000 })
          .subscribe({ complete: () => log.push(`${testScheduler.now()}:drained`) });
      }, 20);
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 200);
    });
    expect(log).to.deep.equal(['44:response 40', '44:drained', '44:failed PeerClosedError']);
  });

  it('does not wait for a layer that leaves while it drains: it counts as having answered', () => {
    // A layer (as acceptSessions joins) that never answers; its server is unsubscribed at 10,
    // while the drain waits for it to write out (or, the second time, to store) what it holds.
    for (const stalls of ['beforeGoAway', 'afterClose'] as const) {
      const testScheduler = newTestScheduler();
      const log: string[] = [];
      testScheduler.run(() => {
        const admission = new HandshakeAdmission();
        const leave = admission.joinDrain({
          beforeGoAway: (ready) => (stalls === 'beforeGoAway' ? log.push('asked to write') : ready()),
          afterClose: (done) => (stalls === 'afterClose' ? log.push('asked to store') : done()),
        });
        admission
          .drain({ timeout: 1_000 })
          .subscribe({ complete: () => log.push(`drained@${testScheduler.now()}`) });
        testScheduler.schedule(() => leave(), 10);
      });
      expect(log, stalls).to.deep.equal([
        stalls === 'beforeGoAway' ? 'asked to write' : 'asked to store',
        'drained@10',
      ]);
    }
  });

  it('says what is wrong with its options', () => {
    const admission = new HandshakeAdmission();
    expect(() => admission.drain({ timeout: -1 })).to.throw(TypeError, 'timeout must be a number ≥ 0');
    expect(() => admission.drain({ deadline: 5 } as never)).to.throw(TypeError, /deadline/);
    expect(() => serveRequests(() => 1, { admission: {} as never })).to.throw(
      TypeError,
      'serveRequests: admission must be a HandshakeAdmission',
    );
    expect(() => acceptSessions(NEVER, { admission: 5 as never })).to.throw(
      TypeError,
      'acceptSessions: admission must be a HandshakeAdmission',
    );
  });
});

/**
 * A store whose writes, while `holding`, wait until `release()`: then they reach `store` in order
 * and their callers hear back in the same turn (virtual time goes on meanwhile).
 */
function heldWrites(store: SessionStore): { store: SessionStore; holding: boolean; release(): void } {
  const waiting: (() => void)[] = [];
  const held = {
    holding: false,
    release: () => {
      held.holding = false;
      for (const write of waiting.splice(0)) write();
    },
    store: {
      create: (session) => store.create(session),
      claim: (claim) => store.claim(claim),
      touch: (sessions, ttl) => store.touch(sessions, ttl),
      remove: (id, epoch) => store.remove(id, epoch),
      write: (id, epoch, changes, ttl) => {
        if (!held.holding) return store.write(id, epoch, changes, ttl);
        const later = new Later<void>();
        waiting.push(() => later.follow(store.write(id, epoch, changes, ttl)));
        return later;
      },
    } satisfies SessionStore,
  };
  return held;
}

/** A thenable settled by hand, whose callbacks run in the turn that settles it. */
class Later<T> implements PromiseLike<T> {
  private outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  private readonly callbacks: (() => void)[] = [];

  follow(value: T | PromiseLike<T>): void {
    const thenable = value as { then?: unknown } | null;
    if (thenable !== null && typeof thenable === 'object' && typeof thenable.then === 'function') {
      (value as PromiseLike<T>).then(
        (v) => this.settle({ ok: true, value: v }),
        (error: unknown) => this.settle({ ok: false, error }),
      );
    } else this.settle({ ok: true, value: value as T });
  }

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    const next = new Later<A | B>();
    const run = () => {
      const outcome = this.outcome!;
      try {
        if (outcome.ok)
          next.follow(onFulfilled ? onFulfilled(outcome.value) : (outcome.value as unknown as A));
        else if (onRejected) next.follow(onRejected(outcome.error));
        else next.settle(outcome);
      } catch (error) {
        next.settle({ ok: false, error });
      }
    };
    if (this.outcome) run();
    else this.callbacks.push(run);
    return next;
  }

  private settle(outcome: { ok: true; value: T } | { ok: false; error: unknown }): void {
    this.outcome = outcome;
    for (const callback of this.callbacks.splice(0)) callback();
  }
}
