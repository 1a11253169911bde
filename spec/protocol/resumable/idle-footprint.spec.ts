import { expect } from 'chai';
import {
  acceptHandshake,
  acceptSessions,
  handshake,
  heartbeat,
  memory,
  policy,
  reconnectWith,
  resumable,
  type HandshakeResult,
  type LayerName,
  type Link,
  type ServerSession,
  type ConnectedEvent,
} from 'rx-lifeline';
import { map, Observable, Subscriber, type Subscription } from 'rxjs';
import { newTestScheduler } from '../../operators/support.js';

const LAYERS: LayerName[] = ['heartbeat', 'resumable'];

/** What the probes saw on the server's connections. */
interface Seen {
  /** The class of the subscriber each layer subscribed its source with, in order. */
  subscribers: string[];
  /** The transport's own link of each connection. */
  links: Link<unknown>[];
  /** What each connection's handshake settled, as acceptSessions received it. */
  results: HandshakeResult[];
}

/** Passes `source` on to the layer `below`, recording who subscribes to it and what it carries. */
function probe(seen: Seen, below: 'acceptHandshake' | 'heartbeat' | 'acceptSessions') {
  return <E extends { readonly type: string }>(source: Observable<E>) =>
    new Observable<E>((subscriber) => {
      const direct = !(subscriber instanceof Subscriber);
      const name = subscriber.constructor.name;
      seen.subscribers.push(`${below}: ${direct ? name : `wrapped ${name}`}`);
      return source.subscribe({
        next: (event) => {
          const connected = event.type === 'connected' ? (event as unknown as ConnectedEvent) : undefined;
          if (connected && below === 'acceptHandshake') seen.links.push(connected.link);
          if (connected && below === 'acceptSessions') seen.results.push(connected.handshake!);
          subscriber.next(event);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

/** Private fields read by name: what an idle connection holds is what this spec is about. */
const field = (object: unknown, name: string): unknown => (object as Record<string, unknown>)[name];

describe('an idle server session holds little (acceptHandshake + heartbeat + acceptSessions)', () => {
  it('each per-connection layer subscribes its source directly, idle links hold no Subject or queue, events$ is made once', () => {
    const testScheduler = newTestScheduler();
    const seen: Seen = { subscribers: [], links: [], results: [] };
    const sessions: ServerSession[] = [];
    const subscriptions: Subscription[] = [];
    const stable: boolean[] = [];
    const again: unknown[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      const accept = acceptHandshake({ layers: LAYERS });
      const beat = heartbeat();
      const server$ = pair.server.pipe(
        map((event) => {
          if (event.type !== 'connection') return event;
          const connection = event.connection.pipe(
            probe(seen, 'acceptHandshake'),
            accept,
            probe(seen, 'heartbeat'),
            beat,
            probe(seen, 'acceptSessions'),
          );
          return { ...event, connection };
        }),
      );
      subscriptions.push(
        acceptSessions(server$).subscribe((session) => {
          sessions.push(session);
          stable.push(session.events$ === session.events$);
          subscriptions.push(session.events$.subscribe({ error: () => undefined }));
          // Made on first read and forgotten once subscribed: a second subscription still errors.
          session.events$.subscribe({ error: (error: unknown) => again.push(error) });
        }),
      );
      for (let i = 0; i < 2; i++) {
        const client = pair.transport.pipe(
          handshake({ layers: LAYERS }),
          heartbeat(),
          reconnectWith(policy.constant(0)),
          resumable(),
        );
        subscriptions.push(client.subscribe({ error: () => undefined }));
      }
      testScheduler.schedule(() => {
        for (const subscription of subscriptions) subscription.unsubscribe();
      }, 1_000);
      testScheduler.schedule(() => {
        expect(sessions).to.have.length(2);
        // No SafeSubscriber and finalizer array per layer: each layer is its source's subscriber.
        const layers = [
          'acceptSessions: Attachment',
          'heartbeat: HeartbeatRun',
          'acceptHandshake: ServerHandshake',
        ];
        expect(seen.subscribers).to.deep.equal([...layers, ...layers]);
        // Both connections settled the same result: one frozen object, shared.
        expect(seen.results).to.have.length(2);
        expect(seen.results[0]).to.equal(seen.results[1]);
        expect(Object.isFrozen(seen.results[0])).to.equal(true);
        expect(seen.links).to.have.length(2);
        for (const link of seen.links) {
          expect(link.bufferedBytes).to.equal(0);
          // Made on first use only: a drain Subject, the queue of frames, the ends of unconfirmed ones.
          expect(field(link, 'drains'), 'drains').to.equal(undefined);
          expect(field(link, 'queued'), 'queued').to.equal(undefined);
          expect(field(link, 'unconfirmedEnds'), 'unconfirmedEnds').to.equal(undefined);
        }
        for (const session of sessions) expect(session.link.bufferedBytes).to.equal(0);
        expect(stable).to.deep.equal([true, true]);
        expect(again).to.have.length(2);
        for (const error of again) expect(error).to.be.instanceOf(TypeError);
      }, 500);
    });
  });
});
