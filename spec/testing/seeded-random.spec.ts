import { expect } from 'chai';
import fc from 'fast-check';
import { seededRandom } from 'rx-lifeline/testing';

describe('seededRandom', () => {
  it('the same seed gives the same sequence of numbers in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = seededRandom(seed);
        const b = seededRandom(seed);
        for (let i = 0; i < 20; i++) {
          const value = a();
          expect(value).to.equal(b());
          expect(value).to.be.at.least(0).and.below(1);
        }
      }),
    );
  });

  it('refuses a seed that is not a finite number, saying what it got', () => {
    const cases: [unknown, string][] = [
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      ['42', '"42"'],
      [Symbol('seed'), 'a symbol'],
      [Object.create(null), 'an object'],
    ];
    for (const [seed, shown] of cases) {
      expect(() => seededRandom(seed as number)).to.throw(
        TypeError,
        `seededRandom: seed must be a finite number, got ${shown}`,
      );
    }
  });
});
