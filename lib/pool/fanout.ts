import { describeError } from '../internal/describe-value.js';
import {
  EmptyError,
  from,
  Observable,
  Subscription,
  type ObservableInput,
  type Observer,
  type Subscriber,
} from 'rxjs';
import { LifelineError } from '../core/errors.js';
import type { BreakerPermit } from '../policies/circuit-breaker.js';
import { CircuitOpenError } from '../policies/errors.js';
import { settleFailure } from '../policies/permit.js';
import { checkFunction, checkKnownOptions, describe, type KnownOptions } from '../internal/validate.js';
import { checkEndpoints, EndpointSet, type Endpoint } from './endpoint-set.js';

/**
 * How a {@link fanout} went: every endpoint answered, some failed (the operation failed as a whole,
 * and the result says where it did succeed, like git-annex's FAILURE-PLUS for a cluster), or all
 * failed.
 *
 * @example
 * ```ts
 * import type { FanoutStatus } from 'rx-lifeline';
 * const done = (status: FanoutStatus) => status === 'all-succeeded';
 * ```
 * @category Pools
 */
export type FanoutStatus = 'all-succeeded' | 'some-failed' | 'all-failed';

/**
 * The combined answers of a {@link fanout}: one entry per endpoint that was asked, in `ok` or in
 * `failed`, each list in the order the endpoints settled. `failed[0]` is the first error to occur.
 *
 * @typeParam R - the value each endpoint answers with.
 * @example
 * ```ts
 * import type { FanoutResult } from 'rx-lifeline';
 * const summary = (r: FanoutResult<unknown>) =>
 *   `${r.status}: stored on ${r.ok.map((o) => o.id).join(', ') || 'none'}`;
 * ```
 * @category Pools
 */
export interface FanoutResult<R> {
  /** Whether every endpoint, some, or none succeeded. An empty selection is `'all-succeeded'`. */
  readonly status: FanoutStatus;
  /** The endpoints that completed, with the last value each emitted. */
  readonly ok: readonly { readonly id: string; readonly value: R }[];
  /** The endpoints that failed, with their error; a breaker's refusal is a {@link CircuitOpenError}. */
  readonly failed: readonly { readonly id: string; readonly error: unknown }[];
}

/**
 * A {@link fanout} failed: on every endpoint, or — with `failWhen: 'any-failed'` — on at least one.
 * `result` holds every endpoint's outcome, none lost; `cause` is the first error to occur, which the
 * message quotes (of several errors, show the first; fix it and the next one shows).
 *
 * @example
 * ```ts
 * import { FanoutError } from 'rx-lifeline';
 * const failedOn = (e: unknown) => (FanoutError.is(e) ? e.result.failed.map((f) => f.id) : []);
 * ```
 * @category Pools
 */
export class FanoutError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'FanoutError';

  /** The outcome on every endpoint that was asked. */
  readonly result: FanoutResult<unknown>;

  constructor(message: string, options: { result: FanoutResult<unknown>; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.result = options.result;
  }
}

/**
 * Options of {@link fanout}.
 *
 * @typeParam T - what the caller keeps per endpoint.
 * @example
 * ```ts
 * import type { FanoutOptions } from 'rx-lifeline';
 * const holders = new Set(['node1', 'node3']);
 * const options: FanoutOptions<string> = { select: (e) => holders.has(e.id), failWhen: 'any-failed' };
 * ```
 * @category Pools
 */
export interface FanoutOptions<T> {
  /**
   * Which endpoints to ask (those that should hold the data, say). Endpoints it rejects are not
   * asked and appear nowhere in the result. When it selects none, the result is empty and
   * `'all-succeeded'`.
   * @default every endpoint
   */
  select?: ((endpoint: Endpoint<T>) => boolean) | undefined;
  /**
   * When the fanout errors with {@link FanoutError} instead of emitting its result: `'all-failed'`
   * only when no endpoint succeeded; `'any-failed'` as soon as the combined outcome is not
   * `'all-succeeded'` (for an operation that must succeed everywhere, like dropping content from every node
   * of a cluster). Either way the error carries the whole result; it never errors before every endpoint
   * has settled.
   * @default 'all-failed'
   */
  failWhen?: 'all-failed' | 'any-failed' | undefined;
}

