import { expect } from 'chai';
import fc from 'fast-check';
import {
  acceptSessions,
  JournalHeldError,
  LinkClosedError,
  memory,
  memoryJournal,
  policy,
  reconnectWith,
  resumable,
  SessionLostError,
  type Link,
  type MemoryPair,
  type SessionJournal,
  type JournalState,
} from 'rx-lifeline';
import { defer, map, type Subscription } from 'rxjs';
import { newTestScheduler } from '../../operators/support.js';

/** A session server on `pair` that echoes each frame upper-cased and records what it got. */
function echoServer(pair: MemoryPair, got: string[], sessions: string[]): Subscription {
  return acceptSessions<string>(pair.server).subscribe((session) => {
    sessions.push(session.id);
    session.events$.subscribe({
      next: (event) => {
        if (event.type !== 'frame') return;
        got.push(event.frame);
        session.link.send(event.frame.toUpperCase());
      },
      error: () => undefined,
    });
  });
}

/** A client with `journal`; its link goes to `onLink`, its frames to `got`, its error to `errors`. */
function journalClient(
  pair: MemoryPair,
  journal: SessionJournal,
  got: string[],
  onLink: (link: Link<string>) => void,
  errors: unknown[] = [],
): Subscription {
  return pair.transport.pipe(reconnectWith(policy.constant(10)), resumable<string>({ journal })).subscribe({
    next: (event) => {
      if (event.type === 'connected') onLink(event.link as Link<string>);
      else if (event.type === 'frame') got.push(event.frame as string);
    },
    error: (error: unknown) => errors.push(error),
  });
}

/** Records the client's wire writes (`wire N` for data frame N) into `log`. */
const tapWire = (log: string[]) =>
  map((event: { type: string; link?: Link<unknown> }) => {
    if (event.type === 'connected' && event.link) {
      const link = event.link;
      const send = link.send.bind(link);
      link.send = (frame: unknown) => {
        const envelope = frame as unknown[];
        if (envelope[0] === 0) log.push(`wire ${String(envelope[1])}`);
        return send(frame);
      };
    }
    return event;
  });

