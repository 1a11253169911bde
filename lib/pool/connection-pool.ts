import { asyncScheduler, Observable, Subject, type SchedulerLike, type Subscription } from 'rxjs';
import { ConnectionError, DialError } from '../core/errors.js';
import type { Link, Transport, TransportEvent } from '../core/transport.js';
import {
  checkFunction,
  checkKnownOptions,
  checkNumber,
  checkScheduler,
  describe,
  type KnownOptions,
  MAX_DELAY,
} from '../internal/validate.js';
import { PoolClosedError, PoolExhaustedError } from './errors.js';
import { IdleList, type ListNode } from './idle-list.js';
import { PoolLease, type Lease } from './lease.js';
import { originOf as toOrigin, type Origin, type OriginParts } from './origin.js';
import { PooledLink } from './pooled-link.js';

/**
 * Options of {@link ConnectionPool}.
 *
 * @typeParam In - inbound frame type. @typeParam Out - outbound frame type.
 * @example
 * ```ts
 * import { ConnectionPool, memory, type ConnectionPoolOptions } from 'rx-lifeline';
 * const endpoint = memory();
 * const options: ConnectionPoolOptions = {
 *   dial: () => endpoint.transport,
 *   idlePerKey: 2,
 *   openTotal: 64,
 *   idleTimeout: 30_000,
 * };
 * const pool = new ConnectionPool(options);
 * ```
 * @category Pools
 */