const OPTIONS: KnownOptions<FanoutOptions<unknown>> = { select: true, failWhen: true };

/**
 * Runs `fn` on every endpoint (or every selected one) at once and combines the answers into one
 * {@link FanoutResult}: which endpoints succeeded with what value, which failed with what error,
 * and a {@link FanoutStatus}. It emits that result once and completes when every endpoint has
 * completed or failed; when all failed (or, with `failWhen: 'any-failed'`, any), it errors with a
 * {@link FanoutError} that holds the same result and the first error as `cause`. No error is lost:
 * each endpoint's outcome is in the result.
 *
 * An endpoint's value is the last value `fn` emitted for it; one that completes without a value
 * fails with RxJS's `EmptyError` (pipe `defaultIfEmpty` into `fn` for an operation with no answer).
 *
 * Given an {@link EndpointSet}, each endpoint's circuit breaker is asked first: an endpoint it
 * refuses is not run and fails with the {@link CircuitOpenError}; outcomes are reported to the
 * breakers as {@link EndpointSet.use} does (first value or completion: success; a transient failure
 * before any value: failure; anything else: released). Given a plain array, no breaker is involved.
 *
 * Unsubscribing unsubscribes every branch still running and releases their permits. It does not
 * fail over, retry, time out a branch (pipe `timeout` into `fn`: a branch that never settles keeps
 * the result waiting), or limit concurrency: every selected endpoint runs at once.
 *
 * @typeParam T - what the caller keeps per endpoint. @typeParam R - each endpoint's answer.
 * @example
 * ```ts
 * import { fanout, FanoutError, http } from 'rx-lifeline';
 * const nodes = [
 *   { id: 'node1', cost: 100, value: 'http://127.0.0.1:8081' },
 *   { id: 'node2', cost: 100, value: 'http://127.0.0.1:8082' },
 * ];
 * fanout(nodes, (node) => http({ url: `${node.value}/keys/42`, method: 'DELETE' })).subscribe({
 *   next: (result) => {
 *     if (result.status === 'some-failed') console.warn(`drop failed on ${result.failed[0]!.id}`);
 *   },
 *   error: (error) => console.error(FanoutError.is(error) ? error.message : error),
 * });
 * ```
 * @category Pools
 */
export function fanout<T, R>(
  endpoints: EndpointSet<T> | readonly Endpoint<T>[],
  fn: (endpoint: Endpoint<T>) => ObservableInput<R>,
  options: FanoutOptions<T> = {},
): Observable<FanoutResult<R>> {
  const where = 'fanout';
  const set = endpoints instanceof EndpointSet ? endpoints : undefined;
  const all = set ? set.endpoints : checkEndpoints<T>(where, endpoints);
  checkFunction(where, 'fn', fn);
  checkKnownOptions(where, options, OPTIONS);
  const { select = () => true, failWhen = 'all-failed' } = options;
  checkFunction(where, 'select', select);
  if (failWhen !== 'all-failed' && failWhen !== 'any-failed') {
    throw new TypeError(`${where}: failWhen must be 'all-failed' or 'any-failed', got ${describe(failWhen)}`);
  }

  const settings: FanoutSettings<T, R> = { set, fn, failWhen };
  return new Observable<FanoutResult<R>>((subscriber) =>
    new FanoutRun<T, R>(subscriber, settings).start(all.filter((endpoint) => select(endpoint))),
  );
}

/** What one {@link fanout} runs with: its endpoints' set (if given), the operation, when it fails. */
interface FanoutSettings<T, R> {
  readonly set: EndpointSet<T> | undefined;
  readonly fn: (endpoint: Endpoint<T>) => ObservableInput<R>;
  readonly failWhen: 'all-failed' | 'any-failed';
}

/** One subscription of {@link fanout}: its branches, the answers so far, and the result. */
class FanoutRun<T, R> {
  readonly ok: { id: string; value: R }[] = [];
  readonly failed: { id: string; error: unknown }[] = [];
  /** Every branch still running, torn down with the subscription. */
  readonly branches = new Subscription();
  readonly subscriber: Subscriber<FanoutResult<R>>;
  readonly settings: FanoutSettings<T, R>;
  #chosen = 0;
  #pending = 0;

