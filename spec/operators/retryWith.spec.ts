import { expect } from 'chai';
import type { GaveUpError } from 'rx-lifeline';
import { CircuitBreaker, consecutiveFailures, policy, retryDelay, retryWith } from 'rx-lifeline';
import { catchError, defer, mergeMap, of, retry, take } from 'rxjs';
import { earlyTimers } from '../support/early-timers.js';
import { expectProbeFree, halfOpenAt10, newTestScheduler } from './support.js';

const unavailable = Object.assign(new Error('503'), { status: 503 });
const broken = Object.assign(new Error('500'), { status: 500 });

describe('retryWith', () => {
  it('resubscribes after each transient failure with the policy delays, then passes the result', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      let calls = 0;
      const failing = cold('--#', {}, unavailable);
      const working = cold('--(r|)', { r: 'ok' });
      const request = defer(() => (++calls <= 2 ? failing : working));
      const result = request.pipe(retryWith(policy.exponential({ initial: 10, max: 100 })));
      // fails at 2, waits 10; fails at 14, waits 20; succeeds at 36
      // prettier-ignore
      expectObservable(result).toBe('36ms (r|)', { r: 'ok' });
      expectSubscriptions(failing.subscriptions).toBe(['^-!', '12ms ^-!']);
      expectSubscriptions(working.subscriptions).toBe('34ms ^-!');
    });
  });

  it('gives up with GaveUpError when the policy says so, and never retries a permanent error', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('-#', {}, unavailable);
      const limited = failing.pipe(
        retryWith(policy.constant(5).maxAttempts(3)),
        catchError((e: GaveUpError) =>
          of(`${e.name}:${e.attempts}:${e.reason}:${(e.cause as Error).message}`),
        ),
      );
      // prettier-ignore
      expectObservable(limited).toBe('- 5ms - 5ms -(g|)', { g: 'GaveUpError:3:max-attempts:503' });
      expectSubscriptions(failing.subscriptions).toBe(['^!', '6ms ^!', '12ms ^!']);

      const bug = cold('-#', {}, broken);
      const once = bug.pipe(
        retryWith(policy.constant(5)),
        catchError((e: GaveUpError) => of(`${e.reason}:${(e.cause as Error).message}`)),
      );
      expectObservable(once).toBe('-(g|)', { g: 'permanent:500' });
      expectSubscriptions(bug.subscriptions).toBe('^!');
    });
  });

  it('unsubscribing during the wait cancels it', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('-#', {}, unavailable);
      expectObservable(failing.pipe(retryWith(policy.constant(50))), '^ 10ms !').toBe('');
      expectSubscriptions(failing.subscriptions).toBe('^!');
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it("reports outcomes to the policy's breaker and fails fast while it is open", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(2), openFor: 100 });
      let calls = 0;
      const failing = cold('-#', {}, unavailable);
      const working = cold('-(r|)', { r: 'ok' });
      const request = defer(() => (++calls <= 2 ? failing : working));
      const result = request.pipe(retryWith(policy.constant(1).breaker(breaker)));
      // Two failures (at 1 and 3) open the breaker until 103; the next attempt waits for it.
      // prettier-ignore
      expectObservable(result).toBe('104ms (r|)', { r: 'ok' });
      expectSubscriptions(working.subscriptions).toBe('103ms ^!');
      testScheduler.schedule(() => expect(breaker.state).to.equal('closed'), 105);
    });
  });

  it('waits for the breaker by the clock, though its timers fire early', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const scheduler = earlyTimers(testScheduler, 1);
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(2), openFor: 100, scheduler });
      let calls = 0;
      const failing = cold('-#', {}, unavailable);
      const working = cold('-(r|)', { r: 'ok' });
      const request = defer(() => (++calls <= 2 ? failing : working));
      const result = request.pipe(retryWith({ policy: policy.constant(5).breaker(breaker), scheduler }));
      // Fails at 1 and 7 (open until 107); the wait fires at 106, waits the last 1 ms, then admits.
      // prettier-ignore
      expectObservable(result).toBe('108ms (r|)', { r: 'ok' });
      expectSubscriptions(failing.subscriptions).toBe(['^!', '6ms ^!']);
      expectSubscriptions(working.subscriptions).toBe('107ms ^!');
    });
  });

  it('counts the first value as the success, so firstValueFrom-style callers close a half-open breaker', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(1), openFor: 10 });
      let calls = 0;
      const failing = cold('-#', {}, unavailable);
      // Answers, then would go on: the caller takes the first value and leaves.
      const answering = cold('-r-----', { r: 'ok' });
      const request = defer(() => (++calls === 1 ? failing : answering));
      const first = request.pipe(retryWith(policy.constant(1).breaker(breaker)), take(1));
      // Fails at 1 (opens until 11); the probe at 11 answers at 12 and closes the breaker.
      expectObservable(first).toBe('12ms (r|)', { r: 'ok' });
      testScheduler.schedule(() => expect(breaker.state).to.equal('closed'), 13);
    });
  });
  it("ends with the classifier's own exception when it throws, giving the breaker's probe slot back", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const bug = new Error('classifier bug');
      const breaker = halfOpenAt10();
      const failing = cold('--#', {}, unavailable);
      const buggy = policy
        .constant(1)
        .breaker(breaker)
        .classify(() => {
          throw bug;
        });
      // Subscribes at 10: the attempt takes the probe slot, fails at 12, and the classifier throws.
      const result = cold('10ms x').pipe(mergeMap(() => failing.pipe(retryWith(buggy))));
      // prettier-ignore
      expectObservable(result).toBe('12ms #', undefined, bug);
      // The slot was released, not left taken: the next attempt is admitted as the probe.
      expectProbeFree(testScheduler, breaker, 13);
    });
  });

  it("ends with a TypeError, not an uncaught one, when the policy's random source misbehaves", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const failing = cold('--#', {}, unavailable);
      const badRandom = policy.constant(10).jitter('full', { random: () => 2 });
      // prettier-ignore
      expectObservable(failing.pipe(retryWith(badRandom))).toBe('--#', undefined,
        new TypeError('withJitter: random() must return a number in [0, 1), got 2'));
    });
  });
});