describe('resumable with a journal: a client process that dies resumes its session', () => {
  it('a second client on the same journal resumes the session: nothing lost or repeated either way', () => {
    const testScheduler = newTestScheduler();
    const serverGot: string[] = [];
    const sessions: string[] = [];
    const first: string[] = [];
    const second: string[] = [];
    const journal = memoryJournal();
    testScheduler.run(() => {
      const pair = memory({ latency: 5 });
      const server = echoServer(pair, serverGot, sessions);
      let link1: Link<string> | undefined;
      const client1 = journalClient(pair, journal, first, (link) => (link1 = link));
      testScheduler.schedule(() => (link1!.send('a'), link1!.send('b')), 20);
      // The process dies: it sends 'c' and is gone in the same turn, without a goodbye.
      testScheduler.schedule(() => {
        link1!.send('c');
        link1!.send('d');
        client1.unsubscribe();
      }, 40);
      let link2: Link<string> | undefined;
      const client2 = journal;
      testScheduler.schedule(() => {
        const restarted = journalClient(pair, client2, second, (link) => (link2 = link));
        testScheduler.schedule(() => link2!.send('e'), 50);
        testScheduler.schedule(() => (restarted.unsubscribe(), server.unsubscribe()), 200);
      }, 100);
    });
    expect(sessions).to.have.length(1);
    expect(serverGot).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    // The first process saw the echoes of a and b; the restarted one every later echo, once.
    expect(first).to.deep.equal(['A', 'B']);
    expect(second).to.deep.equal(['C', 'D', 'E']);
  });

  it('a journal holding frames but no session yet (no server ever welcomed it) opens a session with them', () => {
    const testScheduler = newTestScheduler();
    const serverGot: string[] = [];
    const sessions: string[] = [];
    const journal = memoryJournal();
    journal.sent(1, 'early');
    journal.sent(2, 'later');
    testScheduler.run(() => {
      const pair = memory({ latency: 5 });
      const server = echoServer(pair, serverGot, sessions);
      const client = journalClient(pair, journal, [], () => undefined);
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 100);
    });
    expect(serverGot).to.deep.equal(['early', 'later']);
    expect(sessions).to.have.length(1);
    expect(journal.restore()?.session).to.equal(sessions[0]);
  });

  it('close() ends the session and clears the journal; unsubscribing keeps it', () => {
    const testScheduler = newTestScheduler();
    const journal = memoryJournal();
    const kept: unknown[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 5 });
      const server = echoServer(pair, [], []);
      let link: Link<string> | undefined;
      const client = journalClient(pair, journal, [], (l) => (link = l));
      testScheduler.schedule(() => link!.send('a'), 20);
      testScheduler.schedule(() => kept.push(journal.restore()?.session !== undefined), 30);
      testScheduler.schedule(() => link!.close(), 40);
      testScheduler.schedule(() => kept.push(journal.restore()), 60);
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 70);
    });
    expect(kept).to.deep.equal([true, undefined]);
  });

  it('a session the server no longer knows is lost, typed, and the journal cleared', () => {
    const testScheduler = newTestScheduler();
    const journal = memoryJournal();
    journal.session('f'.repeat(32), 'e'.repeat(32));
    journal.sent(1, 'lost');
    const errors: unknown[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 5 });
      const server = echoServer(pair, [], []);
      const client = journalClient(pair, journal, [], () => undefined, errors);
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 100);
    });
    expect(errors).to.have.length(1);
    expect(SessionLostError.is(errors[0])).to.equal(true);
    expect((errors[0] as SessionLostError).reason).to.equal('unknown-session');
    expect((errors[0] as SessionLostError).unsent).to.deep.equal(['lost']);
    expect(journal.restore()).to.equal(undefined);
  });

  it('a damaged journal fails the stream with a TypeError saying so, before any dial', () => {
    // Each state breaks one rule: frames an array of entries numbered up to lastSeq without a gap,
    // lastSeq and received whole counts, no frame numbered below 1, and a session id and token the
    // wire carries, both or neither (a server refused every hello with them: the client dialled
    // again forever).
    const states = [
      { lastSeq: 3, received: 0, frames: [{ seq: 1, frame: 'x' }] },
      {
        lastSeq: 2,
        received: 0,
        frames: [
          { seq: 1, frame: 'x' },
          { seq: 1, frame: 'y' },
        ],
      },
      {
        lastSeq: 1,
        received: 0,
        frames: [
          { seq: 0, frame: 'x' },
          { seq: 1, frame: 'y' },
        ],
      },
      { lastSeq: -1, received: 0, frames: [] },
      { lastSeq: 1.5, received: 0, frames: [] },
      { lastSeq: 1, received: -1, frames: [{ seq: 1, frame: 'x' }] },
      { lastSeq: 1, received: NaN, frames: [{ seq: 1, frame: 'x' }] },
      { lastSeq: 1, received: 2.5, frames: [{ seq: 1, frame: 'x' }] },
      { lastSeq: 0, received: 0, frames: 'none' as never },
      { lastSeq: 1, received: 0, frames: [null as never] },
      { session: 5 as never, token: '1'.repeat(32), lastSeq: 0, received: 0, frames: [] },
      { session: '0'.repeat(32), lastSeq: 0, received: 0, frames: [] },
    ];
    for (const state of states) {
      const error = restoreError({ session: undefined, token: undefined, ...state });
      expect(error, JSON.stringify(state)).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.include("the journal's state is damaged");
    }
    // And a state that holds together is taken.
    const good = {
      session: undefined,
      token: undefined,
      lastSeq: 2,
      received: 5,
      frames: [{ seq: 2, frame: 'y' }],
    };
    expect(restoreError(good)).to.equal(undefined);
  });

  /** What resuming from a journal holding `state` fails with, before any dial; undefined if nothing. */
  function restoreError(state: JournalState): unknown {
    const damaged: SessionJournal = { ...memoryJournal(), restore: () => state };
    const errors: unknown[] = [];
    let dialled = false;
    const pair = memory();
    const server = pair.server.subscribe((event) => {
      if (event.type === 'connection') dialled = true;
    });
    const client = pair.transport
      .pipe(reconnectWith(policy.constant(10)), resumable({ journal: damaged }))
      .subscribe({ error: (e: unknown) => errors.push(e) });
    server.unsubscribe();
    client.unsubscribe();
    if (errors.length > 0) expect(dialled, 'dialled before failing').to.equal(false);
    return errors[0];
  }

  it('refuses a journal that is not a SessionJournal', () => {
    expect(() => resumable({ journal: { restore: () => undefined } as never })).to.throw(
      TypeError,
      'resumable: journal must be a SessionJournal (memoryJournal(), fileJournal(path)), got an object without session, sent, acked, received, clear',
    );
  });
});

