/**
 * A {@link SessionJournal} in IndexedDB, so that a browser tab that is reloaded or crashes resumes
 * its session.
 * @packageDocumentation
 */
import { asyncScheduler, ReplaySubject, type Observable, type SchedulerLike } from 'rxjs';
import { msgpackCodec } from '../../codec/codec.js';
import { Fifo } from '../../internal/fifo.js';
import { describeError } from '../../internal/describe-value.js';
import {
  checkBoolean,
  checkKnownOptions,
  checkNonEmptyString,
  checkNumber,
  checkOneOf,
  checkScheduler,
  describe,
  POSITIVE_DURATION,
  type KnownOptions,
  type NumberRule,
} from '../../internal/validate.js';
import { isLayerOwnFrame, layerOwnFrame } from '../../internal/layer-own-frame.js';
import {
  loadAndClaim,
  openDatabase,
  writeBatch,
  type Loaded,
  type StoredCounters,
  type StoredFrame,
  type StoredLastAcked,
} from './idb-store.js';
import { Deadline } from '../../internal/timer-queue.js';
import { type JournalFrame, type JournalState, type SessionJournal } from './journal.js';
import { IndexedDbJournalError, JournalFullError, JournalHeldError } from './journal-errors.js';
import { lockTab, type TabLock } from './tab-lock.js';

/**
 * Options of {@link indexedDbJournal}.
 *
 * @example
 * ```ts
 * import { indexedDbJournal, type IndexedDbJournalOptions } from 'rx-lifeline';
 * const options: IndexedDbJournalOptions = { maxFrames: 10_000, takeOver: true };
 * const journal = await indexedDbJournal('chat', options);
 * ```
 * @category Sessions
 */
