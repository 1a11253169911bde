// A journal's commit or a store's write that never settles. On the server, a write the store has
// not answered within its storeTimeout ends the session on this process with a
// SessionStoreError ('unavailable') naming the frames that never left, so that a close(), a drain
// or the session's later frames do not wait forever; what the store answers later changes nothing.
// On the client, unsubscribing while a commit hangs leaves nothing armed. All in virtual time.
import { expect } from 'chai';
import {
  acceptHandshake,
  acceptSessions,
  handshake,
  HandshakeAdmission,
  memory,
  memoryJournal,
  memorySessionStore,
  policy,
  reconnectWith,
  resumable,
  SessionStoreError,
  type Link,
  type MemoryPair,
  type SessionJournal,
  type SessionStore,
} from 'rx-lifeline';
import { map, VirtualTimeScheduler, type Subscription } from 'rxjs';
import { StoreWriter } from '../../../lib/protocol/resumable/store-writer.js';
import { failedNow, settledNow } from '../../../lib/internal/settled-now.js';
import type { TestScheduler } from 'rxjs/testing';
import { newTestScheduler } from '../../operators/support.js';

/** A memory store whose calls `change` replaces, each given the memory store to fall back on. */
function memoryStoreWith(change: (base: SessionStore) => Partial<SessionStore>): SessionStore {
  const base = memorySessionStore();
  return {
    create: (session) => base.create(session),
    claim: (claim) => base.claim(claim),
    write: (id, epoch, changes, ttl) => base.write(id, epoch, changes, ttl),
    touch: (sessions, ttl) => base.touch(sessions, ttl),
    remove: (id, epoch) => base.remove(id, epoch),
    ...change(base),
  };
}

/** A promise that never settles: a store call that hangs. */
const never = () => new Promise<void>(() => undefined);

/**
 * A store answer that fails `after` ms from now, in the test scheduler's virtual time (a thenable:
 * a Promise would call back after the run, outside it), long after any of the server's deadlines.
 */
function failsAfter(testScheduler: TestScheduler, after: number): Promise<never> {
  const late: PromiseLike<never> = {
    then: (_answered, failed) => {
      testScheduler.schedule(() => failed?.(new Error('the store answers late')), after);
      return late as never;
    },
  };
  return late as Promise<never>;
}

/** A memory store whose writes, once `stall()` was called, never answer until `answer()`. */
function stallingStore() {
  let stalled = false;
  const held: (() => void)[] = [];
  const stalling = memoryStoreWith((base) => ({
    write: (id, epoch, changes, ttl) =>
      stalled ? new Promise<void>((resolve) => held.push(resolve)) : base.write(id, epoch, changes, ttl),
  }));
  return {
    store: stalling,
    stall: () => (stalled = true),
    /** The held writes answer (late): they resolve. */
    answer: () => held.splice(0).forEach((resolve) => resolve()),
    held,
  };
}

/** A client of `pair` that logs the frames it gets, at their virtual time. */
function client(pair: MemoryPair, log: string[], now: () => number): Subscription {
  return pair.transport.pipe(reconnectWith(policy.constant(10)), resumable<string>()).subscribe({
    next: (event) => {
      if (event.type === 'frame') log.push(`${now()}:got ${String(event.frame)}`);
    },
    error: (error: unknown) => log.push(`${now()}:failed ${(error as Error).name}`),
  });
}

/** Logs, at its virtual time, how a server session's `events$` ends: `server ended [error name]`. */
function endOf(log: string[], now: () => number) {
  return {
    error: (error: unknown) => log.push(`${now()}:server ended ${(error as Error).name}`),
    complete: () => log.push(`${now()}:server ended`),
  };
}

/** acceptSessions' default storeTimeout. */
const STORE_WRITE_TIMEOUT = 30_000;

