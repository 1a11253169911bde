import { expect } from 'chai';
import fc from 'fast-check';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileJournal, JournalError, type FileSessionJournal } from '../../lib/node/index.js';
import { crc32 } from '../../lib/node/crc32.js';
import { msgpackCodec } from '../../lib/codec/codec.js';
import { layerOwnFrame } from '../../lib/internal/layer-own-frame.js';
import {
  memoryJournal,
  type JournalState,
  type SessionJournal,
} from '../../lib/protocol/resumable/journal.js';
import { recordFsCalls } from '../support/fs-flushes.js';

type Op =
  | { kind: 'session'; id: string; token: string }
  | { kind: 'sent'; seq: number; frame: unknown }
  | { kind: 'acked'; seq: number }
  | { kind: 'received'; seq: number }
  | { kind: 'clear' }
  | { kind: 'reopen' };

function run(journal: SessionJournal, op: Op): void {
  switch (op.kind) {
    case 'session':
      return journal.session(op.id, op.token);
    case 'sent':
      return journal.sent(op.seq, op.frame);
    case 'acked':
      return journal.acked(op.seq);
    case 'received':
      return journal.received(op.seq);
    case 'clear':
      return journal.clear();
    case 'reopen':
      return;
  }
}

const frameArb = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 5 }),
  // A frame a protocol layer sends for itself (a cancel): `lastAcked` passes over it.
  fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 3 }).map(layerOwnFrame),
  // MessagePack writes -0 as the integer 0 (msgpackr, like most encoders): not the journal's to keep.
  fc.record({
    a: fc.string({ maxLength: 5 }),
    b: fc.double({ noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
  }),
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('session' as const),
      id: fc.constantFrom('s1', 's2', 's3'),
      token: fc.string({ maxLength: 8 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('sent' as const),
      seq: fc.integer({ min: 1, max: 40 }),
      frame: frameArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('acked' as const), seq: fc.integer({ min: 0, max: 40 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('received' as const), seq: fc.integer({ min: 0, max: 40 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

/** A fixed history whose records the torn-tail and bit-flip tests cut and corrupt. */
const HISTORY: Op[] = [
  { kind: 'sent', seq: 1, frame: 'offline' },
  { kind: 'session', id: 'a'.repeat(32), token: 't1' },
  { kind: 'sent', seq: 2, frame: { n: 2, list: [1, 2, 3] } },
  { kind: 'received', seq: 4 },
  { kind: 'acked', seq: 1 },
  { kind: 'sent', seq: 3, frame: 'three' },
  { kind: 'session', id: 'a'.repeat(32), token: 't2' },
  { kind: 'acked', seq: 3 },
  { kind: 'sent', seq: 4, frame: null },
  { kind: 'clear' },
  { kind: 'received', seq: 7 },
  { kind: 'session', id: 'b'.repeat(32), token: 't3' },
  { kind: 'sent', seq: 1, frame: 1.5 },
];

function stateAfter(ops: readonly Op[]): JournalState | undefined {
  const model = memoryJournal();
  for (const op of ops) run(model, op);
  return model.restore();
}

describe('fileJournal', () => {
  let dir: string;
  const opened: FileSessionJournal[] = [];
  const open = (path: string, options?: Parameters<typeof fileJournal>[1]) => {
    const journal = fileJournal(path, options);
    opened.push(journal);
    return journal;
  };

  /** Open file descriptors of this process (Linux), to check that no test leaves one open. */
  const fds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
  let fdsBefore = 0;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifeline-journal-'));
    fdsBefore = fds();
  });
  afterEach(function () {
    for (const journal of opened.splice(0)) journal.close();
    rmSync(dir, { recursive: true, force: true });
    if (this.currentTest?.state !== 'passed') return;
    expect(fds(), 'file descriptors left open').to.be.at.most(fdsBefore);
  });

  /** Writes HISTORY to a fresh file; returns its bytes and the log's size after each record. */
  function writeHistory(): { bytes: Buffer; ends: number[] } {
    const path = join(dir, 'history.journal');
    const journal = open(path, { fsync: 'always' }); // every call written at once: one record per call
    const ends = [journal.bytes];
    for (const op of HISTORY) {
      run(journal, op);
      ends.push(journal.bytes);
    }
    journal.close();
    const bytes = readFileSync(path);
    expect(bytes.length).to.equal(ends.at(-1));
    rmSync(path);
    return { bytes, ends };
  }

  it("'batch' (the default) holds sent, acked and received until commit, writes session and clear at once, and commits on close", () => {
    const path = join(dir, 'batch.journal');
    const journal = open(path);
    journal.sent(1, 'early');
    expect(journal.bytes, 'nothing written before a commit').to.equal(0);
    journal.session('1'.repeat(32), 'a'.repeat(32));
    const withSession = journal.bytes;
    expect(withSession, 'the session record and what was pending, at once').to.be.above(0);
    journal.sent(2, 'b');
    journal.acked(1);
    journal.received(5);
    expect(journal.bytes).to.equal(withSession);
    journal.commit!();
    expect(journal.bytes).to.be.above(withSession);
    journal.sent(3, 'c');
    journal.close(); // commits what is pending
    const again = open(path);
    expect(again.restore()).to.deep.equal({
      session: '1'.repeat(32),
      token: 'a'.repeat(32),
      lastSeq: 3,
      received: 5,
      frames: [
        { seq: 2, frame: 'b' },
        { seq: 3, frame: 'c' },
      ],
      lastAcked: { seq: 1, frame: 'early' },
    });
  });

  it("flushes as its fsync says: each write under 'always', none under 'never', each commit, session and clear under 'batch'", () => {
    const calls = recordFsCalls();
    try {
      const always = open(join(dir, 'always.journal'), { fsync: 'always' });
      calls.log.length = 0; // creating a file flushed its directory
      always.sent(1, 'a');
      always.acked(1);
      expect(calls.log, "'always'").to.deep.equal(['fdatasync', 'fdatasync']);

      const never = open(join(dir, 'never.journal'), { fsync: 'never' });
      calls.log.length = 0;
      never.session('1'.repeat(32), 'a'.repeat(32));
      never.sent(1, 'a');
      never.clear();
      expect(calls.log, "'never'").to.deep.equal([]);

      const batch = open(join(dir, 'batch.journal'));
      calls.log.length = 0;
      batch.sent(1, 'a');
      batch.received(2);
      expect(calls.log, 'nothing before the commit').to.deep.equal([]);
      batch.commit!();
      batch.commit!(); // nothing pending: nothing to flush
      expect(calls.log, 'one flush per commit').to.deep.equal(['fdatasync']);
      batch.session('1'.repeat(32), 'a'.repeat(32));
      expect(calls.log, 'the session at once').to.deep.equal(['fdatasync', 'fdatasync']);
      const beforeClear = batch.bytes;
      batch.clear();
      expect(batch.bytes, 'the clear written at once').to.be.above(beforeClear);
      expect(calls.log, 'and flushed').to.deep.equal(['fdatasync', 'fdatasync', 'fdatasync']);
    } finally {
      calls.restore();
    }
  });

  it('flushes a compacted log before renaming it into place, then its directory, in every mode', () => {
    const journal = open(join(dir, 'compact-flush.journal'), { fsync: 'never', compactAt: 0 });
    const calls = recordFsCalls();
    try {
      for (let seq = 1; seq <= 20; seq++) {
        journal.sent(seq, `frame ${seq}`);
        journal.acked(seq);
      }
    } finally {
      calls.restore();
    }
    const renames = calls.log.filter((call) => call === 'rename').length;
    expect(renames, 'compactions').to.be.above(0);
    expect(calls.log).to.deep.equal(
      Array.from({ length: renames }, () => ['fsync', 'rename', 'fsync']).flat(),
    );
  });

  it('keeps the old log in use when a compaction fails, and compacts once that is possible again', () => {
    const path = join(dir, 'stuck.journal');
    const model = memoryJournal();
    const journal = open(path, { fsync: 'never', compactAt: 0 });
    mkdirSync(`${path}.tmp`); // where the new log is written: every compaction fails
    let seq = 0;
    const step = () => {
      seq++;
      for (const j of [model, journal]) {
        j.sent(seq, `frame ${seq}`);
        j.acked(seq);
      }
    };
    for (let i = 0; i < 20; i++) {
      step();
      expect(statSync(path).size, `the log in use, after ${seq}`).to.equal(journal.bytes);
    }
    expect(journal.bytes, 'nothing compacted').to.be.above(20 * 2 * 8);
    rmSync(`${path}.tmp`, { recursive: true });
    const stuck = journal.bytes;
    while (journal.bytes >= stuck && seq < 200) step();
    expect(journal.bytes, 'compacted').to.be.below(stuck);
    expect(statSync(path).size).to.equal(journal.bytes);
    expect(journal.restore()).to.deep.equal(model.restore());
    journal.close();
    expect(open(path).restore()).to.deep.equal(model.restore());
  });

  it('ends the log at a record whose CRC holds but which is not one of its records', () => {
    const path = join(dir, 'shapes.journal');
    const journal = open(path);
    journal.sent(1, 'kept');
    journal.close();
    const kept = readFileSync(path);
    const codec = msgpackCodec();
    const record = (fields: unknown) => {
      const body = codec.encode(fields);
      const head = Buffer.alloc(8);
      head.writeUInt32BE(body.length, 0);
      head.writeUInt32BE(crc32(body), 4);
      return Buffer.concat([head, body]);
    };
    const after = record([2, 2, 'after']);
    writeFileSync(path, Buffer.concat([kept, after]));
    const control = open(path);
    expect(control.restore()?.lastSeq, 'a well-formed record is read').to.equal(2);
    control.close();
    const malformed: unknown[] = [
      [1, 'id'],
      [1, 'id', 2],
      [1, 7, 'token'],
      [1, 'id', 'token', 'more'],
      [2, 0, 'x'],
      [2, 2, 'x', 2],
      [2, 2, 'not an object', 1],
      [3],
      [3, -1],
      [4, 1.5],
      [5, 0],
      [6],
      'x',
      { kind: 5 },
    ];
    for (const bad of malformed) {
      writeFileSync(path, Buffer.concat([kept, record(bad), after]));
      const again = open(path);
      expect(again.restore()?.frames, JSON.stringify(bad)).to.deep.equal([{ seq: 1, frame: 'kept' }]);
      expect(statSync(path).size, JSON.stringify(bad)).to.equal(kept.length);
      again.close();
    }
  });

  it('creates its file where the directory cannot be flushed (EISDIR, EINVAL, EPERM, EBADF), not on other errors', () => {
    for (const code of ['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'EIO']) {
      const path = join(dir, `${code}.journal`);
      // Opening a new file flushes nothing but its directory.
      const calls = recordFsCalls((call) => {
        if (call === 'fsync') throw Object.assign(new Error(`${code}: refused`), { code });
      });
      let caught: unknown;
      try {
        open(path).sent(1, code);
      } catch (error) {
        caught = error;
      } finally {
        calls.restore();
      }
      if (code === 'EIO') {
        expect((caught as JournalError).reason).to.equal('io');
        expect(((caught as JournalError).cause as NodeJS.ErrnoException).code).to.equal('EIO');
        expect(existsSync(`${path}.lock`), 'unlocked').to.equal(false);
      } else {
        expect(caught, code).to.equal(undefined);
      }
    }
  });

  it("keeps the application's last acknowledged frame, not a layer's own after it, across reopening and compaction", () => {
    for (const compactAt of [0, 1_048_576]) {
      const path = join(dir, `layer-own-${compactAt}.journal`);
      const journal = open(path, { compactAt });
      journal.session('1'.repeat(32), 'a'.repeat(32));
      journal.sent(1, [0, 'message']);
      journal.sent(2, layerOwnFrame([3, 1]));
      journal.sent(3, layerOwnFrame([4, 1, 'complete']));
      journal.acked(3);
      journal.sent(4, layerOwnFrame([3, 2]));
      journal.close();
      const again = open(path, { compactAt });
      again.acked(0); // a call, so that compactAt 0 compacts the replayed log
      const expected = {
        session: '1'.repeat(32),
        token: 'a'.repeat(32),
        lastSeq: 4,
        received: 0,
        frames: [{ seq: 4, frame: [3, 2] }],
        lastAcked: { seq: 1, frame: [0, 'message'] },
      };
      expect(again.restore(), `compactAt ${compactAt}`).to.deep.equal(expected);
      again.acked(4);
      again.close();
      const last = open(path, { compactAt });
      expect(last.restore(), `compactAt ${compactAt}, all acked`).to.deep.equal({ ...expected, frames: [] });
      last.close();
    }
  });

  it('computes the IEEE CRC-32 ("123456789" → 0xCBF43926)', () => {
    expect(crc32(Buffer.from('123456789'))).to.equal(0xcbf43926);
    expect(crc32(new Uint8Array(0))).to.equal(0);
    expect(crc32(Buffer.from('xx123456789yy'), 2, 11)).to.equal(0xcbf43926);
  });

  it('behaves like memoryJournal on random calls, and restores the same after reopening', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 60 }),
        fc.constantFrom(0, 200, 1_048_576),
        (ops, compactAt) => {
          const path = join(dir, `model-${Math.random().toString(36).slice(2)}.journal`);
          const model = memoryJournal();
          let journal = fileJournal(path, { compactAt, fsync: 'never' });
          try {
            for (const op of ops) {
              if (op.kind === 'reopen') {
                journal.close();
                journal = fileJournal(path, { compactAt, fsync: 'never' });
              }
              run(model, op);
              run(journal, op);
              expect(journal.restore()).to.deep.equal(model.restore(), JSON.stringify(op));
            }
            journal.close();
            journal = fileJournal(path, { compactAt });
            expect(journal.restore()).to.deep.equal(model.restore(), 'after reopening');
          } finally {
            journal.close();
            rmSync(path, { force: true });
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('cut at every byte, keeps the records before the cut, truncates the rest, and goes on', () => {
    const { bytes, ends } = writeHistory();
    const path = join(dir, 'torn.journal');
    for (let cut = 0; cut <= bytes.length; cut++) {
      writeFileSync(path, bytes.subarray(0, cut));
      const whole = ends.filter((end) => end <= cut).length - 1; // records wholly before the cut
      const expected = HISTORY.slice(0, whole);
      let journal = fileJournal(path, { fsync: 'always' });
      expect(journal.restore(), `cut at ${cut}`).to.deep.equal(stateAfter(expected));
      expect(statSync(path).size, `cut at ${cut}`).to.equal(ends[whole]);
      const more: Op = { kind: 'sent', seq: 9, frame: 'after' };
      run(journal, more);
      journal.close();
      journal = fileJournal(path, { fsync: 'always' });
      expect(journal.restore(), `cut at ${cut}, appended, reopened`).to.deep.equal(
        stateAfter([...expected, more]),
      );
      journal.close();
    }
  });

  it('opened after any bit flip, restores a state it really had (the records before the flip)', () => {
    const { bytes, ends } = writeHistory();
    const prefixes = ends.map((_, k) => stateAfter(HISTORY.slice(0, k)));
    const path = join(dir, 'flipped.journal');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 0, max: 7 }),
        (at, bit) => {
          const copy = Buffer.from(bytes);
          copy[at]! ^= 1 << bit;
          writeFileSync(path, copy);
          const journal = fileJournal(path, { fsync: 'always' });
          try {
            const record = ends.findIndex((end) => end > at) - 1; // the record holding the flip
            expect(journal.restore()).to.deep.equal(prefixes[record]);
            expect(statSync(path).size).to.equal(ends[record]);
          } finally {
            journal.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('compacts a log of acknowledged frames below compactAt, keeping the state', () => {
    const path = join(dir, 'compact.journal');
    const model = memoryJournal();
    const journal = open(path, { compactAt: 4096, fsync: 'always' });
    const both = (op: Op) => {
      run(model, op);
      run(journal, op);
    };
    both({ kind: 'session', id: 'c'.repeat(32), token: 'tok' });
    let written = 0;
    for (let seq = 1; seq <= 2000; seq++) {
      const before = journal.bytes;
      both({ kind: 'sent', seq, frame: `frame ${seq} ${'x'.repeat(40)}` });
      if (seq % 3 === 0) both({ kind: 'acked', seq: seq - 1 });
      if (seq % 10 === 0) both({ kind: 'received', seq });
      written += Math.max(0, journal.bytes - before);
    }
    expect(written).to.be.greaterThan(4096 * 10);
    expect(statSync(path).size).to.equal(journal.bytes).and.to.be.below(4096);
    expect(journal.restore()).to.deep.equal(model.restore());
    journal.close();
    const again = open(path);
    expect(again.restore()).to.deep.equal(model.restore());
  });

  it('keeps the lastSeq and received of a state whose frames were all acknowledged, across compaction', () => {
    const path = join(dir, 'empty-frames.journal');
    const model = memoryJournal();
    const journal = open(path, { compactAt: 0 });
    for (const op of [
      { kind: 'received', seq: 5 },
      { kind: 'sent', seq: 3, frame: 'x' },
      { kind: 'acked', seq: 3 },
      { kind: 'received', seq: 2 },
    ] as Op[]) {
      run(model, op);
      run(journal, op);
    }
    journal.close();
    expect(open(path).restore()).to.deep.equal(model.restore());
  });

  it('flushes the file it truncated on opening (a torn tail), and nothing when there was none', () => {
    const path = join(dir, 'torn-flush.journal');
    const journal = open(path);
    journal.sent(1, 'kept');
    journal.close();
    const whole = readFileSync(path);
    const opening = (bytes: Buffer) => {
      writeFileSync(path, bytes);
      const calls = recordFsCalls();
      try {
        open(path).close();
      } finally {
        calls.restore();
      }
      return calls.log;
    };
    expect(opening(whole), 'whole').to.deep.equal([]);
    expect(opening(Buffer.concat([whole, Buffer.from([0, 0, 0, 9, 1])])), 'torn').to.deep.equal(['fsync']);
    expect(statSync(path).size).to.equal(whole.length);
  });

  it('ignores and removes a stray .tmp left by a crash between writing it and the rename', () => {
    const path = join(dir, 'stray.journal');
    const journal = open(path);
    for (const op of HISTORY) run(journal, op);
    journal.close();
    // What a crash after the .tmp was written (whole, or in part) leaves: the old log is the truth.
    writeFileSync(`${path}.tmp`, readFileSync(path).subarray(0, 30));
    const again = open(path);
    expect(again.restore()).to.deep.equal(stateAfter(HISTORY));
    expect(existsSync(`${path}.tmp`)).to.equal(false);
  });

  it('refuses a record over maxRecordBytes, keeps nothing of it, and goes on', () => {
    const path = join(dir, 'big.journal');
    const journal = open(path, { maxRecordBytes: 100 });
    journal.sent(1, 'small');
    const before = journal.bytes;
    expect(() => journal.sent(2, 'x'.repeat(200)))
      .to.throw(JournalError, /over maxRecordBytes \(100\)/)
      .with.property('reason', 'too-large');
    expect(journal.bytes).to.equal(before);
    journal.sent(2, 'fine');
    expect(journal.restore()?.frames).to.deep.equal([
      { seq: 1, frame: 'small' },
      { seq: 2, frame: 'fine' },
    ]);
  });

  it('reads a length above maxRecordBytes as a torn tail', () => {
    const path = join(dir, 'length.journal');
    const journal = open(path);
    journal.sent(1, 'kept');
    journal.close();
    const size = statSync(path).size;
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(0xffffffff, 0);
    writeFileSync(path, Buffer.concat([readFileSync(path), huge, Buffer.alloc(64)]));
    const again = open(path);
    expect(again.restore()?.frames).to.deep.equal([{ seq: 1, frame: 'kept' }]);
    expect(statSync(path).size).to.equal(size);
  });

  it('throws a typed error after close, refuses a second journal on one file, and reopens', () => {
    const path = join(dir, 'closed.journal');
    const journal = open(path);
    journal.received(3);
    expect(() => fileJournal(path))
      .to.throw(JournalError, /already open/)
      .with.property('reason', 'busy');
    journal.close();
    journal.close();
    for (const call of [() => journal.sent(1, 'x'), () => journal.restore(), () => journal.clear()]) {
      expect(call)
        .to.throw(JournalError, /is closed/)
        .with.property('reason', 'closed');
    }
    const again = open(path);
    again.sent(1, 'x');
    expect(again.restore()?.received).to.equal(3);
  });

  it('says which file and what to do when the file system fails, with the cause', () => {
    const path = join(dir, 'missing', 'client.journal');
    let caught: unknown;
    try {
      fileJournal(path);
    } catch (error) {
      caught = error;
    }
    expect(JournalError.is(caught)).to.equal(true);
    const error = caught as JournalError;
    expect(error.reason).to.equal('io');
    expect(error.path).to.equal(path);
    expect(error.message).to.include(path).and.to.include('ENOENT').and.to.include('try again');
    expect((error.cause as NodeJS.ErrnoException).code).to.equal('ENOENT');
  });

  it('closes itself on a failed append (ENOSPC), keeping nothing of that call', function () {
    if (!existsSync('/dev/full')) this.skip(); // a device whose every write fails with ENOSPC
    // Through a link, so that the lock file is made here, not in /dev.
    const path = join(dir, 'full.journal');
    symlinkSync('/dev/full', path);
    const journal = open(path, { fsync: 'never' });
    let caught: unknown;
    try {
      journal.sent(1, 'lost');
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(JournalError);
    expect((caught as JournalError).reason).to.equal('io');
    expect((caught as JournalError).message)
      .to.include(path)
      .and.to.include('(ENOSPC: no space left on device');
    expect(() => journal.restore()).to.throw(JournalError, /after a file system error/);
  });

  it('checks its options and arguments', () => {
    const path = join(dir, 'options.journal');
    expect(() => fileJournal(path, { fsyc: 'never' } as never)).to.throw(
      TypeError,
      "fileJournal: unknown option 'fsyc' (did you mean 'fsync'?)",
    );
    expect(() => fileJournal(path, { fsync: 'sometimes' } as never)).to.throw(TypeError, /fsync must be/);
    expect(() => fileJournal(path, { maxRecordBytes: 0 })).to.throw(TypeError, /maxRecordBytes/);
    expect(() => fileJournal(path, { compactAt: -1 })).to.throw(TypeError, /compactAt/);
    expect(() => fileJournal(path, { compactAt: '1000' as never })).to.throw(
      TypeError,
      'fileJournal: compactAt must be a number ≥ 0, got "1000"',
    );
    expect(() => fileJournal(path, { compactAt: NaN })).to.throw(TypeError, /compactAt must be a number/);
    expect(() => fileJournal(path, { maxRecordBytes: 1.5 })).to.throw(
      TypeError,
      /fileJournal: maxRecordBytes must be an integer/,
    );
    expect(() => fileJournal(path, { CompactAt: 10 } as never)).to.throw(
      TypeError,
      "fileJournal: unknown option 'CompactAt' (did you mean 'compactAt'?)",
    );
    expect(() => fileJournal(path, null as never)).to.throw(
      TypeError,
      'fileJournal: options must be an object, got null',
    );
    expect(() => fileJournal(path, { fsync: { everyMs: 0 } })).to.throw(TypeError, /fsync\.everyMs/);
    expect(() => fileJournal('')).to.throw(TypeError, /path/);
    expect(() => fileJournal(42 as never)).to.throw(
      TypeError,
      'fileJournal: path must be a non-empty string',
    );
    expect(existsSync(`${path}.lock`), 'a refused call takes no lock').to.equal(false);
    const journal = open(path);
    expect(() => journal.sent(0, 'x')).to.throw(TypeError, /fileJournal.sent: seq/);
    expect(() => journal.acked(1.5)).to.throw(TypeError, /fileJournal.acked: seq/);
    expect(() => journal.session(1 as never, 't')).to.throw(TypeError, /strings/);
    expect(journal.restore()).to.equal(undefined);
    expect(journal.bytes).to.equal(0);
  });

  it('keeps every call it accepted (committed, under an interval) when its process is killed (SIGKILL at a random point)', async function () {
    this.timeout(60_000);
    for (let round = 0; round < 4; round++) {
      const path = join(dir, `crash-${round}.journal`);
      const killAfter = 1 + Math.floor(Math.random() * 1500);
      const mode = round % 2 === 0 ? 'always' : 'interval';
      const child = fork('spec/node/fixtures/journal-writer.ts', [path, mode], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const closed = once(child, 'close');
      let accepted = 0;
      try {
        await new Promise<void>((resolve, reject) => {
          child.on('message', (message: { seq?: number }) => {
            if (message.seq === undefined) return;
            accepted = message.seq;
            if (accepted === killAfter) resolve();
          });
          child.once('exit', (code, signal) =>
            reject(new Error(`the writer exited (${code}, ${signal}) after ${accepted} records`)),
          );
          child.once('error', reject);
        });
        child.kill('SIGKILL');
        const [, signal] = (await closed) as [number | null, NodeJS.Signals | null];
        expect(signal).to.equal('SIGKILL');
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await closed;
      }
      const journal = open(path);
      const state = journal.restore()!;
      expect(state.session).to.equal('a'.repeat(32));
      expect(state.lastSeq, mode).to.be.at.least(accepted);
      expect(state.frames.length).to.be.greaterThan(0);
      state.frames.forEach(({ seq, frame }, i) => {
        expect(seq).to.equal(state.lastSeq - state.frames.length + 1 + i);
        expect(frame).to.deep.equal({ seq, payload: 'x'.repeat(200) });
      });
      journal.close();
    }
  });
});
