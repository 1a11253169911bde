import { expect } from 'chai';
import fc from 'fast-check';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CircuitBreaker,
  CircuitOpenError,
  consecutiveFailures,
  ConnectionResetError,
  DialError,
  FrameTooLargeError,
  policy,
  ProtocolError,
  RetryBudget,
  type Backoff,
  type RetryDecision,
  type RetryPolicy,
} from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import { virtualClock } from './support.js';

const reset = () => new ConnectionResetError('reset', { phase: 'read', code: 'ECONNRESET' });
const http = (status: number, extra: object = {}) =>
  Object.assign(new Error(`HTTP ${status}`), { status }, extra);

/**
 * Feeds `count` consecutive failures of `error` to the policy, one every `spacing` ms after the
 * chosen delay, threading the backoff as the retry machinery will; returns every decision.
 */
function run(retry: RetryPolicy, error: unknown, count: number, spacing = 0): RetryDecision[] {
  const decisions: RetryDecision[] = [];
  let now = 0;
  let backoff: Backoff | undefined;
  for (let attempt = 1; attempt <= count; attempt++) {
    const decision = retry.decide({ error, attempt, firstFailureAt: 0, now, backoff });
    decisions.push(decision);
    if (!decision.retry) break;
    backoff = decision.backoff;
    now += decision.delay + spacing;
  }
  return decisions;
}
const delays = (decisions: RetryDecision[]) => decisions.map((d) => (d.retry ? d.delay : d.reason));

