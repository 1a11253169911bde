import { expect } from 'chai';
import {
  ConnectionError,
  ConnectionResetError,
  DialError,
  FrameTooLargeError,
  LifelineError,
  PeerClosedError,
  ProtocolError,
  SendBufferFullError,
} from 'lifeline';

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

  it('a dial error reports that nothing was sent', () => {
    const error = new DialError('refused', { code: 'ECONNREFUSED' });
    expect(error.phase).to.equal('dial');
    expect(error.write.lastFrame).to.equal('none');
  });
});
