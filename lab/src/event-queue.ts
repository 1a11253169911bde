/**
 * A binary min-heap of simulation events, in typed arrays: ordered by time, then by the order they
 * were pushed, so that events at the same virtual instant run in a fixed order (determinism).
 * @internal
 * @packageDocumentation
 */

/**
 * The event queue of the lab's simulation: `push(time, kind, client, generation)`, then `pop()`
 * loads the earliest event into `time`, `kind`, `client` and `generation`.
 *
 * Each event lives in a slot of typed arrays; the heap orders slot numbers, so a sift moves one
 * integer rather than every field. Freed slots are reused.
 * @internal
 * @example
 * ```ts
 * import { EventQueue } from '../lab/src/event-queue.js';
 * const queue = new EventQueue();
 * queue.push(20, 1, 0, 0);
 * queue.push(10, 2, 7, 0);
 * queue.pop();
 * console.log(queue.time, queue.client); // 10 7
 * ```
 */
export class EventQueue {
  /** The popped event's virtual time. */
  time = 0;
  /** The popped event's kind (the simulation's own numbering). */
  kind = 0;
  /** The popped event's client, or another index the kind gives meaning to. */
  client = 0;
  /** The popped event's generation: stale when the client's state has moved on since the push. */
  generation = 0;
  /** How many events are waiting. */
  size = 0;

  private heap = new Int32Array(1024);
  private times = new Float64Array(1024);
  private orders = new Float64Array(1024);
  private kinds = new Uint8Array(1024);
  private clients = new Int32Array(1024);
  private generations = new Uint32Array(1024);
  private free = new Int32Array(1024);
  private freeCount = 0;
  private slotsUsed = 0;
  private pushed = 0;

  /** The earliest time waiting; Infinity when empty. */
  peekTime(): number {
    return this.size === 0 ? Infinity : this.times[this.heap[0]!]!;
  }

  push(time: number, kind: number, client: number, generation: number): void {
    let slot: number;
    if (this.freeCount > 0) slot = this.free[--this.freeCount]!;
    else {
      if (this.slotsUsed === this.times.length) this.grow();
      slot = this.slotsUsed++;
    }
    const order = this.pushed++;
    this.times[slot] = time;
    this.orders[slot] = order;
    this.kinds[slot] = kind;
    this.clients[slot] = client;
    this.generations[slot] = generation;

    const { heap, times, orders } = this;
    let i = this.size++;
    // Sift up: move parents down until the new event's place is found.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      const aboveTime = times[above]!;
      if (aboveTime < time || (aboveTime === time && orders[above]! < order)) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = slot;
  }

  /** Removes the earliest event into the public fields; false when the queue is empty. */
  pop(): boolean {
    if (this.size === 0) return false;
    const { heap, times, orders } = this;
    const top = heap[0]!;
    this.time = times[top]!;
    this.kind = this.kinds[top]!;
    this.client = this.clients[top]!;
    this.generation = this.generations[top]!;
    this.free[this.freeCount++] = top;

    const last = --this.size;
    if (last === 0) return true;
    const slot = heap[last]!;
    const time = times[slot]!;
    const order = orders[slot]!;
    let i = 0;
    // Sift down the last event from the root.
    for (;;) {
      const left = 2 * i + 1;
      if (left >= last) break;
      let child = left;
      let childSlot = heap[left]!;
      const right = left + 1;
      if (right < last) {
        const rightSlot = heap[right]!;
        const rt = times[rightSlot]!;
        const lt = times[childSlot]!;
        if (rt < lt || (rt === lt && orders[rightSlot]! < orders[childSlot]!)) {
          child = right;
          childSlot = rightSlot;
        }
      }
      const childTime = times[childSlot]!;
      if (childTime > time || (childTime === time && orders[childSlot]! > order)) break;
      heap[i] = childSlot;
      i = child;
    }
    heap[i] = slot;
    return true;
  }

  private grow(): void {
    const size = this.times.length * 2;
    const heap = new Int32Array(size);
    const times = new Float64Array(size);
    const orders = new Float64Array(size);
    const kinds = new Uint8Array(size);
    const clients = new Int32Array(size);
    const generations = new Uint32Array(size);
    const free = new Int32Array(size);
    heap.set(this.heap);
    times.set(this.times);
    orders.set(this.orders);
    kinds.set(this.kinds);
    clients.set(this.clients);
    generations.set(this.generations);
    free.set(this.free);
    this.heap = heap;
    this.times = times;
    this.orders = orders;
    this.kinds = kinds;
    this.clients = clients;
    this.generations = generations;
    this.free = free;
  }
}
