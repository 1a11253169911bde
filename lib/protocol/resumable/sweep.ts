import type { SchedulerLike } from 'rxjs';
import { DueTimer } from '../../internal/due-timer.js';
import { Fifo } from '../../internal/fifo.js';
import { SessionExpiredError } from './errors.js';
import type { ServerConnection, Session } from './server-session.js';

/** What the {@link Sweep} does when a deadline passes. @internal */
export interface SweepActions<In, Out> {
  /** A connection did not complete its handshake in time: it is closed. */
  handshakeTimedOut(connection: ServerConnection<In, Out>): void;
  /** A session was without a connection for `sessionTtl`: it ends with `error`. */
  expired(session: Session<In, Out>, error: SessionExpiredError): void;
}

/**
 * The deadlines of a session server: each connection's handshake timeout and each idle session's
 * TTL. One timer serves them all, due by the clock (a timer that fires early waits again).
 * @internal
 */
export class Sweep<In, Out> {
  // Deadlines only grow, so both queues are sorted by construction; stale entries are skipped.
  // A connection is its own entry: its `deadline` is its place in the queue.
  readonly #handshakes = new Fifo<ServerConnection<In, Out>>();
  readonly #idle = new Fifo<{ readonly session: Session<In, Out>; readonly since: number }>();
  readonly #timer: DueTimer;
  readonly #actions: SweepActions<In, Out>;
  readonly #scheduler: SchedulerLike;
  readonly #sessionTtl: number;

  constructor(scheduler: SchedulerLike, sessionTtl: number, actions: SweepActions<In, Out>) {
    this.#sessionTtl = sessionTtl;
    this.#actions = actions;
    this.#scheduler = scheduler;
    this.#timer = new DueTimer(scheduler);
  }

  /** A connection was accepted: its handshake is due at `deadline` (its `deadline`). */
  handshake(connection: ServerConnection<In, Out>, deadline: number): void {
    this.#handshakes.push(connection);
    this.#arm(deadline);
  }

  /** A session lost its connection at `since` (its `idleSince`): it expires `sessionTtl` later. */
  idleSince(session: Session<In, Out>, since: number): void {
    this.#idle.push({ session, since });
    this.#arm(since + this.#sessionTtl);
  }

  /** Stops the timer (the server stops). */
  cancel(): void {
    this.#timer.cancel();
  }

  /** Forgets every deadline. */
  clear(): void {
    this.#handshakes.clear();
    this.#idle.clear();
  }

  #arm(at: number): void {
    this.#timer.setEarliest(at, () => this.#run());
  }

  #run(): void {
    const now = this.#scheduler.now();
    for (let head = this.#handshakes.peek(); head && head.pastDeadline(now); head = this.#handshakes.peek()) {
      const connection = this.#handshakes.shift()!;
      // Passed: the connection keeps no number for it from now on.
      connection.deadline = undefined;
      if (!connection.ended && !connection.session) this.#actions.handshakeTimedOut(connection);
    }
    for (
      let head = this.#idle.peek();
      head && head.since + this.#sessionTtl <= now;
      head = this.#idle.peek()
    ) {
      this.#idle.shift();
      const { session } = head;
      if (!session.ended && !session.connection && session.idleSince === head.since) {
        this.#actions.expired(session, expiredError(session, now - head.since));
      }
    }
    const next = Math.min(
      this.#handshakes.peek()?.deadline ?? Infinity,
      (this.#idle.peek()?.since ?? Infinity) + this.#sessionTtl,
    );
    if (next !== Infinity) this.#arm(next);
  }
}

function expiredError(session: { readonly id: string }, idleFor: number): SessionExpiredError {
  return new SessionExpiredError(`Session ${session.id} expired after ${idleFor} ms without a connection`, {
    session: session.id,
    idleFor,
  });
}
