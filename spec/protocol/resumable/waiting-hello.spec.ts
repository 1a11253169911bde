// A connection whose hello waits for the session store's answer: its state (waiting, closing,
// ended, refusals) is packed into one field of its server object, so each part must stay apart
// from the others. Driven by hand, the store answering when the spec says so.
import { expect } from 'chai';
import {
  acceptSessions,
  memorySessionStore,
  type ServerSession,
  type SessionServerStats,
  type SessionStore,
  type TransportEvent,
} from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';
import { Subject, VirtualTimeScheduler, type Observable } from 'rxjs';
import { Attachment } from '../../../lib/protocol/resumable/server-session.js';
import { handFedServer } from './hand-fed-server.js';

const HELLO = 2;
const DATA = 0;
const WELCOME = 3;
const NEW_HELLO = [HELLO, { v: [1, 1], received: 0 }];

/** A memory store whose `create` answers only once `answer()` is called. */
function slowCreateStore() {
  const store = memorySessionStore();
  const waiting: (() => void)[] = [];
  const slow: SessionStore = {
    create: (session) =>
      new Promise<void>((resolve, reject) => waiting.push(() => store.create(session).then(resolve, reject))),
    claim: (claim) => store.claim(claim),
    write: (id, epoch, changes, ttl) => store.write(id, epoch, changes, ttl),
    touch: (sessions, ttl) => store.touch(sessions, ttl),
    remove: (id, epoch) => store.remove(id, epoch),
  };
  return { store: slow, answer: () => waiting.splice(0).forEach((go) => go()), waiting };
}

/** A server on `store` with one connection driven by hand, its latest stats and its sessions' frames. */
function oneStoredConnection(store: SessionStore) {
  const server$ = new Subject<{
    readonly type: 'connection';
    readonly connection: Observable<TransportEvent>;
  }>();
  const connection = new Subject<TransportEvent>();
  const link = new RecordingLink();
  const server = acceptSessions(server$, { store, scheduler: new VirtualTimeScheduler() });
  let stats: SessionServerStats | undefined;
  const watch = server.stats$.subscribe((latest) => (stats = latest));
  const got: unknown[] = [];
  const running = server.subscribe((session: ServerSession) =>
    session.events$.subscribe((event) => {
      if (event.type === 'frame') got.push(event.frame);
    }),
  );
  server$.next({ type: 'connection', connection });
  connection.next({ type: 'connected', link });
  return {
    connection,
    link,
    got,
    stats: () => stats!,
    stop: () => (running.unsubscribe(), watch.unsubscribe()),
  };
}

