// The session registry of acceptSessions, seen through one connection driven by hand: which
// connections it holds an entry for, how it ends them, and what it writes to a connection that ended.
import { expect } from 'chai';
import { memorySessionStore, type SessionStore } from 'rx-lifeline';
import type { RecordingLink } from 'rx-lifeline/testing';
import { fieldOf } from '../../support/private-fields.js';
import { handFedServer } from './hand-fed-server.js';

const HELLO = [2, { v: [1, 1], received: 0 }];
const DATA = 0;

const server = handFedServer;

/** A turn of the event loop: the session's store writes are made at the end of a turn. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SessionRegistry (through acceptSessions)', () => {
  it('closes a connection still without a session when the server is unsubscribed', () => {
    const { running, connect } = server();
    const { connection } = connect();
    running.unsubscribe();
    expect(connection.observed).to.equal(false);
  });

  it('holds no entry for a connection that ended before its hello, nor for one that carries a session', () => {
    const { running, connect, unattached } = server();
    const silent = connect();
    const welcomed = connect();
    expect(unattached(silent.connection)).to.equal(2);
    welcomed.connection.next({ type: 'frame', frame: HELLO });
    expect(unattached(silent.connection), 'a connection with a session is reached through it').to.equal(1);
    const probe = connect();
    silent.connection.complete();
    expect(unattached(probe.connection), 'the one that ended is forgotten').to.equal(1);
    running.unsubscribe();
  });

  it('writes nothing more to a connection that ended: what the application sends waits for the next one', () => {
    const { sessions, running, connect } = server();
    const first = connect();
    first.connection.next({ type: 'frame', frame: HELLO });
    first.connection.complete();
    sessions[0]!.link.send('while away');
    const data = (link: RecordingLink) => link.sent.filter((frame) => (frame as unknown[])[0] === DATA);
    expect(data(first.link)).to.deep.equal([]);
    running.unsubscribe();
  });

  it('keeps no connection in a session its application closed', () => {
    const { sessions, running, connect } = server();
    const { connection } = connect();
    connection.next({ type: 'frame', frame: HELLO });
    sessions[0]!.link.close();
    expect(fieldOf(fieldOf(sessions[0], 'session'), 'connection')).to.equal(undefined);
    running.unsubscribe();
  });

  it('drops the connections of its sessions at once when unsubscribed, without closing them cleanly', () => {
    const { running, connect } = server();
    const { connection, link } = connect();
    connection.next({ type: 'frame', frame: HELLO });
    running.unsubscribe();
    expect(connection.observed).to.equal(false);
    expect(link.closeReason, 'not asked to flush and close').to.equal(undefined);
  });

  it('drops at once the connection of a session that ends with an error (its store failed)', async () => {
    const base = memorySessionStore();
    const store: SessionStore = {
      create: (session) => base.create(session),
      claim: (claim) => base.claim(claim),
      write: () => Promise.reject(new Error('store down')),
      touch: (sessions, ttl) => base.touch(sessions, ttl),
      remove: (id, epoch) => base.remove(id, epoch),
    };
    const { sessions, ended, running, connect } = server({ store });
    const { connection, link } = connect();
    connection.next({ type: 'frame', frame: HELLO });
    sessions[0]!.link.send('lost');
    await turn();
    expect(ended).to.have.length(1);
    expect(connection.observed).to.equal(false);
    expect(link.closeReason, 'not asked to flush and close').to.equal(undefined);
    running.unsubscribe();
  });
});