describe('retryDelay', () => {
  it("drives RxJS's retry({ delay }) with a policy, starting over with each run of failures", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('-#', {}, unavailable);
      const result = failing.pipe(
        retry({ delay: retryDelay({ policy: policy.exponential({ initial: 4, max: 100 }).maxAttempts(3) }) }),
        catchError((e: GaveUpError) => of(`${e.name}:${e.attempts}`)),
      );
      // fails at 1, waits 4; fails at 6, waits 8; fails at 15: third attempt, give up
      // prettier-ignore
      expectObservable(result).toBe('15ms (g|)', { g: 'GaveUpError:3' });
      expectSubscriptions(failing.subscriptions).toBe(['^!', '5ms ^!', '14ms ^!']);
    });
  });
});

describe('retryDelay, early timers', () => {
  it('waits the whole delay by the clock, though its timers fire early', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('-#', {}, unavailable);
      const scheduler = earlyTimers(testScheduler, 1);
      const result = failing.pipe(
        retry({ delay: retryDelay({ policy: policy.constant(10).maxAttempts(2), scheduler }) }),
        catchError((e: GaveUpError) => of(`${e.name}:${e.attempts}`)),
      );
      // prettier-ignore
      expectObservable(result).toBe('12ms (g|)', { g: 'GaveUpError:2' });
      expectSubscriptions(failing.subscriptions).toBe(['^!', '11ms ^!']);
    });
  });
});

describe('retry configuration', () => {
  it('rejects nonsense with a TypeError', () => {
    expect(() => retryWith({} as never)).to.throw(TypeError, /RetryPolicy/);
    expect(() => retryDelay({ policy: policy.constant(1), scheduler: {} as never })).to.throw(
      TypeError,
      /scheduler/,
    );
  });
});
