import type { SchedulerLike } from 'rxjs';
import type { EndpointOptions } from './endpoint.js';
import { Attachment, Session, type ServerConnection } from './server-session.js';
import type { ServerCounters } from './server-stats.js';
import type { Sweep } from './sweep.js';
import { randomId } from './wire.js';

/** The options of each session's endpoint, all but its `fatal` (which ends the session). @internal */
export type SessionEndpointOptions<Out> = Omit<EndpointOptions<Out>, 'fatal'>;

/**
 * The sessions and connections of one subscription of a session server: who is attached to whom,
 * their counts in the server's stats, and how connections and sessions end.
 * @internal
 */
export class SessionRegistry<In, Out> {
  private readonly sessions = new Map<string, Session<In, Out>>();
  private readonly connections = new Set<ServerConnection<In, Out>>();
  /** The server stopped: sessions end at once, without flushing their connections. */
  private stopped = false;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly counters: ServerCounters,
    private readonly sweep: Sweep<In, Out>,
    private readonly endpoint: SessionEndpointOptions<Out>,
  ) {}

  /** Sessions held. */
  get size(): number {
    return this.sessions.size;
  }

  get(id: string): Session<In, Out> | undefined {
    return this.sessions.get(id);
  }

  /** A new connection, whose handshake must be complete by `deadline`. */
  accept(deadline: number): ServerConnection<In, Out> {
    const connection: ServerConnection<In, Out> = new Attachment(deadline);
    this.connections.add(connection);
    this.counters.connection(1);
    this.sweep.handshake(connection);
    return connection;
  }

  /** A new session with a fresh id, held and counted. */
  create(): Session<In, Out> {
    const session: Session<In, Out> = new Session<In, Out>(randomId(), this.endpoint.maxFrames, this.end, {
      ...this.endpoint,
      fatal: (error) => this.end(session, error),
    });
    this.sessions.set(session.id, session);
    this.counters.session(1);
    return session;
  }

  /** Closes a connection at once (a socket destroy), detaching its session. */
  drop(connection: ServerConnection<In, Out>, error?: unknown): void {
    connection.subscription?.unsubscribe();
    this.connectionEnded(connection, error);
  }

  connectionEnded(connection: ServerConnection<In, Out>, error: unknown): void {
    if (connection.ended) return;
    connection.ended = true;
    this.connections.delete(connection);
    this.counters.connection(-1);
    const session = connection.session;
    if (session) this.detach(session, error);
  }

  /** `connection` now carries `session`. */
  attach(connection: ServerConnection<In, Out>, session: Session<In, Out>): void {
    session.connection = connection;
    session.idleSince = undefined;
    connection.session = session;
    this.counters.attachment(1);
  }

  /** The session loses its connection and waits `sessionTtl` for its client. */
  detach(session: Session<In, Out>, error: unknown): void {
    const connection = session.connection;
    if (connection) {
      connection.session = undefined;
      this.counters.attachment(-1);
    }
    session.connection = undefined;
    session.endpoint.detach();
    const since = this.scheduler.now();
    session.idleSince = since;
    this.sweep.idleSince(session, since);
    session.emit({ type: 'disconnected', error });
  }

  /** A newer connection takes the session over: the older one still attached is closed. */
  displace(session: Session<In, Out>): void {
    const previous = session.connection;
    if (!previous) return;
    this.detach(session, undefined);
    previous.ended = true;
    this.connections.delete(previous);
    previous.subscription?.unsubscribe();
  }

  /** Ends a session for good: completes its events (errors them with `error`, if any). */
  readonly end = (session: Session<In, Out>, error: unknown): void => {
    if (session.ended) return;
    session.ended = true;
    this.sessions.delete(session.id);
    this.counters.session(-1);
    session.endpoint.dispose();
    const connection = session.connection;
    session.connection = undefined;
    if (connection) {
      connection.session = undefined;
      this.counters.attachment(-1);
      // Closed by the application: flush what is queued. Otherwise: at once.
      if (error === undefined && !this.stopped) connection.link?.close('session closed');
      else this.drop(connection);
    }
    session.finish(error);
  };

  /** The server stops: every session and connection ends, and no deadline is left. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.sweep.cancel();
    for (const session of [...this.sessions.values()]) this.end(session, undefined);
    for (const connection of [...this.connections]) this.drop(connection);
    this.sweep.clear();
  }
}
