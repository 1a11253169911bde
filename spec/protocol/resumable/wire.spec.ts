import { expect } from 'chai';
import { parseHello } from '../../../lib/protocol/resumable/wire.js';

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
