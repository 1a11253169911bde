/**
 * When a {@link fileJournal} flushes its records to the device: the `fsync` option, checked, and
 * the timer of its per-interval mode.
 * @internal
 * @packageDocumentation
 */
import type { SchedulerLike, Subscription } from 'rxjs';
import { checkKnownOptions, checkNumber, describe, MAX_DELAY } from '../internal/validate.js';

/**
 * The `fsync` option of {@link fileJournal}: a mode, or an interval.
 *
 * @example
 * ```ts
 * import { fileJournal, type JournalFsync } from 'rx-lifeline/node';
 * const fsync: JournalFsync = { everyMs: 100 };
 * fileJournal('/tmp/interval.journal', { fsync }).close();
 * ```
 * @category Sessions
 */
export type JournalFsync = 'batch' | 'always' | 'never' | { readonly everyMs: number };

/** The option, resolved: whether records wait for a commit, and when they are flushed. */
export interface FsyncPolicy {
  /** Records wait in memory for `commit` (`'batch'` and the interval), else each is written at once. */
  readonly batches: boolean;
  /** Every write is flushed before it returns (`'batch'` and `'always'`). */
  readonly flushesEachWrite: boolean;
  /** The interval in milliseconds; `undefined` outside the interval mode. */
  readonly everyMs: number | undefined;
}

/** Checks `fsync` (a `TypeError` naming what is wrong) and resolves it. */
export function fsyncPolicy(fsync: unknown): FsyncPolicy {
  switch (fsync) {
    case 'batch':
      return { batches: true, flushesEachWrite: true, everyMs: undefined };
    case 'always':
      return { batches: false, flushesEachWrite: true, everyMs: undefined };
    case 'never':
      return { batches: false, flushesEachWrite: false, everyMs: undefined };
  }
  if (typeof fsync !== 'object' || fsync === null || Array.isArray(fsync)) {
    throw new TypeError(
      `fileJournal: fsync must be 'batch', 'always', 'never' or { everyMs }, got ${describe(fsync)}`,
    );
  }
  checkKnownOptions('fileJournal: fsync', fsync, { everyMs: true });
  const { everyMs } = fsync as { everyMs?: unknown };
  checkNumber('fileJournal', 'fsync.everyMs', everyMs, { min: 0, exclusive: true, max: MAX_DELAY });
  return { batches: true, flushesEachWrite: false, everyMs: everyMs as number };
}

/**
 * The interval mode's timer, on the journal's scheduler: armed by the first write after a flush,
 * it flushes `everyMs` later, so that no record stays unflushed longer than that (plus the flush
 * itself), and no timer runs while nothing is written. A Node timer behind it (the
 * `asyncScheduler`'s) is unref'd: it never keeps a process alive.
 */
export class IntervalFlush {
  #timer: Subscription | undefined;
  #dirty = false;
  readonly #everyMs: number;
  readonly #flush: () => void;
  readonly #scheduler: SchedulerLike;

  constructor(everyMs: number, flush: () => void, scheduler: SchedulerLike) {
    this.#everyMs = everyMs;
    this.#flush = flush;
    this.#scheduler = scheduler;
  }

  /** True while a flush is due. */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Something was written and not flushed. */
  wrote(): void {
    this.#dirty = true;
    if (this.#timer !== undefined) return;
    const timer = this.#scheduler.schedule(() => this.#due(), this.#everyMs);
    // A scheduler may run a due action inside schedule(): then it flushed already.
    if (!timer.closed) this.#timer = unref(timer);
  }

  /** Everything written so far was flushed (by a write that flushed, or a compaction). */
  flushed(): void {
    this.#dirty = false;
  }

  /** Flushes now if something is unflushed (on close). */
  flushNow(): void {
    if (!this.#dirty) return;
    this.#flush();
    this.#dirty = false;
  }

  dispose(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
  }

  #due(): void {
    this.#timer = undefined;
    this.flushNow();
  }
}

/**
 * Unrefs the Node timer an RxJS `AsyncAction` (what `asyncScheduler.schedule` returns) keeps in its
 * `id`, so that a pending flush does not keep the process alive; any other action is left as is.
 */
function unref(action: Subscription): Subscription {
  (action as { id?: { unref?: () => void } }).id?.unref?.();
  return action;
}
