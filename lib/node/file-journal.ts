/**
 * A {@link SessionJournal} in a file, so that a client whose process crashes resumes its session.
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
import { msgpackCodec } from '../codec/codec.js';
import { isLayerOwnFrame, layerOwnFrame } from '../internal/layer-own-frame.js';
import { checkKnownOptions, checkNumber, describe, type KnownOptions } from '../internal/validate.js';
import { memoryJournal, type JournalState, type SessionJournal } from '../protocol/resumable/journal.js';
import { crc32 } from './crc32.js';
import { JournalError } from './journal-errors.js';
import { fsyncPolicy, IntervalFlush, type JournalFsync } from './journal-fsync.js';
import { lockJournal } from './journal-lock.js';

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
   *   never silent. The timer is unref'd (it does not keep the process alive) and cleared by
   *   `close()`, which flushes what is unflushed. A flush that fails on the timer closes the
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

const SESSION = 1;
const SENT = 2;
const ACKED = 3;
const RECEIVED = 4;
const CLEAR = 5;

/** The fourth field of a `sent` record whose frame a protocol layer sent for itself. */
const LAYER_OWN = 1;

/** A `sent` record: `[2, seq, frame]`, with a fourth field `1` for a layer's own frame. */
function sentRecord(seq: number, frame: unknown): unknown[] {
  return isLayerOwnFrame(frame) ? [SENT, seq, frame, LAYER_OWN] : [SENT, seq, frame];
}

/** Bytes before a record's body: its length and its CRC-32, both u32 big-endian. */
const HEADER = 8;

const OPTIONS: KnownOptions<FileJournalOptions> = { fsync: true, compactAt: true, maxRecordBytes: true };

