import { expect } from 'chai';
import { asapScheduler } from 'rxjs';
import { ReplayBufferFullError } from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';
import type { SessionJournal } from '../../../lib/protocol/resumable/journal.js';
import {
  resolveSideOptions,
  SessionSide,
  type SideConfig,
} from '../../../lib/protocol/resumable/session-side.js';
import { newTestScheduler } from '../../operators/support.js';

// The replay and ack state of one side of a session, driven directly: frames sent on an attached
// link, acks from the peer, and what `send()` and `drain$` tell the sender.

/** A side attached to a recording link (which takes every frame at once), in virtual time. */
function attachedSide(config: SideConfig<string>, journal?: SessionJournal) {
  const scheduler = newTestScheduler();
  const side = new SessionSide<string>(
    resolveSideOptions('spec', { scheduler, ...config }),
    { endNow: (error) => expect.fail(`ended: ${String(error)}`) },
    journal,
  );
  const link = new RecordingLink();
  side.attach(link, 0);
  const drains: number[] = [];
  side.drain$.subscribe(() => drains.push(side.lastSeq - side.buffer.firstSeq + 1));
  return { side, link, drains };
}

/**
 * A journal that keeps nothing and whose every commit is a thenable the spec settles: `held`
 * gets each commit's resolve, in order.
 */
function heldCommits(held: (resolve: () => void) => void): SessionJournal {
  return {
    restore: () => undefined,
    session: () => undefined,
    sent: () => undefined,
    acked: () => undefined,
    received: () => undefined,
    clear: () => undefined,
    commit: () => ({ then: (onFulfilled: () => void) => void held(onFulfilled) }) as never,
  };
}

describe('SessionSide (the replay and ack state of a session)', () => {
  it('send() answers false from half of maxFrames, and drain$ waits until acks bring the buffer below it', () => {
    const { side, drains } = attachedSide({ maxFrames: 8 });
    const answers = ['a', 'b', 'c', 'd', 'e', 'f'].map((frame) => side.send(frame));
    // The link took every frame at once; the buffer holds them until acked.
    expect(answers).to.deep.equal([true, true, true, false, false, false]);
    side.receiveAck(2); // 4 held: still at the high-water mark, however idle the link
    expect(drains, 'after the first ack').to.deep.equal([]);
    side.receiveAck(3); // 3 held: below it
    expect(drains, 'after the second ack (frames held then)').to.deep.equal([3]);
    side.dispose();
  });

  it('send() with a sizeOf answers true for a frame the link took, and false from half of maxBytes', () => {
    const { side, link } = attachedSide({ maxBytes: 64, sizeOf: () => 16 });
    // 16 bytes held, then 32: half of maxBytes is the high-water mark, reached by the second.
    expect([side.send('a'), side.send('b')]).to.deep.equal([true, false]);
    expect(link.sent.length, 'both written').to.equal(2);
    side.dispose();
  });

  it('a reset while an asynchronous commit is in flight disowns it: once it resolves, it writes nothing and calls none of its waiters', () => {
    let resolveCommit: (() => void) | undefined;
    const { side, link } = attachedSide(
      {},
      heldCommits((resolve) => (resolveCommit = resolve)),
    );
    side.send('old');
    const waiters: string[] = [];
    side.whenCommitted(() => waiters.push('called')); // starts the commit now
    side.reset();
    side.attach(link, 0);
    // The fresh session's first frame waits for a commit of its own (none has run yet).
    side.send('new');
    resolveCommit!();
    expect(link.sent, 'written').to.deep.equal([]);
    expect(waiters).to.deep.equal([]);
    side.dispose();
  });

  it('a frame the link took without its bufferedBytes growing is held at its MessagePack size', () => {
    const { side, link } = attachedSide({});
    side.send('abc');
    expect(link.sent.length).to.equal(1);
    // 'abc' is a fixstr: one byte of header, three of text.
    expect(side.buffer.bytes).to.equal(4);
    side.dispose();
  });

  it('a frame the attached link refuses as closed is queued, held at its MessagePack size, told to the journal once, and answered false', () => {
    const told: number[] = [];
    // A journal without commit: told each frame as it is kept.
    const { commit: _, ...journal } = heldCommits(() => undefined);
    journal.sent = (seq) => void told.push(seq);
    const { side, link } = attachedSide({}, journal);
    link.close();
    expect(side.send('abc')).to.equal(false);
    expect(side.buffer.bytes, "'abc' is a fixstr: 4 bytes").to.equal(4);
    expect(side.lastSeq).to.equal(1);
    expect(told).to.deep.equal([1]);
    side.dispose();
  });

  it('a frame sent while an asynchronous commit is in flight is committed by the next one, which starts once it resolves', async () => {
    const resolvers: (() => void)[] = [];
    const { side, link } = attachedSide(
      {},
      heldCommits((resolve) => resolvers.push(resolve)),
    );
    const turn = () => new Promise<void>((resolve) => asapScheduler.schedule(() => resolve()));
    side.send('a');
    side.whenCommitted(() => undefined); // the first commit starts now
    side.send('b');
    await turn(); // b's commit is due, but one is running: it waits for it
    expect([resolvers.length, link.sent.length]).to.deep.equal([1, 0]);
    resolvers[0]!();
    expect(link.sent.length, 'a, made durable by the first commit').to.equal(1);
    await turn();
    expect(resolvers.length, 'the second commit started').to.equal(2);
    resolvers[1]!();
    expect(link.sent.length, 'b too').to.equal(2);
    side.dispose();
  });

  it('under a journal that commits, a frame is kept with its MessagePack size: one larger than maxBytes is refused', () => {
    const { side } = attachedSide(
      { maxBytes: 64 },
      heldCommits(() => undefined),
    );
    side.send('abc');
    // 'abc' is 4 bytes of MessagePack.
    expect(side.buffer.bytes).to.equal(4);
    expect(() => side.send('x'.repeat(100))).to.throw(ReplayBufferFullError);
    side.dispose();
  });

  it('a frame refused while the link is away, the buffer below its mark, is followed by drain$ once a link is back', () => {
    const { side, link, drains } = attachedSide({ maxBytes: 64 });
    // 7 bytes held: below the mark (32), so the sender was not told to wait.
    expect(side.send('a'.repeat(5))).to.equal(true);
    side.detach();
    expect(() => side.send('x'.repeat(60))).to.throw(ReplayBufferFullError);
    // The peer had frame 1: nothing is held.
    side.attach(link, 1);
    expect(drains).to.deep.equal([0]);
    side.dispose();
  });

  it('restore() refuses a state with a token but no session id: the journal is damaged', () => {
    const { side } = attachedSide({});
    const state = { session: undefined, token: 't', lastSeq: 0, received: 0, frames: [] };
    expect(() => side.restore(state)).to.throw(TypeError, /journal's state is damaged/);
    side.dispose();
  });
});
