// The server's RFC 6455 frames: the reader against frames a client would send, cut anywhere, and
// against every rule a server must check; the writer's headers.
import { expect } from 'chai';
import fc from 'fast-check';
import {
  closeFrame,
  headerBytes,
  serverFrame,
  WebSocketReader,
  type FrameSink,
  type FrameViolation,
} from '../../lib/node/websocket-frames.js';

interface FrameSpec {
  readonly opcode: number;
  readonly payload: Uint8Array;
  readonly fin?: boolean;
  readonly rsv?: number;
  readonly masked?: boolean;
  /** Announce this length instead of the payload's (the payload is then not sent whole). */
  readonly announce?: number;
  /** Use the 64-bit length form whatever the length. */
  readonly long?: boolean;
}

/** One frame as a client sends it: masked with a fixed key unless told otherwise. */
function clientFrame(spec: FrameSpec): Uint8Array {
  const { opcode, payload, fin = true, rsv = 0, masked = true } = spec;
  const length = spec.announce ?? payload.length;
  const extended = spec.long ? 8 : length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const key = [0x12, 0x34, 0x56, 0x78];
  const header = [
    (fin ? 0x80 : 0) | (rsv << 4) | opcode,
    (masked ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127),
  ];
  for (let i = extended - 1; i >= 0; i--) header.push(Math.floor(length / 256 ** i) % 256);
  if (masked) header.push(...key);
  const body = payload.map((byte, i) => (masked ? byte ^ key[i % 4]! : byte));
  return Uint8Array.from([...header, ...body]);
}

const binary = (payload: Uint8Array, fin = true) => clientFrame({ opcode: 2, payload, fin });
const continuation = (payload: Uint8Array, fin = true) => clientFrame({ opcode: 0, payload, fin });
const ping = (payload: Uint8Array) => clientFrame({ opcode: 9, payload });
const join = (parts: readonly Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));
const bytes = (...values: number[]) => Uint8Array.from(values);

type Heard =
  | { kind: 'message'; data: number[] }
  | { kind: 'ping'; data: number[] }
  | { kind: 'text' }
  | { kind: 'close'; code: number; reason: string }
  | { kind: 'violation'; violation: FrameViolation };

/** A sink that writes down what it heard; the data copied, as the reader may hand out views. */
function recorder(): FrameSink & { heard: Heard[] } {
  const heard: Heard[] = [];
  return {
    heard,
    message: (data) => void heard.push({ kind: 'message', data: [...data] }),
    ping: (data) => void heard.push({ kind: 'ping', data: [...data] }),
    text: () => void heard.push({ kind: 'text' }),
    closeFrame: (code, reason) => void heard.push({ kind: 'close', code, reason }),
    violation: (violation) => void heard.push({ kind: 'violation', violation }),
  };
}

/** Feeds `stream` cut at `cuts`; stops where the reader says reading stops. */
function read(stream: Uint8Array, cuts: readonly number[] = [], max = 1 << 20) {
  const reader = new WebSocketReader();
  const sink = recorder();
  const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  let reading = true;
  for (const to of [...points, stream.length]) {
    if (!reading) break;
    // A copy of each chunk, as a socket reads: the reader unmasks in place.
    reading = reader.push(stream.slice(from, to), sink, max);
    from = to;
  }
  return { reader, heard: sink.heard, reading };
}

const violationOf = (stream: Uint8Array, max?: number) => {
  const { heard, reading } = read(stream, [], max);
  expect(reading, 'reading stops').to.equal(false);
  const last = heard.at(-1);
  expect(last?.kind).to.equal('violation');
  return (last as { violation: FrameViolation }).violation;
};

