import { expect } from 'chai';
import { LabUsageError, parseCount } from '../src/units.js';

describe('lab: parseCount()', () => {
  it('takes integers, as numbers or strings of digits', () => {
    expect(parseCount('--clients', 1000)).to.equal(1000);
    expect(parseCount('--clients', ' 1000 ')).to.equal(1000);
    expect(parseCount('--seed', '0', 0)).to.equal(0);
  });

  it('refuses strings that are numbers only to JavaScript', () => {
    for (const text of ['1e3', '0x10', '1.0', '']) {
      expect(() => parseCount('--clients', text, 0), JSON.stringify(text)).to.throw(
        LabUsageError,
        '--clients must be an integer ≥ 0',
      );
    }
  });
});
