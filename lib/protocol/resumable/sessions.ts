import {
  Observable,
  type SchedulerAction,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
  type TeardownLogic,
} from 'rxjs';
import { ProtocolError } from '../../core/errors.js';
import type {
  ConnectedEvent,
  ConnectionErrorEvent,
  Link,
  ListeningEvent,
  RefusedEvent,
  TransportEvent,
} from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { asLayerError, notAnEnvelope as notAnEnvelopeOf } from '../../internal/peer-input.js';
import { askPromise } from '../../internal/promise-like.js';
import {
  checkKnownOptions,
  checkNumber,
  type KnownOptions,
  POSITIVE_DURATION,
  POSITIVE_INTEGER,
} from '../../internal/validate.js';
import { resolveSideOptions, type SideOptions } from './session-side.js';
import { Handshake, type HandshakeSettings } from './handshake.js';
import type { AttachmentOwner, ServerConnection, ServerSession, Session } from './server-session.js';
import type { SessionStore } from './store.js';
import type { SessionStoreError } from './errors.js';
import { ServerCounters, type SessionServerStats, type StoreFailure } from './server-stats.js';
import { SessionRegistry } from './session-registry.js';
import { checkAdmission, type HandshakeAdmission } from '../handshake/admission.js';
import { unlisted } from '../handshake/layers.js';
import { SessionDrain } from './session-drain.js';
import { Sweep } from './sweep.js';
import { ACK, DATA, GOODBYE, HELLO, isCount, layerError } from './wire.js';

/**
 * A `connection` event as {@link acceptSessions} takes it: a server's accepted connection, possibly
 * piped through per-connection layers such as {@link heartbeat}, whose own events it ignores.
 *
 * @example
 * ```ts
 * import { heartbeat, type SessionServerConnection } from 'rx-lifeline';
 * import type { AcceptedEvent } from 'rx-lifeline';
 * const withHeartbeat = (event: AcceptedEvent): SessionServerConnection => ({
 *   ...event,
 *   connection: event.connection.pipe(heartbeat({ interval: 5_000, timeout: 15_000 })),
 * });
 * ```
 * @category Sessions
 */
export interface SessionServerConnection {
  readonly type: 'connection';
  /** The accepted connection's events; events other than `connected` and `frame` are ignored. */
  readonly connection: Observable<TransportEvent<unknown, unknown> | { readonly type: string }>;
}

/**
 * What {@link acceptSessions} returns: the Observable of sessions, the server's counts, and the
 * failures of its session store that no session hears of.
 *
 * @example
 * ```ts
 * import { acceptSessions, memory, memorySessionStore, type SessionServer } from 'rx-lifeline';
 * const server: SessionServer<string> = acceptSessions<string>(memory<string>().server, {
 *   store: memorySessionStore(),
 * });
 * const watch = server.stats$.subscribe((s) => console.log(`${s.handshaking} handshaking, ${s.refused.locked} locked out`));
 * const alarms = server.errors$.subscribe((error) => console.error(error.code, error.session, error.message, error.cause));
 * watch.unsubscribe();
 * alarms.unsubscribe();
 * ```
 */
export type SessionServer<In = unknown, Out = In> = Observable<ServerSession<In, Out>> & {
  /**
   * The server's {@link SessionServerStats}: the counts at once, then the counts after each
   * change. They add up every subscription of the server Observable (usually one). It never
   * completes, since the server Observable may be subscribed again; it holds no timer, and costs
   * nothing while nobody subscribes.
   */
  readonly stats$: Observable<SessionServerStats>;
  /**
   * Each failure of the `store` that reaches no session's `events$`, as a {@link SessionStoreError}
   * whose `code` says what kind (a store's own `SessionStoreError` keeps its code; a claim answered
   * with nonsense is `'corrupt'`; a throw, a rejection, an answer that is not a promise, or no
   * answer in time is `'unavailable'`), whose `cause` is what the store answered, whose `session`
   * is the session's id when one is concerned, and whose message says what was asked: a hello's
   * `create` or `claim` (its client is refused `'overloaded'`, counted in `stats$` as
   * `refused.store`, or it had closed meanwhile), a hello left unanswered until its
   * `handshakeTimeout`, the keep-alive `touch` (failed, or unanswered for `storeTimeout`), and the
   * `remove` of a session that expired or ended (failed, or, once expired, unanswered for
   * `storeTimeout`). A `'fenced'` answer to a `remove` is no failure (another process took the
   * session over) and is not told. A store failure that ends a session (a write) is that
   * session's `events$` error only. Each failure is told once: an answer that fails after its
   * deadline was told adds nothing.
   *
   * Hot, like an event emitter's `'error'` event: each subscriber gets the failures from when it
   * subscribed; none is kept for a later one, nor while nobody subscribes (an error is then not
   * even built). It adds up every subscription of the server Observable, never completes, and
   * holds no timer.
   */
  readonly errors$: Observable<SessionStoreError>;
};

