import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { Observable, Subscriber } from 'rxjs';
import { ConnectionResetError, type ConnectionError, type TransportEvent } from 'rx-lifeline';
import { AcceptedConnections, AcceptedSocket } from '../../lib/node/accepted.js';
import { ServerCapacity } from '../../lib/node/capacity.js';

/** An accepted socket that records what its server asks of it. */
class RecordingSocket extends AcceptedSocket {
  readonly calls: string[] = [];
  private subscriber: Subscriber<TransportEvent<unknown, unknown>> | undefined;

  constructor(
    capacity: ServerCapacity,
    connections: AcceptedConnections,
    readonly remote: string,
  ) {
    super(capacity, connections);
  }

  get transport(): string {
    return 'test';
  }

  start(subscriber: Subscriber<TransportEvent<unknown, unknown>>): void {
    this.calls.push('start');
    this.subscriber = subscriber;
  }

  shutdown(): void {
    this.calls.push('shutdown');
    this.subscriber?.complete();
  }

  discard(): void {
    this.calls.push('discard');
  }
}

/** What a subscription to `connection` saw: 'complete', or the error. */
function outcome(connection: Observable<unknown>): { ended?: 'complete' | { error: unknown } } {
  const seen: { ended?: 'complete' | { error: unknown } } = {};
  connection.subscribe({
    error: (error: unknown) => (seen.ended = { error }),
    complete: () => (seen.ended = 'complete'),
  });
  return seen;
}

describe('AcceptedConnections (the accepted sockets of a server)', () => {
  function setup() {
    const unobserved: { remote: string; error: ConnectionError }[] = [];
    const connections = new AcceptedConnections((remote, error) => unobserved.push({ remote, error }));
    const capacity = new ServerCapacity({ maxConnections: 3, maxPendingFrameBytes: 1024 }, () => undefined);
    const accept = (remote: string) => {
      const emitter = new EventEmitter();
      expect(capacity.admit(remote), 'admitted').to.equal(true);
      const socket = new RecordingSocket(capacity, connections, remote);
      return { emitter, socket, connection: connections.accept(emitter, socket) };
    };
    return { connections, capacity, unobserved, accept };
  }

  it('a socket that failed before its subscription: the subscription gets a ConnectionResetError, reported once as unobserved', () => {
    const { unobserved, accept, capacity } = setup();
    const { emitter, connection, socket } = accept('a:1');
    const cause = new Error('ECONNRESET');
    emitter.emit('error', cause);
    emitter.emit('close');
    expect(unobserved).to.have.length(1);
    expect(unobserved[0]!.remote).to.equal('a:1');
    const seen = outcome(connection);
    const error = (seen.ended as { error: unknown }).error;
    expect(error).to.equal(unobserved[0]!.error);
    expect(error).to.be.instanceOf(ConnectionResetError);
    expect((error as ConnectionResetError).cause).to.equal(cause);
    expect(socket.calls).to.deep.equal([]);
    // Its place was given back: three more fit under maxConnections 3, not four.
    const admitted = ['b:1', 'b:2', 'b:3', 'b:4'].map((remote) => capacity.admit(remote));
    expect(admitted).to.deep.equal([true, true, true, false]);
  });

  it('a socket closed cleanly before its subscription completes it; a second subscription errors with a TypeError', () => {
    const { unobserved, accept } = setup();
    const { emitter, connection } = accept('a:1');
    emitter.emit('close');
    expect(outcome(connection).ended).to.equal('complete');
    const again = outcome(connection).ended as { error: unknown };
    expect(again.error).to.be.instanceOf(TypeError);
    expect(unobserved).to.deep.equal([]);
  });

  it("an error while running is the run's, not kept; subscribed once, then a TypeError", () => {
    const { unobserved, accept } = setup();
    const { emitter, connection, socket } = accept('a:1');
    outcome(connection);
    emitter.emit('error', new Error('late'));
    emitter.emit('close');
    expect(socket.calls).to.deep.equal(['start']);
    expect((outcome(connection).ended as { error: unknown }).error).to.be.instanceOf(TypeError);
    expect(unobserved).to.deep.equal([]);
  });

  it('shutdownAll shuts the running ones down and discards the waiting ones; closed ones are left alone', () => {
    const { connections, accept } = setup();
    const running = accept('a:1');
    const waiting = accept('a:2');
    const gone = accept('a:3');
    const run = outcome(running.connection);
    gone.emitter.emit('close');
    connections.shutdownAll();
    expect(running.socket.calls).to.deep.equal(['start', 'shutdown']);
    expect(run.ended).to.equal('complete');
    expect(waiting.socket.calls).to.deep.equal(['discard']);
    expect(gone.socket.calls).to.deep.equal([]);
    // Discarded unread, it completes if subscribed after.
    waiting.emitter.emit('close');
    expect(outcome(waiting.connection).ended).to.equal('complete');
  });

  it('shutdownAll leaves alone a running socket that closed, and a second shutdownAll does nothing', () => {
    const { connections, accept } = setup();
    const closed = accept('a:1');
    const open = accept('a:2');
    outcome(closed.connection);
    outcome(open.connection);
    closed.emitter.emit('close');
    connections.shutdownAll();
    connections.shutdownAll();
    expect(closed.socket.calls).to.deep.equal(['start']);
    expect(open.socket.calls).to.deep.equal(['start', 'shutdown']);
  });

  it('an error after a clean close before the subscription is not kept: the subscription completes', () => {
    const { unobserved, accept } = setup();
    const { emitter, connection } = accept('a:1');
    emitter.emit('close');
    emitter.emit('error', new Error('after the close'));
    expect(outcome(connection).ended).to.equal('complete');
    expect(unobserved).to.deep.equal([]);
  });
});