export interface IndexedDbJournalOptions {
  /**
   * The most unacknowledged frames kept: one more is refused with a {@link JournalFullError}. Keep
   * it at least `resumable`'s own `maxFrames`, so that `resumable` refuses first. It does not
   * bound inbound frames, which are never kept.
   * @default 65_536 (as `resumable`)
   */
  maxFrames?: number;
  /**
   * The most bytes (MessagePack) of unacknowledged frames kept: a frame that would go past it is
   * refused with a {@link JournalFullError}. Keep it at least `resumable`'s own `maxBytes`.
   * @default 4 MiB (4_194_304, as `resumable`)
   */
  maxBytes?: number;
  /**
   * Take the journal from the tab that holds it instead of failing with a
   * {@link JournalHeldError} (`reason: 'held'`): that tab's journal refuses every later call and
   * its stream fails at once with a `JournalHeldError` (`reason: 'taken-over'`, through
   * {@link IndexedDbSessionJournal.failure$}); this tab resumes the
   * session from what that tab had committed. It does not wait for that tab to stop: anything it
   * had not committed is not here.
   * @default false
   */
  takeOver?: boolean;
  /**
   * The `durability` of each commit's IndexedDB transaction: with `'strict'` a commit resolves once
   * the browser flushed it to the disk (it survives a crash of the machine); with `'relaxed'` once
   * the browser has it (it survives a reload or a crash of the tab, not of the machine), which is
   * faster.
   * @default 'strict'
   */
  durability?: 'strict' | 'relaxed';
  /**
   * Milliseconds a commit's transaction may take. One that has not completed by then (a browser
   * whose IndexedDB hangs, another connection's transaction that holds the database) fails the
   * journal as IndexedDB failing does: {@link IndexedDbSessionJournal.failure$} emits an
   * {@link IndexedDbJournalError} (`'storage'`) that says how many frames that commit was to keep,
   * `resumable`'s stream fails with it (instead of holding its frames, its next welcome and its
   * `close()` until the transaction ends), and every later call throws it. It is timed on
   * `scheduler`.
   * @default 30_000
   */
  commitTimeout?: number;
  /**
   * The scheduler that times `commitTimeout`: give `resumable`'s own (a `TestScheduler` in tests)
   * so that the journal's deadline runs in the same time as the stream.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/**
 * The journal {@link indexedDbJournal} resolves: a {@link SessionJournal} with a database and a
 * lock behind it.
 *
 * @example
 * ```ts
 * import { indexedDbJournal, type IndexedDbSessionJournal } from 'rx-lifeline';
 * const journal: IndexedDbSessionJournal = await indexedDbJournal('chat');
 * console.log(journal.name, journal.frames, journal.bytes);
 * await journal.close();
 * ```
 * @category Sessions
 */
export interface IndexedDbSessionJournal extends SessionJournal {
  /** The journal's name, as given to {@link indexedDbJournal}. */
  readonly name: string;
  /** Unacknowledged frames held now. */
  readonly frames: number;
  /** Their bytes, in MessagePack. */
  readonly bytes: number;
  /**
   * Writes everything told since the last commit in one IndexedDB transaction. Returns a promise
   * that resolves once it (and every earlier one) completed, or `undefined` when nothing was
   * pending or in flight. It rejects with an {@link IndexedDbJournalError} (`'storage'`) when
   * IndexedDB fails, or a {@link JournalHeldError} (`'taken-over'`) when another tab took the
   * journal over; the journal then refuses every later call. A transaction that has not completed
   * within `commitTimeout` fails the journal at that time (see {@link IndexedDbJournalOptions.commitTimeout}).
   */
  commit(): Promise<void> | undefined;
  /**
   * Emits once, and completes, when the journal fails on its own: another tab took it over (a
   * {@link JournalHeldError}, `'taken-over'`, as soon as the Web Locks API revokes this tab's
   * lock), or the browser closed or another page deleted the database (an
   * {@link IndexedDbJournalError}, `'storage'`). `resumable({ journal })` fails its stream with
   * it at once, even when idle. A subscriber after the failure gets it, and the completion, at
   * once. It does not emit for `close()`.
   */
  readonly failure$: Observable<Error>;
  /**
   * Commits what is pending, lets the lock go and closes the database; resolves once that commit
   * completed. Later calls throw an {@link IndexedDbJournalError} (`'closed'`); closing again does
   * nothing. It does not clear the journal: open it again to resume.
   */
  close(): Promise<void>;
}

const OPTIONS: KnownOptions<IndexedDbJournalOptions> = {
  maxFrames: true,
  maxBytes: true,
  takeOver: true,
  durability: true,
  commitTimeout: true,
  scheduler: true,
};

/** The prefix of the database's and the lock's names. */
const PREFIX = 'rx-lifeline-journal:';

/**
 * Opens the {@link SessionJournal} `name` in IndexedDB, for `resumable({ journal })` in a page
 * whose tab may be reloaded, closed or crash: the next page of the same origin that opens `name`
 * resumes the session, with nothing the journal accepted lost. Resolves once the database is open
 * and read: `restore()` is then synchronous, every call is mirrored in memory, and
 * {@link SessionJournal.commit} writes the turn's changes in one IndexedDB transaction and resolves
 * when it completes (`resumable` sends that turn's frames only then).
 *
 * **One tab per journal**, with the Web Locks API (`navigator.locks`): while a page holds `name`,
 * another one that opens it fails with a {@link JournalHeldError} (`reason: 'held'`), unless it
 * passes `takeOver: true`: it then takes the lock (`steal`), and the first page's journal refuses
 * every later call with a `JournalHeldError` (`reason: 'taken-over'`), and says so on
 * {@link IndexedDbSessionJournal.failure$} as soon as the browser revokes its lock: its
 * `resumable` stream fails at once, idle or not. Every write checks, in its own transaction, that
 * no later opening claimed the database, so a page that was taken over writes nothing more.
 * `close()` lets the lock go; so does closing the tab, but a reloaded page may start before the
 * old one's teardown released it: call `close()` on `pagehide` so that the next page finds it free.
 *
 * **Durability.** `sent`, `acked` and `received` are mirrored at once and written at the next
 * commit, which also drops the acknowledged frames from the database. `session` and `clear` should
 * be durable when they return, and IndexedDB has no synchronous write: each starts its transaction
 * at once (with whatever was pending), and the next `commit()` resolves only after it. What that
 * leaves open: a tab that dies in the milliseconds between a welcome and the end of that
 * transaction keeps the previous token, which the server retires when the welcome is acknowledged;
 * the next page then fails with a `SessionLostError` (`'bad-token'`) that lists the frames it may
 * have lost, instead of resuming. Nothing is lost silently. A commit that fails (a quota, the
 * database deleted) rejects with an {@link IndexedDbJournalError} and the journal refuses every
 * later call.
 *
 * Frames are kept as MessagePack (a restored `Map` is a plain object); one that MessagePack cannot
 * carry is refused by `sent` with an `IndexedDbJournalError` (`'unencodable'`). It does not work
 * without IndexedDB and Web Locks (Node; a page on plain http other than localhost): that is an
 * `IndexedDbJournalError` (`'unavailable'`).
 *
 * @param name The journal's name, one per session the origin keeps (the database is
 * `'rx-lifeline-journal:' + name`).
 * @example
 * ```ts
 * import { indexedDbJournal, reconnectWith, policy, resumable, websocket } from 'rx-lifeline';
 * const journal = await indexedDbJournal('chat');
 * const resumedFrom = journal.restore()?.lastSeq ?? 0; // messages up to it were accepted
 * websocket<string>({ url: 'wss://example.org/live' })
 *   .pipe(reconnectWith(policy.exponential({ initial: 1_000, max: 10_000 })), resumable<string>({ journal }))
 *   .subscribe({ error: (error: unknown) => console.error('session ended', error, resumedFrom) });
 * ```
 * @category Sessions
 */
export async function indexedDbJournal(
  name: string,
  options: IndexedDbJournalOptions = {},
): Promise<IndexedDbSessionJournal> {
  const config = checkOptions(name, options);
  const { factory, locks } = browserApis(name);
  const lock = await takeLock(locks, name, config.takeOver);
  let db: IDBDatabase | undefined;
  try {
    db = await openDatabase(factory, PREFIX + name);
    const loaded = await loadAndClaim(db);
    return new IdbJournal(name, db, lock, loaded, config);
  } catch (error) {
    db?.close();
    lock.release();
    throw JournalHeldError.is(error) ? error : storageError(name, 'open and read', error);
  }
}

interface Config {
  readonly maxFrames: number;
  readonly maxBytes: number;
  readonly takeOver: boolean;
  readonly durability: 'strict' | 'relaxed';
  readonly commitTimeout: number;
  readonly scheduler: SchedulerLike;
}

function checkOptions(name: unknown, options: IndexedDbJournalOptions): Config {
  checkNonEmptyString('indexedDbJournal', 'name', name);
  checkKnownOptions('indexedDbJournal', options, OPTIONS);
  const {
    maxFrames = 65_536,
    maxBytes = 4_194_304,
    takeOver = false,
    durability = 'strict',
    commitTimeout = 30_000,
    scheduler = asyncScheduler,
  } = options;
  return {
    maxFrames: checkNumber('indexedDbJournal', 'maxFrames', maxFrames, CAP),
    maxBytes: checkNumber('indexedDbJournal', 'maxBytes', maxBytes, CAP),
    takeOver: checkBoolean('indexedDbJournal', 'takeOver', takeOver),
    durability: checkOneOf('indexedDbJournal', 'durability', durability, ['strict', 'relaxed']),
    commitTimeout: checkNumber('indexedDbJournal', 'commitTimeout', commitTimeout, POSITIVE_DURATION),
    scheduler: checkScheduler('indexedDbJournal', scheduler),
  };
}

/** A cap: a whole number ≥ 1, or `Infinity` for none. */
const CAP: NumberRule = { min: 1, max: Infinity, integer: true };

function browserApis(name: string): { factory: IDBFactory; locks: LockManager } {
  const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
  if (factory && locks) return { factory, locks };
  throw new IndexedDbJournalError(
    `indexedDbJournal('${name}'): this context has no ${factory ? 'Web Locks API (navigator.locks)' : 'IndexedDB'}; ` +
      'browsers offer both in pages served over https or from localhost, not in Node: use memoryJournal() or fileJournal() there',
    { journal: name, reason: 'unavailable' },
  );
}

async function takeLock(locks: LockManager, name: string, takeOver: boolean): Promise<TabLock> {
  let lock: TabLock | undefined;
  try {
    lock = await lockTab(locks, PREFIX + name, takeOver);
  } catch (error) {
    throw new IndexedDbJournalError(
      `indexedDbJournal('${name}'): the Web Locks API refused the lock (${describeError(error)}); try again`,
      { journal: name, reason: 'unavailable', cause: error },
    );
  }
  if (lock) return lock;
  throw new JournalHeldError(
    `indexedDbJournal('${name}'): another tab holds this journal (one tab per journal); close that tab, ` +
      `use another name, or pass { takeOver: true } to take it over (that tab's session then fails)`,
    { journal: name, reason: 'held' },
  );
}

function storageError(name: string, doing: string, cause: unknown): IndexedDbJournalError {
  return new IndexedDbJournalError(
    `indexedDbJournal('${name}'): IndexedDB could not ${doing} the journal (${describeError(cause)}); ` +
      'check the storage quota and open it again with indexedDbJournal(name)',
    { journal: name, reason: 'storage', cause },
  );
}

interface KeptFrame extends JournalFrame {
  readonly size: number;
}

/** What is mirrored in memory and has yet to be written at the next commit. */
class Pending {
  wipe = false;
  ackedThrough = 0;
  counters = false;
  readonly puts = new Map<number, StoredFrame>();