describe('a store write that never settles', () => {
  for (const storeTimeout of [undefined, 5_000]) {
    const timeout = storeTimeout ?? STORE_WRITE_TIMEOUT;
    it(`ends the session ${timeout} ms (storeTimeout ${storeTimeout ?? 'by default'}) after it began, with a SessionStoreError naming what never left`, () =>
      endsAtTheDeadline(storeTimeout, timeout));
  }

  function endsAtTheDeadline(storeTimeout: number | undefined, timeout: number) {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    const errors: unknown[] = [];
    testScheduler.run(() => {
      const now = () => testScheduler.now();
      const pair = memory({ latency: 2 });
      const slow = stallingStore();
      let sessions = 0;
      const config = storeTimeout === undefined ? { store: slow.store } : { store: slow.store, storeTimeout };
      const server$ = acceptSessions<string>(pair.server, config);
      // The session's own error says it: errors$ does not say it again.
      const watch = server$.errors$.subscribe((error) => log.push(`${now()}:told ${error.message}`));
      const server = server$.subscribe((session) => {
        // The client resumes the session on this server once its copy ended: only the first is watched.
        if (sessions++ > 0) return void session.events$.subscribe({ error: () => undefined });
        session.events$.subscribe({
          next: (event) => {
            if (event.type === 'disconnected') log.push(`${now()}:server disconnected`);
          },
          error: (error: unknown) => {
            errors.push(error);
            log.push(`${now()}:server ended ${(error as Error).name}`);
          },
          complete: () => log.push(`${now()}:server ended`),
        });
        const at = (time: number, act: () => void) => testScheduler.schedule(act, time - now());
        at(10, () => session.link.send('first'));
        at(20, () => (slow.stall(), session.link.send('stuck')));
        at(30, () => session.link.send('after'));
      });
      const sub = client(pair, log, now);
      testScheduler.schedule(() => slow.answer(), timeout + 100); // too late
      testScheduler.schedule(
        () => (sub.unsubscribe(), server.unsubscribe(), watch.unsubscribe()),
        timeout + 200,
      );
    });
    expect(log).to.deep.equal(['12:got first', `${20 + timeout}:server ended SessionStoreError`]);
    const error = errors[0] as SessionStoreError;
    expect(SessionStoreError.is(error) && error.code).to.equal('unavailable');
    expect(error.unsent, 'the frame of the stalled write, and the one told since').to.deep.equal([
      'stuck',
      'after',
    ]);
    expect(error.message).to.match(
      new RegExp(
        `did not answer a write within ${timeout} ms \\(storeTimeout\\).*2 frames taken here never left`,
      ),
    );
  }

  it('refuses a storeTimeout that is not a positive duration, naming it', () => {
    for (const storeTimeout of [0, -1, '30s', Infinity]) {
      expect(() => acceptSessions(memory().server, { storeTimeout } as never), String(storeTimeout)).to.throw(
        TypeError,
        /^acceptSessions: storeTimeout must be a number > 0/,
      );
    }
  });

  it('ends a session its application closed while the write hangs, at the deadline instead of never', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const now = () => testScheduler.now();
      const pair = memory({ latency: 2 });
      const slow = stallingStore();
      let sessions = 0;
      const server = acceptSessions<string>(pair.server, {
        store: slow.store,
        sessionTtl: 10 * STORE_WRITE_TIMEOUT,
      }).subscribe((session) => {
        // The client resumes the session on this server once its copy ended: only the first is watched.
        if (sessions++ > 0) return void session.events$.subscribe({ error: () => undefined });
        session.events$.subscribe({
          ...endOf(log, now),
        });
        const at = (time: number, act: () => void) => testScheduler.schedule(act, time - now());
        at(20, () => (slow.stall(), session.link.send('last')));
        at(30, () => session.link.close());
      });
      const sub = client(pair, log, now);
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 3 * STORE_WRITE_TIMEOUT);
    });
    expect(log).to.deep.equal([`${20 + STORE_WRITE_TIMEOUT}:server ended SessionStoreError`]);
  });

  /**
   * A session whose write stalls at 20 while its server drains from 30 (its client gone away for
   * good): how it ended, and the sessions removed from the store.
   */
  function drainWhileStalled(sessionTtl?: number) {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    const removed: string[] = [];
    testScheduler.run(() => {
      const now = () => testScheduler.now();
      const pair = memory({ latency: 2 });
      const slow = stallingStore();
      const remove = slow.store.remove;
      slow.store.remove = (id, epoch) => (removed.push(id), remove(id, epoch));
      const admission = new HandshakeAdmission();
      const server$ = pair.server.pipe(
        map((event) =>
          event.type === 'connection'
            ? {
                ...event,
                connection: event.connection.pipe(acceptHandshake({ layers: ['resumable'], admission })),
              }
            : event,
        ),
      );
      let link: Link<string> | undefined;
      const config = { store: slow.store, admission, ...(sessionTtl ? { sessionTtl } : {}) };
      const server = acceptSessions<string>(server$, config).subscribe((session) => {
        link = session.link;
        session.events$.subscribe({
          ...endOf(log, now),
        });
      });
      const sub = pair.transport
        .pipe(handshake({ layers: ['resumable'] }), reconnectWith(policy.constant(10)), resumable<string>())
        .subscribe({ error: () => undefined });
      testScheduler.schedule(() => (slow.stall(), link!.send('last')), 20);
      testScheduler.schedule(
        () => admission.drain({ timeout: 1_000 }).subscribe({ complete: () => log.push(`${now()}:drained`) }),
        30,
      );
      // The client, gone away, stays away.
      testScheduler.schedule(() => pair.faults.refuse(true), 31);
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 3 * STORE_WRITE_TIMEOUT);
    });
    return { log, removed };
  }

  it("lets its server's drain complete at the deadline, not at the session's TTL once its client left", () => {
    expect(drainWhileStalled().log).to.deep.equal([
      `${20 + STORE_WRITE_TIMEOUT}:server ended SessionStoreError`,
      `${20 + STORE_WRITE_TIMEOUT}:drained`,
    ]);
  });

  it('leaves in the store, for another process, a session that expires while its server drains', () => {
    const { log, removed } = drainWhileStalled(5_000);
    expect(log.map((line) => line.split(':')[1])).to.deep.equal([
      'server ended SessionExpiredError',
      'drained',
    ]);
    expect(removed).to.deep.equal([]);
  });

  it('leaves nothing armed once its server is unsubscribed, and a late answer changes nothing', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    let slow: ReturnType<typeof stallingStore> | undefined;
    testScheduler.run(() => {
      const now = () => testScheduler.now();
      const pair = memory({ latency: 2 });
      slow = stallingStore();
      const server = acceptSessions<string>(pair.server, { store: slow.store }).subscribe((session) => {
        session.events$.subscribe({
          ...endOf(log, now),
        });
        testScheduler.schedule(() => (slow!.stall(), session.link.send('last')), 20);
      });
      const sub = client(pair, log, now);
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 100);
    });
    // The virtual clock stopped at the unsubscribe: no deadline was left to run later.
    expect(testScheduler.now()).to.equal(100);
    expect(slow!.held.length, 'the write was made').to.equal(1);
    slow!.answer();
    expect(log).to.deep.equal(['100:server ended']);
  });
});