describe('RetryPolicy', () => {
  it('retries a transient failure with the backoff’s delays, forever by default', () => {
    expect(delays(run(policy.exponential({ initial: 100, max: 1_000 }), reset(), 7))).to.deep.equal([
      100, 200, 400, 800, 1_000, 1_000, 1_000,
    ]);
    expect(delays(run(policy.constant(50), reset(), 3))).to.deep.equal([50, 50, 50]);
    expect(delays(run(policy.linear({ initial: 10, step: 5, max: 20 }), reset(), 4))).to.deep.equal([
      10, 15, 20, 20,
    ]);
  });

  it('starts the backoff over when no previous backoff is given', () => {
    const retry = policy.exponential({ initial: 100 });
    const decision = retry.decide({ error: reset(), attempt: 5, firstFailureAt: 0, now: 1_000 });
    expect(decision).to.include({ retry: true, delay: 100 });
  });

  describe('maxAttempts', () => {
    it('counts attempts in all: maxAttempts(3) retries twice, then gives up with the failure itself', () => {
      const error = reset();
      const decisions = run(policy.constant(10).maxAttempts(3), error, 10);
      expect(delays(decisions)).to.deep.equal([10, 10, 'max-attempts']);
      expect(decisions[2]).to.deep.equal({ retry: false, reason: 'max-attempts', error });
    });

    it('maxAttempts(1) never retries', () => {
      expect(delays(run(policy.constant(10).maxAttempts(1), reset(), 5))).to.deep.equal(['max-attempts']);
    });
  });

  describe('maxElapsed', () => {
    it('gives up when the next attempt would start after the limit, counted from the first failure', () => {
      const retry = policy.constant(200).maxElapsed(1_000);
      expect(retry.decide({ error: reset(), attempt: 4, firstFailureAt: 0, now: 800 })).to.include({
        retry: true,
        delay: 200,
      });
      expect(retry.decide({ error: reset(), attempt: 4, firstFailureAt: 0, now: 801 })).to.include({
        retry: false,
        reason: 'max-elapsed',
      });
      expect(retry.decide({ error: reset(), attempt: 4, firstFailureAt: 500, now: 1_300 })).to.include({
        retry: true,
      });
    });

    it('ends a run of growing delays', () => {
      // 100 + 200 + 400 = 700 ms elapsed at the third failure; 700 + 800 > 1_000.
      expect(delays(run(policy.exponential({ initial: 100 }).maxElapsed(1_000), reset(), 10))).to.deep.equal([
        100,
        200,
        400,
        'max-elapsed',
      ]);
    });
  });

  describe('permanent failures', () => {
    const cases: [string, unknown][] = [
      ['a ProtocolError', new ProtocolError('garbled', { offset: 3 })],
      ['a FrameTooLargeError', new FrameTooLargeError('big', { offset: 0, size: 9, limit: 1 })],
      ['HTTP 400', http(400)],
      ['HTTP 401', http(401)],
      ['HTTP 500', http(500)],
      ['an unknown error', new Error('?')],
    ];
    for (const [what, error] of cases) {
      it(`${what} is not retried`, () => {
        expect(run(policy.exponential(), error, 3)).to.deep.equal([
          { retry: false, reason: 'permanent', error },
        ]);
      });
    }

    it('classify({ retryHttp500: true }) retries HTTP 500', () => {
      expect(run(policy.exponential().classify({ retryHttp500: true }), http(500), 1)[0]).to.include({
        retry: true,
      });
    });

    it('classify(fn) replaces the classifier; retryIf(predicate) too', () => {
      const quota = new Error('quota');
      const everything = policy.constant(1).classify(() => 'transient');
      expect(run(everything, new ProtocolError('x', { offset: 0 }), 1)[0]).to.include({ retry: true });
      const onlyQuota = policy.constant(1).retryIf((e) => e === quota);
      expect(run(onlyQuota, quota, 1)[0]).to.include({ retry: true });
      expect(run(onlyQuota, reset(), 1)[0]).to.include({ retry: false, reason: 'permanent' });
    });

    it('classify({ transient }) adds to the defaults', () => {
      const quota = new Error('quota');
      const retry = policy.constant(1).classify({ transient: (e) => (e === quota ? true : undefined) });
      expect(run(retry, quota, 1)[0]).to.include({ retry: true });
      expect(run(retry, reset(), 1)[0]).to.include({ retry: true });
      expect(run(retry, new Error('other'), 1)[0]).to.include({ retry: false });
    });

    it('a classifier that answers anything but a FailureClass makes decide throw a TypeError saying what it answered', () => {
      // undefined (a path without a return) was retried, as if transient.
      for (const [answer, shown] of [
        [undefined, 'undefined'],
        [true, 'true'],
        ['Transient', '"Transient"'],
      ] as const) {
        const retry = policy.constant(1).classify(() => answer as never);
        expect(() => retry.decide({ error: reset(), attempt: 1, firstFailureAt: 0, now: 0 }), shown).to.throw(
          TypeError,
          `RetryPolicy.classify must return 'transient' or 'permanent', got ${shown}`,
        );
      }
    });

    it('a throwing classifier escapes from decide', () => {
      const boom = new Error('boom');
      const retry = policy.constant(1).classify(() => {
        throw boom;
      });
      expect(() => retry.decide({ error: reset(), attempt: 1, firstFailureAt: 0, now: 0 })).to.throw(boom);
    });
  });

  describe('retryAfterMs, a server’s hint', () => {
    const retry = policy.exponential({ initial: 100, max: 30_000 });
    const decide = (error: unknown) => retry.decide({ error, attempt: 1, firstFailureAt: 0, now: 0 });

    it('is the delay when longer than the backoff', () => {
      expect(decide(http(503, { retryAfterMs: 5_000 }))).to.include({ retry: true, delay: 5_000 });
    });
    it('is the delay when shorter than the backoff too (a slot the server gave), and the backoff still advances', () => {
      const slow = policy.exponential({ initial: 2_000, max: 30_000 });
      const first = slow.decide({
        error: http(503, { retryAfterMs: 20 }),
        attempt: 1,
        firstFailureAt: 0,
        now: 0,
      });
      expect(first).to.include({ retry: true, delay: 20 });
      // A later failure without a hint goes on from the backoff the hinted one advanced.
      const second = slow.decide({
        error: reset(),
        attempt: 2,
        firstFailureAt: 0,
        now: 20,
        ...(first.retry ? { backoff: first.backoff } : {}),
      });
      expect(second).to.include({ retry: true, delay: 4_000 });
    });
    it('is honoured above the backoff’s max (the server knows its load), up to maxHint', () => {
      expect(decide(http(503, { retryAfterMs: 3_600_000 }))).to.include({ retry: true, delay: 3_600_000 });
      // By default up to a day; maxHint caps it lower, and maxHint(0) ignores hints.
      expect(decide(http(503, { retryAfterMs: 1e12 }))).to.include({ retry: true, delay: 86_400_000 });
      const capped = retry.maxHint(60_000);
      const decideCapped = (error: unknown) =>
        capped.decide({ error, attempt: 1, firstFailureAt: 0, now: 0 });
      expect(decideCapped(http(503, { retryAfterMs: 3_600_000 }))).to.include({ delay: 60_000 });
      // Above the cap the backoff decides when it is longer still.
      const tight = policy.exponential({ initial: 100, max: 30_000 }).maxHint(50);
      expect(
        tight.decide({ error: http(503, { retryAfterMs: 5_000 }), attempt: 1, firstFailureAt: 0, now: 0 }),
      ).to.include({ delay: 100 });
      expect(
        retry
          .maxHint(0)
          .decide({ error: http(503, { retryAfterMs: 5_000 }), attempt: 1, firstFailureAt: 0, now: 0 }),
      ).to.include({ delay: 100 });
      // Even a hint of 0 ("now"): maxHint(0) ignores it, and the backoff waits.
      expect(
        retry
          .maxHint(0)
          .decide({ error: http(503, { retryAfterMs: 0 }), attempt: 1, firstFailureAt: 0, now: 0 }),
      ).to.include({ delay: 100 });
      expect(() => retry.maxHint(-1)).to.throw(TypeError, 'RetryPolicy.maxHint: ms must be a number ≥ 0');
    });
    it('longer than a timer can wait (under maxHint(Infinity)), waits the longest a timer can', () => {
      // Above 2_147_483_647 ms a timer fires within milliseconds: the operators retried at once.
      const unbounded = retry.maxHint(Infinity);
      for (const retryAfterMs of [3e9, Infinity]) {
        expect(
          unbounded.decide({ error: http(503, { retryAfterMs }), attempt: 1, firstFailureAt: 0, now: 0 }),
        ).to.include({ retry: true, delay: 2_147_483_647 });
      }
    });
    it('works on any error, not only HTTP ones', () => {
      expect(decide(Object.assign(reset(), { retryAfterMs: 700 }))).to.include({ retry: true, delay: 700 });
    });
    it('is ignored unless it is a non-negative number', () => {
      expect(decide(http(503, { retryAfterMs: '5000' }))).to.include({ delay: 100 });
      expect(decide(http(503, { retryAfterMs: -5 }))).to.include({ delay: 100 });
      expect(decide(http(503, { retryAfterMs: NaN }))).to.include({ delay: 100 });
    });
    it('does not rescue a permanent failure', () => {
      expect(decide(http(400, { retryAfterMs: 10 }))).to.include({ retry: false, reason: 'permanent' });
    });
    it('counts against maxElapsed', () => {
      const limited = retry.maxElapsed(1_000);
      const decision = limited.decide({
        error: http(503, { retryAfterMs: 5_000 }),
        attempt: 1,
        firstFailureAt: 0,
        now: 0,
      });
      expect(decision).to.include({ retry: false, reason: 'max-elapsed' });
    });
  });

  describe('jitter', () => {
    it('draws each delay from the injected random, per Brooker’s formula', () => {
      const retry = policy
        .exponential({ initial: 100, max: 1_000 })
        .jitter('full', { random: seededRandom(9) });
      const r = seededRandom(9);
      const expected = [100, 200, 400, 800, 1_000].map((v) => r() * v);
      expect(delays(run(retry, reset(), 5))).to.deep.equal(expected);
    });

    it('decorrelated jitter follows on from the previous delay through the threaded backoff', () => {
      const retry = policy
        .exponential({ initial: 100, max: 5_000 })
        .jitter('decorrelated', { random: seededRandom(4) });
      const r = seededRandom(4);
      let sleep = 100;
      const expected = Array.from(
        { length: 12 },
        () => (sleep = Math.min(5_000, 100 + r() * (sleep * 3 - 100))),
      );
      expect(delays(run(retry, reset(), 12))).to.deep.equal(expected);
    });

    it('gives each run fresh randomness, so streams sharing a policy do not retry in step', () => {
      const retry = policy.exponential().jitter('equal', { random: seededRandom(2) });
      const a = retry.decide({ error: reset(), attempt: 1, firstFailureAt: 0, now: 0 });
      const b = retry.decide({ error: reset(), attempt: 1, firstFailureAt: 0, now: 0 });
      expect(a.retry && b.retry && a.delay !== b.delay).to.equal(true);
    });

    it("jitter('none') removes jitter set before", () => {
      const retry = policy
        .exponential()
        .jitter('full', { random: seededRandom(1) })
        .jitter('none');
      expect(delays(run(retry, reset(), 3))).to.deep.equal([100, 200, 400]);
      expect(retry.config.random).to.equal(undefined);
    });

    it('does not draw while building the policy', () => {
      let calls = 0;
      const random = () => (calls++, 0.5);
      const retry = policy.exponential().jitter('full', { random });
      expect(calls).to.equal(0);
      expect(delays(run(retry, reset(), 2))).to.deep.equal([50, 100]);
      expect(calls).to.equal(2);
    });

    it('property: every decided delay is at most the cap, for any kind, config and seed', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 5_000 }),
          fc.integer({ min: 0, max: 100_000 }),
          fc.constantFrom('full' as const, 'equal' as const, 'decorrelated' as const),
          fc.integer(),
          (initial, extra, kind, seed) => {
            const retry = policy
              .exponential({ initial, max: initial + extra })
              .jitter(kind, { random: seededRandom(seed) });
            for (const delay of delays(run(retry, reset(), 30))) {
              expect(delay)
                .to.be.a('number')
                .within(0, initial + extra);
            }
          },
        ),
      );
    });
  });

  describe('breaker', () => {
    it('while the breaker is open, waits until it reopens (past the backoff’s max if need be)', () => {
      const { scheduler, advance } = virtualClock();
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(1), openFor: 60_000, scheduler });
      const retry = policy.exponential({ initial: 100, max: 1_000 }).breaker(breaker);
      advance(10);
      breaker.admit().failure(); // open until 60_010
      advance(990);
      expect(retry.decide({ error: reset(), attempt: 1, firstFailureAt: 1_000, now: 1_000 })).to.include({
        retry: true,
        delay: 59_010,
      });
      advance(59_010);
      expect(breaker.state).to.equal('half-open');
      expect(retry.decide({ error: reset(), attempt: 1, firstFailureAt: 60_010, now: 60_010 })).to.include({
        delay: 100,
      });
    });

    it('a breaker that reopens later than a timer can wait: waits the longest wait, then asks again', () => {
      const error = new CircuitOpenError('open', { state: 'open', reopensAt: 1e15 });
      expect(delays(run(policy.constant(100), error, 1))).to.deep.equal([2_147_483_647]);
    });

    it('waits out a CircuitOpenError until its reopensAt', () => {
      const error = new CircuitOpenError('open', { state: 'open', reopensAt: 5_000 });
      expect(policy.constant(10).decide({ error, attempt: 1, firstFailureAt: 0, now: 1_000 })).to.include({
        retry: true,
        delay: 4_000,
      });
      const probesBusy = new CircuitOpenError('busy', { state: 'half-open' });
      expect(
        policy.constant(10).decide({ error: probesBusy, attempt: 1, firstFailureAt: 0, now: 0 }),
      ).to.include({
        delay: 10,
      });
    });

    it('reads reopensAt of a CircuitOpenError only: another error with such a field waits its backoff', () => {
      const error = Object.assign(reset(), { reopensAt: 5_000 });
      expect(policy.constant(10).decide({ error, attempt: 1, firstFailureAt: 0, now: 1_000 })).to.include({
        retry: true,
        delay: 10,
      });
    });

    it('gives up if waiting for the breaker would pass maxElapsed', () => {
      const error = new CircuitOpenError('open', { state: 'open', reopensAt: 50_000 });
      expect(
        policy.constant(10).maxElapsed(10_000).decide({ error, attempt: 1, firstFailureAt: 0, now: 0 }),
      ).to.include({
        retry: false,
        reason: 'max-elapsed',
      });
    });
  });

  describe('budget', () => {
    it('withdraws a token per retry, and none for a failure it gives up on', () => {
      const { scheduler } = virtualClock();
      const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 2, scheduler });
      const retry = policy.constant(10).maxAttempts(2).budget(budget);
      expect(run(retry, new ProtocolError('x', { offset: 0 }), 1)[0]).to.include({ reason: 'permanent' });
      expect(retry.decide({ error: reset(), attempt: 2, firstFailureAt: 0, now: 0 })).to.include({
        reason: 'max-attempts',
      });
      expect(budget.balance).to.equal(2);
      expect(run(retry, reset(), 1)[0]).to.include({ retry: true });
      expect(run(retry, reset(), 1)[0]).to.include({ retry: true });
      expect(run(retry, reset(), 1)[0]).to.include({ retry: false, reason: 'budget-exhausted' });
    });
  });

  describe('is immutable', () => {
    it('builders return new policies and leave the original as it was', () => {
      const base = policy.exponential();
      const limited = base.maxAttempts(3);
      const timed = limited.attemptTimeout(5_000);
      expect(limited).to.not.equal(base);
      expect(base.config.maxAttempts).to.equal(Infinity);
      expect(limited.config.maxAttempts).to.equal(3);
      expect(limited.config.attemptTimeout).to.equal(undefined);
      expect(timed.config).to.include({ maxAttempts: 3, attemptTimeout: 5_000 });
      expect(Object.isFrozen(timed.config)).to.equal(true);
      expect(Object.isFrozen(policy)).to.equal(true);
    });

    it('shares its breaker and budget, by reference', () => {
      const breaker = new CircuitBreaker();
      const budget = new RetryBudget();
      const retry = policy.constant(1).breaker(breaker).budget(budget).maxAttempts(2);
      expect(retry.config.breaker).to.equal(breaker);
      expect(retry.config.budget).to.equal(budget);
    });

    it('policy.backoff accepts any Backoff, even one written by hand', () => {
      const fibonacci = (a: number, b: number): Backoff => ({
        duration: a,
        max: 1_000,
        next: () => fibonacci(b, Math.min(1_000, a + b)),
      });
      expect(delays(run(policy.backoff(fibonacci(1, 1)), reset(), 6))).to.deep.equal([1, 1, 2, 3, 5, 8]);
    });

    it('a hand-written Backoff whose next() answers a duration no timer can wait is a TypeError, never a retry at once', () => {
      const answers: [string, unknown][] = [
        ['NaN', { duration: NaN, max: 1_000, next: () => undefined }],
        ['a negative duration', { duration: -1, max: 1_000, next: () => undefined }],
        ['a duration above its max', { duration: 5_000, max: 1_000, next: () => undefined }],
        ['a max past the longest timer', { duration: 2 ** 31, max: 2 ** 31, next: () => undefined }],
        ['no Backoff at all', 42],
      ];
      for (const [what, next] of answers) {
        const first: Backoff = { duration: 10, max: 1_000, next: () => next as Backoff };
        expect(() => run(policy.backoff(first), reset(), 2), what).to.throw(
          TypeError,
          /^policy\.backoff: next\(\) must return a Backoff whose duration is from 0 to its max/,
        );
      }
    });
  });

  describe('rejects nonsense with a TypeError', () => {
    const base = policy.exponential();
    const cases: [string, () => unknown, RegExp][] = [
      ['maxAttempts(0)', () => base.maxAttempts(0), /maxAttempts: n must be an integer ≥ 1/],
      ['maxAttempts(2.5)', () => base.maxAttempts(2.5), /maxAttempts/],
      ['maxElapsed(-1)', () => base.maxElapsed(-1), /maxElapsed/],
      ['maxElapsed(NaN)', () => base.maxElapsed(NaN), /maxElapsed/],
      ['attemptTimeout(0)', () => base.attemptTimeout(0), /attemptTimeout: ms must be a number > 0/],
      ['attemptTimeout past the timer limit', () => base.attemptTimeout(2 ** 31), /attemptTimeout/],
      ["jitter('full') without random", () => base.jitter('full', {} as never), /random must be a function/],
      ['an unknown jitter', () => base.jitter('some' as never, { random: Math.random }), /kind/],
      ['classify(42)', () => base.classify(42 as never), /classify/],
      ['retryIf(null)', () => base.retryIf(null as never), /predicate/],
      ['breaker({})', () => base.breaker({} as never), /CircuitBreaker/],
      ['budget({})', () => base.budget({} as never), /RetryBudget/],
      ['policy.backoff({})', () => policy.backoff({} as never), /Backoff/],
      [
        'policy.backoff(null)',
        () => policy.backoff(null as never),
        /^policy.backoff: expected a Backoff, got null$/,
      ],
      ['policy.backoff(5)', () => policy.backoff(5 as never), /^policy.backoff: expected a Backoff, got 5$/],
      ['policy.exponential({ factor: 0 })', () => policy.exponential({ factor: 0 }), /factor/],
      [
        'decide with attempt 0',
        () => base.decide({ error: reset(), attempt: 0, firstFailureAt: 0, now: 0 }),
        /attempt/,
      ],
      [
        'decide with a NaN now',
        () => base.decide({ error: reset(), attempt: 1, firstFailureAt: 0, now: NaN }),
        /now/,
      ],
      [
        'decide with a bogus backoff',
        () => base.decide({ error: reset(), attempt: 2, firstFailureAt: 0, now: 0, backoff: {} as never }),
        /backoff/,
      ],
    ];
    for (const [what, make, message] of cases) {
      it(what, () => expect(make).to.throw(TypeError, message));
    }
  });

  it('returns the backoff it used, whose duration is the delay before any hint', () => {
    const error = new DialError('refused', { code: 'ECONNREFUSED' });
    const decision = policy
      .exponential({ initial: 100 })
      .decide({ error, attempt: 1, firstFailureAt: 0, now: 0 });
    expect(decision.retry && decision.backoff.duration).to.equal(100);
    expect(decision.retry && decision.backoff.next().duration).to.equal(200);
  });
});

