import { expect } from 'chai';
import fc from 'fast-check';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  FrameTooLargeError,
  LENGTH_PREFIX_BYTES,
  ProtocolError,
  encodeFrames,
  msgpackCodec,
  type WriteReport,
} from 'rx-lifeline';
import {
  MAX_BATCH_MESSAGE_BYTES,
  maxMessageBytes,
  readLengthPrefix,
  writeLengthPrefix,
} from '../../lib/codec/framing.js';
import { chunking, concat, fixstr, framed, msgpackValue, split, thrown } from './arbitraries.js';

const codec = msgpackCodec();

/** Pushes every chunk, collecting the frames. */
function pushAll<T>(decoder: FrameDecoder<T>, chunks: readonly Uint8Array[], into: T[] = []): T[] {
  for (const chunk of chunks) decoder.push(chunk, (frame) => into.push(frame));
  return into;
}

/** One frame on the wire, prefix included, encoded by the codec. */
function wire(value: unknown): Uint8Array {
  return encodeFrames(codec, [value]);
}

describe('FrameDecoder', () => {
  describe('any chunking yields the same frames', () => {
    it('decodes random frames cut at random points, in order, and counts every byte', () => {
      fc.assert(
        fc.property(fc.array(msgpackValue, { maxLength: 12 }), chunking, (frames, how) => {
          const bytes = encodeFrames(codec, frames);
          const decoder = new FrameDecoder({ codec });
          const got = pushAll(decoder, split(bytes, how));
          expect(got).to.deep.equal(frames);
          expect(decoder.offset).to.equal(bytes.length);
          expect(decoder.bufferedBytes).to.equal(0);
          expect(() => decoder.end()).not.to.throw();
        }),
      );
    });

    for (const [first, second] of [
      [1, 3],
      [2, 2],
      [3, 1],
    ] as const) {
      it(`reassembles a length prefix torn ${first}+${second} across chunks`, () => {
        const one = wire({ first: true });
        const two = wire('second frame');
        const stream = concat(one, two);
        const tear = one.length + first;
        const decoder = new FrameDecoder({ codec });
        const got: unknown[] = [];
        // The first chunk ends inside the second frame's prefix.
        decoder.push(stream.subarray(0, tear), (frame) => got.push(frame));
        expect(got).to.deep.equal([{ first: true }]);
        expect(decoder.bufferedBytes).to.equal(first);
        expect(decoder.offset).to.equal(one.length);
        // The second chunk finishes the prefix but not the body.
        decoder.push(stream.subarray(tear, one.length + LENGTH_PREFIX_BYTES), (frame) => got.push(frame));
        expect(got).to.have.length(1);
        expect(decoder.bufferedBytes).to.equal(LENGTH_PREFIX_BYTES);
        decoder.push(stream.subarray(one.length + LENGTH_PREFIX_BYTES), (frame) => got.push(frame));
        expect(got).to.deep.equal([{ first: true }, 'second frame']);
        expect(decoder.offset).to.equal(stream.length);
        decoder.end();
      });

      it(`reassembles a prefix torn ${first}+${second} at the very start, body in the second chunk`, () => {
        const bytes = wire([1, 2, 3]);
        const decoder = new FrameDecoder({ codec });
        const got = pushAll(decoder, [bytes.subarray(0, first)]);
        expect(got).to.deep.equal([]);
        expect(decoder.bufferedBytes).to.equal(first);
        pushAll(decoder, [bytes.subarray(first)], got);
        expect(got).to.deep.equal([[1, 2, 3]]);
      });
    }

    it('delivers many frames from one chunk, in order', () => {
      const frames = Array.from({ length: 2000 }, (_, i) => ({ i, text: `frame ${i}` }));
      const bytes = encodeFrames(codec, frames);
      const decoder = new FrameDecoder({ codec });
      expect(pushAll(decoder, [bytes])).to.deep.equal(frames);
      expect(decoder.offset).to.equal(bytes.length);
    });

    it('ignores empty chunks, even between the bytes of a prefix', () => {
      const bytes = wire('x');
      const empty = new Uint8Array(0);
      const decoder = new FrameDecoder({ codec });
      const got = pushAll(decoder, [empty, bytes.subarray(0, 2), empty, bytes.subarray(2), empty]);
      expect(got).to.deep.equal(['x']);
    });

    it('keeps its own copy of a partial frame: the caller may reuse its read buffer', () => {
      const bytes = wire({ text: 'intact', blob: Uint8Array.of(1, 2, 3) });
      const readBuffer = new Uint8Array(64);
      const decoder = new FrameDecoder({ codec });
      const got: unknown[] = [];
      // Like a socket reading into one reused buffer: each read overwrites the previous one.
      for (let at = 0; at < bytes.length; at += 5) {
        const piece = bytes.subarray(at, at + 5);
        readBuffer.set(piece);
        decoder.push(readBuffer.subarray(0, piece.length), (frame) => got.push(frame));
        readBuffer.fill(0xee);
      }
      expect(got).to.deep.equal([{ text: 'intact', blob: Uint8Array.of(1, 2, 3) }]);
    });

    it('delivers binaries that do not alias the chunk they came from', () => {
      const chunk = wire({ blob: Uint8Array.of(9, 8, 7) });
      const decoder = new FrameDecoder({ codec });
      const [frame] = pushAll(decoder, [chunk]) as [{ blob: Uint8Array }];
      chunk.fill(0);
      expect(Array.from(frame.blob)).to.deep.equal([9, 8, 7]);
    });

    it('keeps every binary intact when a reused read buffer is overwritten, whatever the chunking', () => {
      const envelope = fc.tuple(fc.nat(3), fc.uint8Array({ maxLength: 3000 }));
      fc.assert(
        fc.property(fc.array(envelope, { maxLength: 12 }), chunking, fc.nat(20_000), (frames, how, size) => {
          const decoder = new FrameDecoder({ codec: msgpackCodec({ binarySlabBytes: size }) });
          const readBuffer = Buffer.alloc(64 * 1024);
          const got: unknown[] = [];
          for (const piece of split(encodeFrames(codec, frames), how)) {
            readBuffer.set(piece);
            decoder.push(readBuffer.subarray(0, piece.length), (frame) => got.push(frame));
            readBuffer.fill(0xee);
          }
          expect(got).to.deep.equal(frames.map(([kind, blob]) => [kind, Buffer.from(blob)]));
          for (const [, blob] of got as [number, Uint8Array][]) {
            expect(blob.buffer).not.to.equal(readBuffer.buffer);
            expect(blob.buffer.byteLength, 'at most a slab, or the binary itself').to.be.at.most(
              Math.max(size, blob.length),
            );
          }
        }),
        { numRuns: 300 },
      );
    });

    it("a frame whole in its read, the last one included, is decoded in place: its binaries are of the read's kind", () => {
      const frames = [
        [0, new Uint8Array(10).fill(1)],
        [0, new Uint8Array(100).fill(2)],
      ];
      const read = Buffer.from(encodeFrames(codec, frames));
      const binaries = pushAll(new FrameDecoder({ codec }), [read]).map(
        (frame) => (frame as [number, Uint8Array])[1],
      );
      expect(binaries.map((binary) => Buffer.isBuffer(binary))).to.deep.equal([true, true]);
    });

    it("shares a slab among one read's binaries only, and not with binarySlabBytes: 0", () => {
      const shared = msgpackCodec();
      const frames = [
        [0, new Uint8Array(100).fill(1)],
        [0, new Uint8Array(100).fill(2)],
      ];
      const chunk = Buffer.from(encodeFrames(shared, frames));
      const binaries = (codec: typeof shared) =>
        pushAll(new FrameDecoder({ codec }), [chunk]).map((frame) => (frame as [number, Uint8Array])[1]);
      const [a1, a2] = binaries(shared);
      const [b1] = binaries(shared);
      expect(a1!.buffer, 'the frames of one read of one connection').to.equal(a2!.buffer);
      // No larger than the rest of the read: 100 bytes, the next frame's prefix (4), array, integer and
      // binary headers (4), and its 100 bytes.
      expect(a1!.buffer.byteLength).to.equal(100 + 4 + 4 + 100);
      expect(b1!.buffer, 'another connection').not.to.equal(a1!.buffer);
      const decoder = new FrameDecoder({ codec: shared });
      const [c1, c2] = pushAll(decoder, [chunk.subarray(0, 111), chunk.subarray(111)]).map(
        (frame) => (frame as [number, Uint8Array])[1],
      );
      expect(c1!.buffer, 'another read: the slab was let go when push returned').not.to.equal(c2!.buffer);
      expect([c1![0], c2![0]]).to.deep.equal([1, 2]);
      const decoded = shared.decode(chunk.subarray(4, 4 + chunk.readUInt32BE(0))) as [number, Uint8Array];
      expect(decoded[1].buffer.byteLength, 'decode: its own buffer').to.equal(100);
      const own = binaries(msgpackCodec({ binarySlabBytes: 0 }));
      expect(own.map((binary) => binary.buffer.byteLength)).to.deep.equal([100, 100]);
      expect(own.map((binary) => binary[0])).to.deep.equal([1, 2]);
    });

    it("a frame finished by the next read gets none of the previous read's slab, even where it has room", () => {
      const shared = msgpackCodec();
      const frames = [
        [0, new Uint8Array(100).fill(1)],
        [0, new Uint8Array(100).fill(2)],
      ];
      const chunk = Buffer.from(encodeFrames(shared, frames));
      // The first read holds the first frame (108 bytes) and 102 of the second's: its slab, made at
      // the first binary, has room for the second binary too.
      const decoder = new FrameDecoder({ codec: shared });
      const got: Uint8Array[] = [];
      for (const read of [chunk.subarray(0, 210), chunk.subarray(210)]) {
        decoder.push(read, (frame) => got.push((frame as [number, Uint8Array])[1]));
      }
      expect(got.map((binary) => binary[0])).to.deep.equal([1, 2]);
      expect(got[1]!.buffer, 'another read: the slab was let go when push returned').not.to.equal(
        got[0]!.buffer,
      );
      expect(got[0]!.buffer.byteLength).to.be.at.least(200);
    });
  });

  describe('oversized frames', () => {
    const limit = 64;

    it('rejects a prefix above maxFrameBytes before the body arrives, after the frames before it', () => {
      const good = encodeFrames(codec, ['one', 'two']);
      const hugePrefix = Uint8Array.of(0, 0, 0, limit + 1); // announces 65 bytes; none of them sent
      const report: WriteReport = {
        lastFrame: 'whole',
        unconfirmedFrames: 0,
        unconfirmedBytes: 0,
        framesLeft: 2,
      };
      const decoder = new FrameDecoder({ codec, maxFrameBytes: limit, writeReport: () => report });
      const got: unknown[] = [];
      const error = thrown(() => decoder.push(concat(good, hugePrefix), (frame) => got.push(frame)));
      expect(got).to.deep.equal(['one', 'two']);
      expect(error).to.be.instanceOf(FrameTooLargeError);
      expect(error).to.be.instanceOf(ProtocolError);
      const tooLarge = error as FrameTooLargeError;
      expect(tooLarge.name).to.equal('FrameTooLargeError');
      expect(tooLarge.size).to.equal(limit + 1);
      expect(tooLarge.limit).to.equal(limit);
      expect(tooLarge.offset).to.equal(good.length);
      expect(tooLarge.phase).to.equal('read');
      expect(tooLarge.write).to.equal(report);
      expect(tooLarge.message).to.contain(`offset ${good.length}`).and.contain(String(limit));
      expect(decoder.bufferedBytes).to.be.at.most(LENGTH_PREFIX_BYTES);
      // The decoder is spent: every later call throws the same error, even with valid input.
      expect(thrown(() => decoder.push(wire('three'), (frame) => got.push(frame)))).to.equal(error);
      expect(thrown(() => decoder.push(new Uint8Array(0), (frame) => got.push(frame)))).to.equal(error);
      expect(thrown(() => decoder.end())).to.equal(error);
      expect(got).to.have.length(2);
    });

    it('rejects the prefix when its last byte arrives, one byte at a time', () => {
      const decoder = new FrameDecoder({ codec, maxFrameBytes: limit });
      const prefix = Uint8Array.of(0x01, 0x00, 0x00, 0x00); // 16 MiB
      for (let i = 0; i < 3; i++) decoder.push(prefix.subarray(i, i + 1), () => expect.fail('no frame'));
      const error = thrown(() => decoder.push(prefix.subarray(3), () => expect.fail('no frame')));
      expect(error).to.be.instanceOf(FrameTooLargeError);
      expect((error as FrameTooLargeError).size).to.equal(0x01000000);
      expect((error as FrameTooLargeError).offset).to.equal(0);
    });

    it('rejects a 4 GiB prefix under the default limit without buffering', () => {
      const decoder = new FrameDecoder({ codec });
      const error = thrown(() => decoder.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x01), () => {}));
      expect(error).to.be.instanceOf(FrameTooLargeError);
      expect((error as FrameTooLargeError).size).to.equal(0xffffffff);
      expect((error as FrameTooLargeError).limit).to.equal(DEFAULT_MAX_FRAME_BYTES);
      expect(decoder.bufferedBytes).to.be.at.most(LENGTH_PREFIX_BYTES);
    });

    it('accepts a frame of exactly maxFrameBytes', () => {
      const body = codec.encode('x'.repeat(100));
      const decoder = new FrameDecoder({ codec, maxFrameBytes: body.length });
      expect(pushAll(decoder, [framed(body)])).to.deep.equal(['x'.repeat(100)]);
      const smaller = new FrameDecoder({ codec, maxFrameBytes: body.length - 1 });
      expect(thrown(() => pushAll(smaller, [framed(body)]))).to.be.instanceOf(FrameTooLargeError);
    });

    it('validates maxFrameBytes', () => {
      for (const bad of [0, -1, 1.5, 2 ** 32, Number.NaN]) {
        expect(() => new FrameDecoder({ codec, maxFrameBytes: bad }), String(bad)).to.throw(TypeError);
      }
      expect(() => new FrameDecoder({ codec, maxFrameBytes: 2 ** 32 - 1 })).not.to.throw();
    });

    it('validates writeReport when it is made, not when a frame fails', () => {
      for (const bad of [1, 'report', {}, null]) {
        expect(() => new FrameDecoder({ codec, writeReport: bad as never }), String(bad)).to.throw(
          TypeError,
          /FrameDecoder.*writeReport/,
        );
      }
    });
  });

  describe('garbled frames', () => {
    const good = encodeFrames(codec, [{ a: 1 }, 'b']); // two good frames before the bad one

    function expectProtocolErrorAt(bad: Uint8Array, offset: number, message: RegExp): ProtocolError {
      const decoder = new FrameDecoder({ codec });
      const got: unknown[] = [];
      const error = thrown(() => decoder.push(concat(good, bad, wire('after')), (frame) => got.push(frame)));
      expect(got, 'frames before the bad one').to.deep.equal([{ a: 1 }, 'b']);
      expect(error).to.be.instanceOf(ProtocolError);
      expect(error).not.to.be.instanceOf(FrameTooLargeError);
      const protocolError = error as ProtocolError;
      expect(protocolError.offset).to.equal(offset);
      expect(protocolError.phase).to.equal('read');
      expect(protocolError.message).to.contain(`offset ${offset}`).and.match(message);
      // Spent: the same error again, and the frame after the bad one is never delivered.
      expect(thrown(() => decoder.push(wire('more'), (frame) => got.push(frame)))).to.equal(error);
      expect(thrown(() => decoder.end())).to.equal(error);
      expect(got).to.have.length(2);
      return protocolError;
    }

    it('names the offset of a body that is not MessagePack (0xc1 is never valid)', () => {
      const error = expectProtocolErrorAt(framed([0xc1]), good.length, /0xc1/);
      expect(error.cause).to.be.instanceOf(Error);
    });

    it('names the offset of a body with trailing bytes after its value', () => {
      expectProtocolErrorAt(framed([0x01, 0x02]), good.length, /trailing/);
    });

    it('names the offset of a body that ends inside its value', () => {
      expectProtocolErrorAt(framed([0x92, 0x01]), good.length, /cut short/);
      expectProtocolErrorAt(framed([0x92, ...fixstr('a')]), good.length, /ends inside a value/);
      expectProtocolErrorAt(framed([...fixstr('abc').slice(0, 3)]), good.length, /more than the data holds/);
    });

    it('names the offset of a zero-length frame, as soon as its prefix arrives', () => {
      expectProtocolErrorAt(Uint8Array.of(0, 0, 0, 0), good.length, /empty frame/i);
      const decoder = new FrameDecoder({ codec });
      const error = thrown(() => decoder.push(Uint8Array.of(0, 0, 0, 0), () => {}));
      expect(error).to.be.instanceOf(ProtocolError);
      expect((error as ProtocolError).offset).to.equal(0);
    });

    it('names the offset of a hostile extension', () => {
      // msgpackr's error extension naming a constructor; see msgpack.spec.ts.
      const body = [0xd4, 0x65, 0x00, 0x93, ...fixstr('Function'), ...fixstr('return 1'), 0xc0];
      expectProtocolErrorAt(framed(body), good.length, /extension type 101/);
    });

    it('turns 100,000 levels of nesting into a ProtocolError, not a stack overflow', () => {
      const body = new Uint8Array(100_001).fill(0x91);
      body[100_000] = 0xc0;
      const error = expectProtocolErrorAt(framed(body), good.length, /nested more than 1000 deep/);
      expect(error.cause).not.to.be.instanceOf(RangeError);
      // The process and msgpackr are fine afterwards.
      const decoder = new FrameDecoder({ codec });
      expect(pushAll(decoder, [wire([[[1]]])])).to.deep.equal([[[[1]]]]);
    });

    it('is spent after dispose()', () => {
      const decoder = new FrameDecoder({ codec });
      decoder.push(wire('x').subarray(0, 6), () => {});
      decoder.dispose();
      expect(decoder.bufferedBytes).to.be.at.most(LENGTH_PREFIX_BYTES);
      const error = thrown(() => decoder.push(wire('y'), () => expect.fail('no frame after dispose')));
      expect(error).to.be.instanceOf(ProtocolError);
      expect((error as ProtocolError).message).to.match(/disposed/);
    });
  });

  describe('when onFrame throws', () => {
    it('propagates the error and is spent, instead of resuming mid-stream', () => {
      const bytes = encodeFrames(codec, ['one', 'two', 'three']);
      const decoder = new FrameDecoder({ codec });
      const got: unknown[] = [];
      const boom = new Error('subscriber failed');
      const error = thrown(() =>
        decoder.push(bytes, (frame) => {
          got.push(frame);
          if (frame === 'one') throw boom;
        }),
      );
      expect(error).to.equal(boom);
      expect(got).to.deep.equal(['one']);
      // The rest of that chunk was not read, so the decoder cannot know where the next frame
      // starts: it refuses more input rather than parse from the middle of a frame.
      const later = thrown(() => decoder.push(wire('four'), (frame) => got.push(frame)));
      expect(later).to.be.instanceOf(ProtocolError);
      expect((later as ProtocolError).cause).to.equal(boom);
      expect((later as ProtocolError).offset).to.equal(wire('one').length);
      expect(thrown(() => decoder.end())).to.equal(later);
      expect(got).to.deep.equal(['one']);
    });
  });

  describe('when onFrame disposes the decoder (the connection ended under it)', () => {
    it('decodes nothing more of the chunk: no frame delivered, no byte copied', () => {
      const big = new Uint8Array(1024 * 1024);
      const whole = wire('whole');
      const bytes = concat(wire('bad'), whole, wire(big).subarray(0, 512 * 1024));
      const decoder = new FrameDecoder({ codec });
      const got: unknown[] = [];
      decoder.push(bytes, (frame) => {
        got.push(frame);
        decoder.dispose();
      });
      expect(got).to.deep.equal(['bad']);
      expect(decoder.bufferedBytes).to.equal(0);
    });

    it('stops after a frame completed from copied parts too', () => {
      const first = wire('first');
      const decoder = new FrameDecoder({ codec });
      const got: unknown[] = [];
      const onFrame = (frame: unknown) => {
        got.push(frame);
        decoder.dispose();
      };
      decoder.push(first.subarray(0, 3), onFrame);
      decoder.push(concat(first.subarray(3), wire('second'), wire('third').subarray(0, 5)), onFrame);
      expect(got).to.deep.equal(['first']);
      expect(decoder.bufferedBytes).to.equal(0);
    });
  });

  describe('end of stream', () => {
    it('throws a ProtocolError when the stream stops inside a frame body', () => {
      const first = wire('complete');
      const second = wire({ cut: 'short' });
      const decoder = new FrameDecoder({ codec });
      const got = pushAll(decoder, [concat(first, second.subarray(0, second.length - 1))]);
      expect(got).to.deep.equal(['complete']);
      const error = thrown(() => decoder.end());
      expect(error).to.be.instanceOf(ProtocolError);
      expect(error).not.to.be.instanceOf(FrameTooLargeError);
      expect((error as ProtocolError).offset).to.equal(first.length);
      expect((error as ProtocolError).phase).to.equal('close');
      expect((error as ProtocolError).message).to.contain(
        `${second.length - 1} bytes of ${second.length} bytes`,
      );
      expect(thrown(() => decoder.end())).to.equal(error);
      expect(thrown(() => decoder.push(second, () => {}))).to.equal(error);
    });

    it('throws when the stream stops inside a prefix, in the phase asked for', () => {
      const decoder = new FrameDecoder({ codec });
      decoder.push(Uint8Array.of(0, 0), () => {});
      const error = thrown(() => decoder.end('read'));
      expect(error).to.be.instanceOf(ProtocolError);
      expect((error as ProtocolError).phase).to.equal('read');
      expect((error as ProtocolError).offset).to.equal(0);
      expect((error as ProtocolError).message).to.contain('2 bytes of a length prefix');
    });

    it('lets an unfinished frame go when disposed or when the stream ends inside it; a later dispose keeps the error', () => {
      const torn = wire({ cut: 'short' }).subarray(0, -1);
      const disposed = new FrameDecoder({ codec });
      disposed.push(torn, () => expect.fail('no whole frame'));
      expect(disposed.bufferedBytes).to.equal(torn.length);
      disposed.dispose();
      expect(disposed.bufferedBytes).to.equal(0);
      const ended = new FrameDecoder({ codec });
      ended.push(torn, () => expect.fail('no whole frame'));
      const error = thrown(() => ended.end());
      expect(ended.bufferedBytes).to.equal(0);
      ended.dispose();
      expect(thrown(() => ended.push(wire('y'), () => {}))).to.equal(error);
    });

    it('ends cleanly after whole frames, and on an empty stream', () => {
      const decoder = new FrameDecoder({ codec });
      pushAll(decoder, [encodeFrames(codec, [1, 2, 3])]);
      expect(() => decoder.end()).not.to.throw();
      expect(() => new FrameDecoder({ codec }).end()).not.to.throw();
    });
  });

  describe('hostile byte streams', () => {
    const maxFrameBytes = 256;

    /** Prefixes that mostly announce small frames, followed by bodies that may not match them. */
    const frameLike = fc.oneof(
      // A valid frame, possibly with one byte changed.
      fc
        .tuple(msgpackValue, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
        .map(([value, at, byte, corrupt]) => {
          const bytes = wire(value).slice();
          if (corrupt) bytes[at % bytes.length] = byte;
          return bytes;
        }),
      // A small prefix and random bytes of a random length.
      fc
        .tuple(fc.integer({ min: 0, max: 300 }), fc.uint8Array({ maxLength: 300 }))
        .map(([length, body]) => concat(Uint8Array.of(0, 0, length >> 8, length & 0xff), body)),
      // Raw noise.
      fc.uint8Array({ maxLength: 64 }),
    );
    const stream = fc.oneof(
      fc.uint8Array({ maxLength: 4096 }),
      fc.array(frameLike, { maxLength: 16 }).map((parts) => concat(...parts)),
    );

    it('either yields frames or throws a ProtocolError, holding at most maxFrameBytes + 4', () => {
      fc.assert(
        fc.property(stream, chunking, (bytes, how) => {
          const decoder = new FrameDecoder({ codec, maxFrameBytes });
          const bound = maxFrameBytes + LENGTH_PREFIX_BYTES;
          let failure: unknown;
          try {
            for (const chunk of split(bytes, how)) {
              decoder.push(chunk, () => expect(decoder.bufferedBytes).to.be.at.most(bound));
              expect(decoder.bufferedBytes).to.be.at.most(bound);
            }
            decoder.end();
          } catch (error) {
            failure = error;
          }
          expect(decoder.bufferedBytes).to.be.at.most(bound);
          if (failure === undefined) {
            expect(decoder.offset).to.equal(bytes.length);
            return;
          }
          // chai's AssertionError from the checks above must not be mistaken for the decoder's.
          if (!(failure instanceof ProtocolError)) throw failure;
          // The offset names the frame where the decoder stopped: every byte before it was a frame.
          expect(failure.offset).to.equal(decoder.offset);
          expect(failure.offset).to.be.below(bytes.length);
          if (failure instanceof FrameTooLargeError) expect(failure.size).to.be.above(maxFrameBytes);
        }),
        { numRuns: 500 },
      );
    });
  });

  it("a codec's decode that throws anything is a ProtocolError at the frame's offset, naming what it threw", () => {
    for (const [value, shown] of [
      [new SyntaxError('bad byte'), 'SyntaxError: bad byte'],
      [Object.create(null), 'an object'],
    ] as [unknown, string][]) {
      const decoder = new FrameDecoder({
        codec: {
          encode: codec.encode,
          decode: () => {
            throw value;
          },
        },
      });
      const error = thrown(() => decoder.push(wire('x'), () => expect.fail('no frame')));
      expect(error).to.be.instanceOf(ProtocolError);
      expect((error as ProtocolError).message).to.match(
        new RegExp(`^Malformed frame at offset 0 \\(\\d+ bytes\\): ${shown}$`),
      );
    }
  });
});