/** Lets the store's promises and the server's reactions to them settle. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('acceptSessions: a connection whose hello waits for the store', () => {
  it('is no longer counted once it ends before the store answered', async () => {
    const slow = slowCreateStore();
    const run = oneStoredConnection(slow.store);
    run.connection.next({ type: 'frame', frame: NEW_HELLO });
    expect(slow.waiting, 'the hello waits for the store').to.have.length(1);
    run.connection.complete();
    expect(run.stats()).to.include({ connections: 0, handshaking: 0 });
    slow.answer();
    await settle();
    expect(run.stats()).to.include({ connections: 0, handshaking: 0, sessions: 0 });
    run.stop();
  });

  it('keeps the frames sent meanwhile, and handles them once it is welcomed', async () => {
    const slow = slowCreateStore();
    const run = oneStoredConnection(slow.store);
    run.connection.next({ type: 'frame', frame: NEW_HELLO });
    run.connection.next({ type: 'frame', frame: [DATA, 1, 'early'] });
    slow.answer();
    await settle();
    expect((run.link.sent[0] as unknown[])[0], 'welcomed').to.equal(WELCOME);
    expect(run.got).to.deep.equal(['early']);
    expect(run.stats()).to.include({ connections: 1, handshaking: 0, sessions: 1 });
    run.stop();
  });
  it('holds 64 frames meanwhile; a 65th is a protocol error that closes the connection', () => {
    const slow = slowCreateStore();
    const run = oneStoredConnection(slow.store);
    run.connection.next({ type: 'frame', frame: NEW_HELLO });
    for (let seq = 1; seq <= 64; seq++) run.connection.next({ type: 'frame', frame: [DATA, seq, seq] });
    expect(run.stats().closed.protocolError, '64 held').to.equal(0);
    expect(run.stats().connections).to.equal(1);
    run.connection.next({ type: 'frame', frame: [DATA, 65, 65] });
    expect(run.stats().closed.protocolError, 'the 65th').to.equal(1);
    expect(run.stats().connections).to.equal(0);
    run.stop();
  });
});

describe('acceptSessions: a resume whose connection ends while the store is asked', () => {
  it("lets the session's writes go on once the store answers", async () => {
    const store = memorySessionStore();
    const claims: (() => void)[] = [];
    const written: unknown[] = [];
    const slow: SessionStore = {
      create: (session) => store.create(session),
      // The store is slow to answer, and then refuses the token: the session stays as it was.
      claim: () => new Promise((resolve) => claims.push(() => resolve({ status: 'bad-token' }))),
      write: (id, epoch, changes, ttl) => {
        written.push(...changes.frames.map((entry) => entry.frame));
        return store.write(id, epoch, changes, ttl);
      },
      touch: (sessions, ttl) => store.touch(sessions, ttl),
      remove: (id, epoch) => store.remove(id, epoch),
    };
    const { sessions, running, connect } = handFedServer({ store: slow });
    const first = connect();
    first.connection.next({ type: 'frame', frame: NEW_HELLO });
    await settle();
    const { session, token } = (first.link.sent[0] as [number, { session: string; token: string }])[1];
    first.connection.complete();
    const second = connect();
    second.connection.next({ type: 'frame', frame: [HELLO, { v: [1, 1], session, token, received: 0 }] });
    expect(claims, 'the claim waits for the store').to.have.length(1);
    second.connection.complete();
    claims[0]!();
    await settle();
    sessions[0]!.link.send('after');
    await settle();
    expect(written).to.deep.equal(['after']);
    running.unsubscribe();
  });
});

describe('acceptSessions: the events$ of a session', () => {
  it('can be subscribed only once, also once the session ended', () => {
    const server$ = new Subject<{
      readonly type: 'connection';
      readonly connection: Observable<TransportEvent>;
    }>();
    const connection = new Subject<TransportEvent>();
    const heard: string[] = [];
    const hear = (which: string) => ({
      next: (event: { type: string }) => heard.push(`${which}:${event.type}`),
      error: (error: Error) => heard.push(`${which}:${error.name}`),
      complete: () => heard.push(`${which}:complete`),
    });
    const running = acceptSessions(server$, { scheduler: new VirtualTimeScheduler() }).subscribe(
      (session) => {
        session.link.close();
        session.events$.subscribe(hear('first'));
        session.events$.subscribe(hear('second'));
      },
    );
    server$.next({ type: 'connection', connection });
    connection.next({ type: 'connected', link: new RecordingLink() });
    connection.next({ type: 'frame', frame: NEW_HELLO });
    running.unsubscribe();
    expect(heard).to.deep.equal(['first:connected', 'first:complete', 'second:TypeError']);
  });
});

describe('Attachment: its refusals and flags, kept in one field', () => {
  it('changes each of them without touching the others', () => {
    const connection = new Attachment(0, { connected() {}, frame() {}, ended() {} });
    const state = () => [connection.refusals, connection.closing, connection.waiting, connection.ended];
    connection.waiting = true;
    connection.refusals = 3;
    expect(state()).to.deep.equal([3, false, true, false]);
    connection.refusals++;
    expect(state()).to.deep.equal([4, false, true, false]);
    connection.closing = true;
    connection.ended = true;
    expect(state()).to.deep.equal([4, true, true, true]);
    connection.waiting = false;
    expect(state()).to.deep.equal([4, true, false, true]);
    connection.refusals = 1_000_000;
    expect(state()).to.deep.equal([1_000_000, true, false, true]);
    connection.closing = false;
    connection.ended = false;
    expect(state()).to.deep.equal([1_000_000, false, false, false]);
  });
});
