import { expect } from 'chai';
import { parseHello, randomId } from '../../../lib/protocol/resumable/wire.js';

describe('resumable wire: parseHello', () => {
  const hello = { v: [1, 2], received: 0 };

  it('takes a version range of exactly two counts, lowest first', () => {
    expect(parseHello(hello)).to.equal(hello);
    expect(parseHello({ ...hello, v: [2, 2] })).to.deep.equal({ ...hello, v: [2, 2] });
  });

  it('refuses any other version range', () => {
    for (const v of [
      [1, 2, 3],
      [1, 2, 'x'],
      [1],
      [],
      [2, 1],
      [-1, 2],
      [1, 2.5],
      '1-2',
      { 0: 1, 1: 2, length: 2 },
    ]) {
      expect(parseHello({ ...hello, v }), JSON.stringify(v)).to.equal(undefined);
    }
  });
});

describe('resumable wire: randomId', () => {
  it('is 16 random bytes as 32 lowercase hex digits, a leading zero kept, each one new', () => {
    const ids = Array.from({ length: 64 }, () => randomId());
    for (const id of ids) expect(id).to.match(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).to.equal(ids.length);
    // A byte below 16 keeps its leading zero (one of 64 ids without any is about 1 in 10^28).
    expect(ids.some((id) => /^(?:[0-9a-f]{2})*0[0-9a-f]/.test(id))).to.equal(true);
  });
});