describe('WebSocketReader', () => {
  it('reads binary messages whole, fragmented or not, with pings between and inside them, however the bytes are cut', () => {
    const payload = fc.uint8Array({ maxLength: 300 });
    const message = fc.array(payload, { minLength: 1, maxLength: 4 });
    const item = fc.oneof(
      message.map((parts) => ({ kind: 'message' as const, parts })),
      fc.uint8Array({ maxLength: 125 }).map((data) => ({ kind: 'ping' as const, data })),
    );
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.boolean(),
        (items, cuts, pingInside) => {
          const frames: Uint8Array[] = [];
          const expected: Heard[] = [];
          for (const entry of items) {
            if (entry.kind === 'ping') {
              frames.push(ping(entry.data));
              expected.push({ kind: 'ping', data: [...entry.data] });
              continue;
            }
            entry.parts.forEach((part, i) => {
              const fin = i === entry.parts.length - 1;
              frames.push(i === 0 ? binary(part, fin) : continuation(part, fin));
              if (pingInside && !fin) {
                frames.push(ping(bytes(i)));
                expected.push({ kind: 'ping', data: [i] });
              }
            });
            expected.push({ kind: 'message', data: entry.parts.flatMap((part) => [...part]) });
          }
          const { reader, heard, reading } = read(join(frames), cuts);
          expect(reading).to.equal(true);
          expect(heard).to.deep.equal(expected);
          expect(reader.held).to.equal(0);
          expect(reader.resting).to.equal(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts the bytes of an unfinished message through its fragments and a ping inside it; rests once it is whole', () => {
    for (const length of [0, 5, 125, 126, 300, 65_535, 65_536, 70_000]) {
      const frame = binary(new Uint8Array(length));
      const reader = new WebSocketReader();
      const sink = recorder();
      reader.push(frame.slice(0, frame.length - 1), sink, 1 << 20);
      expect({ held: reader.held, rests: reader.rests }, `payload ${length}`).to.deep.equal({
        held: frame.length - 1,
        rests: 0,
      });
      reader.push(frame.slice(frame.length - 1), sink, 1 << 20);
      expect({ held: reader.held, rests: reader.rests }, `payload ${length}`).to.deep.equal({
        held: 0,
        rests: 1,
      });
    }
    const first = binary(new Uint8Array(200), false);
    const inside = ping(bytes(1, 2, 3));
    const last = continuation(new Uint8Array(10));
    const reader = new WebSocketReader();
    const sink = recorder();
    reader.push(join([first, inside]), sink, 1 << 20);
    expect({ held: reader.held, rests: reader.rests, resting: reader.resting }).to.deep.equal({
      held: first.length + inside.length,
      rests: 0,
      resting: false,
    });
    reader.push(last.slice(), sink, 1 << 20);
    expect({ held: reader.held, rests: reader.rests }).to.deep.equal({ held: 0, rests: 1 });
    expect(sink.heard.map((heard) => heard.kind)).to.deep.equal(['ping', 'message']);
  });

  it('hands out a message read in one chunk as a view of it, unmasked in place', () => {
    const chunk = binary(bytes(1, 2, 3, 4, 5));
    const reader = new WebSocketReader();
    let seen: Uint8Array | undefined;
    reader.push(chunk, { ...recorder(), message: (data) => void (seen = data) }, 100);
    expect([...seen!]).to.deep.equal([1, 2, 3, 4, 5]);
    expect(seen!.buffer).to.equal(chunk.buffer);
  });

  it('reads close frames: none (1005), a code, a code and a UTF-8 reason; reading stops there', () => {
    const reason = 'bye ✓';
    const cases: [Uint8Array, number, string][] = [
      [new Uint8Array(0), 1005, ''],
      [bytes(0x03, 0xe8), 1000, ''],
      [Uint8Array.from([0x0f, 0xa0, ...new TextEncoder().encode(reason)]), 4000, reason],
      [bytes(0x0b, 0xb8), 3000, ''],
      [bytes(0x13, 0x87), 4999, ''],
    ];
    for (const [payload, code, text] of cases) {
      const stream = join([clientFrame({ opcode: 8, payload }), binary(bytes(9))]);
      const { heard, reading } = read(stream);
      expect(reading).to.equal(false);
      expect(heard).to.deep.equal([{ kind: 'close', code, reason: text }]);
    }
  });

  it('a text message is refused from its header, unread', () => {
    const { heard, reading } = read(
      join([clientFrame({ opcode: 1, payload: new TextEncoder().encode('hi') }), binary(bytes(1))]),
    );
    expect(reading).to.equal(false);
    expect(heard).to.deep.equal([{ kind: 'text' }]);
  });

  it('refuses every frame a server must refuse with 1002, and a close reason that is not UTF-8 with 1007', () => {
    const one = bytes(1);
    const cases: [string, Uint8Array, number][] = [
      ['RSV1', clientFrame({ opcode: 2, payload: one, rsv: 4 }), 1002],
      ['RSV3', clientFrame({ opcode: 2, payload: one, rsv: 1 }), 1002],
      ['unmasked', clientFrame({ opcode: 2, payload: one, masked: false }), 1002],
      ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map((opcode): [string, Uint8Array, number] => [
        `opcode ${opcode}`,
        clientFrame({ opcode, payload: one }),
        1002,
      ]),
      ['a fragmented ping', clientFrame({ opcode: 9, payload: one, fin: false }), 1002],
      ['a ping of 126 bytes', ping(new Uint8Array(126)), 1002],
      ['a continuation outside a message', continuation(one), 1002],
      ['a new message inside one', join([binary(one, false), binary(one)]), 1002],
      ['a close frame of 1 byte', clientFrame({ opcode: 8, payload: one }), 1002],
      ...[0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535].map((code): [string, Uint8Array, number] => [
        `close code ${code}`,
        clientFrame({ opcode: 8, payload: bytes(code >> 8, code & 0xff) }),
        1002,
      ]),
      [
        'a 64-bit length with its top bit set',
        clientFrame({ opcode: 2, payload: one, announce: 2 ** 63, long: true }),
        1002,
      ],
      [
        'a close reason that is not UTF-8',
        clientFrame({ opcode: 8, payload: bytes(0x03, 0xe8, 0xff) }),
        1007,
      ],
    ];
    for (const [what, stream, code] of cases) {
      expect(violationOf(stream).closeCode, what).to.equal(code);
    }
  });

  it('refuses a message over its limit with 1009 from the header, before any payload, fragmented or not', () => {
    const whole = violationOf(
      clientFrame({ opcode: 2, payload: new Uint8Array(0), announce: 2 ** 40, long: true }),
      1000,
    );
    expect(whole).to.include({ closeCode: 1009, size: 2 ** 40 });
    const fragments = violationOf(
      join([binary(new Uint8Array(600), false), continuation(new Uint8Array(401))]),
      1000,
    );
    expect(fragments).to.include({ closeCode: 1009, size: 1001 });
    const { heard } = read(binary(new Uint8Array(1000)), [], 1000);
    expect(heard).to.have.length(1);
  });

  it('never throws on arbitrary bytes, and says at most one thing that stops reading, last', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.nat(), { maxLength: 5 }), (stream, cuts) => {
        const { heard, reading } = read(stream, cuts, 256);
        const stops = heard.filter((item) => item.kind !== 'message' && item.kind !== 'ping');
        expect(stops.length).to.be.at.most(1);
        if (stops.length === 1) {
          expect(heard.at(-1)).to.equal(stops[0]);
          expect(reading).to.equal(false);
        } else expect(reading).to.equal(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('valid frames with a few bytes damaged: never throws, stops at most once and last, and what it read before is whole', () => {
    const message = fc.uint8Array({ maxLength: 200 }).map((payload) => binary(payload));
    const damage = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
      minLength: 1,
      maxLength: 3,
    });
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 6 }),
        damage,
        fc.array(fc.nat(), { maxLength: 6 }),
        (frames, flips, cuts) => {
          const stream = join(frames);
          for (const [at, bits] of flips) stream[at % stream.length]! ^= bits;
          const { heard, reading } = read(stream, cuts, 150);
          const stops = heard.filter((item) => item.kind !== 'message' && item.kind !== 'ping');
          expect(stops.length).to.be.at.most(1);
          if (stops.length === 1) expect([heard.at(-1), reading]).to.deep.equal([stops[0], false]);
          for (const item of heard) if (item.kind === 'message') expect(item.data.length).to.be.at.most(150);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('server frames', () => {
  it('carry the payload unmasked with FIN set, with a 2, 4 or 10 byte header', () => {
    for (const length of [0, 125, 126, 65_535, 65_536]) {
      const payload = new Uint8Array(length).fill(7);
      const frame = serverFrame(2, payload);
      const header = headerBytes(length);
      expect(header, `length ${length}`).to.equal(length < 126 ? 2 : length < 65_536 ? 4 : 10);
      expect(frame[0]).to.equal(0x82);
      expect(frame[1]! & 0x80, 'unmasked').to.equal(0);
      const announced =
        header === 2
          ? frame[1]!
          : header === 4
            ? (frame[2]! << 8) | frame[3]!
            : Number(frame.readBigUInt64BE(2));
      expect(announced).to.equal(length);
      expect(frame.length).to.equal(header + length);
      expect(frame.subarray(header).every((byte) => byte === 7)).to.equal(true);
    }
  });

  it('a close frame carries its code and reason, or nothing', () => {
    expect([...closeFrame(undefined)]).to.deep.equal([0x88, 0]);
    expect([...closeFrame(1001, 'ok')]).to.deep.equal([0x88, 4, 0x03, 0xe9, 0x6f, 0x6b]);
  });
});