  get any(): boolean {
    return this.wipe || this.counters || this.ackedThrough > 0 || this.puts.size > 0;
  }

  /** Everything kept before is to go: nothing else pending matters. */
  wipeAll(): void {
    this.wipe = true;
    this.ackedThrough = 0;
    this.puts.clear();
    this.counters = true;
  }

  /** Frames up to `seq` are to go: those not written yet are never written. */
  ack(seq: number): void {
    if (seq > this.ackedThrough) this.ackedThrough = seq;
    for (const key of this.puts.keys()) if (key <= seq) this.puts.delete(key);
  }
}

class IdbJournal implements IndexedDbSessionJournal {
  #session: string | undefined;
  #token: string | undefined;
  #lastSeq = 0;
  #received = 0;
  /** `JournalState.lastAcked`, with its bytes as the database keeps them. */
  #lastAcked: (JournalFrame & StoredLastAcked) | undefined;
  readonly #kept = new Fifo<KeptFrame>();
  #keptBytes = 0;
  #pending = new Pending();
  /** The newest commit's transaction, until it settles. */
  #inFlight: Promise<void> | undefined;
  /**
   * The deadlines of the transactions commits wait for (see `commitTimeout`), one per transaction
   * from its first commit: a later commit never pushes an earlier one's back.
   */
  readonly #deadlines = new Set<Deadline>();
  /** The transaction in flight that has its deadline already. */
  #bounded: Promise<void> | undefined;
  /** Frames written by the transactions in flight: what a deadline that passes says may be lost. */
  #unsettledFrames = 0;
  /** Why every call is refused now: closed, taken over, or IndexedDB failed. */
  #failure: Error | undefined;
  readonly #codec = msgpackCodec({ int64AsType: 'number', maxInflation: Infinity });
  /** This opening's number in the database: a write finding a newer one was taken over. */
  readonly #owner: number;
  /** Emits `failure` once it is set by anything but `close()`, and completes; replays both. */
  readonly #failed = new ReplaySubject<Error>(1);
  /** See {@link IndexedDbSessionJournal.failure$}. */
  readonly failure$: Observable<Error> = this.#failed.asObservable();

