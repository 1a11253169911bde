import { expect } from 'chai';
import fc from 'fast-check';
import { pushMetered, WebSocketMeter } from '../../lib/node/websocket-meter.js';

/** One WebSocket frame's bytes (RFC 6455 §5.2), masked as a client's, with a payload of `length`. */
function frame(length: number, { fin = true, opcode = 2 } = {}): Uint8Array {
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const header = new Uint8Array(2 + extended + 4);
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  for (let i = 0; i < extended; i++) header[2 + i] = Math.floor(length / 256 ** (extended - 1 - i)) % 256;
  const bytes = new Uint8Array(header.length + length);
  bytes.set(header);
  return bytes;
}

const join = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));

describe('WebSocketMeter', () => {
  it('counts the bytes of an unfinished message, short, 16-bit and 64-bit lengths alike', () => {
    for (const length of [0, 5, 125, 126, 300, 65_535, 65_536, 70_000]) {
      const bytes = frame(length);
      const meter = new WebSocketMeter();
      meter.push(bytes.subarray(0, bytes.length - 1));
      expect(meter.held, `payload ${length}`).to.equal(bytes.length - 1);
      expect(meter.rests).to.equal(0);
      meter.push(bytes.subarray(bytes.length - 1));
      expect({ held: meter.held, rests: meter.rests }, `payload ${length}`).to.deep.equal({
        held: 0,
        rests: 1,
      });
    }
  });

  it('a fragmented message is held through its continuation frames and a control frame inside it', () => {
    const meter = new WebSocketMeter();
    const first = frame(200, { fin: false });
    const ping = frame(3, { opcode: 9 });
    const last = frame(70_000, { fin: true, opcode: 0 });
    meter.push(join([first, ping]));
    expect(meter.held).to.equal(first.length + ping.length);
    expect(meter.rests).to.equal(0);
    meter.push(last);
    expect({ held: meter.held, rests: meter.rests }).to.deep.equal({ held: 0, rests: 1 });
  });

  it('property: any cut of a run of frames gives the same count as the bytes of the messages', () => {
    const lengths = fc.array(fc.constantFrom(0, 1, 125, 126, 1_000, 65_536), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(lengths, fc.array(fc.nat(), { maxLength: 6 }), (sizes, cuts) => {
        const bytes = join(sizes.map((size) => frame(size)));
        const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
        const meter = new WebSocketMeter();
        let from = 0;
        for (const point of [...points, bytes.length]) {
          meter.push(bytes.subarray(from, point));
          from = point;
        }
        expect({ held: meter.held, rests: meter.rests }).to.deep.equal({ held: 0, rests: sizes.length });
      }),
      { numRuns: 100 },
    );
  });

  describe('pushMetered (a meter only while a message is unfinished)', () => {
    it('a connection between messages keeps none; one inside a message keeps its own, which the others do not share', () => {
      const whole = frame(10);
      const torn = frame(300);
      const first = pushMetered(undefined, torn.subarray(0, 100));
      expect(first.held).to.equal(100);
      const other = pushMetered(undefined, whole);
      expect(other, 'the connection between messages reads with another meter').to.not.equal(first);
      expect(other.held).to.equal(0);
      expect(pushMetered(undefined, whole), 'shared while between messages').to.equal(other);
      expect(pushMetered(first, torn.subarray(100))).to.equal(first);
      expect(first.held).to.equal(0);
    });

    it('property: connections interleaved, each keeping the meter only while held > 0, count as with a meter each', () => {
      const stream = fc
        .tuple(
          fc.array(fc.constantFrom(0, 1, 125, 126, 1_000, 70_000), { minLength: 1, maxLength: 4 }),
          fc.array(fc.nat(), { maxLength: 5 }),
        )
        .map(([sizes, cuts]) => {
          const bytes = join(sizes.map((size) => frame(size, { fin: size !== 1 || sizes.length === 1 })));
          const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
          return [...points, bytes.length].map((point, i, all) => bytes.subarray(all[i - 1] ?? 0, point));
        });
      fc.assert(
        fc.property(
          fc.array(stream, { minLength: 2, maxLength: 4 }),
          fc.array(fc.nat()),
          (streams, order) => {
            const own = streams.map(() => new WebSocketMeter());
            const kept: (WebSocketMeter | undefined)[] = streams.map(() => undefined);
            const next = streams.map(() => 0);
            const pending = () => streams.map((_, i) => i).filter((i) => next[i]! < streams[i]!.length);
            for (let step = 0; pending().length > 0; step++) {
              const open = pending();
              const i = open[(order[step] ?? 0) % open.length]!;
              const chunk = streams[i]![next[i]!++]!;
              own[i]!.push(chunk);
              const meter = pushMetered(kept[i], chunk);
              expect(meter.held).to.equal(own[i]!.held);
              kept[i] = meter.held > 0 ? meter : undefined;
            }
            const live = kept.filter((meter) => meter !== undefined);
            expect(new Set(live).size, 'no two connections share a meter').to.equal(live.length);
          },
        ),
        { numRuns: 100 },
      );
    });
  });
});
