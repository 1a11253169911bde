/**
 * The session run's scheduler: virtual time, like RxJS's `VirtualTimeScheduler`, with a binary heap
 * for its queue. RxJS's keeps its actions in an array that it sorts on every `schedule()`: fine for
 * a marble test, quadratic for a thousand clients whose links, heartbeats and senders each keep a
 * timer pending (it took most of the session run's time).
 * @internal
 * @packageDocumentation
 */
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/** One scheduled piece of work; rescheduling it from inside its work moves it, as RxJS's do. */
class VirtualClockAction<T> extends Subscription implements SchedulerAction<T> {
  /** Bumped on every schedule: a heap entry with an older generation is stale. */
  generation = 0;
  state: T | undefined;

  constructor(
    private readonly clock: VirtualClock,
    readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.clock.enqueue(this as VirtualClockAction<unknown>, delay);
    return this;
  }
}

/**
 * A scheduler in virtual time: `flush()` runs every action in time order (then in the order they
 * were scheduled) up to `maxTime`, moving `now()` to each action's time. Nothing reads a clock.
 * @internal
 * @example
 * ```ts
 * import { timer } from 'rxjs';
 * import { VirtualClock } from '../lab/src/virtual-clock.js';
 * const clock = new VirtualClock(60_000);
 * timer(30_000, clock).subscribe(() => console.log(clock.now())); // 30000
 * clock.flush();
 * ```
 */
export class VirtualClock implements SchedulerLike {
  private time = 0;
  private order = 0;
  /** The heap: parallel arrays of (time, order) keys, actions and their generation when pushed. */
  private times: number[] = [];
  private orders: number[] = [];
  private actions: VirtualClockAction<unknown>[] = [];
  private generations: number[] = [];

  constructor(private readonly maxTime = Infinity) {}

  now(): number {
    return this.time;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new VirtualClockAction<T>(this, work).schedule(state, delay);
  }

  /** @internal */
  enqueue(action: VirtualClockAction<unknown>, delay: number): void {
    const generation = ++action.generation;
    const time = this.time + Math.max(0, delay);
    const order = this.order++;
    const { times, orders, actions, generations } = this;
    let i = times.length;
    times.push(time);
    orders.push(order);
    actions.push(action);
    generations.push(generation);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! < time || (times[parent] === time && orders[parent]! < order)) break;
      this.move(parent, i);
      i = parent;
    }
    this.put(i, time, order, action, generation);
  }

  /** Runs every action due up to `maxTime`; an error thrown by one stops the run and is thrown. */
  flush(): void {
    while (this.times.length > 0 && this.times[0]! <= this.maxTime) {
      const time = this.times[0]!;
      const action = this.actions[0]!;
      const generation = this.generations[0]!;
      this.pop();
      if (action.closed || generation !== action.generation) continue;
      this.time = time;
      action.work.call(action, action.state);
    }
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.orders[to] = this.orders[from]!;
    this.actions[to] = this.actions[from]!;
    this.generations[to] = this.generations[from]!;
  }

  private put(i: number, time: number, order: number, action: VirtualClockAction<unknown>, gen: number) {
    this.times[i] = time;
    this.orders[i] = order;
    this.actions[i] = action;
    this.generations[i] = gen;
  }

  private pop(): void {
    const { times, orders, actions, generations } = this;
    const time = times.pop()!;
    const order = orders.pop()!;
    const action = actions.pop()!;
    const generation = generations.pop()!;
    const size = times.length;
    if (size === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      const right = child + 1;
      if (
        right < size &&
        (times[right]! < times[child]! || (times[right] === times[child] && orders[right]! < orders[child]!))
      ) {
        child = right;
      }
      if (times[child]! > time || (times[child] === time && orders[child]! > order)) break;
      this.move(child, i);
      i = child;
    }
    this.put(i, time, order, action, generation);
  }
}
