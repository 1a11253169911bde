import { expect } from 'chai';
import {
  ConnectionError,
  ConnectionResetError,
  DialError,
  FrameTooLargeError,
  HeartbeatTimeoutError,
  LifelineError,
  PeerClosedError,
  ProtocolError,
  SendBufferFullError,
  policy,
  UNKNOWN_WRITE,
  type Link,
} from 'rx-lifeline';

describe('errors', () => {
  it('have stable names on the prototype', () => {
    const error = new FrameTooLargeError('big', { offset: 0, size: 10, limit: 5 });
    expect(error.name).to.equal('FrameTooLargeError');
    expect(new DialError('x', { code: 'ECONNREFUSED' }).name).to.equal('DialError');
    expect(new PeerClosedError('x', { reason: 'bye' }).name).to.equal('PeerClosedError');
  });

  it('keep the cause', () => {
    const cause = new Error('ECONNRESET');
    const error = new ConnectionResetError('reset', { phase: 'read', cause });
    expect(error.cause).to.equal(cause);
  });

  it('guards recognise subclasses and reject other errors', () => {
    const error = new FrameTooLargeError('big', { offset: 0, size: 10, limit: 5 });
    expect(FrameTooLargeError.is(error)).to.equal(true);
    expect(ProtocolError.is(error)).to.equal(true);
    expect(ConnectionError.is(error)).to.equal(true);
    expect(LifelineError.is(error)).to.equal(true);
    expect(DialError.is(error)).to.equal(false);
    expect(SendBufferFullError.is(new Error('x'))).to.equal(false);
    expect(LifelineError.is(undefined)).to.equal(false);
  });

  it('guards recognise errors from another copy of the library by name', () => {
    // Simulates a second copy: a different class whose prototype chain carries the same names.
    class ForeignBase extends Error {}
    Object.defineProperty(ForeignBase.prototype, 'name', { value: 'ConnectionError' });
    class ForeignReset extends ForeignBase {}
    Object.defineProperty(ForeignReset.prototype, 'name', { value: 'ConnectionResetError' });
    const foreign = new ForeignReset('x');
    expect(ConnectionResetError.is(foreign)).to.equal(true);
    expect(ConnectionError.is(foreign)).to.equal(true);
    expect(DialError.is(foreign)).to.equal(false);
  });

  it('name a class on its first construction, stack included, and guard it before that', () => {
    // Classes no other test constructs: their prototypes are named by the first `new`.
    class FreshError extends ConnectionError {
      protected static override readonly named: string = 'FreshError';
    }
    class AppError extends FreshError {} // an application's subclass: no name of its own
    class ForeignFresh extends Error {}
    Object.defineProperty(ForeignFresh.prototype, 'name', { value: 'FreshError' });
    // The guard knows the name before any instance exists.
    expect(FreshError.is(new ForeignFresh('x'))).to.equal(true);
    expect(Object.hasOwn(FreshError.prototype, 'name')).to.equal(false);
    const error = new AppError('first', { phase: 'read' });
    expect(error.name).to.equal('FreshError');
    expect(error.stack?.split('\n')[0]).to.equal('FreshError: first');
    expect(Object.hasOwn(FreshError.prototype, 'name')).to.equal(true);
    expect(Object.hasOwn(AppError.prototype, 'name')).to.equal(false);
    expect(ConnectionError.is(error) && FreshError.is(error)).to.equal(true);
    // Not enumerable, and writable like Error.prototype.name.
    expect(Object.keys(error)).to.not.include('name');
    expect(Object.getOwnPropertyDescriptor(FreshError.prototype, 'name')).to.include({
      writable: true,
      enumerable: false,
    });
  });

  it('a dial error reports that nothing was sent', () => {
    const error = new DialError('refused', { code: 'ECONNREFUSED' });
    expect(error.phase).to.equal('dial');
    expect(error.write.lastFrame).to.equal('none');
  });
});

describe('PeerClosedError retry hints', () => {
  it('reads "retry in N ms" and "retry in N s" from the close reason', () => {
    expect(new PeerClosedError('x', { reason: 'overloaded, retry in 2500 ms' }).retryAfterMs).to.equal(2500);
    expect(new PeerClosedError('x', { reason: 'Retry in 3 s' }).retryAfterMs).to.equal(3000);
    expect(new PeerClosedError('x', { reason: 'retry in 1.5s' }).retryAfterMs).to.equal(1500);
    expect(new PeerClosedError('x', { reason: 'bye' }).retryAfterMs).to.equal(undefined);
    expect(new PeerClosedError('x', {}).retryAfterMs).to.equal(undefined);
  });

  it('a retry policy takes the hint as a floor on its next delay, above its maximum, up to maxHint', () => {
    const retry = policy.exponential({ initial: 100, max: 2000 });
    const hinted = new PeerClosedError('x', { code: 1013, reason: 'retry in 1500 ms' });
    const decision = retry.decide({ error: hinted, attempt: 1, firstFailureAt: 0, now: 0 });
    expect(decision.retry && decision.delay).to.equal(1500);
    const long = new PeerClosedError('x', { code: 1013, reason: 'retry in 60 s' });
    const honoured = retry.decide({ error: long, attempt: 1, firstFailureAt: 0, now: 0 });
    expect(honoured.retry && honoured.delay).to.equal(60_000);
    const capped = retry.maxHint(2000).decide({ error: long, attempt: 1, firstFailureAt: 0, now: 0 });
    expect(capped.retry && capped.delay).to.equal(2000);
  });
});

describe('HeartbeatTimeoutError', () => {
  it("carries its link's write report, or UNKNOWN_WRITE without a link", () => {
    const report = { lastFrame: 'whole', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft: 1 } as const;
    const link = { writeReport: () => report } as unknown as Link<unknown>;
    expect(new HeartbeatTimeoutError('silent', { silentFor: 5, link }).write).to.deep.equal(report);
    expect(new HeartbeatTimeoutError('silent', { silentFor: 5, link: undefined }).write).to.equal(
      UNKNOWN_WRITE,
    );
  });
});