describe('resumable with a journal that fails on its own (failure$)', () => {
  it('fails the stream at once with what failure$ emits, and stops listening to it', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const takenOver = new RangeError('taken over');
      const failure$ = cold('   ---e', { e: takenOver });
      const source = cold<{ type: string }>('-');
      const journal: SessionJournal = { ...memoryJournal(), failure$ };
      expectObservable(source.pipe(resumable({ journal }))).toBe('---#', undefined, takenOver);
      expectSubscriptions(failure$.subscriptions).toBe('^--!');
      expectSubscriptions(source.subscriptions).toBe(' ^--!');
    });
  });

  it('fails the stream all the same with the error of a failure$ that errors instead of emitting', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const closed = new Error('the database was closed');
      // Reported as an unhandled error, and the stream went on without its journal.
      const failure$ = cold('   ---#', undefined, closed);
      const source = cold<{ type: string }>('-');
      const journal: SessionJournal = { ...memoryJournal(), failure$ };
      expectObservable(source.pipe(resumable({ journal }))).toBe('---#', undefined, closed);
      expectSubscriptions(source.subscriptions).toBe(' ^--!');
    });
  });

  it('one that never fails is let go when the stream is unsubscribed, or ends', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failure$ = cold('-');
      const journal: SessionJournal = { ...memoryJournal(), failure$ };
      expectObservable(cold<{ type: string }>('-').pipe(resumable({ journal })), '--!').toBe('-');
      expectObservable(cold<{ type: string }>('----|').pipe(resumable({ journal }))).toBe('----|');
      expectSubscriptions(failure$.subscriptions).toBe(['^-!', '^---!']);
    });
  });

  it('an idle client with a live session fails at once, typed, sending nothing more, and the server sees it go', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(({ hot }) => {
      const now = () => testScheduler.now();
      const pair = memory({ latency: 1 });
      const server = acceptSessions<string>(pair.server).subscribe((session) => {
        log.push(`${now()}: session`);
        session.events$.subscribe({
          next: (event) => log.push(`${now()}: server ${event.type}`),
          error: (error: Error) => log.push(`${now()}: server ${error.name}`),
        });
      });
      const takenOver = new JournalHeldError('taken over', { journal: 'j', reason: 'taken-over' });
      const failure$ = hot('20ms e', { e: takenOver });
      const journal: SessionJournal = { ...memoryJournal(), failure$ };
      const client = pair.transport
        .pipe(reconnectWith(policy.constant(10)), resumable<string>({ journal }))
        .subscribe({
          next: (event) => log.push(`${now()}: ${event.type}`),
          error: (error: unknown) =>
            log.push(`${now()}: error ${JournalHeldError.is(error) ? error.reason : String(error)}`),
        });
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 100);
    });
    // No frame reaches the server's application; it sees the client go at 21.
    expect(log).to.deep.equal([
      '2: session',
      '2: server connected',
      '3: connected',
      '20: error taken-over',
      '21: server disconnected',
    ]);
  });

  it('refuses a failure$ that is not an Observable', () => {
    expect(() => resumable({ journal: { ...memoryJournal(), failure$: 5 } as never })).to.throw(
      TypeError,
      'resumable: journal.failure$ must be an Observable, got 5',
    );
  });
});

