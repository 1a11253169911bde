import { expect } from 'chai';
import fc from 'fast-check';
import { runInNewContext } from 'node:vm';
import {
  encodeFrames,
  EncodeError,
  LinkClosedError,
  msgpackCodec,
  SendBufferFullError,
  type Codec,
} from 'rx-lifeline';
import { LinkWriter, writerSettings, type ByteSink } from '../../lib/transports/link-writer.js';
import { msgpackValue, simpleValue } from '../codec/arbitraries.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** A writer over a sink that keeps each batch and confirms it at once; `flush()` runs its tick. */
function writerOf(
  codec: Codec<unknown>,
  limits = { maxFrameBytes: 1 << 20, highWaterMark: 1 << 20, maxBufferedBytes: 4 << 20 },
) {
  const batches: Uint8Array[] = [];
  const ticks: (() => void)[] = [];
  const sink: ByteSink = {
    write: (batch, done) => {
      batches.push(batch);
      done();
    },
    end: () => undefined,
  };
  const writer = new LinkWriter<unknown>(
    writerSettings(codec, limits, (flush) => ticks.push(flush)),
    sink,
    { transport: 'memory', remote: 'b', local: 'a' },
  );
  const flush = () => ticks.splice(0).forEach((run) => run());
  return { writer, batches, flush };
}

/** msgpackCodec without its direct encoder: what any other codec gets (encode, then a copy). */
const plainCodec = (): Codec<unknown> => {
  const codec = msgpackCodec();
  return { encode: (value) => codec.encode(value), decode: (bytes) => codec.decode(bytes) };
};

const frames = fc.array(
  fc.oneof(simpleValue, msgpackValue, fc.uint8Array({ minLength: 200, maxLength: 3000 })),
  {
    minLength: 1,
    maxLength: 40,
  },
);

