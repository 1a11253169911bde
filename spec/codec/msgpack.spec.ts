import { expect } from 'chai';
import fc from 'fast-check';
import { DecodeBudgetError, FrameDecoder, ProtocolError, msgpackCodec, type Codec } from 'rx-lifeline';
import {
  concat,
  fixstr,
  framed,
  hex,
  msgpackValue,
  ordinaryRecords,
  thrown,
  typedMsgpackValue,
} from './arbitraries.js';
import { directEncoderOf, slabDecoderOf } from '../../lib/codec/codec.js';

const codec = msgpackCodec();

/** Decodes hand-made bytes with the default codec. */
function decode(bytes: readonly number[] | Uint8Array, with_: Codec = codec): unknown {
  return with_.decode(Uint8Array.from(bytes));
}

/** Asserts that decoding `bytes` throws an Error whose message matches `message`. */
function expectRejected(bytes: readonly number[] | Uint8Array, message: RegExp): Error {
  const error = thrown(() => decode(bytes));
  expect(error).to.be.instanceOf(Error);
  expect((error as Error).message).to.match(message);
  return error as Error;
}

/**
 * Asserts that `value` is plain data: primitives (no functions or symbols), Uint8Arrays, Dates,
 * arrays, and objects whose prototype is Object.prototype with only string-keyed data properties.
 */
function expectPlainData(value: unknown, path = '$'): void {
  if (value === null || value === undefined) return;
  const type = typeof value;
  if (type === 'boolean' || type === 'number' || type === 'string' || type === 'bigint') return;
  expect(type, path).to.equal('object');
  const proto: unknown = Object.getPrototypeOf(value);
  if (value instanceof Uint8Array) {
    expect(
      proto === Uint8Array.prototype || proto === Buffer.prototype,
      `${path} is a plain Uint8Array`,
    ).to.equal(true);
    return;
  }
  if (value instanceof Date) {
    expect(proto, path).to.equal(Date.prototype);
    return;
  }
  if (Array.isArray(value)) {
    expect(proto, path).to.equal(Array.prototype);
    value.forEach((item, i) => expectPlainData(item, `${path}[${i}]`));
    return;
  }
  expect(proto, `${path} has Object.prototype`).to.equal(Object.prototype);
  for (const key of Reflect.ownKeys(value as object)) {
    expect(typeof key, `${path} key`).to.equal('string');
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    expect(descriptor, `${path}.${String(key)} is a data property`).to.have.property('value');
    expectPlainData(descriptor.value, `${path}.${String(key)}`);
  }
}

/**
 * Runs `fn` with `globalThis.Function` replaced by a spy (msgpackr compiles record readers with
 * `new Function`); returns what `fn` returned and how often the spy was called or constructed.
 */
function withFunctionSpy<R>(fn: () => R): [result: R, functionCalls: number] {
  const original = globalThis.Function;
  let calls = 0;
  globalThis.Function = new Proxy(original, {
    apply: (target, self, args: unknown[]) => {
      calls++;
      return Reflect.apply(target, self, args);
    },
    construct: (target, args: unknown[]) => {
      calls++;
      return Reflect.construct(target, args) as object;
    },
  });
  try {
    return [fn(), calls];
  } finally {
    globalThis.Function = original;
  }
}

const POLLUTED = [0x81, ...fixstr('polluted'), 0xc3]; // { polluted: true }

/**
 * The decoded size msgpackCodec estimates for `value` as msgpackr encodes it, worked out from the
 * value rather than its bytes (the codec's check reads only the bytes): 56 bytes for an object and
 * 56 more per key past the 4th, 48 for an array and 8 per element, 24 + 2 per UTF-8 byte for a
 * string of 2 bytes or more (keys too), 200 + length for a binary, 112 for a Date, 16 for a number
 * that is not a 32-bit integer, `int64` for a bigint.
 */
function estimatedSize(value: unknown, int64 = 24): number {
  const string = (text: string) => {
    const bytes = Buffer.byteLength(text, 'utf8');
    return bytes < 2 ? 0 : 24 + 2 * bytes;
  };
  if (value === null || value === undefined || typeof value === 'boolean') return 0;
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 ? 0 : 16;
  }
  if (typeof value === 'bigint') return int64;
  if (typeof value === 'string') return string(value);
  if (value instanceof Uint8Array) return 200 + value.length;
  if (value instanceof Date) return 112;
  if (Array.isArray(value)) {
    return value.reduce((sum: number, item) => sum + estimatedSize(item, int64), 48 + 8 * value.length);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.reduce(
    (sum, [key, item]) => sum + string(key) + estimatedSize(item, int64),
    56 + 56 * Math.max(0, entries.length - 4),
  );
}

