import { expect } from 'chai';
import { ProtocolError } from '../../lib/core/errors.js';
import { asLayerError } from '../../lib/internal/peer-input.js';

describe('asLayerError', () => {
  it('keeps a lifeline error as it is', () => {
    const error = new ProtocolError('bad', { offset: 3 });
    expect(asLayerError('heartbeat', error, undefined)).to.equal(error);
  });

  it('turns anything else into a ProtocolError that quotes it and keeps it as the cause', () => {
    const bug = new TypeError('frame.map is not a function');
    const error = asLayerError('heartbeat', bug, undefined);
    expect(error).to.be.instanceOf(ProtocolError);
    expect((error as ProtocolError).message).to.equal(
      'heartbeat: could not handle a frame (TypeError: frame.map is not a function)',
    );
    expect((error as ProtocolError).cause).to.equal(bug);
    expect((error as ProtocolError).offset).to.equal(-1);
  });

  it('describes an error whose getters throw as a value, without throwing', () => {
    const hostile = new Proxy(new Error('x'), {
      get() {
        throw new Error('no');
      },
      has() {
        throw new Error('no');
      },
    });
    const error = asLayerError('requests', hostile, undefined) as ProtocolError;
    expect(error.message).to.match(/^requests: could not handle a frame \(/);
  });
});
