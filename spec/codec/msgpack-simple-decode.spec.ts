import { expect } from 'chai';
import fc from 'fast-check';
import { codecPackr } from '../../lib/codec/codec.js';
import { DecodeBudgetError, msgpackCodec } from 'rx-lifeline';
import {
  checkMsgpack,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_INFLATION,
  DEFAULT_MIN_DECODE_BUDGET,
  type MsgpackLimits,
} from '../../lib/codec/msgpack-check.js';
import { MAX_SIMPLE_DEPTH } from '../../lib/codec/msgpack-simple.js';
import { decodeSimple, MAX_SIMPLE_FRAME_BYTES, NOT_SIMPLE } from '../../lib/codec/msgpack-simple-decode.js';
import { BinarySlab } from '../../lib/codec/binary-slab.js';
import { hex, nested, simpleValue } from './arbitraries.js';
import { msgpackValue } from './arbitraries.js';

// The path msgpackCodec took for every frame before the one-pass reader, and still takes for
// whatever that reader leaves: checkMsgpack, then msgpackr with the codec's options.
const packr = codecPackr();

const DEFAULTS: MsgpackLimits = {
  maxDepth: DEFAULT_MAX_DEPTH,
  maxInflation: DEFAULT_MAX_INFLATION,
  minDecodeBudget: DEFAULT_MIN_DECODE_BUDGET,
  int64AsType: 'bigint',
};

/** The reference result: the value checkMsgpack + msgpackr give, or the error they throw. */
function reference(bytes: Uint8Array, limits: MsgpackLimits, start = 0, end = bytes.length) {
  try {
    checkMsgpack(bytes, limits, start, end);
    return { value: packr.unpack(bytes, { start, end }) as unknown };
  } catch (error) {
    return { error: error as Error };
  }
}

/** A value with each binary shown as its kind and bytes, so Buffer and Uint8Array differ. */
function shape(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return {
      kind: Object.getPrototypeOf(value) === Buffer.prototype ? 'Buffer' : 'Uint8Array',
      hex: hex(value),
    };
  }
  return Array.isArray(value) ? value.map(shape) : value;
}

/** Asserts that decodeSimple either leaves `bytes` to the full path or decodes them as it would. */
function expectAgrees(
  bytes: Uint8Array,
  limits: MsgpackLimits,
  start = 0,
  end = bytes.length,
  slab?: BinarySlab,
): unknown {
  const simple = decodeSimple(bytes, limits, start, end, slab);
  if (simple === NOT_SIMPLE) return simple;
  const expected = reference(bytes, limits, start, end);
  expect(expected.error, 'the full path accepts what the one-pass reader took').to.equal(undefined);
  expect(shape(simple)).to.deep.equal(shape(expected.value));
  return simple;
}

/** Bytes around the tokens the reader takes, with random lengths and payload bytes between. */
const simpleTokens = fc
  .array(
    fc.oneof(
      fc.constantFrom(0x90, 0x91, 0x92, 0x93, 0x9f, 0xc0, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xcc, 0xcd, 0xce),
      fc.constantFrom(0xd0, 0xd1, 0xd2, 0xdc, 0xdd, 0x00, 0x01, 0x7f, 0x80, 0xe0, 0xff, 0xc1, 0xd4, 0xa1),
      fc.constantFrom(0xa0, 0xa3, 0xbf, 0xd9, 0x41, 0x7e),
      fc.integer({ min: 0, max: 255 }),
    ),
    { maxLength: 40 },
  )
  .map((bytes) => Uint8Array.from(bytes));

/** A simple value's bytes, then cut, extended, or with one byte changed. */
const mangledSimple = fc
  .tuple(simpleValue, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('cut', 'extend', 'flip'))
  .map(([value, at, byte, how]) => {
    const bytes = Uint8Array.from(packr.pack(value));
    const i = at % bytes.length;
    if (how === 'cut') return bytes.subarray(0, i);
    if (how === 'extend') return Uint8Array.from([...bytes, byte]);
    bytes[i] = byte;
    return bytes;
  });

