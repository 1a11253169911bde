import { expect } from 'chai';
import { AmbiguousOutcomeError, type WriteReport } from 'rx-lifeline';
import { Subscriber, VirtualTimeScheduler } from 'rxjs';
import { PendingRequests, type Pending } from '../../../lib/protocol/requests/pending-requests.js';

// What a broken connection does to each request handed to it, by where its frames stood in the
// connection's outbound stream (frames numbered from 0; `last` is a request's last frame).

/** Requests handed at frames 0, 1 and 2 of a connection, none idempotent, none answered yet. */
function handedThree() {
  const requests = new PendingRequests(
    10,
    new VirtualTimeScheduler(),
    () => undefined,
    () => undefined,
  );
  const errors = new Map<number, unknown>();
  const handed: Pending[] = [];
  for (let frame = 0; frame < 3; frame++) {
    const id = frame + 1;
    const subscriber = new Subscriber<unknown>({
      next: () => undefined,
      error: (error: unknown) => void errors.set(id, error),
      complete: () => undefined,
    });
    const request = requests.open(`r${id}`, false, Infinity, subscriber, undefined)!;
    requests.handed(request, id, frame);
    handed.push(request);
  }
  return { requests, errors, handed };
}

describe('PendingRequests.connectionLost', () => {
  it('says confirmed for a request whose frames come before the unconfirmed tail, and not for one in it', () => {
    const { requests, errors } = handedThree();
    // Three frames sent; the last one is unconfirmed; all three may have reached the peer.
    const report: WriteReport = {
      lastFrame: 'partial',
      unconfirmedFrames: 1,
      unconfirmedBytes: 9,
      framesLeft: 3,
    };
    expect(requests.connectionLost(report, 3, undefined)).to.deep.equal([]);
    const confirmed = [1, 2, 3].map((id) => {
      const error = errors.get(id);
      expect(AmbiguousOutcomeError.is(error), `request ${id}`).to.equal(true);
      return (error as AmbiguousOutcomeError).confirmed;
    });
    expect(confirmed).to.deep.equal([true, true, false]);
  });

  it('queues again, even when not idempotent, the requests from framesLeft on: they never left', () => {
    const { requests, errors, handed } = handedThree();
    const report: WriteReport = {
      lastFrame: 'not-started',
      unconfirmedFrames: 2,
      unconfirmedBytes: 18,
      framesLeft: 1,
    };
    expect(requests.connectionLost(report, 3, undefined)).to.deep.equal([handed[1], handed[2]]);
    expect([...errors.keys()]).to.deep.equal([1]);
    expect((errors.get(1) as AmbiguousOutcomeError).confirmed).to.equal(true);
  });

  it('says confirmed for none when nothing is known of the writes', () => {
    const { requests, errors } = handedThree();
    requests.connectionLost(
      { lastFrame: 'unknown', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft: Infinity },
      3,
      undefined,
    );
    expect([1, 2, 3].map((id) => (errors.get(id) as AmbiguousOutcomeError).confirmed)).to.deep.equal([
      false,
      false,
      false,
    ]);
  });
});

describe('PendingRequests: what an AmbiguousOutcomeError says', () => {
  it('what happened to the request, then that it may have run, or how much of its response had come', () => {
    const { requests, errors, handed } = handedThree();
    handed[1]!.values = 2;
    requests.connectionLost(
      { lastFrame: 'unknown', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft: 3 },
      3,
      undefined,
    );
    expect([1, 2].map((id) => (errors.get(id) as Error).message)).to.deep.equal([
      'Request 1: the connection broke after it was sent; it may or may not have been executed',
      'Request 2: the connection broke after it was sent; 2 response values had come, the rest is lost',
    ]);
  });

  it('a moved session fails the requests the gone process took, and leaves the later ones waiting', () => {
    const { requests, errors } = handedThree();
    // The new process has frames 0 and 1: requests 1 and 2 reached the gone one.
    expect(requests.moved(2, undefined)).to.deep.equal([]);
    expect([...errors.keys()]).to.deep.equal([1, 2]);
    expect((errors.get(1) as Error).message).to.equal(
      'Request 1: the server process that took it is gone (the session moved to another one); it may or may not have been executed',
    );
    // Nothing is known of what the gone process confirmed.
    expect([1, 2].map((id) => (errors.get(id) as AmbiguousOutcomeError).confirmed)).to.deep.equal([
      false,
      false,
    ]);
    expect(requests.size).to.equal(1);
  });
});

describe('PendingRequests.fail', () => {
  it('cancels and settles the request before its subscriber hears the error, once', () => {
    const log: string[] = [];
    const requests = new PendingRequests(
      10,
      new VirtualTimeScheduler(),
      (request) => log.push(`cancel ${String(request.payload)}`),
      (request) => log.push(`release ${String(request.payload)}`),
    );
    const subscriber = new Subscriber<unknown>({
      next: () => undefined,
      error: (error: unknown) => void log.push(`error ${String(error)} with ${requests.size} pending`),
      complete: () => undefined,
    });
    const request = requests.open('r1', false, Infinity, subscriber, undefined)!;
    requests.handed(request, 1, 0);
    requests.fail(request, 'E');
    requests.fail(request, 'again');
    expect(log).to.deep.equal(['cancel r1', 'release r1', 'error E with 0 pending']);
    expect(request.state).to.equal('done');
  });
});
