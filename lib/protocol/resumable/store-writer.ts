import { describeError } from '../../internal/describe-value.js';
import { askPromise } from '../../internal/promise-like.js';
import { SessionStoreError } from './errors.js';
import type { JournalFrame, JournalState, SessionJournal } from './journal.js';
import type { SessionChanges, SessionStore } from './store.js';

/**
 * What a server session writes to a {@link SessionStore}: its `SessionSide` tells it each frame, ack and
 * delivery as it would a client's journal, and each turn's `commit` writes them in one batch under
 * the session's epoch. The `SessionSide` writes a frame to the client only once its batch is stored
 * (write-ahead) and acks only what the store kept as received.
 * @internal
 */
export class StoreWriter implements SessionJournal {
  private frames: JournalFrame[] = [];
  private ackedThrough: number | undefined;
  private receivedThrough: number | undefined;
  private settledToken = false;
  /** Set while a claim of this session is in flight: commits wait for its epoch. */
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly store: SessionStore,
    readonly id: string,
    public epoch: number,
    private readonly ttl: number,
  ) {}

  restore(): JournalState | undefined {
    return undefined;
  }

  session(): void {
    // The server's session id and token are the store's own (create, claim).
  }

  sent(seq: number, frame: unknown): void {
    this.frames.push({ seq, frame });
  }

  acked(seq: number): void {
    this.ackedThrough = seq;
  }

  received(seq: number): void {
    this.receivedThrough = seq;
  }

  clear(): void {
    this.frames = [];
  }

  /** The client spoke after its welcome: the next batch retires the token before the current one. */
  settle(): void {
    this.settledToken = true;
  }

  /** Holds commits until {@link release}: a claim is in flight and may change the epoch. */
  hold(): void {
    this.gate ??= new Promise<void>((resolve) => (this.openGate = resolve));
  }

  /** Lets held commits go, under `epoch` when the claim gave a new one. */
  release(epoch = this.epoch): void {
    this.epoch = epoch;
    const open = this.openGate;
    this.gate = this.openGate = undefined;
    open?.();
  }

  /** This copy of the session is over: nothing more is written. */
  close(): void {
    this.closed = true;
    this.release();
  }

  commit(): PromiseLike<void> {
    const changes = this.take();
    if (!this.gate) return this.write(changes);
    return this.gate.then(() => this.write(changes));
  }

  private take(): SessionChanges {
    const changes: { -readonly [K in keyof SessionChanges]: SessionChanges[K] } = { frames: this.frames };
    if (this.ackedThrough !== undefined) changes.acked = this.ackedThrough;
    if (this.receivedThrough !== undefined) changes.received = this.receivedThrough;
    if (this.settledToken) changes.settled = true;
    this.frames = [];
    this.ackedThrough = this.receivedThrough = undefined;
    this.settledToken = false;
    return changes;
  }

  private write(changes: SessionChanges): PromiseLike<void> {
    if (this.closed) return Promise.resolve();
    const write = () => this.store.write(this.id, this.epoch, changes, this.ttl);
    return askPromise('SessionStore.write', write).then(undefined, (error: unknown) => {
      throw this.failure(error, changes);
    });
  }

  /** The store's refusal, typed, with the frames that never left this process. */
  private failure(error: unknown, changes: SessionChanges): SessionStoreError {
    const unsent = [...changes.frames, ...this.frames].map((entry) => entry.frame);
    const known = SessionStoreError.is(error) ? error : undefined;
    const code = known?.code ?? 'unavailable';
    const why = known ? known.message : `the store failed: ${describeError(error)}`;
    return new SessionStoreError(
      `Session ${this.id} ends on this process: ${why}; ${unsent.length} frames taken here never left`,
      { code, session: this.id, unsent, cause: error },
    );
  }
}
