// fileJournal's fsync per interval ({ everyMs }): records written at each commit, flushed by an
// unref'd timer armed by the first unflushed write and cleared on close; and the option's checks.
// An unref'd timer is not among the process's active resources: `timers()` not moving proves it.
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileJournal, type FileSessionJournal } from '../../lib/node/index.js';
import { fsyncPolicy, IntervalFlush } from '../../lib/node/journal-fsync.js';
import { recordFsCalls } from '../support/fs-flushes.js';

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('IntervalFlush (the timer of fsync per interval)', () => {
  it('flushes once, after the first unflushed write, however many writes follow', async () => {
    let flushes = 0;
    let flushed: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (flushed = resolve));
    const flush = new IntervalFlush(5, () => {
      flushes++;
      flushed();
    });
    const before = timers();
    flush.wrote();
    flush.wrote();
    flush.wrote();
    expect(flush.armed).to.equal(true);
    expect(timers(), "unref'd: it keeps no process alive").to.equal(before);
    await done;
    expect(flushes, 'one flush for three writes').to.equal(1);
    expect(flush.armed, 'no timer while nothing is unflushed').to.equal(false);
    flush.dispose();
  });

  it('does not flush what a flushing write or a compaction flushed already, and stops on dispose', () => {
    let flushes = 0;
    const flush = new IntervalFlush(1_000, () => flushes++);
    flush.wrote();
    flush.flushed();
    flush.flushNow();
    expect(flushes).to.equal(0);
    flush.wrote();
    flush.flushNow();
    flush.flushNow();
    expect(flushes).to.equal(1);
    expect(flush.armed).to.equal(true);
    flush.dispose();
    expect(flush.armed).to.equal(false);
  });
});

describe('fileJournal with fsync: { everyMs }', () => {
  let dir = '';
  const opened: FileSessionJournal[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lifeline-fsync-'))));
  afterEach(() => {
    for (const journal of opened.splice(0)) journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("holds records until commit, writes them there, and keeps no ref'd timer", () => {
    const path = join(dir, 'interval.journal');
    const journal = fileJournal(path, { fsync: { everyMs: 60_000 } });
    opened.push(journal);
    const before = timers();
    journal.session('1'.repeat(32), 'a'.repeat(32));
    const withSession = statSync(path).size;
    expect(withSession, 'the session is written at once').to.be.above(0);
    journal.sent(1, 'one');
    journal.received(2);
    expect(statSync(path).size, 'nothing before the commit').to.equal(withSession);
    journal.commit!();
    expect(statSync(path).size, 'written at the commit').to.be.above(withSession);
    journal.sent(2, 'two');
    journal.commit!();
    expect(timers(), "the flush timer is unref'd").to.equal(before);
    journal.close();
    const again = fileJournal(path);
    opened.push(again);
    expect(again.restore()).to.deep.include({ lastSeq: 2, received: 2 });
  });

  it('flushes the session at once, a commit on its timer (not at once), and on close only what is unflushed', async () => {
    const journal = fileJournal(join(dir, 'timer.journal'), { fsync: { everyMs: 5 } });
    opened.push(journal);
    const calls = recordFsCalls();
    try {
      journal.session('1'.repeat(32), 'a'.repeat(32));
      expect(calls.log, 'the session written and flushed at once').to.deep.equal(['fdatasync']);
      journal.sent(1, 'one');
      journal.commit!();
      expect(calls.log, 'a commit is not flushed at once').to.deep.equal(['fdatasync']);
      await calls.next('fdatasync');
      expect(calls.log, 'the timer flushed it').to.deep.equal(['fdatasync', 'fdatasync']);
      journal.sent(2, 'two');
      journal.commit!();
      journal.close(); // before the timer: close flushes it
      expect(calls.log).to.deep.equal(['fdatasync', 'fdatasync', 'fdatasync']);
      const idle = fileJournal(join(dir, 'idle.journal'), { fsync: { everyMs: 5 } });
      calls.log.length = 0; // creating it flushed its directory
      idle.close();
      expect(calls.log, 'nothing written, nothing to flush').to.deep.equal([]);
    } finally {
      calls.restore();
    }
  });

  it('refuses a misspelled or nonsense fsync with a TypeError naming it', () => {
    const path = join(dir, 'options.journal');
    expect(() => fileJournal(path, { fsync: { evryMs: 10 } as never })).to.throw(
      TypeError,
      "fileJournal: fsync: unknown option 'evryMs' (did you mean 'everyMs'?)",
    );
    for (const everyMs of [0, -1, NaN, Infinity, '100', undefined]) {
      expect(() => fileJournal(path, { fsync: { everyMs } as never }), String(everyMs)).to.throw(
        TypeError,
        /fileJournal: fsync\.everyMs must be a number > 0/,
      );
    }
    for (const fsync of [null, 100, ['batch'], 'Batch']) {
      expect(() => fileJournal(path, { fsync } as never), String(fsync)).to.throw(
        TypeError,
        /fileJournal: fsync must be 'batch', 'always', 'never' or \{ everyMs \}/,
      );
    }
    expect(fsyncPolicy({ everyMs: 100 })).to.deep.equal({
      batches: true,
      flushesEachWrite: false,
      everyMs: 100,
    });
  });
});
