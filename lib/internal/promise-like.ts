import { describeValue } from './describe-value.js';
import { failedNow } from './settled-now.js';

/**
 * True for a value with a callable `then`: a Promise, or any thenable a user's callback returns.
 * @internal
 */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * `thenable.then(onFulfilled, onRejected)` for a thenable a user's function answered: a `then` that
 * throws (a hand-written thenable) counts as a rejection with what it threw, so that nothing escapes
 * to the caller (an RxJS callback, a timer) and nothing waits for an answer that never comes.
 * @internal
 */
export function thenOrFail<T>(
  thenable: PromiseLike<T>,
  onFulfilled: (value: T) => void,
  onRejected: (error: unknown) => void,
): void {
  try {
    thenable.then(onFulfilled, onRejected);
  } catch (error) {
    onRejected(error);
  }
}

/**
 * Calls `call`, a method of a user's object that must answer a promise (a session store's), and
 * hands back a thenable whatever it did: a synchronous throw becomes a rejection with what it
 * threw, and an answer without a callable `then` a rejection with a TypeError that names `what`
 * (a caller's `then` then handles every failure, instead of it escaping from a timer or an RxJS
 * callback). A rejection for those two is at once, as {@link failedNow}'s are.
 * @internal
 */
export function askPromise<T>(what: string, call: () => PromiseLike<T>): PromiseLike<T> {
  let answer: unknown;
  try {
    answer = call();
  } catch (error) {
    return failedNow(error);
  }
  if (isPromiseLike(answer)) return answer as PromiseLike<T>;
  return failedNow(new TypeError(`${what} must return a promise, it returned ${describeValue(answer)}`));
}
