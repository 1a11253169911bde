import { asyncScheduler, Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { ProtocolError } from '../../core/errors.js';
import type {
  ConnectedEvent,
  ConnectionErrorEvent,
  FrameEvent,
  Link,
  ListeningEvent,
  RefusedEvent,
  TransportEvent,
} from '../../core/transport.js';
import { DueTimer } from '../../internal/due-timer.js';
import { describeValue } from '../../internal/describe-value.js';
import { Fifo } from '../../internal/fifo.js';
import { asLayerError } from '../../internal/peer-input.js';
import type { ResumedEvent } from './resumable.js';
import { checkKnownOptions, checkNumber, type KnownOptions } from '../../policies/validate.js';
import { checkEndpointOptions, SessionEndpoint, SessionLink } from './endpoint.js';
import { ReplayBufferFullError, SessionExpiredError, SessionLostError } from './errors.js';
import { ServerCounters, type SessionServerStats } from './server-stats.js';
import {
  ACK,
  constantTimeEqual,
  DATA,
  HELLO,
  isCount,
  layerError,
  GOODBYE,
  MAX_VERSION,
  MIN_VERSION,
  parseHello,
  randomId,
  REFUSAL,
  WELCOME,
  type Hello,
  type Refusal,
} from './wire.js';

/**
 * A server session lost its connection. The session lives on for `sessionTtl`, waiting for the
 * client to resume; frames sent meanwhile queue in its replay buffer.
 *
 * @example
 * ```ts
 * import type { SessionDisconnectedEvent } from 'rx-lifeline';
 * const why = (e: SessionDisconnectedEvent) => (e.error === undefined ? 'closed' : String(e.error));
 * ```
 * @category Sessions
 */
export interface SessionDisconnectedEvent {
  readonly type: 'disconnected';
  /** Why the connection ended; `undefined` for a clean close or a takeover by a newer connection. */
  readonly error: unknown;
}

/**
 * What a {@link ServerSession}'s `events$` emits: `connected` once (the stable link), each
 * inbound frame once and in order, `disconnected` when a connection ends, `resumed` when the
 * client came back.
 *
 * @example
 * ```ts
 * import type { ServerSessionEvent } from 'rx-lifeline';
 * const show = (e: ServerSessionEvent<string>) => (e.type === 'frame' ? e.frame : e.type);
 * ```
 * @category Sessions
 */
export type ServerSessionEvent<In = unknown, Out = In> =
  ConnectedEvent<Out> | FrameEvent<In> | SessionDisconnectedEvent | ResumedEvent;

/**
 * One client's session on a server, across all its connections.
 *
 * @example
 * ```ts
 * import type { ServerSession } from 'rx-lifeline';
 * const echo = (session: ServerSession<string>) =>
 *   session.events$.subscribe({
 *     next: (event) => {
 *       if (event.type !== 'frame') return;
 *       try {
 *         session.link.send(event.frame);
 *       } catch (error) {
 *         // The replay buffer is full (ReplayBufferFullError): this client reads too slowly.
 *         session.link.close();
 *       }
 *     },
 *     // The session expired, or its events were not read in time: it is over, the server is not.
 *     error: (error: unknown) => console.warn(`session ${session.id} ended`, error),
 *   });
 * ```
 * @category Sessions
 */
export interface ServerSession<In = unknown, Out = In> {
  /** The session id (128 random bits, hex). Not a secret: the token is. */
  readonly id: string;
  /**
   * The session's events. Subscribe once, at once (a second subscription errors with a
   * `TypeError`); events that arrive before are held, up to `maxFrames`. Unsubscribing ends the
   * session. It errors with {@link SessionExpiredError} after `sessionTtl` without a connection,
   * and completes when the link is closed or the server stops.
   */
  readonly events$: Observable<ServerSessionEvent<In, Out>>;
  /**
   * The stable link to the client: `send` queues while the client is away and returns `false`
   * when the sender should wait for `drain$` (the client is away, the socket is above its
   * high-water mark, or the replay buffer holds half its caps); it throws
   * {@link ReplayBufferFullError} only for a sender that went on to the caps, and the session lives
   * on. With {@link serveRequests} on `events$`, send plain frames on the link of its `connected`
   * event instead: it wraps them so they travel beside the requests.
   */
  readonly link: Link<Out>;
}

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
 * What {@link acceptSessions} returns: the Observable of sessions, and the server's counts.
 *
 * @example
 * ```ts
 * import { acceptSessions, memory, type SessionServer } from 'rx-lifeline';
 * const server: SessionServer<string> = acceptSessions<string>(memory<string>().server);
 * const watch = server.stats$.subscribe((s) => console.log(`${s.handshaking} handshaking, ${s.refused.locked} locked out`));
 * watch.unsubscribe();
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
 * It does not authenticate clients (do that in the application, on the first frames), does not
 * persist sessions across restarts, and does not answer pings: to use {@link heartbeat} on the
 * server, pipe each accepted connection through it before it reaches `acceptSessions`.
 * Unsubscribing closes the server, every connection and every session.
 *
 * @example
 * ```ts
 * import { acceptSessions, memory, type ServerSession } from 'rx-lifeline';
 * const endpoint = memory<string>();
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
 * const sessions = acceptSessions<string>(endpoint.server, { sessionTtl: 30_000 });
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
  checkKnownOptions('acceptSessions', config, CONFIG);
  const {
    sessionTtl = 60_000,
    maxSessions = 10_000,
    handshakeTimeout = 10_000,
    maxRefusedHellos = 3,
    badTokenLockout = 1_000,
    maxBytes = 4 * 1024 * 1024,
    maxFrames = 65_536,
    ackEvery = 32,
    ackInterval = 200,
    sizeOf,
    scheduler = asyncScheduler,
  } = config;
  checkEndpointOptions('acceptSessions', { maxBytes, maxFrames, ackEvery, ackInterval });
  for (const [name, value] of [
    ['sessionTtl', sessionTtl],
    ['handshakeTimeout', handshakeTimeout],
  ] as const) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new TypeError(
        `acceptSessions: ${name} must be a positive number of milliseconds, got ${describeValue(value)}`,
      );
    }
  }
  if (!(Number.isSafeInteger(maxSessions) && maxSessions > 0)) {
    throw new TypeError(
      `acceptSessions: maxSessions must be a positive integer, got ${describeValue(maxSessions)}`,
    );
  }
  if (sizeOf !== undefined && typeof sizeOf !== 'function') {
    throw new TypeError('acceptSessions: sizeOf must be a function');
  }
  checkNumber('acceptSessions', 'maxRefusedHellos', maxRefusedHellos, {
    min: 1,
    integer: true,
    max: 1_000_000,
  });
  checkNumber('acceptSessions', 'badTokenLockout', badTokenLockout, { min: 0 });
  // Shared by the subscriptions of the returned Observable: the server's counts, for stats$.
  const counters = new ServerCounters();

  type Connection = Attachment<Session<In, Out>>;
  const sessions$ = new Observable<ServerSession<In, Out>>((subscriber) => {
    const sessions = new Map<string, Session<In, Out>>();
    const connections = new Set<Connection>();
    // Deadlines only grow, so both queues are sorted by construction; stale entries are skipped.
    const handshakes = new Fifo<{ readonly connection: Connection; readonly at: number }>();
    const idle = new Fifo<{ readonly session: Session<In, Out>; readonly since: number }>();
    // One timer serves every deadline, due by the clock (a timer that fires early waits again).
    const sweep = new DueTimer(scheduler);
    let stopped = false;

    const armSweep = (at: number) => {
      sweep.setEarliest(at, runSweep);
    };
    const runSweep = () => {
      const now = scheduler.now();
      for (let head = handshakes.peek(); head && head.at <= now; head = handshakes.peek()) {
        handshakes.shift();
        const { connection } = head;
        if (!connection.ended && !connection.session) {
          counters.closing('handshakeTimeout');
          drop(connection);
        }
      }
      for (let head = idle.peek(); head && head.since + sessionTtl <= now; head = idle.peek()) {
        idle.shift();
        const { session } = head;
        if (!session.ended && !session.connection && session.idleSince === head.since) {
          endSession(
            session,
            new SessionExpiredError(
              `Session ${session.id} expired after ${now - head.since} ms without a connection`,
              {
                session: session.id,
                idleFor: now - head.since,
              },
            ),
          );
        }
      }
      const next = Math.min(handshakes.peek()?.at ?? Infinity, (idle.peek()?.since ?? Infinity) + sessionTtl);
      if (next !== Infinity) armSweep(next);
    };

    const accept = (transport: SessionServerConnection['connection']) => {
      // The deadline runs from the accept and is never extended (refused hellos included).
      const connection: Connection = new Attachment(scheduler.now() + handshakeTimeout);
      connections.add(connection);
      counters.connection(1);
      handshakes.push({ connection, at: connection.deadline });
      armSweep(connection.deadline);
      const subscription = transport.subscribe({
        // Events of per-connection layers (heartbeat samples) are not the session's business.
        next: (event) => {
          if (event.type === 'connected') connection.link = (event as ConnectedEvent<unknown>).link;
          else if (event.type === 'frame') onFrame(connection, (event as FrameEvent<unknown>).frame);
        },
        error: (error: unknown) => connectionEnded(connection, error),
        complete: () => connectionEnded(connection, undefined),
      });
      if (connection.ended) subscription.unsubscribe();
      else connection.subscription = subscription;
    };

    /** Closes a connection at once (a socket destroy), detaching its session. */
    const drop = (connection: Connection, error?: unknown) => {
      connection.subscription?.unsubscribe();
      connectionEnded(connection, error);
    };

    const connectionEnded = (connection: Connection, error: unknown) => {
      if (connection.ended) return;
      connection.ended = true;
      connections.delete(connection);
      counters.connection(-1);
      const session = connection.session;
      if (session) detach(session, error);
    };

    const detach = (session: Session<In, Out>, error: unknown) => {
      const connection = session.connection;
      if (connection) {
        connection.session = undefined;
        counters.attachment(-1);
      }
      session.connection = undefined;
      session.endpoint.detach();
      const since = scheduler.now();
      session.idleSince = since;
      idle.push({ session, since });
      armSweep(since + sessionTtl);
      session.emit({ type: 'disconnected', error });
    };

    const onFrame = (connection: Connection, frame: unknown) => {
      // Refused for good: what the peer sends while the close completes changes nothing.
      if (connection.closing) return;
      try {
        if (!Array.isArray(frame)) throw notAnEnvelope(frame, connection);
        const kind: unknown = frame[0];
        const session = connection.session;
        if (kind === HELLO && frame.length === 2) onHello(connection, frame[1]);
        else if (!session) throw layerError('expected a hello before anything else', connection.link);
        else if (kind === DATA && frame.length === 3 && isCount(frame[1]) && frame[1] > 0) {
          session.previousToken = undefined;
          if (session.endpoint.receiveData(frame[1])) session.emit({ type: 'frame', frame: frame[2] as In });
        } else if (kind === ACK && frame.length === 2 && isCount(frame[1])) {
          // The client speaks after the welcome: it holds the new token, so the old one retires.
          session.previousToken = undefined;
          session.endpoint.receiveAck(frame[1]);
        } else if (kind === GOODBYE && frame.length === 1) {
          // The client closed: everything it sent came before this, and it wants nothing more.
          counters.goodbye();
          endSession(session, undefined);
        } else throw notAnEnvelope(frame, connection);
      } catch (error) {
        // A peer that breaks the protocol loses its connection; its session waits for a resume.
        const failure = asLayerError('resumable', error, connection.link);
        if (ProtocolError.is(failure)) counters.closing('protocolError');
        drop(connection, failure);
      }
    };

    const notAnEnvelope = (frame: unknown, connection: Connection) =>
      layerError(`received ${describeValue(frame)}, not a resumable envelope`, connection.link);

    /**
     * Answers a hello with a refusal. The connection is closed when `close` says so, at its
     * `maxRefusedHellos`th refusal, and after its handshake deadline.
     */
    const refuse = (
      connection: Connection,
      refusal: Refusal,
      close: boolean,
      cause: RefusedCause = refusal.reason,
    ) => {
      counters.refusal(cause);
      try {
        connection.link?.send([REFUSAL, refusal]);
      } catch {
        // The connection is going anyway.
      }
      connection.refusals++;
      if (!close && connection.refusals >= maxRefusedHellos) counters.closing('tooManyRefusals');
      else if (!close && scheduler.now() >= connection.deadline) counters.closing('handshakeTimeout');
      else if (!close) return;
      connection.closing = true;
      connection.link?.close(refusal.reason);
    };

    const onHello = (connection: Connection, value: unknown) => {
      const hello = parseHello(value);
      if (!hello) throw layerError('malformed hello', connection.link);
      // A hello on a handshaken connection starts over (a client that reset its session).
      if (connection.session) detach(connection.session, undefined);
      if (hello.v[0] > MAX_VERSION || hello.v[1] < MIN_VERSION) {
        return refuse(connection, { reason: 'version' }, true);
      }
      if (hello.session === undefined) return openSession(connection, hello);
      const session = sessions.get(hello.session);
      if (!session) return refuse(connection, { reason: 'unknown-session' }, false);
      // A guess right after a wrong one is not even compared: one guess per lockout, per session.
      const now = scheduler.now();
      if (now < session.lockedUntil) return refuse(connection, { reason: 'overloaded' }, true, 'locked');
      // Both compared, always: which one matched must not show in the timing.
      const current = constantTimeEqual(session.token, hello.token!);
      const previous = constantTimeEqual(session.previousToken ?? '', hello.token!);
      if (!current && !previous) {
        session.lockedUntil = now + badTokenLockout;
        return refuse(connection, { reason: 'bad-token' }, false);
      }
      resume(connection, session, hello);
    };

    const openSession = (connection: Connection, hello: Hello) => {
      if (sessions.size >= maxSessions) return refuse(connection, { reason: 'overloaded' }, true);
      const session: Session<In, Out> = new Session<In, Out>(randomId(), maxFrames, endSession, {
        maxBytes,
        maxFrames,
        ackEvery,
        ackInterval,
        scheduler,
        sizeOf,
        fatal: (error) => endSession(session, error),
      });
      sessions.set(session.id, session);
      counters.session(1);
      session.emit({ type: 'connected', link: session.link });
      try {
        attach(connection, session, 0, hello.v[1]);
      } catch (error) {
        // The welcome could not be written: a session nobody will ever see must not linger.
        endSession(session, error);
        throw error;
      }
      subscriber.next(session.public);
    };

    const resume = (connection: Connection, session: Session<In, Out>, hello: Hello) => {
      const { endpoint } = session;
      if (hello.received > endpoint.lastSeq) {
        throw layerError(
          `hello claims frame ${hello.received}, above the last sent (${endpoint.lastSeq})`,
          connection.link,
        );
      }
      if (!endpoint.canResumeFrom(hello.received)) {
        const lost = [hello.received + 1, endpoint.buffer.firstSeq - 1] as const;
        refuse(connection, { reason: 'unknown-session', lost }, false);
        endSession(
          session,
          new SessionLostError(
            `Session ${session.id} could not be resumed: frames ${lost[0]}–${lost[1]} are gone`,
            {
              reason: 'gap',
              lost: { sent: lost, missed: undefined },
            },
          ),
        );
        return;
      }
      // The newest connection wins: an older one still attached is closed.
      const previous = session.connection;
      if (previous) {
        detach(session, undefined);
        previous.ended = true;
        connections.delete(previous);
        previous.subscription?.unsubscribe();
      }
      // The welcome below may be lost in a cut: until the client speaks on this connection, the
      // token it just proved it holds stays valid (and the one before it, never received, does not).
      session.previousToken = hello.token;
      const replayed = attach(connection, session, hello.received, hello.v[1]);
      session.emit({ type: 'resumed', replayed, fresh: false });
    };

    /** Attaches a handshaken connection; `peerMax` is the highest version the client speaks. */
    const attach = (
      connection: Connection,
      session: Session<In, Out>,
      peerReceived: number,
      peerMax: number,
    ): number => {
      const link = connection.link!;
      session.token = randomId();
      session.connection = connection;
      session.idleSince = undefined;
      connection.session = session;
      counters.attachment(1);
      link.send([
        WELCOME,
        {
          v: Math.min(peerMax, MAX_VERSION),
          session: session.id,
          token: session.token,
          received: session.endpoint.received,
        },
      ]);
      return session.endpoint.attach(link, peerReceived);
    };

    function endSession(session: Session<In, Out>, error: unknown): void {
      if (session.ended) return;
      session.ended = true;
      sessions.delete(session.id);
      counters.session(-1);
      session.endpoint.dispose();
      const connection = session.connection;
      session.connection = undefined;
      if (connection) {
        connection.session = undefined;
        counters.attachment(-1);
        // Closed by the application: flush what is queued. Otherwise: at once.
        if (error === undefined && !stopped) connection.link?.close('session closed');
        else drop(connection);
      }
      session.finish(error);
    }

    const listener = server$.subscribe({
      next: (event) => {
        if (event.type === 'connection') accept(event.connection);
        else if (event.type === 'refused') counters.refusedConnection(event.reason);
        else if (event.type === 'connection-error') counters.connectionError();
      },
      error: (error: unknown) => {
        teardown();
        subscriber.error(error);
      },
      complete: () => {
        teardown();
        subscriber.complete();
      },
    });

    const teardown = () => {
      if (stopped) return;
      stopped = true;
      sweep.cancel();
      for (const session of [...sessions.values()]) endSession(session, undefined);
      for (const connection of [...connections]) drop(connection);
      handshakes.clear();
      idle.clear();
    };

    return () => {
      teardown();
      listener.unsubscribe();
    };
  });
  return Object.assign(sessions$, { stats$: counters.stats$ });
}

