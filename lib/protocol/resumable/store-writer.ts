import { describeError } from '../../internal/describe-value.js';
import { askPromise, thenOrFail } from '../../internal/promise-like.js';
import { failedNow, settledNow } from '../../internal/settled-now.js';
import { SessionStoreError } from './errors.js';
import { Deadline } from '../../internal/timer-queue.js';
import { type JournalFrame, type JournalState, type SessionJournal } from './journal.js';
import type { StoreSettings } from './session-registry.js';
import type { SessionChanges } from './store.js';

/** Where a bounded write's outcome goes (see `StoreWriter.#race`). */
interface Outcomes {
  ok(): void;
  failed(error: unknown): void;
  /** The error of a write whose deadline passed. */
  stalled(): SessionStoreError;
}

/**
 * What a server session writes to a {@link SessionStore}: its `SessionSide` tells it each frame, ack and
 * delivery as it would a client's journal, and each turn's `commit` writes them in one batch under
 * the session's epoch. The `SessionSide` writes a frame to the client only once its batch is stored
 * (write-ahead) and acks only what the store kept as received. A batch the store has not answered
 * within its `timeout` fails (see `#stalled`), on the server's scheduler.
 * @internal
 */
export class StoreWriter implements SessionJournal {
  #frames: JournalFrame[] = [];
  #ackedThrough: number | undefined;
  #receivedThrough: number | undefined;
  #settledToken = false;
  /** Set while a claim of this session is in flight: commits wait for its epoch. */
  #gate: Promise<void> | undefined;
  #openGate: (() => void) | undefined;
  #closed = false;
  /** The deadline of the write in flight, if any: an idle writer holds none. */
  #deadline: Deadline | undefined;
  /** The server's store, TTL, write timeout and scheduler: one object all its writers share. */
  readonly #stored: StoreSettings;

  constructor(
    stored: StoreSettings,
    readonly id: string,
    public epoch: number,
  ) {
    this.#stored = stored;
  }

  restore(): JournalState | undefined {
    return undefined;
  }

  session(): void {
    // The server's session id and token are the store's own (create, claim).
  }

  sent(seq: number, frame: unknown): void {
    this.#frames.push({ seq, frame });
  }

  acked(seq: number): void {
    this.#ackedThrough = seq;
  }

  received(seq: number): void {
    this.#receivedThrough = seq;
  }

  clear(): void {
    this.#frames = [];
  }

  /** The client spoke after its welcome: the next batch retires the token before the current one. */
  settle(): void {
    this.#settledToken = true;
  }

  /** Holds commits until {@link release}: a claim is in flight and may change the epoch. */
  hold(): void {
    this.#gate ??= new Promise<void>((resolve) => (this.#openGate = resolve));
  }

  /** Lets held commits go, under `epoch` when the claim gave a new one. */
  release(epoch = this.epoch): void {
    this.epoch = epoch;
    const open = this.#openGate;
    this.#gate = this.#openGate = undefined;
    open?.();
  }

  /** This copy of the session is over: nothing more is written. */
  close(): void {
    this.#closed = true;
    this.#disarm();
    this.release();
  }

  /**
   * Writes what was told since the last commit. The write fails with `#stalled`'s error once it
   * has not settled within the store's `timeout`.
   */
  commit(): PromiseLike<void> {
    const changes = this.#take();
    const write = this.#gate ? this.#gate.then(() => this.#write(changes)) : this.#write(changes);
    // A closed writer writes nothing: nothing to wait for.
    return this.#closed ? write : this.#within(write, changes);
  }

