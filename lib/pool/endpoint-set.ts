import { describeError } from '../internal/describe-value.js';
import {
  asyncScheduler,
  from,
  Observable,
  Subscription,
  type ObservableInput,
  type SchedulerLike,
  type Subscriber,
} from 'rxjs';
import { LifelineError } from '../core/errors.js';
import type { HandshakeResult } from '../core/transport.js';
import {
  CircuitBreaker,
  type BreakerPermit,
  type CircuitBreakerOptions,
} from '../policies/circuit-breaker.js';
import { classifyFailure, type FailureClass } from '../policies/classify.js';
import { CircuitOpenError } from '../policies/errors.js';
import { settleFailure } from '../policies/permit.js';
import {
  checkFunction,
  checkKnownOptions,
  checkNumber,
  checkScheduler,
  describe,
  drawRandom,
  type KnownOptions,
} from '../internal/validate.js';

/**
 * One member of an {@link EndpointSet}: a node of a cluster, a replica, a mirror. `value` is
 * whatever the caller needs to talk to it (a URL, a transport factory, an address).
 *
 * @typeParam T - what the caller keeps per endpoint.
 * @example
 * ```ts
 * import type { Endpoint } from 'rx-lifeline';
 * const near: Endpoint<string> = { id: 'eu-1', cost: 100, value: 'https://eu-1.example.com' };
 * ```
 * @category Pools
 */
export interface Endpoint<T> {
  /** Names the endpoint in results and errors; unique within a set. */
  readonly id: string;
  /**
   * How much using this endpoint costs (git-annex's remote cost: latency, money, distance); lower
   * is preferred. A finite number ≥ 0. Equal costs are equally good and chosen among at random.
   */
  readonly cost: number;
  /** The caller's handle on the endpoint, passed back untouched. */
  readonly value: T;
}

/**
 * An endpoint chosen by {@link EndpointSet.pick}, with the permit its circuit breaker gave.
 * Report how the attempt went on `permit` (`success()`, `failure()` or `release()`), exactly as
 * with {@link CircuitBreaker.admit}: while the breaker is half-open, an unsettled permit holds one
 * of its few probe slots.
 *
 * @typeParam T - what the caller keeps per endpoint.
 * @example
 * ```ts
 * import { EndpointSet, type PickedEndpoint } from 'rx-lifeline';
 * import { seededRandom } from 'rx-lifeline/testing';
 * const set = new EndpointSet({ endpoints: [{ id: 'a', cost: 1, value: 'a.example' }], random: seededRandom(1) });
 * const picked: PickedEndpoint<string> | undefined = set.pick();
 * picked?.permit.release();
 * ```
 * @category Pools
 */
export interface PickedEndpoint<T> {
  readonly endpoint: Endpoint<T>;
  readonly permit: BreakerPermit;
}

/**
 * What one endpoint did in a call that {@link AllEndpointsFailedError} ended: it was tried and
 * failed (`attempted: true`, with its error), or its breaker refused it (`attempted: false`, with the
 * {@link CircuitOpenError}).
 *
 * @example
 * ```ts
 * import type { EndpointFailure } from 'rx-lifeline';
 * const line = (f: EndpointFailure) => `${f.id}: ${f.attempted ? 'failed' : 'skipped (breaker open)'}`;
 * ```
 * @category Pools
 */
export interface EndpointFailure {
  readonly id: string;
  readonly error: unknown;
  readonly attempted: boolean;
}

/**
 * {@link EndpointSet.use} ran out of endpoints: every endpoint was tried once and failed
 * transiently, or was refused by its open circuit breaker. `failures` lists each endpoint once —
 * those tried, in the order they were tried, then those refused. The first error of an endpoint
 * that was tried is `cause` and is quoted in the message (of several errors, show the
 * first); when none was tried, the first refusal is.
 *
 * @example
 * ```ts
 * import { AllEndpointsFailedError } from 'rx-lifeline';
 * const report = (e: unknown) =>
 *   AllEndpointsFailedError.is(e) ? e.failures.map((f) => `${f.id}: ${String(f.error)}`).join('\n') : '';
 * ```
 * @category Pools
 */
export class AllEndpointsFailedError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'AllEndpointsFailedError';

  /** Every endpoint of the set, once, with what stopped it. */
  readonly failures: readonly EndpointFailure[];

  constructor(message: string, options: { failures: readonly EndpointFailure[]; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.failures = Object.freeze([...options.failures]);
  }
}