/**
 * Options of {@link acceptSessions}.
 *
 * @example
 * ```ts
 * import type { AcceptSessionsConfig } from 'rx-lifeline';
 * const config: AcceptSessionsConfig = { sessionTtl: 30_000, maxSessions: 1_000 };
 * ```
 * @category Sessions
 */
export interface AcceptSessionsConfig<Out = unknown> {
  /**
   * Milliseconds a session without a connection is kept for its client to resume. It does not
   * limit how long a connected session lives.
   * @default 60_000
   */
  sessionTtl?: number;
  /**
   * The most sessions held at once; a new session beyond it is refused (`'overloaded'`). Resumes
   * of existing sessions are never refused for it.
   * @default 10_000
   */
  maxSessions?: number;
  /**
   * Milliseconds from a connection's accept within which its handshake must complete, or it is
   * closed. Refused hellos do not extend it, and a hello refused after it closes the connection at
   * once. It does not limit a handshaken connection.
   * @default 10_000
   */
  handshakeTimeout?: number;
  /**
   * Refused hellos one connection may send: the refusal that reaches this count closes it. (A
   * `'version'` or `'overloaded'` refusal closes it at once.) It does not count across
   * connections: `badTokenLockout` guards a session against many connections.
   * @default 3
   */
  maxRefusedHellos?: number;
  /**
   * Milliseconds for which a session is locked after a hello presented a wrong token for it: while
   * locked, every hello naming it is refused with `'overloaded'` and closed without its token being
   * compared, so no number of connections can guess faster than one token per lockout. A client
   * holding the right token is refused too, and comes back when its reconnect policy says. `0`
   * turns it off. It does not lock a session for hellos naming an unknown one.
   * @default 1_000
   */
  badTokenLockout?: number;
  /**
   * Cap on the bytes of each session's unacknowledged outbound frames. From half of it on (or of
   * `maxFrames`), the session link's `send()` returns `false`: a sender that waits for `drain$`
   * then never reaches it.
   * @default 4 MiB (4_194_304)
   */
  maxBytes?: number;
  /**
   * Cap on each session's unacknowledged outbound frames, and on events held before `events$`
   * is subscribed.
   * @default 65_536
   */
  maxFrames?: number;
  /**
   * Ack after this many inbound frames.
   * @default 32
   */
  ackEvery?: number;
  /**
   * Ack at most this many milliseconds after the first frame not yet acked.
   * @default 200
   */
  ackInterval?: number;
  /**
   * The size of a frame in bytes, for `maxBytes`. By default a frame written at once counts the
   * bytes it added to the connection's send queue (its encoded envelope with the framing), so it
   * can take the buffer past `maxBytes` by that one frame, and a frame queued while the client is
   * away is encoded with MessagePack to be measured. A function measures every frame before it is
   * written. It does not change what goes on the wire.
   * @default the encoded size, as written (MessagePack size while the client is away)
   */
  sizeOf?: (frame: Out) => number;
  /**
   * Runs the ack timers and the one sweep timer (handshake timeouts, session expiry).
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
  /**
   * Where sessions are kept so that they outlive this process: any server on the same store
   * resumes any of them (`redisSessionStore` from `rx-lifeline/redis`, or
   * {@link memorySessionStore} for several servers in one process). Each frame to a client is
   * stored before it is written (batched per turn of the event loop), acks say only what the
   * store kept, a resume is an atomic claim (token checked and rotated, epoch bumped) so a
   * process holding a stale copy can change nothing, and a store failure ends that session on
   * this process with a {@link SessionStoreError}, never silently continued in memory. A session
   * resumed from another process's copy is a new {@link ServerSession} here, whose client frames
   * the process before may have delivered come `redelivered` (see {@link SessionFrameEvent}).
   * @default none: sessions live in this server's memory and end with it
   */
  store?: SessionStore;
  /**
   * Milliseconds the `store` may take to answer a session's write. A write it has not answered by
   * then (a store that hangs) ends that session on this process with a {@link SessionStoreError}
   * (`'unavailable'`) whose `unsent` lists the frames of that write and those taken since, instead
   * of holding its later frames, its `close()` and a drain for good; its client resumes from what
   * the store kept, on this process or another. A session that expired ends (with
   * {@link SessionExpiredError}) once the store removed it, or after this long without its answer;
   * the keep-alive of attached sessions (a touch, a third of `sessionTtl` apart) is sent again only
   * once the last one was answered or is this old. Timed on `scheduler`. No effect without a `store`.
   * @default 30_000
   */
  storeTimeout?: number;
  /**
   * The server's admission control, the one its {@link acceptHandshake} shares (pipe the same
   * object): its drain ({@link HandshakeAdmission.drain}) then waits, before its go-aways, until
   * each session has written what it holds to its connection (the responses of the requests that
   * finished), and, once every connection has closed, until the `store` has every frame the
   * sessions took; then the sessions end on this process (their `events$` complete), left in the
   * store for their clients to resume on another process. Without a store they end too: their
   * clients learn it on their next connection (`SessionLostError`). It admits nothing itself.
   * @default undefined (a drain does not wait for the sessions, and does not end them)
   */
  admission?: HandshakeAdmission;
}

