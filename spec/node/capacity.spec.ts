import { expect } from 'chai';
import { ServerCapacityError, type RefusedEvent } from 'rx-lifeline';
import { ConnectionAccount, ServerCapacity } from '../../lib/node/capacity.js';

/** A connection as its server's capacity sees it. */
class Account extends ConnectionAccount {
  constructor(
    capacity: ServerCapacity,
    readonly remote: string,
  ) {
    super(capacity);
  }
}

describe('ServerCapacity and its ConnectionAccounts', () => {
  function setup(maxConnections: number, maxPendingFrameBytes: number) {
    const refused: RefusedEvent[] = [];
    const capacity = new ServerCapacity({ maxConnections, maxPendingFrameBytes }, (event) =>
      refused.push(event),
    );
    const admit = (remote: string) => {
      expect(capacity.admit(remote), `${remote} admitted`).to.equal(true);
      return new Account(capacity, remote);
    };
    return { capacity, refused, admit };
  }

  it('an account holds the bytes of its latest unfinished frame, and its release gives them and its place back once', () => {
    const { capacity, admit } = setup(2, 100);
    const a = admit('a:1');
    admit('b:1');
    expect(a.hold(60)).to.equal(undefined);
    expect(a.hold(40)).to.equal(undefined);
    expect(capacity.pendingBytes).to.equal(40);
    a.release();
    expect(capacity.pendingBytes).to.equal(0);
    a.release();
    // A released account holds nothing more.
    expect(a.hold(80)).to.equal(undefined);
    expect(capacity.pendingBytes).to.equal(0);
    // Its one place was given back, once: one more fits under maxConnections 2, not two.
    expect(capacity.admit('c:1')).to.equal(true);
    expect(capacity.admit('d:1')).to.equal(false);
  });

  it('takes bytes up to exactly maxPendingFrameBytes; the hold past it is refused and reported, and its bytes let go', () => {
    const { capacity, refused, admit } = setup(3, 100);
    const a = admit('a:1');
    const b = admit('b:1');
    expect(a.hold(90)).to.equal(undefined);
    expect(b.hold(10)).to.equal(undefined);
    expect(capacity.pendingBytes).to.equal(100);
    const error = b.hold(11);
    expect(ServerCapacityError.is(error)).to.equal(true);
    expect(error).to.include({ reason: 'max-pending-frame-bytes', limit: 100 });
    expect(capacity.pendingBytes).to.equal(90);
    expect(ServerCapacityError.is(a.hold(101))).to.equal(true);
    expect(capacity.pendingBytes).to.equal(0);
    expect(refused.map(({ reason, remote, total }) => ({ reason, remote, total }))).to.deep.equal([
      { reason: 'max-pending-frame-bytes', remote: 'b:1', total: 1 },
      { reason: 'max-pending-frame-bytes', remote: 'a:1', total: 2 },
    ]);
  });
});
