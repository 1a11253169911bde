/**
 * A first-in first-out queue with O(1) push and amortised O(1) shift: removed slots are skipped by
 * a head index and compacted away once they make up half the array.
 * @internal
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Every item, oldest first, left in place. */
  toArray(): T[] {
    return this.#items.slice(this.#head) as T[];
  }

  /** Removes every item and returns them, oldest first. */
  drain(): T[] {
    const out = this.#items.slice(this.#head) as T[];
    this.clear();
    return out;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