  /**
   * `write`, settled as it settles unless its deadline passes first: then failed with
   * `#stalled`'s error, and what the store answers later is ignored. The deadline starts now. It
   * calls back at once when `write` does (a store in memory), as `write` itself would, and its
   * `then` is a promise's: called any number of times, each gets the outcome, and returns a
   * thenable of what its callback returns.
   */
  #within(write: PromiseLike<void>, changes: SessionChanges): PromiseLike<void> {
    const bounded = new Later<void>();
    this.#race(write, {
      ok: () => bounded.settle(settledNow(undefined)),
      failed: (error) => bounded.settle(failedNow(error)),
      stalled: () => this.#stalled(changes),
    });
    return bounded;
  }

  /** Arms the deadline, then hands on the first of `write`'s outcome and the deadline's. */
  #race(write: PromiseLike<void>, to: Outcomes): void {
    let open = true;
    const settle = (then: () => void) => {
      if (!open) return;
      open = false;
      this.#disarm();
      then();
    };
    const { scheduler, timeout } = this.#stored;
    this.#deadline = new Deadline(scheduler, timeout, () => settle(() => to.failed(to.stalled())));
    thenOrFail(
      write,
      () => settle(to.ok),
      (error: unknown) => settle(() => to.failed(error)),
    );
  }

  #disarm(): void {
    this.#deadline?.cancel();
    this.#deadline = undefined;
  }

  /**
   * What a write of `changes` that the store did not answer within the timeout fails with: the
   * session ends on this process, and whatever the store does with that write later changes
   * nothing here (the client resumes from what the store has, on this process or another).
   */
  #stalled(changes: SessionChanges): SessionStoreError {
    const cause = new SessionStoreError(
      `the store did not answer a write within ${this.#stored.timeout} ms (storeTimeout); it may still apply it`,
      { code: 'unavailable', session: this.id },
    );
    return this.#failure(cause, changes);
  }

  #take(): SessionChanges {
    const changes: { -readonly [K in keyof SessionChanges]: SessionChanges[K] } = { frames: this.#frames };
    if (this.#ackedThrough !== undefined) changes.acked = this.#ackedThrough;
    if (this.#receivedThrough !== undefined) changes.received = this.#receivedThrough;
    if (this.#settledToken) changes.settled = true;
    this.#frames = [];
    this.#ackedThrough = this.#receivedThrough = undefined;
    this.#settledToken = false;
    return changes;
  }

  #write(changes: SessionChanges): PromiseLike<void> {
    if (this.#closed) return Promise.resolve();
    const { store, ttl } = this.#stored;
    const write = () => store.write(this.id, this.epoch, changes, ttl);
    return askPromise('SessionStore.write', write).then(undefined, (error: unknown) => {
      throw this.#failure(error, changes);
    });
  }

  /** The store's refusal, typed, with the frames that never left this process. */
  #failure(error: unknown, changes: SessionChanges): SessionStoreError {
    const unsent = [...changes.frames, ...this.#frames].map((entry) => entry.frame);
    const known = SessionStoreError.is(error) ? error : undefined;
    const code = known?.code ?? 'unavailable';
    const why = known ? known.message : `the store failed: ${describeError(error)}`;
    return new SessionStoreError(
      `Session ${this.id} ends on this process: ${why}; ${unsent.length} frames taken here never left`,
      { code, session: this.id, unsent, cause: error },
    );
  }
}

/**
 * A thenable settled later, with one of {@link settledNow}'s or {@link failedNow}'s: from then on
 * it calls back at once, inside `then`, as they do (a store in memory answers in the same turn, and
 * a test's virtual time drives its callers). Each `then` returns a thenable of what its callback
 * returns, as a promise's does. A Promise would call back a turn later.
 */
class Later<T> implements PromiseLike<T> {
  #outcome: PromiseLike<T> | undefined;
  /** The `then`s called before it settled, run in order once it does. */
  #waiting: (() => void)[] | undefined;

  /** Settles it with `outcome`; called once (`StoreWriter.#race` settles once). */
  settle(outcome: PromiseLike<T>): void {
    this.#outcome = outcome;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) for (const run of waiting) run();
  }

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    if (this.#outcome) return this.#outcome.then(onFulfilled, onRejected);
    const next = new Later<A | B>();
    (this.#waiting ??= []).push(() => next.settle(this.#outcome!.then(onFulfilled, onRejected)));
    return next;
  }
}
