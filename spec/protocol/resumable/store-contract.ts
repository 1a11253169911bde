// The rules every SessionStore keeps (see SessionStore's documentation), run against each one.
import { expect } from 'chai';
import fc from 'fast-check';
import { SessionStoreError, type SessionStore } from 'rx-lifeline';

const id = (n: number) => n.toString(16).padStart(32, '0');
const TOKEN = 'a'.repeat(32);
const TTL = 60_000;

/** Awaits a store call that must be refused, and returns its error's code. */
async function refusedWith(call: PromiseLike<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    expect(SessionStoreError.is(error), String(error)).to.equal(true);
    return (error as SessionStoreError).code;
  }
  throw new Error('expected the store to refuse');
}

let next = 1;
/** A new session, created with TOKEN; returns its id. */
async function created(store: SessionStore, identity: unknown = { user: 'ann' }): Promise<string> {
  const session = id(next++);
  await store.create({ id: session, token: TOKEN, identity, ttl: TTL });
  return session;
}

const claimOf = (session: string, token: string, nextToken: string, received = 0, lockout = 60_000) => ({
  id: session,
  token,
  nextToken,
  received,
  lockout,
  ttl: TTL,
});

export function storeContract(setup: () => { store: SessionStore }): void {
  let store: SessionStore;
  beforeEach(() => (store = setup().store));

  it('a claim checks and rotates the token and bumps the epoch; the identity comes back', async () => {
    // Records as they were given: a Set, a Map and a Date stay what they are.
    const identity = { user: 'ann', roles: new Set(['a', 'b']), seen: new Map([['web', new Date(0)]]) };
    const session = await created(store, identity);
    const result = await store.claim(claimOf(session, TOKEN, 'b'.repeat(32)));
    expect(result.status).to.equal('claimed');
    if (result.status !== 'claimed') return;
    expect(result.session).to.deep.include({ id: session, epoch: 2, lastSeq: 0, received: 0 });
    expect(result.session.frames).to.deep.equal([]);
    expect(result.session.identity).to.deep.equal(identity);
    // The new token resumes; so does the one just presented, until the client speaks (settled).
    expect((await store.claim(claimOf(session, 'b'.repeat(32), 'c'.repeat(32)))).status).to.equal('claimed');
    expect((await store.claim(claimOf(session, 'b'.repeat(32), 'd'.repeat(32)))).status).to.equal('claimed');
  });

  it('keeps frames in order, drops them as acks advance, and hands back what the client missed', async () => {
    const session = await created(store);
    const frames = [1, 2, 3, 4].map((seq) => ({ seq, frame: { n: seq, bytes: new Uint8Array([seq, 255]) } }));
    await store.write(session, 1, { frames: frames.slice(0, 2), received: 5 }, TTL);
    await store.write(session, 1, { frames: frames.slice(2), acked: 1 }, TTL);
    await store.write(session, 1, { frames: [], received: 3 }, TTL); // late and lower: received never goes back
    const result = await store.claim(claimOf(session, TOKEN, 'b'.repeat(32), 2));
    if (result.status !== 'claimed') throw new Error(result.status);
    expect(result.session.lastSeq).to.equal(4);
    expect(result.session.received).to.equal(5);
    expect(result.session.frames).to.deep.equal(frames.slice(2));
  });

  it('retires the previous token once a batch says the client settled, not before', async () => {
    const session = await created(store);
    await store.claim(claimOf(session, TOKEN, 'b'.repeat(32)));
    await store.write(session, 2, { frames: [{ seq: 1, frame: 'x' }], received: 1 }, TTL);
    // The welcome may have been lost: the token the client presented still resumes.
    expect((await store.claim(claimOf(session, TOKEN, 'b'.repeat(32)))).status).to.equal('claimed');
    await store.write(session, 3, { frames: [], settled: true }, TTL);
    expect((await store.claim(claimOf(session, TOKEN, 'c'.repeat(32), 0, 0))).status).to.equal('bad-token');
  });

  it('a wrong token locks the session for the lockout: the right one is then refused unchecked', async () => {
    const session = await created(store);
    expect((await store.claim(claimOf(session, 'f'.repeat(32), 'b'.repeat(32)))).status).to.equal(
      'bad-token',
    );
    expect((await store.claim(claimOf(session, TOKEN, 'b'.repeat(32)))).status).to.equal('locked');
    const other = await created(store);
    expect((await store.claim(claimOf(other, 'f'.repeat(32), 'b'.repeat(32), 0, 0))).status).to.equal(
      'bad-token',
    );
    expect((await store.claim(claimOf(other, TOKEN, 'b'.repeat(32)))).status).to.equal('claimed');
  });

  it('fences a stale epoch: its writes and removal are refused, typed', async () => {
    const session = await created(store);
    await store.claim(claimOf(session, TOKEN, 'b'.repeat(32)));
    expect(await refusedWith(store.write(session, 1, { frames: [{ seq: 1, frame: 'x' }] }, TTL))).to.equal(
      'fenced',
    );
    expect(await refusedWith(store.remove(session, 1))).to.equal('fenced');
    await store.write(session, 2, { frames: [{ seq: 1, frame: 'y' }] }, TTL);
    await store.remove(session, 2);
    expect((await store.claim(claimOf(session, 'b'.repeat(32), 'c'.repeat(32)))).status).to.equal('unknown');
  });

  it('refuses writes to a session that is gone, and frames that do not follow the stored ones', async () => {
    expect(await refusedWith(store.write(id(999_999), 1, { frames: [] }, TTL))).to.equal('gone');
    const session = await created(store);
    expect(await refusedWith(store.write(session, 1, { frames: [{ seq: 2, frame: 'x' }] }, TTL))).to.equal(
      'corrupt',
    );
  });

  it('a batch written twice (a resend after a reconnect) keeps its frames once', async () => {
    const session = await created(store);
    const batch = { frames: [1, 2].map((seq) => ({ seq, frame: `f${seq}` })) };
    await store.write(session, 1, batch, TTL);
    await store.write(session, 1, batch, TTL);
    await store.write(session, 1, { frames: [2, 3].map((seq) => ({ seq, frame: `f${seq}` })) }, TTL);
    await store.write(session, 1, batch, TTL); // an older batch, resent late
    const result = await store.claim(claimOf(session, TOKEN, 'b'.repeat(32)));
    if (result.status !== 'claimed') throw new Error(result.status);
    expect(result.session.frames.map((entry) => entry.frame)).to.deep.equal(['f1', 'f2', 'f3']);
    expect(result.session.lastSeq).to.equal(3);
  });

  it("a client behind the log is a 'gap' (the session is removed); one ahead of it is 'ahead'", async () => {
    const session = await created(store);
    const frames = [1, 2, 3].map((seq) => ({ seq, frame: seq }));
    await store.write(session, 1, { frames, acked: 2 }, TTL);
    expect(await store.claim(claimOf(session, TOKEN, 'b'.repeat(32), 4))).to.deep.equal({
      status: 'ahead',
      lastSeq: 3,
    });
    expect(await store.claim(claimOf(session, TOKEN, 'b'.repeat(32), 0))).to.deep.equal({
      status: 'gap',
      firstSeq: 3,
    });
    expect((await store.claim(claimOf(session, TOKEN, 'b'.repeat(32)))).status).to.equal('unknown');
  });

  it('touch keeps the sessions whose epoch is current and skips the others', async () => {
    const session = await created(store);
    await store.touch(
      [
        { id: session, epoch: 1 },
        { id: id(888_888), epoch: 1 },
      ],
      TTL,
    );
    expect((await store.claim(claimOf(session, TOKEN, 'b'.repeat(32)))).status).to.equal('claimed');
  });

  it('property: what a claim hands back is every frame after the client received, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ count: fc.nat(5), ack: fc.nat(6) }), { maxLength: 8 }),
        fc.nat(40),
        async (batches, want) => {
          const session = await created(store);
          let lastSeq = 0;
          let acked = 0;
          for (const { count, ack } of batches) {
            const frames = Array.from({ length: count }, (_, i) => ({
              seq: lastSeq + i + 1,
              frame: `f${lastSeq + i + 1}`,
            }));
            lastSeq += count;
            acked = Math.min(lastSeq, Math.max(acked, acked + ack - 3));
            await store.write(session, 1, { frames, acked }, TTL);
          }
          const received = Math.min(want, lastSeq);
          const result = await store.claim(claimOf(session, TOKEN, 'b'.repeat(32), received));
          if (received < acked) {
            expect(result).to.deep.equal({ status: 'gap', firstSeq: acked + 1 });
            return;
          }
          if (result.status !== 'claimed') throw new Error(result.status);
          const expected = [];
          for (let seq = received + 1; seq <= lastSeq; seq++) expected.push({ seq, frame: `f${seq}` });
          expect(result.session.frames).to.deep.equal(expected);
          expect(result.session.lastSeq).to.equal(lastSeq);
        },
      ),
      { numRuns: 60 },
    );
  });
}