describe('resumable with a journal that commits', () => {
  it("writes a turn's frames only after the journal committed them, one commit per turn", () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    const inner = memoryJournal();
    const journal: SessionJournal = {
      ...inner,
      sent: (seq, frame) => {
        log.push(`sent ${seq}`);
        inner.sent(seq, frame);
      },
      commit: () => {
        log.push('commit');
      },
    };
    const serverGot: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 5 });
      const server = echoServer(pair, serverGot, []);
      // The raw bytes leaving the client: every frame the link took, in order with the journal's calls.
      let link: Link<string> | undefined;
      const client = pair.transport
        .pipe(tapWire(log) as never, reconnectWith(policy.constant(10)), resumable<string>({ journal }))
        .subscribe((event) => {
          if (event.type === 'connected') link = (event as { link: Link<string> }).link;
        });
      testScheduler.schedule(() => ['a', 'b', 'c'].forEach((frame) => link!.send(frame)), 20);
      testScheduler.schedule(() => link!.send('d'), 30);
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 60);
    });
    // Later commits keep the server's echoes and acks (received, acked); the sends are what matter here.
    // The first commit keeps the welcome's session and token, before the client speaks.
    expect(log.slice(0, log.indexOf('wire 4') + 1)).to.deep.equal([
      'commit',
      'sent 1',
      'sent 2',
      'sent 3',
      'commit',
      'wire 1',
      'wire 2',
      'wire 3',
      'sent 4',
      'commit',
      'wire 4',
    ]);
    expect(serverGot).to.deep.equal(['a', 'b', 'c', 'd']);
  });
});

/**
 * A thenable settled by the test in virtual time: `settle(error?)` calls back synchronously, so a
 * journal whose commit is asynchronous runs inside `TestScheduler.run`.
 */
class Deferred implements PromiseLike<void> {
  private callbacks: [
    (() => unknown) | null | undefined,
    ((error: unknown) => unknown) | null | undefined,
  ][] = [];
  then<A = void, B = never>(
    onFulfilled?: ((value: void) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    this.callbacks.push([onFulfilled as () => unknown, onRejected]);
    return this as unknown as PromiseLike<A | B>;
  }
  settle(error?: unknown): void {
    for (const [ok, failed] of this.callbacks.splice(0)) {
      if (error === undefined) ok?.();
      else failed?.(error);
    }
  }
}

describe('resumable with a journal whose commit is asynchronous', () => {
  /** A journal whose every commit is settled `delay` ms later, as `outcome` says. */
  function slowJournal(log: string[], settleLater: (commit: Deferred) => void): SessionJournal {
    const inner = memoryJournal();
    return {
      ...inner,
      sent: (seq, frame) => {
        log.push(`sent ${seq}`);
        inner.sent(seq, frame);
      },
      commit: () => {
        log.push('commit');
        const commit = new Deferred();
        settleLater(commit);
        return commit;
      },
    };
  }

  it('writes frames only once the commit resolved, and one commit at a time', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    const serverGot: string[] = [];
    testScheduler.run(() => {
      const journal = slowJournal(log, (commit) =>
        testScheduler.schedule(() => {
          log.push('resolved');
          commit.settle();
        }, 7),
      );
      const pair = memory({ latency: 5 });
      const server = echoServer(pair, serverGot, []);
      let link: Link<string> | undefined;
      const client = pair.transport
        .pipe(tapWire(log) as never, reconnectWith(policy.constant(10)), resumable<string>({ journal }))
        .subscribe((event) => {
          if (event.type === 'connected') link = (event as { link: Link<string> }).link;
        });
      // The welcome's commit (the session and its token) resolves at 22: the link comes then.
      testScheduler.schedule(() => ['a', 'b'].forEach((frame) => link!.send(frame)), 30);
      // Sent while the first commit is in flight: it waits for its own, after the first.
      testScheduler.schedule(() => link!.send('c'), 32);
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 90);
    });
    expect(log.slice(0, log.indexOf('wire 3') + 1)).to.deep.equal([
      'commit',
      'resolved',
      'sent 1',
      'sent 2',
      'commit',
      'sent 3',
      'resolved',
      'wire 1',
      'wire 2',
      'commit',
      'resolved',
      'wire 3',
    ]);
    expect(serverGot).to.deep.equal(['a', 'b', 'c']);
  });

