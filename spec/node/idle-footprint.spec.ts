import { expect } from 'chai';
import { firstValueFrom, map, ReplaySubject, Subject, take, tap, type Subscription } from 'rxjs';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import {
  acceptHandshake,
  acceptSessions,
  handshake,
  heartbeat,
  policy,
  reconnectWith,
  resumable,
  websocket,
  type LayerName,
  type Link,
  type ServerSession,
} from 'rx-lifeline';
import { websocketServer } from 'rx-lifeline/node';
import { turn } from '../support/loopback.js';
import { fieldOf, hasField } from '../support/private-fields.js';

const LAYERS: LayerName[] = ['heartbeat', 'resumable'];

/** A field, `#private` or not, read by name: what an idle connection holds is what this spec is about. */
const field = fieldOf;
const owns = hasField;

describe('an idle session over websocketServer holds only what it used (acceptHandshake + heartbeat + acceptSessions)', () => {
  it('no frame reader, decoder, write queue, boxed sentinel or cached local address per connection once the welcome is out', async () => {
    const subscriptions: Subscription[] = [];
    const port = new ReplaySubject<number>(1);
    /** The transport's own link of each connection, and each session's link. */
    const links: Link<unknown>[] = [];
    const sessionLinks = new Subject<Link<unknown>>();
    const accept = acceptHandshake({ layers: LAYERS });
    const beat = heartbeat();
    const server$ = websocketServer().pipe(
      map((event) => {
        if (event.type === 'listening') port.next(event.port);
        if (event.type !== 'connection') return event;
        const connection = event.connection.pipe(
          tap((e) => e.type === 'connected' && links.push(e.link)),
          accept,
          beat,
        );
        return { ...event, connection };
      }),
    );
    try {
      const sessions: ServerSession[] = [];
      subscriptions.push(
        acceptSessions(server$).subscribe((session) => {
          sessions.push(session);
          session.events$.subscribe({
            next: (event) => event.type === 'connected' && sessionLinks.next(event.link),
            error: () => undefined,
          });
        }),
      );
      const welcomed = firstValueFrom(
        sessionLinks.pipe(
          take(2),
          map(() => undefined),
        ),
      );
      const url = `ws://127.0.0.1:${await firstValueFrom(port)}`;
      const clientsUp: Promise<unknown>[] = [];
      for (let i = 0; i < 2; i++) {
        const events = new ReplaySubject<{ type: string }>();
        const client = websocket({ url, WebSocket }).pipe(
          handshake({ layers: LAYERS }),
          heartbeat(),
          reconnectWith(policy.constant(0)),
          resumable(),
        );
        subscriptions.push(client.subscribe({ next: (e) => events.next(e), error: () => undefined }));
        clientsUp.push(firstValueFrom(events.pipe(take(1))));
      }
      const sessionLinksSeen: Link<unknown>[] = [];
      subscriptions.push(sessionLinks.subscribe((link) => sessionLinksSeen.push(link)));
      await Promise.all([welcomed, ...clientsUp]);
      // The welcome's write confirmation comes from the socket in a later turn than its send.
      while (links.some((link) => link.bufferedBytes > 0)) await turn();

      expect(sessions).to.have.length(2);
      expect(links).to.have.length(2);
      for (const link of links) {
        // The writer: nothing queued, no batch, no unconfirmed ends, no Infinity sentinel.
        for (const name of ['drains', 'queued', 'unconfirmedEnds', 'reachable'])
          expect(field(link, name), `LinkWriter.${name}`).to.equal(undefined);
        expect((field(link, 'batch') as Uint8Array).length, 'LinkWriter.batch').to.equal(0);
        // Its flags are one field, not a boolean each.
        for (const name of ['inFlight', 'flushScheduled', 'dead'])
          expect(owns(link, name), `LinkWriter own ${name}`).to.equal(false);
        // The run is its socket's sink (no sink object of its own) and holds no decoder.
        const run = field(link, 'sink');
        expect(run?.constructor.name).to.equal('WebSocketRun');
        expect(owns(run, 'decoder'), 'WebSocketRun.decoder').to.equal(false);
        expect(field(run, 'decoding'), 'WebSocketRun.decoding').to.equal(undefined);
        expect(field(run, 'offset'), 'the hello was read').to.be.above(0);
        // The served socket: one object with its place in the server and the WebSocket the run
        // drives (no WebSocket, frame reader or sender objects of a library beside it), no frame
        // reader between messages, no deadline, no closing timer.
        const served = field(run, 'settings');
        expect(served?.constructor.name).to.equal('ServedWebSocket');
        expect(field(run, 'socket'), 'the run drives the served socket itself').to.equal(served);
        expect(field(served, 'kind')).to.equal('running');
        for (const name of ['reader', 'deadline', 'closeTimer'])
          expect(field(served, name), `ServedWebSocket.${name}`).to.equal(undefined);
        for (const name of ['events', 'codec', 'limits', 'decoder', 'account', 'handle'])
          expect(owns(served, name), `ServedWebSocket own ${name}`).to.equal(false);
        // No close frame came: nothing kept for one; its account's release is its held bytes' sign.
        expect(field(served, 'closeFrame'), 'ServedWebSocket.closeFrame').to.equal(undefined);
        for (const name of ['closeCode', 'closeReason', 'released'])
          expect(owns(served, name), `ServedWebSocket own ${name}`).to.equal(false);
        // Listening on one address, the server never asked the socket for it (Node caches it).
        const tcp = field(served, 'socket');
        expect(tcp?.constructor.name).to.equal('Socket');
        expect(field(tcp, '_sockname') ?? undefined, 'net.Socket._sockname').to.equal(undefined);
        // Its end of input is Node's to answer (allowHalfOpen off): no listener of the server's.
        expect((tcp as unknown as Socket).listenerCount('end'), "'end' listeners").to.equal(1);
        expect(link.info.local).to.equal(url.slice('ws://'.length));
      }
      // Both clients sent the same headers: their connections share one object of them.
      expect(links[0]!.info.headers).to.equal(links[1]!.info.headers);
      expect(sessionLinksSeen).to.have.length(2);
      for (const link of sessionLinksSeen) {
        const side = field(link, 'side');
        const session = field(link, 'hooks');
        expect(field(side, 'ackDue'), 'SessionSide.ackDue').to.equal(undefined);
        expect(field(session, 'lockedUntil'), 'Session.lockedUntil').to.equal(undefined);
        // Flags are one field each for the session and its connection, not a boolean each.
        for (const name of ['closing', 'ended'])
          expect(owns(session, name), `Session own ${name}`).to.equal(false);
        // Its events$ is subscribed: the subscriber is where the held events were, in one field.
        expect(field(session, 'events')?.constructor.name, 'Session.events').to.equal('SafeSubscriber');
        for (const name of ['held', 'subscriber'])
          expect(owns(session, name), `Session own ${name}`).to.equal(false);
        const connection = field(session, 'connection');
        expect(connection?.constructor.name).to.equal('Attachment');
        for (const name of ['closing', 'waiting', 'ended', 'refusals'])
          expect(owns(connection, name), `Attachment own ${name}`).to.equal(false);
        // Its heartbeat keeps its times from when heartbeat() was called: small integers, which V8
        // keeps in the object itself (a Date.now() reading takes a number object per field).
        const beat = field(connection, 'finalizer');
        expect(beat?.constructor.name).to.equal('HeartbeatRun');
        const lastInbound = field(beat, 'lastInbound') as number;
        expect(
          Number.isInteger(lastInbound) && Math.abs(lastInbound) < 2 ** 30,
          `lastInbound ${lastInbound}`,
        ).to.equal(true);
        for (const name of ['end', 'closeSession', 'maxHeld', 'link'])
          expect(owns(session, name), `Session own ${name}`).to.equal(false);
      }
    } finally {
      for (const subscription of subscriptions) subscription.unsubscribe();
    }
  });
});
