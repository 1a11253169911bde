import {
  asapScheduler,
  asyncScheduler,
  Subject,
  type Observable,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import { msgpackSize } from '../../codec/codec.js';
import { LinkClosedError, SendBufferFullError, type WriteReport } from '../../core/errors.js';
import type { Link, LinkInfo } from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { isPromiseLike, thenOrFail } from '../../internal/promise-like.js';
import {
  checkNumber,
  POSITIVE_DURATION,
  POSITIVE_INTEGER,
  checkFunction,
  checkScheduler,
} from '../../internal/validate.js';
import type { JournalState, SessionJournal } from './journal.js';
import { isFrameSize, ReplayFrames } from './replay-buffer.js';
import { ACK, DATA, isCount, isId, layerError } from './wire.js';

/** The options both sides of a resumable session share, resolved. @internal */
export interface SideOptions<Out> {
  readonly maxBytes: number;
  readonly maxFrames: number;
  readonly ackEvery: number;
  readonly ackInterval: number;
  readonly scheduler: SchedulerLike;
  /** The measure of frames for `maxBytes`; `undefined`: measured as written (see `send`). */
  readonly sizeOf: ((frame: Out) => number) | undefined;
}

/**
 * What a {@link SessionSide} answers to. A method on an object, not a function: a server's
 * session is its side's owner and holds no closure for it. @internal
 */
export interface SideOwner {
  /** Fails the whole session: a frame that can never be written, a hostile peer. */
  endNow(error: unknown): void;
}

/** The options every resumable side takes, as `resumable` and `acceptSessions` accept them. @internal */
export interface SideConfig<Out> {
  maxBytes?: number | undefined;
  maxFrames?: number | undefined;
  ackEvery?: number | undefined;
  ackInterval?: number | undefined;
  sizeOf?: ((frame: Out) => number) | undefined;
  scheduler?: SchedulerLike | undefined;
}

/** Resolves and checks the options every resumable side takes, for `where` (the operator). @internal */
export function resolveSideOptions<Out>(where: string, config: SideConfig<Out>): SideOptions<Out> {
  const {
    maxBytes = 4 * 1024 * 1024,
    maxFrames = 65_536,
    ackEvery = 32,
    ackInterval = 200,
    sizeOf,
    scheduler = asyncScheduler,
  } = config;
  if (sizeOf !== undefined) checkFunction(where, 'sizeOf', sizeOf);
  return {
    maxBytes: checkNumber(where, 'maxBytes', maxBytes, POSITIVE_INTEGER),
    maxFrames: checkNumber(where, 'maxFrames', maxFrames, POSITIVE_INTEGER),
    ackEvery: checkNumber(where, 'ackEvery', ackEvery, POSITIVE_INTEGER),
    ackInterval: checkNumber(where, 'ackInterval', ackInterval, POSITIVE_DURATION),
    scheduler: checkScheduler(where, scheduler),
    sizeOf: sizeOf && checkedSizeOf(where, sizeOf),
  };
}

/**
 * The application's `sizeOf`, checked at each call: a size that is not a number of bytes ≥ 0 (a
 * negative one would let the replay buffer grow past `maxBytes`) is a TypeError in `send`, before
 * anything is kept or written.
 */
function checkedSizeOf<Out>(where: string, sizeOf: (frame: Out) => number): (frame: Out) => number {
  return (frame) => {
    const size = sizeOf(frame);
    if (isFrameSize(size)) return size;
    throw new TypeError(
      `${where}: sizeOf must return a number of bytes ≥ 0, it returned ${describeValue(size)}`,
    );
  };
}

/**
 * One side of a resumable session, independent of connections: the replay buffer of outbound
 * frames, the count of inbound frames delivered, and the acks. A connection is attached after each
 * handshake and detached when it ends; in between, frames queue in the replay buffer.
 * @internal
 */
export class SessionSide<Out> {
  readonly buffer: ReplayFrames<Out>;
  /** The highest inbound `seq` delivered in order. */
  received = 0;
  #link: Link<unknown> | undefined;
  /** The highest `seq` written to the attached link. */
  #sentThrough = 0;
  /** The highest `seq` ever written to a link: the frames above it never left this side. */
  #writtenThrough = 0;
  #unacked = 0;
  #ackTimer: Subscription | undefined;
  /**
   * When the frames not yet acked are to be acked: `ackInterval` after the first of them. None
   * while every frame is acked (not Infinity, which V8 would box in a number object per session).
   */
  #ackDue: number | undefined;
  #drainWait: Subscription | undefined;
  #drained: Subject<void> | undefined;
  #wantsDrain = false;
  /**
   * The state of a journal that commits; none without one (a server without a store). Replaced by
   * `reset` and `dispose`: an asynchronous commit begun before then finds it changed.
   */
  #commits: JournalCommits | undefined;
  /** Called once every frame held has been written to the attached link (see `whenAllWritten`). */
  #allWritten: (() => void) | undefined;

  readonly #options: SideOptions<Out>;
  readonly #owner: SideOwner;
  readonly #journal: SessionJournal | undefined;

  /**
   * @param options - Shared by every side of a server: nothing in them is per session.
   * @param journal - Where a client keeps its session to survive a crash (a server's store writer):
   * told each frame and each ack.
   */
  constructor(options: SideOptions<Out>, owner: SideOwner, journal?: SessionJournal) {
    this.#options = options;
    this.#owner = owner;
    this.#journal = journal;
    this.buffer = new ReplayFrames<Out>(options.maxBytes, options.maxFrames);
    this.#commits = journal?.commit ? new JournalCommits() : undefined;
  }

  /** The highest outbound `seq` given out so far. */
  get lastSeq(): number {
    return this.buffer.nextSeq - 1;
  }

  get info(): LinkInfo | undefined {
    return this.#link?.info;
  }

  /**
   * Emits after `send` returned `false`, once the session can take frames again: a link is
   * attached and has taken every buffered frame without asking to wait, and the replay buffer is
   * below its high-water mark.
   */
  get drain$(): Observable<void> {
    return (this.#drained ??= new Subject<void>()).asObservable();
  }

  /**
   * Numbers `frame`, keeps it until acked and writes it if a link is attached. Returns `false` when
   * it was only queued, the link is above its high-water mark, or the replay buffer is past its own
   * (half its caps): then {@link drain$} says when to go on.
   *
   * Without a `sizeOf`, a frame written at once is measured by what it added to the link's
   * `bufferedBytes`: its encoded envelope with the framing, one encoding for both (a second
   * MessagePack pass per frame halved the stack's throughput). Its size is known only once it
   * went out, so it is refused only when the buffer is full already, and may take the buffer past
   * `maxBytes` by that one frame. A frame that is only queued is encoded to be measured, exactly.
   * @throws ReplayBufferFullError when it does not fit; EncodeError when it cannot be encoded.
   */
  send(frame: Out): boolean {
    const size = this.#options.sizeOf?.(frame);
    if (this.#commits) return this.#keepUntilCommit(frame, size ?? msgpackSize(frame));
    return this.#keep(frame, size);
  }

  /**
   * The attached link, when the next frame may go to it now: it had every frame before, and does not
   * ask to wait.
   */
  #writableLink(): Link<unknown> | undefined {
    return this.#sentThrough === this.lastSeq && !this.#drainWait ? this.#link : undefined;
  }

  /** Refuses a frame of `size` bytes that does not fit (the sender then waits for `drain$`). */
  #checkRoom(frame: Out, size: number): void {
    if (this.buffer.fits(size)) return;
    this.#wantsDrain = true;
    this.buffer.append(frame, size); // throws ReplayBufferFullError with the details
  }

  /**
   * Keeps `frame` of `size` bytes, written at once when the link can take it. Without a `size` (no
   * `sizeOf`), a frame written is measured by what it added to the link, one only queued is encoded
   * to be measured (see `send`).
   */
  #keep(frame: Out, size: number | undefined): boolean {
    const link = this.#writableLink();
    if (!link) return this.#queue(frame, size ?? msgpackSize(frame));
    this.#checkRoom(frame, size ?? 1);
    const seq = this.buffer.nextSeq;
    // Read only to measure: a getter per frame costs (on a layered link, one per layer).
    const before = size === undefined ? link.bufferedBytes : 0;
    const ready = this.#write(link, seq, frame);
    if (ready === undefined) return this.#queue(frame, size ?? msgpackSize(frame));
    if (size === undefined) {
      // The link grew by the frame's framed size; a sink that confirmed it at once shows nothing.
      const grown = link.bufferedBytes - before;
      size = grown > 0 ? grown : msgpackSize(frame);
    }
    this.buffer.push(frame, size);
    // Kept before the write leaves the process (the link writes at the end of this tick).
    this.#tell('sent', seq, frame);
    return this.#written(link, seq, ready);
  }

  /** Keeps `frame` of `size` bytes without writing it: the link is away, full or closing. */
  #queue(frame: Out, size: number): boolean {
    this.#checkRoom(frame, size);
    this.#tell('sent', this.buffer.append(frame, size), frame);
    return this.#answer(false);
  }

  /** Frame `seq` went to `link`, which answered `ready`; returns what `send` returns. */
  #written(link: Link<unknown>, seq: number, ready: boolean): boolean {
    this.#sentThrough = this.#writtenThrough = seq;
    // The link asks to wait: the next frames stay in the buffer until it drains.
    if (!ready) this.#awaitDrain(link);
    return this.#answer(ready);
  }

  /** What `send` returns: `false` asks the sender to wait for `drain$`. */
  #answer(ready: boolean): boolean {
    const ok = ready && !this.buffer.pastHighWater;
    if (!ok) this.#wantsDrain = true;
    return ok;
  }

  /**
   * With a journal that commits: keeps `frame` and tells the journal, and writes nothing yet. The
   * turn's commit runs once, on the asap scheduler (after the code that sends, before the link's own
   * write of that turn), and then writes every frame it made durable (write-ahead). It answers as
   * if written: a link attached and not asking to wait, and the buffer below its high-water mark.
   */
  #keepUntilCommit(frame: Out, size: number): boolean {
    this.#checkRoom(frame, size);
    // The journal first: a frame it refuses (full, taken over) is not kept here either.
    this.#journal!.sent(this.buffer.nextSeq, frame);
    this.buffer.append(frame, size);
    this.#commitSoon();
    return this.#answer(this.#link !== undefined && !this.#drainWait);
  }

  /** With a journal that commits: the turn's commit, scheduled once (acks and deliveries too). */
  #commitSoon(): void {
    const commits = this.#commits;
    if (commits) commits.task ??= asapScheduler.schedule(() => this.#commit());
  }

  // Methods, not arrow fields: an idle session holds no closure for them (made when scheduled).
  #commit(): void {
    const commits = this.#commits!;
    commits.task = undefined;
    // One commit at a time: what is told meanwhile goes into the next one.
    if (commits.running) {
      commits.again = true;
      return;
    }
    const through = this.lastSeq;
    const received = this.received;
    const waiters = commits.waiters;
    commits.waiters = undefined;
    let result: void | PromiseLike<void>;
    try {
      result = this.#journal!.commit!();
    } catch (error) {
      return this.#owner.endNow(error);
    }
    if (!isPromiseLike(result)) return this.#committed(through, received, waiters);
    commits.running = true;
    thenOrFail(
      result,
      () => this.#settled(commits, () => this.#committed(through, received, waiters)),
      (error: unknown) => this.#settled(commits, () => this.#owner.endNow(error)),
    );
  }

  /** An asynchronous commit ended: `then` runs unless the side was reset or disposed since. */
  #settled(commits: JournalCommits, then: () => void): void {
    if (commits !== this.#commits) return;
    commits.running = false;
    try {
      then();
    } catch (error) {
      // Not out of a promise's callback, where nothing would hear it (a journal's call that threw).
      return this.#owner.endNow(error);
    }
    if (commits.again && commits === this.#commits) {
      commits.again = false;
      this.#commitSoon();
    }
  }

  /** A commit made the frames up to `through` and the deliveries up to `received` durable. */
  #committed(through: number, received: number, waiters?: readonly (() => void)[]): void {
    const commits = this.#commits!;
    if (through > commits.through) commits.through = through;
    // Every frame delivered by then was told to the journal (see `delivered`).
    if (received > commits.received) commits.received = received;
    // Written first: a waiter then finds on the link every frame the commit made durable.
    this.#pump();
    if (waiters) for (const then of waiters) then();
  }

  /**
   * Calls `then` once everything told to the journal so far is durable: at once without a
   * committing journal, else after the next commit that starts from now (a session() or clear()
   * of an asynchronous journal is durable only then). Forgotten if the side is reset.
   */
  whenCommitted(then: () => void): void {
    const commits = this.#commits;
    if (!commits) return then();
    (commits.waiters ??= []).push(then);
    if (commits.running) return this.#commitSoon();
    // Now rather than at the end of the turn (the commit forgets its task): a synchronous journal
    // calls back at once.
    commits.task?.unsubscribe();
    this.#commit();
  }

  /**
   * Calls `then` once everything told to the journal is durable, and written to the attached link
   * unless it asked to wait: at once when no commit is due or in flight, else as
   * {@link whenCommitted} does. Forgotten if the side is reset or disposed.
   */
  whenDurable(then: () => void): void {
    const commits = this.#commits;
    if (!commits || (!commits.task && !commits.running)) return then();
    this.whenCommitted(then);
  }

  /** Frame `seq` was handed to the application: a journal keeps it as received. */
  delivered(seq: number): void {
    this.#tell('received', seq);
  }

  /**
   * Tells the journal of a frame sent, acked or received, for the turn's commit. What it throws (a
   * refusal of its own, or a bug) ends the stream at once with that very error, and is thrown on for
   * the caller to stop: a frame being handled then ends no second time, as a ProtocolError that
   * blames the peer, and a frame already handed to the link is not followed by others numbered out
   * of step.
   */
  #tell(call: 'sent' | 'acked' | 'received', seq: number, frame?: unknown): void {
    const journal = this.#journal;
    if (!journal) return;
    try {
      if (call === 'sent') journal.sent(seq, frame);
      else journal[call](seq);
    } catch (error) {
      this.#owner.endNow(error);
      throw error;
    }
    this.#commitSoon();
  }

  /** True when the peer's `received` leaves no gap: every later frame is still buffered. */
  canResumeFrom(peerReceived: number): boolean {
    return peerReceived >= this.buffer.firstSeq - 1;
  }

  /**
   * Attaches a handshaken link: drops what the peer has and replays the rest. `peerReceived` must
   * be checked first (≤ lastSeq, and {@link canResumeFrom}). Returns the number of frames replayed.
   */
  attach(link: Link<unknown>, peerReceived: number): number {
    this.detach();
    this.#trimTo(peerReceived);
    this.#link = link;
    this.#sentThrough = peerReceived;
    const replayed = this.lastSeq - peerReceived;
    this.#pump();
    return replayed;
  }

  /**
   * Calls `then` once every frame held has been written to the attached link: at once when that is
   * so now, else when the link has drained enough to take the rest. Forgotten if the link goes.
   */
  whenAllWritten(then: () => void): void {
    if (this.#link && this.#sentThrough === this.lastSeq) return then();
    this.#allWritten = then;
  }

  detach(): void {
    this.#allWritten = undefined;
    this.#link = undefined;
    this.#unacked = 0;
    this.#ackDue = undefined;
    this.#ackTimer?.unsubscribe();
    this.#ackTimer = undefined;
    this.#drainWait?.unsubscribe();
    this.#drainWait = undefined;
  }

  /**
   * What this side may tell the peer it received (acks, a hello's `received`): everything
   * delivered, or with a committing journal only what the journal has kept, so that the peer never
   * drops frames that a restarted client, reading its journal, would still need.
   */
  get ackable(): number {
    const commits = this.#commits;
    return commits ? Math.min(this.received, commits.received) : this.received;
  }

  /** Takes `[0, seq, frame]`'s seq: true when the frame is new and in order (deliver it). */
  receiveData(seq: number): boolean {
    if (seq === this.received + 1) {
      this.received = seq;
      this.#noteUnacked();
      return true;
    }
    if (seq <= this.received) {
      // A duplicate: the peer did not know we had it. Ack again so it can trim.
      this.#noteUnacked();
      return false;
    }
    throw layerError(`received frame ${seq} after ${this.received}: frames are missing`, this.#link);
  }

  receiveAck(ack: number): void {
    if (ack > this.lastSeq) {
      throw layerError(`ack ${ack} is above the last frame sent (${this.lastSeq})`, this.#link);
    }
    this.#trimTo(ack);
  }

  /**
   * Takes back what a journal kept: the frames the peer had not acknowledged (replayed at the next
   * attach), the numbering after them, and what this side had received. Nothing may have been sent
   * yet. A state that does not hold together is refused with a `TypeError`: the journal is damaged.
   * So is a session id or token the wire cannot carry (a server would refuse every hello with it,
   * and the client would dial again forever), or frames that are not an array.
   */
  restore(state: JournalState): void {
    const { session, token, lastSeq, received, frames } = state;
    // NaN unless `frames` is an array: then nothing below holds.
    const first = lastSeq - (Array.isArray(frames) ? frames.length : NaN) + 1;
    const named = session === undefined ? token === undefined : isId(session) && isId(token);
    if (
      !isCount(lastSeq) ||
      !isCount(received) ||
      !(first >= 1) ||
      !named ||
      !frames.every((entry, i) => (entry as { seq?: unknown } | null)?.seq === first + i)
    ) {
      throw new TypeError(
        `resumable: the journal's state is damaged (session ${describeValue(session)}, last frame ${describeValue(lastSeq)}, frames ${describeValue(frames)}, received ${describeValue(received)}); clear it to start a new session`,
      );
    }
    this.buffer.reset(first);
    for (const { frame } of frames) this.buffer.push(frame as Out, msgpackSize(frame));
    // Any of them may have left before the crash: none counts as never written. The journal had
    // them: they are durable already.
    this.#startFrom(received, lastSeq);
  }

  /** Forgets everything and numbers from 1 again (a session reset). */
  reset(): void {
    this.#forgetCommits();
    this.detach();
    this.buffer.reset();
    this.#startFrom(0, 0);
  }

  /** Sets what was received and written so far, both durable already (a reset or a restore). */
  #startFrom(received: number, written: number): void {
    this.received = received;
    this.#writtenThrough = written;
    const commits = this.#commits;
    if (commits) {
      commits.received = received;
      commits.through = written;
    }
  }

  dispose(): void {
    this.#forgetCommits();
    this.detach();
    this.buffer.reset();
    this.#drained?.complete();
    this.#drained = undefined;
  }

  /** Cancels the turn's commit and disowns one in flight. */
  #forgetCommits(): void {
    const commits = this.#commits;
    if (!commits) return;
    commits.task?.unsubscribe();
    this.#commits = new JournalCommits();
  }

  /**
   * The session's outbound state: unacked frames count as unconfirmed, and frame `seq` has index
   * `seq - 1` (the session is the "connection" of its stable link).
   */
  writeReport(): WriteReport {
    const { length, bytes } = this.buffer;
    return {
      lastFrame: this.lastSeq === 0 ? 'none' : length === 0 ? 'whole' : 'unknown',
      unconfirmedFrames: length,
      unconfirmedBytes: bytes,
      framesLeft: this.#writtenThrough,
    };
  }

  #trimTo(ack: number): void {
    if (this.buffer.trim(ack) === 0) return;
    this.#tell('acked', ack);
    if (this.#sentThrough < ack) this.#sentThrough = ack;
    if (this.#writtenThrough < ack) this.#writtenThrough = ack;
    this.#maybeDrain();
  }

  /** Emits `drain$` when a sender waits and the session takes frames again (see `drain$`). */
  #maybeDrain(): void {
    if (!this.#wantsDrain || !this.#drained || !this.#link || this.#drainWait) return;
    if (this.#sentThrough < this.lastSeq || this.buffer.pastHighWater) return;
    this.#wantsDrain = false;
    this.#drained.next();
  }

  /**
   * Writes the buffered frames the link has not had yet, until it is full; once it has them all,
   * calls the `whenAllWritten` callback and emits `drain$` if a sender waits.
   */
  #pump(): void {
    const link = this.#link;
    if (!link) return;
    // Only what a committing journal made durable leaves (see keepUntilCommit).
    const last = this.#commits ? Math.min(this.lastSeq, this.#commits.through) : this.lastSeq;
    while (this.#sentThrough < last) {
      const seq = this.#sentThrough + 1;
      let ready: boolean | undefined;
      try {
        ready = this.#write(link, seq, this.buffer.at(seq));
      } catch (error) {
        return this.#owner.endNow(error);
      }
      if (ready === undefined) return;
      this.#sentThrough = seq;
      if (seq > this.#writtenThrough) this.#writtenThrough = seq;
      if (!ready) return this.#awaitDrain(link);
    }
    if (this.#sentThrough < this.lastSeq) return; // the rest after the next commit
    const then = this.#allWritten;
    this.#allWritten = undefined;
    then?.();
    this.#maybeDrain();
  }

  /**
   * Writes frame `seq` on `link` and returns its answer, or `undefined` when the link cannot take
   * it now: full (then it waits for the link's drain) or closed (the connection is ending, and the
   * next handshake replays it). Any other error is the frame's own (not encodable, or too large
   * for the link) and is thrown: refused now, not at every replay.
   */
  #write(link: Link<unknown>, seq: number, frame: unknown): boolean | undefined {
    try {
      return link.send([DATA, seq, frame]);
    } catch (error) {
      if (SendBufferFullError.is(error)) this.#awaitDrain(link);
      else if (!LinkClosedError.is(error)) throw error;
      return undefined;
    }
  }

  #awaitDrain(link: Link<unknown>): void {
    if (this.#drainWait) return;
    this.#drainWait = link.drain$.subscribe(() => this.#onLinkDrain());
  }

  #onLinkDrain(): void {
    this.#drainWait?.unsubscribe();
    this.#drainWait = undefined;
    this.#pump();
  }

  #noteUnacked(): void {
    if (++this.#unacked >= this.#options.ackEvery) this.acknowledge();
    else if (this.#unacked === 1) this.#ackWithin(this.#options.ackInterval);
  }

  // One timer at a time, armed by the first frame not acked, never re-armed per frame; an ack
  // leaves it armed (cancelling and arming a timer per ack cost more than the ack itself), and
  // when it fires before the frames not yet acked are due, it waits for the rest.
  #ackWithin(delay: number): void {
    this.#ackDue = this.#options.scheduler.now() + delay;
    this.#ackTimer ??= this.#options.scheduler.schedule(() => this.#onAckTimer(), delay);
  }

  #onAckTimer(): void {
    this.#ackTimer = undefined;
    if (this.#unacked === 0) return;
    const wait = (this.#ackDue ?? 0) - this.#options.scheduler.now();
    if (wait > 0) this.#ackTimer = this.#options.scheduler.schedule(() => this.#onAckTimer(), wait);
    else this.acknowledge();
  }

  /**
   * Acks at once what was received: after a handshake (proof that the welcome arrived), and when
   * `ackEvery` or `ackInterval` says it is time.
   */
  acknowledge(): void {
    const ack = this.ackable;
    // What a committing journal has not kept yet stays unacked: acked `ackInterval` from now.
    this.#unacked = this.received - ack;
    if (this.#unacked > 0) this.#ackWithin(this.#options.ackInterval);
    try {
      this.#link?.send([ACK, ack]);
    } catch {
      // Best effort: the next ack, or the next handshake's `received`, says the same.
    }
  }
}

/** The commits of a journal that commits, told to a {@link SessionSide}'s sends and deliveries. */
class JournalCommits {
  /** The turn's commit, when one is due (see `keepUntilCommit`). */
  task: Subscription | undefined;
  /** The highest `seq` the journal made durable: no later frame may be written (write-ahead). */
  through = 0;
  /** The highest inbound `seq` it has kept as received. */
  received = 0;
  /** An asynchronous commit is in flight; `again`: another is due after it. */
  running = false;
  again = false;
  /** Waiting for the next commit that starts (see `whenCommitted`). */
  waiters: (() => void)[] | undefined;
}

/**
 * The Link a resumable session hands to the application: stable across connections, backed by a
 * {@link SessionSide}. @internal
 */
export class SessionLink<Out> implements Link<Out> {
  readonly #side: SessionSide<Out>;
  readonly #hooks: SessionLinkHooks<Out>;

  constructor(side: SessionSide<Out>, hooks: SessionLinkHooks<Out>) {
    this.#side = side;
    this.#hooks = hooks;
  }

  send(frame: Out): boolean {
    if (this.#hooks.isClosed()) throw new LinkClosedError('The session is closed');
    return this.#hooks.send(frame);
  }

  close(reason?: string): void {
    this.#hooks.close(reason);
  }

  get bufferedBytes(): number {
    return this.#side.buffer.bytes;
  }

  /** Frames sent since the session began (or was reset): the last sequence number. */
  get framesSent(): number {
    return this.#side.lastSeq;
  }

  get closed(): boolean {
    return this.#hooks.isClosed();
  }

  get closeRequested(): boolean {
    return this.#hooks.isCloseRequested();
  }

  get drain$(): Observable<void> {
    return this.#side.drain$;
  }

  writeReport(): WriteReport {
    return this.#side.writeReport();
  }

  get info(): LinkInfo {
    return this.#side.info ?? DETACHED;
  }
}

/**
 * What a {@link SessionLink} asks of the session that owns it. Its methods are called on the
 * object, so a session can be its own hooks and hold no closures for them. @internal
 */
export interface SessionLinkHooks<Out> {
  send(frame: Out): boolean;
  close(reason?: string): void;
  isClosed(): boolean;
  isCloseRequested(): boolean;
}

const DETACHED: LinkInfo = Object.freeze({ transport: 'resumable', remote: '', local: '' });
