import { Observable, Subscription, type OperatorFunction, type SchedulerLike, type Subscriber } from 'rxjs';
import { DialError, PeerClosedError } from '../core/errors.js';
import type { DisconnectedEvent } from '../core/session.js';
import type { ConnectedEvent, Link } from '../core/transport.js';
import { timerQueueOf, type TimerEntry, type TimerQueue } from '../internal/timer-queue.js';
import { describeValue } from '../internal/describe-value.js';
import { resolveConfig } from './resolve-config.js';
import { FailureRun, retryOrEnd } from '../policies/failure-run.js';
import type { BreakerPermit } from '../policies/circuit-breaker.js';
import { RetryPolicy } from '../policies/retry-policy.js';
import { checkOneOf, type KnownOptions } from '../internal/validate.js';

/**
 * Options of {@link reconnectWith}.
 *
 * @example
 * ```ts
 * import { policy, type ReconnectConfig } from 'rx-lifeline';
 * const config: ReconnectConfig = {
 *   policy: policy.exponential({ initial: 100, max: 30_000 }),
 *   healthyAfter: 'first-frame',
 *   onPeerClose: 'complete',
 * };
 * ```
 * @category Operators
 */
export interface ReconnectConfig {
  /** Decides whether and when to dial again after each failure. */
  policy: RetryPolicy;
  /**
   * When a connection counts as healthy: after it stayed up this many milliseconds, or on its
   * first inbound frame (`'first-frame'`). A healthy connection resets the attempt count and the
   * backoff, reports success to the policy's breaker and deposits into its budget. Merely
   * connecting does not: a server that accepts and drops at once is still backed off.
   * @default 5_000
   */
  healthyAfter?: number | 'first-frame';
  /**
   * What a clean close by the peer means: dial again (`'reconnect'`, counted like a failure with a
   * `PeerClosedError` whose `code` is `'clean'`), or end the stream (`'complete'`). It does not
   * apply to `link.close()` called by this side, which always completes.
   * @default 'reconnect'
   */
  onPeerClose?: 'reconnect' | 'complete';
  /**
   * Schedules the backoff waits, the per-attempt timeout and the health timer.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

const CONFIG: KnownOptions<ReconnectConfig> = {
  policy: true,
  healthyAfter: true,
  onPeerClose: true,
  scheduler: true,
};

/**
 * Turns a transport into a session stream that survives disconnects: when a connection fails (or
 * a dial fails, or the policy's breaker refuses one), it asks the policy whether and when to dial
 * again, emits a {@link DisconnectedEvent} with the error, the attempt count and the delay, waits on
 * the scheduler, and resubscribes to the source. It errors only when the policy gives up, with a
 * {@link GaveUpError} carrying the last failure and the attempt count.
 *
 * Pipe it after the per-connection operators (heartbeat, framing) and before the ones that work
 * across connections. Events other than `connected` and `frame` (heartbeat samples) pass through. The policy's `attemptTimeout` bounds each dial (a `DialError` with code
 * `'ETIMEDOUT'`); its breaker is asked before each dial and told each connection's outcome (a drop
 * before `healthyAfter` is a failure); its budget gets a deposit per healthy connection. After this
 * side called `link.close()`, the end of that connection — clean or not — completes the stream.
 * Unsubscribing closes the connection or cancels the pending wait at once.
 *
 * It does not resend anything: frames sent on a link that broke are the business of `resumable`.
 *
 * @example
 * ```ts
 * import { memory, policy, reconnectWith } from 'rx-lifeline';
 * import { seededRandom } from 'rx-lifeline/testing';
 * const endpoint = memory<string>();
 * const session = endpoint.transport.pipe(
 *   reconnectWith(policy.exponential({ initial: 100, max: 10_000 }).jitter('full', { random: seededRandom(7) })),
 * );
 * const badge = session.subscribe({
 *   next: (event) => {
 *     if (event.type === 'disconnected') console.log(`reconnecting in ${event.delay} ms`);
 *   },
 *   error: (error: unknown) => console.error('gave up', error), // GaveUpError
 * });
 * badge.unsubscribe();
 * ```
 * @category Operators
 */
export function reconnectWith<E extends { readonly type: string }>(
  policyOrConfig: RetryPolicy | ReconnectConfig,
): OperatorFunction<E, E | DisconnectedEvent> {
  const { policy, scheduler } = resolveConfig('reconnectWith', policyOrConfig, CONFIG);
  const options: Partial<ReconnectConfig> = policyOrConfig instanceof RetryPolicy ? {} : policyOrConfig;
  const { healthyAfter = 5_000, onPeerClose = 'reconnect' } = options;
  if (healthyAfter !== 'first-frame' && !(Number.isFinite(healthyAfter) && healthyAfter >= 0)) {
    throw new TypeError(
      `reconnectWith: healthyAfter must be a duration ≥ 0 or 'first-frame', got ${describeValue(healthyAfter)}`,
    );
  }
  checkOneOf('reconnectWith', 'onPeerClose', onPeerClose, ['reconnect', 'complete']);
  const settings: ReconnectSettings = { policy, scheduler, healthyAfter, onPeerClose };
  // Everything of one subscription lives in its run, so the operator itself holds no state.
  return (source) =>
    new Observable<E | DisconnectedEvent>((subscriber) =>
      new ReconnectRun<E>(source, subscriber, settings).start(),
    );
}

/** The options of {@link reconnectWith}, checked and with their defaults: shared by its subscriptions. */
interface ReconnectSettings {
  readonly policy: RetryPolicy;
  readonly scheduler: SchedulerLike;
  readonly healthyAfter: number | 'first-frame';
  readonly onPeerClose: 'reconnect' | 'complete';
}

/**
 * One subscription of {@link reconnectWith}: dial, watch the connection until it proves healthy,
 * and on each failure ask the policy whether and when to dial again.
 */
class ReconnectRun<E extends { readonly type: string }> implements TimerEntry {
  // Its place in the scheduler's timer queue, as a TimerEntry (see #timers).
  due = Infinity;
  slot = -1;
  order = 0;
  readonly #failures: FailureRun;
  #permit: BreakerPermit | undefined;
  #healthy = false;
  /** The current connection emitted `connected`. */
  #connected = false;
  #link: Link<unknown> | undefined;
  #connection = new Subscription();
  /**
   * One timer at a time (the wait before a dial, the attempt timeout, the health check), due by
   * the scheduler's clock: a wait for a breaker to half-open never ends a moment early. The run is
   * itself the entry, in the queue that every run and heartbeat on its scheduler shares.
   */
  readonly #timers: TimerQueue;
  /** What the run's one timer does when it fires: time the dial out, mark health, or dial. */
  #timerWork: () => void = nothing;
  readonly #source: Observable<E>;
  readonly #subscriber: Subscriber<E | DisconnectedEvent>;
  readonly #settings: ReconnectSettings;

