/**
 * One writer per journal file: a lock file beside it, `path + '.lock'`, created exclusively and
 * naming the process that holds it. Node has no `flock`, so the lock is a file: a process that dies
 * leaves it behind, and the next opener takes it over once it sees that its process is gone.
 * @internal
 * @packageDocumentation
 */
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { JournalLockedError, type JournalLockHolder } from './journal-errors.js';

/** What a lock file holds: its holder, and the boot it was written in (Linux), to spot a reboot. */
interface LockRecord extends JournalLockHolder {
  readonly boot: string | undefined;
}

/** Attempts before giving up on a lock that keeps changing hands under us. */
const ATTEMPTS = 5;

/** The journals this process holds (resolved paths), shared by every copy of the library. */
const held: Set<string> = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('rx-lifeline.fileJournal.held')
] ??= new Set<string>()) as Set<string>;

/**
 * Takes the lock of the journal at `path` (`key` is its resolved path) for this process, or throws
 * a {@link JournalLockedError} naming the live holder. Returns the function that releases it.
 */
export function lockJournal(path: string, key: string): () => void {
  const lockPath = `${key}.lock`;
  if (held.has(key)) {
    throw new JournalLockedError(
      `fileJournal: ${path} is already open in this process (pid ${process.pid}); close that journal first (one journal per file)`,
      { path, lockPath, holder: { pid: process.pid, host: hostname() } },
    );
  }
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), boot: bootId() });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (create(lockPath, mine)) {
      held.add(key);
      return () => release(key, lockPath, mine);
    }
    const holder = read(lockPath);
    if (holder === 'gone') continue;
    if (holder === undefined || alive(holder)) throw locked(path, lockPath, holder);
    breakStale(lockPath, holder);
  }
  throw new JournalLockedError(
    `fileJournal: the lock of ${path} (${lockPath}) kept changing hands while this process tried to take it; another process is opening the journal: try again`,
    { path, lockPath, holder: undefined },
  );
}

function locked(path: string, lockPath: string, holder: LockRecord | undefined): JournalLockedError {
  const message =
    holder === undefined
      ? `fileJournal: ${path} is locked by ${lockPath}, which this library did not write; remove that file if no process uses the journal`
      : `fileJournal: ${path} is in use by process ${holder.pid} on ${holder.host} (lock file ${lockPath}); stop that process or close its journal, then open it again (remove the lock file only if no process uses the journal)`;
  return new JournalLockedError(message, {
    path,
    lockPath,
    holder: holder && { pid: holder.pid, host: holder.host },
  });
}

/**
 * Creates `file` holding `content`, unless it exists. The content is written to a file of this
 * process first (created with `wx`, O_EXCL) and linked into place, so that a reader never sees a
 * lock half written, and a crash leaves no empty lock behind.
 */
function create(file: string, content: string): boolean {
  const draft = `${file}.${randomUUID()}`;
  const fd = openSync(draft, 'wx');
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(draft, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    removeQuietly(draft);
  }
}

/** The lock file's holder; `'gone'` when there is no lock file; `undefined` when it is not ours. */
function read(file: string): LockRecord | 'gone' | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<Record<keyof LockRecord, unknown>>;
    if (!Number.isSafeInteger(value.pid) || (value.pid as number) <= 0) return undefined;
    return {
      pid: value.pid as number,
      host: typeof value.host === 'string' ? value.host : 'an unknown host',
      boot: typeof value.boot === 'string' ? value.boot : undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * Whether the process a lock names may still hold it. A lock written before the machine last
 * booted is dead; one naming this process is a leftover of an earlier process that had this pid
 * (`held` says what this process holds: a container's pid 1 comes back as pid 1); otherwise the
 * signal 0 probe says whether the pid exists (`EPERM`: it exists, under another user).
 */
function alive(holder: LockRecord): boolean {
  const boot = bootId();
  if (holder.boot !== undefined && boot !== undefined && holder.boot !== boot) return false;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes a dead holder's lock, under a second lock (`.break`) so that two processes that both saw
 * it dead cannot remove the lock one of them has just taken: whoever holds `.break` reads the lock
 * again and removes it only if it still names the dead holder. A `.break` whose own process died
 * is removed in turn.
 */
function breakStale(lockPath: string, dead: LockRecord): void {
  const guard = `${lockPath}.break`;
  if (!create(guard, JSON.stringify({ pid: process.pid, host: hostname(), boot: bootId() }))) {
    const breaker = read(guard);
    if (breaker !== 'gone' && breaker !== undefined && !alive(breaker)) removeQuietly(guard);
    return;
  }
  try {
    const now = read(lockPath);
    if (now !== 'gone' && now !== undefined && now.pid === dead.pid && now.boot === dead.boot) {
      removeQuietly(lockPath);
    }
  } finally {
    removeQuietly(guard);
  }
}

function release(key: string, lockPath: string, mine: string): void {
  if (!held.delete(key)) return;
  try {
    // Only our own lock: one that another process took over (it thought us dead) stays its own.
    if (readFileSync(lockPath, 'utf8') === mine) unlinkSync(lockPath);
  } catch {
    // Gone already, or unreadable: the next opener decides by the pid it names.
  }
}

let boot: string | null | undefined;

/** This boot's id (Linux), so that a lock from before a reboot is known dead whatever its pid. */
function bootId(): string | undefined {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      boot = null;
    }
  }
  return boot ?? undefined;
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}
