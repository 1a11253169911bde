import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * Something a {@link TimerQueue} runs once the scheduler's clock reaches its due time. The queue
 * keeps its place in these fields, so an entry costs no object of its own.
 * @internal
 */
export interface TimerEntry {
  /** When it is due, by the scheduler's clock; `Infinity` while it is not queued. */
  due: number;
  /** Its index in the queue's heap; -1 while it is not queued, -2 while it is about to fire. */
  slot: number;
  /** Breaks ties between entries due at the same time: the one queued first runs first. */
  order: number;
  /** Runs once the clock reached `due`; it may queue the entry again. */
  fire(now: number): void;
}

/**
 * One scheduler action for many timers: a binary heap of entries by due time, with a single
 * action armed for the earliest (or earlier: see `#arm`). Thousands of connections each waiting on a timer then hold no
 * scheduler action (a Node `Timeout` and an `AsyncAction` apiece) of their own. Entries due at the
 * same time run in the order they were queued, as separate scheduler actions would. Nothing is
 * armed while the queue is empty, so a queue whose entries are all removed leaves no timer behind.
 *
 * Like {@link DueTimer}, it never runs an entry before the clock reached its due time: an action
 * that fires early (Node's timers may, see nodejs/node#26578) waits again for the rest.
 * @internal
 */
export class TimerQueue {
  readonly #heap: TimerEntry[] = [];
  #action: Subscription | undefined;
  /** The due time the action is armed for; `Infinity` when none is. */
  #armedFor = Infinity;
  #queued = 0;
  #running = false;
  /** Identifies the current arming: a stale or synchronous callback compares against it. */
  #generation = 0;

  readonly #scheduler: SchedulerLike;

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
  }

  /** Entries in the queue. */
  get size(): number {
    return this.#heap.length;
  }

  /** Queues `entry` to fire at `due`, or moves it there if it is queued already. */
  set(entry: TimerEntry, due: number): void {
    if (entry.slot >= 0) this.#take(entry.slot);
    else entry.slot = -1;
    entry.due = due;
    entry.order = this.#queued++;
    entry.slot = this.#heap.length;
    this.#heap.push(entry);
    this.#up(entry.slot);
    if (!this.#running) this.#arm();
  }

  /** Takes `entry` out of the queue, if it is in it; the action goes when nothing is left. */
  remove(entry: TimerEntry): void {
    if (entry.slot === -2) entry.slot = -1; // due in the batch firing now: it no longer fires
    if (entry.slot < 0) return;
    this.#take(entry.slot);
    if (!this.#running) this.#arm();
  }

  /**
   * Arms the action for the earliest entry, unless one is armed for that time or earlier: an early
   * action finds nothing due, and arms for the earliest then. So entries taken out first-due first
   * (requests answered in order, each before its deadline) arm the action once per firing, not
   * once per removal. An empty queue keeps no action.
   */
  #arm(): void {
    const first = this.#heap[0];
    const due = first === undefined ? Infinity : first.due;
    if (due === this.#armedFor || (first !== undefined && this.#armedFor < due)) return;
    this.#action?.unsubscribe();
    this.#action = undefined;
    this.#armedFor = due;
    if (first === undefined) return;
    const generation = ++this.#generation;
    const now = this.#scheduler.now();
    const action = this.#scheduler.schedule(() => this.#fire(generation, now), Math.max(0, due - now));
    // A scheduler may run a due action inside schedule(): then it already fired and re-armed.
    if (this.#generation === generation && !action.closed) this.#action = action;
  }

  /**
   * Runs every entry due by now, in order. The batch is taken out first, so an entry queued again
   * for now runs at the next action, not in a loop here; one removed meanwhile does not run.
   *
   * A scheduler whose clock did not move at all since `armedAt` does not keep time (a test double
   * that runs everything at once): waiting again would never end, so the entries the action was
   * armed for run, as {@link DueTimer}'s work does.
   */
  #fire(generation: number, armedAt: number): void {
    if (generation !== this.#generation) return;
    this.#generation++;
    this.#action = undefined;
    const armedFor = this.#armedFor;
    this.#armedFor = Infinity;
    const now = this.#scheduler.now();
    const reached = now === armedAt ? armedFor : now;
    const due: TimerEntry[] = [];
    for (let first = this.#heap[0]; first !== undefined && first.due <= reached; first = this.#heap[0]) {
      this.#take(0);
      first.slot = -2;
      due.push(first);
    }
    this.#running = true;
    try {
      for (const entry of due) {
        if (entry.slot !== -2) continue;
        entry.slot = -1;
        entry.fire(now);
      }
    } finally {
      this.#running = false;
      // An entry threw: the ones after it in the batch run at the next action.
      for (const entry of due) if (entry.slot === -2) this.set(entry, now);
      this.#arm();
    }
  }

  /** Removes the entry at `slot` and restores the heap. */
  #take(slot: number): void {
    const heap = this.#heap;
    const entry = heap[slot]!;
    const last = heap.pop()!;
    entry.slot = -1;
    entry.due = Infinity;
    if (last === entry) return;
    heap[slot] = last;
    last.slot = slot;
    this.#up(slot);
    this.#down(last.slot);
  }

  #up(slot: number): void {
    const heap = this.#heap;
    const entry = heap[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot]!;
      if (!earlier(entry, parent)) break;
      heap[slot] = parent;
      parent.slot = slot;
      slot = parentSlot;
    }
    heap[slot] = entry;
    entry.slot = slot;
  }

  #down(slot: number): void {
    const heap = this.#heap;
    const entry = heap[slot]!;
    for (;;) {
      let child = 2 * slot + 1;
      if (child >= heap.length) break;
      const right = child + 1;
      if (right < heap.length && earlier(heap[right]!, heap[child]!)) child = right;
      const next = heap[child]!;
      if (!earlier(next, entry)) break;
      heap[slot] = next;
      next.slot = slot;
      slot = child;
    }
    heap[slot] = entry;
    entry.slot = slot;
  }
}

function earlier(a: TimerEntry, b: TimerEntry): boolean {
  return a.due < b.due || (a.due === b.due && a.order < b.order);
}

const queues = new WeakMap<SchedulerLike, TimerQueue>();

/** The one {@link TimerQueue} of `scheduler`, shared by every user of that scheduler. @internal */
export function timerQueueOf(scheduler: SchedulerLike): TimerQueue {
  let queue = queues.get(scheduler);
  if (queue === undefined) {
    queue = new TimerQueue(scheduler);
    queues.set(scheduler, queue);
  }
  return queue;
}

/**
 * A one-off deadline on the scheduler's shared timer queue (no action of its own): `fire` runs
 * once `ms` have passed by `scheduler`, unless cancelled first. What bounds a wait on a store or
 * a journal (a write, a removal, an IndexedDB transaction).
 * @internal
 */
export class Deadline implements TimerEntry {
  due = Infinity;
  slot = -1;
  order = 0;
  readonly #timers: TimerQueue;

  constructor(
    scheduler: SchedulerLike,
    ms: number,
    readonly fire: () => void,
  ) {
    this.#timers = timerQueueOf(scheduler);
    this.#timers.set(this, scheduler.now() + ms);
  }

  cancel(): void {
    this.#timers.remove(this);
  }
}
