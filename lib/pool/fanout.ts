import { EmptyError, from, Observable, Subscription, type ObservableInput } from 'rxjs';
import { LifelineError } from '../core/errors.js';
import type { BreakerPermit } from '../policies/circuit-breaker.js';
import { CircuitOpenError } from '../policies/errors.js';
import { checkFunction, checkKnownOptions, describe, type KnownOptions } from '../internal/validate.js';
import { checkEndpoints, describeError, EndpointSet, type Endpoint } from './endpoint-set.js';

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

  return new Observable<FanoutResult<R>>((subscriber) => {
    const chosen = all.filter((endpoint) => select(endpoint));
    const ok: { id: string; value: R }[] = [];
    const failed: { id: string; error: unknown }[] = [];
    // Added before any branch starts, so that an exception while starting them still tears all down.
    const branches = new Subscription();
    subscriber.add(branches);
    let pending = chosen.length;

    const finish = (): void => {
      const status: FanoutStatus =
        failed.length === 0 ? 'all-succeeded' : ok.length === 0 ? 'all-failed' : 'some-failed';
      const result: FanoutResult<R> = Object.freeze({
        status,
        ok: Object.freeze(ok),
        failed: Object.freeze(failed),
      });
      if (status === 'all-failed' || (status === 'some-failed' && failWhen === 'any-failed')) {
        const first = failed[0]!;
        const message =
          `Fanout failed on ${failed.length} of ${chosen.length} endpoints; ` +
          `the first error, from ${JSON.stringify(first.id)}: ${describeError(first.error)}`;
        return subscriber.error(new FanoutError(message, { result, cause: first.error }));
      }
      subscriber.next(result);
      subscriber.complete();
    };
    const settled = (): void => {
      if (--pending === 0) finish();
    };

    const run = (endpoint: Endpoint<T>): void => {
      const { id } = endpoint;
      let permit: BreakerPermit | undefined;
      if (set) {
        try {
          permit = set.breakerOf(id).admit();
        } catch (error) {
          if (!CircuitOpenError.is(error)) throw error;
          failed.push({ id, error });
          return settled();
        }
      }
      const branch = new Subscription(() => permit?.release());
      branches.add(branch);
      const fail = (error: unknown, emitted: boolean): void => {
        if (permit && !emitted) {
          let transient: boolean;
          try {
            transient = set!.classify(error) === 'transient';
          } catch (classifierError) {
            // A throwing classifier is a bug in it: the whole fanout errors, tearing down every branch.
            return subscriber.error(classifierError);
          }
          if (transient) permit.failure();
          else permit.release();
        }
        branch.unsubscribe();
        branches.remove(branch);
        failed.push({ id, error });
        settled();
      };
      let source: Observable<R>;
      try {
        source = from(fn(endpoint));
      } catch (error) {
        return fail(error, false);
      }
      let emitted = false;
      let last: R | undefined;
      branch.add(
        source.subscribe({
          next: (value) => {
            if (!emitted) {
              emitted = true;
              permit?.success();
            }
            last = value;
          },
          error: (error: unknown) => fail(error, emitted),
          complete: () => {
            permit?.success();
            branch.unsubscribe();
            branches.remove(branch);
            if (emitted) ok.push({ id, value: last as R });
            else failed.push({ id, error: new EmptyError() });
            settled();
          },
        }),
      );
    };

    if (chosen.length === 0) return finish();
    for (const endpoint of chosen) {
      if (subscriber.closed) break;
      run(endpoint);
    }
  });
}