export interface ConnectionPoolOptions<In = unknown, Out = In> {
  /**
   * Makes the transport that dials `origin`. Called once per new connection, when a user needs one
   * and no idle one of that origin is available (lazy: nothing is dialled before). The pool does
   * not check that the transport really goes to `origin`. What it throws, or a TypeError when it
   * returns something else than a transport, fails the user's `transport()` (never retried) and
   * frees that connection's place in the pool.
   * @default none (required)
   */
  dial: (origin: Origin) => Transport<In, Out>;
  /**
   * Idle connections kept per origin; beyond it, the least recently used idle one of that origin is
   * closed. `0` keeps none: every connection closes when its user leaves. It does not limit
   * connections in use.
   * @default 1
   */
  idlePerKey?: number;
  /**
   * Idle connections kept in the whole pool; beyond it, the least recently used idle one (of any
   * origin) is closed, in O(1). It does not limit connections in use.
   * @default 256
   */
  idleTotal?: number;
  /**
   * Connections open at once in the whole pool, in use, idle or being dialled. When it is reached, a
   * request closes the least recently used idle connection to make room, or else waits its turn in
   * the waiting queue. It is not a limit per origin.
   * @default Infinity
   */
  openTotal?: number;
  /**
   * Milliseconds an idle connection stays open before it is closed; `Infinity` keeps it until it is
   * evicted or breaks, `0` closes it as soon as its user leaves. It does not bound how long a user
   * holds a connection.
   * @default 4000 (undici's keepAliveTimeout)
   */
  idleTimeout?: number;
  /**
   * Requests that may wait for a connection while `openTotal` connections are in use, in order of
   * arrival; one more fails at once with {@link PoolExhaustedError}. A waiting request waits
   * without a deadline: pipe `timeout` onto it for one.
   * @default 1024
   */
  maxWaiting?: number;
  /**
   * Runs the idle timers.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

const OPTIONS: KnownOptions<ConnectionPoolOptions> = {
  dial: true,
  idlePerKey: true,
  idleTotal: true,
  openTotal: true,
  idleTimeout: true,
  maxWaiting: true,
  scheduler: true,
};

/**
 * Counts of one origin's connections, as {@link ConnectionPool.stats$} emits them.
 *
 * @example
 * ```ts
 * import type { PoolCounts } from 'rx-lifeline';
 * const inUse = (counts: PoolCounts) => counts.open - counts.idle;
 * ```
 * @category Pools
 */
export interface PoolCounts {
  /** Connections open or being dialled: in use plus idle. */
  readonly open: number;
  /** Open connections nobody uses. */
  readonly idle: number;
  /** Requests waiting for a connection. */
  readonly waiting: number;
}

/**
 * One change of a {@link ConnectionPool}'s counts: the origin key whose counts changed, its new
 * counts, and the pool's totals after the change.
 *
 * @example
 * ```ts
 * import type { PoolStats } from 'rx-lifeline';
 * const line = (s: PoolStats) => `${s.key} open=${s.open} idle=${s.idle} (pool: ${s.total.open})`;
 * ```
 * @category Pools
 */
export interface PoolStats extends PoolCounts {
  /** The origin key ({@link Origin.key}). */
  readonly key: string;
  /** The whole pool's counts. */
  readonly total: PoolCounts;
}

/**
 * A {@link ConnectionPool}'s counts at one moment: its totals and every origin that has a
 * connection or a waiting request.
 *
 * @example
 * ```ts
 * import type { PoolSnapshot } from 'rx-lifeline';
 * const busiest = (s: PoolSnapshot) => [...s.keys].sort((a, b) => b.open - a.open)[0]?.key;
 * ```
 * @category Pools
 */
export interface PoolSnapshot {
  readonly total: PoolCounts;
  readonly keys: readonly (PoolCounts & { readonly key: string })[];
}

/**
 * Anything {@link ConnectionPool} accepts as an address: a URL or an {@link Origin} or its parts.
 *
 * @example
 * ```ts
 * import type { PoolAddress } from 'rx-lifeline';
 * const address: PoolAddress = { scheme: 'tcp', host: '127.0.0.1', port: 7070 };
 * ```
 * @category Pools
 */
export type PoolAddress = string | URL | OriginParts;

/**
 * A pool of connections keyed by origin — scheme, host, port, user and credentials (see
 * {@link originOf}) — so that work for the same origin reuses an open connection instead of dialling
 * again, and connections of different origins or users are never shared.
 *
 * {@link ConnectionPool.transport} gives a {@link Transport} that borrows a connection while it is
 * subscribed; {@link ConnectionPool.lease} gives one for an exchange of several steps and closes it
 * if the exchange is interrupted. A connection goes back to the idle set only when its user left it
 * healthy — open, not closing, and every frame sent confirmed written whole — and an idle
 * connection that the server closed, or that received a frame nobody asked for, is closed and
 * dropped, never handed out. A dial that fails before anything was written is tried once more on a
 * fresh connection before the user hears of it.
 *
 * Limits: `idlePerKey` and `idleTotal` evict the least recently used idle connection in O(1) (no
 * scan of the pool to find it); `openTotal` makes requests wait in a FIFO queue of
 * `maxWaiting`, then fail with {@link PoolExhaustedError}; `idleTimeout` closes idle connections on
 * the scheduler. There is no global pool: each pool is a value its owner passes around, and
 * {@link ConnectionPool.adopt} takes in a connection its caller already holds.
 *
 * It does not multiplex: one connection has one user at a time (undici's `pipelining: 1`). It does
 * not reconnect: a borrowed connection that breaks errors its user, with the write report, for
 * `reconnectWith` to decide on. It does not resolve names or balance among hosts.
 *
 * @typeParam In - inbound frame type. @typeParam Out - outbound frame type.
 * @example
 * ```ts
 * import { ConnectionPool, memory } from 'rx-lifeline';
 * import { filter, first } from 'rxjs';
 * const endpoint = memory<string>();
 * const pool = new ConnectionPool<string>({ dial: () => endpoint.transport, idleTimeout: 10_000 });
 * const ask = (question: string) =>
 *   pool.transport('tcp://db.example.com:5000').pipe(
 *     filter((event) => {
 *       if (event.type === 'connected') event.link.send(question);
 *       return event.type === 'frame';
 *     }),
 *     first(), // unsubscribes: the connection goes back to the pool for the next question
 *   );
 * ask('ping').subscribe({
 *   next: (answer) => console.log(answer),
 *   error: (error: unknown) => console.error('no answer', error), // DialError, PoolClosedError, …
 * });
 * pool.stats$.subscribe((s) => console.log(s.key, s.open, s.idle, s.waiting));
 * pool.close();
 * ```
 * @category Pools
 */
export class ConnectionPool<In = unknown, Out = In> {
  /**
   * Emits, on subscription, the counts of every origin that has a connection or a waiting request,
   * then one {@link PoolStats} each time an origin's counts change (an origin whose counts fall to
   * zero emits its zeros once and is forgotten). Completes when the pool is closed.
   */
  readonly stats$: Observable<PoolStats>;

