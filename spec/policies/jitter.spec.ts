import { expect } from 'chai';
import fc from 'fast-check';
import { constantBackoff, exponentialBackoff, linearBackoff, withJitter, type JitterKind } from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import { durations } from './support.js';

// Brooker's formulas, written out independently of lib/: random_between(low, high) with the same
// seeded sequence the backoff draws from.
const between = (random: () => number, low: number, high: number) => low + random() * (high - low);
const capped = (base: number, cap: number, n: number) => Math.min(cap, base * 2 ** n);

describe('jitter', () => {
  const base = 100;
  const cap = 1_000;
  const plain = () => exponentialBackoff({ initial: base, max: cap });

  it("'none' returns the backoff unchanged and never calls random", () => {
    const backoff = plain();
    let calls = 0;
    expect(withJitter(backoff, 'none', { random: () => (calls++, 0.5) })).to.equal(backoff);
    expect(withJitter(backoff, 'none')).to.equal(backoff);
    expect(calls).to.equal(0);
  });

  it("'full' is random_between(0, min(cap, base * 2^n)), exactly", () => {
    const r = seededRandom(42);
    const expected = Array.from({ length: 8 }, (_, n) => between(r, 0, capped(base, cap, n)));
    expect(durations(withJitter(plain(), 'full', { random: seededRandom(42) }), 8)).to.deep.equal(expected);
    // Pinned: seededRandom(42) starts 0.6011037519201636, 0.44829055899754167.
    expect(expected.slice(0, 2)).to.deep.equal([60.11037519201636, 89.65811179950833]);
  });

  it("'equal' is v/2 + random_between(0, v/2) with v = min(cap, base * 2^n), exactly", () => {
    const r = seededRandom(7);
    const expected = Array.from({ length: 8 }, (_, n) => {
      const v = capped(base, cap, n);
      return v / 2 + between(r, 0, v / 2);
    });
    expect(durations(withJitter(plain(), 'equal', { random: seededRandom(7) }), 8)).to.deep.equal(expected);
  });

  it("'decorrelated' is sleep = min(cap, random_between(base, sleep * 3)) from sleep = base, exactly", () => {
    const r = seededRandom(3);
    let sleep = base;
    const expected = Array.from({ length: 30 }, () => (sleep = Math.min(cap, between(r, base, sleep * 3))));
    const actual = durations(withJitter(plain(), 'decorrelated', { random: seededRandom(3) }), 30);
    expect(actual).to.deep.equal(expected);
    expect(actual).to.include(cap); // 30 steps from 100 reach the cap: the min() is exercised
  });

  it("'decorrelated' with cap < 3 × base draws the first wait evenly from [base, cap]: none lands on the cap", () => {
    // Brooker's start (sleep = base) would clamp min(5000, 2000 + 0.9 × 4000) onto the cap; starting
    // from cap / 3 the first draw is 2000 + 0.9 × 3000. Later waits follow the formula from there.
    const first = withJitter(exponentialBackoff({ initial: 2_000, max: 5_000 }), 'decorrelated', {
      random: () => 0.9,
    });
    expect(first.duration).to.equal(4_700);
    expect(first.next().duration).to.equal(5_000); // min(5000, 2000 + 0.9 × (14100 − 2000))
    // A fleet that lost its connection at one instant: no first wait is the cap itself.
    const random = seededRandom(11);
    const waits = Array.from(
      { length: 2_000 },
      () =>
        withJitter(exponentialBackoff({ initial: 2_000, max: 5_000 }), 'decorrelated', { random }).duration,
    );
    expect(waits.filter((w) => w === 5_000)).to.have.length(0);
    expect(Math.min(...waits)).to.be.at.least(2_000);
    expect(Math.max(...waits)).to.be.above(4_990);
  });

  it('draws when a value is made, so duration never changes; next() draws afresh', () => {
    const backoff = withJitter(plain(), 'full', { random: seededRandom(1) });
    const first = backoff.duration;
    expect(backoff.duration).to.equal(first);
    const a = backoff.next();
    const b = backoff.next();
    expect(a.duration).to.not.equal(b.duration);
    expect(a.max).to.equal(cap);
  });

  it('keeps the extremes of random within bounds: 0 gives the floor, 1 - ε stays below the delay', () => {
    const zero = () => 0;
    expect(durations(withJitter(plain(), 'full', { random: zero }), 3)).to.deep.equal([0, 0, 0]);
    expect(durations(withJitter(plain(), 'equal', { random: zero }), 3)).to.deep.equal([50, 100, 200]);
    expect(durations(withJitter(plain(), 'decorrelated', { random: zero }), 3)).to.deep.equal([
      100, 100, 100,
    ]);
    const top = () => 1 - Number.EPSILON;
    for (const kind of ['full', 'equal'] as const) {
      const all = durations(withJitter(plain(), kind, { random: top }), 10);
      all.forEach((d, n) => expect(d).to.be.at.most(capped(base, cap, n)));
    }
  });

  it('jitters linear and constant backoffs too', () => {
    const r = seededRandom(11);
    const linear = withJitter(linearBackoff({ initial: 100, step: 100, max: 250 }), 'full', {
      random: seededRandom(11),
    });
    expect(durations(linear, 4)).to.deep.equal([100, 200, 250, 250].map((v) => between(r, 0, v)));
    const constant = durations(withJitter(constantBackoff(80), 'equal', { random: seededRandom(5) }), 20);
    expect(constant.every((d) => d >= 40 && d <= 80)).to.equal(true);
  });

  describe('rejects nonsense with a TypeError', () => {
    it('an unknown kind', () => {
      expect(() => withJitter(plain(), 'half' as JitterKind, { random: Math.random })).to.throw(
        TypeError,
        /kind/,
      );
    });
    it('a missing random', () => {
      expect(() => withJitter(plain(), 'full', undefined)).to.throw(TypeError, /random must be a function/);
      expect(() => withJitter(plain(), 'full', {} as { random: () => number })).to.throw(TypeError, /random/);
    });
    it('a random outside [0, 1), when it is drawn', () => {
      expect(() => withJitter(plain(), 'full', { random: () => 1 })).to.throw(TypeError, /\[0, 1\), got 1/);
      expect(() => withJitter(plain(), 'equal', { random: () => -0.1 })).to.throw(TypeError, /got -0.1/);
      expect(() => withJitter(plain(), 'decorrelated', { random: () => NaN })).to.throw(TypeError, /got NaN/);
    });
    it('something that is not a backoff', () => {
      expect(() => withJitter({ duration: 1 } as never, 'full', { random: Math.random })).to.throw(
        TypeError,
        /Backoff/,
      );
    });
  });

  describe('properties', () => {
    const config = fc.record({
      initial: fc.integer({ min: 1, max: 10_000 }),
      factor: fc.double({ min: 1, max: 10, noNaN: true }),
      extra: fc.integer({ min: 0, max: 1_000_000 }),
      seed: fc.integer(),
      kind: fc.constantFrom<JitterKind>('none', 'full', 'equal', 'decorrelated'),
    });

    it('every delay is within its jitter’s bounds and at most the cap, for random configs and seeds', () => {
      fc.assert(
        fc.property(config, ({ initial, factor, extra, seed, kind }) => {
          const max = initial + extra;
          const backoff = withJitter(exponentialBackoff({ initial, factor, max }), kind, {
            random: seededRandom(seed),
          });
          let previous = initial;
          durations(backoff, 40).forEach((delay, n) => {
            const v = Math.min(max, initial * factor ** n);
            expect(delay).to.be.at.most(max);
            if (kind === 'none') expect(delay).to.equal(v);
            if (kind === 'full') expect(delay).to.be.within(0, v);
            if (kind === 'equal') expect(delay).to.be.within(v / 2, v);
            if (kind === 'decorrelated') expect(delay).to.be.within(initial, Math.min(max, previous * 3));
            previous = delay;
          });
        }),
      );
    });

    it('the bounds hold for any sequence of random values in [0, 1), not only seeded ones', () => {
      const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
      fc.assert(
        fc.property(
          config,
          fc.array(unit, { minLength: 1, maxLength: 50 }),
          ({ initial, factor, extra, kind }, values) => {
            let i = 0;
            const random = () => values[i++ % values.length]!;
            const max = initial + extra;
            const all = durations(
              withJitter(exponentialBackoff({ initial, factor, max }), kind, { random }),
              30,
            );
            expect(all.every((d) => d >= 0 && d <= max)).to.equal(true);
          },
        ),
      );
    });
  });
});