  readonly #db: IDBDatabase;
  readonly #lock: TabLock;
  readonly #config: Config;

  constructor(
    readonly name: string,
    db: IDBDatabase,
    lock: TabLock,
    loaded: Loaded,
    config: Config,
  ) {
    this.#db = db;
    this.#lock = lock;
    this.#config = config;
    this.#owner = loaded.owner;
    this.#load(loaded);
    void lock.stolen.then(() => this.#takenOver());
    db.onversionchange = () =>
      this.#broken('keep', new Error('another page deleted or upgraded the database'));
    db.onclose = () => this.#broken('keep', new Error('the browser closed the database'));
  }

  get frames(): number {
    return this.#kept.length;
  }

  get bytes(): number {
    return this.#keptBytes;
  }

  restore(): JournalState | undefined {
    this.#check();
    if (this.#lastSeq === 0 && this.#session === undefined) return undefined;
    return {
      session: this.#session,
      token: this.#token,
      lastSeq: this.#lastSeq,
      received: this.#received,
      frames: this.#kept.toArray().map(({ seq, frame }) => ({ seq, frame })),
      ...(this.#lastAcked ? { lastAcked: { seq: this.#lastAcked.seq, frame: this.#lastAcked.frame } } : {}),
    };
  }

  session(id: string, token: string): void {
    this.#check();
    if (typeof id !== 'string' || typeof token !== 'string') {
      throw new TypeError(
        `indexedDbJournal.session: id and token must be strings, got ${describe(id)} and ${describe(token)}`,
      );
    }
    if (this.#session !== undefined && this.#session !== id) this.#forget();
    this.#session = id;
    this.#token = token;
    this.#pending.counters = true;
    // Durable as soon as IndexedDB allows: the next commit() resolves only after it.
    this.#flush();
  }

  sent(seq: number, frame: unknown): void {
    this.#check();
    checkSeq('sent', seq, 1);
    const bytes = this.#encode(frame);
    this.#checkRoom(bytes.length);
    this.#kept.push({ seq, frame, size: bytes.length });
    this.#keptBytes += bytes.length;
    this.#lastSeq = seq;
    this.#pending.puts.set(seq, isLayerOwnFrame(frame) ? { own: bytes } : bytes);
    this.#pending.counters = true;
  }

  acked(seq: number): void {
    this.#check();
    checkSeq('acked', seq, 0);
    let dropped = false;
    let newest: KeptFrame | undefined;
    for (let first = this.#kept.peek(); first && first.seq <= seq; first = this.#kept.peek()) {
      this.#kept.shift();
      this.#keptBytes -= first.size;
      dropped = true;
      if (!isLayerOwnFrame(first.frame)) newest = first;
    }
    if (dropped) this.#pending.ack(seq);
    if (newest) {
      this.#lastAcked = { seq: newest.seq, frame: newest.frame, bytes: this.#encode(newest.frame) };
      this.#pending.counters = true;
    }
  }

  received(seq: number): void {
    this.#check();
    checkSeq('received', seq, 0);
    if (seq <= this.#received) return;
    this.#received = seq;
    this.#pending.counters = true;
  }

  clear(): void {
    this.#check();
    this.#forget();
    this.#flush();
  }

  commit(): Promise<void> | undefined {
    this.#check();
    this.#flush();
    const inFlight = this.#inFlight;
    if (inFlight && inFlight !== this.#bounded) this.#bound(inFlight);
    return inFlight;
  }

  /**
   * Fails the journal if `inFlight` has not settled within `commitTimeout` of its first commit: a
   * commit of it again, or of a later transaction, keeps that deadline and arms none later for it.
   */
  #bound(inFlight: Promise<void>): void {
    this.#bounded = inFlight;
    const { commitTimeout, scheduler } = this.#config;
    const frames = this.#unsettledFrames;
    const deadline = new Deadline(scheduler, commitTimeout, () =>
      this.#broken(
        'write',
        new Error(
          `a transaction did not complete within ${commitTimeout} ms (commitTimeout): the ${frames} frames written since the last one that did may not be kept`,
        ),
      ),
    );
    this.#deadlines.add(deadline);
    const done = () => {
      deadline.cancel();
      this.#deadlines.delete(deadline);
      if (this.#bounded === inFlight) this.#bounded = undefined;
    };
    inFlight.then(done, done);
  }

  #disarm(): void {
    for (const deadline of this.#deadlines) deadline.cancel();
    this.#deadlines.clear();
  }

  close(): Promise<void> {
    if (this.#failure) return Promise.resolve();
    this.#flush();
    const last = this.#inFlight ?? Promise.resolve();
    this.#failure = new IndexedDbJournalError(
      `indexedDbJournal('${this.name}'): the journal is closed; open it again with indexedDbJournal(name)`,
      { journal: this.name, reason: 'closed' },
    );
    this.#disarm();
    // Another tab's opening waits for this commit: IndexedDB runs them in the order they began.
    this.#lock.release();
    this.#db.close();
    return last;
  }

  /** Starts a transaction with what is pending, if anything is. */
  #flush(): void {
    if (!this.#pending.any) return;
    const { wipe, ackedThrough, puts } = this.#pending;
    const counters: StoredCounters = {
      session: this.#session,
      token: this.#token,
      lastSeq: this.#lastSeq,
      received: this.#received,
      ...(this.#lastAcked ? { lastAcked: { seq: this.#lastAcked.seq, bytes: this.#lastAcked.bytes } } : {}),
    };
    this.#pending = new Pending();
    this.#unsettledFrames += puts.size;
    let written: Promise<'done' | 'taken-over'>;
    try {
      written = writeBatch(
        this.#db,
        this.#owner,
        { wipe, ackedThrough, puts, counters },
        this.#config.durability,
      );
    } catch (error) {
      throw this.#broken('write', error);
    }
    const settled = written.then(
      (outcome) => {
        if (outcome === 'taken-over') throw this.#takenOver();
      },
      (error: unknown) => {
        throw this.#broken('write', error);
      },
    );
    this.#inFlight = settled;
    // Forget the newest transaction once it settled; its failure stays in `failure`.
    settled.then(
      () => this.#settled(settled),
      () => this.#settled(settled),
    );
  }

  #settled(done: Promise<void>): void {
    if (this.#inFlight !== done) return;
    this.#inFlight = undefined;
    this.#unsettledFrames = 0;
  }

  /** Drops everything kept, in memory now and in the database at the next transaction. */
  #forget(): void {
    this.#session = undefined;
    this.#token = undefined;
    this.#lastSeq = 0;
    this.#received = 0;
    this.#lastAcked = undefined;
    this.#kept.clear();
    this.#keptBytes = 0;
    this.#pending.wipeAll();
  }

  #load({ counters, seqs, frames }: Loaded): void {
    const state = counters as Partial<StoredCounters> | undefined;
    this.#session = typeof state?.session === 'string' ? state.session : undefined;
    this.#token = typeof state?.token === 'string' ? state.token : undefined;
    this.#lastSeq = typeof state?.lastSeq === 'number' ? state.lastSeq : 0;
    this.#received = typeof state?.received === 'number' ? state.received : 0;
    const acked = state?.lastAcked;
    const ackedFrame = typeof acked?.seq === 'number' ? this.#decode(acked.bytes) : undefined;
    if (ackedFrame) this.#lastAcked = { seq: acked!.seq, frame: ackedFrame.frame, bytes: acked!.bytes };
    seqs.forEach((seq, i) => {
      const stored = frames[i] as StoredFrame | undefined;
      // A layer's own frame is kept as { own: bytes }; anything but bytes or such a record is damage.
      const own = typeof stored === 'object' && stored !== null && !(stored instanceof Uint8Array);
      const bytes = own ? (stored as { own?: unknown }).own : stored;
      // A frame that no longer decodes is left out: resumable refuses the state as damaged.
      const decoded = typeof seq === 'number' ? this.#decode(bytes) : undefined;
      if (!decoded || (own && (typeof decoded.frame !== 'object' || decoded.frame === null))) return;
      const frame = own ? layerOwnFrame(decoded.frame as object) : decoded.frame;
      this.#kept.push({ seq: seq as number, frame, size: (bytes as Uint8Array).length });
      this.#keptBytes += (bytes as Uint8Array).length;
    });
  }

  /** The frame MessagePack `bytes` hold; `undefined` when they are not bytes, or do not decode. */
  #decode(bytes: unknown): { frame: unknown } | undefined {
    if (!(bytes instanceof Uint8Array)) return undefined;
    try {
      return { frame: this.#codec.decode(bytes) };
    } catch {
      return undefined;
    }
  }

  #encode(frame: unknown): Uint8Array {
    try {
      // A copy: the codec's bytes are a view that its next encode may overwrite.
      return this.#codec.encode(frame).slice();
    } catch (error) {
      throw new IndexedDbJournalError(
        `indexedDbJournal('${this.name}'): a frame MessagePack cannot carry (${describeError(error)}); nothing was kept`,
        { journal: this.name, reason: 'unencodable', cause: error },
      );
    }
  }

  #checkRoom(size: number): void {
    const { maxFrames, maxBytes } = this.#config;
    if (this.#kept.length < maxFrames && this.#keptBytes + size <= maxBytes) return;
    throw new JournalFullError(
      `indexedDbJournal('${this.name}'): full (${this.#kept.length} frames, ${this.#keptBytes} bytes of ` +
        `maxFrames ${maxFrames}, maxBytes ${maxBytes}, all unacknowledged); a frame of ${size} bytes was not kept: ` +
        'wait for the server to acknowledge, or raise the caps',
      {
        journal: this.name,
        frames: this.#kept.length,
        bytes: this.#keptBytes,
        frameBytes: size,
        maxFrames,
        maxBytes,
      },
    );
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }

  /** Another tab took the journal over: refuse every call from now on. */
  #takenOver(): Error {
    return this.#fail(
      () =>
        new JournalHeldError(
          `indexedDbJournal('${this.name}'): another tab took this journal over (takeOver: true); ` +
            "this tab's session ends here and goes on in that tab",
          { journal: this.name, reason: 'taken-over' },
        ),
    );
  }

  /** IndexedDB failed: refuse every call from now on, and say so. */
  #broken(doing: 'write' | 'keep', cause: unknown): Error {
    return this.#fail(() => storageError(this.name, doing, cause));
  }

  /** Keeps the first failure (unless `close()` came first), tells `failure$`, closes the database. */
  #fail(failure: () => Error): Error {
    this.#disarm();
    if (!this.#failure) {
      this.#failure = failure();
      this.#failed.next(this.#failure);
      this.#failed.complete();
    }
    this.#db.close();
    return this.#failure;
  }
}

function checkSeq(call: string, seq: unknown, min: number): void {
  checkNumber(`indexedDbJournal.${call}`, 'seq', seq, { min, max: Number.MAX_SAFE_INTEGER, integer: true });
}
