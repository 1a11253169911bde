import { expect } from 'chai';
import type { SchedulerLike } from 'rxjs';
import { DueTimer } from '../../lib/internal/due-timer.js';
import { newTestScheduler } from '../operators/support.js';
import { earlyTimers } from '../support/early-timers.js';

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
    // A double that runs every action at once on a frozen clock: the work is never "due" by it.
    let actions = 0;
    const frozen = {
      now: () => 0,
      schedule: (work: () => void) => {
        actions++;
        work();
        return { closed: true, unsubscribe: () => undefined };
      },
    } as unknown as SchedulerLike;
    const ran: number[] = [];
    new DueTimer(frozen).set(1_000, () => ran.push(1));
    expect({ ran, actions }).to.deep.equal({ ran: [1], actions: 1 });
  });
});
