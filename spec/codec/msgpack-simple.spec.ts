import { expect } from 'chai';
import fc from 'fast-check';
import { codecPackr } from '../../lib/codec/codec.js';
import { msgpackCodec } from 'rx-lifeline';
import { encodeSimple, MAX_SIMPLE_DEPTH } from '../../lib/codec/msgpack-simple.js';
import { nested, simpleValue } from './arbitraries.js';

// msgpackr as msgpackCodec configures it: the path simple values skip must give the same bytes.
const packr = codecPackr();

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('msgpack simple values (the direct encoding path of msgpackCodec)', () => {
  it('writes the bytes msgpackr writes', () => {
    fc.assert(
      fc.property(simpleValue, (value) => {
        const bytes = encodeSimple(value, 1000);
        expect(bytes, 'simple').to.be.instanceOf(Uint8Array);
        expect(hex(bytes!)).to.equal(hex(packr.pack(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('hands out bytes that later encodings leave unchanged', () => {
    fc.assert(
      fc.property(fc.array(simpleValue, { minLength: 1, maxLength: 200 }), (values) => {
        const encoded = values.map((value) => encodeSimple(value, 1000)!);
        values.forEach((value, i) => expect(hex(encoded[i]!)).to.equal(hex(packr.pack(value))));
      }),
      { numRuns: 50 },
    );
  });

  it("writes Node Buffers (what a socket's frames decode to) as msgpackr does", () => {
    const buffers = fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes));
    fc.assert(
      fc.property(buffers, fc.nat(0xffff), (buffer, seq) => {
        for (const value of [buffer, [0, [0, seq, [0, buffer]]]]) {
          const bytes = encodeSimple(value, 1000);
          expect(bytes, 'simple').to.be.instanceOf(Uint8Array);
          expect(hex(bytes!)).to.equal(hex(packr.pack(value)));
        }
      }),
      { numRuns: 200 },
    );
    const decoded = msgpackCodec().decode(Buffer.from(packr.pack([7, Buffer.from([1, 2])])));
    expect(Buffer.isBuffer((decoded as unknown[])[1]), 'decoded from a Buffer').to.equal(true);
    expect(hex(encodeSimple(decoded, 1000)!)).to.equal('9207c4020102');
  });

  it('writes arrays and binaries of 16-bit and 32-bit lengths as msgpackr does', () => {
    for (const value of [new Array<number>(0x10000).fill(1), new Uint8Array(0x10000).fill(2)]) {
      expect(hex(encodeSimple(value, 1000)!)).to.equal(hex(packr.pack(value)));
    }
  });

  it('leaves every other value to msgpackr', () => {
    const others: unknown[] = [
      undefined,
      'x'.repeat(32), // str 8
      'é', // not ASCII: msgpackr's UTF-8
      '\u{1F600}',
      ['ok', 'naïve'],
      1.5,
      -0x80000001,
      0x100000000,
      2n,
      {},
      [1, 'é'],
      [1, {}],
      // eslint-disable-next-line no-sparse-arrays
      [1, , 3],
      new Int8Array(2),
      new Date(0),
      Object.assign([1], { constructor: Object }), // msgpackr writes a map
      Object.assign(new Uint8Array(1), { constructor: Object }),
      new (class extends Uint8Array {})(2),
      Object.assign(Buffer.from([1]), { constructor: Object }),
      // msgpackr writes what a binary's own toJSON returns (here a string)
      Object.assign(new Uint8Array(1), { toJSON: () => 'own' }),
      Object.assign(Buffer.from([1]), { toJSON: () => 'own' }),
      new (class extends Array<number> {})(),
    ];
    for (const value of others) expect(encodeSimple(value, 1000), String(value)).to.equal(undefined);
  });

  it('leaves arrays deeper than maxDepth or MAX_SIMPLE_DEPTH to msgpackr', () => {
    expect(encodeSimple(nested(3), 3)).to.be.instanceOf(Uint8Array);
    expect(encodeSimple(nested(4), 3)).to.equal(undefined);
    expect(encodeSimple(nested(MAX_SIMPLE_DEPTH), 1000)).to.be.instanceOf(Uint8Array);
    expect(encodeSimple(nested(MAX_SIMPLE_DEPTH + 1), 1000)).to.equal(undefined);
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expect(encodeSimple(cycle, 1000)).to.equal(undefined);
  });

  it('leaves an array whose elements change when it is written again to msgpackr', () => {
    // Too large for the slab's rest: written a second time, in a buffer of the first one's size.
    let reads = 0;
    const shifty: unknown[] = [1];
    Object.defineProperty(shifty, 0, { get: () => (++reads === 1 ? new Uint8Array(20_000) : 1) });
    expect(encodeSimple(shifty, 1000)).to.equal(undefined);
    expect(reads).to.equal(2);
  });

  it('writes values that do not fit the rest of the slab whole', () => {
    const values = Array.from({ length: 100 }, (_, i) => [i, new Uint8Array(1000 + i).fill(i)]);
    const encoded = values.map((value) => encodeSimple(value, 1000)!);
    values.forEach((value, i) => expect(hex(encoded[i]!)).to.equal(hex(packr.pack(value))));
  });

  it('is what msgpackCodec uses: the checks stand around it', () => {
    const codec = msgpackCodec({ maxDepth: 2 });
    expect(() => codec.encode(nested(3))).to.throw(RangeError, /nested more than 2 deep/);
    expect(codec.decode(codec.encode([0, [1, new Uint8Array([9])]]))).to.deep.equal([
      0,
      [1, new Uint8Array([9])],
    ]);
  });
});