type RefusedCause = keyof SessionServerStats['refused'];

/** One accepted connection: its handshake deadline and refusals, and the session it carries. */
class Attachment<S> {
  link: Link<unknown> | undefined;
  subscription: Subscription | undefined;
  session: S | undefined;
  /** Hellos refused on this connection. */
  refusals = 0;
  /** Closed by this side after a refusal: its frames are ignored until it ends. */
  closing = false;
  ended = false;

  /** @param deadline - when the handshake must be complete: the accept plus `handshakeTimeout`. */
  constructor(readonly deadline: number) {}
}

/** One session's state. Its events are held until `events$` is subscribed. */
class Session<In, Out> {
  readonly endpoint: SessionEndpoint<Out>;
  readonly link: SessionLink<Out>;
  readonly public: ServerSession<In, Out>;
  token = '';
  /** The token of the last resume, valid until the client speaks after its welcome. */
  previousToken: string | undefined;
  connection: Attachment<Session<In, Out>> | undefined;
  idleSince: number | undefined;
  /** Until when hellos naming this session are refused unchecked, after a wrong token. */
  lockedUntil = -Infinity;
  ended = false;
  private subscriber: Subscriber<ServerSessionEvent<In, Out>> | undefined;
  private held: Fifo<ServerSessionEvent<In, Out>> | undefined = new Fifo();
  private outcome: { error: unknown } | undefined;
  private wasSubscribed = false;

