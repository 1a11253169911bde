import { expect } from 'chai';
import { DueTimer } from '../../lib/internal/due-timer.js';
import { newTestScheduler } from '../operators/support.js';
import { earlyTimers, frozenScheduler } from '../support/early-timers.js';

describe('DueTimer', () => {
  it('runs its work when the clock reaches the due time, though the timer fires early', () => {
    const testScheduler = newTestScheduler();
    const ran: number[] = [];
    testScheduler.run(() => {
      const timer = new DueTimer(earlyTimers(testScheduler, 3));
      timer.set(10, () => ran.push(testScheduler.now()));
    });
    // The 10 ms timer fires at 7, waits 3 more (fires on time: not longer than 3), runs at 10.
    expect(ran).to.deep.equal([10]);
  });

  it('setEarliest keeps an earlier time; set replaces; cancel drops the work', () => {
    const testScheduler = newTestScheduler();
    const ran: string[] = [];
    testScheduler.run(() => {
      const timer = new DueTimer(testScheduler);
      timer.set(20, () => ran.push(`a@${testScheduler.now()}`));
      timer.setEarliest(30, () => ran.push('never'));
      expect(timer.dueAt).to.equal(20);
      timer.setEarliest(5, () => ran.push(`b@${testScheduler.now()}`));
      testScheduler.schedule(() => {
        timer.set(15, () => ran.push('cancelled'));
        timer.cancel();
        expect(timer.dueAt).to.equal(Infinity);
      }, 10);
    });
    expect(ran).to.deep.equal(['b@5']);
  });

  it('runs the work when the scheduler does not keep time, instead of waiting forever', () => {
    const frozen = frozenScheduler();
    const ran: number[] = [];
    new DueTimer(frozen.scheduler).set(1_000, () => ran.push(1));
    expect({ ran, actions: frozen.actions() }).to.deep.equal({ ran: [1], actions: 1 });
  });
});
