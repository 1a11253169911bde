import type { EventEmitter } from 'node:events';
import { Observable, type Subscriber } from 'rxjs';
import { ConnectionResetError, type ConnectionError } from '../core/errors.js';
import type { Transport, TransportEvent } from '../core/transport.js';
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
}

type State =
  | { kind: 'waiting' }
  | { kind: 'running'; handle: ConnectionHandle }
  | { kind: 'gone'; error: ConnectionError | undefined }
  | { kind: 'taken' };

/**
 * The connections a server accepted and has not seen close: what its teardown must shut down.
 * Shared by the TCP and WebSocket servers, so both keep the same rules: a connection can be
 * subscribed once (a second subscription errors with a `TypeError`), reading waits for that
 * subscription, and closing the server completes every subscribed connection and closes the rest.
 * @internal
 */
export class AcceptedConnections {
  private readonly open = new Set<{ state: State; socket: AcceptedSocket }>();

  /** `unobserved` reports an error of a connection that failed before it was subscribed. */
  constructor(private readonly unobserved: (remote: string, error: ConnectionError) => void) {}

  /**
   * Tracks a socket just accepted (`emitter` is the socket itself: its 'error' and 'close' events
   * are watched from now on) and returns the Observable to hand out in the `connection` event.
   */
  accept<In, Out>(
    emitter: EventEmitter,
    socket: AcceptedSocket,
    transport: string,
    remote: string,
  ): Transport<In, Out> {
    const entry: { state: State; socket: AcceptedSocket } = { state: { kind: 'waiting' }, socket };
    this.open.add(entry);
    let error: unknown;
    // Until the per-connection logic takes over, an 'error' must have a listener or it is thrown.
    emitter.on('error', (cause: unknown) => (error = cause));
    emitter.on('close', () => {
      this.open.delete(entry);
      if (entry.state.kind !== 'waiting') return;
      const failed =
        error === undefined
          ? undefined
          : new ConnectionResetError(`The ${transport} connection closed before it was subscribed`, {
              phase: 'read',
              cause: error,
            });
      entry.state = { kind: 'gone', error: failed };
      if (failed) this.unobserved(remote, failed);
    });
    const connection = new Observable<TransportEvent<unknown, unknown>>((subscriber) => {
      const { state } = entry;
      if (state.kind === 'running' || state.kind === 'taken') {
        subscriber.error(new TypeError(`An accepted ${transport} connection can be subscribed only once`));
        return;
      }
      if (state.kind === 'gone') {
        entry.state = { kind: 'taken' };
        // Nothing was read while paused, so a socket closed before the subscription lost no frame.
        if (state.error === undefined) subscriber.complete();
        else subscriber.error(state.error);
        return;
      }
      entry.state = { kind: 'running', handle: socket.start(subscriber) };
    });
    return connection as Observable<TransportEvent<In, Out>>;
  }

  /** The server stops: subscribed connections complete, the others are closed unread. */
  shutdownAll(): void {
    const entries = [...this.open];
    this.open.clear();
    for (const entry of entries) {
      if (entry.state.kind === 'running') entry.state.handle.shutdown();
      else if (entry.state.kind === 'waiting') {
        entry.state = { kind: 'gone', error: undefined };
        entry.socket.discard();
      }
    }
  }
}
