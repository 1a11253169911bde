import { expect } from 'chai';
import type { SchedulerLike } from 'rxjs';
import { TimerQueue, timerQueueOf, type TimerEntry } from '../../lib/internal/timer-queue.js';
import { newTestScheduler } from '../operators/support.js';
import { earlyTimers, frozenScheduler } from '../support/early-timers.js';

/** An entry that logs `name@time` each time it fires, and runs `then` after. */
function entry(log: string[], name: string, then?: (now: number) => void): TimerEntry {
  return {
    due: Infinity,
    slot: -1,
    order: 0,
    fire: (now) => {
      log.push(`${name}@${now}`);
      then?.(now);
    },
  };
}

/** The scheduler's actions still queued (TestScheduler keeps them in `actions`). */
const pending = (scheduler: SchedulerLike) => (scheduler as unknown as { actions: unknown[] }).actions.length;

describe('TimerQueue', () => {
  it('fires entries by due time, ties in the order they were queued, from one scheduler action', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const queue = new TimerQueue(testScheduler);
      queue.set(entry(log, 'c'), 30);
      queue.set(entry(log, 'a'), 10);
      queue.set(entry(log, 'b1'), 20);
      queue.set(entry(log, 'b2'), 20);
      queue.set(entry(log, 'd'), 40);
      expect(queue.size).to.equal(5);
      expect(pending(testScheduler)).to.equal(1);
    });
    expect(log).to.deep.equal(['a@10', 'b1@20', 'b2@20', 'c@30', 'd@40']);
  });

  it('moves an entry set again, and a removed entry never fires; an empty queue holds no action', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const queue = new TimerQueue(testScheduler);
      const a = entry(log, 'a');
      const b = entry(log, 'b');
      queue.set(a, 10);
      queue.set(b, 20);
      queue.set(a, 30); // moved after b
      queue.remove(b);
      queue.remove(b); // twice is harmless
      expect(queue.size).to.equal(1);
      queue.remove(a);
      expect(queue.size).to.equal(0);
      expect(pending(testScheduler)).to.equal(0);
      queue.set(a, 50);
    });
    expect(log).to.deep.equal(['a@50']);
  });

  it('entries removed earliest first keep the armed action: it fires once, finds nothing due, arms again', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    const armedAt: number[] = [];
    // The scheduler's schedule calls, counted: each is an action (a Node timer) armed.
    const counting = {
      now: () => testScheduler.now(),
      schedule: (work: () => void, delay?: number) => (
        armedAt.push(testScheduler.now()),
        testScheduler.schedule(work, delay)
      ),
    } as SchedulerLike;
    testScheduler.run(() => {
      const queue = new TimerQueue(counting);
      // A hundred requests' deadlines, answered in order before any is due.
      const entries = Array.from({ length: 100 }, (_, i) => entry(log, `r${i}`));
      entries.forEach((e, i) => queue.set(e, 100 + i));
      entries.slice(0, 99).forEach((e) => queue.remove(e));
      expect(pending(testScheduler)).to.equal(1);
    });
    expect(log).to.deep.equal(['r99@199']);
    expect(armedAt).to.deep.equal([0, 100]);
  });

  it('an entry may queue itself again from fire, and one removed by an entry of its batch does not fire', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const queue = new TimerQueue(testScheduler);
      let rounds = 0;
      const victim = entry(log, 'victim');
      const ticker: TimerEntry = entry(log, 'tick', (now) => {
        if (++rounds < 3) queue.set(ticker, now + 5);
        queue.remove(victim);
      });
      queue.set(ticker, 10);
      queue.set(victim, 10);
    });
    expect(log).to.deep.equal(['tick@10', 'tick@15', 'tick@20']);
  });

  it('never fires an entry early, though the timer fires early', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const queue = new TimerQueue(earlyTimers(testScheduler, 3));
      queue.set(entry(log, 'a'), 10);
      queue.set(entry(log, 'b'), 25);
    });
    expect(log).to.deep.equal(['a@10', 'b@25']);
  });

  it('runs what it was armed for when the scheduler does not keep time, instead of waiting forever', () => {
    const frozen = frozenScheduler();
    const log: string[] = [];
    const queue = new TimerQueue(frozen.scheduler);
    queue.set(entry(log, 'a'), 1_000);
    queue.set(entry(log, 'b'), 2_000);
    expect({ log, actions: frozen.actions(), size: queue.size }).to.deep.equal({
      log: ['a@0', 'b@0'],
      actions: 2,
      size: 0,
    });
  });

  it('with a scheduler that does not keep time, each action runs only the entries it was armed for', () => {
    const frozen = frozenScheduler();
    const log: string[] = [];
    const queue = new TimerQueue(frozen.scheduler);
    // While a runs, b and c are queued for later: one action for b, then one for c.
    queue.set(
      entry(log, 'a', () => {
        queue.set(entry(log, 'b'), 2_000);
        queue.set(entry(log, 'c'), 3_000);
      }),
      1_000,
    );
    expect({ log, actions: frozen.actions(), size: queue.size }).to.deep.equal({
      log: ['a@0', 'b@0', 'c@0'],
      actions: 3,
      size: 0,
    });
  });

  it('an entry that throws does not lose the rest of its batch', () => {
    // A scheduler run by hand: the throw reaches this test instead of ending a TestScheduler flush.
    let clock = 0;
    const actions: { at: number; work: () => void; closed: boolean }[] = [];
    const manual = {
      now: () => clock,
      schedule(work: () => void, delay = 0) {
        const action = { at: clock + delay, work, closed: false, unsubscribe: () => (action.closed = true) };
        actions.push(action);
        return action;
      },
    } as unknown as SchedulerLike;
    const runNext = () => {
      const action = actions.filter((a) => !a.closed).sort((x, y) => x.at - y.at)[0]!;
      action.closed = true;
      clock = action.at;
      action.work();
    };
    const log: string[] = [];
    const queue = new TimerQueue(manual);
    const boom = entry(log, 'a', () => {
      throw new Error('boom');
    });
    queue.set(boom, 10);
    queue.set(entry(log, 'b'), 10);
    expect(runNext).to.throw('boom');
    runNext();
    expect(log).to.deep.equal(['a@10', 'b@10']);
    expect(queue.size).to.equal(0);
  });

  it('timerQueueOf gives one queue per scheduler', () => {
    const one = newTestScheduler();
    const two = newTestScheduler();
    expect(timerQueueOf(one)).to.equal(timerQueueOf(one));
    expect(timerQueueOf(one)).to.not.equal(timerQueueOf(two));
  });
});
