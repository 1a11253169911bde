import { expect } from 'chai';
import { ProtocolError } from '../../lib/core/errors.js';
import type { Link } from '../../lib/core/transport.js';
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

  it("carries what the connection's link knows of its writes", () => {
    const report = { lastFrame: 'whole', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft: 2 } as const;
    const link = { writeReport: () => report } as unknown as Link<unknown>;
    const error = asLayerError('heartbeat', new Error('x'), link) as ProtocolError;
    expect(error.write).to.deep.equal(report);
  });
});