describe('StoreWriter', () => {
  /** A writer of session 'a…a' on a memory store whose writes it records (`epoch changes`), or `fail`s. */
  function recordingWriter(fail?: () => PromiseLike<void>) {
    const writes: string[] = [];
    const store = memoryStoreWith(() => ({
      write: (_id, epoch, changes) => {
        writes.push(`${epoch} ${JSON.stringify(changes)}`);
        return fail ? fail() : settledNow(undefined);
      },
    }));
    const scheduler = new VirtualTimeScheduler();
    const writer = new StoreWriter({ store, ttl: 5_000, timeout: 1_000, scheduler }, 'a'.repeat(32), 1);
    return { writer, writes, scheduler };
  }

  it('writes in each commit what was told since the last one, once: frames, acked, received, the settled token', () => {
    const { writer, writes } = recordingWriter();
    writer.sent(1, 'x');
    writer.sent(2, 'y');
    writer.acked(1);
    writer.received(3);
    writer.settle();
    void writer.commit().then(undefined, () => undefined);
    void writer.commit().then(undefined, () => undefined);
    writer.acked(2);
    void writer.commit().then(undefined, () => undefined);
    expect(writes).to.deep.equal([
      '1 {"frames":[{"seq":1,"frame":"x"},{"seq":2,"frame":"y"}],"acked":1,"received":3,"settled":true}',
      '1 {"frames":[]}',
      '1 {"frames":[],"acked":2}',
    ]);
  });

  it("fails a commit the store refused with its own SessionStoreError with that error's code and message", async () => {
    const refusal = new SessionStoreError('the session is gone', { code: 'gone', session: 'a'.repeat(32) });
    const { writer } = recordingWriter(() => Promise.reject(refusal));
    writer.sent(1, 'x');
    const failures: SessionStoreError[] = [];
    writer.commit().then(undefined, (error: SessionStoreError) => failures.push(error));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(failures).to.have.length(1);
    expect(failures[0]!.code).to.equal('gone');
    expect(failures[0]!.cause).to.equal(refusal);
    expect(failures[0]!.message).to.equal(
      `Session ${'a'.repeat(32)} ends on this process: the session is gone; 1 frames taken here never left`,
    );
  });

  it("is a promise's thenable: each then gets the outcome, a chained then what the callback returned", () => {
    const outcomes: unknown[] = [];
    const written = recordingWriter().writer;
    written.sent(1, 'x');
    const commit = written.commit();
    commit.then(() => 'written').then((value) => outcomes.push(value));
    commit.then(() => outcomes.push('again'));
    const refused = recordingWriter(() => failedNow(new Error('store down'))).writer;
    refused.sent(1, 'x');
    refused
      .commit()
      .then(undefined, (error: Error) => `handled ${error.name}`)
      .then((value) => outcomes.push(value));
    // A store in memory answers at once: so does the commit, and what is chained on it.
    expect(outcomes).to.deep.equal(['written', 'again', 'handled SessionStoreError']);
  });

  it('arms one deadline for a commit however many thens are called on it, and none is left once it settled', async () => {
    const late = storeOf(false);
    const scheduler = new VirtualTimeScheduler();
    const writer = new StoreWriter(
      { store: late.store, ttl: 5_000, timeout: 1_000, scheduler },
      'a'.repeat(32),
      1,
    );
    const outcomes: string[] = [];
    writer.sent(1, 'x');
    const commit = writer.commit();
    commit.then(() => outcomes.push('first'));
    commit.then(() => outcomes.push('second'));
    late.answer();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(outcomes).to.deep.equal(['first', 'second']);
    scheduler.flush();
    expect(scheduler.now(), 'no deadline left to run').to.equal(0);
  });

  it('lets the commits held by two claims in flight go once the last claim is answered', async () => {
    const { writer, writes } = recordingWriter();
    writer.hold();
    writer.sent(1, 'x');
    void writer.commit().then(undefined, () => undefined);
    // A second connection resumes the session while the first claim is in flight.
    writer.hold();
    writer.release(3);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(writes).to.deep.equal(['3 {"frames":[{"seq":1,"frame":"x"}]}']);
  });

  it('settles a commit held by a claim once the copy closes, writing nothing', async () => {
    const { writer, writes } = recordingWriter();
    writer.hold();
    writer.sent(1, 'x');
    const outcomes: string[] = [];
    writer.commit().then(
      () => outcomes.push('settled'),
      (error: unknown) => outcomes.push(`failed ${String(error)}`),
    );
    writer.close();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(outcomes).to.deep.equal(['settled']);
    expect(writes).to.deep.equal([]);
  });

  it('arms no deadline for the commit of a copy that is over (closed): it writes nothing', () => {
    const testScheduler = newTestScheduler();
    const outcomes: string[] = [];
    testScheduler.run(() => {
      const stored = { store: memorySessionStore(), ttl: 1_000, timeout: 1_000, scheduler: testScheduler };
      const writer = new StoreWriter(stored, 'a'.repeat(32), 1);
      writer.sent(1, 'late');
      writer.close();
      writer.commit().then(
        () => outcomes.push('written'),
        (error: unknown) => outcomes.push(`failed ${(error as Error).name}`),
      );
    });
    expect(testScheduler.now(), 'nothing ran in virtual time').to.equal(0);
    expect(outcomes, 'no stalled write').to.not.include('failed SessionStoreError');
  });

  /** A store whose writes answer (resolve) only when `answer()` is called; `now`: at once. */
  function storeOf(now: boolean) {
    const answers: (() => void)[] = [];
    const store: SessionStore = {
      ...memorySessionStore(),
      write: () => (now ? settledNow(undefined) : new Promise<void>((resolve) => answers.push(resolve))),
    };
    return { store, answer: () => answers.splice(0).forEach((resolve) => resolve()) };
  }

  /** Commits one frame on `store` (timeout 1 000) in virtual time; what its commit settled with. */
  function commitOne(store: SessionStore, testScheduler: TestScheduler): string[] {
    const outcomes: string[] = [];
    testScheduler.run(() => {
      const writer = new StoreWriter(
        { store, ttl: 5_000, timeout: 1_000, scheduler: testScheduler },
        'a'.repeat(32),
        1,
      );
      writer.sent(1, 'x');
      writer.commit().then(
        () => outcomes.push(`${testScheduler.now()}:written`),
        (error: unknown) => outcomes.push(`${testScheduler.now()}:failed ${(error as Error).name}`),
      );
    });
    return outcomes;
  }

  it('disarms the deadline of a write the store answered in time: nothing is left to run', () => {
    const testScheduler = newTestScheduler();
    expect(commitOne(storeOf(true).store, testScheduler)).to.deep.equal(['0:written']);
    expect(testScheduler.now(), 'no deadline ran in virtual time').to.equal(0);
  });

  it('settles a write once: failed at its deadline, and an answer that comes later is ignored', async () => {
    const testScheduler = newTestScheduler();
    const late = storeOf(false);
    const outcomes = commitOne(late.store, testScheduler);
    late.answer();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(outcomes).to.deep.equal(['1000:failed SessionStoreError']);
  });

  it('holds a commit made while a claim is in flight, then writes it under the epoch the claim gave', async () => {
    const writes: string[] = [];
    const store: SessionStore = {
      ...memorySessionStore(),
      write: (_id, epoch, changes) => (
        writes.push(`${epoch}:${changes.frames.length}`),
        settledNow(undefined)
      ),
    };
    const scheduler = new VirtualTimeScheduler();
    const writer = new StoreWriter({ store, ttl: 5_000, timeout: 1_000, scheduler }, 'a'.repeat(32), 1);
    const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
    writer.hold();
    writer.sent(1, 'x');
    void writer.commit().then(undefined, () => undefined);
    await tick();
    expect(writes, 'held while the claim is in flight').to.deep.equal([]);
    writer.release(2);
    await tick();
    expect(writes).to.deep.equal(['2:1']);
  });
});