  readonly #dial: (origin: Origin) => Transport<In, Out>;
  readonly #idlePerKey: number;
  readonly #idleTotal: number;
  readonly #openTotal: number;
  readonly #idleTimeout: number;
  readonly #maxWaiting: number;
  readonly #scheduler: SchedulerLike;

  readonly #entries = new Map<string, KeyEntry<In, Out>>();
  readonly #connections = new Set<Connection<In, Out>>();
  readonly #idleAll = new IdleList<Connection<In, Out>>();
  /** Requests waiting for a connection; a Set keeps arrival order and removes any one in O(1). */
  readonly #waiters = new Set<Ticket<In, Out>>();
  readonly #changes = new Subject<PoolStats>();
  #pumping = false;
  #pumpAgain = false;
  #closed = false;

  /**
   * @throws `TypeError` when `dial` is not a function, a limit is not a number in its range, or an
   * option is not one of {@link ConnectionPoolOptions}.
   */
  constructor(options: ConnectionPoolOptions<In, Out>) {
    const where = 'ConnectionPool';
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${where}: pass { dial, … }, got ${describe(options)}`);
    }
    checkKnownOptions(where, options, OPTIONS);
    const {
      dial,
      idlePerKey = 1,
      idleTotal = 256,
      openTotal = Infinity,
      idleTimeout = 4000,
      maxWaiting = 1024,
      scheduler = asyncScheduler,
    } = options;
    this.#dial = checkFunction(where, 'dial', dial);
    const count = { min: 0, integer: true, max: Infinity };
    this.#idlePerKey = checkNumber(where, 'idlePerKey', idlePerKey, count);
    this.#idleTotal = checkNumber(where, 'idleTotal', idleTotal, count);
    this.#openTotal = checkNumber(where, 'openTotal', openTotal, { ...count, min: 1 });
    this.#maxWaiting = checkNumber(where, 'maxWaiting', maxWaiting, {
      ...count,
      max: Number.MAX_SAFE_INTEGER,
    });
    this.#idleTimeout =
      idleTimeout === Infinity ? Infinity : checkNumber(where, 'idleTimeout', idleTimeout, { min: 0 });
    this.#scheduler = checkScheduler(where, scheduler);
    this.stats$ = new Observable<PoolStats>((subscriber) => {
      const total = this.#totals();
      for (const entry of this.#entries.values())
        subscriber.next({ ...countsOf(entry), key: entry.key, total });
      if (this.#closed) subscriber.complete();
      else return this.#changes.subscribe(subscriber);
      return undefined;
    });
  }

  /** Open connections in the whole pool (in use, idle or being dialled). */
  get open(): number {
    return this.#connections.size;
  }

  /**
   * A cold {@link Transport} to `address` that borrows a pooled connection. Subscribing takes the
   * most recently used idle connection of that origin — `connected` is emitted at once, with a
   * link valid until unsubscription — or dials a new one, or waits for one when `openTotal` are in
   * use (or fails with {@link PoolExhaustedError} when `maxWaiting` requests already wait).
   * Unsubscribing gives the connection back: it becomes idle if it is healthy and every frame sent
   * on it was confirmed written whole, else it is closed.
   *
   * A frame that arrives after unsubscription, while the connection is idle, closes it: the pool
   * cannot know what the server meant, so the next user does not inherit it. Unsubscribe once the
   * exchange is complete, or use {@link ConnectionPool.lease}.
   *
   * @param address - where to connect; see {@link originOf}.
   * @throws `TypeError` for an address {@link originOf} rejects.
   * @example
   * ```ts
   * import { ConnectionPool, memory } from 'rx-lifeline';
   * const endpoint = memory<string>();
   * const pool = new ConnectionPool<string>({ dial: () => endpoint.transport });
   * const onError = (error: unknown) => console.error('connection failed', error);
   * const first = pool.transport('tcp://example.com:7070').subscribe({ error: onError }); // dials
   * first.unsubscribe(); // idle
   * const second = pool.transport('tcp://example.com:7070').subscribe({ error: onError }); // the same connection
   * second.unsubscribe();
   * pool.close();
   * ```
   */
  transport(address: PoolAddress): Transport<In, Out> {
    const where = toOrigin(address);
    return new Observable<TransportEvent<In, Out>>((subscriber) => {
      const ticket = new Ticket<In, Out>(where, {
        connected: (link) => subscriber.next({ type: 'connected', link }),
        frame: (frame) => subscriber.next({ type: 'frame', frame }),
        error: (error) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      this.#request(ticket);
      return () => this.#leave(ticket, true);
    });
  }

  /**
   * Leases one connection to `address` for an exchange that must stay on it. Emits one
   * {@link Lease} once a connection is available (taken idle, dialled, or after waiting, as for
   * {@link ConnectionPool.transport}), and completes when the lease is released or discarded. It
   * errors when the connection breaks during the lease, or when the pool is exhausted or closed.
   *
   * Unsubscribing before `release()` interrupts the exchange: the connection is closed, never
   * returned to the pool (an interrupted exchange that leaves its connection, and a lock taken on
   * it, behind makes the retry fail, as git-annex found with its cluster proxy).
   *
   * @param address - where to connect; see {@link originOf}.
   * @throws `TypeError` for an address {@link originOf} rejects.
   * @example
   * ```ts
   * import { ConnectionPool, memory } from 'rx-lifeline';
   * import { first } from 'rxjs';
   * const endpoint = memory<string>();
   * const pool = new ConnectionPool<string>({ dial: () => endpoint.transport });
   * const onError = (error: unknown) => console.error('transfer failed', error);
   * const transfer = pool.lease('tcp://files.example.com:7070').subscribe({
   *   next: (lease) => {
   *     lease.link.send('LOCK');
   *     lease.frames$.pipe(first()).subscribe({
   *       next: () => {
   *         lease.link.send('UNLOCK');
   *         lease.release();
   *       },
   *       error: onError, // the connection broke: the lease is discarded, not reused
   *     });
   *   },
   *   error: onError,
   * });
   * transfer.unsubscribe(); // before release: the connection is closed, not reused
   * ```
   */
  lease(address: PoolAddress): Observable<Lease<In, Out>> {
    const where = toOrigin(address);
    return new Observable<Lease<In, Out>>((subscriber) => {
      const frames = new Subject<In>();
      let ended = false;
      const finish = (reuse: boolean): void => {
        if (ended) return;
        ended = true;
        this.#leave(ticket, reuse);
        frames.complete();
        subscriber.complete();
      };
      const ticket = new Ticket<In, Out>(where, {
        connected: (link) =>
          subscriber.next(new PoolLease(where, link, frames.asObservable(), finish, () => ended)),
        frame: (frame) => frames.next(frame),
        error: (error) => {
          ended = true;
          frames.complete();
          subscriber.error(error);
        },
        complete: () => {
          ended = true;
          frames.complete();
          subscriber.complete();
        },
      });
      this.#request(ticket);
      return () => {
        if (ended) return;
        ended = true;
        this.#leave(ticket, false);
        frames.complete();
      };
    });
  }

  /**
   * Takes in a connection the caller already holds (like bzr's `possible_transports`), such as one
   * a server accepted or one dialled before the pool existed: the pool subscribes to `connection`
   * now and, once it is connected, keeps it as an idle connection of `address` for the next user.
   * It counts towards `openTotal` at once and is subject to the idle limits and timeout.
   *
   * It does not check that `connection` really goes to `address`. A `connection` that fails before
   * it connects is dropped silently.
   *
   * @throws {@link PoolClosedError} when the pool is closed; {@link PoolExhaustedError} when
   * `openTotal` connections are in use and none is idle; `TypeError` for a bad address.
   * @example
   * ```ts
   * import { ConnectionPool, memory } from 'rx-lifeline';
   * const endpoint = memory<string>();
   * const pool = new ConnectionPool<string>({ dial: () => endpoint.transport });
   * pool.adopt('tcp://peer.example.com:7070', endpoint.transport);
   * pool.transport('tcp://peer.example.com:7070').subscribe({
   *   error: (error: unknown) => console.error('connection failed', error),
   * }); // uses the adopted connection
   * ```
   */
  adopt(address: PoolAddress, connection: Transport<In, Out>): void {
    const where = toOrigin(address);
    if (this.#closed) throw new PoolClosedError('The connection pool is closed');
    if (this.#connections.size >= this.#openTotal) {
      const oldest = this.#idleAll.oldest();
      if (!oldest) throw this.#exhausted(where.key);
      this.#destroy(oldest);
    }
    this.#start(this.#newConnection(where), () => connection);
  }

  /** The pool's counts now: totals, and every origin with a connection or a waiting request. */
  snapshot(): PoolSnapshot {
    return {
      total: this.#totals(),
      keys: [...this.#entries.values()].map((entry) => ({ key: entry.key, ...countsOf(entry) })),
    };
  }

  /**
   * Closes the pool: every waiting request, every transport and lease holding a connection fails
   * with {@link PoolClosedError}, every connection is closed (unsubscribed) at once, every idle
   * timer is cleared, and `stats$` completes. Later requests fail with `PoolClosedError`. Calling it
   * again does nothing. It does not wait for exchanges in progress to finish.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = new PoolClosedError('The connection pool was closed');
    const waiting = [...this.#waiters];
    this.#waiters.clear();
    for (const ticket of waiting) {
      ticket.waiting = false;
      ticket.ended = true;
      this.#entryFor(ticket.origin.key).waiting--;
    }
    const owners: Ticket<In, Out>[] = [];
    for (const conn of [...this.#connections]) {
      if (conn.owner) owners.push(conn.owner);
      this.#destroy(conn);
    }
    // Origins that only had waiting requests: their zeros are not emitted yet.
    for (const entry of [...this.#entries.values()]) this.#changed(entry);
    for (const ticket of [...waiting, ...owners]) {
      ticket.ended = true;
      ticket.sink.error(error);
    }
    this.#changes.complete();
  }

  #request(ticket: Ticket<In, Out>): void {
    const key = ticket.origin.key;
    if (this.#closed) {
      ticket.ended = true;
      ticket.sink.error(new PoolClosedError('The connection pool is closed'));
      return;
    }
    const entry = this.#entryFor(key);
    if (this.#waiters.size === 0) {
      const idle = entry.idle.newest();
      if (idle) return this.#handOver(idle, ticket);
      if (this.#connections.size >= this.#openTotal) {
        const oldest = this.#idleAll.oldest();
        if (oldest) this.#destroy(oldest);
      }
      if (this.#connections.size < this.#openTotal) return this.#dialFor(ticket);
    }
    if (this.#waiters.size >= this.#maxWaiting) {
      ticket.ended = true;
      this.#changed(entry);
      ticket.sink.error(this.#exhausted(key));
      return;
    }
    ticket.waiting = true;
    this.#waiters.add(ticket);
    entry.waiting++;
    this.#changed(entry);
  }

  /** The user of `ticket` is done: keep its connection (`reuse`, if healthy) or close it. */
  #leave(ticket: Ticket<In, Out>, reuse: boolean): void {
    if (ticket.ended) return;
    ticket.ended = true;
    if (ticket.waiting) {
      ticket.waiting = false;
      this.#waiters.delete(ticket);
      const entry = this.#entryFor(ticket.origin.key);
      entry.waiting--;
      this.#changed(entry);
      return;
    }
    const conn = ticket.conn;
    if (!conn) return;
    this.#detach(conn);
    if (reuse && conn.state === 'busy' && isReusable(conn.link)) this.#becomeIdle(conn);
    else this.#destroy(conn);
  }

  #handOver(conn: Connection<In, Out>, ticket: Ticket<In, Out>): void {
    this.#unidle(conn);
    conn.state = 'busy';
    this.#attach(conn, ticket);
    this.#changed(conn.entry);
    this.#deliver(conn, ticket);
  }

  #dialFor(ticket: Ticket<In, Out>): void {
    const conn = this.#newConnection(ticket.origin);
    this.#attach(conn, ticket);
    this.#start(conn, this.#dial);
  }

  #newConnection(where: Origin): Connection<In, Out> {
    const conn = new Connection<In, Out>(where, this.#entryFor(where.key));
    this.#connections.add(conn);
    conn.entry.open++;
    this.#changed(conn.entry);
    return conn;
  }

  #start(conn: Connection<In, Out>, dial: (origin: Origin) => Transport<In, Out>): void {
    let transport: Transport<In, Out>;
    try {
      transport = dial(conn.origin);
      if (typeof (transport as Partial<Transport<In, Out>> | null)?.subscribe !== 'function') {
        throw new TypeError(
          `ConnectionPool: dial must return a Transport (an Observable), it returned ${describe(transport)}`,
        );
      }
    } catch (error) {
      this.#ended(conn, { error });
      return;
    }
    const subscription = transport.subscribe({
      next: (event) =>
        event.type === 'connected' ? this.#connected(conn, event.link) : this.#frame(conn, event),
      error: (error: unknown) => this.#ended(conn, { error }),
      complete: () => this.#ended(conn, undefined),
    });
    // The transport may have ended, or the user left, during `subscribe` itself.
    if (conn.state === 'closed') subscription.unsubscribe();
    else conn.subscription = subscription;
  }

  #connected(conn: Connection<In, Out>, link: Link<Out>): void {
    if (conn.state !== 'dialing') return;
    conn.link = link;
    const owner = conn.owner;
    if (!owner) return this.#becomeIdle(conn); // adopted
    conn.state = 'busy';
    this.#deliver(conn, owner);
  }

  #frame(conn: Connection<In, Out>, event: TransportEvent<In, Out>): void {
    const owner = conn.owner;
    if (conn.state === 'busy' && owner?.link && event.type === 'frame') owner.sink.frame(event.frame);
    // A frame nobody asked for, on an idle connection: the protocol state is unknown, so close it.
    else this.#destroy(conn);
  }

  /** The connection's transport completed (`failure` undefined) or errored. */
  #ended(conn: Connection<In, Out>, failure: { error: unknown } | undefined): void {
    if (conn.state === 'closed') return;
    const owner = conn.owner;
    this.#retire(conn);
    if (owner) {
      if (failure && !owner.link && !owner.retried && nothingWritten(failure.error)) {
        // Seed 000: nothing was written and the user holds no link yet, so one more try on a fresh
        // connection is safe and invisible. A second failure reaches the user.
        owner.retried = true;
        this.#dialFor(owner);
      } else {
        owner.ended = true;
        if (failure) owner.sink.error(failure.error);
        else owner.sink.complete();
      }
    }
    this.#changed(conn.entry);
    this.#pump();
  }

  #becomeIdle(conn: Connection<In, Out>): void {
    if (this.#closed) return this.#destroy(conn);
    conn.state = 'idle';
    conn.keyNode = conn.entry.idle.push(conn);
    conn.allNode = this.#idleAll.push(conn);
    // A waiting request takes it, or it makes room for one; either emits the new counts.
    this.#pump();
    if (conn.state !== 'idle') return;
    const { entry } = conn;
    while (entry.idle.size > this.#idlePerKey) this.#destroy(entry.idle.oldest()!);
    while (this.#idleAll.size > this.#idleTotal) this.#destroy(this.#idleAll.oldest()!);
    if (conn.state !== 'idle') return;
    if (this.#idleTimeout === 0) return this.#destroy(conn);
    this.#changed(entry);
    if (this.#idleTimeout !== Infinity) {
      conn.timer = this.#scheduler.schedule(
        () => {
          conn.timer = undefined;
          this.#destroy(conn);
        },
        Math.min(this.#idleTimeout, MAX_DELAY),
      );
    }
  }

  /** Serves waiting requests, oldest first, while connections can be found or made for them. */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        for (const ticket of this.#waiters) {
          const entry = this.#entryFor(ticket.origin.key);
          const idle = entry.idle.newest();
          if (!idle && this.#connections.size >= this.#openTotal) {
            const oldest = this.#idleAll.oldest();
            if (!oldest) break;
            this.#destroy(oldest);
          }
          this.#waiters.delete(ticket);
          ticket.waiting = false;
          entry.waiting--;
          if (idle) this.#handOver(idle, ticket);
          else this.#dialFor(ticket);
          // Sets tolerate deletion while iterating; restart to see the queue as it is now.
          this.#pumpAgain = true;
          break;
        }
      } while (this.#pumpAgain && !this.#closed);
    } finally {
      this.#pumping = false;
    }
  }

  /** Closes `conn` now: unsubscribes its transport, clears its timer, frees its slot. */
  #destroy(conn: Connection<In, Out>): void {
    if (conn.state === 'closed') return;
    const subscription = conn.subscription;
    this.#retire(conn);
    subscription?.unsubscribe();
    this.#changed(conn.entry);
    this.#pump();
  }

  /** Marks `conn` closed and takes it out of every structure; its user, if any, is detached. */
  #retire(conn: Connection<In, Out>): void {
    this.#unidle(conn);
    conn.state = 'closed';
    conn.subscription = undefined;
    this.#connections.delete(conn);
    conn.entry.open--;
    if (conn.owner) this.#detach(conn);
  }

  #unidle(conn: Connection<In, Out>): void {
    if (conn.keyNode) conn.entry.idle.remove(conn.keyNode);
    if (conn.allNode) this.#idleAll.remove(conn.allNode);
    conn.keyNode = conn.allNode = undefined;
    conn.timer?.unsubscribe();
    conn.timer = undefined;
  }

  #attach(conn: Connection<In, Out>, ticket: Ticket<In, Out>): void {
    conn.owner = ticket;
    ticket.conn = conn;
  }

  #detach(conn: Connection<In, Out>): void {
    const ticket = conn.owner;
    conn.owner = undefined;
    if (!ticket) return;
    ticket.conn = undefined;
    ticket.link?.revoke();
  }

  #deliver(conn: Connection<In, Out>, ticket: Ticket<In, Out>): void {
    const link = new PooledLink(conn.link!);
    ticket.link = link;
    ticket.sink.connected(link);
  }

  #entryFor(key: string): KeyEntry<In, Out> {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { key, open: 0, waiting: 0, idle: new IdleList(), shown: { open: 0, idle: 0, waiting: 0 } };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** Emits `entry`'s counts if they changed, and forgets an origin left with nothing. */
  #changed(entry: KeyEntry<In, Out>): void {
    const counts = countsOf(entry);
    const { shown } = entry;
    if (counts.open === 0 && counts.waiting === 0 && this.#entries.get(entry.key) === entry) {
      this.#entries.delete(entry.key);
    }
    if (counts.open === shown.open && counts.idle === shown.idle && counts.waiting === shown.waiting) return;
    entry.shown = counts;
    if (this.#changes.observed) this.#changes.next({ key: entry.key, ...counts, total: this.#totals() });
  }

  #totals(): PoolCounts {
    return { open: this.#connections.size, idle: this.#idleAll.size, waiting: this.#waiters.size };
  }

  #exhausted(key: string): PoolExhaustedError {
    return new PoolExhaustedError(
      `No connection for ${key}: ${this.#connections.size} open (openTotal ${this.#openTotal}) and ` +
        `${this.#waiters.size} waiting (maxWaiting ${this.#maxWaiting})`,
      { key, open: this.#connections.size, waiting: this.#waiters.size },
    );
  }
}

/** A connection may go back to the idle set only if it is open and nothing sent is unconfirmed. */
function isReusable(link: Link<unknown> | undefined): boolean {
  return (
    link !== undefined && !link.closed && !link.closeRequested && link.writeReport().unconfirmedFrames === 0
  );
}

/** Seed 000: a failure that provably wrote nothing can be retried without asking anyone. */
function nothingWritten(error: unknown): boolean {
  if (DialError.is(error)) return true;
  if (!ConnectionError.is(error)) return false;
  return error.write.lastFrame === 'none' || error.write.lastFrame === 'not-started';
}

function countsOf(entry: KeyEntry<unknown, unknown>): PoolCounts {
  return { open: entry.open, idle: entry.idle.size, waiting: entry.waiting };
}

interface KeyEntry<In, Out> {
  readonly key: string;
  open: number;
  waiting: number;
  readonly idle: IdleList<Connection<In, Out>>;
  /** The counts last emitted on `stats$`. */
  shown: PoolCounts;
}

/** What a user of the pool is told about its connection. */
interface Sink<In, Out> {
  connected(link: Link<Out>): void;
  frame(frame: In): void;
  error(error: unknown): void;
  complete(): void;
}

/** One request for a connection, from a transport subscription or a lease. */
class Ticket<In, Out> {
  conn: Connection<In, Out> | undefined;
  /** The link handed to the user; undefined until `connected` was delivered. */
  link: PooledLink<Out> | undefined;
  waiting = false;
  retried = false;
  ended = false;

  constructor(
    readonly origin: Origin,
    readonly sink: Sink<In, Out>,
  ) {}
}

class Connection<In, Out> {
  state: 'dialing' | 'busy' | 'idle' | 'closed' = 'dialing';
  link: Link<Out> | undefined;
  owner: Ticket<In, Out> | undefined;
  subscription: Subscription | undefined;
  keyNode: ListNode<Connection<In, Out>> | undefined;
  allNode: ListNode<Connection<In, Out>> | undefined;
  timer: Subscription | undefined;

  constructor(
    readonly origin: Origin,
    readonly entry: KeyEntry<In, Out>,
  ) {}
}
