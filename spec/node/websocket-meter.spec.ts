import { expect } from 'chai';
import fc from 'fast-check';
import { WebSocketMeter } from '../../lib/node/websocket-meter.js';

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
});
