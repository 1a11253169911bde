import { expect } from 'chai';
import { ReplayBuffer, ReplayBufferFullError } from 'rx-lifeline';

describe('ReplayBuffer', () => {
  it('numbers frames from 1 and reads them back by seq', () => {
    const buffer = new ReplayBuffer<string>();
    expect(buffer.append('a', 1)).to.equal(1);
    expect(buffer.append('b', 2)).to.equal(2);
    expect([buffer.at(1), buffer.at(2), buffer.at(3), buffer.at(0)]).to.deep.equal([
      'a',
      'b',
      undefined,
      undefined,
    ]);
    expect([buffer.length, buffer.bytes, buffer.firstSeq, buffer.nextSeq]).to.deep.equal([2, 3, 1, 3]);
  });

  it('trims on a cumulative ack, ignores old acks, and keeps numbering after emptying', () => {
    const buffer = new ReplayBuffer<number>();
    for (let i = 1; i <= 5; i++) buffer.append(i, 10);
    expect(buffer.trim(3)).to.equal(3);
    expect(buffer.trim(2)).to.equal(0);
    expect([buffer.firstSeq, buffer.length, buffer.bytes, buffer.at(4)]).to.deep.equal([4, 2, 20, 4]);
    expect(buffer.trim(99)).to.equal(2);
    expect([buffer.firstSeq, buffer.length, buffer.bytes]).to.deep.equal([6, 0, 0]);
    expect(buffer.append(6, 1)).to.equal(6);
  });

  it('refuses a frame past maxFrames or maxBytes with ReplayBufferFullError, evicting nothing', () => {
    const frames = new ReplayBuffer<string>({ maxFrames: 2 });
    frames.append('a', 1);
    frames.append('b', 1);
    expect(() => frames.append('c', 1)).to.throw(ReplayBufferFullError, /2 frames/);
    expect([frames.length, frames.at(1)]).to.deep.equal([2, 'a']);
    const bytes = new ReplayBuffer<string>({ maxBytes: 10 });
    bytes.append('a', 6);
    try {
      bytes.append('b', 5);
      expect.fail('should throw');
    } catch (error) {
      expect(ReplayBufferFullError.is(error)).to.equal(true);
      const full = error as ReplayBufferFullError;
      expect([full.frames, full.bytes, full.size, full.limit.bytes]).to.deep.equal([1, 6, 5, 10]);
    }
    expect(bytes.fits(4)).to.equal(true);
  });

  it('refuses a size that is not a number of bytes ≥ 0, and a seq that is not whole, with a TypeError, keeping nothing', () => {
    const buffer = new ReplayBuffer<string>({ maxBytes: 10 });
    for (const size of [-5, NaN, Infinity, '3', undefined]) {
      expect(() => buffer.append('x', size as number)).to.throw(
        TypeError,
        /^ReplayBuffer\.append: size must be a number of bytes ≥ 0, got /,
      );
    }
    expect([buffer.length, buffer.bytes]).to.deep.equal([0, 0]);
    // Nor is a seq that is not whole trimmed, or read.
    for (const through of [NaN, 1.5, '1', Symbol('seq')]) {
      expect(() => buffer.trim(through as number)).to.throw(
        TypeError,
        /^ReplayBuffer\.trim: through must be a whole seq/,
      );
      expect(buffer.at(through as number)).to.equal(undefined);
    }
    // A negative size would have let these through: the cap still holds.
    buffer.append('a', 10);
    expect(() => buffer.append('b', 1)).to.throw(ReplayBufferFullError);
  });

  it('stays O(1) amortised: 200,000 frames appended and acked in small steps', () => {
    const buffer = new ReplayBuffer<number>({ maxFrames: 5_000 });
    let acked = 0;
    for (let seq = 1; seq <= 200_000; seq++) {
      buffer.append(seq, 8);
      if (seq % 7 === 0) {
        acked = seq - 3;
        buffer.trim(acked);
        expect(buffer.at(acked + 1)).to.equal(acked + 1);
      }
    }
    expect(buffer.length).to.equal(200_000 - acked);
  });

  it('reset drops everything and numbers again', () => {
    const buffer = new ReplayBuffer<string>();
    buffer.append('a', 1);
    buffer.reset();
    expect([buffer.length, buffer.bytes, buffer.nextSeq]).to.deep.equal([0, 0, 1]);
  });

  it('rejects nonsense options with a TypeError', () => {
    expect(() => new ReplayBuffer({ maxBytes: 0 })).to.throw(TypeError, /maxBytes/);
    expect(() => new ReplayBuffer({ maxFrames: 1.5 })).to.throw(TypeError, /maxFrames/);
  });

  it('rejects an option it does not know (a misspelt cap would silently be the default)', () => {
    expect(() => new ReplayBuffer({ maxFrame: 3 } as never)).to.throw(TypeError, /maxFrame/);
  });

  it('holds 65,536 frames and 4 MiB by default', () => {
    const buffer = new ReplayBuffer();
    expect([buffer.maxFrames, buffer.maxBytes]).to.deep.equal([65_536, 4 * 1024 * 1024]);
  });
});