const hostile = fc.oneof(simpleTokens, mangledSimple, fc.uint8Array({ maxLength: 64 }));

/** Limits from tiny to the defaults, so the budget and the depth bite. */
const limits: fc.Arbitrary<MsgpackLimits> = fc.record({
  maxDepth: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(DEFAULT_MAX_DEPTH)),
  maxInflation: fc.oneof(fc.constantFrom(0.5, 1, 4), fc.constant(DEFAULT_MAX_INFLATION)),
  minDecodeBudget: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.constant(DEFAULT_MIN_DECODE_BUDGET)),
  int64AsType: fc.constant('bigint' as const),
});

describe('msgpack simple values, read in one pass (the direct decoding path of msgpackCodec)', () => {
  it('decodes every simple value as checkMsgpack + msgpackr do', () => {
    fc.assert(
      fc.property(simpleValue, (value) => {
        const bytes = packr.pack(value);
        expect(expectAgrees(bytes, DEFAULTS), 'taken by the one-pass reader').not.to.equal(NOT_SIMPLE);
      }),
      { numRuns: 500 },
    );
  });

  it('takes a value in place in a larger buffer, reading only its range', () => {
    fc.assert(
      fc.property(
        simpleValue,
        fc.uint8Array({ maxLength: 8 }),
        fc.uint8Array({ maxLength: 8 }),
        (value, before, after) => {
          const body = packr.pack(value);
          const bytes = Buffer.concat([before, body, after]);
          const start = before.length;
          expect(expectAgrees(bytes, DEFAULTS, start, start + body.length)).not.to.equal(NOT_SIMPLE);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('on hostile bytes, takes only what the full path accepts, and decodes it the same', () => {
    let taken = 0;
    let refused = 0;
    fc.assert(
      fc.property(hostile, limits, (bytes, l) => {
        if (expectAgrees(bytes, l) !== NOT_SIMPLE) taken++;
        else if (reference(bytes, l).error) refused++;
      }),
      { numRuns: 3000 },
    );
    // Both kinds of input were met: frames the reader took, and frames the full path refused (each
    // about 300 of the 3,000 unseeded runs; the bound leaves room for the draw, not for none).
    expect(taken).to.be.above(100);
    expect(refused).to.be.above(100);
  });

  it('under small budgets and depths, agrees with the full path on simple values', () => {
    fc.assert(
      fc.property(simpleValue, limits, (value, l) => void expectAgrees(packr.pack(value), l)),
      { numRuns: 1000 },
    );
  });

  it('leaves every other value to the full path', () => {
    fc.assert(
      fc.property(msgpackValue, (value) => {
        expectAgrees(packr.pack(value), DEFAULTS);
      }),
      { numRuns: 500 },
    );
    for (const value of [
      'x'.repeat(32),
      'é',
      ['ok', 'naïve'],
      1.5,
      2n ** 40n,
      {},
      [1, 'é'],
      new Date(0),
      undefined,
      -0x80000001,
    ]) {
      expect(decodeSimple(packr.pack(value), DEFAULTS, 0, packr.pack(value).length), String(value)).to.equal(
        NOT_SIMPLE,
      );
    }
  });

  it('leaves arrays deeper than maxDepth or MAX_SIMPLE_DEPTH to the full path', () => {
    const at = (value: unknown, maxDepth: number) => {
      const bytes = packr.pack(value);
      return decodeSimple(bytes, { ...DEFAULTS, maxDepth }, 0, bytes.length);
    };
    expect(at(nested(3), 3)).to.deep.equal(nested(3));
    expect(at(nested(4), 3)).to.equal(NOT_SIMPLE);
    expect(at(nested(MAX_SIMPLE_DEPTH), 1000)).to.deep.equal(nested(MAX_SIMPLE_DEPTH));
    expect(at(nested(MAX_SIMPLE_DEPTH + 1), 1000)).to.equal(NOT_SIMPLE);
  });

  it('leaves frames over MAX_SIMPLE_FRAME_BYTES to the full path', () => {
    for (const [size, taken] of [
      [MAX_SIMPLE_FRAME_BYTES, true],
      [MAX_SIMPLE_FRAME_BYTES + 1, false],
    ] as const) {
      // A binary whose header (bin 16) and bytes fill the frame exactly.
      const bytes = packr.pack(new Uint8Array(size - 3));
      expect(bytes.length).to.equal(size);
      expect(decodeSimple(bytes, DEFAULTS, 0, size) !== NOT_SIMPLE, String(size)).to.equal(taken);
    }
  });

  it('gives up on an array count the bytes cannot hold, before allocating it', () => {
    // array 32 of 2^32 - 1 items in 5 bytes
    const bytes = Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff);
    expect(decodeSimple(bytes, DEFAULTS, 0, bytes.length)).to.equal(NOT_SIMPLE);
  });

  it('copies binaries out of the input, of the input kind, as msgpackr does', () => {
    for (const input of [
      Buffer.from(packr.pack([1, Uint8Array.of(7, 8)])),
      Uint8Array.from(packr.pack([1, Uint8Array.of(7, 8)])),
    ]) {
      const [, blob] = decodeSimple(input, DEFAULTS, 0, input.length) as [number, Uint8Array];
      expect(Object.getPrototypeOf(blob)).to.equal(Object.getPrototypeOf(input));
      input.fill(0);
      expect(Array.from(blob)).to.deep.equal([7, 8]);
      expect(blob.buffer).not.to.equal(input.buffer);
    }
  });

  it('is what msgpackCodec uses: its errors stay those of the full path', () => {
    const codec = msgpackCodec({ minDecodeBudget: 200, maxInflation: 1 });
    expect(codec.decode(packr.pack([0, [1, 2]]))).to.deep.equal([0, [1, 2]]);
    // Four arrays: 4 × 48 bytes and 8 per slot, over the 200-byte budget.
    expect(() => codec.decode(packr.pack([[1], [2], [3]]))).to.throw(DecodeBudgetError, /over budget/);
    expect(() => codec.decode(Uint8Array.of(0x92, 0x01))).to.throw(/cut short/);
    expect(() => codec.decode(Uint8Array.of(0x01, 0x02))).to.throw(/trailing data/);
  });

  describe('with a slab: the binaries of one stream share buffers', () => {
    /** Every binary in a decoded value, depth first. */
    const binariesOf = (value: unknown): Uint8Array[] =>
      value instanceof Uint8Array ? [value] : Array.isArray(value) ? value.flatMap(binariesOf) : [];

    const slabBytes = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 65, max: 4096 }));

    it('decodes simple, hostile and mangled bytes as checkMsgpack + msgpackr do, frame after frame', () => {
      const input = fc.oneof(
        simpleValue.map((value) => packr.pack(value)),
        hostile,
        fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
      );
      fc.assert(
        fc.property(fc.array(input, { maxLength: 12 }), slabBytes, limits, (inputs, size, l) => {
          const slab = new BinarySlab(size);
          for (const bytes of inputs) expectAgrees(bytes, l, 0, bytes.length, slab);
        }),
        { numRuns: 1000 },
      );
    });

    it('keeps every binary intact when its input is overwritten and later frames fill the slab', () => {
      fc.assert(
        fc.property(fc.array(simpleValue, { minLength: 1, maxLength: 12 }), slabBytes, (values, size) => {
          const slab = new BinarySlab(size);
          // Like a socket reading into one reused buffer: each input overwrites the one before.
          const readBuffer = Buffer.alloc(MAX_SIMPLE_FRAME_BYTES);
          const kept = values.map((value) => {
            const body = packr.pack(value);
            readBuffer.set(body);
            const decoded = decodeSimple(readBuffer, DEFAULTS, 0, body.length, slab);
            readBuffer.fill(0xee, 0, body.length);
            return decoded;
          });
          kept.forEach((decoded, i) => {
            expect(shape(decoded)).to.deep.equal(shape(packr.unpack(packr.pack(values[i]))));
            for (const binary of binariesOf(decoded)) {
              expect(binary.buffer).not.to.equal(readBuffer.buffer);
              expect(binary.buffer.byteLength).to.be.at.most(Math.max(size, binary.length));
            }
          });
        }),
        { numRuns: 500 },
      );
    });

    it('copies binaries from 65 bytes to an eighth of the slab into it, others into buffers of their own', () => {
      const slab = new BinarySlab(2048);
      const value = [
        new Uint8Array(64),
        new Uint8Array(65).fill(1),
        new Uint8Array(256).fill(2),
        new Uint8Array(257),
      ];
      const body = packr.pack(value);
      // Room after the frame, as in a socket read holding more frames: the slab takes its full size.
      const input = Buffer.concat([body, Buffer.alloc(4096, 0xee)]);
      const binaries = decodeSimple(input, DEFAULTS, 0, body.length, slab) as Uint8Array[];
      const [inHeap, smallest, eighth, large] = binaries as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
      for (const binary of binaries) expect(Buffer.isBuffer(binary), 'of the input kind').to.equal(true);
      expect([inHeap.byteOffset, inHeap.buffer.byteLength]).to.deep.equal([0, 64]);
      expect(smallest.buffer).to.equal(eighth.buffer);
      expect([smallest.byteOffset, eighth.byteOffset, smallest.buffer.byteLength]).to.deep.equal([
        0, 65, 2048,
      ]);
      expect([large.byteOffset, large.buffer.byteLength]).to.deep.equal([0, 257]);
      // The slab's unused tail is zeros: `.buffer` shows no stale memory.
      expect(new Uint8Array(smallest.buffer, 65 + 256).every((byte) => byte === 0)).to.equal(true);
    });

    it('makes a slab no larger than what is left of the input', () => {
      const slab = new BinarySlab(2048);
      const body = packr.pack([new Uint8Array(100).fill(1), new Uint8Array(100).fill(2)]);
      const [first, second] = decodeSimple(body, DEFAULTS, 0, body.length, slab) as Uint8Array[];
      expect(first!.buffer).to.equal(second!.buffer);
      // 100 bytes, the next binary's 2-byte header and its 100 bytes: the rest of the input.
      expect(first!.buffer.byteLength).to.equal(202);
      const [third] = decodeSimple(body, DEFAULTS, 0, body.length, slab) as Uint8Array[];
      expect(third!.buffer, 'the slab was full').not.to.equal(first!.buffer);
      const [fourth] = decodeSimple(
        Buffer.concat([body, Buffer.alloc(1000)]),
        DEFAULTS,
        0,
        body.length,
        slab,
      ) as Uint8Array[];
      // From its first binary (after 3 header bytes) to the end of the input, 1,000 bytes after it.
      expect(fourth!.buffer.byteLength).to.equal(body.length - 3 + 1000);
    });

    it('starts a new slab when a binary does not fit in what is left, whatever the input kinds', () => {
      const slab = new BinarySlab(8 * 65);
      const binary = (byte: number, kind: 'Buffer' | 'Uint8Array') => {
        const bytes = packr.pack(new Uint8Array(65).fill(byte));
        // Room after the frame, as in a socket read holding more frames.
        const read = Buffer.concat([bytes, Buffer.alloc(1000)]);
        const input = kind === 'Buffer' ? read : Uint8Array.from(read);
        return decodeSimple(input, DEFAULTS, 0, bytes.length, slab) as Uint8Array;
      };
      const kinds = [
        'Buffer',
        'Uint8Array',
        'Uint8Array',
        'Buffer',
        'Buffer',
        'Uint8Array',
        'Buffer',
        'Buffer',
      ] as const;
      const first = kinds.map((kind, i) => binary(i, kind));
      expect(new Set(first.map((b) => b.buffer)).size, '8 × 65 bytes fill one slab').to.equal(1);
      expect(
        first.map((b) => (Buffer.isBuffer(b) ? 'Buffer' : 'Uint8Array')),
        'each of its input kind',
      ).to.deep.equal(kinds);
      const ninth = binary(8, 'Buffer');
      expect(ninth.buffer).not.to.equal(first[0]!.buffer);
      expect(first.map((b) => [b[0], b[64]])).to.deep.equal(Array.from({ length: 8 }, (_, i) => [i, i]));
    });
  });
});