  it('fails the stream with the reason of a commit that rejects, and writes nothing it held', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    const errors: unknown[] = [];
    const failure = new Error('disk full');
    testScheduler.run(() => {
      // The welcome's commit holds; the next one, of the frame, fails.
      let commits = 0;
      const journal = slowJournal(log, (commit) =>
        testScheduler.schedule(() => commit.settle(++commits === 1 ? undefined : failure), 3),
      );
      const pair = memory({ latency: 5 });
      const server = echoServer(pair, [], []);
      let link: Link<string> | undefined;
      const client = pair.transport
        .pipe(tapWire(log) as never, reconnectWith(policy.constant(10)), resumable<string>({ journal }))
        .subscribe({
          next: (event) => {
            if (event.type === 'connected') link = (event as { link: Link<string> }).link;
          },
          error: (error: unknown) => errors.push(error),
        });
      testScheduler.schedule(() => link!.send('a'), 20);
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 60);
    });
    expect(errors).to.deep.equal([failure]);
    expect(log.filter((entry) => entry.startsWith('wire'))).to.deep.equal([]);
  });
});

describe('resumable with a journal that throws', () => {
  const boom = new Error('the journal broke');

  /** memoryJournal with `extra` calls, whose `call` throws `boom` while `armed()` says so. */
  function breaking(
    call: 'session' | 'sent' | 'acked' | 'received' | 'clear',
    armed: (...args: unknown[]) => boolean,
    extra: Partial<SessionJournal> = {},
  ): SessionJournal {
    const journal: SessionJournal = { ...memoryJournal(), ...extra };
    const real = journal[call] as (...args: unknown[]) => void;
    (journal as unknown as Record<string, unknown>)[call] = (...args: unknown[]) => {
      if (armed(...args)) throw boom;
      real(...args);
    };
    return journal;
  }

  /**
   * An echo server and a client with `journal` until 300 ms; `script` acts on the client's link at
   * its times. What the stream ended with, what the script's calls threw, and the dials after 30.
   */
  function run(
    journal: SessionJournal,
    script: (at: (time: number, act: (link: Link<string>, pair: MemoryPair) => void) => void) => void,
  ): { errors: unknown[]; thrown: unknown[]; serverGot: string[]; lateDials: number } {
    const testScheduler = newTestScheduler();
    const errors: unknown[] = [];
    const thrown: unknown[] = [];
    const serverGot: string[] = [];
    let lateDials = 0;
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const server = echoServer(pair, serverGot, []);
      const dial = defer(() => {
        if (testScheduler.now() > 30) lateDials++;
        return pair.transport;
      });
      let link: Link<string> | undefined;
      const client = dial.pipe(reconnectWith(policy.constant(10)), resumable<string>({ journal })).subscribe({
        next: (event) => {
          if (event.type === 'connected') link = event.link as Link<string>;
        },
        error: (error: unknown) => errors.push(error),
      });
      script((time, act) =>
        testScheduler.schedule(() => {
          try {
            act(link!, pair);
          } catch (error) {
            thrown.push(error);
          }
        }, time),
      );
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 300);
    });
    return { errors, thrown, serverGot, lateDials };
  }

  it('a sent() that throws fails the stream with that error, and send() throws it: no frame after it goes out numbered out of step', () => {
    const journal = breaking('sent', (_seq, frame) => frame === 'x');
    const { errors, thrown } = run(journal, (at) => {
      at(20, (link) => link.send('x'));
      at(20, (link) => link.send('y'));
    });
    expect(errors).to.deep.equal([boom]);
    expect(thrown[0]).to.equal(boom);
    expect(LinkClosedError.is(thrown[1]), String(thrown[1])).to.equal(true);
  });

  for (const [call, armedFrom] of [
    ['session', 0],
    ['received', 10],
    ['acked', 21],
  ] as const) {
    it(`a ${call}() that throws fails the stream with that very error, not a ProtocolError blaming the frame`, () => {
      let now = 0;
      const journal = breaking(call, () => now >= armedFrom);
      const { errors } = run(journal, (at) => {
        at(armedFrom, () => (now = armedFrom));
        at(20, (link) => link.send('x'));
      });
      expect(errors).to.deep.equal([boom]);
    });
  }

  it('a clear() that throws when the application closes fails the stream with that error: close() does not throw, nothing is left running', () => {
    const live = run(
      breaking('clear', () => true),
      (at) => at(20, (link) => link.close()),
    );
    expect(live.errors).to.deep.equal([boom]);
    expect(live.thrown).to.deep.equal([]);
    // Offline: the server is away when the application closes; no dial follows.
    const offline = run(
      breaking('clear', () => true),
      (at) => {
        at(20, (_link, pair) => (pair.faults.refuse(true), pair.faults.cut()));
        at(30, (link) => link.close());
      },
    );
    expect(offline.errors).to.deep.equal([boom]);
    expect(offline.thrown).to.deep.equal([]);
    expect(offline.lateDials).to.equal(0);
  });

  it('a commit() whose thenable throws from then() fails the stream with that error, instead of holding every later frame', () => {
    // The welcome's commit resolves; the one of the frame sent at 20 breaks (on the asap scheduler,
    // where its exception escaped, and the commit stayed running for good).
    let armed = false;
    const journal: SessionJournal = {
      ...memoryJournal(),
      commit: () =>
        ({
          then: (resolve: () => void) => {
            if (armed) throw boom;
            resolve();
          },
        }) as unknown as PromiseLike<void>,
    };
    const { errors } = run(journal, (at) => {
      at(15, () => (armed = true));
      at(20, (link) => link.send('x'));
    });
    expect(errors).to.deep.equal([boom]);
  });

  it('an acked() that throws when an asynchronous commit resolves fails the stream with that error, out of no callback', () => {
    const testScheduler = newTestScheduler();
    let armed = false;
    const journal = breaking('acked', () => armed, {
      commit: () => {
        const commit = new Deferred();
        testScheduler.schedule(() => commit.settle(), 1);
        return commit;
      },
    });
    const errors: unknown[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 2 });
      const server = echoServer(pair, [], []);
      let link: Link<string> | undefined;
      const client = pair.transport
        .pipe(reconnectWith(policy.constant(10)), resumable<string>({ journal }))
        .subscribe({
          next: (event) => {
            if (event.type === 'connected') link = event.link as Link<string>;
          },
          error: (error: unknown) => errors.push(error),
        });
      testScheduler.schedule(() => link!.send('a'), 20);
      // Cut before the server's ack: the welcome of the resume acks 'a', once its commit resolved.
      testScheduler.schedule(() => ((armed = true), pair.faults.cut()), 40);
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 100);
    });
    expect(errors).to.deep.equal([boom]);
  });
});

