/**
 * The phases of a server's drain ({@link HandshakeAdmission.drain}): requests finish, what they
 * answered is handed to the connections, the go-aways leave, the connections close, and the layers
 * above make what they hold safe (a session store written) before the drain completes.
 * @internal
 * @packageDocumentation
 */
import type { SchedulerLike, Subscriber, TeardownLogic } from 'rxjs';
import { DueTimer } from '../../internal/due-timer.js';

/**
 * A layer above the handshake that takes part in its server's drain: `acceptSessions` given the
 * same admission. Its two calls come once each, in this order; a layer that leaves the drain
 * (its server was unsubscribed) counts as having answered.
 * @internal
 */
export interface DrainingLayer {
  /**
   * The requests have settled (or the drain's timeout passed) and the go-aways are next: calls
   * `ready` once what the layer holds for the open connections has been written to them.
   */
  beforeGoAway(ready: () => void): void;
  /**
   * Every connection has closed: calls `done` once what the layer holds is safe (stored), its
   * work on this server over.
   */
  afterClose(done: () => void): void;
}

/** What a drain reads from, and asks of, its server's admission. @internal */
export interface DrainedServer {
  /** Requests running on the server's connections and sessions. */
  running(): number;
  /** Connections admitted and still open. */
  openConnections(): number;
  /** The layers taking part, as they are now. */
  layers(): readonly DrainingLayer[];
  /**
   * Sends each open connection a go-away with its hint (spread from the drain's `retryAfterMs`),
   * then closes it once its queue is written.
   */
  goAwayAll(): void;
}

type Phase = 'requests' | 'writing' | 'closing' | 'flushing' | 'drained';

/**
 * One drain of a server, as a state machine: `requests` (the running ones finish, until the
 * timeout), `writing` (the layers write out what those requests answered, until the timeout),
 * `closing` (go-aways sent, waiting for the connections to close), `flushing` (the layers store
 * what they hold), `drained`.
 * @internal
 */
export class ServerDrain {
  private phase: Phase = 'requests';
  private readonly deadline: DueTimer;
  private readonly watchers = new Set<Subscriber<void>>();
  /** The layers that have not answered the current phase's call yet. */
  private waiting = new Set<DrainingLayer>();

  constructor(
    private readonly server: DrainedServer,
    /** The hint of the go-aways and of the refusals; a later drain() may change it. */
    public retryAfterMs: number,
    timeout: number,
    scheduler: SchedulerLike,
  ) {
    this.deadline = new DueTimer(scheduler);
    if (timeout !== Infinity) this.deadline.setIn(timeout, () => this.goAway());
  }

  /** True once the go-aways have been sent: a connection that opens now is told to go at once. */
  get goneAway(): boolean {
    return this.phase !== 'requests' && this.phase !== 'writing';
  }

  /** Running requests or open connections changed: the phase may be over. */
  check(): void {
    if (this.phase === 'requests' && this.server.running() === 0) this.writeOut();
    else if (this.phase === 'closing' && this.server.openConnections() === 0) this.flush();
  }

  /** A layer left its server (unsubscribed): it no longer holds the phase back. */
  left(layer: DrainingLayer): void {
    if (this.phase === 'writing' || this.phase === 'flushing') this.answered(layer, this.phase);
  }

  /** Completes `subscriber` once drained. */
  watch(subscriber: Subscriber<void>): TeardownLogic {
    if (this.phase === 'drained') return subscriber.complete();
    this.watchers.add(subscriber);
    return () => this.watchers.delete(subscriber);
  }

  private writeOut(): void {
    this.ask('writing', (layer, ready) => layer.beforeGoAway(ready));
  }

  private goAway(): void {
    if (this.goneAway) return;
    this.deadline.cancel();
    this.phase = 'closing';
    this.waiting.clear();
    this.server.goAwayAll();
    this.check();
  }

  private flush(): void {
    this.ask('flushing', (layer, done) => layer.afterClose(done));
  }

  /** Enters `phase` and asks each layer; the next step comes once all have answered. */
  private ask(phase: 'writing' | 'flushing', call: (layer: DrainingLayer, done: () => void) => void): void {
    this.phase = phase;
    const layers = this.server.layers();
    this.waiting = new Set(layers);
    for (const layer of layers) call(layer, () => this.answered(layer, phase));
    this.next(phase);
  }

  /** `layer` answered the call of `phase`; a late answer, from a phase gone by, changes nothing. */
  private answered(layer: DrainingLayer, phase: 'writing' | 'flushing'): void {
    if (this.phase !== phase || !this.waiting.delete(layer)) return;
    this.next(phase);
  }

  private next(phase: 'writing' | 'flushing'): void {
    if (this.phase !== phase || this.waiting.size > 0) return;
    if (phase === 'writing') return this.goAway();
    this.phase = 'drained';
    for (const watcher of [...this.watchers]) watcher.complete();
    this.watchers.clear();
  }
}
