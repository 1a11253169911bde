/**
 * The errors of {@link fileJournal}: one family, all {@link JournalError}s.
 * @packageDocumentation
 */
import { LifelineError } from '../core/errors.js';

/**
 * Why a {@link JournalError} was thrown.
 *
 * - `'io'`: the file system failed (see `cause`); the journal closed itself.
 * - `'closed'`: the journal was closed (by `close()` or after an `'io'` error).
 * - `'too-large'`: a record larger than `maxRecordBytes`; nothing was kept, the journal goes on.
 * - `'unencodable'`: a frame that MessagePack cannot carry (see `cause`); nothing was kept.
 * - `'busy'`: another journal holds the file, in this process or another (a {@link JournalLockedError}).
 *
 * @example
 * ```ts
 * import type { JournalErrorReason } from 'rx-lifeline/node';
 * const reopenable = (reason: JournalErrorReason) => reason === 'io' || reason === 'closed';
 * ```
 * @category Sessions
 */
export type JournalErrorReason = 'io' | 'closed' | 'too-large' | 'unencodable' | 'busy';

/**
 * A {@link fileJournal} could not open, read or keep a record: the message names the file and
 * what to do, `cause` holds the file system's error.
 *
 * @example
 * ```ts
 * import { fileJournal, JournalError } from 'rx-lifeline/node';
 * try {
 *   fileJournal('/nonexistent/dir/client.journal');
 * } catch (error) {
 *   if (JournalError.is(error)) console.log(error.reason, error.path); // 'io' '/nonexistent/dir/client.journal'
 * }
 * ```
 * @category Sessions
 */
export class JournalError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'JournalError';

  /** The journal's file. */
  readonly path: string;
  /** What went wrong. */
  readonly reason: JournalErrorReason;

  constructor(message: string, options: { path: string; reason: JournalErrorReason; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
    this.reason = options.reason;
  }
}

/**
 * Who holds a journal's lock, as its lock file says.
 *
 * @example
 * ```ts
 * import type { JournalLockHolder } from 'rx-lifeline/node';
 * const holder: JournalLockHolder = { pid: 4242, host: 'worker-1' };
 * ```
 * @category Sessions
 */
export interface JournalLockHolder {
  /** The process id of the holder. */
  readonly pid: number;
  /** The host name it ran on, for the message: a lock is only checked on the host that reads it. */
  readonly host: string;
}

/**
 * {@link fileJournal} refused to open a file that another journal holds: another process that is
 * still alive (its lock file names it), or another journal of this process. Only one process may
 * write a journal, or their records would interleave and resume one session twice. Stop the other
 * process or `close()` the other journal, then open it again; a lock whose process is dead is
 * taken over on its own, so this error always names a process that was alive when it was thrown
 * (or, with `holder` undefined, a lock file this library did not write).
 *
 * @example
 * ```ts
 * import { fileJournal, JournalLockedError } from 'rx-lifeline/node';
 * const first = fileJournal('/tmp/locked.journal');
 * try {
 *   fileJournal('/tmp/locked.journal');
 * } catch (error) {
 *   if (JournalLockedError.is(error)) console.log(error.holder?.pid === process.pid); // true
 * }
 * first.close();
 * ```
 * @category Sessions
 */
export class JournalLockedError extends JournalError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'JournalLockedError';

  /** Who holds the lock; `undefined` when the lock file does not say (not one this library wrote). */
  readonly holder: JournalLockHolder | undefined;
  /** The lock file: the journal's path with `.lock` appended. */
  readonly lockPath: string;

  constructor(
    message: string,
    options: { path: string; lockPath: string; holder: JournalLockHolder | undefined },
  ) {
    super(message, { path: options.path, reason: 'busy' });
    this.holder = options.holder;
    this.lockPath = options.lockPath;
  }
}
