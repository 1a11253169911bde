import { expect } from 'chai';
import fc from 'fast-check';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { DialError, policy, RetryBudget, RetryBudgetExhaustedError } from 'rx-lifeline';
import { virtualClock } from './support.js';

/** How many of `streams` simultaneous retries the budget grants. */
const grant = (budget: RetryBudget, streams: number) =>
  Array.from({ length: streams }, () => budget.tryWithdraw()).filter(Boolean).length;

describe('RetryBudget', () => {
  it('100 streams failing at once get at most floor + ratio × successes retries', () => {
    const { scheduler } = virtualClock();
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 10, scheduler });
    for (let i = 0; i < 50; i++) budget.deposit();
    expect(grant(budget, 100)).to.equal(10 + 0.1 * 50);
    expect(budget.tryWithdraw()).to.equal(false);
  });

  it('property: simultaneous retries granted = floor(floor + min(cap, ratio × successes)), never more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 1_000 }),
        fc.constantFrom(0, 0.05, 0.1, 0.2, 0.25, 0.5, 1),
        fc.integer({ min: 1, max: 40 }),
        (floor, successes, ratio, maxTokens) => {
          const { scheduler } = virtualClock();
          const budget = new RetryBudget({ ratio, minRetriesPerSecond: floor, maxTokens, scheduler });
          for (let i = 0; i < successes; i++) budget.deposit();
          // Integer arithmetic for the expectation: ratio × successes in hundredths.
          const earned = Math.min(maxTokens, Math.floor((Math.round(ratio * 100) * successes) / 100));
          const floorTokens = floor === 0 ? 0 : Math.max(1, floor);
          expect(grant(budget, 2_000)).to.equal(floorTokens + earned);
        },
      ),
    );
  });

  it('ten deposits of 0.1 make one whole retry, despite floating-point rounding', () => {
    const budget = new RetryBudget({
      ratio: 0.1,
      minRetriesPerSecond: 0,
      scheduler: virtualClock().scheduler,
    });
    for (let i = 0; i < 9; i++) budget.deposit();
    expect(budget.tryWithdraw()).to.equal(false);
    budget.deposit();
    expect(budget.tryWithdraw()).to.equal(true);
    expect(budget.tryWithdraw()).to.equal(false);
  });

  it('the floor accrues with virtual time, up to one second’s worth', () => {
    const { scheduler, advance } = virtualClock();
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 10, scheduler });
    expect(grant(budget, 100)).to.equal(10);
    advance(99);
    expect(budget.tryWithdraw()).to.equal(false);
    advance(1); // 100 ms at 10/s: one retry
    expect(grant(budget, 100)).to.equal(1);
    advance(550);
    expect(grant(budget, 100)).to.equal(5);
    expect(budget.balance).to.be.closeTo(0.5, 1e-9);
    advance(60_000);
    expect(grant(budget, 100)).to.equal(10);
  });

  it('a floor below one per second still accrues to one whole retry', () => {
    const { scheduler, advance } = virtualClock();
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0.5, scheduler });
    expect(grant(budget, 10)).to.equal(1);
    advance(1_999);
    expect(grant(budget, 10)).to.equal(0);
    advance(1);
    expect(grant(budget, 10)).to.equal(1);
    advance(60_000);
    expect(grant(budget, 10)).to.equal(1);
  });

  it('reads time from the scheduler given, in a marble test', () => {
    const testScheduler = new TestScheduler((a, e) => {
      expect(a).to.deep.equal(e);
    });
    testScheduler.run(({ cold, expectObservable }) => {
      const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 10, scheduler: testScheduler });
      grant(budget, 100);
      // prettier-ignore
      {
      const tries = cold('a 99ms b 199ms c');
      expectObservable(tries.pipe(map(() => grant(budget, 100)))).toBe('a 99ms b 199ms c', { a: 0, b: 1, c: 2 });
      }
    });
  });

  it('caps the tokens successes can bank', () => {
    const budget = new RetryBudget({
      ratio: 1,
      minRetriesPerSecond: 0,
      maxTokens: 5,
      scheduler: virtualClock().scheduler,
    });
    for (let i = 0; i < 1_000; i++) budget.deposit();
    expect(budget.balance).to.equal(5);
    expect(grant(budget, 100)).to.equal(5);
  });

  it('with neither ratio nor floor, grants nothing', () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0, scheduler: virtualClock().scheduler });
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(grant(budget, 10)).to.equal(0);
  });

  it('through RetryPolicy.budget: refused retries give up with RetryBudgetExhaustedError', () => {
    const { scheduler } = virtualClock();
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 2, scheduler });
    for (let i = 0; i < 30; i++) budget.deposit();
    const shared = policy.exponential().budget(budget);
    const decisions = Array.from({ length: 100 }, (_, i) => {
      const error = new DialError(`stream ${i}`, { code: 'ECONNREFUSED' });
      return { error, decision: shared.decide({ error, attempt: 1, firstFailureAt: 0, now: 0 }) };
    });
    expect(decisions.filter((d) => d.decision.retry)).to.have.length(2 + 3);
    for (const { error, decision } of decisions.slice(5)) {
      expect(decision.retry).to.equal(false);
      if (decision.retry) continue;
      expect(decision.reason).to.equal('budget-exhausted');
      expect(decision.error).to.be.instanceOf(RetryBudgetExhaustedError);
      expect((decision.error as Error).name).to.equal('RetryBudgetExhaustedError');
      expect((decision.error as Error).cause).to.equal(error);
    }
  });

  describe('rejects nonsense with a TypeError', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['a negative ratio', () => new RetryBudget({ ratio: -0.1 }), /ratio/],
      ['a NaN ratio', () => new RetryBudget({ ratio: NaN }), /ratio/],
      ['a negative floor', () => new RetryBudget({ minRetriesPerSecond: -1 }), /minRetriesPerSecond/],
      ['an infinite floor', () => new RetryBudget({ minRetriesPerSecond: Infinity }), /minRetriesPerSecond/],
      ['maxTokens below 1', () => new RetryBudget({ maxTokens: 0.5 }), /maxTokens must be a number ≥ 1/],
      ['a scheduler that is not one', () => new RetryBudget({ scheduler: {} as never }), /scheduler/],
    ];
    for (const [what, make, message] of cases) {
      it(what, () => expect(make).to.throw(TypeError, message));
    }
  });
});
