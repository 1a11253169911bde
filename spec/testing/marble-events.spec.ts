import { expect } from 'chai';
import { ConnectionResetError, DialError, type SessionEvent } from 'rx-lifeline';
import { marbleEvents, marbleValue, RecordingLink } from 'rx-lifeline/testing';
import { newTestScheduler } from './support.js';

const reset = new ConnectionResetError('reset', { phase: 'read', code: 'ECONNRESET' });

describe('marbleEvents', () => {
  it('shortens each kind of event', () => {
    const link = new RecordingLink();
    expect(marbleValue({ type: 'connected', link } as SessionEvent)).to.equal('c');
    expect(marbleValue({ type: 'frame', frame: 'hello' })).to.equal('hello');
    expect(marbleValue({ type: 'frame', frame: { n: [1, 2] } })).to.equal('{"n":[1,2]}');
    expect(marbleValue({ type: 'frame', frame: 7 })).to.equal('7');
    expect(marbleValue({ type: 'frame', frame: undefined })).to.equal('undefined');
    expect(marbleValue({ type: 'frame', frame: 10n })).to.equal('10');
    const dial = new DialError('refused', { code: 'ECONNREFUSED' });
    expect(
      marbleValue({ type: 'disconnected', error: dial, attempt: 2, delay: 400 } as SessionEvent),
    ).to.equal('d2:400:DialError');
    expect(
      marbleValue({ type: 'disconnected', error: 'boom', attempt: 1, delay: 0 } as SessionEvent),
    ).to.equal('d1:0:boom');
    expect(marbleValue({ type: 'heartbeat', rtt: 20, clockOffset: 0, at: 84 } as never)).to.equal('h20');
    expect(marbleValue({ type: 'replayed' })).to.equal('replayed');
  });

  it('never throws on a frame or an error that cannot be shown as text', () => {
    const hostile = Object.assign(Object.create(null) as object, {
      toJSON: () => {
        throw new Error('no');
      },
    });
    expect(marbleValue({ type: 'frame', frame: hostile })).to.equal('an object');
    const nameless = Object.create(null) as object;
    expect(
      marbleValue({ type: 'disconnected', error: nameless, attempt: 1, delay: 0 } as SessionEvent),
    ).to.equal('d1:0:an object');
  });

  it('maps a stream and lets its error and completion through unchanged', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const link = new RecordingLink();
      const events = cold<SessionEvent>('c-a-d-c|', {
        c: { type: 'connected', link },
        a: { type: 'frame', frame: 'a' },
        d: { type: 'disconnected', error: reset, attempt: 1, delay: 100 },
      });
      const values = { c: 'c', a: 'a', d: 'd1:100:ConnectionResetError' };
      expectObservable(marbleEvents(events)).toBe('c-a-d-c|', values);
      const failing = cold<SessionEvent>('c-#', { c: { type: 'connected', link } }, reset);
      expectObservable(marbleEvents(failing)).toBe('c-#', { c: 'c' }, reset);
      expectObservable(marbleEvents(cold<SessionEvent>('-'))).toBe('-');
    });
  });
});