describe('a client journal whose commit never settles', () => {
  it('leaves nothing armed once the stream is unsubscribed', () => {
    const testScheduler = newTestScheduler();
    let commits = 0;
    const journal: SessionJournal = {
      ...memoryJournal(),
      commit: () => (commits++, never()),
    };
    const events: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const server = acceptSessions<string>(pair.server).subscribe();
      const sub = pair.transport
        .pipe(reconnectWith(policy.constant(10)), resumable<string>({ journal }))
        .subscribe({
          next: (event) => events.push(event.type),
          error: (error: unknown) => events.push(`failed ${String(error)}`),
          complete: () => events.push('complete'),
        });
      testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 100);
    });
    expect(commits, 'the welcome waits for its commit').to.equal(1);
    expect(events, 'never connected: the welcome is never made durable').to.deep.equal([]);
    expect(testScheduler.now()).to.equal(100);
  });
});

describe('a store removal that never settles', () => {
  /**
   * A session whose client leaves at 50 ms expires after its 1 s TTL, and the server asks the store
   * to remove it; `remove` answers (`'answers'`) or never does. Returns when and how it ended.
   */
  function expiry(remove: 'answers' | 'hangs' | 'fails late', stopAt = 20_000) {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const now = () => testScheduler.now();
      const pair = memory({ latency: 2 });
      const store = memoryStoreWith((base) => ({
        remove: (id, epoch) =>
          remove === 'answers'
            ? base.remove(id, epoch)
            : remove === 'hangs'
              ? never()
              : failsAfter(testScheduler, 8_000),
      }));
      const config = { store, sessionTtl: 1_000, storeTimeout: 5_000 };
      const server$ = acceptSessions<string>(pair.server, config);
      const server = server$.subscribe((session) =>
        session.events$.subscribe({
          ...endOf(log, now),
        }),
      );
      server.add(
        server$.errors$.subscribe((error) => log.push(`${now()}:told ${error.code} ${error.message}`)),
      );
      const sub = client(pair, [], now);
      testScheduler.schedule(() => sub.unsubscribe(), 50);
      testScheduler.schedule(() => server.unsubscribe(), stopAt);
    });
    return { log, stoppedAt: testScheduler.now() };
  }

  it('ends the expired session storeTimeout after the store was asked, instead of holding it for good', () => {
    const answered = expiry('answers').log;
    expect(answered).to.have.length(1);
    const [at, how] = answered[0]!.split(':');
    expect(how).to.equal('server ended SessionExpiredError');
    const hung = expiry('hangs').log;
    expect(hung).to.have.length(2);
    expect(hung[1]).to.equal(`${Number(at) + 5_000}:server ended SessionExpiredError`);
    // No failure of the session's own: errors$ says the store did not answer, first.
    expect(hung[0]).to.match(
      new RegExp(
        `^${Number(at) + 5_000}:told unavailable The session store failed to remove an expired session \\(session \\w+\\): no answer within 5000 ms \\(storeTimeout\\)$`,
      ),
    );
  });

  it('tells errors$ nothing more when the store fails the removal after storeTimeout', () => {
    const anyId = (log: string[]) => log.map((line) => line.replace(/\(session \w+\)/, '(session …)'));
    expect(anyId(expiry('fails late').log)).to.deep.equal(anyId(expiry('hangs').log));
  });

  it("ends as expired, not as its write's failure, a session whose write still hangs when it expires", () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const now = () => testScheduler.now();
      const pair = memory({ latency: 2 });
      let stalled = false;
      const store = memoryStoreWith((base) => ({
        write: (id, epoch, changes, ttl) => (stalled ? never() : base.write(id, epoch, changes, ttl)),
        remove: () => never(),
      }));
      const server = acceptSessions<string>(pair.server, {
        store,
        sessionTtl: 1_000,
        storeTimeout: 5_000,
      }).subscribe((session) => {
        session.events$.subscribe(endOf(log, now));
        testScheduler.schedule(() => ((stalled = true), session.link.send('stuck')), 20);
      });
      const sub = client(pair, [], now);
      testScheduler.schedule(() => sub.unsubscribe(), 50);
      testScheduler.schedule(() => server.unsubscribe(), 20_000);
    });
    // Without a connection from 52, expired at 1 052, not removed by 6 052: its write's deadline
    // (at 5 020) went with its copy.
    expect(log).to.deep.equal(['6052:server ended SessionExpiredError']);
  });

  it('leaves no deadline armed when the server stops while the store is asked', () => {
    const { log, stoppedAt } = expiry('hangs', 3_000);
    expect(log, 'the server stopped first: the session ends with it').to.deep.equal(['3000:server ended']);
    expect(stoppedAt, 'nothing ran after the stop').to.equal(3_000);
  });
});

