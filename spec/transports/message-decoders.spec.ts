import { expect } from 'chai';
import {
  encodeFrames,
  FrameTooLargeError,
  LENGTH_PREFIX_BYTES,
  msgpackCodec,
  ProtocolError,
  UNKNOWN_WRITE,
  type WriteReport,
} from 'rx-lifeline';
import { TestScheduler } from 'rxjs/testing';
import { FrameDeadline, MessageDecoders, type WriteReporter } from '../../lib/transports/inbound.js';

const codec = msgpackCodec<string>();

/** A connection as MessageDecoders sees it: its link (for reports) and its stream offset. */
class Connection implements WriteReporter {
  offset = 0;
  readonly frames: string[] = [];
  constructor(readonly report: WriteReport) {}

  writeReport(): WriteReport {
    return this.report;
  }

  /** Reads one message with a decoder lent for it, as WebSocketRun does; returns the decoder. */
  read(decoders: MessageDecoders<string>, message: Uint8Array, onFrame?: (frame: string) => void) {
    const decoder = decoders.lend(this, this.offset);
    try {
      decoder.push(message, (frame) => {
        this.frames.push(frame);
        onFrame?.(frame);
      });
    } finally {
      this.offset = decoder.offset;
    }
    decoders.giveBack(decoder);
    return decoder;
  }
}

const report = (framesLeft: number): WriteReport => ({
  lastFrame: 'whole',
  unconfirmedFrames: 0,
  unconfirmedBytes: 0,
  framesLeft,
});

describe('MessageDecoders (one decoder lent to one message at a time)', () => {
  it('connections taking turns share one decoder, each stream keeping its own offset', () => {
    const decoders = new MessageDecoders(codec, 1024);
    const a = new Connection(report(1));
    const b = new Connection(report(2));
    const first = a.read(decoders, encodeFrames(codec, ['a1', 'a2']));
    expect(b.read(decoders, encodeFrames(codec, ['b1']))).to.equal(first);
    expect(a.read(decoders, encodeFrames(codec, ['a3']))).to.equal(first);
    expect(a.frames).to.deep.equal(['a1', 'a2', 'a3']);
    expect(b.frames).to.deep.equal(['b1']);
    expect(a.offset).to.equal(encodeFrames(codec, ['a1', 'a2', 'a3']).length);
    expect(b.offset).to.equal(encodeFrames(codec, ['b1']).length);
  });

  it("an error names the offset in its connection's stream and carries that connection's write report", () => {
    const decoders = new MessageDecoders(codec, 8);
    const a = new Connection(report(1));
    const b = new Connection(report(2));
    a.read(decoders, encodeFrames(codec, ['a1']));
    b.read(decoders, encodeFrames(codec, ['b1', 'b2']));
    let error: unknown;
    try {
      b.read(decoders, encodeFrames(codec, ['a frame over eight bytes']));
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(FrameTooLargeError);
    expect((error as FrameTooLargeError).offset).to.equal(b.offset);
    expect((error as FrameTooLargeError).offset).to.equal(2 * (LENGTH_PREFIX_BYTES + 3));
    expect((error as FrameTooLargeError).write).to.equal(b.report);
  });

  it('a message read while another is gets a decoder of its own; a spent decoder is not taken back', () => {
    const decoders = new MessageDecoders(codec, 1024);
    const a = new Connection(report(1));
    const b = new Connection(report(2));
    const spare = a.read(decoders, encodeFrames(codec, ['warm']));
    let inner: unknown;
    const outer = a.read(decoders, encodeFrames(codec, ['a1', 'a2']), (frame) => {
      if (frame === 'a1') inner = b.read(decoders, encodeFrames(codec, ['b1']));
    });
    expect(outer).to.equal(spare);
    expect(inner).to.not.equal(outer);
    expect(a.frames).to.deep.equal(['warm', 'a1', 'a2']);
    expect(b.frames).to.deep.equal(['b1']);

    const bad = Uint8Array.of(0, 0, 0, 0); // an empty frame
    const lent = decoders.lend(a, a.offset);
    expect(() => lent.push(bad, () => undefined)).to.throw(ProtocolError);
    decoders.giveBack(lent);
    expect(decoders.lend(b, b.offset)).to.not.equal(lent);
  });

  it('a message that ends inside a frame is a ProtocolError after the whole frames, and spends the decoder', () => {
    const decoders = new MessageDecoders(codec, 1024);
    const a = new Connection(report(3));
    a.read(decoders, encodeFrames(codec, ['a1']));
    const torn = encodeFrames(codec, ['a2', 'torn']);
    for (const cut of [torn.length - 1, torn.length - 6, encodeFrames(codec, ['a2']).length + 2]) {
      const b = new Connection(report(4));
      const decoder = decoders.lend(b, 10);
      const got: string[] = [];
      let error: unknown;
      try {
        decoder.push(torn.subarray(0, cut), (frame) => got.push(frame));
      } catch (caught) {
        error = caught;
      }
      const start = 10 + encodeFrames(codec, ['a2']).length;
      expect(got).to.deep.equal(['a2']);
      expect(error).to.be.instanceOf(ProtocolError).and.not.be.instanceOf(FrameTooLargeError);
      expect((error as ProtocolError).offset).to.equal(start);
      expect((error as ProtocolError).write).to.equal(b.report);
      expect((error as ProtocolError).message).to.equal(
        `A WebSocket message ended inside the frame at offset ${start} (${cut + 10 - start} bytes of it arrived): a frame never spans messages`,
      );
      decoders.giveBack(decoder);
      expect(decoders.lend(a, a.offset)).to.not.equal(decoder);
    }
  });

  it('a decoder taken back holds no connection: its reports are unknown until lent again', () => {
    const decoders = new MessageDecoders(codec, 4);
    const a = new Connection(report(1));
    const decoder = a.read(decoders, encodeFrames(codec, ['a']));
    expect(decoder.offset).to.equal(0);
    expect(() => decoder.push(encodeFrames(codec, ['too large']), () => undefined))
      .to.throw(FrameTooLargeError)
      .with.property('write', UNKNOWN_WRITE);
  });
});

describe('FrameDeadline', () => {
  /** Runs `reads` ([time, frame start, bytes held]) and returns when the deadline fired, with what it held. */
  function expiries(timeout: number, reads: readonly (readonly [number, number, number])[]): string[] {
    const scheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
    const fired: string[] = [];
    scheduler.run(() => {
      const deadline = new FrameDeadline(timeout, scheduler, (held) =>
        fired.push(`${scheduler.now()}:${held}`),
      );
      for (const [at, start, held] of reads) scheduler.schedule(() => deadline.watch(start, held), at);
      scheduler.schedule(() => deadline.stop(), 100);
    });
    return fired;
  }

  it('runs from the first byte of a frame, however many reads add to it', () => {
    // A peer dribbling one frame does not push its deadline back.
    expect(
      expiries(10, [
        [0, 0, 5],
        [6, 0, 8],
        [9, 0, 9],
      ]),
    ).to.deep.equal(['10:9']);
  });

  it('starts again for the next frame, and stops when nothing is held', () => {
    expect(
      expiries(10, [
        [0, 0, 5],
        [4, 20, 2],
      ]),
    ).to.deep.equal(['14:2']);
    expect(
      expiries(10, [
        [0, 0, 5],
        [4, 0, 0],
      ]),
    ).to.deep.equal([]);
    expect(expiries(Infinity, [[0, 0, 5]])).to.deep.equal([]);
  });
});