/** An array 32 of `count` copies of `item`: the shape of the frames that inflate the most. */
function arrayOf(count: number, item: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(5 + count * item.length);
  bytes[0] = 0xdd;
  new DataView(bytes.buffer).setUint32(1, count);
  if (item.length === 1) bytes.fill(item[0]!, 5);
  else for (let i = 0; i < count; i++) bytes.set(item, 5 + i * item.length);
  return bytes;
}

describe('msgpackCodec', () => {
  it('has a direct encoder, and a slab decoder unless binarySlabBytes is 0; a codec of its parts has neither', () => {
    const codec = msgpackCodec();
    const out = new Uint8Array(16);
    const end = directEncoderOf(codec)!(['a', 1], out, 2);
    expect(hex(out.subarray(2, end))).to.equal(hex(codec.encode(['a', 1])));
    expect(slabDecoderOf(codec)).to.not.equal(undefined);
    expect(slabDecoderOf(msgpackCodec({ binarySlabBytes: 0 }))).to.equal(undefined);
    expect(directEncoderOf(msgpackCodec({ binarySlabBytes: 0 }))).to.not.equal(undefined);
    const parts: Codec<unknown> = { encode: codec.encode, decode: codec.decode };
    expect([directEncoderOf(parts), slabDecoderOf(parts)]).to.deep.equal([undefined, undefined]);
  });

  describe('round trips', () => {
    const values: [string, unknown][] = [
      ['null', null],
      ['undefined', undefined],
      ['booleans', [true, false]],
      [
        'small and boundary integers',
        [0, 1, 127, 128, 255, 256, 65535, 65536, -1, -32, -33, -128, -129, -32768],
      ],
      [
        '32-bit and larger integers',
        [2 ** 31 - 1, 2 ** 31, 2 ** 32, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1)],
      ],
      ['doubles', [0.5, -1.5, 1e300, -1e-300, Number.MIN_VALUE, Infinity, -Infinity, Number.NaN]],
      [
        'strings',
        ['', 'ascii', 'ünïcødé 🎉', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(300), 'x'.repeat(70_000)],
      ],
      ['binaries', [new Uint8Array(0), Uint8Array.of(0, 255), new Uint8Array(70_000).fill(7)]],
      ['nested structures', { a: { b: [1, { c: null, d: [[], {}] }] }, list: [[[1]]], '': 'empty key' }],
      ['objects with undefined values', { u: undefined, list: [undefined, 1] }],
      ['awkward keys', { constructor: 1, toString: 'x', hasOwnProperty: null, '0': 0, 'a.b': 2, '🎉': 3 }],
      [
        'an object with 65,535 keys',
        Object.fromEntries(Array.from({ length: 65_535 }, (_, i) => [`k${i}`, i])),
      ],
      ['dates', [new Date(0), new Date(1_700_000_000_123), new Date(-86_400_000), new Date(8.64e15)]],
    ];
    for (const [name, value] of values) {
      it(name, () => {
        expect(codec.decode(codec.encode(value))).to.deep.equal(value);
      });
    }

    it('any random value', () => {
      fc.assert(
        fc.property(msgpackValue, (value) => {
          expect(codec.decode(codec.encode(value))).to.deep.equal(value);
        }),
        { numRuns: 300 },
      );
    });

    it('refuses to encode an object of more than 65,535 keys, and keeps working', () => {
      // msgpackr writes objects as map 16 unless its slower variableMapSize option is on.
      const huge = Object.fromEntries(Array.from({ length: 65_536 }, (_, i) => [`k${i}`, i]));
      expect(() => codec.encode(huge)).to.throw(/too large/);
      expect(codec.decode(codec.encode({ after: 'that' }))).to.deep.equal({ after: 'that' });
      // Arrays and maps of any size decode: a peer may use map 32.
      const map32 = [0xdf, 0x00, 0x00, 0x00, 0x01, ...fixstr('k'), 0x01];
      expect(decode(map32)).to.deep.equal({ k: 1 });
    });

    it('an invalid date stays invalid', () => {
      const decoded = codec.decode(codec.encode(new Date(Number.NaN)));
      expect(decoded).to.be.instanceOf(Date);
      expect((decoded as Date).getTime()).to.be.NaN;
    });

    it('decodes what msgpackr writes for other types as plain data', () => {
      // Documented in msgpackCodec: these do not round-trip, but come back as plain data.
      const decoded = codec.decode(
        codec.encode({
          negativeZero: -0,
          map: new Map<unknown, unknown>([
            ['a', 1],
            [2, 'b'],
          ]),
          set: new Set([1, 2]),
          error: new TypeError('bad', { cause: 'why' }),
          regexp: /a+b/gi,
          int8: Int8Array.of(-1, 1),
          arrayBuffer: Uint8Array.of(1, 2).buffer,
          fn: () => 1,
        }),
      );
      expect(decoded).to.deep.equal({
        negativeZero: 0,
        map: { a: 1, '2': 'b' },
        set: [1, 2],
        error: ['TypeError', 'bad', 'why'],
        regexp: ['a+b', 'gi'],
        int8: Uint8Array.of(255, 1),
        arrayBuffer: Uint8Array.of(1, 2),
        fn: undefined,
      });
      expect(Object.is((decoded as { negativeZero: number }).negativeZero, 0)).to.equal(true);
      expectPlainData(decoded);
    });

    it('decodes binaries into their own memory, not views of the input', () => {
      const bytes = Uint8Array.from(codec.encode({ blob: Uint8Array.of(1, 2, 3) }));
      const decoded = codec.decode(bytes) as { blob: Uint8Array };
      bytes.fill(0);
      expect(Array.from(decoded.blob)).to.deep.equal([1, 2, 3]);
      expect(decoded.blob.buffer).not.to.equal(bytes.buffer);
    });
  });

  describe('64-bit integers', () => {
    const int64 = [0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]; // 2^63 - 1
    const uint64 = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]; // 2^64 - 1
    const minusOne = [0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

    it('decode as bigint by default, and bigints round-trip', () => {
      expect(decode(int64)).to.equal(2n ** 63n - 1n);
      expect(decode(uint64)).to.equal(2n ** 64n - 1n);
      expect(decode(minusOne)).to.equal(-1n);
      for (const value of [0n, 5n, -5n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 2n ** 64n - 1n]) {
        expect(codec.decode(codec.encode(value)), String(value)).to.equal(value);
      }
    });

    it('leave numbers as numbers: integers past 32 bits travel as doubles', () => {
      expect(hex(codec.encode(2 ** 40))).to.equal('cb4270000000000000');
      expect(codec.decode(codec.encode(2 ** 40))).to.equal(2 ** 40);
      expect(codec.decode(codec.encode(2 ** 32 - 1))).to.equal(2 ** 32 - 1);
    });

    it("decode as numbers with int64AsType 'number', losing precision past 2^53", () => {
      const numbers = msgpackCodec({ int64AsType: 'number' });
      expect(decode(minusOne, numbers)).to.equal(-1);
      expect(decode([0xd3, 0, 0, 0, 0, 0, 0, 0, 5], numbers)).to.equal(5);
      expect(decode(int64, numbers)).to.equal(2 ** 63);
      expect(numbers.decode(numbers.encode(2n ** 53n + 1n))).to.equal(2 ** 53);
    });

    it("decode as decimal strings with int64AsType 'string'", () => {
      const strings = msgpackCodec({ int64AsType: 'string' });
      expect(decode(int64, strings)).to.equal('9223372036854775807');
      expect(decode(uint64, strings)).to.equal('18446744073709551615');
      expect(decode(minusOne, strings)).to.equal('-1');
      // Smaller integers are numbers whatever the option.
      expect(decode([0xce, 0xff, 0xff, 0xff, 0xff], strings)).to.equal(2 ** 32 - 1);
    });

    it('refuse to encode bigints beyond 64 bits', () => {
      expect(() => codec.encode(2n ** 64n)).to.throw(/too large/);
      expect(() => codec.encode(-(2n ** 63n) - 1n)).to.throw();
    });
  });

  describe('hostile payloads', () => {
    it('a __proto__ key becomes an own __proto_ property and pollutes nothing', () => {
      const layouts: [string, number[]][] = [
        ['fixmap, fixstr key', [0x81, ...fixstr('__proto__'), ...POLLUTED]],
        ['map16', [0xde, 0x00, 0x01, ...fixstr('__proto__'), ...POLLUTED]],
        ['str8 key', [0x81, 0xd9, 0x09, ...fixstr('__proto__').slice(1), ...POLLUTED]],
        ['nested in an array', [0x91, 0x81, ...fixstr('__proto__'), ...POLLUTED]],
      ];
      for (const [layout, bytes] of layouts) {
        const decoded = decode(bytes);
        const object = (Array.isArray(decoded) ? decoded[0] : decoded) as Record<string, unknown>;
        expect(Object.getPrototypeOf(object), layout).to.equal(Object.prototype);
        expect(Object.keys(object), layout).to.deep.equal(['__proto_']);
        expect(object['__proto_'], layout).to.deep.equal({ polluted: true });
        expect(object['polluted'], layout).to.equal(undefined);
        expect(Object.prototype.hasOwnProperty.call(object, '__proto__'), layout).to.equal(false);
        expect(({} as Record<string, unknown>)['polluted'], layout).to.equal(undefined);
        expectPlainData(decoded, layout);
      }
    });

    it('a constructor key is an own data property holding the plain value', () => {
      for (const bytes of [
        [0x81, ...fixstr('constructor'), 0x81, ...fixstr('a'), 0x01],
        [0xde, 0x00, 0x01, ...fixstr('constructor'), 0x81, ...fixstr('a'), 0x01],
      ]) {
        const [decoded, functionCalls] = withFunctionSpy(() => decode(bytes) as { constructor: unknown });
        expect(functionCalls).to.equal(0);
        expect(Object.getOwnPropertyDescriptor(decoded, 'constructor')).to.deep.include({
          value: { a: 1 },
          enumerable: true,
          writable: true,
        });
        expect(decoded.constructor).to.deep.equal({ a: 1 });
        expect(Object.getPrototypeOf(decoded)).to.equal(Object.prototype);
        expect(({} as object).constructor).to.equal(Object);
        expectPlainData(decoded);
      }
    });

    describe('the error extension (0x65) is refused, whatever constructor it names', () => {
      // msgpackr looked the name up in a plain object, so besides the built-in Error types a peer
      // could reach Object.prototype: 'constructor' boxed a primitive through Object(),
      // 'valueOf' returned msgpackr's own table of Error constructors, '__lookupGetter__' a native
      // function. 'Function' gave an Error named 'Function'. Now no error extension is read.
      for (const name of ['Function', 'Error', 'TypeError', 'constructor', 'valueOf', '__lookupGetter__']) {
        it(name, () => {
          const payload = [0x93, ...fixstr(name), ...fixstr('__proto__'), 0xc0];
          for (const header of [
            [0xd4, 0x65, 0x00], // fixext 1, as msgpackr writes it
            [0xd5, 0x65, 0x00, 0x00], // fixext 2
            [0xc7, 0x01, 0x65, 0x00], // ext 8
          ]) {
            const [error, functionCalls] = withFunctionSpy(() =>
              thrown(() => decode([...header, ...payload])),
            );
            expect(functionCalls).to.equal(0);
            expect(error).to.be.instanceOf(Error);
            expect((error as Error).message).to.match(
              /Invalid MessagePack at byte 0: extension type 101 \(0x65\)/,
            );
          }
        });
      }
    });

    it('record definitions (0x72) are refused, so 0x40-0x7f stay plain integers', () => {
      const define = [0xd4, 0x72, 0x40, 0x92, ...fixstr('a'), ...fixstr('b'), 0x01, 0x02];
      // Used more than twice, msgpackr compiled a reader for the record with new Function().
      const reuse = [0x94, ...define, 0x40, 0x03, 0x04, 0x40, 0x05, 0x06, 0x40, 0x07, 0x08];
      const [, functionCalls] = withFunctionSpy(() => {
        expectRejected(define, /byte 0: extension type 114 \(0x72\)/);
        expectRejected(reuse, /byte 1: extension type 114 \(0x72\)/);
        expectRejected([0xd5, 0x72, 0x40, 0x00, 0x91, ...fixstr('a'), 0x01], /extension type 114/);
      });
      expect(functionCalls).to.equal(0);
      expect(decode([0x40])).to.equal(0x40);
      expect(decode([0x93, 0x40, 0x41, 0x7f])).to.deep.equal([0x40, 0x41, 0x7f]);
    });

    it('structured-clone references (0x69, 0x70) are refused', () => {
      expectRejected([0xd6, 0x69, 0x00, 0x00, 0x00, 0x01, 0x90], /extension type 105 \(0x69\)/);
      expectRejected([0x92, 0xd6, 0x70, 0x00, 0x00, 0x00, 0x01, 0xc0], /byte 1: extension type 112 \(0x70\)/);
    });

    it("msgpackr's other extensions are refused: sets, regexps, typed arrays, bigints, bundles", () => {
      expectRejected([0xd4, 0x73, 0x00, 0x91, 0x01], /extension type 115/); // Set
      expectRejected([0xd4, 0x78, 0x00, 0x92, ...fixstr('(a+)+$'), ...fixstr('')], /extension type 120/); // RegExp
      expectRejected([0xd5, 0x74, 0x00, 0x01], /extension type 116/); // Int8Array
      expectRejected([0xd4, 0x42, 0x05], /extension type 66/); // bigint
      expectRejected([0xd6, 0x62, 0x00, 0x00, 0x00, 0x09, ...fixstr('a')], /extension type 98/); // bundled strings
      expectRejected([0xd4, 0x01, 0x00], /extension type 1 /); // unknown
      expectRejected([0xd4, 0x80, 0x00], /extension type -128/); // reserved
    });

    it('accepts only the undefined and timestamp extensions msgpackr writes', () => {
      expect(decode([0xd4, 0x00, 0x00])).to.equal(undefined);
      expect(decode([0xd6, 0xff, 0x00, 0x00, 0x00, 0x01])).to.deep.equal(new Date(1000));
      expect(decode([0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 2])).to.deep.equal(new Date(2000));
      expect(decode([0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3])).to.deep.equal(new Date(3000));
      expectRejected([0xd5, 0x00, 0x00, 0x00], /extension type 0 \(0x00\) with 2 bytes/);
      expectRejected([0xd5, 0xff, 0x00, 0x00], /extension type -1 \(0xff\) with 2 bytes/);
      expectRejected([0xc7, 0x01, 0xff, 0x00], /extension type -1/);
    });

    it('0xc1 is refused, not decoded to a sentinel object', () => {
      expectRejected([0xc1], /byte 0: byte 0xc1 is never used/);
      expectRejected([0x92, 0x01, 0xc1], /byte 2: byte 0xc1/);
      expectRejected([0x81, 0xc1, 0x01], /byte 1: byte 0xc1/);
    });

    it('trailing bytes, truncations and impossible lengths are refused without allocating', () => {
      expectRejected([], /byte 0: the data ends inside a value/);
      expectRejected([0x01, 0x02], /byte 1: 1 byte of trailing data/);
      expectRejected([0xdd, 0xff, 0xff, 0xff, 0xff], /container of 4294967295 items is cut short/);
      expectRejected([0xdf, 0xff, 0xff, 0xff, 0xff], /container of 8589934590 items is cut short/);
      expectRejected([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61], /needs 4294967295 bytes/);
      expectRejected([0xc6, 0xff, 0xff, 0xff, 0xff], /needs 4294967295 bytes/);
      expectRejected([0xc9, 0xff, 0xff, 0xff, 0xff, 0xff], /4294967295 bytes/);
      expectRejected([0xcb, 0x00], /needs 8 bytes/);
      expectRejected([0xdc, 0x00], /ends inside a length/);
    });

    it('non-string map keys decode as strings; container keys are refused', () => {
      expect(decode([0x83, 0x01, 0xa1, 0x61, 0xc0, 0x02, 0xc3, 0x03])).to.deep.equal({
        '1': 'a',
        null: 2,
        true: 3,
      });
      expect(() => decode([0x81, 0x91, 0x01, 0x02])).to.throw(Error);
      expect(() => decode([0x81, 0x80, 0x02])).to.throw(Error);
    });

    describe('deep nesting', () => {
      const deep = (levels: number, open: readonly number[]) =>
        Uint8Array.from([...Array.from({ length: levels }, () => open).flat(), 0xc0]);

      it('100,000 levels of arrays throw a clear error, not a RangeError, and nothing crashes', () => {
        for (const open of [[0x91], [0x81, ...fixstr('k')], [0xdc, 0x00, 0x01]]) {
          const error = expectRejected(deep(100_000, open), /arrays and maps are nested more than 1000 deep/);
          expect(error).not.to.be.instanceOf(RangeError);
        }
        expect(decode([0x91, 0x91, 0x01])).to.deep.equal([[1]]);
      });

      it('deep nesting inside a map key is refused too', () => {
        expectRejected([0x81, ...deep(5000, [0x91]), 0x01], /nested more than 1000 deep/);
      });

      it('through a FrameDecoder, it is a ProtocolError naming the frame', () => {
        const good = framed(codec.encode('fine'));
        const decoder = new FrameDecoder({ codec });
        const got: unknown[] = [];
        const error = thrown(() =>
          decoder.push(concat(good, framed(deep(100_000, [0x91]))), (f) => got.push(f)),
        );
        expect(got).to.deep.equal(['fine']);
        expect(error).to.be.instanceOf(ProtocolError);
        expect((error as ProtocolError).offset).to.equal(good.length);
        expect((error as ProtocolError).cause)
          .to.be.instanceOf(Error)
          .and.not.instanceOf(RangeError);
      });

      it('the limit is exactly maxDepth levels, both ways', () => {
        let value: unknown = null;
        for (let i = 0; i < 1000; i++) value = [value];
        expect(codec.decode(codec.encode(value))).to.deep.equal(value);
        expect(decode(deep(1000, [0x91]))).to.deep.equal(value);
        expectRejected(deep(1001, [0x91]), /byte 1000: arrays and maps are nested more than 1000 deep/);
        expect(() => codec.encode([value])).to.throw(RangeError, /nested more than 1000 deep/);

        const shallow = msgpackCodec({ maxDepth: 2 });
        expect(shallow.decode(shallow.encode({ a: [1] }))).to.deep.equal({ a: [1] });
        expect(() => shallow.encode({ a: [[1]] })).to.throw(RangeError);
        expect(() => shallow.decode(codec.encode({ a: [[1]] }))).to.throw(/nested more than 2 deep/);
        for (const bad of [0, -1, 1.5, Number.NaN]) {
          expect(() => msgpackCodec({ maxDepth: bad }), String(bad)).to.throw(TypeError);
        }
      });
    });

    it('random bytes either throw an Error or decode to plain data, and pollute nothing', () => {
      const prototypes = [Object.prototype, Array.prototype, Function.prototype];
      const before = prototypes.map((proto) => Reflect.ownKeys(proto).length);
      const interesting = fc.constantFrom(
        ...[0x00, 0x40, 0x7f, 0x80, 0x81, 0x90, 0x91, 0xa1, 0xa9, 0xc0, 0xc1, 0xc4, 0xc7, 0xd4, 0xd5, 0xd6],
        ...[0xd7, 0xd8, 0xd9, 0xdc, 0xde, 0xdf, 0x42, 0x62, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0xff],
      );
      const bytes = fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc
          .array(fc.oneof(interesting, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 64 })
          .map((list) => Uint8Array.from(list)),
        // Valid encodings, each with one byte changed.
        fc
          .tuple(msgpackValue, fc.nat(), fc.oneof(interesting, fc.integer({ min: 0, max: 255 })))
          .map(([value, at, byte]) => {
            const encoded = Uint8Array.from(codec.encode(value));
            encoded[at % encoded.length] = byte;
            return encoded;
          }),
      );
      fc.assert(
        fc.property(bytes, (input) => {
          const [outcome, functionCalls] = withFunctionSpy(() => {
            try {
              return { decoded: codec.decode(input) };
            } catch (error) {
              return { error };
            }
          });
          expect(functionCalls, 'calls of Function').to.equal(0);
          if ('error' in outcome) expect(outcome.error).to.be.instanceOf(Error);
          else expectPlainData(outcome.decoded);
        }),
        { numRuns: 2000 },
      );
      expect(prototypes.map((proto) => Reflect.ownKeys(proto).length)).to.deep.equal(before);
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
    });
  });

  describe('decoded size', () => {
    it('a 16 MiB frame of empty maps is refused part-way, allocating none of its gigabyte', () => {
      // Before: msgpackr built 16 million objects, about 1 GiB, blocking the event loop for seconds.
      const body = arrayOf(16 * 1024 * 1024 - 5, [0x80]);
      const decoder = new FrameDecoder({ codec });
      const before = process.memoryUsage().heapUsed;
      const error = thrown(() => decoder.push(framed(body), () => expect.fail('no frame')));
      const grown = process.memoryUsage().heapUsed - before;
      // Decoding it whole would take about 1 GiB; the margin is for what the collector has not
      // reclaimed yet of earlier tests (9 MiB was seen once under load).
      expect(grown, 'heap growth').to.be.below(64 * 1024 * 1024);
      expect(error).to.be.instanceOf(ProtocolError);
      expect((error as ProtocolError).offset).to.equal(0);
      const cause = (error as ProtocolError).cause;
      expect(DecodeBudgetError.is(cause)).to.equal(true);
      const { budget, estimate, frameBytes, message } = cause as DecodeBudgetError;
      expect(frameBytes).to.equal(body.length);
      expect(budget).to.equal(32 * body.length);
      expect(estimate)
        .to.be.above(budget)
        .and.below(budget + 100);
      // It stopped where the estimate passed the budget: about 9 million maps in, not at the end.
      const stoppedAt = Number(/at byte (\d+)/.exec(message)?.[1]);
      expect(stoppedAt).to.be.within(5, body.length / 2);
      expect(message).to.contain(
        `would take more than ${estimate} bytes of memory; the budget is ${budget} (maxInflation 32`,
      );
    });

    it('other inflating shapes are refused too: empty arrays, binaries, dates, nested arrays', () => {
      for (const [name, item] of [
        ['empty arrays', [0x90]],
        ['empty binaries', [0xc4, 0x00]],
        ['one-byte binaries', [0xc4, 0x01, 0x07]],
        ['invalid dates', [0xd4, 0xff, 0x00]],
        ['arrays of one empty array', [0x91, 0x90]],
      ] as const) {
        const error = thrown(() => codec.decode(arrayOf(200_000, item)));
        expect(DecodeBudgetError.is(error), name).to.equal(true);
        expect(ProtocolError.is(error), name).to.equal(true);
      }
    });

    it('the budget is maxInflation × the frame size, and never less than minDecodeBudget', () => {
      // 100 empty maps in an array 16: 48 + 100 × (8 + 56) = 6448 estimated bytes, in 103 bytes.
      const bytes = Uint8Array.from([0xdc, 0x00, 100, ...Array.from({ length: 100 }, () => 0x80)]);
      const decodes = (options: Parameters<typeof msgpackCodec>[0]) => {
        try {
          return (msgpackCodec(options).decode(bytes) as unknown[]).length === 100;
        } catch (error) {
          expect(DecodeBudgetError.is(error)).to.equal(true);
          return false;
        }
      };
      expect(decodes({ maxInflation: 1, minDecodeBudget: 6448 })).to.equal(true);
      expect(decodes({ maxInflation: 1, minDecodeBudget: 6447 })).to.equal(false);
      expect(decodes({ maxInflation: 6448 / 103, minDecodeBudget: 0 })).to.equal(true);
      expect(decodes({ maxInflation: 6447 / 103, minDecodeBudget: 0 })).to.equal(false);
      expect(decodes({ maxInflation: Infinity, minDecodeBudget: 0 })).to.equal(true);
      // Under the defaults a frame this small is under the 1 MiB floor, whatever it holds.
      expect(decodes({})).to.equal(true);
      expect((codec.decode(arrayOf(5000, [0xc4, 0x00])) as unknown[]).length).to.equal(5000);
    });

    it('counts 64-bit integers by how they decode', () => {
      const int64s = arrayOf(1000, [0xd3, 0, 0, 0, 0, 0, 0, 0, 1]); // 9005 bytes
      // 48 + 1000 × (8 + 24 | 40 | 16) = 32 048 | 48 048 | 24 048
      const budgetFor = (int64AsType: 'bigint' | 'string' | 'number', minDecodeBudget: number) =>
        thrown(() => msgpackCodec({ int64AsType, maxInflation: 1, minDecodeBudget }).decode(int64s));
      expect(msgpackCodec({ maxInflation: 1, minDecodeBudget: 32_048 }).decode(int64s)).to.have.length(1000);
      expect(DecodeBudgetError.is(budgetFor('bigint', 32_047))).to.equal(true);
      expect(DecodeBudgetError.is(budgetFor('string', 48_047))).to.equal(true);
      expect(DecodeBudgetError.is(budgetFor('number', 24_047))).to.equal(true);
      const asNumbers = msgpackCodec({ int64AsType: 'number', maxInflation: 1, minDecodeBudget: 24_048 });
      expect(asNumbers.decode(int64s)).to.have.length(1000);
    });

    it('refuses exactly the frames whose estimated size is over their budget', () => {
      let refused = 0;
      let accepted = 0;
      fc.assert(
        fc.property(
          typedMsgpackValue,
          fc.double({ min: 0.25, max: 64, noNaN: true }),
          fc.nat({ max: 3000 }),
          fc.constantFrom('bigint', 'string', 'number') as fc.Arbitrary<'bigint' | 'string' | 'number'>,
          (value, maxInflation, minDecodeBudget, int64AsType) => {
            const budgeted = msgpackCodec({ maxInflation, minDecodeBudget, int64AsType });
            const bytes = budgeted.encode(value);
            const budget = Math.max(minDecodeBudget, maxInflation * bytes.length);
            const estimate = estimatedSize(value, { bigint: 24, string: 40, number: 16 }[int64AsType]);
            let outcome: unknown;
            try {
              budgeted.decode(bytes);
              outcome = 'decoded';
            } catch (error) {
              outcome = error;
            }
            if (estimate > budget) {
              refused++;
              expect(DecodeBudgetError.is(outcome), `estimate ${estimate} > budget ${budget}`).to.equal(true);
              const error = outcome as DecodeBudgetError;
              expect(error.budget).to.equal(budget);
              expect(error.frameBytes).to.equal(bytes.length);
              expect(error.estimate).to.be.above(budget).and.at.most(estimate);
            } else {
              accepted++;
              expect(outcome, `estimate ${estimate} ≤ budget ${budget}`).to.equal('decoded');
            }
          },
        ),
        { numRuns: 2000 },
      );
      expect(refused, 'frames refused').to.be.above(100);
      expect(accepted, 'frames accepted').to.be.above(100);
    });

    it('accepts ordinary data with the defaults, however large the frame', () => {
      fc.assert(
        fc.property(ordinaryRecords, (records) => {
          const bytes = codec.encode(records);
          expect(estimatedSize(records)).to.be.at.most(32 * bytes.length);
          // Round trips are checked above on smaller values; here, that it decodes at all.
          expect(codec.decode(bytes)).to.have.length(records.length);
        }),
        { numRuns: 20 },
      );
    });

    it('validates maxInflation, minDecodeBudget, int64AsType, maxDepth and binarySlabBytes', () => {
      for (const [options, message] of [
        [{ maxInflation: 0 }, 'msgpackCodec: maxInflation must be a number > 0, got 0'],
        [{ maxInflation: Number.NaN }, 'msgpackCodec: maxInflation must be a number > 0, got NaN'],
        [{ minDecodeBudget: -1 }, 'msgpackCodec: minDecodeBudget must be an integer ≥ 0, got -1'],
        [{ minDecodeBudget: 1.5 }, 'msgpackCodec: minDecodeBudget must be an integer ≥ 0, got 1.5'],
        [
          { int64AsType: 'float' },
          `msgpackCodec: int64AsType must be 'number', 'bigint' or 'string', got "float"`,
        ],
        [{ maxDepth: 0 }, 'msgpackCodec: maxDepth must be an integer ≥ 1 and ≤ 2147483647, got 0'],
        [
          { binarySlabBytes: -1 },
          'msgpackCodec: binarySlabBytes must be an integer ≥ 0 and ≤ 16777216, got -1',
        ],
        [
          { binarySlabBytes: 0.5 },
          'msgpackCodec: binarySlabBytes must be an integer ≥ 0 and ≤ 16777216, got 0.5',
        ],
        [
          { binarySlabBytes: Infinity },
          'msgpackCodec: binarySlabBytes must be an integer ≥ 0 and ≤ 16777216, got Infinity',
        ],
      ] as const) {
        expect(() => msgpackCodec(options as never), message).to.throw(TypeError, message);
      }
      // Describing a hostile option value does not throw.
      const hostile = { [Symbol.toPrimitive]: () => expect.fail('converted') };
      expect(() => msgpackCodec({ maxDepth: hostile as never })).to.throw(TypeError, /got an object/);
      expect(() => msgpackCodec({ maxInflation: 10n as never })).to.throw(TypeError, /got 10/);
    });
  });

  describe('encoding refuses what would not decode or would be wrong', () => {
    it('typed arrays with multi-byte elements and DataViews (msgpackr wrote stale buffer bytes)', () => {
      // Before: Float64Array.of(1) was written as a binary of 8 bytes, the first being 1 (the
      // element value) and the other 7 whatever msgpackr's reused output buffer held, which
      // includes earlier frames: here, part of the secret.
      codec.encode({ secret: 'hunter2-hunter2-hunter2' });
      for (const view of [
        Float64Array.of(1),
        Float32Array.of(1),
        Uint16Array.of(1),
        Int32Array.of(1),
        BigInt64Array.of(1n),
        new DataView(new ArrayBuffer(4)),
      ]) {
        expect(() => codec.encode({ nested: [view] }), view.constructor.name).to.throw(
          TypeError,
          /Uint8Array/,
        );
      }
      // The message names the type from the library's own list, never from the value's code.
      const tampered = Float64Array.of(1);
      Object.defineProperty(tampered, 'constructor', { get: () => expect.fail('constructor read') });
      expect(() => codec.encode(tampered)).to.throw(TypeError, /Cannot encode a Float64Array/);
      // The suggested replacement sends the exact bytes.
      const floats = Float64Array.of(1.5, -2);
      const bytes = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
      const decoded = codec.decode(codec.encode(bytes)) as Uint8Array;
      expect(Array.from(new Float64Array(Uint8Array.from(decoded).buffer))).to.deep.equal([1.5, -2]);
      // Byte-sized views are written faithfully.
      expect(codec.decode(codec.encode(Uint8ClampedArray.of(0, 255)))).to.deep.equal(Uint8Array.of(0, 255));
    });

    it('maps with object keys (no decoder could read them back)', () => {
      expect(() => codec.encode(new Map([[{}, 1]]))).to.throw(TypeError, /object key/);
      expect(() => codec.encode(new Map([[new Date(0), 1]]))).to.throw(TypeError);
      expect(codec.decode(codec.encode(new Map<unknown, number>([[null, 1]])))).to.deep.equal({ null: 1 });
    });

    it('cycles, with a clear error', () => {
      const cyclic: Record<string, unknown> = { name: 'loop' };
      cyclic['self'] = cyclic;
      expect(() => codec.encode(cyclic)).to.throw(
        RangeError,
        /nested more than 1000 deep \(or form a cycle\)/,
      );
      const list: unknown[] = [];
      list.push(new Map([['list', list]]));
      expect(() => codec.encode(list)).to.throw(RangeError, /cycle/);
    });

    it('a RegExp counts as a level (it is written as [source, flags]); a Date is a leaf', () => {
      const shallow = msgpackCodec({ maxDepth: 2 });
      // Before: encode took [[/a/g]] at maxDepth 2, then decode refused it as nested 3 deep.
      expect(() => shallow.encode([[/a/g]])).to.throw(RangeError, /nested more than 2 deep/);
      expect(shallow.decode(shallow.encode([/a/g]))).to.deep.equal([['a', 'g']]);
      // A timestamp or a binary at the last level is no container.
      expect(shallow.decode(shallow.encode([[new Date(0)]]))).to.deep.equal([[new Date(0)]]);
      expect(shallow.decode(shallow.encode([[new ArrayBuffer(2)]]))).to.deep.equal([[Uint8Array.of(0, 0)]]);
    });

    it('class instances: their fields, or what their toJSON returns, counted as a level', () => {
      class Point {
        constructor(
          readonly x: number,
          readonly y: number,
        ) {}
      }
      class Money {
        constructor(readonly cents: number) {}
        toJSON(): unknown {
          return [[`${this.cents / 100} EUR`]];
        }
      }
      expect(codec.decode(codec.encode({ p: new Point(1, 2) }))).to.deep.equal({ p: { x: 1, y: 2 } });
      expect(codec.decode(codec.encode([new Money(150)]))).to.deep.equal([[['1.5 EUR']]]);
      const shallow = msgpackCodec({ maxDepth: 2 });
      expect(() => shallow.encode([new Money(150)])).to.throw(RangeError, /nested more than 2 deep/);
    });

    it('what encode returns, decode accepts', () => {
      fc.assert(
        fc.property(msgpackValue, (value) => {
          expect(() => codec.decode(codec.encode(value))).not.to.throw();
        }),
      );
    });
  });
});
