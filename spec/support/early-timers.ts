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
