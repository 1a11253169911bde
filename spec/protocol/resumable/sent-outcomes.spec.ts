// sentOutcomes: after a restart, what became of each message sent before the crash, read off the
// journal's restored state by the application's own ids.
import { expect } from 'chai';
import fc from 'fast-check';
import { memoryJournal, sentOutcomes, type JournalState, type SentOutcome } from 'rx-lifeline';

const idOf = (frame: unknown) =>
  typeof frame === 'object' && frame !== null && 'id' in frame ? (frame as { id: number }).id : undefined;

describe('sentOutcomes', () => {
  it('says delivered up to the last acknowledged message, pending for the kept ones, unknown after', () => {
    const journal = memoryJournal();
    journal.session('1'.repeat(32), 'a'.repeat(32));
    for (let id = 1; id <= 5; id++) journal.sent(id, { id, text: `m${id}` });
    journal.acked(2);
    const outcomes = sentOutcomes(journal.restore(), idOf);
    expect([1, 2, 3, 4, 5, 6, 7].map((id) => outcomes.of(id))).to.deep.equal([
      'delivered',
      'delivered',
      'pending',
      'pending',
      'pending',
      'unknown',
      'unknown',
    ]);
    expect(outcomes.session).to.equal('1'.repeat(32));
    expect(outcomes.deliveredThrough).to.equal(2);
    expect(outcomes.lastSeq).to.equal(5);
    expect(outcomes.pending.map((f) => f.seq)).to.deep.equal([3, 4, 5]);
  });

  it('says delivered for everything acknowledged when nothing is pending, and unknown after it', () => {
    const journal = memoryJournal();
    journal.session('1'.repeat(32), 'a'.repeat(32));
    journal.sent(1, { id: 10 });
    journal.sent(2, { id: 11 });
    journal.acked(2);
    const outcomes = sentOutcomes(journal.restore(), idOf);
    expect([9, 10, 11, 12].map((id) => outcomes.of(id))).to.deep.equal([
      'delivered',
      'delivered',
      'delivered',
      'unknown',
    ]);
    expect(outcomes.deliveredThrough).to.equal(2);
    expect(outcomes.pending).to.deep.equal([]);
  });

  it('skips frames without an id (another layer’s), and ids need only grow, not be consecutive', () => {
    const journal = memoryJournal();
    journal.sent(1, { id: 100 });
    journal.sent(2, 'a heartbeat of the application');
    journal.sent(3, { id: 250 });
    journal.session('1'.repeat(32), 'a'.repeat(32));
    journal.acked(1);
    const outcomes = sentOutcomes(journal.restore(), idOf);
    expect([50, 100, 200, 250, 251].map((id) => outcomes.of(id))).to.deep.equal([
      'delivered',
      'delivered',
      'delivered', // before the first pending one: it was journaled, and acknowledged
      'pending',
      'unknown',
    ]);
  });

  it('says unknown for every message when the journal kept nothing', () => {
    const outcomes = sentOutcomes(undefined, idOf);
    expect(outcomes.of(1)).to.equal('unknown');
    expect(outcomes).to.deep.include({ session: undefined, deliveredThrough: 0, lastSeq: 0, pending: [] });
  });

  it('without lastAcked (a custom journal), says delivered only before the first pending message', () => {
    const state: JournalState = {
      session: 's',
      token: 't',
      lastSeq: 4,
      received: 0,
      frames: [{ seq: 4, frame: { id: 40 } }],
    };
    const outcomes = sentOutcomes(state, idOf);
    expect([30, 40, 41].map((id) => outcomes.of(id))).to.deep.equal(['delivered', 'pending', 'unknown']);
    expect(sentOutcomes({ ...state, frames: [] }, idOf).of(30)).to.equal('unknown');
  });

  it('checks its arguments', () => {
    expect(() => sentOutcomes(undefined, 'id' as never)).to.throw(
      TypeError,
      'sentOutcomes: idOf must be a function, got',
    );
    const outcomes = sentOutcomes(undefined, idOf);
    expect(() => outcomes.of('7' as never)).to.throw(TypeError, 'sentOutcomes: an id must be a number');
    expect(() => outcomes.of(NaN)).to.throw(TypeError, /an id must be a number/);
  });

  it('property: acked through k of n messages, ids 1…n: 1…k delivered, k+1…n pending, later unknown', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 30 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }))),
        ([n, k]) => {
          const journal = memoryJournal();
          journal.session('1'.repeat(32), 'a'.repeat(32));
          for (let id = 1; id <= n; id++) journal.sent(id, { id });
          journal.acked(k);
          const outcomes = sentOutcomes(journal.restore(), idOf);
          const expected = (id: number): SentOutcome =>
            id <= k ? 'delivered' : id <= n ? 'pending' : 'unknown';
          for (let id = 1; id <= n + 2; id++) expect(outcomes.of(id), `id ${id}`).to.equal(expected(id));
        },
      ),
    );
  });
});