describe('a store touch that never settles', () => {
  /** When a store whose touches answer or hang is asked to touch, over 14 s of one attached session. */
  function touches(touch: 'answers' | 'hangs'): number[] {
    return touchesTold(touch).at;
  }

  /** {@link touches}, and what errors$ told meanwhile, at its time. */
  function touchesTold(touch: 'answers' | 'hangs' | 'fails late', leaveAt = 14_500) {
    const testScheduler = newTestScheduler();
    const at: number[] = [];
    const told: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const store = memoryStoreWith((base) => ({
        touch: (sessions, ttl) => {
          at.push(testScheduler.now());
          if (touch === 'answers') return base.touch(sessions, ttl);
          return touch === 'hangs' ? never() : failsAfter(testScheduler, 7_000);
        },
      }));
      const config = { store, sessionTtl: 3_000, storeTimeout: 5_000 };
      const server$ = acceptSessions<string>(pair.server, config);
      const server = server$.subscribe((session) => session.events$.subscribe({ error: () => undefined }));
      server.add(
        server$.errors$.subscribe((error) =>
          told.push(`${testScheduler.now()}:${error.code} ${error.session}: ${error.message}`),
        ),
      );
      const sub = client(pair, [], () => testScheduler.now());
      testScheduler.schedule(() => sub.unsubscribe(), leaveAt);
      testScheduler.schedule(() => server.unsubscribe(), 14_500);
    });
    return { at, told };
  }

  it('asks once a third of the TTL while the store answers', () => {
    expect(touches('answers')).to.deep.equal([
      1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000, 10_000, 11_000, 12_000, 13_000, 14_000,
    ]);
  });

  it('asks again only once the unanswered one is storeTimeout old, so a hung store is not sent a list each round', () => {
    expect(touches('hangs')).to.deep.equal([1_000, 6_000, 11_000]);
  });

  it('tells errors$ of each touch left unanswered for storeTimeout, as it asks again; of none while the store answers', () => {
    const why =
      'The session store failed to keep the attached sessions alive (touch): no answer within 5000 ms (storeTimeout)';
    expect(touchesTold('hangs').told).to.deep.equal([
      `6000:unavailable undefined: ${why}`,
      `11000:unavailable undefined: ${why}`,
    ]);
    expect(touchesTold('answers').told).to.deep.equal([]);
    // Failing 7 s after it was asked, 2 s after it was told: nothing more is told.
    expect(touchesTold('fails late')).to.deep.equal(touchesTold('hangs'));
    // Its client left at 1 500: the touch unanswered is told once, and no other is sent.
    const left = touchesTold('hangs', 1_500);
    expect(left.at).to.deep.equal([1_000]);
    expect(left.told).to.deep.equal([`6000:unavailable undefined: ${why}`]);
  });
});

