import type { SchedulerLike } from 'rxjs';
import { askPromise } from '../../internal/promise-like.js';
import type { SideOptions } from './session-side.js';
import { SessionStoreError, type SessionExpiredError } from './errors.js';
import { Deadline } from '../../internal/timer-queue.js';
import {
  Attachment,
  Session,
  type AttachmentOwner,
  type ServerConnection,
  type SessionOwner,
} from './server-session.js';
import type { ServerCounters } from './server-stats.js';
import type { SessionStore } from './store.js';
import { StoreWriter } from './store-writer.js';
import type { Sweep } from './sweep.js';
import { randomId } from './wire.js';

/** A session server's store, and how long it keeps a session without news. @internal */
export interface StoreSettings {
  readonly store: SessionStore;
  readonly ttl: number;
  /** Milliseconds a write may take (`storeTimeout`), timed on `scheduler`. */
  readonly timeout: number;
  readonly scheduler: SchedulerLike;
}

/**
 * The sessions and connections of one subscription of a session server: who is attached to whom,
 * their counts in the server's stats, and how connections and sessions end.
 * @internal
 */
export class SessionRegistry<In, Out> implements SessionOwner<In, Out> {
  readonly #sessions = new Map<string, Session<In, Out>>();
  /**
   * The open connections without a session (handshaking, refused and closing, or left by a session
   * that ended): what `stop` drops besides the sessions' own. A session's connection is reached
   * through its session, so an attached connection costs no entry here.
   */
  readonly #unattached = new Set<ServerConnection<In, Out>>();
  /** The server stopped: sessions end at once, without flushing their connections. */
  #stopped = false;
  /** The server drained: sessions that end here live on in the store, for another process. */
  #handedOver = false;
  /** The deadlines of expiries waiting for the store to remove their session: `stop` cancels them. */
  readonly #removals = new Set<Deadline>();
  /** Told of each session that ends (a drain waiting for it). */
  onEnded: ((session: Session<In, Out>) => void) | undefined;
  readonly #scheduler: SchedulerLike;
  readonly #sweep: Sweep<In, Out>;
  readonly #counters: ServerCounters;
  readonly #side: SideOptions<Out>;

  constructor(
    scheduler: SchedulerLike,
    counters: ServerCounters,
    sweep: Sweep<In, Out>,
    side: SideOptions<Out>,
    /** Where sessions are kept beyond this process; `undefined`: in its memory only. */
    readonly stored?: StoreSettings,
  ) {
    this.#side = side;
    this.#counters = counters;
    this.#scheduler = scheduler;
    this.#sweep = sweep;
  }

  /** A session holds as many events, while its `events$` is not subscribed, as frames to replay. */
  get maxHeld(): number {
    return this.#side.maxFrames;
  }

  /** Sessions held. */
  get size(): number {
    return this.#sessions.size;
  }

  get(id: string): Session<In, Out> | undefined {
    return this.#sessions.get(id);
  }

  /** A new connection, whose handshake must be complete by `deadline`, its events told to `owner`. */
  accept(deadline: number, owner: AttachmentOwner<Session<In, Out>>): ServerConnection<In, Out> {
    const connection: ServerConnection<In, Out> = new Attachment(deadline, owner);
    this.#unattached.add(connection);
    this.#counters.connection(1);
    this.#sweep.handshake(connection, deadline);
    return connection;
  }

  /** Every session held. */
  all(): IterableIterator<Session<In, Out>> {
    return this.#sessions.values();
  }

  /** A new session (a fresh id, or one from the store at `epoch`), held and counted. */
  create(id = randomId(), epoch = 1): Session<In, Out> {
    const stored = this.stored;
    const writer = stored ? new StoreWriter(stored, id, epoch) : undefined;
    const session: Session<In, Out> = new Session<In, Out>(id, this, this.#side, writer);
    this.#sessions.set(session.id, session);
    this.#counters.session(1);
    return session;
  }

  /** Closes a connection at once (a socket destroy), detaching its session. */
  drop(connection: ServerConnection<In, Out>, error?: unknown): void {
    connection.unsubscribe();
    this.connectionEnded(connection, error);
  }

  connectionEnded(connection: ServerConnection<In, Out>, error: unknown): void {
    if (connection.ended) return;
    connection.ended = true;
    this.#unattached.delete(connection);
    this.#counters.connection(-1);
    const session = connection.session;
    if (session) this.detach(session, error);
  }

  /** `connection` now carries `session`. */
  attach(connection: ServerConnection<In, Out>, session: Session<In, Out>): void {
    session.connection = connection;
    session.idleSince = undefined;
    connection.session = session;
    this.#unattached.delete(connection);
    this.#counters.attachment(1);
  }

  /** `connection` no longer carries a session; while open, it is dropped when the server stops. */
  #unattach(connection: ServerConnection<In, Out>): void {
    connection.session = undefined;
    if (!connection.ended) this.#unattached.add(connection);
    this.#counters.attachment(-1);
  }