describe('RetryPolicy.breaker and RetryPolicy.budget across copies of the library', () => {
  it('takes a CircuitBreaker made by another copy (a config file loaded by its own TypeScript loader)', async () => {
    // A query string makes the module loader evaluate the library a second time: another copy.
    const url = `${pathToFileURL(path.resolve('lib/index.ts')).href}?second-copy`;
    const other = (await import(url)) as { CircuitBreaker: typeof CircuitBreaker };
    const breaker = new other.CircuitBreaker();
    expect(breaker).to.not.be.instanceOf(CircuitBreaker);
    expect(CircuitBreaker.is(breaker)).to.equal(true);
    expect(policy.exponential().breaker(breaker).config.breaker).to.equal(breaker);
  });

  it('takes a RetryBudget made by another copy, and still refuses a look-alike', async () => {
    const url = `${pathToFileURL(path.resolve('lib/index.ts')).href}?second-copy`;
    const other = (await import(url)) as { RetryBudget: typeof RetryBudget };
    const budget = new other.RetryBudget();
    expect(budget).to.not.be.instanceOf(RetryBudget);
    expect(policy.exponential().budget(budget).config.budget).to.equal(budget);
    const lookAlike = { tryWithdraw: () => true, deposit: () => undefined, balance: 1 };
    expect(() => policy.exponential().budget(lookAlike as never)).to.throw(
      TypeError,
      'RetryPolicy.budget: expected a RetryBudget, got',
    );
    expect(Object.keys(budget)).to.not.include('branded');
  });

  it('says what it got instead of a breaker', () => {
    class Breaker {}
    expect(() => policy.exponential().breaker(new Breaker() as never)).to.throw(
      TypeError,
      'RetryPolicy.breaker: expected a CircuitBreaker (new CircuitBreaker(…)), got an object of class Breaker',
    );
    // Values that are not objects of a class are described as they are.
    for (const [value, shown] of [
      [5, '5'],
      [{}, 'an object'],
      [null, 'null'],
    ] as const) {
      expect(() => policy.exponential().breaker(value as never)).to.throw(
        TypeError,
        `RetryPolicy.breaker: expected a CircuitBreaker (new CircuitBreaker(…)), got ${shown}`,
      );
    }
    expect(CircuitBreaker.is({ state$: null })).to.equal(false);
  });
});

