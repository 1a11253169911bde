import type { Observable, Observer, SubscriptionLike, TeardownLogic, Unsubscribable } from 'rxjs';

/** A finalizer as RxJS passes it to `add`: a function, or something to unsubscribe. */
type Finalizer = Unsubscribable | (() => void);

/** The phases of a {@link DirectSubscriber}: taking values, stopped, closed. */
const OPEN = 0;
const STOPPED = 1;
const CLOSED = 2;
type Phase = typeof OPEN | typeof STOPPED | typeof CLOSED;

/**
 * An observer that is its own subscription, for the per-connection layers: a server holds one
 * per layer per open connection, so it keeps the least it can.
 *
 * RxJS 7 subscribes an observer that also looks like a subscription (`next`, `error`, `complete`,
 * `closed`, `add`, `remove`, `unsubscribe`) as it is, like its own `Subscriber` (`isSubscriber` in
 * `Observable.ts`): no `SafeSubscriber` and `ConsumerObserver` around it, and the source's teardown
 * arrives through {@link add}, kept in one field, instead of in a finalizer array (which an
 * array's first push makes 17 slots long). That saves about 290 bytes per layer and connection.
 * An RxJS that wraps it after all still works: {@link subscribeTo} then keeps the subscription
 * `subscribe` returned.
 *
 * It keeps RxJS's subscriber contract: nothing is delivered after `error`, `complete` or
 * `unsubscribe`; `error` and `complete` run the teardowns after the handler, as RxJS does; a
 * teardown added once closed runs at once. A subscription added that closes by itself is dropped
 * when the list of extra teardowns reaches the next power of two, so a source that adds many (a
 * `mergeMap` before this layer) does not make it grow without bound. Unlike `SafeSubscriber` it does not
 * catch what its handlers throw: they must not throw.
 * @internal
 */
export abstract class DirectSubscriber<T> implements Observer<T>, SubscriptionLike {
  /**
   * `OPEN`, then `STOPPED` (set by `error` and `complete` before their handler runs:
   * nothing more is delivered), then `CLOSED` (unsubscribed). One field for both flags.
   */
  #phase: Phase = OPEN;
  /** The first teardown added, almost always the only one: the source's. */
  #finalizer: Finalizer | undefined;
  #more: Finalizer[] | undefined;

  get closed(): boolean {
    return this.#phase === CLOSED;
  }

  /** Subscribes this to `source`; its teardown runs when this unsubscribes. */
  protected subscribeTo(source: Observable<T>): void {
    const subscription = source.subscribe(this);
    // An RxJS that wrapped this observer returns its own subscriber: kept as the teardown.
    if ((subscription as unknown) !== this) this.add(subscription);
  }

  next(value: T): void {
    if (this.#phase === OPEN) this.onNext(value);
  }

  error(error: unknown): void {
    if (this.#phase !== OPEN) return;
    this.#phase = STOPPED;
    try {
      this.onError(error);
    } finally {
      this.unsubscribe();
    }
  }

  complete(): void {
    if (this.#phase !== OPEN) return;
    this.#phase = STOPPED;
    try {
      this.onComplete();
    } finally {
      this.unsubscribe();
    }
  }

  add(teardown: TeardownLogic): void {
    if (!teardown || teardown === this) return;
    if (this.closed) return finalize(teardown);
    if (this.#finalizer === undefined) {
      this.#finalizer = teardown;
      return;
    }
    const more = this.#more;
    // A literal of one: an array's first push would make it 17 slots long.
    if (more === undefined) {
      this.#more = [teardown];
      return;
    }
    more.push(teardown);
    // Swept at each power of two from 8: amortized O(1) per add, and no field for it.
    const length = more.length;
    if (length >= 8 && (length & (length - 1)) === 0) {
      this.#more = more.filter((f) => !(f as Partial<SubscriptionLike>).closed);
    }
  }

  remove(teardown: Exclude<TeardownLogic, void>): void {
    if (this.#finalizer === teardown) this.#finalizer = undefined;
    else if (this.#more) this.#more = this.#more.filter((f) => f !== teardown);
  }

  /** Ends this subscription: the handler of {@link onUnsubscribe} first, then every teardown. */
  unsubscribe(): void {
    if (this.#phase === CLOSED) return;
    this.#phase = CLOSED;
    const finalizer = this.#finalizer;
    const more = this.#more;
    this.#finalizer = undefined;
    this.#more = undefined;
    this.onUnsubscribe();
    // Every teardown runs, as RxJS runs them all; the first that threw is thrown after.
    let failed: { error: unknown } | undefined;
    for (const f of more ? [finalizer, ...more] : [finalizer]) {
      try {
        if (f !== undefined) finalize(f);
      } catch (error) {
        failed ??= { error };
      }
    }
    if (failed) throw failed.error;
  }

  protected abstract onNext(value: T): void;
  protected abstract onError(error: unknown): void;
  protected abstract onComplete(): void;
  /** Runs once, when this ends by any path, before the source's teardown. */
  protected onUnsubscribe(): void {}
}

function finalize(finalizer: Finalizer): void {
  if (typeof finalizer === 'function') finalizer();
  else finalizer.unsubscribe();
}