/**
 * Options of {@link EndpointSet}.
 *
 * @typeParam T - what the caller keeps per endpoint.
 * @example
 * ```ts
 * import { consecutiveFailures, type EndpointSetOptions } from 'rx-lifeline';
 * const fromCrypto = () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
 * const options: EndpointSetOptions<string> = {
 *   endpoints: [
 *     { id: 'node1', cost: 100, value: 'tcp://node1:7070' },
 *     { id: 'node2', cost: 100, value: 'tcp://node2:7070' },
 *     { id: 'backup', cost: 200, value: 'tcp://backup:7070' },
 *   ],
 *   breaker: (id) => ({ strategy: consecutiveFailures(id === 'backup' ? 10 : 3), openFor: 30_000 }),
 *   random: fromCrypto,
 * };
 * ```
 * @category Pools
 */
export interface EndpointSetOptions<T> {
  /**
   * The endpoints, at least one, with unique ids. Among equal costs, their order here is the order
   * the random draw indexes into.
   * @default none (required)
   */
  endpoints: readonly Endpoint<T>[];
  /**
   * Each endpoint's {@link CircuitBreaker}: options to make one from (the set's `scheduler` is used
   * unless they name their own), or a function of the endpoint's id returning options or a breaker
   * of the caller's (to watch its `state$`, or to share one breaker with other code). A breaker
   * shared by two endpoints of one set is admitted once per endpoint, so with one half-open probe
   * slot the second is refused.
   * @default a `new CircuitBreaker({ scheduler })` per endpoint: opens after 5 failures in a row for 10 s
   */
  breaker?: CircuitBreakerOptions | ((id: string) => CircuitBreakerOptions | CircuitBreaker) | undefined;
  /**
   * Returns a number in [0, 1) at each call; it chooses among equally cheap endpoints. Injected,
   * never defaulted: tests pass `seededRandom(seed)` from 'rx-lifeline/testing' for one exact sequence
   * of choices, production code the platform's generator (see the example). It is only called when
   * two or more endpoints tie for cheapest. A value outside [0, 1) makes the pick throw a
   * `TypeError`.
   * @default none (required)
   */
  random: () => number;
  /**
   * Decides whether a failure may go away on another endpoint (`'transient'`: fail over, and count it
   * against the endpoint's breaker) or would fail the same anywhere (`'permanent'`: stop). It is not
   * asked about breaker refusals, which never count as failures. What it throws, or a TypeError for
   * an answer that is neither, ends `use()` and {@link fanout} with it, the attempt's permit released.
   * @default classifyFailure
   */
  classify?: ((error: unknown) => FailureClass) | undefined;
  /**
   * The clock of the breakers the set makes from options. The set itself sets no timer.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike | undefined;
}

/**
 * What an {@link EndpointSet} knows of one endpoint's clock, from a heartbeat sample.
 *
 * @example
 * ```ts
 * import type { NodeClock } from 'rx-lifeline';
 * const skew = (clock: NodeClock) => `${clock.offset} ms ± ${clock.rtt / 2} ms`;
 * ```
 * @category Pools
 */
export interface NodeClock {
  /** The node's clock minus this side's, in milliseconds. */
  readonly offset: number;
  /** The round trip of the sample: the offset is good to within half of it. */
  readonly rtt: number;
  /** When the sample was taken, on this side's clock. */
  readonly at: number;
}

/** Clock samples kept per endpoint, as NTP's clock filter does. */
const CLOCK_SAMPLES = 8;

const OPTIONS: KnownOptions<EndpointSetOptions<unknown>> = {
  endpoints: true,
  breaker: true,
  random: true,
  classify: true,
  scheduler: true,
};

/** What one choice among the endpoints gave: the endpoint picked, if any, and the breakers that refused. */
interface Choice<T> {
  picked?: PickedEndpoint<T>;
  refusals: EndpointFailure[];
}

/**
 * A set of interchangeable endpoints with costs, each behind its own {@link CircuitBreaker}: work
 * goes to the cheapest endpoint whose breaker admits it, chosen at random among equally cheap ones
 * (as git-annex's cluster proxy picks a node), and fails over to the next cheapest when an endpoint fails
 * transiently. A dead node's breaker opens after enough failures, so it is skipped — costing no
 * attempt — until the breaker turns half-open and lets a probe through.
 *
 * Choosing ({@link EndpointSet.pick}): endpoints are grouped by cost, cheapest first; in a group,
 * each endpoint's breaker is asked in the order of `endpoints`, and among the `k` that admit, the
 * one at index `Math.floor(random() * k)` is taken (no draw when `k` is 1); the others' permits are
 * released at once. When no endpoint of a group admits, the next group is asked.
 *
 * It does not balance load beyond that random tie-break, does not measure latency or adjust costs,
 * does not retry the same endpoint (pipe {@link retryWith} onto {@link EndpointSet.use} for rounds
 * of retries), and does not pool connections (give each endpoint's `value` a
 * {@link ConnectionPool}'s transport for that).
 *
 * @typeParam T - what the caller keeps per endpoint.
 * @example
 * ```ts
 * import { EndpointSet, http } from 'rx-lifeline';
 * import { seededRandom } from 'rx-lifeline/testing';
 * const nodes = new EndpointSet({
 *   endpoints: [
 *     { id: 'node1', cost: 100, value: 'http://127.0.0.1:8081' },
 *     { id: 'node2', cost: 100, value: 'http://127.0.0.1:8082' },
 *     { id: 'far', cost: 200, value: 'http://127.0.0.1:8083' },
 *   ],
 *   breaker: { openFor: 30_000 },
 *   random: seededRandom(2), // production: a real generator, see EndpointSetOptions
 * });
 * // node1 or node2 at random; the other, then 'far', if it fails with a 503 or a reset.
 * nodes.use((node) => http({ url: `${node.value}/keys/42` })).subscribe({
 *   next: (response) => console.log(response.status),
 *   error: (error) => console.error(error), // AllEndpointsFailedError, or a permanent failure
 * });
 * ```
 * @category Pools
 */
export class EndpointSet<T> {
  /** The endpoints, in the order given, frozen. */
  readonly endpoints: readonly Endpoint<T>[];

