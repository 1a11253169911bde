import { expect } from 'chai';
import type { Backoff } from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import {
  BROOKER_POLICIES,
  brookerPolicy,
  simulateBrooker,
  WriteConflictError,
  type BrookerPolicy,
  type BrookerResult,
} from '../../bench/brooker.js';

// Brooker's model (bench/brooker.ts) with 50 clients instead of 100: a few tens of ms per run, and
// still enough contention for the published ordering. Checked over seeds 1–30 at 50 clients, every
// ordering asserted here held for every seed but one: equal jitter finished after full jitter in 29
// of the 30. So seed 1 is not a lucky pick. The figures are virtual time: the same on every machine.
const config = { seed: 1, clients: 50 } as const;

describe("bench: Brooker's backoff simulation", () => {
  let results: BrookerResult[];
  const of = (policy: BrookerPolicy) => results.find((r) => r.policy === policy)!;
  const calls = (policy: BrookerPolicy) => of(policy).totalCalls;
  const time = (policy: BrookerPolicy) => of(policy).completionMs;
  const jittered = ['equal jitter', 'full jitter', 'decorrelated jitter'] as const;

  before(() => {
    results = simulateBrooker(config);
  });

  it('runs every policy, and every client gets its write in', () => {
    expect(results.map((r) => r.policy)).to.deep.equal([...BROOKER_POLICIES]);
    for (const r of results) {
      expect(r.totalCalls, r.policy).to.be.at.least(config.clients);
      expect(r.completionMs, r.policy).to.be.greaterThan(0).and.to.be.finite;
    }
  });

  it('gives the same figures for the same seed, and other figures for another seed', () => {
    expect(simulateBrooker(config)).to.deep.equal(results);
    expect(simulateBrooker({ ...config, seed: 2 })).to.not.deep.equal(results);
  });

  it('full jitter makes the fewest calls (Brooker: less work than equal and decorrelated jitter)', () => {
    for (const other of BROOKER_POLICIES.filter((p) => p !== 'full jitter')) {
      expect(calls('full jitter'), `full jitter vs ${other}`).to.be.lessThan(calls(other));
    }
  });

  it('no backoff makes the most calls', () => {
    for (const other of BROOKER_POLICIES.filter((p) => p !== 'no backoff')) {
      expect(calls('no backoff'), `no backoff vs ${other}`).to.be.greaterThan(calls(other));
    }
  });

  it('exponential backoff without jitter takes by far the longest of the backoff policies', () => {
    for (const other of jittered) {
      expect(time('exponential'), `exponential vs ${other}`).to.be.greaterThan(3 * time(other));
    }
    // And more work than any jittered policy: the clients that collided retry together.
    for (const other of jittered) expect(calls('exponential')).to.be.greaterThan(calls(other));
  });

  it('equal jitter does more work and takes longer than full jitter (Brooker: "the loser" of the jittered)', () => {
    expect(calls('equal jitter')).to.be.greaterThan(calls('full jitter'));
    expect(time('equal jitter')).to.be.greaterThan(time('full jitter'));
  });

  describe('the policies are lifeline’s, numbered as in the simulator', () => {
    const delays = (kind: BrookerPolicy, count: number) => {
      const retry = brookerPolicy(kind, 5, 2_000, seededRandom(7));
      const error = new WriteConflictError('conflict');
      const out: number[] = [];
      let backoff: Backoff | undefined;
      for (let attempt = 1; attempt <= count; attempt++) {
        const decision = retry.decide({ error, attempt, firstFailureAt: 0, now: 0, backoff });
        if (!decision.retry) throw new Error(`gave up: ${decision.reason}`);
        out.push(decision.delay);
        backoff = decision.backoff;
      }
      return out;
    };

    it('exponential: min(cap, base * 2^n) from n = 1, as the simulator counts retries', () => {
      expect(delays('exponential', 10)).to.deep.equal([10, 20, 40, 80, 160, 320, 640, 1280, 2000, 2000]);
      expect(delays('no backoff', 3)).to.deep.equal([0, 0, 0]);
    });

    it('jittered delays stay within Brooker’s bounds', () => {
      delays('full jitter', 10).forEach((d, i) =>
        expect(d).to.be.within(0, Math.min(2_000, 5 * 2 ** (i + 1))),
      );
      delays('equal jitter', 10).forEach((d, i) => {
        const v = Math.min(2_000, 5 * 2 ** (i + 1));
        expect(d).to.be.within(v / 2, v);
      });
      const decorrelated = delays('decorrelated jitter', 10);
      expect(decorrelated[0]).to.be.within(5, 15); // random_between(base, base * 3)
      decorrelated
        .slice(1)
        .forEach((d, i) => expect(d).to.be.within(5, Math.min(2_000, 3 * decorrelated[i]!)));
    });

    it('retries only write conflicts', () => {
      const retry = brookerPolicy('full jitter', 5, 2_000, seededRandom(7));
      const decision = retry.decide({ error: new Error('other'), attempt: 1, firstFailureAt: 0, now: 0 });
      expect(decision).to.include({ retry: false, reason: 'permanent' });
    });
  });
});