describe('a store create or claim that never settles', () => {
  it('tells errors$ nothing of a connection closed at its handshakeTimeout that never sent a hello', () => {
    const testScheduler = newTestScheduler();
    const told: unknown[] = [];
    let timedOut = 0;
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const server$ = acceptSessions<string>(pair.server, {
        store: memorySessionStore(),
        handshakeTimeout: 1_000,
      });
      const server = server$.subscribe();
      server.add(server$.errors$.subscribe((error) => told.push(error)));
      server.add(server$.stats$.subscribe((stats) => (timedOut = stats.closed.handshakeTimeout)));
      const silent = pair.transport.subscribe({ error: () => undefined });
      testScheduler.schedule(() => (silent.unsubscribe(), server.unsubscribe()), 3_000);
    });
    expect(timedOut).to.equal(1);
    expect(told).to.deep.equal([]);
  });

  for (const [method, late] of [
    ['create', false],
    ['claim', false],
    ['create', true],
    ['claim', true],
  ] as const) {
    const answer = late ? ', and nothing more when the store fails it later' : '';
    it(`tells errors$ once the ${method}'s connection is closed at its handshakeTimeout${answer}, and the client comes back`, () => {
      const testScheduler = newTestScheduler();
      const log: string[] = [];
      let timedOut = 0;
      testScheduler.run(() => {
        const now = () => testScheduler.now();
        const pair = memory({ latency: 2 });
        // The first call of `method` hangs (or fails 2 s later); the next ones are the memory store's.
        let calls = 0;
        const hung = () => (late ? failsAfter(testScheduler, 2_000) : never());
        const store = memoryStoreWith((base) =>
          method === 'create'
            ? { create: (session) => (calls++ ? base.create(session) : hung()) }
            : { claim: (claim) => (calls++ ? base.claim(claim) : (hung() as never)) },
        );
        const server$ = acceptSessions<string>(pair.server, { store, handshakeTimeout: 1_000 });
        const server = server$.subscribe((session) => {
          log.push(`${now()}:session`);
          session.events$.subscribe({ error: () => undefined });
        });
        server.add(
          server$.errors$.subscribe((error) =>
            log.push(`${now()}:told ${error.code} ${error.session} ${error.message}`),
          ),
        );
        server.add(server$.stats$.subscribe((stats) => (timedOut = stats.closed.handshakeTimeout)));
        const sub = client(pair, [], now);
        // A claim is a resume: the client's first connection breaks at 100.
        if (method === 'claim') testScheduler.schedule(() => pair.faults.cut(), 100);
        testScheduler.schedule(() => (sub.unsubscribe(), server.unsubscribe()), 3_000);
      });
      const deadline = method === 'create' ? 1_002 : 1_112;
      const why = `no answer within 1000 ms (handshakeTimeout), so its connection is closed`;
      expect(log).to.deep.equal([
        ...(method === 'claim' ? ['4:session'] : []),
        `${deadline}:told unavailable undefined The session store failed to answer a hello: ${why}`,
        ...(method === 'create' ? ['1018:session'] : []),
      ]);
      expect(timedOut).to.equal(1);
    });
  }
});
