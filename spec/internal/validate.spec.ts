import { expect } from 'chai';
import fc from 'fast-check';
import { constantBackoff } from 'rx-lifeline';
import { describe as describeValue } from '../../lib/internal/validate.js';

/** A Proxy that throws on every trap once revoked: even `Array.isArray` throws on it. */
function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

describe('validate', () => {
  describe('describe (how a value reads in a message)', () => {
    it('names any value without running its code, and never throws', () => {
      const throwing = () => {
        throw new Error('boom');
      };
      const cases: [unknown, string][] = [
        [5, '5'],
        [-0, '-0'],
        [NaN, 'NaN'],
        [5n, '5n'],
        ['100', '"100"'],
        ['x'.repeat(50), `"${'x'.repeat(40)}"… (50 characters)`],
        [undefined, 'undefined'],
        [null, 'null'],
        [Symbol('s'), 'a symbol'],
        [Object.assign(() => 1, { toString: throwing }), 'a function'],
        [{ toString: throwing, toJSON: throwing }, 'an object'],
        [Object.create(null), 'an object'],
        [[1n, 2], 'an array of 2 starting 1n'],
        [[], 'an empty array'],
        [[[[1]]], 'an array of 1 starting an array of 1 starting a value'],
        [new Date(Number.NaN), 'a Date'],
        [Uint8Array.of(1, 2), 'a Uint8Array of 2 bytes'],
        [revokedProxy(), 'a value that cannot be described'],
      ];
      for (const [value, expected] of cases) expect(describeValue(value)).to.equal(expected);
    });

    it('property: a short string for anything', () => {
      const anything = fc.anything({
        withBigInt: true,
        withDate: true,
        withTypedArray: true,
        withNullPrototype: true,
        withBoxedValues: true,
        withMap: true,
        withSet: true,
        withSparseArray: true,
        withObjectString: true,
      });
      fc.assert(
        fc.property(fc.oneof(anything, fc.string({ maxLength: 500 }), fc.bigInt()), (value) => {
          const shown = describeValue(value);
          expect(shown).to.be.a('string');
          expect(shown.length).to.be.at.most(200);
        }),
      );
    });

    it('an option check names a hostile value, and throws its TypeError, not the value’s error', () => {
      const hostile = Object.assign(() => 1, {
        toString: () => {
          throw new Error('boom');
        },
      });
      expect(() => constantBackoff(hostile as never)).to.throw(TypeError, /got a function$/);
      expect(() => constantBackoff(revokedProxy() as never)).to.throw(
        TypeError,
        /got a value that cannot be described$/,
      );
      expect(() => constantBackoff(5n as never)).to.throw(TypeError, /got 5n$/);
    });
  });
});
