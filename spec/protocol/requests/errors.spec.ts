import { expect } from 'chai';
import {
  AmbiguousOutcomeError,
  PendingRequestsFullError,
  RemoteError,
  RequestBodyOverflowError,
  RequestBodyUnsupportedError,
  RequestCancelledError,
  RequestTimeoutError,
  SendQueueFullError,
  UNKNOWN_WRITE,
} from 'rx-lifeline';

/** An error's own enumerable fields, as a plain object. */
function fields(error: Error): Record<string, unknown> {
  return { ...error };
}

describe('the requests layer’s errors', () => {
  it('carry the options they were made with as their fields, and nothing else', () => {
    const cases: [Error, Record<string, unknown>][] = [
      [
        new AmbiguousOutcomeError('m', {
          id: 7,
          confirmed: true,
          valuesReceived: 2,
          write: UNKNOWN_WRITE,
          cause: 'c',
        }),
        { id: 7, confirmed: true, valuesReceived: 2, write: UNKNOWN_WRITE },
      ],
      [new RequestTimeoutError('m', { id: 3, timeout: 50 }), { id: 3, timeout: 50 }],
      [new RequestCancelledError('m', { reason: 'failed', cause: 'c' }), { reason: 'failed' }],
      [new PendingRequestsFullError('m', { limit: 10 }), { limit: 10 }],
      [new SendQueueFullError('m', { limit: 99, unit: 'bytes' }), { limit: 99, unit: 'bytes' }],
      [new RemoteError('m', { id: 4, remoteName: 'NotFound' }), { id: 4, remoteName: 'NotFound' }],
      [new RequestBodyUnsupportedError('m', { version: 1, needs: 2 }), { version: 1, needs: 2 }],
      [
        new RequestBodyOverflowError('m', { id: 5, limit: 3, unit: 'chunks' }),
        { id: 5, limit: 3, unit: 'chunks' },
      ],
    ];
    for (const [error, expected] of cases) {
      expect(fields(error), error.name).to.deep.equal(expected);
      expect(error.message).to.equal('m');
    }
  });

  it('keep a cause as Error does: an own property, not enumerable, there even when undefined', () => {
    const ambiguous = new AmbiguousOutcomeError('m', {
      id: 1,
      confirmed: false,
      valuesReceived: 0,
      write: UNKNOWN_WRITE,
      cause: 'c',
    });
    const cancelled = new RequestCancelledError('m', { reason: 'closed' });
    for (const [error, cause] of [
      [ambiguous, 'c'],
      [cancelled, undefined],
    ] as const) {
      expect(Object.getOwnPropertyDescriptor(error, 'cause'), error.name).to.deep.equal({
        value: cause,
        writable: true,
        enumerable: false,
        configurable: true,
      });
    }
  });

  it('a SendQueueFullError without a unit is about frames', () => {
    expect(new SendQueueFullError('m', { limit: 2 }).unit).to.equal('frames');
  });
});
