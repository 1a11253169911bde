import type { SchedulerLike } from 'rxjs';

/**
 * `inner`, except that a timer longer than `early` ms fires `early` ms before it is due by
 * `now()`, as real timers may (Node's loop clock rounds to the millisecond while `Date.now()` does
 * not: nodejs/node#26578). A timer of `early` ms or less fires on time, so time always moves.
 */
export function earlyTimers(inner: SchedulerLike, early: number): SchedulerLike {
  return {
    now: () => inner.now(),
    schedule: (work, delay = 0, state) =>
      inner.schedule(work as never, delay > early ? delay - early : delay, state),
  } as SchedulerLike;
}

/**
 * A scheduler that does not keep time: every action runs at once, on a clock frozen at 0, so nothing
 * is ever due by it. `actions()` says how many were scheduled.
 */
export function frozenScheduler(): { scheduler: SchedulerLike; actions: () => number } {
  let actions = 0;
  const scheduler = {
    now: () => 0,
    schedule: (work: () => void) => {
      actions++;
      work();
      return { closed: true, unsubscribe: () => undefined };
    },
  } as unknown as SchedulerLike;
  return { scheduler, actions: () => actions };
}
