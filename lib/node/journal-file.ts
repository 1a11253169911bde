/**
 * The open log file of a {@link fileJournal}: its lock, appends, commits, flushes, compaction and
 * close.
 * @internal
 * @packageDocumentation
 */
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SchedulerLike } from 'rxjs';
import { JournalError } from './journal-errors.js';
import { IntervalFlush, type FsyncPolicy } from './journal-fsync.js';
import { lockJournal } from './journal-lock.js';
import { JournalMirror, JournalRecords } from './journal-records.js';
import { describeError } from '../internal/describe-value.js';

/** What {@link JournalFile} is opened with. */
export interface JournalFileSettings {
  readonly path: string;
  readonly policy: FsyncPolicy;
  readonly compactAt: number;
  readonly maxRecordBytes: number;
  /** Runs the interval mode's timer. */
  readonly scheduler: SchedulerLike;
}

/**
 * One journal file, locked and open: the state its records rebuilt, and every write to it. A
 * failure of the file system closes it (and releases the lock); each later call throws a
 * {@link JournalError} that says why.
 */
export class JournalFile {
  /** The state the records describe, kept in memory. */
  readonly mirror = new JournalMirror();
  /** The size of the log. */
  bytes = 0;
  readonly #settings: JournalFileSettings;
  readonly #records: JournalRecords;
  readonly #unlock: () => void;
  readonly #tmp: string;
  readonly #interval: IntervalFlush | undefined;
  #fd: number | undefined;
  /** Records told under `'batch'` or an interval and not yet committed, in order. */
  #pending: Buffer[] = [];
  /** The size past which the log is looked at for compaction. */
  #nextCheck: number;
  #closedBy: 'close' | 'error' | undefined;
  /** The file system's error that closed the journal, for the next call's message. */
  #failure: unknown;

  /** Locks `settings.path`, opens it (created if missing) and replays its records. */
  constructor(settings: JournalFileSettings) {
    this.#settings = settings;
    const { path, policy, compactAt, maxRecordBytes, scheduler } = settings;
    this.#records = new JournalRecords(path, maxRecordBytes);
    this.#tmp = `${path}.tmp`;
    this.#nextCheck = Math.max(compactAt, 0);
    // One writer per file: two would interleave records and resume one session twice.
    try {
      this.#unlock = lockJournal(path, resolve(path));
    } catch (error) {
      if (JournalError.is(error)) throw error;
      throw this.#io('lock', error, 'check the path and permissions, then try again');
    }
    this.#open();
    this.#interval =
      policy.everyMs === undefined
        ? undefined
        : new IntervalFlush(policy.everyMs, () => this.#flushInBackground(), scheduler);
  }

  get #path(): string {
    return this.#settings.path;
  }

