// Helpers shared by the policy specs.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import type { Backoff } from 'rx-lifeline';

/** The first `count` durations of `backoff`, following `next()`. */
export function durations(backoff: Backoff, count: number): number[] {
  const found: number[] = [];
  for (let b = backoff, i = 0; i < count; i++, b = b.next()) found.push(b.duration);
  return found;
}

/** Asserts the first durations of `backoff`, cockatiel style. */
export function expectDurations(backoff: Backoff, expected: readonly number[]): void {
  expect(durations(backoff, expected.length)).to.deep.equal(expected);
}

/**
 * A virtual clock: an RxJS VirtualTimeScheduler that `advance(ms)` moves forward by exactly `ms`,
 * running the actions (timers) that fall due on the way and no others.
 */
export function virtualClock(): { scheduler: VirtualTimeScheduler; advance(ms: number): void } {
  const scheduler = new VirtualTimeScheduler();
  return {
    scheduler,
    advance(ms: number): void {
      const target = scheduler.now() + ms;
      scheduler.schedule(() => undefined, ms); // lands the clock exactly on target
      scheduler.maxFrames = target;
      scheduler.flush();
      expect(scheduler.now()).to.equal(target);
    },
  };
}
