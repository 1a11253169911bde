import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * One timer that runs its work once the scheduler's clock has reached a due time, never before.
 *
 * A scheduler's timer may fire before `scheduler.now()` reaches the time it was asked for: Node's
 * timers run on a monotonic, millisecond-rounded loop clock while `asyncScheduler.now()` reads
 * `Date.now()`, so a 10 ms timer can see 9 ms pass (see nodejs/node#26578), and any scheduler a
 * user supplies may do the same. Code that fires and then finds its deadline "not yet" must wait
 * again for the rest instead of dropping the work; this class does that in one place, for every
 * timer whose work depends on the clock having reached a time.
 *
 * A scheduler whose clock did not move at all between arming and firing does not keep time (a
 * test double that runs everything at once, say): waiting again would never end, so the work runs.
 * @internal
 */
export class DueTimer {
  #action: Subscription | undefined;
  /** Identifies the current arming: a stale or synchronous callback compares against it. */
  #token: object | undefined;
  #due = Infinity;
  #work: () => void = nothing;

  readonly #scheduler: SchedulerLike;

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
  }

  /** The time the work is due, or `Infinity` when nothing is armed. */
  get dueAt(): number {
    return this.#due;
  }

  /** Runs `work` once the clock reaches `at`, replacing whatever was armed. */
  set(at: number, work: () => void): void {
    this.cancel();
    this.#due = at;
    this.#work = work;
    this.#arm();
  }

  /** Like {@link set}, unless something is already armed for `at` or earlier: that stays. */
  setEarliest(at: number, work: () => void): void {
    if (this.#due <= at) return;
    this.set(at, work);
  }

  /** Runs `work` after `delay` milliseconds by the scheduler's clock, replacing what was armed. */
  setIn(delay: number, work: () => void): void {
    this.set(this.#scheduler.now() + delay, work);
  }

  cancel(): void {
    this.#action?.unsubscribe();
    this.#action = undefined;
    this.#token = undefined;
    this.#due = Infinity;
    // What the work holds (often its owner's state) is let go as soon as it can no longer run.
    this.#work = nothing;
  }

  #arm(): void {
    const token = {};
    this.#token = token;
    const armedAt = this.#scheduler.now();
    const action = this.#scheduler.schedule(
      () => this.#fire(token, armedAt),
      Math.max(0, this.#due - armedAt),
    );
    // A scheduler may run a due action inside schedule(): then it already fired (or re-armed).
    if (this.#token === token && !action.closed) this.#action = action;
  }

  #fire(token: object, armedAt: number): void {
    if (this.#token !== token) return;
    this.#action = undefined;
    this.#token = undefined;
    // Fired early: wait again for the rest, on the same clock that set the due time.
    const now = this.#scheduler.now();
    if (now < this.#due && now !== armedAt) return this.#arm();
    const work = this.#work;
    this.#due = Infinity;
    this.#work = nothing;
    work();
  }
}

function nothing(): void {}