/**
 * A {@link SessionJournal} kept in a file, for `resumable({ journal })` in a Node client whose
 * process may die: it behaves exactly like {@link memoryJournal} (it keeps its state in one), and
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
 * Frames are kept as {@link msgpackCodec} carries them (a restored `Map` is a plain object, see
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
  const { fsync = 'batch', compactAt = 1_048_576, maxRecordBytes = 16_777_216 } = options;
  const policy = fsyncPolicy(fsync);
  checkNumber('fileJournal', 'compactAt', compactAt, { min: 0, max: Infinity });
  checkNumber('fileJournal', 'maxRecordBytes', maxRecordBytes, { min: 1, max: 0xffffffff, integer: true });
  const codec = msgpackCodec({ int64AsType: 'number', maxInflation: Infinity });
  const memory = memoryJournal();
  /** False while the state is empty but for `received` (restore() says undefined). */
  let visible = false;
  /** `received` while not visible: restore() does not show it, compaction must keep it. */
  let hiddenReceived = 0;
  const apply = {
    session(id: string, token: string) {
      memory.session(id, token);
      visible = true;
    },
    sent(seq: number, frame: unknown) {
      memory.sent(seq, frame);
      visible = true;
    },
    acked: (seq: number) => memory.acked(seq),
    received(seq: number) {
      memory.received(seq);
      if (!visible && seq > hiddenReceived) hiddenReceived = seq;
    },
    clear() {
      memory.clear();
      visible = false;
      hiddenReceived = 0;
    },
  };

  const io = (
    doing: string,
    error: unknown,
    what = 'check the disk (space, permissions) and open it again',
  ) =>
    new JournalError(
      `fileJournal: could not ${doing} ${path} (${describeCause(error)}); ${what} with fileJournal(path)`,
      { path, reason: 'io', cause: error },
    );

  // One writer per file: two would interleave records and resume one session twice.
  let unlock: () => void;
  try {
    unlock = lockJournal(path, resolve(path));
  } catch (error) {
    if (JournalError.is(error)) throw error;
    throw io('lock', error, 'check the path and permissions, then try again');
  }

  let fd: number | undefined;
  let bytes = 0;
  const tmp = `${path}.tmp`;
  try {
    removeStray(tmp);
    const created = !existsSync(path);
    fd = openSync(path, 'a+');
    if (created) syncDirectory(path);
    const good = replay(fd);
    bytes = good.end;
    if (good.end < good.size) {
      ftruncateSync(fd, good.end);
      fsyncSync(fd);
    }
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd);
    unlock();
    throw io('open and read', error, 'check the path and permissions, then try again');
  }

  let nextCheck = Math.max(compactAt, 0);
  let closedBy: 'close' | 'error' | undefined;
  /** The file system's error that closed the journal, for the next call's message. */
  let failure: unknown;

  function replay(handle: number): { end: number; size: number } {
    const size = fstatSync(handle).size;
    const buffer = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) {
      const n = readSync(handle, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    let at = 0;
    while (at + HEADER <= read) {
      const length = buffer.readUInt32BE(at);
      if (length > maxRecordBytes || at + HEADER + length > read) break;
      const start = at + HEADER;
      if (crc32(buffer, start, start + length) !== buffer.readUInt32BE(at + 4)) break;
      let body: unknown;
      try {
        body = codec.decodeRange!(buffer, start, start + length);
      } catch {
        break;
      }
      if (!applyRecord(body)) break;
      at = start + length;
    }
    return { end: at, size };
  }

  function applyRecord(body: unknown): boolean {
    if (!Array.isArray(body)) return false;
    const [kind, a, b] = body as unknown[];
    switch (kind) {
      case SESSION:
        if (body.length !== 3 || typeof a !== 'string' || typeof b !== 'string') return false;
        apply.session(a, b);
        return true;
      case SENT:
        if (!isSeq(a, 1)) return false;
        if (body.length === 3) apply.sent(a, b);
        else if (body.length === 4 && body[3] === LAYER_OWN && typeof b === 'object' && b !== null) {
          apply.sent(a, layerOwnFrame(b));
        } else return false;
        return true;
      case ACKED:
      case RECEIVED:
        if (body.length !== 2 || !isSeq(a, 0)) return false;
        if (kind === ACKED) apply.acked(a);
        else apply.received(a);
        return true;
      case CLEAR:
        if (body.length !== 1) return false;
        apply.clear();
        return true;
      default:
        return false;
    }
  }

  function record(fields: unknown[]): Buffer {
    let body: Uint8Array;
    try {
      body = codec.encode(fields);
    } catch (error) {
      throw new JournalError(
        `fileJournal: a frame MessagePack cannot carry (${describeCause(error)}); nothing was kept in ${path}`,
        { path, reason: 'unencodable', cause: error },
      );
    }
    if (body.length > maxRecordBytes) {
      throw new JournalError(
        `fileJournal: a record of ${body.length} bytes is over maxRecordBytes (${maxRecordBytes}); ` +
          `nothing was kept in ${path}: send smaller frames or raise maxRecordBytes`,
        { path, reason: 'too-large' },
      );
    }
    const out = Buffer.allocUnsafe(HEADER + body.length);
    out.writeUInt32BE(body.length, 0);
    out.writeUInt32BE(crc32(body), 4);
    out.set(body, HEADER);
    return out;
  }

  function handle(): number {
    if (fd === undefined) {
      throw new JournalError(
        closedBy === 'error'
          ? `fileJournal: ${path} was closed after a file system error${failure === undefined ? '' : ` (${describeCause(failure)})`}; open it again with fileJournal(path)`
          : `fileJournal: ${path} is closed; open it again with fileJournal(path)`,
        { path, reason: 'closed', ...(failure === undefined ? {} : { cause: failure }) },
      );
    }
    return fd;
  }

  /** Records told under `'batch'` or an interval and not yet committed, in order. */
  let pending: Buffer[] = [];

  /**
   * Keeps one call: under `'batch'` or an interval in `pending` until the next commit (or at once
   * with `now`, together with what is pending, and flushed unless under `'never'`), otherwise
   * written (and flushed under `'always'`) now.
   */
  function append(fields: unknown[], then: () => void, now = false): void {
    const handleNow = handle();
    const bytesOut = record(fields);
    if (policy.batches && !now) {
      pending.push(bytesOut);
      then();
      return;
    }
    write(
      handleNow,
      pending.length > 0 ? Buffer.concat([...pending, bytesOut]) : bytesOut,
      policy.flushesEachWrite || (now && interval !== undefined),
    );
    then();
    if (bytes > nextCheck) compact();
  }

  /** Writes what is pending in one write (and one flush under `'batch'`). */
  function commitPending(): void {
    const handleNow = handle();
    if (pending.length === 0) return;
    write(handleNow, Buffer.concat(pending), policy.flushesEachWrite);
    if (bytes > nextCheck) compact();
  }

  /** The interval's flush, off the timer: a failure closes the journal, the next call says why. */
  function flushInBackground(): void {
    if (fd === undefined) return;
    try {
      fdatasyncSync(fd);
    } catch (error) {
      failure = error;
      shut('error');
    }
  }
  const interval =
    policy.everyMs === undefined ? undefined : new IntervalFlush(policy.everyMs, flushInBackground);

  function write(handleNow: number, bytesOut: Buffer, flush: boolean): void {
    try {
      writeAll(handleNow, bytesOut);
      if (flush) fdatasyncSync(handleNow);
    } catch (error) {
      // Leave no partial record behind a later append; the journal is no longer trusted anyway.
      try {
        ftruncateSync(handleNow, bytes);
      } catch {
        // opening again drops the torn tail
      }
      failure = error;
      shut('error');
      throw io('append to', error);
    }
    bytes += bytesOut.length;
    pending = [];
    if (flush) interval?.flushed();
    else interval?.wrote();
  }

  function snapshot(): Buffer[] {
    const state: JournalState | undefined = memory.restore();
    if (state === undefined) return hiddenReceived > 0 ? [record([RECEIVED, hiddenReceived])] : [];
    const out: Buffer[] = [];
    if (state.session !== undefined) out.push(record([SESSION, state.session, state.token]));
    // The last acknowledged frame first, retired at once: it keeps `lastAcked`, which tells a
    // restarted application what was delivered (and `lastSeq` when no frame is left: frames leave
    // only through an acknowledgement, so a state with none and a lastSeq has a lastAcked).
    const { lastAcked } = state;
    if (lastAcked !== undefined) {
      out.push(record([SENT, lastAcked.seq, lastAcked.frame]), record([ACKED, lastAcked.seq]));
    }
    // Frames a layer sent for itself after it, all acknowledged: one stands in for them, so that
    // `lastSeq` survives without replacing `lastAcked`.
    const ackedThrough = (state.frames[0]?.seq ?? state.lastSeq + 1) - 1;
    if (ackedThrough > (lastAcked?.seq ?? 0)) {
      out.push(record([SENT, ackedThrough, [], LAYER_OWN]), record([ACKED, ackedThrough]));
    }
    for (const { seq, frame } of state.frames) out.push(record(sentRecord(seq, frame)));
    if (state.received > 0) out.push(record([RECEIVED, state.received]));
    return out;
  }

  function compact(): void {
    const records = snapshot();
    const size = records.reduce((sum, r) => sum + r.length, 0);
    if (bytes <= 2 * size) {
      nextCheck = Math.max(compactAt, 2 * size);
      return;
    }
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
        nextCheck = 2 * bytes;
        return;
      }
      // The new log is in place, its rename perhaps not yet durable: use it all the same.
    }
    const old = fd!;
    try {
      fd = openSync(path, 'a+');
    } catch (error) {
      fd = old;
      shut('error');
      throw io('reopen after compacting', error);
    }
    closeQuietly(old);
    bytes = size;
    interval?.flushed(); // the new log was flushed whole
    nextCheck = Math.max(compactAt, 2 * size);
  }

  function shut(by: 'close' | 'error'): void {
    if (fd === undefined) return;
    closeQuietly(fd);
    fd = undefined;
    closedBy = by;
    interval?.dispose();
    unlock();
  }

  return {
    path,
    get bytes() {
      return bytes;
    },
    restore() {
      handle();
      return memory.restore();
    },
    session(id, token) {
      if (typeof id !== 'string' || typeof token !== 'string') {
        throw new TypeError(
          `fileJournal.session: id and token must be strings, got ${describe(id)} and ${describe(token)}`,
        );
      }
      append([SESSION, id, token], () => apply.session(id, token), true);
    },
    sent(seq, frame) {
      checkSeq('sent', seq, 1);
      append(sentRecord(seq, frame), () => apply.sent(seq, frame));
    },
    acked(seq) {
      checkSeq('acked', seq, 0);
      append([ACKED, seq], () => apply.acked(seq));
    },
    received(seq) {
      checkSeq('received', seq, 0);
      append([RECEIVED, seq], () => apply.received(seq));
    },
    clear() {
      append([CLEAR], () => apply.clear(), true);
    },
    commit() {
      commitPending();
    },
    close() {
      if (fd === undefined) return;
      if (pending.length > 0) commitPending();
      interval?.flushNow();
      if (fd === undefined) throw io('flush', failure); // the flush failed and closed it
      shut('close');
    },
  };
}

function isSeq(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function checkSeq(call: string, seq: unknown, min: number): void {
  checkNumber(`fileJournal.${call}`, 'seq', seq, { min, max: Number.MAX_SAFE_INTEGER, integer: true });
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

function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${code}: ${error.message}`;
  }
  return describe(error);
}