describe('policy.recommended', () => {
  it('is decorrelated jitter from 2 s to 5 s: the same delays as the policy it is short for', () => {
    const short = run(policy.recommended({ random: seededRandom(3) }), reset(), 12);
    const long = run(
      policy.exponential({ initial: 2_000, max: 5_000 }).jitter('decorrelated', { random: seededRandom(3) }),
      reset(),
      12,
    );
    expect(delays(short)).to.deep.equal(delays(long));
    for (const delay of delays(short)) expect(delay).to.be.within(2_000, 5_000);
    expect(
      delays(run(policy.recommended({ random: () => 0, initial: 200, max: 300 }), reset(), 2)),
    ).to.deep.equal([200, 200]);
  });

  it('keeps the default classifier and a day of server hints', () => {
    const retry = policy.recommended({ random: () => 0.5 });
    expect(retry.config).to.include({ jitter: 'decorrelated', maxHint: 86_400_000, maxAttempts: Infinity });
    const hinted = retry.decide({
      error: http(503, { retryAfterMs: 60_000 }),
      attempt: 1,
      firstFailureAt: 0,
      now: 0,
    });
    expect(hinted).to.include({ retry: true, delay: 60_000 });
    expect(retry.decide({ error: new Error('?'), attempt: 1, firstFailureAt: 0, now: 0 })).to.include({
      retry: false,
      reason: 'permanent',
    });
  });

  it('says what to pass when given nonsense', () => {
    const recommended = policy.recommended as (options?: unknown) => RetryPolicy;
    expect(() => recommended()).to.throw(TypeError, /policy\.recommended: pass the options, \{ random \}/);
    expect(() => recommended({})).to.throw(TypeError, /policy\.recommended.*random/);
    expect(() => recommended({ random: Math.random, initial: 0 })).to.throw(
      TypeError,
      /^policy\.recommended: initial must be a number > 0 and ≤ 2147483647, got 0$/,
    );
    expect(() => recommended({ random: Math.random, initial: 2_000, max: 1_000 })).to.throw(
      TypeError,
      /^policy\.recommended: max must be a number ≥ 2000 and ≤ 2147483647, got 1000$/,
    );
  });
});

describe('policy.exponential and policy.linear', () => {
  it('name themselves in the errors about their options', () => {
    expect(() => policy.exponential({ initial: -5 })).to.throw(
      TypeError,
      /^policy\.exponential: initial must be a number > 0/,
    );
    expect(() => policy.exponential({ factor: 0.5 })).to.throw(TypeError, /^policy\.exponential: factor/);
    expect(() => policy.linear({ step: -1 })).to.throw(
      TypeError,
      /^policy\.linear: step must be a number ≥ 0/,
    );
    expect(() => policy.linear({ initial: 500, max: 100 })).to.throw(TypeError, /^policy\.linear: max/);
  });
});
