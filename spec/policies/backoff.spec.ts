import { expect } from 'chai';
import { constantBackoff, exponentialBackoff, linearBackoff } from 'rx-lifeline';
import { durations, expectDurations } from './support.js';

describe('backoff', () => {
  describe('constantBackoff', () => {
    it('waits the same delay every time', () => {
      expectDurations(constantBackoff(250), [250, 250, 250, 250]);
      expectDurations(constantBackoff(0), [0, 0, 0]);
      expect(constantBackoff(250).max).to.equal(250);
    });
  });

  describe('linearBackoff', () => {
    it('grows by step up to the cap', () => {
      expectDurations(
        linearBackoff({ initial: 100, step: 50, max: 300 }),
        [100, 150, 200, 250, 300, 300, 300],
      );
    });

    it('steps by the initial delay by default, capped at 30 s', () => {
      const backoff = linearBackoff({ initial: 10_000 });
      expectDurations(backoff, [10_000, 20_000, 30_000, 30_000]);
      expect(backoff.max).to.equal(30_000);
      expectDurations(linearBackoff(), [100, 200, 300]);
    });

    it('with step 0 is constant', () => {
      expectDurations(linearBackoff({ initial: 70, step: 0, max: 1_000 }), [70, 70, 70]);
    });
  });

  describe('exponentialBackoff', () => {
    it('doubles from 100 ms up to 30 s by default', () => {
      expectDurations(
        exponentialBackoff(),
        [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000, 30_000],
      );
    });

    it('multiplies by factor and stops at max', () => {
      expectDurations(exponentialBackoff({ initial: 10, factor: 3, max: 500 }), [10, 30, 90, 270, 500, 500]);
      expectDurations(
        exponentialBackoff({ initial: 10, factor: 1.5, max: 100 }),
        [10, 15, 22.5, 33.75, 50.625, 75.9375, 100],
      );
    });

    it('with factor 1, or max equal to initial, is constant', () => {
      expectDurations(exponentialBackoff({ initial: 40, factor: 1 }), [40, 40, 40]);
      expectDurations(exponentialBackoff({ initial: 40, max: 40 }), [40, 40, 40]);
    });

    it('never overflows past its cap, however long it runs', () => {
      const all = durations(exponentialBackoff({ initial: 1, factor: 1e300, max: 2_147_483_647 }), 5);
      expect(all).to.deep.equal([1, 2_147_483_647, 2_147_483_647, 2_147_483_647, 2_147_483_647]);
      const long = durations(exponentialBackoff({ initial: 100, max: 1_000 }), 3_000);
      expect(long.every((d) => d <= 1_000 && Number.isFinite(d))).to.equal(true);
      expect(long.at(-1)).to.equal(1_000);
    });
  });

  it('is an immutable value: next() returns a new backoff and leaves this one unchanged', () => {
    const first = exponentialBackoff({ initial: 100 });
    const second = first.next();
    expect(second).to.not.equal(first);
    expect(first.duration).to.equal(100);
    expect(second.duration).to.equal(200);
    expect(first.next().duration).to.equal(200);
    expectDurations(second, [200, 400]);
    expectDurations(first, [100, 200, 400]);
  });

  describe('rejects nonsense with a TypeError', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['a negative constant', () => constantBackoff(-1), /constantBackoff: ms must be a number ≥ 0/],
      ['a NaN constant', () => constantBackoff(NaN), /got NaN/],
      ['a constant past the timer limit', () => constantBackoff(2 ** 31), /≤ 2147483647/],
      ['an Infinity constant', () => constantBackoff(Infinity), /got Infinity/],
      ['a string', () => constantBackoff('100' as unknown as number), /got "100"/],
      ['a negative linear initial', () => linearBackoff({ initial: -5 }), /linearBackoff: initial/],
      ['a negative step', () => linearBackoff({ step: -1 }), /linearBackoff: step/],
      ['a NaN step', () => linearBackoff({ step: NaN }), /linearBackoff: step/],
      [
        'linear max < initial',
        () => linearBackoff({ initial: 500, max: 100 }),
        /linearBackoff: max must be a number ≥ 500/,
      ],
      [
        'exponential initial 0',
        () => exponentialBackoff({ initial: 0 }),
        /exponentialBackoff: initial must be a number > 0/,
      ],
      ['a negative initial', () => exponentialBackoff({ initial: -1 }), /initial/],
      ['factor < 1', () => exponentialBackoff({ factor: 0.5 }), /factor must be a number ≥ 1/],
      ['factor NaN', () => exponentialBackoff({ factor: NaN }), /factor/],
      ['factor Infinity', () => exponentialBackoff({ factor: Infinity }), /factor/],
      [
        'exponential max < initial',
        () => exponentialBackoff({ initial: 100, max: 50 }),
        /max must be a number ≥ 100/,
      ],
      ['exponential max NaN', () => exponentialBackoff({ max: NaN }), /max/],
      ['an unbounded cap', () => exponentialBackoff({ max: Infinity }), /max/],
    ];
    for (const [what, make, message] of cases) {
      it(what, () => expect(make).to.throw(TypeError, message));
    }
  });
});