describe('resumable with a journal that commits: acks', () => {
  it('never acks a delivery the journal has not committed, so the server keeps what a restart would need', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    let received = 0;
    let committedReceived = 0;
    const inner = memoryJournal();
    const journal: SessionJournal = {
      ...inner,
      received: (seq) => {
        received = seq;
        inner.received(seq);
      },
      commit: () => {
        committedReceived = received;
      },
    };
    const problems: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 5 });
      let serverLink: Link<string> | undefined;
      const server = acceptSessions<string>(pair.server).subscribe((session) => {
        serverLink = session.link;
        session.events$.subscribe({ error: () => undefined });
      });
      const client = pair.transport
        .pipe(
          map((event) => {
            if (event.type === 'connected') {
              const send = event.link.send.bind(event.link);
              event.link.send = (frame: unknown) => {
                const envelope = frame as unknown[];
                if (envelope[0] === 1) {
                  log.push(`ack ${String(envelope[1])}`);
                  if ((envelope[1] as number) > committedReceived) {
                    problems.push(`acked ${String(envelope[1])} with ${committedReceived} committed`);
                  }
                }
                return send(frame);
              };
            }
            return event;
          }),
          reconnectWith(policy.constant(10)),
          resumable<string>({ journal, ackEvery: 1 }),
        )
        .subscribe();
      testScheduler.schedule(() => ['a', 'b', 'c'].forEach((frame) => serverLink!.send(frame)), 30);
      testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 600);
    });
    expect(problems).to.deep.equal([]);
    // Everything delivered is acked in the end, once committed.
    expect(log.at(-1)).to.equal('ack 3');
  });
});