  readonly #breakers = new Map<string, CircuitBreaker>();
  /** The endpoints grouped by cost, cheapest group first, each group in the order given. */
  readonly #groups: readonly (readonly Endpoint<T>[])[];
  readonly #random: () => number;
  readonly #classifier: (error: unknown) => FailureClass;
  /** Per endpoint, its latest clock samples (at most {@link CLOCK_SAMPLES}), oldest first. */
  readonly #clocks = new Map<string, NodeClock[]>();
  /** Per endpoint, what the handshake of the latest connection to it settled. */
  readonly #negotiated = new Map<string, HandshakeResult>();

  constructor(options: EndpointSetOptions<T>) {
    const where = 'EndpointSet';
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);
    }
    checkKnownOptions(where, options, OPTIONS);
    const {
      endpoints,
      breaker = {},
      random,
      classify = classifyFailure,
      scheduler = asyncScheduler,
    } = options;
    this.endpoints = checkEndpoints(where, endpoints);
    this.#random = checkFunction(where, 'random', random);
    this.#classifier = checkFunction(where, 'classify', classify);
    checkScheduler(where, scheduler);
    if (typeof breaker !== 'function' && (typeof breaker !== 'object' || breaker === null)) {
      throw new TypeError(`${where}: breaker must be options or a function, got ${describe(breaker)}`);
    }
    for (const { id } of this.endpoints) {
      const made = typeof breaker === 'function' ? breaker(id) : breaker;
      if (CircuitBreaker.is(made)) this.#breakers.set(id, made);
      else if (typeof made === 'object' && made !== null) {
        this.#breakers.set(id, new CircuitBreaker({ ...made, scheduler: made.scheduler ?? scheduler }));
      } else {
        throw new TypeError(
          `${where}: breaker(${JSON.stringify(id)}) must return options or a CircuitBreaker, got ${describe(made)}`,
        );
      }
    }
    const byCost = new Map<number, Endpoint<T>[]>();
    for (const endpoint of this.endpoints) {
      const group = byCost.get(endpoint.cost);
      if (group) group.push(endpoint);
      else byCost.set(endpoint.cost, [endpoint]);
    }
    this.#groups = [...byCost.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
  }

  /**
   * The circuit breaker of the endpoint `id`: watch its `state$`, or read its `state`.
   * @throws RangeError if the set has no endpoint `id`.
   */
  breakerOf(id: string): CircuitBreaker {
    const breaker = this.#breakers.get(id);
    if (!breaker) throw new RangeError(`EndpointSet: no endpoint ${JSON.stringify(id)}`);
    return breaker;
  }

  /**
   * Records a measurement of endpoint `id`'s clock: a `HeartbeatEvent` of a connection to it
   * (or any sample with the same three fields). The set keeps the last 8 and trusts the one with
   * the shortest round trip, whose offset has the smallest error (NTP's clock filter, RFC 5905
   * §10).
   * @throws RangeError for an id the set does not hold; TypeError for a sample that is not finite.
   */
  noteClock(
    id: string,
    sample: { readonly clockOffset: number; readonly rtt: number; readonly at: number },
  ): void {
    this.breakerOf(id); // the RangeError for an unknown id
    const { clockOffset, rtt, at } = sample ?? {};
    if (![clockOffset, rtt, at].every((value) => typeof value === 'number' && Number.isFinite(value))) {
      throw new TypeError(
        `EndpointSet.noteClock: expected finite clockOffset, rtt and at, got ${describe(sample)}`,
      );
    }
    const samples = this.#clocks.get(id) ?? [];
    samples.push({ offset: clockOffset, rtt, at });
    if (samples.length > CLOCK_SAMPLES) samples.shift();
    this.#clocks.set(id, samples);
  }

  /**
   * Records what the handshake of a connection to endpoint `id` settled (the `handshake` of its
   * `connected` event): the versions that node speaks. The latest one is kept, so a node upgraded
   * behind the set's back is seen on its next connection.
   * @throws RangeError for an id the set does not hold; TypeError for a value that is not a
   * handshake result.
   */
  noteHandshake(id: string, result: HandshakeResult): void {
    this.breakerOf(id);
    const layers: unknown = (result as { layers?: unknown } | undefined)?.layers;
    const valid =
      typeof layers === 'object' &&
      layers !== null &&
      Object.values(layers).every((version) => Number.isSafeInteger(version) && (version as number) >= 1);
    if (!valid) {
      throw new TypeError(
        `EndpointSet.noteHandshake: expected a handshake result { layers }, got ${describe(result)}`,
      );
    }
    this.#negotiated.set(id, result);
  }

  /** What the latest handshake with endpoint `id` settled, or `undefined` before any. */
  negotiatedOf(id: string): HandshakeResult | undefined {
    this.breakerOf(id);
    return this.#negotiated.get(id);
  }

  /** What the set knows of endpoint `id`'s clock: the trusted sample, or `undefined` before any. */
  clockOf(id: string): NodeClock | undefined {
    this.breakerOf(id);
    const samples = this.#clocks.get(id);
    return samples?.reduce((best, sample) => (sample.rtt < best.rtt ? sample : best));
  }

  /**
   * A time on this side's clock as endpoint `id`'s clock reads it (`time + offset`), to compare
   * with timestamps the node writes, the way git-annex asks a remote for its time and keeps the
   * difference; `undefined` before the first sample. {@link fromNodeTime} goes back.
   */
  toNodeTime(id: string, time: number): number | undefined {
    const clock = this.clockOf(id);
    return clock === undefined ? undefined : time + clock.offset;
  }

  /** A time on endpoint `id`'s clock as this side's clock reads it; `undefined` before any sample. */
  fromNodeTime(id: string, time: number): number | undefined {
    const clock = this.clockOf(id);
    return clock === undefined ? undefined : time - clock.offset;
  }

  /** The set's verdict on a failure: its `classify` option (by default {@link classifyFailure}). */
  classify(error: unknown): FailureClass {
    return this.#classifier(error);
  }

  /**
   * Chooses the cheapest endpoint whose breaker admits an attempt, at random among equally cheap
   * ones (see {@link EndpointSet}), and returns it with the breaker's permit, which the caller must
   * settle. Endpoints whose breaker is open, or half-open with every probe slot taken, are skipped.
   *
   * It does not run anything or wait: when no endpoint admits, it returns `undefined` at once.
   *
   * @param options.exclude - ids not to consider (those already tried, say).
   * @throws TypeError if `random()` returns a value outside [0, 1).
   */
  pick(options: { exclude?: Iterable<string> | undefined } = {}): PickedEndpoint<T> | undefined {
    return this.#choose(new Set(options.exclude ?? [])).picked;
  }

  /**
   * Runs `fn` on the endpoint {@link EndpointSet.pick} chooses, and mirrors what it emits. Until it
   * emits its first value, a failure that `classify` calls transient is counted against that
   * endpoint's breaker and the call fails over to the next choice among the endpoints not yet tried
   * (each endpoint is tried at most once per subscription; endpoints refused by their breaker are
   * asked again at each step, as their breaker may have turned half-open meanwhile). The first value,
   * or completion, is a success for the endpoint's breaker.
   *
   * When no endpoint is left to try, it errors with {@link AllEndpointsFailedError}, whose `cause`
   * and message carry the first error. It does not fail over on:
   *
   * - a permanent failure (a 4xx, a protocol error, an exception thrown by `fn`): it would fail on
   *   every endpoint the same way, so it is passed on unchanged, and the endpoint's breaker does not
   *   count it (the permit is released). Earlier transient failures of this call were counted by
   *   their breakers but are not attached.
   * - a failure after the first value: values already went to the subscriber, so another endpoint
   *   could repeat them. It is passed on unchanged.
   *
   * Cold: each subscription chooses afresh. Unsubscribing unsubscribes the running attempt and
   * releases its permit. It sets no timer and does not retry: pipe `timeout` into `fn` to bound an
   * attempt, {@link retryWith} onto the result for rounds of retries.
   */
  use<R>(fn: (endpoint: Endpoint<T>) => ObservableInput<R>): Observable<R> {
    checkFunction('EndpointSet.use', 'fn', fn);
    const failover: Failover<T> = {
      choose: (exclude) => this.#choose(exclude),
      classify: (error) => this.#classifier(error),
    };
    return new Observable<R>((subscriber) => new FailoverRun(failover, fn, subscriber).start());
  }

  /** {@link EndpointSet.pick}, also saying which endpoints were refused by their breaker. */
  #choose(exclude: ReadonlySet<string>): Choice<T> {
    const refusals: EndpointFailure[] = [];
    for (const group of this.#groups) {
      const admitted: PickedEndpoint<T>[] = [];
      for (const endpoint of group) {
        if (exclude.has(endpoint.id)) continue;
        try {
          admitted.push({ endpoint, permit: this.breakerOf(endpoint.id).admit() });
        } catch (error) {
          if (!CircuitOpenError.is(error)) {
            for (const other of admitted) other.permit.release();
            throw error;
          }
          refusals.push({ id: endpoint.id, error, attempted: false });
        }
      }
      if (admitted.length === 0) continue;
      let index = 0;
      try {
        if (admitted.length > 1) index = this.#draw(admitted.length);
      } finally {
        admitted.forEach((other, i) => {
          if (i !== index) other.permit.release();
        });
      }
      return { picked: admitted[index]!, refusals };
    }
    return { refusals };
  }

  /** An index in [0, count), from one call of `random`. */
  #draw(count: number): number {
    return Math.floor(drawRandom('EndpointSet', 'random', this.#random) * count);
  }
}

