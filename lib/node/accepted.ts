import type { EventEmitter } from 'node:events';
import { Observable, type Subscriber } from 'rxjs';
import { ConnectionResetError, type ConnectionError } from '../core/errors.js';
import type { Transport, TransportEvent } from '../core/transport.js';
import type { ConnectionAccount } from './capacity.js';
import type { ConnectionHandle } from './socket-connection.js';

/**
 * A socket a server accepted, paused until someone subscribes to its connection. Each server
 * supplies these two steps for its kind of socket. @internal
 */
export interface AcceptedSocket {
  /** Runs the transport's per-connection logic for `subscriber` and starts reading. */
  start(subscriber: Subscriber<TransportEvent<unknown, unknown>>): ConnectionHandle;
  /** Closes the socket nobody subscribed to (the server is shutting down). */
  discard(): void;
  /**
   * Tells `events` of the socket's 'error' and 'close' events from now on. A socket without it
   * has listeners of their own added (two closures).
   */
  watch?(events: SocketEvents): void;
}

/** What an accepted socket's server hears of it: its errors, and its close. @internal */
export interface SocketEvents {
  onError(cause: unknown): void;
  onClose(): void;
}

/**
 * One accepted socket's place in its server: waiting for its subscription, running, gone before
 * it was subscribed (with the error it had, if any), or taken by a subscription after that.
 */
class AcceptedEntry implements SocketEvents {
  kind: 'waiting' | 'running' | 'gone' | 'taken' = 'waiting';
  handle: ConnectionHandle | undefined;
  /** The socket's last 'error' before its connection was subscribed. */
  error: unknown;
  /** Why a socket that is `gone` failed; `undefined` when it closed cleanly. */
  failure: ConnectionError | undefined;

  constructor(
    private readonly server: AcceptedConnections,
    readonly socket: AcceptedSocket,
    private readonly transport: string,
    private readonly remote: string,
    private readonly account: ConnectionAccount | undefined,
  ) {}

  onError(cause: unknown): void {
    this.error = cause;
  }

  onClose(): void {
    // The connection's place and bytes in its server's capacity are given back first.
    this.account?.release();
    this.server.closed(this);
    if (this.kind !== 'waiting') return;
    const { error } = this;
    this.kind = 'gone';
    if (error === undefined) return;
    this.failure = new ConnectionResetError(
      `The ${this.transport} connection closed before it was subscribed`,
      {
        phase: 'read',
        cause: error,
      },
    );
    this.server.unobserved(this.remote, this.failure);
  }

  subscribe(subscriber: Subscriber<TransportEvent<unknown, unknown>>): void {
    if (this.kind === 'running' || this.kind === 'taken') {
      subscriber.error(new TypeError(`An accepted ${this.transport} connection can be subscribed only once`));
      return;
    }
    if (this.kind === 'gone') {
      this.kind = 'taken';
      // Nothing was read while paused, so a socket closed before the subscription lost no frame.
      if (this.failure === undefined) subscriber.complete();
      else subscriber.error(this.failure);
      return;
    }
    this.kind = 'running';
    this.handle = this.socket.start(subscriber);
  }
}

/**
 * The connections a server accepted and has not seen close: what its teardown must shut down.
 * Shared by the TCP and WebSocket servers, so both keep the same rules: a connection can be
 * subscribed once (a second subscription errors with a `TypeError`), reading waits for that
 * subscription, and closing the server completes every subscribed connection and closes the rest.
 * @internal
 */
export class AcceptedConnections {
  private readonly open = new Set<AcceptedEntry>();

  /** `unobserved` reports an error of a connection that failed before it was subscribed. */
  constructor(readonly unobserved: (remote: string, error: ConnectionError) => void) {}

  /**
   * Tracks a socket just accepted (`emitter` is the socket itself: its 'error' and 'close' events
   * are watched from now on) and returns the Observable to hand out in the `connection` event.
   * Its `account` in the server's capacity is released when the socket closes.
   */
  accept<In, Out>(
    emitter: EventEmitter,
    socket: AcceptedSocket,
    transport: string,
    remote: string,
    account?: ConnectionAccount,
  ): Transport<In, Out> {
    const entry = new AcceptedEntry(this, socket, transport, remote, account);
    this.open.add(entry);
    if (socket.watch) socket.watch(entry);
    else {
      // Until the per-connection logic takes over, an 'error' must have a listener or it is thrown.
      emitter.on('error', (cause: unknown) => entry.onError(cause));
      emitter.on('close', () => entry.onClose());
    }
    const connection = new Observable<TransportEvent<unknown, unknown>>((subscriber) =>
      entry.subscribe(subscriber),
    );
    return connection as Observable<TransportEvent<In, Out>>;
  }

  /** @internal */
  closed(entry: AcceptedEntry): void {
    this.open.delete(entry);
  }

  /** The server stops: subscribed connections complete, the others are closed unread. */
  shutdownAll(): void {
    const entries = [...this.open];
    this.open.clear();
    for (const entry of entries) {
      if (entry.kind === 'running') entry.handle!.shutdown();
      else if (entry.kind === 'waiting') {
        entry.kind = 'gone';
        entry.socket.discard();
      }
    }
  }
}