  constructor(
    source: Observable<E>,
    subscriber: Subscriber<E | DisconnectedEvent>,
    settings: ReconnectSettings,
  ) {
    this.#source = source;
    this.#subscriber = subscriber;
    this.#settings = settings;
    this.#failures = new FailureRun(settings.policy, settings.scheduler);
    this.#timers = timerQueueOf(settings.scheduler);
  }

  /** Dials the first time; returns the subscription's teardown. */
  start(): () => void {
    this.#dial();
    return () => {
      this.#connection.unsubscribe();
      this.#cancelTimer();
      this.#finishPermit();
    };
  }

  #dial(): void {
    this.#healthy = false;
    this.#connected = false;
    this.#link = undefined;
    const { breaker, attemptTimeout } = this.#settings.policy.config;
    if (breaker) {
      try {
        this.#permit = breaker.admit();
      } catch (refusal) {
        // An open breaker fails the attempt fast; the policy waits until it half-opens.
        return this.#fail(refusal);
      }
    }
    if (attemptTimeout !== undefined) {
      this.#setTimer(attemptTimeout, () =>
        this.#fail(new DialError(`Dial timed out after ${attemptTimeout} ms`, { code: 'ETIMEDOUT' })),
      );
    }
    const current = new Subscription();
    this.#connection = current;
    current.add(
      this.#source.subscribe({
        next: (event) => this.#onEvent(event, current),
        error: (error: unknown) => this.#onError(error, current),
        complete: () => this.#onComplete(current),
      }),
    );
  }

  #onEvent(event: E, current: Subscription): void {
    if (event.type === 'request-link') return this.#misplaced(current);
    const { healthyAfter } = this.#settings;
    if (event.type === 'connected') {
      this.#connected = true;
      this.#link = (event as unknown as ConnectedEvent).link;
      this.#cancelTimer();
      if (healthyAfter === 'first-frame') {
        // nothing to schedule: the first frame decides
      } else if (healthyAfter === 0) this.#markHealthy();
      else this.#setTimer(healthyAfter, () => this.#markHealthy());
    } else if (event.type === 'frame' && healthyAfter === 'first-frame') {
      this.#markHealthy();
    }
    this.#subscriber.next(event);
  }

  #onError(error: unknown, current: Subscription): void {
    if (current !== this.#connection) return;
    // This side asked to close: a connection that then breaks is not dialled again.
    if (this.#link?.closeRequested) {
      this.#connection.unsubscribe();
      this.#cancelTimer();
      this.#finishPermit();
      this.#subscriber.complete();
      return;
    }
    this.#fail(error);
  }

  #onComplete(current: Subscription): void {
    if (current !== this.#connection) return;
    // A link closed by this side ends the stream instead of reconnecting.
    if (this.#link?.closeRequested || this.#settings.onPeerClose === 'complete') {
      this.#finishPermit();
      this.#subscriber.complete();
      return;
    }
    this.#fail(
      new PeerClosedError(
        this.#connected ? 'The peer closed the connection' : 'The source completed before connecting',
        { code: 'clean' },
      ),
    );
  }

  #markHealthy(): void {
    if (this.#healthy) return;
    this.#healthy = true;
    this.#failures.reset();
    this.#permit?.success();
    this.#permit = undefined;
    this.#settings.policy.config.budget?.deposit();
  }

  #finishPermit(): void {
    this.#permit?.release();
    this.#permit = undefined;
  }

  #fail(error: unknown): void {
    this.#connection.unsubscribe();
    this.#cancelTimer();
    const permit = this.#permit;
    this.#permit = undefined;
    // A connection that never proved healthy counts against the endpoint (see settleFailure).
    const delay = retryOrEnd(this.#failures, error, permit, this.#subscriber);
    if (delay === undefined) return;
    // The next dial is armed first: a subscriber that unsubscribes on hearing of the
    // disconnect cancels it in the teardown.
    this.#setTimer(delay, () => this.#dial());
    this.#subscriber.next({ type: 'disconnected', error, attempt: this.#failures.attempts, delay });
  }

  /** Runs `work` in `delay` milliseconds, in place of what the timer was set to do. */
  #setTimer(delay: number, work: () => void): void {
    this.#timerWork = work;
    this.#timers.set(this, this.#settings.scheduler.now() + delay);
  }

  #cancelTimer(): void {
    this.#timerWork = nothing;
    this.#timers.remove(this);
  }

  /** The timer's work, called by the scheduler's timer queue. */
  fire(): void {
    const work = this.#timerWork;
    this.#timerWork = nothing;
    work();
  }

  /** A layer that spans connections is piped before this one: said at once, never retried. */
  #misplaced(current: Subscription): void {
    if (current !== this.#connection) return;
    this.#connection.unsubscribe();
    this.#cancelTimer();
    this.#finishPermit();
    this.#subscriber.error(
      new TypeError(
        'reconnectWith: its source emitted a request link, so cancelPending() is piped before it and would start afresh on every dial; pipe cancelPending() last, after reconnectWith() and resumable()',
      ),
    );
  }
}

function nothing(): void {}
