import { expect } from 'chai';
import { LinkClosedError } from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';
import { newTestScheduler } from './support.js';

describe('RecordingLink', () => {
  it('records each frame with the virtual time of its send, and shows the sends as a diagram', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const link = new RecordingLink<string>();
      cold('--a 5ms b-|').subscribe({ next: (frame) => link.send(frame), complete: () => link.close('bye') });
      expectObservable(link.sent$).toBe('--a 5ms b-|');
      testScheduler.schedule(() => {
        expect(link.sent).to.deep.equal(['a', 'b']);
        expect(link.sends).to.deep.equal([
          { frame: 'a', time: 2 },
          { frame: 'b', time: 8 },
        ]);
        expect(link.closeReason).to.equal('bye');
        expect(link.closed && link.closeRequested).to.equal(true);
      }, 20);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('stamps sends with the scheduler it is given', () => {
    const testScheduler = newTestScheduler();
    const link = new RecordingLink<number>({ scheduler: testScheduler });
    testScheduler.schedule(() => link.send(1), 30);
    testScheduler.flush();
    expect(link.sends).to.deep.equal([{ frame: 1, time: 30 }]);
  });

  it('close() calls onClose once, completes sent$, and later sends throw LinkClosedError', () => {
    const reasons: (string | undefined)[] = [];
    const link = new RecordingLink<string>({ onClose: (reason) => reasons.push(reason) });
    let completed = false;
    link.sent$.subscribe({ complete: () => (completed = true) });
    link.close('one');
    link.close('two');
    expect(reasons).to.deep.equal(['one']);
    expect(completed).to.equal(true);
    expect(() => link.send('late')).to.throw(LinkClosedError);
  });

  it('end() closes it without a close request, as a peer or a network would', () => {
    const link = new RecordingLink<string>();
    link.end();
    expect(link.closed).to.equal(true);
    expect(link.closeRequested).to.equal(false);
    expect(() => link.send('late')).to.throw(LinkClosedError);
  });

  it('reports nothing sent, then every send written whole; never buffers', () => {
    const link = new RecordingLink<string>();
    expect(link.writeReport()).to.deep.include({ lastFrame: 'none', framesLeft: 0 });
    expect(link.framesSent).to.equal(0);
    expect(link.send('a')).to.equal(true);
    expect(link.framesSent).to.equal(1);
    expect(link.writeReport()).to.deep.equal({
      lastFrame: 'whole',
      unconfirmedFrames: 0,
      unconfirmedBytes: 0,
      framesLeft: 1,
    });
    expect(link.bufferedBytes).to.equal(0);
    expect(link.info.transport).to.equal('recording');
  });
});
