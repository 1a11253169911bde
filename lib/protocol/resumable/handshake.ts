import type { SchedulerLike } from 'rxjs';
import type { ServerConnection, Session } from './server-session.js';
import type { SessionRegistry } from './session-registry.js';
import type { ServerCounters, SessionServerStats } from './server-stats.js';
import { SessionLostError } from './errors.js';
import {
  constantTimeEqual,
  layerError,
  MAX_VERSION,
  MIN_VERSION,
  parseHello,
  randomId,
  REFUSAL,
  WELCOME,
  type Hello,
  type Refusal,
} from './wire.js';

type RefusedCause = keyof SessionServerStats['refused'];

/** The limits of a {@link Handshake}. @internal */
export interface HandshakeSettings {
  readonly maxSessions: number;
  readonly maxRefusedHellos: number;
  readonly badTokenLockout: number;
  readonly scheduler: SchedulerLike;
}

/**
 * The server's side of the resumable handshake: a hello opens a session, resumes one (token
 * checked in constant time, then rotated) or is refused; a welcome attaches the connection.
 * @internal
 */
export class Handshake<In, Out> {
  /**
   * @param opened - A new session whose welcome was written: the server emits it.
   */
  constructor(
    private readonly registry: SessionRegistry<In, Out>,
    private readonly counters: ServerCounters,
    private readonly settings: HandshakeSettings,
    private readonly opened: (session: Session<In, Out>) => void,
  ) {}

  /** A hello on `connection`; a malformed one throws a `ProtocolError`. */
  hello(connection: ServerConnection<In, Out>, value: unknown): void {
    const hello = parseHello(value);
    if (!hello) throw layerError('malformed hello', connection.link);
    // A hello on a handshaken connection starts over (a client that reset its session).
    if (connection.session) this.registry.detach(connection.session, undefined);
    if (hello.v[0] > MAX_VERSION || hello.v[1] < MIN_VERSION) {
      return this.refuse(connection, { reason: 'version' }, true);
    }
    if (hello.session === undefined) return this.open(connection, hello);
    const session = this.registry.get(hello.session);
    if (!session) return this.refuse(connection, { reason: 'unknown-session' }, false);
    // A guess right after a wrong one is not even compared: one guess per lockout, per session.
    const now = this.settings.scheduler.now();
    if (now < session.lockedUntil) return this.refuse(connection, { reason: 'overloaded' }, true, 'locked');
    // Both compared, always: which one matched must not show in the timing.
    const current = constantTimeEqual(session.token, hello.token!);
    const previous = constantTimeEqual(session.previousToken ?? '', hello.token!);
    if (!current && !previous) {
      session.lockedUntil = now + this.settings.badTokenLockout;
      return this.refuse(connection, { reason: 'bad-token' }, false);
    }
    this.resume(connection, session, hello);
  }

  /**
   * Answers a hello with a refusal. The connection is closed when `close` says so, at its
   * `maxRefusedHellos`th refusal, and after its handshake deadline.
   */
  private refuse(
    connection: ServerConnection<In, Out>,
    refusal: Refusal,
    close: boolean,
    cause: RefusedCause = refusal.reason,
  ): void {
    this.counters.refusal(cause);
    try {
      connection.link?.send([REFUSAL, refusal]);
    } catch {
      // The connection is going anyway.
    }
    connection.refusals++;
    if (!close && connection.refusals >= this.settings.maxRefusedHellos)
      this.counters.closing('tooManyRefusals');
    else if (!close && this.settings.scheduler.now() >= connection.deadline) {
      this.counters.closing('handshakeTimeout');
    } else if (!close) return;
    connection.closing = true;
    connection.link?.close(refusal.reason);
  }

  private open(connection: ServerConnection<In, Out>, hello: Hello): void {
    if (this.registry.size >= this.settings.maxSessions) {
      return this.refuse(connection, { reason: 'overloaded' }, true);
    }
    const session = this.registry.create();
    const { handshake } = connection;
    session.emit({ type: 'connected', link: session.link, ...(handshake ? { handshake } : {}) });
    try {
      this.attach(connection, session, 0, hello.v[1]);
    } catch (error) {
      // The welcome could not be written: a session nobody will ever see must not linger.
      this.registry.end(session, error);
      throw error;
    }
    this.opened(session);
  }

  private resume(connection: ServerConnection<In, Out>, session: Session<In, Out>, hello: Hello): void {
    const { endpoint } = session;
    if (hello.received > endpoint.lastSeq) {
      throw layerError(
        `hello claims frame ${hello.received}, above the last sent (${endpoint.lastSeq})`,
        connection.link,
      );
    }
    if (!endpoint.canResumeFrom(hello.received)) return this.gap(connection, session, hello);
    // The newest connection wins: an older one still attached is closed.
    this.registry.displace(session);
    // The welcome below may be lost in a cut: until the client speaks on this connection, the
    // token it just proved it holds stays valid (and the one before it, never received, does not).
    session.previousToken = hello.token;
    const replayed = this.attach(connection, session, hello.received, hello.v[1]);
    session.emit({ type: 'resumed', replayed, fresh: false });
  }

  /** The client missed frames the session no longer holds: refused, and the session is lost. */
  private gap(connection: ServerConnection<In, Out>, session: Session<In, Out>, hello: Hello): void {
    const lost = [hello.received + 1, session.endpoint.buffer.firstSeq - 1] as const;
    this.refuse(connection, { reason: 'unknown-session', lost }, false);
    this.registry.end(
      session,
      new SessionLostError(
        `Session ${session.id} could not be resumed: frames ${lost[0]}–${lost[1]} are gone`,
        {
          reason: 'gap',
          lost: { sent: lost, missed: undefined },
        },
      ),
    );
  }

  /** Attaches a handshaken connection; `peerMax` is the highest version the client speaks. */
  private attach(
    connection: ServerConnection<In, Out>,
    session: Session<In, Out>,
    peerReceived: number,
    peerMax: number,
  ): number {
    const link = connection.link!;
    session.token = randomId();
    session.handshake = connection.handshake;
    this.registry.attach(connection, session);
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
  }
}