const CONFIG: KnownOptions<AcceptSessionsConfig> = {
  sessionTtl: true,
  maxSessions: true,
  handshakeTimeout: true,
  maxRefusedHellos: true,
  badTokenLockout: true,
  maxBytes: true,
  maxFrames: true,
  ackEvery: true,
  ackInterval: true,
  sizeOf: true,
  scheduler: true,
  store: true,
  storeTimeout: true,
  admission: true,
};

/**
 * The server side of {@link resumable}: groups a server's connections into sessions by their
 * handshake and emits one {@link ServerSession} per session, not per connection. A client that
 * reconnects resumes its session: the handshake checks its token in constant time, rotates it, and
 * each side replays what the other missed, so `events$` sees every frame exactly once and in order.
 *
 * A session without a connection is dropped after `sessionTtl` (its `events$` errors with
 * {@link SessionExpiredError}); a connection that does not complete its handshake within
 * `handshakeTimeout` of its accept is closed, however many hellos it sends; a wrong token is
 * refused (`'bad-token'`), changes nothing in the session but locks it against further guesses
 * for `badTokenLockout`; a hello naming an unknown session is refused (`'unknown-session'`), as
 * after a restart; a connection is closed after `maxRefusedHellos` refusals. A connection that
 * breaks the protocol (any frame that is not an envelope of this layer, whatever it decoded to) is
 * closed, without affecting its session: the session sees a `disconnected` event with the
 * `ProtocolError`. What the server refused and closed is counted in `stats$`. Idle sessions hold
 * no timer (one sweep timer serves them all) and no buffer storage once everything is acked.
 *
 * It does not authenticate clients (do that in {@link acceptHandshake}'s `authenticate`), keeps
 * sessions in this process's memory unless given a `store` (then they outlive it), and does not
 * answer pings: to use {@link heartbeat} on the
 * server, pipe each accepted connection through it before it reaches `acceptSessions`.
 * Unsubscribing closes the server, every connection and every session.
 *
 * @example
 * ```ts
 * import { acceptSessions, memory, type ServerSession } from 'rx-lifeline';
 * const side = memory<string>();
 * const shout = (session: ServerSession<string>) =>
 *   session.events$.subscribe({
 *     next: (event) => {
 *       if (event.type !== 'frame') return;
 *       try {
 *         session.link.send(event.frame.toUpperCase());
 *       } catch {
 *         session.link.close(); // its replay buffer is full: a client that does not read
 *       }
 *     },
 *     error: (error: unknown) => console.warn(`session ${session.id} ended`, error),
 *   });
 * const sessions = acceptSessions<string>(side.server, { sessionTtl: 30_000 });
 * const server = sessions.subscribe({
 *   next: shout,
 *   // The listener failed (a port in use): the server is down, the process is not.
 *   error: (error: unknown) => console.error('server stopped', error),
 * });
 * const stats = sessions.stats$.subscribe((s) => console.log(`${s.sessions} sessions`));
 * server.unsubscribe();
 * stats.unsubscribe();
 * ```
 * @category Sessions
 */
