import { expect } from 'chai';
import fc from 'fast-check';
import { openSync } from 'node:fs';
import { describeError, describeValue } from '../../lib/internal/describe-value.js';
import { thrown } from '../codec/arbitraries.js';

describe('describeError (how a cause reads in a message)', () => {
  it('an Error and anything error-like read as name: message', () => {
    expect(describeError(new TypeError('bad frame'))).to.equal('TypeError: bad frame');
    expect(describeError({ name: 'QuotaExceededError', message: 'the quota was exceeded' })).to.equal(
      'QuotaExceededError: the quota was exceeded',
    );
    expect(describeError({ message: 'no name' })).to.equal('no name');
  });

  it('a Node system error reads as its message, which already starts with its code, once', () => {
    const error = thrown(() => openSync('/nonexistent-lifeline/x', 'r'));
    expect(describeError(error)).to.match(/^ENOENT: no such file or directory, open/);
    const coded = Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' });
    expect(describeError(coded)).to.equal('Error: connect refused');
  });

  it('anything else, or an error whose getters throw, reads as describeValue says', () => {
    const hostile = Object.defineProperty({}, 'message', {
      get() {
        throw new Error('no');
      },
    });
    expect(describeError(hostile)).to.equal('an object');
    expect(describeError(42)).to.equal('42');
    expect(describeError({ message: 7 })).to.equal('an object');
  });

  it('never throws, whatever is thrown', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withTypedArray: true }), (value) => {
        const shown = describeError(value);
        expect(shown).to.be.a('string');
        if (typeof value !== 'object' || value === null) expect(shown).to.equal(describeValue(value));
      }),
    );
  });
});
