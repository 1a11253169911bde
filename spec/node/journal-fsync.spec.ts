// fileJournal's fsync per interval ({ everyMs }): records written at each commit, flushed by a
// timer on the journal's scheduler (virtual time in tests; unref'd on the default asyncScheduler)
// armed by the first unflushed write and cleared on close; and the options' checks.
// An unref'd timer is not among the process's active resources: `timers()` not moving proves it.
import { expect } from 'chai';
import { asyncScheduler, Subject, Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileJournal, type FileSessionJournal } from '../../lib/node/index.js';
import { fsyncPolicy, IntervalFlush } from '../../lib/node/journal-fsync.js';
import { recordFsCalls } from '../support/fs-flushes.js';
import { newTestScheduler } from '../operators/support.js';

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('IntervalFlush (the timer of fsync per interval)', () => {
  it('flushes everyMs after the first unflushed write, once for every write before, on its scheduler', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const flushes = new Subject<number>();
      const flush = new IntervalFlush(5, () => flushes.next(testScheduler.now()), testScheduler);
      // Writes at 0, 2 and 4: one flush at 5. Then none while idle; a write at 10: a flush at 15.
      for (const at of [0, 2, 4, 10, 12]) testScheduler.schedule(() => flush.wrote(), at);
      testScheduler.schedule(() => expect(flush.armed, 'armed by the first write').to.equal(true), 1);
      testScheduler.schedule(() => expect(flush.armed, 'no timer while idle').to.equal(false), 7);
      testScheduler.schedule(() => flush.dispose(), 30);
      expectObservable(flushes).toBe('5ms a 9ms b', { a: 5, b: 15 });
    });
  });

  it('flushes nothing that a flushing write flushed, and nothing after dispose', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const flushes = new Subject<number>();
      const flush = new IntervalFlush(5, () => flushes.next(testScheduler.now()), testScheduler);
      testScheduler.schedule(() => flush.wrote(), 0);
      testScheduler.schedule(() => flush.flushed(), 1); // a compaction flushed it: nothing at 5
      testScheduler.schedule(() => flush.wrote(), 10);
      testScheduler.schedule(() => flush.dispose(), 12); // cleared: nothing at 15
      expectObservable(flushes).toBe('');
    });
  });

  it('keeps one timer: a write while it is armed does not arm another', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const flushes = new Subject<number>();
      const flush = new IntervalFlush(5, () => flushes.next(testScheduler.now()), testScheduler);
      // Writes at 0 and 3: one flush at 5. The write at 6 is flushed at 11, not by a timer of the one at 3.
      for (const at of [0, 3, 6]) testScheduler.schedule(() => flush.wrote(), at);
      testScheduler.schedule(() => flush.dispose(), 30);
      expectObservable(flushes).toBe('5ms a 5ms b', { a: 5, b: 11 });
    });
  });

  it('flushes on demand only what is unflushed: nothing after its timer flushed', () => {
    let flushes = 0;
    const testScheduler = newTestScheduler();
    testScheduler.run(() => {
      const flush = new IntervalFlush(5, () => flushes++, testScheduler);
      flush.wrote();
      testScheduler.schedule(() => flush.flushNow(), 8);
      testScheduler.schedule(() => flush.dispose(), 9);
    });
    expect(flushes, 'the timer flushed at 5; the close at 8 had nothing to flush').to.equal(1);
  });

  it('flushes at once when the scheduler runs a due action inside schedule(), and arms nothing', () => {
    let flushes = 0;
    const immediate: SchedulerLike = {
      now: () => 0,
      schedule: (work: (this: SchedulerAction<unknown>, state?: unknown) => void) => {
        work.call(undefined as never);
        return Subscription.EMPTY;
      },
    };
    const flush = new IntervalFlush(5, () => flushes++, immediate);
    flush.wrote();
    expect(flushes).to.equal(1);
    expect(flush.armed, 'nothing is left armed').to.equal(false);
    flush.wrote();
    expect(flushes, 'the next write arms (and here flushes) again').to.equal(2);
  });

  it('on asyncScheduler, unrefs its timer: it keeps no process alive', async () => {
    let flushed: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (flushed = resolve));
    const flush = new IntervalFlush(5, () => flushed(), asyncScheduler);
    const before = timers();
    flush.wrote();
    expect(flush.armed).to.equal(true);
    expect(timers(), "unref'd: it keeps no process alive").to.equal(before);
    await done;
    expect(flush.armed).to.equal(false);
    flush.dispose();
  });
});

describe('fileJournal with fsync: { everyMs } on a virtual-time scheduler', () => {
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lifeline-fsync-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('flushes a commit everyMs after it, by the scheduler given, and flushes nothing while idle', () => {
    const testScheduler = newTestScheduler();
    const flushedAt: number[] = [];
    // Each flush of a record, at the virtual time it is made.
    const calls = recordFsCalls((call) => {
      if (call === 'fdatasync') flushedAt.push(testScheduler.now());
    });
    let journal: FileSessionJournal | undefined;
    try {
      testScheduler.run(() => {
        journal = fileJournal(join(dir, 'virtual.journal'), {
          fsync: { everyMs: 50 },
          scheduler: testScheduler,
        });
        testScheduler.schedule(() => {
          journal!.session('1'.repeat(32), 'a'.repeat(32)); // flushed at once
          journal!.sent(1, 'one');
          journal!.commit!();
        }, 10);
        testScheduler.schedule(() => {
          journal!.sent(2, 'two');
          journal!.commit!();
        }, 120);
        testScheduler.schedule(() => journal!.acked(2), 300);
      });
      expect(flushedAt, 'the session at once, each commit 50 ms after it').to.deep.equal([10, 60, 170]);
    } finally {
      journal?.close();
      calls.restore();
    }
    expect(flushedAt, 'close flushes what is unflushed').to.deep.equal([10, 60, 170, 300]);
  });

  it('refuses a scheduler that is not one, or a misspelled option, with a TypeError naming it', () => {
    const path = join(dir, 'scheduler.journal');
    for (const scheduler of [5, null, {}, 'async']) {
      expect(() => fileJournal(path, { scheduler } as never), String(scheduler)).to.throw(
        TypeError,
        /^fileJournal: scheduler must be a SchedulerLike, got /,
      );
    }
    expect(() => fileJournal(path, { schedular: asyncScheduler } as never)).to.throw(
      TypeError,
      "fileJournal: unknown option 'schedular' (did you mean 'scheduler'?)",
    );
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