describe('memoryJournal', () => {
  it('keeps the unacknowledged frames in order, the last acknowledged one, the newest token, and what was received', () => {
    const journal = memoryJournal();
    expect(journal.restore()).to.equal(undefined);
    journal.sent(1, 'a');
    journal.session('1'.repeat(32), 'a'.repeat(32));
    journal.sent(2, 'b');
    journal.sent(3, 'c');
    journal.acked(1);
    journal.received(4);
    journal.received(2);
    journal.session('1'.repeat(32), 'b'.repeat(32));
    expect(journal.restore()).to.deep.equal({
      session: '1'.repeat(32),
      token: 'b'.repeat(32),
      lastSeq: 3,
      received: 4,
      frames: [
        { seq: 2, frame: 'b' },
        { seq: 3, frame: 'c' },
      ],
      lastAcked: { seq: 1, frame: 'a' },
    });
    journal.acked(3);
    expect(journal.restore()).to.deep.include({ lastSeq: 3, frames: [], lastAcked: { seq: 3, frame: 'c' } });
    journal.acked(3);
    expect(journal.restore()?.lastAcked, 'an ack that retires nothing keeps it').to.deep.equal({
      seq: 3,
      frame: 'c',
    });
    // Another session: the old one was lost and replaced; nothing of it is kept.
    journal.session('2'.repeat(32), 'c'.repeat(32));
    expect(journal.restore()).to.deep.equal({
      session: '2'.repeat(32),
      token: 'c'.repeat(32),
      lastSeq: 0,
      received: 0,
      frames: [],
    });
    journal.clear();
    expect(journal.restore()).to.equal(undefined);
  });

  it('property: what it restores is always consecutive and ends at lastSeq', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant('send'), fc.nat(20)), { maxLength: 60 }), (steps) => {
        const journal = memoryJournal();
        journal.session('1'.repeat(32), 'a'.repeat(32));
        let seq = 0;
        for (const step of steps) {
          if (step === 'send') journal.sent(++seq, seq);
          else journal.acked(Math.min(step, seq));
        }
        const state = journal.restore()!;
        expect(state.lastSeq).to.equal(seq);
        state.frames.forEach((entry, i) => expect(entry.seq).to.equal(seq - state.frames.length + 1 + i));
      }),
    );
  });
});
