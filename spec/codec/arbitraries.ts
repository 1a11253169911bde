import { expect } from 'chai';
import fc from 'fast-check';

/**
 * Object keys a peer may use and that survive a round trip unchanged (`__proto__` is renamed to
 * `__proto_` on decode; msgpack.spec.ts covers that separately).
 */
const safeKey = fc.string({ maxLength: 10 }).filter((key) => key !== '__proto__');

/** Doubles of every kind, with -0 mapped to 0: msgpackr writes -0 as the integer 0. */
const double = fc.double().map((d) => (Object.is(d, -0) ? 0 : d));

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  double,
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ minLength: 250, maxLength: 300 }), // str 16
  fc.uint8Array({ maxLength: 40 }),
);

/**
 * Any value msgpackCodec round-trips exactly: null, undefined, booleans, integers, doubles
 * (including NaN and infinities), strings, Uint8Arrays, and arrays and plain objects of them.
 */
export const msgpackValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 6 },
    leaf,
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(safeKey, tie('value'), { maxKeys: 6, noNullPrototype: true }),
  ),
})).value;

/**
 * Like {@link msgpackValue}, with the other types msgpackCodec round-trips: valid Dates and
 * bigints in the 64-bit range.
 */
export const typedMsgpackValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 6 },
    leaf,
    fc.date({ noInvalidDate: true }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(safeKey, tie('value'), { maxKeys: 6, noNullPrototype: true }),
  ),
})).value;

/**
 * Records such as applications send, 2000 to a frame (up to 40 distinct ones, repeated): short
 * keys; numbers, strings, booleans, timestamps, binaries, pairs of small integers and short lists;
 * some of them nested.
 */
export const ordinaryRecords: fc.Arbitrary<unknown[]> = fc
  .array(
    fc.letrec<{ record: Record<string, unknown> }>((tie) => ({
      record: fc.dictionary(
        fc.string({ minLength: 1, maxLength: 12 }).filter((key) => key !== '__proto__'),
        fc.oneof(
          { depthSize: 'small', maxDepth: 2 },
          fc.integer(),
          fc.integer({ min: 0, max: 100 }),
          fc.double({ noNaN: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
          fc.string({ maxLength: 40 }),
          fc.boolean(),
          fc.constant(null),
          fc.date({ noInvalidDate: true }),
          fc.uint8Array({ minLength: 8, maxLength: 64 }),
          fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 })),
          fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 20 }),
          fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }),
          tie('record'),
        ),
        { minKeys: 1, maxKeys: 12, noNullPrototype: true },
      ),
    })).record,
    { minLength: 1, maxLength: 40 },
  )
  .map((records) => Array.from({ length: 2000 }, (_, i) => records[i % records.length]));

/** How a byte stream is cut into chunks. */
export type Chunking =
  | { readonly kind: 'whole' }
  | { readonly kind: 'bytewise' }
  | { readonly kind: 'cuts'; readonly at: readonly number[] };

/**
 * Everything in one chunk, one byte per chunk, or cuts at random points (given as fractions of the
 * length, so they fit any stream; equal cut points make empty chunks, which must be harmless).
 */
export const chunking: fc.Arbitrary<Chunking> = fc.oneof(
  fc.constant({ kind: 'whole' } as const),
  fc.constant({ kind: 'bytewise' } as const),
  fc
    .array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 })
    .map((at) => ({ kind: 'cuts', at }) as const),
);

/** Cuts `bytes` as `how` says. The chunks are views of one buffer, as a socket's reads may be. */
export function split(bytes: Uint8Array, how: Chunking): Uint8Array[] {
  if (how.kind === 'whole') return [bytes];
  if (how.kind === 'bytewise') return Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  const cuts = how.at.map((fraction) => Math.floor(fraction * bytes.length)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  return chunks;
}

/** `bytes` as a lowercase hex string, for readable assertions on encodings. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** A MessagePack fixstr (up to 31 bytes of UTF-8). */
export function fixstr(text: string): number[] {
  const utf8 = new TextEncoder().encode(text);
  if (utf8.length > 31) throw new RangeError('fixstr holds at most 31 bytes');
  return [0xa0 | utf8.length, ...utf8];
}

/** A frame as it travels: the 4-byte big-endian length, then the body. */
export function framed(body: Uint8Array | readonly number[]): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/** Joins byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Runs `fn` and returns what it threw; fails the test if it returned. */
export function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return expect.fail('expected a throw');
}

/** Integers at every boundary of MessagePack's integer formats, and between. */
const int32 = fc.oneof(
  fc.integer({ min: -0x80000000, max: 0xffffffff }),
  fc.constantFrom(
    -0x80000000,
    -0x8001,
    -0x8000,
    -0x81,
    -0x80,
    -0x21,
    -0x20,
    -1,
    0,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x10000,
    0xffffffff,
  ),
);

const simpleLeaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  int32,
  fc.string({ unit: 'binary-ascii', maxLength: 31 }),
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ minLength: 250, maxLength: 300 }), // bin 16 from 256
);

/**
 * Values the direct path takes: null, booleans, 32-bit integers, strings of fewer than 32 ASCII
 * characters, Uint8Arrays, arrays of them.
 */
export const simpleValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 6 }, simpleLeaf, fc.array(tie('value'), { maxLength: 20 })),
})).value;

/** Arrays nested `depth` deep around `inner`. */
export function nested(depth: number, inner: unknown = 1): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}