describe('LinkWriter batches', () => {
  for (const [name, codecOf] of [
    ['msgpackCodec (frames written straight into the batch)', () => msgpackCodec()],
    ['a codec without a direct encoder (frames copied in)', plainCodec],
  ] as const) {
    it(`${name}: a tick's frames leave as one batch, the bytes encodeFrames gives`, () => {
      fc.assert(
        fc.property(frames, (values) => {
          const codec = codecOf();
          const { writer, batches, flush } = writerOf(codec);
          for (const value of values) writer.send(value);
          expect(writer.bufferedBytes).to.equal(encodeFrames(codec, values).length);
          flush();
          expect(batches.length).to.equal(1);
          expect(hex(batches[0]!)).to.equal(hex(encodeFrames(msgpackCodec(), values)));
          expect(writer.writeReport()).to.deep.include({ lastFrame: 'whole', framesLeft: values.length });
        }),
        { numRuns: 200 },
      );
    });
  }

  it('a batch handed to the sink is never written again: later frames go into a new buffer', () => {
    const { writer, batches, flush } = writerOf(msgpackCodec());
    writer.send(Uint8Array.of(1, 2, 3));
    flush();
    const first = hex(batches[0]!);
    for (let i = 0; i < 100; i++) writer.send(new Uint8Array(100).fill(i));
    flush();
    expect(hex(batches[0]!)).to.equal(first);
    expect(batches[1]!.buffer).not.to.equal(batches[0]!.buffer);
  });

  it('a sink that releases its batches at done gets their buffers again, never one it still holds', () => {
    const codec = msgpackCodec();
    const held: { batch: Uint8Array; copy: string; done: () => void }[] = [];
    const ticks: (() => void)[] = [];
    const limits = { maxFrameBytes: 1 << 20, highWaterMark: 1 << 20, maxBufferedBytes: 4 << 20 };
    const writer = new LinkWriter<unknown>(
      writerSettings(codec, limits, (flush) => ticks.push(flush)),
      {
        write: (batch, done) => void held.push({ batch, copy: hex(batch), done }),
        end: () => undefined,
        releasesOnDone: true,
      },
      { transport: 'tcp', remote: 'b', local: 'a' },
    );
    const tick = (n: number, fill: number) => {
      for (let i = 0; i < n; i++) writer.send(new Uint8Array(500).fill(fill));
      ticks.splice(0).forEach((run) => run());
    };
    tick(10, 1);
    // Not confirmed yet: the next batch waits (one write in flight); confirmed, it goes out.
    tick(10, 2);
    expect(held.length).to.equal(1);
    held[0]!.done();
    expect(held.length).to.equal(2);
    expect(held[1]!.batch.buffer, 'a batch still held is never reused').not.to.equal(held[0]!.batch.buffer);
    // The third batch goes into a released buffer, never into the second, still held.
    tick(5, 3);
    held[1]!.done();
    expect(held.length).to.equal(3);
    expect(held[2]!.batch.buffer).not.to.equal(held[1]!.batch.buffer);
    expect(hex(held[1]!.batch)).to.equal(held[1]!.copy);
    const frames = (n: number, fill: number) =>
      Array.from({ length: n }, () => new Uint8Array(500).fill(fill));
    // Each batch as the sink got it (the first one's buffer was written again once released).
    expect(held.map((h) => h.copy)).to.deep.equal(
      [frames(10, 1), frames(10, 2), frames(5, 3)].map((f) => hex(encodeFrames(codec, f))),
    );
    // Confirmed at once, tick after tick: a few buffers serve them all.
    for (let i = 0; i < 20; i++) {
      held.at(-1)!.done();
      tick(10, i);
      expect(hex(held.at(-1)!.batch)).to.equal(hex(encodeFrames(codec, frames(10, i))));
    }
    expect(new Set(held.slice(-20).map((h) => h.batch.buffer)).size).to.be.at.most(3);
  });

  it('a frame refused (too large, queue full, not encodable) leaves the queued frames as they were', () => {
    const codec = msgpackCodec();
    const { writer, batches, flush } = writerOf(codec, {
      maxFrameBytes: 1000,
      highWaterMark: 1000,
      maxBufferedBytes: 3000,
    });
    const kept = [Uint8Array.of(1), [2, 'two'], Uint8Array.of(3)];
    writer.send(kept[0]);
    expect(() => writer.send(new Uint8Array(2000))).to.throw(EncodeError, /1 to 1000 bytes/);
    expect(() => writer.send(['x'.repeat(2000)])).to.throw(EncodeError, /1 to 1000 bytes/);
    expect(() => writer.send(new Float32Array(2))).to.throw(EncodeError);
    writer.send(kept[1]);
    for (let i = 0; i < 3; i++) writer.send(new Uint8Array(900));
    expect(() => writer.send(new Uint8Array(900))).to.throw(SendBufferFullError);
    writer.send(kept[2]);
    flush();
    const sent = [kept[0], kept[1], ...Array.from({ length: 3 }, () => new Uint8Array(900)), kept[2]];
    expect(hex(batches[0]!)).to.equal(hex(encodeFrames(codec, sent)));
  });

  it('takes a frame of exactly maxFrameBytes and a queue of exactly maxBufferedBytes; send() is false once it reaches highWaterMark', () => {
    // Bytes as they are: a body is exactly the frame's bytes, its frame 4 more.
    const raw: Codec<unknown> = { encode: (value) => value as Uint8Array, decode: (bytes) => bytes };
    const { writer } = writerOf(raw, { maxFrameBytes: 100, highWaterMark: 150, maxBufferedBytes: 208 });
    expect(() => writer.send(new Uint8Array(101))).to.throw(EncodeError, /1 to 100 bytes/);
    expect(writer.send(new Uint8Array(100))).to.equal(true); // 104 bytes queued
    expect(writer.send(new Uint8Array(41))).to.equal(true); // 149: one below the mark
    expect(writer.send(Uint8Array.of(1))).to.equal(false); // 154
    expect(writer.bufferedBytes).to.equal(154);
    expect(() => writer.send(new Uint8Array(51))).to.throw(SendBufferFullError); // 209 > 208
    expect(writer.send(new Uint8Array(50))).to.equal(false); // 208: exactly the cap
    expect(writer.bufferedBytes).to.equal(208);
  });

  it('a frame refused for a full queue below highWaterMark is followed by drain$ once the queue has gone out', () => {
    const raw: Codec<unknown> = { encode: (value) => value as Uint8Array, decode: (bytes) => bytes };
    const { writer, flush } = writerOf(raw, {
      maxFrameBytes: 100,
      highWaterMark: 100,
      maxBufferedBytes: 110,
    });
    let drains = 0;
    writer.drain$.subscribe(() => drains++);
    expect(writer.send(new Uint8Array(10))).to.equal(true); // 14 queued: below the mark
    expect(() => writer.send(new Uint8Array(100))).to.throw(SendBufferFullError); // 118 > 110
    expect(drains).to.equal(0);
    flush(); // the 14 bytes go out and are confirmed: the refused sender may try again
    expect(drains).to.equal(1);
    expect(writer.send(new Uint8Array(100))).to.equal(false); // 104: above the mark
  });

  it('send() is false when a frame brings the queue to exactly highWaterMark', () => {
    const raw: Codec<unknown> = { encode: (value) => value as Uint8Array, decode: (bytes) => bytes };
    const { writer } = writerOf(raw, { maxFrameBytes: 100, highWaterMark: 50, maxBufferedBytes: 1000 });
    expect(writer.send(new Uint8Array(45))).to.equal(true); // 49
    const { writer: other } = writerOf(raw, {
      maxFrameBytes: 100,
      highWaterMark: 50,
      maxBufferedBytes: 1000,
    });
    expect(other.send(new Uint8Array(46))).to.equal(false); // 50
  });

  it('an array whose elements change between the two writes of a growing batch goes through encode whole', () => {
    const codec = msgpackCodec();
    const { writer, batches, flush } = writerOf(codec, {
      maxFrameBytes: 8 << 20,
      highWaterMark: 1 << 20,
      maxBufferedBytes: 16 << 20,
    });
    let reads = 0;
    const shifty: unknown[] = [];
    // Too large for any batch buffer at hand the first time it is read (spares are at most
    // 4 MiB); a small value after.
    Object.defineProperty(shifty, 0, { get: () => (++reads === 1 ? new Uint8Array(5 << 20) : 1) });
    shifty.length = 1;
    writer.send(shifty);
    flush();
    expect(reads).to.be.above(2);
    expect(hex(batches[0]!)).to.equal(hex(encodeFrames(codec, [[1]])));
  });

  it('a codec whose encode returns anything but bytes is an EncodeError saying what it returned, and nothing is written', () => {
    // A string went out as that many zero bytes; an ArrayBuffer or a number as nothing, send() answering true.
    const returned: [unknown, string][] = [
      ['abc', '"abc"'],
      [undefined, 'undefined'],
      [new ArrayBuffer(3), 'an object'],
      [7, '7'],
      [[1, 2, 3], 'an array of 3 starting 1'],
      [new Uint16Array([1, 2]), 'a typed array'],
    ];
    for (const [value, shown] of returned) {
      const { writer, batches, flush } = writerOf({
        encode: () => value as Uint8Array,
        decode: () => undefined,
      });
      expect(() => writer.send('frame'), shown).to.throw(
        EncodeError,
        `Frame could not be encoded: TypeError: codec.encode must return a Uint8Array, it returned ${shown}`,
      );
      flush();
      expect(batches, shown).to.deep.equal([]);
      expect(writer.bufferedBytes, shown).to.equal(0);
    }
    // Bytes of another realm (jsdom, a vm context), and a Buffer, are bytes.
    for (const bytes of [runInNewContext('new Uint8Array([1, 2])') as Uint8Array, Buffer.from([1, 2])]) {
      const { writer, batches, flush } = writerOf({ encode: () => bytes, decode: () => undefined });
      writer.send('frame');
      flush();
      expect(batches.map(hex)).to.deep.equal(['000000020102']);
    }
  });

  it('a codec that throws anything, even a value that cannot be turned into text, is an EncodeError saying what it threw', () => {
    const thrownValues: [unknown, string][] = [
      [new RangeError('too deep'), 'RangeError: too deep'],
      [Object.create(null), 'an object'],
      [Symbol('no'), 'a symbol'],
    ];
    for (const [value, shown] of thrownValues) {
      const codec: Codec<unknown> = {
        encode: () => {
          throw value;
        },
        decode: () => undefined,
      };
      const { writer } = writerOf(codec);
      const error = (() => {
        try {
          writer.send('frame');
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).to.be.instanceOf(EncodeError);
      expect((error as EncodeError).message).to.equal(`Frame could not be encoded: ${shown}`);
      expect((error as EncodeError).cause).to.equal(value);
    }
  });
});

/** A writer over a sink that confirms a batch only when the test says, with its ticks and its sink's calls. */
function deferredWriter() {
  const calls: string[] = [];
  const pending: (() => void)[] = [];
  const ticks: (() => void)[] = [];
  const sink: ByteSink = {
    write: (batch, done) => {
      calls.push(`write ${batch.length}`);
      pending.push(done);
    },
    end: (reason) => calls.push(`end ${String(reason)}`),
  };
  const limits = { maxFrameBytes: 1 << 20, highWaterMark: 1 << 20, maxBufferedBytes: 4 << 20 };
  const writer = new LinkWriter<unknown>(
    writerSettings(msgpackCodec(), limits, (flush) => ticks.push(flush)),
    sink,
    { transport: 'memory', remote: 'b', local: 'a' },
  );
  const tick = () => ticks.splice(0).forEach((run) => run());
  const confirm = () => pending.splice(0).forEach((done) => done());
  return { writer, calls, ticks, tick, confirm };
}

describe('LinkWriter ends', () => {
  it('close() ends the sink once, after the last batch, however often the writer flushes after', () => {
    const { writer, calls, tick, confirm } = deferredWriter();
    writer.send('a');
    writer.close('bye');
    expect(writer.closed).to.equal(true);
    tick();
    confirm(); // the batch's confirmation flushes again: nothing more to write, nor to end
    tick();
    expect(calls).to.deep.equal(['write 6', 'end bye']);
    expect(writer.writeReport()).to.include({ lastFrame: 'whole', framesLeft: 1 });
  });

  it('after fail(), it is closed, refuses frames, completes drain$, and a second fail changes nothing', () => {
    const { writer, tick } = deferredWriter();
    let drained = false;
    writer.drain$.subscribe({ complete: () => (drained = true) });
    writer.send('a');
    tick();
    writer.fail(6); // the whole batch is known never to have arrived
    const report = writer.writeReport();
    expect(report).to.include({ lastFrame: 'not-started', framesLeft: 0 });
    expect(writer.closed).to.equal(true);
    expect(drained).to.equal(true);
    expect(() => writer.send('b')).to.throw(LinkClosedError);
    writer.fail(0);
    expect(writer.writeReport()).to.deep.equal(report);
  });

  it('after dispose(), it is closed and refuses frames', () => {
    const { writer } = deferredWriter();
    writer.dispose();
    expect(writer.closed).to.equal(true);
    expect(() => writer.send('a')).to.throw(LinkClosedError);
  });
});

describe('LinkWriter states (flush scheduled, batch in flight, dead)', () => {
  it("a tick's frames schedule one flush, and frames sent while a batch is in flight schedule none", () => {
    const { writer, calls, ticks, tick, confirm } = deferredWriter();
    writer.send('a');
    writer.send('b');
    writer.send('c');
    expect(ticks).to.have.length(1);
    tick();
    writer.send('d'); // the batch is in flight: its confirmation flushes this one
    expect(ticks).to.have.length(0);
    confirm();
    expect(calls).to.deep.equal(['write 18', 'write 6']);
  });

  it('close() leaves the batch to the flush already scheduled, and ends an idle writer at once', () => {
    const { writer, calls, tick } = deferredWriter();
    writer.send('a');
    writer.close('bye');
    expect(calls).to.deep.equal([]);
    tick();
    expect(calls).to.deep.equal(['write 6', 'end bye']);
    const idle = deferredWriter();
    idle.writer.close('now');
    expect(idle.calls).to.deep.equal(['end now']);
  });

  it('drain$ first read once dead completes at once; read while a batch is in flight, it does not', () => {
    for (const end of ['fail', 'dispose'] as const) {
      const { writer } = deferredWriter();
      writer[end]();
      let completed = false;
      writer.drain$.subscribe({ complete: () => (completed = true) });
      expect(completed, end).to.equal(true);
    }
    const { writer, tick } = deferredWriter();
    writer.send('a');
    tick();
    let completed = false;
    writer.drain$.subscribe({ complete: () => (completed = true) });
    expect(completed).to.equal(false);
  });

  it('a batch confirmed after fail() changes nothing: the writer stays closed, its report as fail() left it', () => {
    const { writer, calls, tick, confirm } = deferredWriter();
    writer.send('a');
    tick();
    writer.fail(6);
    const report = writer.writeReport();
    confirm();
    expect(writer.closed).to.equal(true);
    expect(writer.writeReport()).to.deep.equal(report);
    expect(() => writer.send('b')).to.throw(LinkClosedError);
    expect(calls).to.deep.equal(['write 6']);
  });
});