  constructor(
    readonly id: string,
    private readonly maxHeld: number,
    private readonly end: (session: Session<In, Out>, error: unknown) => void,
    options: ConstructorParameters<typeof SessionEndpoint<Out>>[0],
  ) {
    this.endpoint = new SessionEndpoint<Out>(options);
    this.link = new SessionLink<Out>(this.endpoint, {
      send: (frame) => this.endpoint.send(frame),
      close: () => this.end(this, undefined),
      isClosed: () => this.ended,
      isCloseRequested: () => this.ended,
    });
    const events$ = new Observable<ServerSessionEvent<In, Out>>((subscriber) => {
      if (this.wasSubscribed) {
        subscriber.error(new TypeError(`The events of session ${id} can be subscribed only once`));
        return undefined;
      }
      this.wasSubscribed = true;
      const held = this.held;
      this.held = undefined;
      if (held) for (let event = held.shift(); event; event = held.shift()) subscriber.next(event);
      if (this.outcome) {
        if (this.outcome.error === undefined) subscriber.complete();
        else subscriber.error(this.outcome.error);
        return undefined;
      }
      this.subscriber = subscriber;
      return () => {
        this.subscriber = undefined;
        this.end(this, undefined);
      };
    });
    this.public = Object.freeze({ id, events$, link: this.link });
  }

  emit(event: ServerSessionEvent<In, Out>): void {
    if (this.subscriber) return this.subscriber.next(event);
    const held = this.held;
    if (!held || this.ended) return;
    if (held.length >= this.maxHeld) {
      const { id } = this;
      this.end(
        this,
        new ReplayBufferFullError(`Session ${id}: ${this.maxHeld} events held and events$ not subscribed`, {
          frames: this.maxHeld,
          bytes: 0,
          size: 0,
          limit: { frames: this.maxHeld, bytes: Infinity },
        }),
      );
      return;
    }
    held.push(event);
  }

  finish(error: unknown): void {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (!subscriber) {
      this.outcome ??= { error };
      return;
    }
    if (error === undefined) subscriber.complete();
    else subscriber.error(error);
  }
}
