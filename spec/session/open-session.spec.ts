import { expect } from 'chai';
import {
  cancelPending,
  memory,
  openSession,
  policy,
  reconnectWith,
  resumable,
  SendQueueFullError,
  SessionLostError,
  type ClientState,
  type MemoryPair,
} from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import { catchError, lastValueFrom, map, NEVER, of, take, timer, toArray, type Observable } from 'rxjs';
import { eachValueFrom } from 'rxjs-for-await';
import { newTestScheduler } from '../operators/support.js';
import { serveOn, serveSessionsOn } from '../protocol/requests/support.js';

const showState = (s: ClientState): string =>
  s.status === 'reconnecting'
    ? `r${s.attempt}/${s.delay}`
    : s.status === 'closed'
      ? `x${'error' in s ? `:${(s.error as Error).name}` : ''}`
      : s.status === 'reset'
        ? `R:${s.reason}`
        : s.status[0]!;

function plainSession(pair: MemoryPair, maxQueued = 1_000) {
  return openSession(
    pair.transport.pipe(reconnectWith(policy.constant(10)), cancelPending<string, string>({ maxQueued })),
  );
}

describe('openSession', () => {
  it('state$: connecting, connected, reconnecting across a cut, connected, closed', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable, cold }) => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, () => 'ok').subscribe();
      const session = plainSession(pair);
      cold('5ms x').subscribe(() => pair.faults.cut());
      cold('20ms x').subscribe(() => session.close());
      // The dial at 15 connects at 16; close() at 20 flushes, and the end arrives at 21.
      // prettier-ignore
      expectObservable(session.state$.pipe(map(showState))).toBe('c c 3ms r 10ms c 4ms (x|)', {
        c: 'c', r: 'r1/10', x: 'x',
      });
      testScheduler.schedule(() => server.unsubscribe(), 30);
    });
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it("a lost session replaced (onSessionLost: 'reset'): state$ says reset, resets$ says what was lost, both before the fresh session's messages", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serveSessionsOn(pair, () => 'ok', { sessionTtl: 50 }).subscribe();
      const session = openSession(
        pair.transport.pipe(
          reconnectWith(policy.constant(10)),
          resumable({ onSessionLost: 'reset', ackInterval: 5 }),
          cancelPending<string, string>(),
        ),
      );
      // Dials every 10 ms while refused; the server expires the session at 60; the dial at 76 gets
      // an unknown-session refusal at 78 and the fresh session is live at 80.
      // prettier-ignore
      expectObservable(session.state$.pipe(map(showState))).toBe(
        'c 2ms c 6ms 1 10ms 2 10ms 3 10ms 4 10ms 5 10ms 6 12ms R-c 20ms (x|)',
        { c: 'c', 1: 'r1/10', 2: 'r2/10', 3: 'r3/10', 4: 'r4/10', 5: 'r5/10', 6: 'r6/10', R: 'R:unknown-session', x: 'x' },
      );
      // 'a' and 'b' were never acknowledged: the fresh session starts without them.
      // In the application's terms: the two messages come back, and no request was pending.
      expectObservable(
        session.resets$.pipe(
          map((r) => `${r.reason}:${String(r.lost.sent)}:${r.unsent.join('')}:${r.requests}`),
        ),
      ).toBe('78ms R 22ms |', { R: 'unknown-session:1,2:ab:0' });
      // 'c', sent on the fresh session, comes back after the reset.
      expectObservable(session.messages$).toBe('7ms A 84ms C 8ms |', { A: 'A', C: 'C' });
      testScheduler.schedule(() => session.send('a'), 5);
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 10);
      testScheduler.schedule(() => session.send('b'), 12);
      testScheduler.schedule(() => pair.faults.refuse(false), 75);
      testScheduler.schedule(() => session.send('c'), 90);
      testScheduler.schedule(() => (session.close(), server.unsubscribe()), 100);
    });
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it('send() queues while disconnected, delivers in order after the reconnect, and refuses beyond maxQueued', () => {
    const testScheduler = newTestScheduler();
    const overflow: unknown[] = [];
    testScheduler.run(({ expectObservable, cold }) => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, (payload) => `re:${String(payload)}`).subscribe();
      const session = plainSession(pair, 2);
      // Echoed upper-cased by the server: 'a' at 0 (queued until 1) comes back at 3.
      expectObservable(session.messages$, '^ 30ms !').toBe('---a 14ms (bc)', { a: 'A', b: 'B', c: 'C' });
      session.send('a');
      cold('5ms x').subscribe(() => pair.faults.cut());
      cold('7ms x').subscribe(() => {
        expect(session.send('b')).to.equal(false);
        expect(session.send('c')).to.equal(false);
        try {
          session.send('d');
        } catch (error) {
          overflow.push(error);
        }
      });
      testScheduler.schedule(() => {
        session.close();
        server.unsubscribe();
      }, 30);
    });
    expect(overflow).to.have.length(1);
    expect(SendQueueFullError.is(overflow[0])).to.equal(true);
    expect((overflow[0] as SendQueueFullError).limit).to.equal(2);
    expect((overflow[0] as Error).message).to.equal(
      'The frame cannot be queued: 2 frames and body chunks are queued already (maxQueued)',
    );
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it('without resumable, the offline queue is capped in bytes too: SendQueueFullError (bytes), nothing queued is lost', () => {
    const testScheduler = newTestScheduler();
    const refused: unknown[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, () => 'ok').subscribe();
      const session = openSession(
        pair.transport.pipe(
          reconnectWith(policy.constant(10)),
          cancelPending<string, string>({ maxQueuedBytes: 30 }),
        ),
      );
      // Each 'x…x' of 10 characters is 11 bytes of MessagePack: two fit in 30 bytes, a third does not.
      const ten = (c: string) => c.repeat(10);
      testScheduler.schedule(() => pair.faults.cut(), 5);
      testScheduler.schedule(() => {
        session.send(ten('a'));
        session.send(ten('b'));
        try {
          session.send(ten('c'));
        } catch (error) {
          refused.push(error);
        }
      }, 7);
      // The dial at 15 connects at 16; the two queued frames leave then and come back at 18.
      expectObservable(session.messages$, '^ 30ms !').toBe('18ms (ab)', { a: ten('A'), b: ten('B') });
      testScheduler.schedule(() => (session.close(), server.unsubscribe()), 30);
    });
    expect(refused).to.have.length(1);
    expect(SendQueueFullError.is(refused[0])).to.equal(true);
    expect(refused[0]).to.include({ unit: 'bytes', limit: 30 });
    expect((refused[0] as Error).message).to.match(
      /The frame needs 11 bytes, but 22 of the 30 allowed are queued already \(maxQueuedBytes\)/,
    );
  });

  it('with resumable in the pipe, offline messages and requests queue in its replay buffer only: 5,000 sent offline arrive in order', () => {
    const testScheduler = newTestScheduler();
    const answers: string[] = [];
    let refused: unknown;
    let echoed = 0;
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      const server = serveSessionsOn(pair, (payload) => `re:${String(payload)}`).subscribe();
      const session = openSession(
        pair.transport.pipe(
          reconnectWith(policy.constant(10)),
          resumable({ ackInterval: 5 }),
          cancelPending<string, string>({ maxQueued: 10 }),
        ),
      );
      session.messages$.subscribe((m) => {
        if (m === `M${echoed}`) echoed++;
      });
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 5);
      testScheduler.schedule(() => {
        try {
          for (let n = 0; n < 5_000; n++) session.send(`m${n}`);
          session.request('offline').subscribe((a) => answers.push(String(a)));
        } catch (error) {
          refused = error;
        }
      }, 10);
      testScheduler.schedule(() => pair.faults.refuse(false), 20);
      testScheduler.schedule(() => (session.close(), server.unsubscribe()), 500);
    });
    // cancelPending's own queue (10 here) never filled: the replay buffer took everything.
    expect(refused).to.equal(undefined);
    expect(echoed).to.equal(5_000);
    expect(answers).to.deep.equal(['re:offline']);
  });

  it('a lost session is said in messages: SessionLostError hands back what the replay buffer and the queue held, and counts the requests', () => {
    const testScheduler = newTestScheduler();
    const outcomes: string[] = [];
    let lost: SessionLostError | undefined;
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      const server = serveSessionsOn(pair, () => 'ok', { sessionTtl: 50 }).subscribe();
      const session = openSession(
        pair.transport.pipe(
          reconnectWith(policy.constant(10)),
          resumable({ maxFrames: 4, ackInterval: 5 }),
          cancelPending<string, string>(),
        ),
      );
      session.messages$.subscribe({ error: (e: SessionLostError) => (lost = e) });
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 5);
      testScheduler.schedule(() => {
        // Four fit the replay buffer; the rest wait in cancelPending's queue.
        for (let n = 0; n < 10; n++) session.send(`m${n}`);
        session.request('pending').subscribe({ error: (e: Error) => outcomes.push(e.name) });
      }, 10);
      testScheduler.schedule(() => pair.faults.refuse(false), 75);
      testScheduler.schedule(() => server.unsubscribe(), 100);
    });
    expect(SessionLostError.is(lost)).to.equal(true);
    expect(lost!.reason).to.equal('unknown-session');
    expect(lost!.unsent).to.deep.equal(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(lost!.requests).to.equal(1);
    expect(lost!.lost.sent).to.deep.equal([1, 4]);
    expect(outcomes).to.deep.equal(['RequestCancelledError']);
  });

  it('close() settles every pending request at once, returns what could not be sent, and leaves nothing', () => {
    const testScheduler = newTestScheduler();
    let unsent: readonly string[] = [];
    const aborted: number[] = [];
    let pair: MemoryPair | undefined;
    testScheduler.run(({ expectObservable, cold }) => {
      pair = memory({ latency: 1 });
      const server = serveOn(pair, (_payload, { signal }) => {
        signal.addEventListener('abort', () => aborted.push(testScheduler.now()));
        return NEVER;
      }).subscribe();
      const session = plainSession(pair);
      const shown = (payload: string) =>
        session.request(payload).pipe(
          map(String),
          catchError((error: Error) => of(error.name)),
        );
      // Handed at 1 and not idempotent: ambiguous at the cut. Asked while away: cancelled by close().
      expectObservable(shown('before-cut')).toBe('5ms (e|)', { e: 'AmbiguousOutcomeError' });
      testScheduler.schedule(() => {
        expectObservable(shown('while-away')).toBe('8ms (e|)', { e: 'RequestCancelledError' });
      }, 6);
      cold('5ms x').subscribe(() => pair!.faults.cut());
      cold('8ms x').subscribe(() => {
        session.send('lost');
        unsent = session.close();
      });
      expectObservable(session.state$.pipe(map(showState))).toBe('c c 3ms r 2ms (x|)', {
        c: 'c',
        r: 'r1/10',
        x: 'x',
      });
      expectObservable(session.messages$).toBe('8ms |');
      testScheduler.schedule(() => server.unsubscribe(), 20);
    });
    expect(unsent).to.deep.equal(['lost']);
    // The cut at 5 ended the request on the server at once (its connection went with it).
    expect(aborted).to.deep.equal([5]);
    expect(pair!.openConnections).to.equal(0);
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it('messages$ works with for await (rxjs-for-await), and ends with close()', async () => {
    const pair = memory();
    const server = serveOn(pair, () => 'ok').subscribe();
    const session = plainSession(pair);
    try {
      for (const m of ['x', 'y', 'z']) session.send(m);
      const seen: string[] = [];
      for await (const message of eachValueFrom(session.messages$)) {
        seen.push(message);
        if (seen.length === 3) break;
      }
      expect(seen).to.deep.equal(['X', 'Y', 'Z']);
      expect(await lastValueFrom(session.request('q'))).to.equal('ok');
      session.close();
      expect(await lastValueFrom(session.state$.pipe(map(showState), toArray()))).to.deep.equal(['c', 'x']);
    } finally {
      session.close();
      server.unsubscribe();
    }
  });

  it('infers the message types from cancelPending<In, Out>() at the end of the pipe (checked by tsc)', () => {
    const pair = memory();
    const session = openSession(
      pair.transport.pipe(reconnectWith(policy.constant(10)), cancelPending<number, string>()),
    );
    // Never called: what matters is that it compiles, which `npm test` checks before any test runs.
    const typed = (): void => {
      const inbound: Observable<number> = session.messages$;
      session.send('a string');
      // @ts-expect-error this session sends strings
      session.send(1);
      // @ts-expect-error this session receives numbers
      const wrong: Observable<string> = session.messages$;
      void [inbound, wrong];
    };
    void typed;
    expect(session.close()).to.deep.equal([]);
  });

  it('refuses a stream without cancelPending() with a TypeError', () => {
    const pair = memory();
    expect(() => openSession(pair.transport.pipe(reconnectWith(policy.constant(10))))).to.throw(
      TypeError,
      /cancelPending/,
    );
    expect(pair.openConnections).to.equal(0);
  });

  it('chaos: 1,000 requests, mixed idempotent or not, through resumable with random cuts, each settles exactly once', () => {
    const seed = 4242;
    const random = seededRandom(seed);
    const testScheduler = newTestScheduler();
    const calls = new Map<number, number>();
    const settled = new Map<number, string[]>();
    let pair: MemoryPair | undefined;
    let reconnects = 0;
    testScheduler.run(() => {
      pair = memory({ latency: 1 });
      const server = serveSessionsOn(pair, (payload) => {
        const n = payload as number;
        calls.set(n, (calls.get(n) ?? 0) + 1);
        // Some answer at once, some later, some stream three values.
        if (n % 5 === 0)
          return timer(0, 3).pipe(
            take(3),
            map((i) => n * 10 + i),
          );
        return timer(Math.floor(random() * 30)).pipe(map(() => n * 10));
      }).subscribe();
      const session = openSession(
        pair.transport.pipe(
          reconnectWith(policy.constant(5)),
          resumable({ ackInterval: 5 }),
          cancelPending<string, string>({ maxPending: 1_000 }),
        ),
      );
      session.state$.subscribe((state) => {
        if (state.status === 'reconnecting') reconnects++;
      });
      for (let n = 1; n <= 1_000; n++) {
        const at = Math.floor(random() * 5_000);
        const idempotent = random() < 0.5;
        testScheduler.schedule(() => {
          const notes: string[] = [];
          settled.set(n, notes);
          session.request(n, { idempotent }).subscribe({
            next: (v) => notes.push(String(v)),
            error: (e: Error) => notes.push(`E:${e.name}`),
            complete: () => notes.push('done'),
          });
        }, at);
      }
      // A cut every 20–100 ms: half at once, half after a random number of bytes (mid-frame too).
      let at = 0;
      while ((at += 20 + Math.floor(random() * 80)) < 5_000) {
        const bytes = Math.floor(random() * 200);
        const how = random() < 0.5;
        const direction = random() < 0.5 ? 'to-server' : 'to-client';
        testScheduler.schedule(() => {
          if (how) pair!.faults.cut();
          else pair!.faults.cutAfter(bytes, direction);
        }, at);
      }
      testScheduler.schedule(() => {
        session.close();
        server.unsubscribe();
      }, 6_000);
    });
    const problems: string[] = [];
    for (let n = 1; n <= 1_000; n++) {
      const notes = settled.get(n) ?? [];
      const expected =
        n % 5 === 0 ? [`${n * 10}`, `${n * 10 + 1}`, `${n * 10 + 2}`, 'done'] : [`${n * 10}`, 'done'];
      if (JSON.stringify(notes) !== JSON.stringify(expected)) problems.push(`#${n}: ${notes.join(' ')}`);
      if (calls.get(n) !== 1) problems.push(`#${n}: handled ${calls.get(n) ?? 0} times`);
    }
    expect(problems, `seed ${seed}`).to.deep.equal([]);
    expect(reconnects, 'the cuts broke connections').to.be.greaterThan(50);
    expect(pair!.openConnections).to.equal(0);
    expect(testScheduler.actions).to.deep.equal([]);
  });
});
