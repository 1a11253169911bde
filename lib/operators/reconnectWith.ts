import { Observable, Subscription, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { DialError, PeerClosedError } from '../core/errors.js';
import type { DisconnectedEvent } from '../core/session.js';
import type { ConnectedEvent, Link } from '../core/transport.js';
import { DueTimer } from '../internal/due-timer.js';
import { describeValue } from '../internal/describe-value.js';
import { resolveConfig } from './resolve-config.js';
import { FailureRun } from '../policies/failure-run.js';
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
  const { attemptTimeout, breaker, budget, classify } = policy.config;

  return (source) =>
    new Observable<E | DisconnectedEvent>((subscriber) => {
      // Everything below belongs to this one subscription, so the operator itself holds no state.
      const failures = new FailureRun(policy, scheduler);
      let permit: BreakerPermit | undefined;
      let healthy = false;
      let link: Link<unknown> | undefined;
      let connection = new Subscription();
      // One timer at a time (the wait before a dial, the attempt timeout, the health check), due
      // by the scheduler's clock: a wait for a breaker to half-open never ends a moment early.
      const timer = new DueTimer(scheduler);
      const setTimer = (work: () => void, delay: number) => timer.setIn(delay, work);
      const clearTimer = () => timer.cancel();

      const markHealthy = () => {
        if (healthy) return;
        healthy = true;
        failures.reset();
        permit?.success();
        permit = undefined;
        budget?.deposit();
      };

      const dial = () => {
        healthy = false;
        link = undefined;
        if (breaker) {
          try {
            permit = breaker.admit();
          } catch (refusal) {
            // An open breaker fails the attempt fast; the policy waits until it half-opens.
            return fail(refusal);
          }
        }
        if (attemptTimeout !== undefined) {
          setTimer(
            () => fail(new DialError(`Dial timed out after ${attemptTimeout} ms`, { code: 'ETIMEDOUT' })),
            attemptTimeout,
          );
        }
        let connected = false;
        const current = new Subscription();
        connection = current;
        current.add(
          source.subscribe({
            next: (event) => {
              if (event.type === 'request-link') return misplaced(current);
              if (event.type === 'connected') {
                connected = true;
                link = (event as unknown as ConnectedEvent).link;
                clearTimer();
                if (healthyAfter === 'first-frame') {
                  // nothing to schedule: the first frame decides
                } else if (healthyAfter === 0) markHealthy();
                else setTimer(markHealthy, healthyAfter);
              } else if (event.type === 'frame' && healthyAfter === 'first-frame') {
                markHealthy();
              }
              subscriber.next(event);
            },
            error: (error: unknown) => {
              if (current !== connection) return;
              // This side asked to close: a connection that then breaks is not dialled again.
              if (link?.closeRequested) {
                connection.unsubscribe();
                clearTimer();
                finishPermit();
                subscriber.complete();
                return;
              }
              fail(error);
            },
            complete: () => {
              if (current !== connection) return;
              // A link closed by this side ends the stream instead of reconnecting.
              if (link?.closeRequested || onPeerClose === 'complete') {
                finishPermit();
                subscriber.complete();
                return;
              }
              fail(
                new PeerClosedError(
                  connected ? 'The peer closed the connection' : 'The source completed before connecting',
                  { code: 'clean' },
                ),
              );
            },
          }),
        );
      };

      const finishPermit = () => {
        permit?.release();
        permit = undefined;
      };

      const fail = (error: unknown) => {
        connection.unsubscribe();
        clearTimer();
        if (permit) {
          // A connection that never proved healthy counts against the endpoint; a failure the
          // classifier calls permanent says nothing about the endpoint's health.
          if (classify(error) === 'transient') permit.failure();
          else permit.release();
          permit = undefined;
        }
        const decision = failures.decide(error);
        if (!decision.retry) return subscriber.error(failures.gaveUp(decision));
        // The next dial is armed first: a subscriber that unsubscribes on hearing of the
        // disconnect cancels it in the teardown.
        setTimer(dial, decision.delay);
        subscriber.next({ type: 'disconnected', error, attempt: failures.attempts, delay: decision.delay });
      };

      /** A layer that spans connections is piped before this one: said at once, never retried. */
      const misplaced = (current: Subscription) => {
        if (current !== connection) return;
        connection.unsubscribe();
        clearTimer();
        finishPermit();
        subscriber.error(
          new TypeError(
            'reconnectWith: its source emitted a request link, so cancelPending() is piped before it and would start afresh on every dial; pipe cancelPending() last, after reconnectWith() (and after resumable())',
          ),
        );
      };

      dial();
      return () => {
        connection.unsubscribe();
        timer.cancel();
        finishPermit();
      };
    });
}