export function acceptSessions<In = unknown, Out = In>(
  server$: Observable<ListeningEvent | SessionServerConnection | RefusedEvent | ConnectionErrorEvent>,
  config: AcceptSessionsConfig<Out> = {},
): SessionServer<In, Out> {
  const settings = resolveConfig(config);
  // Shared by the subscriptions of the returned Observable: the server's counts, for stats$.
  const counters = new ServerCounters();
  const sessions$ = new Observable<ServerSession<In, Out>>((subscriber) =>
    new SessionServerRun<In, Out>(settings, counters, subscriber).start(server$),
  );
  return Object.assign(sessions$, { stats$: counters.stats$, errors$: counters.errors$ });
}

interface ServerSettings<Out> extends HandshakeSettings {
  readonly store: SessionStore | undefined;
  readonly storeTimeout: number;
  readonly admission: HandshakeAdmission | undefined;
  readonly sessionTtl: number;
  readonly handshakeTimeout: number;
  readonly side: SideOptions<Out>;
}

/** Checks the options of {@link acceptSessions} and fills in the defaults. */
function resolveConfig<Out>(config: AcceptSessionsConfig<Out>): ServerSettings<Out> {
  checkKnownOptions('acceptSessions', config, CONFIG);
  const {
    sessionTtl = 60_000,
    maxSessions = 10_000,
    handshakeTimeout = 10_000,
    maxRefusedHellos = 3,
    badTokenLockout = 1_000,
    store,
    storeTimeout = 30_000,
  } = config;
  checkStore(store);
  const side = resolveSideOptions('acceptSessions', config);
  // A TTL may be longer than a timer can wait (the sweep re-arms); the handshake timeout may not.
  checkNumber('acceptSessions', 'sessionTtl', sessionTtl, { min: 0, exclusive: true, max: Number.MAX_VALUE });
  checkNumber('acceptSessions', 'handshakeTimeout', handshakeTimeout, POSITIVE_DURATION);
  checkNumber('acceptSessions', 'maxSessions', maxSessions, POSITIVE_INTEGER);
  checkNumber('acceptSessions', 'maxRefusedHellos', maxRefusedHellos, {
    min: 1,
    integer: true,
    max: 1_000_000,
  });
  checkNumber('acceptSessions', 'badTokenLockout', badTokenLockout, { min: 0 });
  checkNumber('acceptSessions', 'storeTimeout', storeTimeout, POSITIVE_DURATION);
  return {
    store,
    storeTimeout,
    admission: checkAdmission('acceptSessions', config.admission),
    sessionTtl,
    maxSessions,
    handshakeTimeout,
    maxRefusedHellos,
    badTokenLockout,
    scheduler: side.scheduler,
    side,
  };
}

const STORE_CALLS = ['create', 'claim', 'write', 'touch', 'remove'] as const;

/** A store is an object with the five calls of {@link SessionStore}, read structurally. */
function checkStore(store: unknown): void {
  if (store === undefined) return;
  const missing = STORE_CALLS.filter(
    (call) => typeof (store as Record<string, unknown> | null)?.[call] !== 'function',
  );
  if (typeof store === 'object' && store !== null && missing.length === 0) return;
  throw new TypeError(
    `acceptSessions: store must be a SessionStore (memorySessionStore(), redisSessionStore(redis) from rx-lifeline/redis), got ${describeValue(store)}${missing.length && typeof store === 'object' && store !== null ? ` without ${missing.join(', ')}` : ''}`,
  );
}

/** What a failed keep-alive asked the store, for `errors$`. */
const TOUCH = 'to keep the attached sessions alive (touch)';

/** What `errors$` says of a hello the store did not answer before its connection's deadline. */
function unansweredHello(handshakeTimeout: number): StoreFailure {
  return {
    what: 'to answer a hello',
    why: `no answer within ${handshakeTimeout} ms (handshakeTimeout), so its connection is closed`,
  };
}