  /** The session loses its connection and waits `sessionTtl` for its client. */
  detach(session: Session<In, Out>, error: unknown): void {
    const connection = session.connection;
    if (connection) this.#unattach(connection);
    session.connection = undefined;
    // Closed by the application, its last frames unwritten: the client is gone, so is the session.
    if (session.closing) return this.end(session, undefined);
    session.side.detach();
    const since = this.#scheduler.now();
    session.idleSince = since;
    this.#sweep.idleSince(session, since);
    session.emit({ type: 'disconnected', error });
  }

  /** A newer connection takes the session over: the older one still attached is closed. */
  displace(session: Session<In, Out>): void {
    const previous = session.connection;
    if (!previous) return;
    this.detach(session, undefined);
    previous.ended = true;
    this.#unattached.delete(previous);
    this.#counters.connection(-1);
    previous.unsubscribe();
  }

  /**
   * The application closed the session's link. With a store, the frames it sent last leave first
   * (they wait for their batch to be stored): the session ends once they are all written.
   */
  close(session: Session<In, Out>): void {
    if (session.ended || session.closing) return;
    if (!session.stored || !session.connection) return this.end(session, undefined);
    session.closing = true;
    session.side.whenAllWritten(() => this.end(session, undefined));
  }

  /**
   * Ends a session for good: completes its events (errors them with `error`, if any). `removed`:
   * the store has forgotten it already.
   */
  end(session: Session<In, Out>, error: unknown, removed = false): void {
    if (session.ended) return;
    session.ended = true;
    this.#forget(session, error, removed);
    this.#sessions.delete(session.id);
    this.#counters.session(-1);
    session.side.dispose();
    const connection = session.connection;
    session.connection = undefined;
    if (connection) {
      this.#unattach(connection);
      // Closed by the application: flush what is queued. Otherwise: at once.
      if (error === undefined && !this.#stopped) connection.link?.close('session closed');
      else this.drop(connection);
    }
    session.finish(error);
    this.onEnded?.(session);
  }

  /**
   * A session was without a connection for its TTL. With a store, the store says first whether
   * it lives on: resumed on another process, this copy ends fenced out rather than expired.
   */
  expire(session: Session<In, Out>, error: SessionExpiredError): void {
    const writer = session.stored;
    if (!writer || this.#stopped || this.#handedOver) return this.end(session, error);
    writer.close();
    const { scheduler, timeout } = this.stored!;
    const ended = (why: unknown) => {
      if (!this.#removals.delete(deadline)) return;
      deadline.cancel();
      this.end(session, why, true);
    };
    const what = 'to remove an expired session';
    // A store that does not answer within its timeout: the session ends expired all the same (the
    // store forgets it by its TTL), instead of being held, and counted, for good.
    const deadline = new Deadline(scheduler, timeout, () => {
      this.#counters.storeFailed({
        what,
        session: session.id,
        why: `no answer within ${timeout} ms (storeTimeout)`,
      });
      ended(error);
    });
    this.#removals.add(deadline);
    this.#remove(session, writer.epoch).then(
      () => ended(error),
      (cause: unknown) => {
        // Too late (told at the deadline already), or the server stopped: nothing more to say.
        if (!this.#removals.has(deadline)) return;
        // Fenced: the session's own error says so. Anything else only `errors$` hears of.
        if (fenced(cause)) return ended(livesOn(session.id, error.idleFor, cause));
        this.#counters.storeFailed({ what, session: session.id, cause });
        ended(error);
      },
    );
  }

  /**
   * The server drained: from now on a session that ends here stays in the store, for its client
   * to resume on another process.
   */
  handOver(): void {
    this.#handedOver = true;
  }

  /**
   * With a store, a session that is over leaves it too; not when the server stops or drained
   * (another process takes it over), or when the store itself ended it here (it fenced this process
   * out, or failed).
   */
  #forget(session: Session<In, Out>, error: unknown, removed: boolean): void {
    const writer = session.stored;
    if (!writer) return;
    writer.close();
    if (removed || this.#stopped || this.#handedOver || SessionStoreError.is(error)) return;
    this.#remove(session, writer.epoch).then(undefined, (cause: unknown) => {
      // Fenced: it lives on another process, nothing failed. Else it expires in the store by its TTL.
      if (!fenced(cause))
        this.#counters.storeFailed({ what: 'to remove an ended session', session: session.id, cause });
    });
  }

  /** Removes `session` from the store; whatever the store does, its failure is a rejection. */
  #remove(session: Session<In, Out>, epoch: number): PromiseLike<void> {
    const { store } = this.stored!;
    return askPromise('SessionStore.remove', () => store.remove(session.id, epoch));
  }

  /** The server stops: every session and connection ends, and no deadline is left. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#sweep.cancel();
    for (const deadline of this.#removals) deadline.cancel();
    this.#removals.clear();
    for (const session of [...this.#sessions.values()]) this.end(session, undefined);
    for (const connection of [...this.#unattached]) this.drop(connection);
    this.#sweep.clear();
  }
}

/** The store refused a change because another process resumed the session since. */
function fenced(cause: unknown): boolean {
  return SessionStoreError.is(cause) && cause.code === 'fenced';
}

function livesOn(id: string, idleFor: number, cause: unknown): SessionStoreError {
  return new SessionStoreError(
    `Session ${id} lives on another server process, which resumed it: this process's copy, without a connection for ${idleFor} ms, ends`,
    { code: 'fenced', session: id, cause },
  );
}
