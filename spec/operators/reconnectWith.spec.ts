import { expect } from 'chai';
import {
  type Backoff,
  cancelPending,
  CircuitBreaker,
  consecutiveFailures,
  ConnectionResetError,
  DialError,
  GaveUpError,
  memory,
  policy,
  ProtocolError,
  reconnectWith,
  RetryBudget,
  type RetryPolicy,
  type SessionEvent,
  type TransportEvent,
} from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import {
  asyncScheduler,
  catchError,
  defer,
  EMPTY,
  map,
  mergeMap,
  of,
  takeWhile,
  type Observable,
} from 'rxjs';
import { timerQueueOf } from '../../lib/internal/timer-queue.js';
import { earlyTimers } from '../support/early-timers.js';
import {
  expectProbeFree,
  FakeLink,
  halfOpenAt10,
  newTestScheduler,
  summarize,
  transportValues,
} from './support.js';

const reset = new ConnectionResetError('reset', { phase: 'read', code: 'ECONNRESET' });

describe('reconnectWith', () => {
  it('dials again with exponential backoff after each failure, and emits disconnected between', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('c-#', transportValues(), reset);
      const session = source.pipe(reconnectWith(policy.exponential({ initial: 10, max: 40 })));
      const values = {
        c: 'c',
        x: 'd1:10:ConnectionResetError',
        y: 'd2:20:ConnectionResetError',
        z: 'd3:40:ConnectionResetError',
        w: 'd4:40:ConnectionResetError',
        v: 'd5:40:ConnectionResetError',
      };
      // prettier-ignore
      expectObservable(summarize(session), '^ 120ms !').toBe('c-x 9ms c-y 19ms c-z 39ms c-w 39ms c-v', values);
      // prettier-ignore
      expectSubscriptions(source.subscriptions).toBe([
        '^-!',
        '12ms ^-!',
        '34ms ^-!',
        '76ms ^-!',
        '118ms ^-!',
      ]);
    });
  });

  it('constant and linear backoffs give their own delays', () => {
    for (const [retry, delays] of [
      [policy.constant(7), [7, 7, 7]],
      [policy.linear({ initial: 5, step: 5, max: 12 }), [5, 10, 12]],
    ] as const) {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable }) => {
        const source = cold<TransportEvent>('#', {}, reset);
        const session = source.pipe(reconnectWith(retry.maxAttempts(4)));
        const [a, b, c] = delays;
        const values = {
          x: `d1:${a}:ConnectionResetError`,
          y: `d2:${b}:ConnectionResetError`,
          z: `d3:${c}:ConnectionResetError`,
          e: 'error',
        };
        const expected = `x ${a - 1}ms y ${b - 1}ms z ${c - 1}ms #`;
        expectObservable(summarize(session)).toBe(expected, values, expectGaveUp(4, 'max-attempts'));
      });
    }
  });

  it('full jitter under a seeded random gives an exact diagram', () => {
    const seed = 42;
    const draws = seededRandom(seed);
    // Brooker's full jitter: random_between(0, min(cap, base * 2^n)), base 100, cap 1000.
    const expectedDelays = [100, 200, 400, 800, 1000].map((ceiling) => draws() * ceiling);
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold<TransportEvent>('#', {}, reset);
      const retry = policy
        .exponential({ initial: 100, max: 1000 })
        .jitter('full', { random: seededRandom(seed) });
      const session = source.pipe(reconnectWith(retry.maxAttempts(6)));
      const values: Record<string, string> = {};
      let diagram = '';
      expectedDelays.forEach((delay, i) => {
        const key = String.fromCharCode(97 + i);
        values[key] = `d${i + 1}:${delay}:ConnectionResetError`;
        diagram += i === 0 ? key : ` ${expectedDelays[i - 1]! - 1}ms ${key}`;
      });
      diagram += ` ${expectedDelays[4]! - 1}ms #`;
      expectObservable(summarize(session)).toBe(diagram, values, expectGaveUp(6, 'max-attempts'));
    });
  });

  it('policy.recommended: decorrelated waits from 2 s to 5 s under a seeded random, an exact diagram', () => {
    const seed = 7;
    const draws = seededRandom(seed);
    // Brooker's decorrelated jitter: sleep = min(cap, random_between(base, sleep * 3)), base 2 s, cap 5 s,
    // from sleep = cap / 3, so the first wait is drawn from [2 s, 5 s] without being clamped.
    const expectedDelays: number[] = [];
    for (let sleep = 5_000 / 3, i = 0; i < 6; i++) {
      sleep = Math.min(5_000, 2_000 + draws() * (sleep * 3 - 2_000));
      expectedDelays.push(sleep);
    }
    expect(Math.min(...expectedDelays)).to.be.at.least(2_000);
    expect(expectedDelays.slice(3)).to.include(5_000); // the seed reaches the cap
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('#', {}, reset);
      const session = source.pipe(
        reconnectWith(policy.recommended({ random: seededRandom(seed) }).maxAttempts(7)),
      );
      const values: Record<string, string> = {};
      let diagram = '';
      const subscriptions = ['(^!)'];
      let at = 0;
      expectedDelays.forEach((delay, i) => {
        const key = String.fromCharCode(97 + i);
        values[key] = `d${i + 1}:${delay}:ConnectionResetError`;
        diagram += i === 0 ? key : ` ${expectedDelays[i - 1]! - 1}ms ${key}`;
        at += delay;
        subscriptions.push(`${at}ms (^!)`);
      });
      diagram += ` ${expectedDelays[5]! - 1}ms #`;
      expectObservable(summarize(session)).toBe(diagram, values, expectGaveUp(7, 'max-attempts'));
      expectSubscriptions(source.subscriptions).toBe(subscriptions);
    });
  });

  it('policy.recommended honours a server hint above its 5 s cap', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const overloaded = Object.assign(
        new ConnectionResetError('refused', { phase: 'read', code: 'ECONNRESET' }),
        {
          retryAfterMs: 8_000,
        },
      );
      const source = cold<TransportEvent>('#', {}, overloaded);
      const session = source.pipe(reconnectWith(policy.recommended({ random: () => 0 }).maxAttempts(3)));
      // random() = 0: each wait is its floor, 2 s; the hint raises it to 8 s.
      const values = { a: 'd1:8000:ConnectionResetError', b: 'd2:8000:ConnectionResetError' };
      expectObservable(summarize(session)).toBe(
        'a 7999ms b 7999ms #',
        values,
        expectGaveUp(3, 'max-attempts', overloaded),
      );
    });
  });

  it('resets the attempt count once a connection stayed up for healthyAfter, not on mere connect', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      // Drops 3 ms after connecting: not healthy with healthyAfter 5, healthy with healthyAfter 2.
      const source = cold<TransportEvent>('c--#', transportValues(), reset);
      const retry = policy.exponential({ initial: 10, max: 1000 });
      const flaky = source.pipe(reconnectWith({ policy: retry, healthyAfter: 5 }));
      const healthy = source.pipe(reconnectWith({ policy: retry, healthyAfter: 2 }));
      const values = {
        c: 'c',
        x: 'd1:10:ConnectionResetError',
        y: 'd2:20:ConnectionResetError',
        z: 'd3:40:ConnectionResetError',
      };
      // prettier-ignore
      expectObservable(summarize(flaky), '^ 60ms !').toBe('c--x 9ms c--y 19ms c--z', values);
      // prettier-ignore
      expectObservable(summarize(healthy), '^ 60ms !').toBe('c--x 9ms c--x 9ms c--x 9ms c--x 9ms c--x', values);
    });
  });

  it("with healthyAfter 'first-frame', the first inbound frame resets the attempt count", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      let dials = 0;
      // The first two connections drop before any frame; the third delivers one, then drops.
      const source = defer(() =>
        ++dials <= 2
          ? cold<TransportEvent>('c#', transportValues(), reset)
          : cold<TransportEvent>('ca#', transportValues(), reset),
      );
      const session = source.pipe(
        reconnectWith({
          policy: policy.exponential({ initial: 10, max: 1000 }),
          healthyAfter: 'first-frame',
        }),
      );
      const values = {
        c: 'c',
        a: 'a',
        x: 'd1:10:ConnectionResetError',
        y: 'd2:20:ConnectionResetError',
        z: 'd3:40:ConnectionResetError',
      };
      // prettier-ignore
      expectObservable(summarize(session), '^ 50ms !').toBe('cx 9ms cy 19ms cax 9ms cax', values);
    });
  });

  it('gives up with a GaveUpError carrying the last cause and the attempt count', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold<TransportEvent>('c#', transportValues(), reset);
      const session = source.pipe(reconnectWith(policy.constant(5).maxAttempts(2)));
      // prettier-ignore
      expectObservable(summarize(session)).toBe('cx 4ms c#', { c: 'c', x: 'd1:5:ConnectionResetError' }, expectGaveUp(2, 'max-attempts'));
    });
  });

  it('does not retry a permanent failure', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const garbage = new ProtocolError('garbage', { offset: 0 });
      const source = cold<TransportEvent>('c#', transportValues(), garbage);
      const session = source.pipe(reconnectWith(policy.constant(5)));
      expectObservable(summarize(session)).toBe('c#', { c: 'c' }, expectGaveUp(1, 'permanent', garbage));
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
  });

  it('unsubscribing during the backoff wait cancels it: no further dial', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('c#', transportValues(), reset);
      const session = source.pipe(reconnectWith(policy.constant(100)));
      // prettier-ignore
      expectObservable(summarize(session), '^ 50ms !').toBe('cx', { c: 'c', x: 'd1:100:ConnectionResetError' });
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
    // The scheduler has nothing left to run: the wait's action was removed, not just ignored.
    expect(testScheduler.actions).to.have.length(0);
  });

  it('unsubscribing while connected closes the connection', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('c-a---', transportValues());
      const session = source.pipe(reconnectWith(policy.constant(100)));
      expectObservable(summarize(session), '^---!').toBe('c-a', { c: 'c', a: 'a' });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('reconnects after a clean close by the peer, counting a close before healthyAfter as a failure', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold<TransportEvent>('c|', transportValues());
      const session = source.pipe(
        reconnectWith({ policy: policy.exponential({ initial: 10 }), healthyAfter: 50 }),
      );
      const values = {
        c: 'c',
        x: 'd1:10:PeerClosedError',
        y: 'd2:20:PeerClosedError',
        z: 'd3:40:PeerClosedError',
      };
      // prettier-ignore
      expectObservable(summarize(session), '^ 35ms !').toBe('cx 9ms cy 19ms cz', values);
    });
  });

  it("completes on a clean close with onPeerClose: 'complete', and after a local link.close()", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold<TransportEvent>('c-|', transportValues());
      const done = source.pipe(reconnectWith({ policy: policy.constant(10), onPeerClose: 'complete' }));
      expectObservable(summarize(done)).toBe('c-|', { c: 'c' });

      const link = new FakeLink();
      const closing = cold<TransportEvent>('c--|', transportValues(link));
      testScheduler.schedule(() => link.close(), 1);
      const closed = closing.pipe(reconnectWith(policy.constant(10)));
      expectObservable(summarize(closed)).toBe('c--|', { c: 'c' });
    });
  });

  it('completes, without dialling again, when a connection this side asked to close then breaks', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const link = new FakeLink();
      // The close is requested at 1; the dead connection errors at 3 instead of closing cleanly.
      const source = cold<TransportEvent>('c--#', transportValues(link), reset);
      testScheduler.schedule(() => link.close(), 1);
      const session = source.pipe(reconnectWith(policy.constant(10)));
      expectObservable(summarize(session)).toBe('c--|', { c: 'c' });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it("bounds each dial with the policy's attemptTimeout", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('-', {});
      const session = source.pipe(reconnectWith(policy.constant(5).attemptTimeout(20).maxAttempts(2)));
      const timedOut = new DialError('Dial timed out after 20 ms', { code: 'ETIMEDOUT' });
      // prettier-ignore
      expectObservable(summarize(session)).toBe('20ms x 24ms #', { x: 'd1:5:DialError' }, expectGaveUp(2, 'max-attempts', timedOut));
      expectSubscriptions(source.subscriptions).toBe(['^ 19ms !', '25ms ^ 19ms !']);
    });
  });

  it("a connection that came up is not cut by the dial's attemptTimeout, whatever healthyAfter is", () => {
    for (const healthyAfter of [0, 'first-frame', 5] as const) {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable }) => {
        // Connects 5 ms into a dial bounded by 20 ms, then stays up without a frame.
        const source = cold<TransportEvent>('5ms c', transportValues());
        const retry = policy.constant(5).attemptTimeout(20);
        const session = source.pipe(reconnectWith({ policy: retry, healthyAfter }));
        expectObservable(summarize(session), '^ 60ms !').toBe('5ms c', { c: 'c' });
      });
    }
  });

  it("takes the dial's attemptTimeout out of the scheduler's timer queue once connected: no timer left", () => {
    const testScheduler = newTestScheduler();
    const queued: number[] = [];
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold<TransportEvent>('5ms c', transportValues());
      const retry = policy.constant(5).attemptTimeout(1_000);
      const session = source.pipe(reconnectWith({ policy: retry, healthyAfter: 'first-frame' }));
      const queue = timerQueueOf(asyncScheduler);
      // Before the connection: the attempt's timeout is queued; after it: nothing.
      cold('1ms a 5ms b').subscribe(() => queued.push(queue.size));
      expectObservable(summarize(session), '^ 20ms !').toBe('5ms c', { c: 'c' });
    });
    expect(queued).to.deep.equal([1, 0]);
  });

  it('a breaker opens after repeated failures, fails dials fast while open, then half-opens and closes', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(2), openFor: 100 });
      let dials = 0;
      const failing = cold<TransportEvent>('#', {}, reset);
      const working = cold<TransportEvent>('c-a', transportValues());
      const source = defer(() => (++dials <= 2 ? failing : working));
      const session = source.pipe(
        reconnectWith({ policy: policy.constant(10).breaker(breaker), healthyAfter: 'first-frame' }),
      );
      const states: string[] = [];
      breaker.state$.subscribe((t) => states.push(`${t.state}@${t.at}`));
      // Two failures open the breaker at 10; the policy waits until it half-opens at 110, and the
      // probe that succeeds there closes it.
      const values = { x: 'd1:10:ConnectionResetError', y: 'd2:100:ConnectionResetError', c: 'c', a: 'a' };
      // prettier-ignore
      expectObservable(summarize(session), '^ 150ms !').toBe('x 9ms y 99ms c-a', values);
      expectSubscriptions(failing.subscriptions).toBe(['(^!)', '10ms (^!)']);
      testScheduler.schedule(
        () => expect(states).to.deep.equal(['closed@0', 'open@10', 'half-open@110', 'closed@112']),
        149,
      );
    });
  });

  it('waits for the breaker to half-open by the clock, though its timers fire early', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const scheduler = earlyTimers(testScheduler, 1);
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(2), openFor: 100, scheduler });
      let dials = 0;
      const failing = cold<TransportEvent>('#', {}, reset);
      const working = cold<TransportEvent>('c-a', transportValues());
      const source = defer(() => (++dials <= 2 ? failing : working));
      const retry = policy.constant(10).breaker(breaker);
      const session = source.pipe(reconnectWith({ policy: retry, healthyAfter: 'first-frame', scheduler }));
      // Each wait fires 1 ms early and waits again for the rest: no dial finds the breaker still
      // open (that would be a third disconnected event, a CircuitOpenError), none starts early.
      const values = { x: 'd1:10:ConnectionResetError', y: 'd2:100:ConnectionResetError', c: 'c', a: 'a' };
      // prettier-ignore
      expectObservable(summarize(session), '^ 150ms !').toBe('x 9ms y 99ms c-a', values);
      expectSubscriptions(failing.subscriptions).toBe(['(^!)', '10ms (^!)']);
      expectSubscriptions(working.subscriptions).toBe(['110ms ^ 40ms !']);
    });
  });

  it('a failed probe opens the breaker again', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(1), openFor: 50 });
      const source = cold<TransportEvent>('#', {}, reset);
      const session = source.pipe(reconnectWith(policy.constant(10).breaker(breaker).maxAttempts(3)));
      const states: string[] = [];
      breaker.state$.subscribe((t) => states.push(`${t.state}@${t.at}`));
      const values = { x: 'd1:50:ConnectionResetError', y: 'd2:50:ConnectionResetError' };
      // prettier-ignore
      expectObservable(summarize(session)).toBe('x 49ms y 49ms #', values, expectGaveUp(3, 'max-attempts'));
      testScheduler.schedule(
        () =>
          expect(states).to.deep.equal([
            'closed@0',
            'open@0',
            'half-open@50',
            'open@50',
            'half-open@100',
            'open@100',
          ]),
        101,
      );
    });
  });

  it("ends with the classifier's own exception when it throws, giving the breaker's probe slot back", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const bug = new Error('classifier bug');
      const breaker = halfOpenAt10();
      const source = cold<TransportEvent>('--#', {}, reset);
      const buggy = policy
        .constant(1)
        .breaker(breaker)
        .classify(() => {
          throw bug;
        });
      // Subscribes at 10: the dial takes the probe slot, fails at 12, and the classifier throws.
      const session = cold('10ms x').pipe(mergeMap(() => source.pipe(reconnectWith(buggy))));
      // prettier-ignore
      expectObservable(summarize(session)).toBe('12ms #', undefined, bug);
      // The slot was released, not left taken: the next attempt is admitted as the probe.
      expectProbeFree(testScheduler, breaker, 13);
    });
  });

  it("ends with a TypeError when the classifier answers no FailureClass, giving the breaker's probe slot back", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = halfOpenAt10();
      const source = cold<TransportEvent>('--#', {}, reset);
      const buggy = policy
        .constant(1)
        .maxAttempts(3)
        .breaker(breaker)
        .classify(() => undefined as never);
      // Subscribes at 10: the dial takes the probe slot, fails at 12, and the classifier says nothing
      // (which the policy took for transient: it dialled again, every 1 ms, until it gave up).
      const session = cold('10ms x').pipe(mergeMap(() => source.pipe(reconnectWith(buggy))));
      const said = new TypeError(
        "RetryPolicy.classify must return 'transient' or 'permanent', got undefined",
      );
      // prettier-ignore
      expectObservable(summarize(session)).toBe('12ms #', undefined, said);
      expectProbeFree(testScheduler, breaker, 13);
    });
  });

  it("ends with a TypeError, not an uncaught one, when the policy's random source or backoff misbehaves", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold<TransportEvent>('--#', {}, reset);
      const badRandom = policy.constant(10).jitter('full', { random: () => 2 });
      const nanNext: Backoff = { duration: 5, max: 100, next: () => ({ ...nanNext, duration: NaN }) };
      const badBackoff = policy.backoff(nanNext);
      const outcome = (retry: RetryPolicy) =>
        source.pipe(
          reconnectWith(retry),
          map((event) => event.type),
          catchError((error: Error) => of(`${error.name}: ${error.message}`)),
        );
      // prettier-ignore
      expectObservable(outcome(badRandom)).toBe('--(e|)', {
        e: 'TypeError: withJitter: random() must return a number in [0, 1), got 2',
      });
      // The first wait is the backoff's own duration; the second failure asks next() for a NaN.
      // prettier-ignore
      expectObservable(outcome(badBackoff)).toBe('--d 6ms (e|)', {
        d: 'disconnected',
        e:
          'TypeError: policy.backoff: next() must return a Backoff whose duration is from 0 to its max ' +
          '(at most 2147483647 ms), got duration NaN and max 100',
      });
    });
  });

  it('one breaker shared by two streams: failures on one make the other fail fast', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(2), openFor: 100 });
      const retry = policy.constant(10).breaker(breaker).maxAttempts(2);
      const failingA = cold<TransportEvent>('#', {}, reset);
      const sourceB = cold<TransportEvent>('c', transportValues());
      const a = failingA.pipe(reconnectWith(retry));
      // B subscribes at 15, while the breaker (opened by A's two failures at 10) is open: it does
      // not dial, and waits until the breaker half-opens at 110.
      const b = cold('15ms x').pipe(mergeMap(() => sourceB.pipe(reconnectWith(retry))));
      // prettier-ignore
      expectObservable(summarize(a)).toBe('x 9ms #', { x: 'd1:10:ConnectionResetError' }, expectGaveUp(2, 'max-attempts'));
      // prettier-ignore
      expectObservable(summarize(b), '^ 120ms !').toBe('15ms o 94ms c', { o: 'd1:95:CircuitOpenError', c: 'c' });
      expectSubscriptions(sourceB.subscriptions).toBe('110ms ^ 10ms !');
    });
  });

  it('a shared retry budget stops a fleet of 100 failing streams from all retrying', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold }) => {
      // No successes yet and a floor of 10 retries per second: of 100 streams failing at once, 10 retry.
      const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 10 });
      const retry = policy.constant(1000).budget(budget).maxAttempts(2);
      const outcomes = { retried: 0, refused: 0 };
      for (let i = 0; i < 100; i++) {
        cold<TransportEvent>('#', {}, reset)
          .pipe(reconnectWith(retry))
          .subscribe({
            next: (e: SessionEvent) => e.type === 'disconnected' && outcomes.retried++,
            error: (e: GaveUpError) => e.reason === 'budget-exhausted' && outcomes.refused++,
          });
      }
      testScheduler.schedule(() => expect(outcomes).to.deep.equal({ retried: 10, refused: 90 }), 1);
    });
  });

  it('reconnects a real memory transport after a cut, in virtual time', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 1 });
      pair.server
        .pipe(mergeMap((e) => (e.type === 'connection' ? e.connection.pipe(catchError(() => EMPTY)) : EMPTY)))
        .subscribe();
      testScheduler.schedule(() => pair.faults.cut(), 5);
      const session = pair.transport.pipe(reconnectWith(policy.constant(10)));
      // prettier-ignore
      expectObservable(summarize(session as Observable<SessionEvent>), '^ 30ms !').toBe('-c---x 10ms c', {
        c: 'c',
        x: 'd1:10:ConnectionResetError',
      });
    });
  });

  it("a subscriber that unsubscribes on hearing 'disconnected' leaves no dial behind", () => {
    const testScheduler = newTestScheduler();
    let connections = 0;
    testScheduler.run(({ expectObservable, cold }) => {
      const pair = memory({ latency: 1 });
      const server = pair.server.subscribe((event) => {
        if (event.type === 'connection') connections++;
      });
      cold('5ms x').subscribe(() => pair.faults.cut());
      const untilDown = pair.transport.pipe(
        // Bounded, so that a dial left behind shows as a count instead of an endless loop.
        reconnectWith(policy.constant(10).maxAttempts(5)),
        takeWhile((event) => event.type !== 'disconnected'),
        map((event) => event.type[0]),
      );
      expectObservable(untilDown).toBe('-c 3ms |');
      testScheduler.schedule(() => server.unsubscribe(), 500);
    });
    expect(connections).to.equal(1);
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it('cancelPending() piped before it fails at once with a TypeError naming the right order, not a retry', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const misplaced = pair.transport.pipe(
        cancelPending(),
        reconnectWith(policy.constant(10)),
        map((event) => event.type),
        catchError((error: Error) =>
          of(
            error instanceof TypeError &&
              /pipe cancelPending\(\) last, after reconnectWith\(\) and resumable\(\)$/.test(error.message)
              ? 'T'
              : error.message,
          ),
        ),
      );
      expectObservable(misplaced).toBe('(T|)');
    });
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it('rejects nonsense configuration with a TypeError', () => {
    expect(() => reconnectWith({} as never)).to.throw(TypeError, /RetryPolicy/);
    expect(() => reconnectWith({ policy: policy.constant(1), healthyAfter: -1 })).to.throw(
      TypeError,
      /healthyAfter/,
    );
    expect(() => reconnectWith({ policy: policy.constant(1), onPeerClose: 'maybe' as never })).to.throw(
      TypeError,
      /onPeerClose/,
    );
  });

  it('keeps DialError from the transport as the disconnect reason and the give-up cause', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>(); // nobody listens
      const session = pair.transport.pipe(reconnectWith(policy.constant(10).maxAttempts(2)));
      const outcome = summarize(session as Observable<SessionEvent>).pipe(
        catchError((error: GaveUpError) =>
          of(`${error.name}:${error.attempts}:${(error.cause as Error).name}`),
        ),
      );
      // prettier-ignore
      expectObservable(outcome).toBe('x 9ms (g|)', { x: 'd1:10:DialError', g: 'GaveUpError:2:DialError' });
    });
  });
});

/** The GaveUpError a stream should end with. */
function expectGaveUp(attempts: number, reason: string, cause: Error = reset): GaveUpError {
  const why = `Gave up after ${attempts} failed attempt${attempts === 1 ? '' : 's'} (${reason})`;
  // The cause's name and message are in the message itself, not only in `cause`.
  return new GaveUpError(`${why}: ${cause.name}: ${cause.message}`, {
    cause,
    attempts,
    reason: reason as never,
  });
}
