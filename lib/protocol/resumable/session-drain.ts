import type { DrainingLayer } from '../handshake/drain.js';
import type { Session } from './server-session.js';
import type { SessionRegistry } from './session-registry.js';

/**
 * A session server's part in its server's drain (`HandshakeAdmission.drain`). Before the
 * go-aways, each session with a connection writes out what it holds (with a store: once stored),
 * so the responses of the requests that finished reach the client on that connection. Once every
 * connection has closed, each session waits until the store has every frame it took, then ends on
 * this process, left in the store for its client to resume elsewhere. A session that ends
 * meanwhile (its store refused a write) holds nothing back: its own error says what never left.
 * @internal
 */
export class SessionDrain<In, Out> implements DrainingLayer {
  /** The sessions the current step waits for; a new step replaces the set. */
  #waiting: Set<Session<In, Out>> | undefined;
  #then: (() => void) | undefined;

  readonly #registry: SessionRegistry<In, Out>;

  constructor(registry: SessionRegistry<In, Out>) {
    this.#registry = registry;
    registry.onEnded = (session) => this.#passed(this.#waiting, session);
  }

  beforeGoAway(ready: () => void): void {
    const attached = [...this.#registry.all()].filter((session) => session.connection !== undefined);
    this.#await(attached, ready, (session, passed) => session.side.whenDurable(passed));
  }

  afterClose(done: () => void): void {
    this.#registry.handOver();
    const registry = this.#registry;
    this.#await([...registry.all()], done, (session) =>
      session.side.whenDurable(() => registry.end(session, undefined)),
    );
  }

  /** Runs `each` on every session, then `then` once each has passed (or ended). */
  #await(
    sessions: readonly Session<In, Out>[],
    then: () => void,
    each: (session: Session<In, Out>, passed: () => void) => void,
  ): void {
    const waiting = new Set(sessions);
    this.#waiting = waiting;
    this.#then = then;
    for (const session of sessions) {
      // A step that ended inside `each` (the last session passed at once) asks nothing more.
      if (this.#waiting !== waiting) return;
      each(session, () => this.#passed(waiting, session));
    }
    this.#check(waiting);
  }

  #passed(waiting: Set<Session<In, Out>> | undefined, session: Session<In, Out>): void {
    if (waiting === undefined || waiting !== this.#waiting || !waiting.delete(session)) return;
    this.#check(waiting);
  }

  #check(waiting: Set<Session<In, Out>>): void {
    if (this.#waiting !== waiting || waiting.size > 0) return;
    const then = this.#then;
    this.#waiting = this.#then = undefined;
    then?.();
  }
}