/** The error ending a call of `use` that ran out of endpoints; attempts come before refusals. */
/** What a {@link FailoverRun} asks of its {@link EndpointSet}. */
interface Failover<T> {
  /** The next endpoint to try, not one of `exclude`, and the endpoints refused by their breaker. */
  choose(exclude: ReadonlySet<string>): Choice<T>;
  classify(error: unknown): FailureClass;
}

/**
 * One subscription of {@link EndpointSet.use}: runs `fn` on the endpoint chosen, and fails over to
 * the next choice on a transient failure before the first value, each endpoint at most once.
 */
class FailoverRun<T, R> {
  readonly #attempted = new Set<string>();
  readonly #failures: EndpointFailure[] = [];
  /** The current attempt's permit, until it is settled. */
  #permit: BreakerPermit | undefined;
  #attempt = new Subscription();
  readonly #set: Failover<T>;
  readonly #fn: (endpoint: Endpoint<T>) => ObservableInput<R>;
  readonly #subscriber: Subscriber<R>;

  constructor(
    set: Failover<T>,
    fn: (endpoint: Endpoint<T>) => ObservableInput<R>,
    subscriber: Subscriber<R>,
  ) {
    this.#set = set;
    this.#fn = fn;
    this.#subscriber = subscriber;
  }

