import { expect } from 'chai';
import fc from 'fast-check';
import { codecPackr } from '../../lib/codec/codec.js';
import { DecodeBudgetError } from '../../lib/codec/errors.js';
import {
  checkMsgpack,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_INFLATION,
  DEFAULT_MIN_DECODE_BUDGET,
  type MsgpackLimits,
} from '../../lib/codec/msgpack-check.js';
import { typedMsgpackValue } from './arbitraries.js';
import { oldCheckMsgpack } from './msgpack-check-oracle.js';

// checkMsgpack was one function of 186 lines; it is now a walk of small functions. The old one,
// kept in msgpack-check-oracle.ts, is the oracle: on any bytes, any range of them and any limits,
// both accept, or both throw an error of the same class with the same message (and, over budget,
// the same figures). msgpackr is an oracle one way: what the checker accepts, msgpackr decodes,
// but for a map key that is an array or a map, which the checker leaves to msgpackr to refuse.

type Check = typeof checkMsgpack;

/** What `check` does with `bytes[start, end)`: accepts them, or the error it throws, described. */
function outcome(check: Check, bytes: Uint8Array, limits: MsgpackLimits, start: number, end: number) {
  try {
    check(bytes, limits, start, end);
    return 'accepted';
  } catch (error) {
    const { constructor, message } = error as Error;
    if (!(error instanceof DecodeBudgetError)) return { constructor, message };
    const { frameBytes, estimate, budget } = error;
    return { constructor, message, frameBytes, estimate, budget };
  }
}

const packrs = { bigint: codecPackr('bigint'), string: codecPackr('string'), number: codecPackr('number') };

/** Asserts that both checkers treat `bytes[start, end)` alike, and that msgpackr decodes what they accept. */
function expectSame(bytes: Uint8Array, limits: MsgpackLimits, start = 0, end = bytes.length): void {
  const expected = outcome(oldCheckMsgpack, bytes, limits, start, end);
  expect(outcome(checkMsgpack, bytes, limits, start, end)).to.deep.equal(expected);
  if (expected !== 'accepted') return;
  try {
    packrs[limits.int64AsType].unpack(bytes, { start, end });
  } catch (error) {
    expect((error as Error).message).to.match(/^Invalid property type for record: object\./);
  }
}

const DEFAULTS: MsgpackLimits = {
  maxDepth: DEFAULT_MAX_DEPTH,
  maxInflation: DEFAULT_MAX_INFLATION,
  minDecodeBudget: DEFAULT_MIN_DECODE_BUDGET,
  int64AsType: 'bigint',
};

/** Limits from tiny to the defaults, so the depth limit and the budget bite. */
const limits: fc.Arbitrary<MsgpackLimits> = fc.record({
  maxDepth: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(DEFAULT_MAX_DEPTH)),
  maxInflation: fc.oneof(fc.constantFrom(0, 0.5, 1, 4, 24), fc.constant(DEFAULT_MAX_INFLATION)),
  minDecodeBudget: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constant(DEFAULT_MIN_DECODE_BUDGET)),
  int64AsType: fc.constantFrom('bigint', 'string', 'number'),
});

/** Values msgpackr writes with every form of length: str and bin 8/16, array and map 16, ext 8. */
const wideValue = fc.oneof(
  typedMsgpackValue,
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.double()), { minLength: 14, maxLength: 40 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer({ min: -200, max: 200 }), {
    minKeys: 3,
    maxKeys: 40,
  }),
  fc.constantFrom(undefined, new Date(Number.NaN), new Date(1.5), new Date(2 ** 40), 2 ** 31, 2 ** 32 + 1),
);

/** A value's bytes with one to three of: a cut, a byte appended, inserted, removed or changed. */
const mutated = fc
  .tuple(
    wideValue,
    fc.array(fc.tuple(fc.constantFrom('cut', 'append', 'insert', 'remove', 'set'), fc.nat(), fc.nat(255)), {
      minLength: 1,
      maxLength: 3,
    }),
  )
  .map(([value, changes]) => {
    let bytes = [...packrs.bigint.pack(value)];
    for (const [how, at, byte] of changes) {
      const i = at % (bytes.length + 1);
      if (how === 'cut') bytes = bytes.slice(0, i);
      else if (how === 'append') bytes.push(byte);
      else if (how === 'insert') bytes.splice(i, 0, byte);
      else if (how === 'remove') bytes.splice(i, 1);
      else if (i < bytes.length) bytes[i] = byte;
    }
    return Uint8Array.from(bytes);
  });

/** Every type byte, fix forms, both accepted extension types and lengths' likely bytes, in any order. */
const tokens = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0xc0, max: 0xdf }),
      fc.constantFrom(0x00, 0x01, 0x04, 0x08, 0x0c, 0x7f, 0x80, 0x81, 0x85, 0x8f, 0x90, 0x91, 0x9f),
      fc.constantFrom(0xa0, 0xa1, 0xa2, 0xbf, 0xe0, 0xff, 0xfe),
      fc.nat(255),
    ),
    { maxLength: 48 },
  )
  .map((bytes) => Uint8Array.from(bytes));