  /**
   * Keeps one call's record, then runs `then` (which applies the call to the mirror): under
   * `'batch'` or an interval it waits for the next commit (or, with `now`, is written at once with
   * what is pending, and flushed unless under `'never'`); otherwise it is written now (and flushed
   * under `'always'`).
   */
  append(fields: unknown[], then: () => void, now = false): void {
    const fd = this.handle();
    const bytes = this.#records.encode(fields);
    const { policy } = this.#settings;
    if (policy.batches && !now) {
      this.#pending.push(bytes);
      then();
      return;
    }
    const pending = this.#pending;
    this.#write(
      fd,
      pending.length > 0 ? Buffer.concat([...pending, bytes]) : bytes,
      policy.flushesEachWrite || (now && this.#interval !== undefined),
    );
    then();
    if (this.bytes > this.#nextCheck) this.#compact();
  }

  /** Writes what is pending in one write (and one flush under `'batch'`). */
  commit(): void {
    const fd = this.handle();
    if (this.#pending.length === 0) return;
    this.#write(fd, Buffer.concat(this.#pending), this.#settings.policy.flushesEachWrite);
    if (this.bytes > this.#nextCheck) this.#compact();
  }

  /** Commits what is pending, flushes what is unflushed, closes the file and releases the lock. */
  close(): void {
    if (this.#fd === undefined) return;
    if (this.#pending.length > 0) this.commit();
    this.#interval?.flushNow();
    if (this.#fd === undefined) throw this.#io('flush', this.#failure); // the flush failed and closed it
    this.#shut('close');
  }

  /** The open file; throws a JournalError once closed, saying why. */
  handle(): number {
    if (this.#fd !== undefined) return this.#fd;
    const path = this.#path;
    const failure = this.#failure;
    throw new JournalError(
      this.#closedBy === 'error'
        ? `fileJournal: ${path} was closed after a file system error${failure === undefined ? '' : ` (${describeError(failure)})`}; open it again with fileJournal(path)`
        : `fileJournal: ${path} is closed; open it again with fileJournal(path)`,
      { path, reason: 'closed', ...(failure === undefined ? {} : { cause: failure }) },
    );
  }

  /** Opens the log, replays it into the mirror and cuts a torn tail; unlocks if that fails. */
  #open(): void {
    const path = this.#path;
    let fd: number | undefined;
    try {
      removeStray(this.#tmp);
      const created = !existsSync(path);
      fd = openSync(path, 'a+');
      if (created) syncDirectory(path);
      const { end, size } = this.#replay(fd);
      if (end < size) {
        ftruncateSync(fd, end);
        fsyncSync(fd);
      }
      this.bytes = end;
      this.#fd = fd;
    } catch (error) {
      if (fd !== undefined) closeQuietly(fd);
      this.#unlock();
      throw this.#io('open and read', error, 'check the path and permissions, then try again');
    }
  }

  #replay(fd: number): { end: number; size: number } {
    const size = fstatSync(fd).size;
    const buffer = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return { end: this.#records.replay(buffer, read, this.mirror), size };
  }

  #write(fd: number, bytes: Buffer, flush: boolean): void {
    try {
      writeAll(fd, bytes);
      if (flush) fdatasyncSync(fd);
    } catch (error) {
      // Leave no partial record behind a later append; the journal is no longer trusted anyway.
      try {
        ftruncateSync(fd, this.bytes);
      } catch {
        // opening again drops the torn tail
      }
      this.#failure = error;
      this.#shut('error');
      throw this.#io('append to', error);
    }
    this.bytes += bytes.length;
    this.#pending = [];
    if (flush) this.#interval?.flushed();
    else this.#interval?.wrote();
  }

  /** The interval's flush, off the timer: a failure closes the journal, the next call says why. */
  #flushInBackground(): void {
    if (this.#fd === undefined) return;
    try {
      fdatasyncSync(this.#fd);
    } catch (error) {
      this.#failure = error;
      this.#shut('error');
    }
  }

  /**
   * Rewrites the log with only the current state's records, when it is more than twice their size:
   * into `path.tmp`, flushed, renamed over the log, the directory flushed. A failure before the
   * rename keeps the old log and waits until it has doubled.
   */
  #compact(): void {
    const records = this.#records.snapshot(this.mirror);
    const size = records.reduce((sum, r) => sum + r.length, 0);
    const { compactAt } = this.#settings;
    if (this.bytes <= 2 * size) {
      this.#nextCheck = Math.max(compactAt, 2 * size);
      return;
    }
    if (!this.#replaceLog(records)) {
      this.#nextCheck = 2 * this.bytes;
      return;
    }
    const old = this.#fd!;
    try {
      this.#fd = openSync(this.#path, 'a+');
    } catch (error) {
      this.#fd = old;
      this.#shut('error');
      throw this.#io('reopen after compacting', error);
    }
    closeQuietly(old);
    this.bytes = size;
    this.#interval?.flushed(); // the new log was flushed whole
    this.#nextCheck = Math.max(compactAt, 2 * size);
  }

  /** Writes `records` as the new log; false if it could not be put in place (nothing changed). */
  #replaceLog(records: Buffer[]): boolean {
    const path = this.#path;
    const tmp = this.#tmp;
    let renamed = false;
    try {
      const out = openSync(tmp, 'w');
      try {
        writeAll(out, Buffer.concat(records));
        fsyncSync(out);
      } finally {
        closeSync(out);
      }
      renameSync(tmp, path);
      renamed = true;
      syncDirectory(path);
    } catch {
      if (!renamed) {
        removeQuietly(tmp);
        return false;
      }
      // The new log is in place, its rename perhaps not yet durable: use it all the same.
    }
    return true;
  }

  #shut(by: 'close' | 'error'): void {
    if (this.#fd === undefined) return;
    closeQuietly(this.#fd);
    this.#fd = undefined;
    this.#closedBy = by;
    this.#interval?.dispose();
    this.#unlock();
  }

  #io(
    doing: string,
    error: unknown,
    what = 'check the disk (space, permissions) and open it again',
  ): JournalError {
    const path = this.#path;
    return new JournalError(
      `fileJournal: could not ${doing} ${path} (${describeError(error)}); ${what} with fileJournal(path)`,
      { path, reason: 'io', cause: error },
    );
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** Flushes the directory holding `path`, so that a new name in it survives a machine crash. */
function syncDirectory(path: string): void {
  let dir: number | undefined;
  try {
    dir = openSync(dirname(resolve(path)), 'r');
    fsyncSync(dir);
  } catch (error) {
    // Some platforms and file systems cannot flush a directory (EISDIR, EINVAL, EPERM on Windows).
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    if (dir !== undefined) closeQuietly(dir);
  }
}

function removeStray(tmp: string): void {
  try {
    unlinkSync(tmp);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // nothing to do: opening removes a stray .tmp
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed, or the system refused: nothing more to do with it
  }
}