  /** Makes the first attempt; returns the subscription's teardown. */
  start(): () => void {
    this.#tryNext();
    return () => {
      this.#attempt.unsubscribe();
      this.#permit?.release();
      this.#permit = undefined;
    };
  }

  #tryNext(): void {
    let choice: Choice<T>;
    try {
      choice = this.#set.choose(this.#attempted);
    } catch (error) {
      // A random() out of range, or a breaker that threw something else than a refusal.
      return this.#subscriber.error(error);
    }
    const { picked, refusals } = choice;
    if (!picked) return this.#subscriber.error(allFailed([...this.#failures, ...refusals]));
    const { endpoint } = picked;
    this.#attempted.add(endpoint.id);
    this.#permit = picked.permit;
    let source: Observable<R>;
    try {
      source = from(this.#fn(endpoint));
    } catch (error) {
      return this.#fail(endpoint, error, false);
    }
    this.#run(endpoint, source);
  }

  #run(endpoint: Endpoint<T>, source: Observable<R>): void {
    let emitted = false;
    const current = new Subscription();
    this.#attempt = current;
    current.add(
      source.subscribe({
        next: (value) => {
          if (!emitted) {
            emitted = true;
            this.#succeed();
          }
          this.#subscriber.next(value);
        },
        error: (error: unknown) => this.#fail(endpoint, error, emitted),
        complete: () => {
          this.#succeed();
          this.#subscriber.complete();
        },
      }),
    );
  }

  #succeed(): void {
    this.#permit?.success();
    this.#permit = undefined;
  }

  #fail(endpoint: Endpoint<T>, error: unknown, emitted: boolean): void {
    this.#attempt.unsubscribe();
    const held = this.#permit;
    this.#permit = undefined;
    // After a value, the permit was settled as a success and the subscriber has seen output.
    if (emitted || !held) return this.#subscriber.error(error);
    let verdict: FailureClass;
    try {
      verdict = settleFailure(held, 'EndpointSet: classify', this.#set.classify, error);
    } catch (classifierError) {
      return this.#subscriber.error(classifierError);
    }
    if (verdict !== 'transient') return this.#subscriber.error(error);
    this.#failures.push({ id: endpoint.id, error, attempted: true });
    this.#tryNext();
  }
}

