/**
 * A doubly linked list whose nodes the caller keeps, so removing any node is O(1): the pool's idle
 * connections, oldest at the head. Seed 002's proxy rebuilt a whole map to find its oldest idle
 * connection; here the oldest is the head and the newest the tail.
 * @internal
 * @packageDocumentation
 */

/** @internal */
export interface ListNode<T> {
  readonly value: T;
  prev: ListNode<T> | undefined;
  next: ListNode<T> | undefined;
  /** The list the node is in, or `undefined` once removed. */
  list: IdleList<T> | undefined;
}

/** @internal */
export class IdleList<T> {
  private first: ListNode<T> | undefined;
  private last: ListNode<T> | undefined;
  size = 0;

  /** Appends `value` as the newest entry and returns its node. */
  push(value: T): ListNode<T> {
    const node: ListNode<T> = { value, prev: this.last, next: undefined, list: this };
    if (this.last) this.last.next = node;
    else this.first = node;
    this.last = node;
    this.size++;
    return node;
  }

  /** Removes `node` if it is still in this list. */
  remove(node: ListNode<T>): void {
    if (node.list !== this) return;
    if (node.prev) node.prev.next = node.next;
    else this.first = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.last = node.prev;
    node.prev = node.next = node.list = undefined;
    this.size--;
  }

  /** The oldest entry. */
  oldest(): T | undefined {
    return this.first?.value;
  }

  /** The newest entry. */
  newest(): T | undefined {
    return this.last?.value;
  }
}