/** Frames a connection may send while the store answers its hello (a client sends none). */
const MAX_QUEUED = 64;

/**
 * One subscription of {@link acceptSessions}: it wires the listener's connections and their frames
 * to the session registry and the handshake.
 */
class SessionServerRun<In, Out> implements AttachmentOwner<Session<In, Out>> {
  readonly #registry: SessionRegistry<In, Out>;
  readonly #handshake: Handshake<In, Out>;
  readonly #settings: ServerSettings<Out>;
  readonly #subscriber: Subscriber<ServerSession<In, Out>>;
  readonly #counters: ServerCounters;

  constructor(
    settings: ServerSettings<Out>,
    counters: ServerCounters,
    subscriber: Subscriber<ServerSession<In, Out>>,
  ) {
    this.#counters = counters;
    this.#settings = settings;
    this.#subscriber = subscriber;
    const sweep = new Sweep<In, Out>(settings.scheduler, settings.sessionTtl, {
      handshakeTimedOut: (connection) => {
        counters.closing('handshakeTimeout');
        if (connection.waiting) {
          counters.storeFailed(unansweredHello(settings.handshakeTimeout));
          // Told: the store's answer, should it ever come, tells nothing more.
          connection.waiting = false;
        }
        this.#registry.drop(connection);
      },
      expired: (session, error) => this.#registry.expire(session, error),
    });
    const { store, sessionTtl: ttl, storeTimeout: timeout, scheduler } = settings;
    const stored = store ? { store, ttl, timeout, scheduler } : undefined;
    this.#registry = new SessionRegistry<In, Out>(settings.scheduler, counters, sweep, settings.side, stored);
    this.#handshake = new Handshake<In, Out>(
      this.#registry,
      counters,
      settings,
      (session) => subscriber.next(session.handOut()),
      (connection, error) => this.#settled(connection, error),
    );
  }

  /** The store answered a hello: the frames that waited go on, or a protocol error closes it. */
  #settled(connection: ServerConnection<In, Out>, error?: unknown): void {
    if (error !== undefined) return this.#failed(connection, error);
    const queued = connection.queued;
    connection.queued = undefined;
    for (const frame of queued ?? []) {
      if (connection.waiting || connection.ended) {
        (connection.queued ??= []).push(frame);
        continue;
      }
      this.frame(connection, frame);
    }
  }

  start(
    server$: Observable<ListeningEvent | SessionServerConnection | RefusedEvent | ConnectionErrorEvent>,
  ): TeardownLogic {
    const keeping = this.#keepAttached();
    const leaveDrain = this.#settings.admission?.joinDrain(new SessionDrain(this.#registry));
    const listener = server$.subscribe({
      next: (event) => {
        if (event.type === 'connection') this.#accept(event.connection);
        else if (event.type === 'refused') this.#counters.refusedConnection(event.reason);
        else if (event.type === 'connection-error') this.#counters.connectionError();
      },
      error: (error: unknown) => {
        this.#registry.stop();
        this.#subscriber.error(error);
      },
      complete: () => {
        this.#registry.stop();
        this.#subscriber.complete();
      },
    });
    return () => {
      keeping?.unsubscribe();
      leaveDrain?.();
      this.#registry.stop();
      listener.unsubscribe();
    };
  }

  /**
   * With a store: a session with a connection is this process's until it leaves, so its record
   * is kept alive (a third of `sessionTtl` apart) however quiet it is; the store forgets it a
   * `sessionTtl` after it lost its connection, or after this process died.
   */
  #keepAttached(): Subscription | undefined {
    const { store, sessionTtl, storeTimeout, scheduler } = this.#settings;
    if (!store) return undefined;
    const registry = this.#registry;
    const counters = this.#counters;
    // When the touch still unanswered was sent: one at a time, so a store that hangs is not sent
    // one more list of every attached session each round; after `storeTimeout` it counts as lost.
    let asked: number | undefined;
    return scheduler.schedule(function (this: SchedulerAction<unknown>) {
      this.schedule(undefined, sessionTtl / 3);
      const now = scheduler.now();
      if (asked !== undefined) {
        if (now - asked < storeTimeout) return;
        asked = undefined;
        counters.storeFailed({ what: TOUCH, why: `no answer within ${storeTimeout} ms (storeTimeout)` });
      }
      const attached: { id: string; epoch: number }[] = [];
      for (const session of registry.all()) {
        if (session.connection && session.stored)
          attached.push({ id: session.id, epoch: session.stored.epoch });
      }
      if (attached.length === 0) return;
      const sent = (asked = now);
      const answered = () => {
        if (asked === sent) asked = undefined;
      };
      askPromise('SessionStore.touch', () => store.touch(attached, sessionTtl)).then(
        answered,
        (cause: unknown) => {
          // Unreachable: the next touch, or a write, tries again; a store that stays down ends
          // each session at its next write. Failing after storeTimeout, it was told already.
          if (asked === sent) counters.storeFailed({ what: TOUCH, cause });
          answered();
        },
      );
    }, sessionTtl / 3);
  }

  #accept(transport: SessionServerConnection['connection']): void {
    // The deadline runs from the accept and is never extended (refused hellos included).
    const deadline = this.#settings.scheduler.now() + this.#settings.handshakeTimeout;
    // The connection hears its transport and tells this run (connected, frame, ended).
    this.#registry.accept(deadline, this).listen(transport);
  }

  /** A connection ended: its session, if any, waits for the client to resume. */
  ended(connection: ServerConnection<In, Out>, error: unknown): void {
    this.#registry.connectionEnded(connection, error);
  }

  connected(connection: ServerConnection<In, Out>, event: ConnectedEvent<unknown>): void {
    // The server was set up wrong, for every connection alike: it fails, loudly, not the client.
    const wrong = unlisted('resumable', event, 'acceptSessions()');
    if (wrong) {
      this.#registry.stop();
      return this.#subscriber.error(wrong);
    }
    connection.link = event.link;
    connection.handshake = event.handshake;
  }

  frame(connection: ServerConnection<In, Out>, frame: unknown): void {
    // Refused for good: what the peer sends while the close completes changes nothing.
    if (connection.closing) return;
    if (connection.waiting) return this.#queue(connection, frame);
    try {
      this.#dispatch(connection, frame);
    } catch (error) {
      this.#failed(connection, error);
    }
  }

  /** A peer that breaks the protocol loses its connection; its session waits for a resume. */
  #failed(connection: ServerConnection<In, Out>, error: unknown): void {
    const failure = asLayerError('resumable', error, connection.link);
    if (ProtocolError.is(failure)) this.#counters.closing('protocolError');
    this.#registry.drop(connection, failure);
  }

  #queue(connection: ServerConnection<In, Out>, frame: unknown): void {
    const queued = (connection.queued ??= []);
    if (queued.length < MAX_QUEUED) return void queued.push(frame);
    this.#failed(
      connection,
      layerError(`${MAX_QUEUED} frames sent before the answer to its hello`, connection.link),
    );
  }

  #dispatch(connection: ServerConnection<In, Out>, frame: unknown): void {
    if (!Array.isArray(frame)) throw notAnEnvelope(frame, connection);
    const kind: unknown = frame[0];
    const session = connection.session;
    if (kind === HELLO && frame.length === 2) this.#handshake.hello(connection, frame[1]);
    else if (!session) throw layerError('expected a hello before anything else', connection.link);
    else if (kind === DATA && frame.length === 3 && isCount(frame[1]) && frame[1] > 0) {
      settle(session);
      const seq = frame[1];
      if (!session.side.receiveData(seq)) return;
      session.deliver(seq, frame[2] as In);
      session.side.delivered(seq);
    } else if (kind === ACK && frame.length === 2 && isCount(frame[1])) {
      settle(session);
      session.side.receiveAck(frame[1]);
    } else if (kind === GOODBYE && frame.length === 1) {
      // The client closed: everything it sent came before this, and it wants nothing more.
      this.#counters.goodbye();
      this.#registry.end(session, undefined);
    } else throw notAnEnvelope(frame, connection);
  }
}

/** The client speaks after the welcome: it holds the new token, so the old one retires. */
function settle<In, Out>(session: Session<In, Out>): void {
  if (session.previousToken === undefined) return;
  session.previousToken = undefined;
  session.stored?.settle();
}

function notAnEnvelope(frame: unknown, connection: { readonly link: Link<unknown> | undefined }) {
  return notAnEnvelopeOf('resumable', frame, 'does the client pipe resumable()?', connection.link);
}