function allFailed(failures: readonly EndpointFailure[]): AllEndpointsFailedError {
  const tried = failures.filter((f) => f.attempted).length;
  const refused = failures.length - tried;
  const first = failures[0]!;
  const parts = [];
  if (tried > 0) parts.push(`${tried} failed`);
  if (refused > 0) parts.push(`${refused} refused by an open circuit breaker`);
  const message =
    `No endpoint succeeded (${parts.join(', ')}); ` +
    `the first error, from ${JSON.stringify(first.id)}: ${describeError(first.error)}`;
  return new AllEndpointsFailedError(message, { failures, cause: first.error });
}

/**
 * Checks a list of endpoints — an array of at least one, unique string ids, finite costs ≥ 0 —
 * and returns a frozen copy.
 * @internal
 */
export function checkEndpoints<T>(where: string, endpoints: unknown): readonly Endpoint<T>[] {
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new TypeError(`${where}: endpoints must be a non-empty array, got ${describe(endpoints)}`);
  }
  const ids = new Set<string>();
  endpoints.forEach((endpoint: unknown, i) => {
    if (typeof endpoint !== 'object' || endpoint === null) {
      throw new TypeError(`${where}: endpoints[${i}] must be an object, got ${describe(endpoint)}`);
    }
    const { id, cost } = endpoint as { id?: unknown; cost?: unknown };
    if (typeof id !== 'string' || id === '') {
      throw new TypeError(`${where}: endpoints[${i}].id must be a non-empty string, got ${describe(id)}`);
    }
    if (ids.has(id)) throw new TypeError(`${where}: endpoint id ${JSON.stringify(id)} appears twice`);
    ids.add(id);
    checkNumber(where, `endpoints[${i}].cost`, cost, { min: 0, max: Number.MAX_VALUE });
  });
  return Object.freeze([...(endpoints as Endpoint<T>[])]);
}