describe('encodeFrames', () => {
  it("refuses what a codec's encode returns that is not bytes with a TypeError saying what it was", () => {
    const codec = { encode: () => 'abc' as unknown as Uint8Array, decode: () => undefined };
    expect(() => encodeFrames(codec, ['x'])).to.throw(
      TypeError,
      'codec.encode must return a Uint8Array, it returned "abc"',
    );
  });
});

describe('the length prefix', () => {
  it('writes and reads all four bytes of a length big-endian, every bit of each', () => {
    const out = new Uint8Array(6);
    writeLengthPrefix(out, 1, 0xfedcba98);
    expect([...out]).to.deep.equal([0, 0xfe, 0xdc, 0xba, 0x98, 0]);
    expect(readLengthPrefix(out, 1)).to.equal(0xfedcba98);
  });

  it('frames a body of 32 KiB and more, whose length has the high bit of its third byte set', () => {
    const body = new Uint8Array(0x8000 + 5).fill(7);
    const bytes = encodeFrames({ encode: (frame: Uint8Array) => frame, decode: (b) => b }, [body]);
    expect([...bytes.subarray(0, LENGTH_PREFIX_BYTES)]).to.deep.equal([0, 0, 0x80, 5]);
    expect(bytes.length).to.equal(LENGTH_PREFIX_BYTES + body.length);
  });
});

describe('maxMessageBytes (the largest WebSocket message a receiver accepts)', () => {
  it('is one frame of maxFrameBytes with its prefix, or a batch of 64 KiB, whichever is larger', () => {
    expect(MAX_BATCH_MESSAGE_BYTES).to.equal(65_536);
    expect([64, 65_532, 65_533, 1 << 20].map(maxMessageBytes)).to.deep.equal([
      65_536,
      65_536,
      65_537,
      (1 << 20) + LENGTH_PREFIX_BYTES,
    ]);
  });
});