  constructor(subscriber: Subscriber<FanoutResult<R>>, settings: FanoutSettings<T, R>) {
    this.subscriber = subscriber;
    this.settings = settings;
    // Added before any branch starts, so that an exception while starting them still tears all down.
    subscriber.add(this.branches);
  }

  /** Runs the operation on every chosen endpoint at once. */
  start(chosen: readonly Endpoint<T>[]): void {
    this.#chosen = chosen.length;
    this.#pending = chosen.length;
    if (chosen.length === 0) return this.#finish();
    for (const endpoint of chosen) {
      if (this.subscriber.closed) break;
      this.#run(endpoint);
    }
  }

  /** One endpoint is done, one way or the other: the result goes out after the last. */
  settled(): void {
    if (--this.#pending === 0) this.#finish();
  }

  #run(endpoint: Endpoint<T>): void {
    const { set, fn } = this.settings;
    let permit: BreakerPermit | undefined;
    if (set) {
      try {
        permit = set.breakerOf(endpoint.id).admit();
      } catch (error) {
        if (!CircuitOpenError.is(error)) throw error;
        this.failed.push({ id: endpoint.id, error });
        return this.settled();
      }
    }
    const branch = new FanoutBranch<T, R>(endpoint.id, permit, this);
    let source: Observable<R>;
    try {
      source = from(fn(endpoint));
    } catch (error) {
      return branch.error(error);
    }
    branch.listen(source);
  }

  #finish(): void {
    const { ok, failed, subscriber } = this;
    const status: FanoutStatus =
      failed.length === 0 ? 'all-succeeded' : ok.length === 0 ? 'all-failed' : 'some-failed';
    const result: FanoutResult<R> = Object.freeze({
      status,
      ok: Object.freeze(ok),
      failed: Object.freeze(failed),
    });
    if (status === 'all-failed' || (status === 'some-failed' && this.settings.failWhen === 'any-failed')) {
      const first = failed[0]!;
      const message =
        `Fanout failed on ${failed.length} of ${this.#chosen} endpoints; ` +
        `the first error, from ${JSON.stringify(first.id)}: ${describeError(first.error)}`;
      return subscriber.error(new FanoutError(message, { result, cause: first.error }));
    }
    subscriber.next(result);
    subscriber.complete();
  }
}

/**
 * One endpoint's branch of a fanout: the operation's last value, and what the endpoint's breaker
 * is told (first value or completion: success; a transient failure before any value: failure;
 * anything else: released).
 */
class FanoutBranch<T, R> implements Observer<R> {
  readonly #subscription: Subscription;
  #emitted = false;
  #last: R | undefined;

  constructor(
    readonly id: string,
    private readonly permit: BreakerPermit | undefined,
    private readonly run: FanoutRun<T, R>,
  ) {
    this.#subscription = new Subscription(() => this.permit?.release());
    run.branches.add(this.#subscription);
  }

  listen(source: Observable<R>): void {
    this.#subscription.add(source.subscribe(this));
  }

  next(value: R): void {
    if (!this.#emitted) {
      this.#emitted = true;
      this.permit?.success();
    }
    this.#last = value;
  }

  error(error: unknown): void {
    const { permit } = this;
    if (permit && !this.#emitted) {
      const set = this.run.settings.set!;
      try {
        settleFailure(permit, 'EndpointSet: classify', (failure) => set.classify(failure), error);
      } catch (classifierError) {
        // A throwing classifier is a bug in it: the whole fanout errors, tearing down every branch.
        return this.run.subscriber.error(classifierError);
      }
    }
    this.#end();
    this.run.failed.push({ id: this.id, error });
    this.run.settled();
  }

  complete(): void {
    this.permit?.success();
    this.#end();
    if (this.#emitted) this.run.ok.push({ id: this.id, value: this.#last as R });
    else this.run.failed.push({ id: this.id, error: new EmptyError() });
    this.run.settled();
  }

  #end(): void {
    this.#subscription.unsubscribe();
    this.run.branches.remove(this.#subscription);
  }
}