/** Extensions of every form and a length the checker may or may not take, of type 0, -1 or another. */
const extensions = fc
  .tuple(
    fc.integer({ min: 0xc7, max: 0xc9 }),
    fc.constantFrom(0, 1, 2, 4, 8, 12, 16),
    fc.oneof(fc.constantFrom(0x00, 0xff), fc.nat(255)),
    fc.uint8Array({ maxLength: 18 }),
  )
  .chain(([token, length, type, data]) =>
    fc.constantFrom(
      [token, ...new Array<number>(1 << (token - 0xc7)).fill(0).slice(1), length, type, ...data],
      [0xd4 + Math.min(4, Math.max(0, Math.log2(length) | 0)), type, ...data],
    ),
  )
  .map((bytes) => Uint8Array.from(bytes));

const input = fc.oneof(
  wideValue.map((value) => packrs.bigint.pack(value)),
  mutated,
  tokens,
  extensions,
  fc.uint8Array({ maxLength: 64 }),
);

describe('checkMsgpack, split into small functions', () => {
  it('treats every input of up to 2 bytes as the one-function checker did', () => {
    const one = new Uint8Array(1);
    const two = new Uint8Array(2);
    for (let first = 0; first < 256; first++) {
      one[0] = first;
      expectSame(one, DEFAULTS);
      two[0] = first;
      for (let second = 0; second < 256; second++) {
        two[1] = second;
        expectSame(two, DEFAULTS);
      }
    }
  });

  it('treats values, mutated values, token soups and random bytes as the one-function checker did', () => {
    fc.assert(
      fc.property(input, limits, (bytes, l) => expectSame(bytes, l)),
      { numRuns: 5000 },
    );
  });

  it('and so within a larger buffer: the same positions, counted from the start of the range', () => {
    const around = fc.uint8Array({ maxLength: 6 });
    fc.assert(
      fc.property(around, input, around, fc.nat(3), limits, (before, bytes, after, shorter, l) => {
        const buffer = Uint8Array.from([...before, ...bytes, ...after]);
        const end = Math.max(before.length, before.length + bytes.length - shorter);
        expectSame(buffer, l, before.length, end);
      }),
      { numRuns: 3000 },
    );
  });

  it('counts a uint 32 from 2^31 on as a number outside the slot, and none below: at the edge of a budget', () => {
    // An array of one item takes 56; a budget of 71 leaves room for no 16-byte number.
    const edge: MsgpackLimits = { ...DEFAULTS, maxInflation: 0, minDecodeBudget: 71 };
    const uint32 = (first: number) => Uint8Array.of(0x91, 0xce, first, 0, 0, 0);
    for (const first of [0x00, 0x7f, 0x80, 0xff]) expectSame(uint32(first), edge);
    expect(outcome(checkMsgpack, uint32(0x7f), edge, 0, 6)).to.equal('accepted');
    expect(outcome(checkMsgpack, uint32(0x80), edge, 0, 6)).to.include({
      constructor: DecodeBudgetError,
      estimate: 72,
    });
  });

  it('refuses nesting and budgets at exactly the same byte on long inputs', () => {
    const deep = fc.tuple(fc.integer({ min: 1, max: 1200 }), fc.constantFrom(0x91, 0x81, 0xdc, 0xde));
    fc.assert(
      fc.property(deep, fc.constantFrom(0xc0, 0x90, 0x80, 0xcb), limits, ([depth, opener], leaf, l) => {
        const level = opener === 0x81 ? [0x81, 0xa1, 0x6b] : opener === 0x91 ? [0x91] : [opener, 0, 1];
        const withKey = opener === 0xde ? [...level, 0xa1, 0x6b] : level;
        const bytes = [...Array.from({ length: depth }, () => withKey).flat(), leaf];
        if (leaf === 0xcb) bytes.push(...new Array<number>(8).fill(0x40));
        expectSame(Uint8Array.from(bytes), { ...l, maxDepth: Math.max(l.maxDepth, 1000) });
      }),
      { numRuns: 300 },
    );
  });

  it("estimates each kind at the figures measured for it: a budget of 0 refuses at the first value's cost", () => {
    const none: MsgpackLimits = { ...DEFAULTS, maxInflation: 0, minDecodeBudget: 0 };
    const map5 = [0x85, ...[1, 2, 3, 4, 5].flatMap((key) => [key, 0])];
    const cases: [string, number[], number][] = [
      ['a string of 10 bytes: 24 and 2 a byte', [0xaa, ...new Array<number>(10).fill(0x61)], 44],
      ['a binary of 10 bytes: 200 and its bytes', [0xc4, 10, ...new Array<number>(10).fill(0)], 210],
      ['a map of 5 keys: 56, and 56 for the 5th', map5, 112],
      ['a timestamp: a Date of 112', [0xd6, 0xff, 0, 0, 0, 0], 112],
    ];
    for (const [what, bytes, estimate] of cases) {
      expect(outcome(checkMsgpack, Uint8Array.from(bytes), none, 0, bytes.length), what).to.include({
        constructor: DecodeBudgetError,
        estimate,
      });
    }
  });
});
