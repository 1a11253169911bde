import type { EventEmitter } from 'node:events';
import { Observable, type Subscriber } from 'rxjs';
import { ConnectionResetError, type ConnectionError } from '../core/errors.js';
import type { Transport, TransportEvent } from '../core/transport.js';
import { ConnectionAccount, type ServerCapacity } from './capacity.js';

/**
 * One socket a server accepted, from its accept to its close: paused until its connection is
 * subscribed, then running, or gone before it was subscribed (with the error it had, if any), or
 * taken by a subscription after that. Each server's sockets extend it with the steps for their
 * kind of socket (`start`, `shutdown`, `discard`), so an accepted connection is one object: its
 * share of the server's capacity, its place in the server and its transport's state together.
 * @internal
 */
export abstract class AcceptedSocket extends ConnectionAccount {
  kind: 'waiting' | 'running' | 'gone' | 'taken' = 'waiting';
  /**
   * The socket's last 'error' while waiting for its subscription; once it is `gone`, the
   * `ConnectionResetError` its subscription gets (`undefined`: it closed cleanly).
   */
  #error: unknown;
  readonly #connections: AcceptedConnections;

  /** `capacity` admitted it (it is its own account there, released when it closes). */
  constructor(capacity: ServerCapacity, connections: AcceptedConnections) {
    super(capacity);
    this.#connections = connections;
  }

  /** The transport's name, for messages: 'tcp', 'websocket'. */
  abstract get transport(): string;

  /** Runs the transport's per-connection logic for `subscriber` and starts reading. */
  abstract start(subscriber: Subscriber<TransportEvent<unknown, unknown>>): void;

  /** Ends the running connection from this side (the server is shutting down): it completes. */
  abstract shutdown(): void;

  /** Closes the socket nobody subscribed to (the server is shutting down). */
  abstract discard(): void;

  /**
   * Calls {@link onError} and {@link onClose} on the socket's 'error' and 'close' events from now
   * on. By default two listeners (closures) on `emitter`; a socket with shared listeners of its
   * own overrides it.
   */
  watch(emitter: EventEmitter): void {
    // Until the per-connection logic takes over, an 'error' must have a listener or it is thrown.
    emitter.on('error', (cause: unknown) => this.onError(cause));
    emitter.on('close', () => this.onClose());
  }

  onError(cause: unknown): void {
    if (this.kind === 'waiting') this.#error = cause;
  }

  onClose(): void {
    // The connection's place and bytes in its server's capacity are given back first.
    this.release();
    this.#connections.closed(this);
    if (this.kind !== 'waiting') return;
    const error = this.#error;
    this.kind = 'gone';
    if (error === undefined) return;
    this.#error = new ConnectionResetError(
      `The ${this.transport} connection closed before it was subscribed`,
      {
        phase: 'read',
        cause: error,
      },
    );
    this.#connections.unobserved(this.remote, this.#error as ConnectionError);
  }

  subscribe(subscriber: Subscriber<TransportEvent<unknown, unknown>>): void {
    if (this.kind === 'running' || this.kind === 'taken') {
      subscriber.error(new TypeError(`An accepted ${this.transport} connection can be subscribed only once`));
      return;
    }
    if (this.kind === 'gone') {
      this.kind = 'taken';
      // Nothing was read while paused, so a socket closed before the subscription lost no frame.
      if (this.#error === undefined) subscriber.complete();
      else subscriber.error(this.#error);
      return;
    }
    this.kind = 'running';
    this.start(subscriber);
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
  readonly #open = new Set<AcceptedSocket>();

  /** `unobserved` reports an error of a connection that failed before it was subscribed. */
  constructor(readonly unobserved: (remote: string, error: ConnectionError) => void) {}

  /**
   * Tracks a socket just accepted (`emitter` is the socket itself: its 'error' and 'close' events
   * are watched from now on) and returns the Observable to hand out in the `connection` event.
   * Its account in the server's capacity is released when the socket closes.
   */
  accept<In, Out>(emitter: EventEmitter, socket: AcceptedSocket): Transport<In, Out> {
    this.#open.add(socket);
    socket.watch(emitter);
    const connection = new Observable<TransportEvent<unknown, unknown>>((subscriber) =>
      socket.subscribe(subscriber),
    );
    return connection as Observable<TransportEvent<In, Out>>;
  }

  /** @internal */
  closed(socket: AcceptedSocket): void {
    this.#open.delete(socket);
  }

  /** The server stops: subscribed connections complete, the others are closed unread. */
  shutdownAll(): void {
    const sockets = [...this.#open];
    this.#open.clear();
    for (const socket of sockets) {
      if (socket.kind === 'running') socket.shutdown();
      else if (socket.kind === 'waiting') {
        socket.kind = 'gone';
        socket.discard();
      }
    }
  }
}
