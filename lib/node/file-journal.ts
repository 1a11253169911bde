/**
 * A {@link SessionJournal} in a file, so that a client whose process crashes resumes its session.
 * @packageDocumentation
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import {
  checkKnownOptions,
  checkNumber,
  checkScheduler,
  describe,
  type KnownOptions,
} from '../internal/validate.js';
import type { SessionJournal } from '../protocol/resumable/journal.js';
import { JournalFile } from './journal-file.js';
import { fsyncPolicy, type JournalFsync } from './journal-fsync.js';
import { records } from './journal-records.js';

/**
 * Options of {@link fileJournal}.
 *
 * @example
 * ```ts
 * import { fileJournal, type FileJournalOptions } from 'rx-lifeline/node';
 * const options: FileJournalOptions = { fsync: 'never', compactAt: 4 * 1024 * 1024 };
 * const journal = fileJournal('/tmp/client.journal', options);
 * journal.close();
 * ```
 * @category Sessions
 */
export interface FileJournalOptions {
  /**
   * When a call's record is pushed to the disk.
   *
   * - `'batch'`: records are kept in memory until {@link SessionJournal.commit}, which writes
   *   them in one `fs.writeSync` and flushes them in one `fs.fdatasyncSync`; `resumable` commits
   *   once per turn of the event loop, before that turn's frames leave the process, so what it
   *   reported as sent survives a crash of the process and of the machine, at one flush per turn
   *   instead of one per frame. `session` and `clear` are written and flushed at once, with what
   *   was pending (a token must be durable before the client acknowledges its welcome).
   * - `'always'`: each call writes its record (`fs.writeSync`) and then flushes it to the device
   *   (`fs.fdatasyncSync`) before it returns. What the journal accepted survives a crash of the
   *   process and of the machine (a power loss, a kernel panic), as far as the disk honours a
   *   flush. It costs one flush per call: about a millisecond or more on most disks.
   * - `'never'`: each call writes its record with `fs.writeSync` only: once it returns the
   *   operating system has it, so it survives a crash of the process (a `SIGKILL`, an uncaught
   *   error), but not a crash of the machine, which may lose the calls of the last seconds. The
   *   file stays valid either way: a record cut short by the crash is dropped when it is opened.
   * - `{ everyMs }`: as `'batch'`, records wait for {@link SessionJournal.commit} and are written
   *   there in one `fs.writeSync`, but not flushed: a timer flushes them (one `fs.fdatasyncSync`)
   *   at most `everyMs` milliseconds after the first write it has not flushed; `session` and
   *   `clear` are written and flushed at once, as under `'batch'`. A crash of the process loses
   *   nothing that was committed, exactly as under `'batch'`. A crash of the machine may lose the
   *   records written in the last `everyMs` before it (plus the time a flush takes), never a
   *   `session` or a `clear`: the journal restores a state it really had, at its last flush or
   *   later (records are replayed up to the first one the crash damaged). What that costs after the restart depends on what the lost
   *   records said. Frames the server never got are simply not known to the journal: the
   *   application sends them again (see {@link rx-lifeline!sentOutcomes}). Acknowledgements lost are redone
   *   (the server drops the duplicates); deliveries lost are delivered again. But if a lost frame
   *   did reach the server, or a lost delivery was acknowledged to it, the server and the journal
   *   disagree and the session cannot be resumed: `resumable` fails with a `ProtocolError` (the
   *   server has a frame above the last the journal sent) or a `SessionLostError` (`'gap'`): said,
   *   never silent. The timer runs on `scheduler`; on the default `asyncScheduler` its Node timer
   *   is unref'd (it does not keep the process alive). `close()` clears it and flushes what is
   *   unflushed. A flush that fails on the timer closes the
   *   journal; the next call throws a {@link JournalError} whose `cause` is the file system's.
   *   `everyMs` must be a number > 0.
   *
   * Compaction flushes the new file and its directory in every mode.
   * @default 'batch'
   */
  fsync?: JournalFsync;
  /**
   * The size, in bytes, past which the log is compacted: once it is larger than `compactAt` and
   * more than twice the size the current state takes as records, it is rewritten with only those.
   * `Infinity` never compacts.
   * @default 1 MiB (1_048_576)
   */
  compactAt?: number;
  /**
   * The largest record, in bytes of MessagePack: a call whose record is larger (a huge frame)
   * throws a {@link JournalError} (`reason: 'too-large'`) and keeps nothing. When the file is read,
   * a length above it is taken for a torn tail, so a corrupt length never allocates more.
   * @default 16 MiB (16_777_216)
   */
  maxRecordBytes?: number;
  /**
   * Runs the timer of the `{ everyMs }` mode (the only timer a journal has); a test passes a
   * virtual-time scheduler. With the default, the timer does not keep the process alive.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/**
 * The journal {@link fileJournal} returns: a {@link SessionJournal} with a file open behind it.
 *
 * @example
 * ```ts
 * import { fileJournal, type FileSessionJournal } from 'rx-lifeline/node';
 * const journal: FileSessionJournal = fileJournal('/tmp/client.journal');
 * console.log(journal.path, journal.bytes);
 * journal.close();
 * ```
 * @category Sessions
 */
export interface FileSessionJournal extends SessionJournal {
  /** The file, as given to {@link fileJournal}. */
  readonly path: string;
  /** The size of the log file now, in bytes. */
  readonly bytes: number;
  /**
   * Commits what is pending, closes the file and releases its lock. Later calls throw a {@link JournalError} (`reason: 'closed'`); closing again
   * does nothing. Open the file again with {@link fileJournal} to go on.
   */
  close(): void;
}

const OPTIONS: KnownOptions<FileJournalOptions> = {
  fsync: true,
  compactAt: true,
  maxRecordBytes: true,
  scheduler: true,
};

/**
 * A {@link SessionJournal} kept in a file, for `resumable({ journal })` in a Node client whose
 * process may die: it behaves exactly like {@link rx-lifeline!memoryJournal} (it keeps its state in one), and
 * also appends each call to the file as a record, so that the next `fileJournal(path)` on the same
 * file restores what the last one was told.
 *
 * **Durability** (`fsync`): with `'batch'` (the default) the records of a turn are written and
 * flushed together at {@link SessionJournal.commit}, which `resumable` calls before that turn's
 * frames leave, and `session`/`clear` before they return: what was committed survives a crash of
 * the process and of the machine. With `'always'` each call is written and flushed before it
 * returns; with `'never'` each is written before it returns and survives a crash of the process
 * only. With `{ everyMs }` a turn's records are written at the commit and flushed within
 * `everyMs`: a crash of the process loses nothing committed, one of the machine the last
 * `everyMs` (see {@link FileJournalOptions.fsync} for what that means for the session).
 *
 * **File format**: an append-only log of records, each a length (u32 big-endian), the CRC-32 of
 * the body (u32 big-endian) and the body: one MessagePack array `[kind, ...fields]`, `[1, id,
 * token]` for `session`, `[2, seq, frame]` for `sent` (`[2, seq, frame, 1]` for a frame a protocol
 * layer sent for itself, such as the requests layer's cancels, which `lastAcked` passes over), `[3, seq]` for `acked`, `[4, seq]` for
 * `received`, `[5]` for `clear`. Opening replays the records. A record cut short, or whose CRC
 * fails, or that does not decode to one of those, ends the log: the file is truncated there (that
 * is what a crash in the middle of an append leaves) and what came before is kept. So corruption
 * inside the file (a flipped bit in the middle) also loses every record after it: the journal
 * restores a state it really had, an earlier one, never a mixed one.
 *
 * **Compaction**: when the log exceeds `compactAt` bytes and is more than twice the size of the
 * current state written as records (the session, the last acknowledged frame, the unacknowledged
 * ones, what was received), the state is written to `path + '.tmp'`, flushed, renamed over
 * `path`, and the directory flushed: a crash at any point leaves the old log or the new one, both
 * whole (opening removes a stray `.tmp`). A compaction that fails leaves the old log in use and is
 * tried again once it has doubled.
 *
 * Frames are kept as {@link rx-lifeline!msgpackCodec} carries them (a restored `Map` is a plain object, see
 * there). `seq` must be a positive integer for `sent` and a non-negative one for `acked` and
 * `received`, `id` and `token` strings (a `TypeError` otherwise). Every call is synchronous and
 * blocks the event loop for its write (and flush).
 *
 * **One process per file**: opening takes a lock, a file `path + '.lock'` created exclusively
 * (a draft created with `wx`, then hard-linked into place, so that it is never seen half written)
 * that names this process (pid, host name, and on Linux the boot id). A second `fileJournal` on the
 * same path, in this process or another on the same host, throws a {@link JournalLockedError}
 * naming the holder's pid, until the holder calls `close()`, which removes the lock. A lock whose
 * process is gone (a crash, a `SIGKILL`, an exit without `close()`: `process.kill(pid, 0)` finds no
 * such process, or the machine booted since) is stale and taken over. `resumable` does not close
 * the journal it was given when its stream ends: the journal can outlive one stream, to hand the
 * session to the next in the same process, so whoever opened it closes it. The lock does not see
 * processes on other hosts or in other pid namespaces (containers) sharing the file, so give each
 * client its own file; and it cannot tell a dead holder from a live process that has since taken
 * its pid, which then keeps the file locked until that process ends or the lock file is removed.
 *
 * A failure of the file system throws a {@link JournalError} (`reason: 'io'`) and closes the
 * journal, keeping nothing of that call.
 *
 * @param path The journal's file; created when missing (its directory must exist).
 * @example
 * ```ts
 * import { fileJournal } from 'rx-lifeline/node';
 * const journal = fileJournal('/tmp/client.journal');
 * journal.session('0'.repeat(32), '1'.repeat(32));
 * journal.sent(1, 'hello');
 * journal.close();
 * const again = fileJournal('/tmp/client.journal');
 * console.log(again.restore()?.frames); // [{ seq: 1, frame: 'hello' }]
 * again.clear();
 * again.close();
 * ```
 * @category Sessions
 */
export function fileJournal(path: string, options: FileJournalOptions = {}): FileSessionJournal {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`fileJournal: path must be a non-empty string, got ${describe(path)}`);
  }
  checkKnownOptions('fileJournal', options, OPTIONS);
  const {
    fsync = 'batch',
    compactAt = 1_048_576,
    maxRecordBytes = 16_777_216,
    scheduler = asyncScheduler,
  } = options;
  const policy = fsyncPolicy(fsync);
  checkScheduler('fileJournal', scheduler);
  checkNumber('fileJournal', 'compactAt', compactAt, { min: 0, max: Infinity });
  checkNumber('fileJournal', 'maxRecordBytes', maxRecordBytes, { min: 1, max: 0xffffffff, integer: true });
  const file = new JournalFile({ path, policy, compactAt, maxRecordBytes, scheduler });
  const { mirror } = file;
  return {
    path,
    get bytes() {
      return file.bytes;
    },
    restore() {
      file.handle();
      return mirror.memory.restore();
    },
    session(id, token) {
      if (typeof id !== 'string' || typeof token !== 'string') {
        throw new TypeError(
          `fileJournal.session: id and token must be strings, got ${describe(id)} and ${describe(token)}`,
        );
      }
      file.append(records.session(id, token), () => mirror.session(id, token), true);
    },
    sent(seq, frame) {
      checkSeq('sent', seq, 1);
      file.append(records.sent(seq, frame), () => mirror.sent(seq, frame));
    },
    acked(seq) {
      checkSeq('acked', seq, 0);
      file.append(records.acked(seq), () => mirror.acked(seq));
    },
    received(seq) {
      checkSeq('received', seq, 0);
      file.append(records.received(seq), () => mirror.received(seq));
    },
    clear() {
      file.append(records.clear(), () => mirror.clear(), true);
    },
    commit() {
      file.commit();
    },
    close() {
      file.close();
    },
  };
}

function checkSeq(call: string, seq: unknown, min: number): void {
  checkNumber(`fileJournal.${call}`, 'seq', seq, { min, max: Number.MAX_SAFE_INTEGER, integer: true });
}
