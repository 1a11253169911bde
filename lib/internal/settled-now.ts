/**
 * Thenables that are already settled and call back at once, inside `then`: a store in memory
 * answers through them, so its callers run in the same turn (and a test's virtual time drives
 * them) while a store on the network answers with real promises through the same code.
 * @internal
 */
export function settledNow<T>(value: T): PromiseLike<T> {
  return {
    then<A = T, B = never>(
      onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
      _onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
    ): PromiseLike<A | B> {
      if (!onFulfilled) return settledNow(value) as unknown as PromiseLike<A | B>;
      return follow(() => onFulfilled(value));
    },
  };
}

/** A thenable already rejected with `reason` (see {@link settledNow}). @internal */
export function failedNow<T = never>(reason: unknown): PromiseLike<T> {
  return {
    then<A = T, B = never>(
      _onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
      onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
    ): PromiseLike<A | B> {
      if (!onRejected) return failedNow(reason);
      return follow(() => onRejected(reason));
    },
  };
}

function follow<R>(callback: () => R | PromiseLike<R>): PromiseLike<R> {
  let result: R | PromiseLike<R>;
  try {
    result = callback();
  } catch (error) {
    return failedNow(error);
  }
  const thenable = result as { then?: unknown } | null;
  if (thenable !== null && typeof thenable === 'object' && typeof thenable.then === 'function') {
    return result as PromiseLike<R>;
  }
  return settledNow(result as R);
}
