import {
  asyncScheduler,
  Observable,
  share,
  Subject,
  timer,
  type MonoTypeOperatorFunction,
  type Observer,
  type SchedulerLike,
  type SubjectLike,
  type Unsubscribable,
} from 'rxjs';
import {
  checkKnownOptions,
  checkNumber,
  checkScheduler,
  describe,
  type KnownOptions,
  MAX_DELAY,
} from '../internal/validate.js';

/**
 * Options of {@link shareConnection}.
 *
 * @example
 * ```ts
 * import { shareConnection, type ShareConnectionConfig } from 'rx-lifeline';
 * const config: ShareConnectionConfig = { idleTimeout: 5_000 };
 * const operator = shareConnection(config);
 * ```
 * @category Operators
 */
export interface ShareConnectionConfig {
  /**
   * How long, in milliseconds, the shared connection stays open after its last subscriber left. A
   * subscriber that arrives within that window reuses it without dialling; after it, the source is
   * unsubscribed (the socket closed) and the next subscriber dials again. `0` closes at once, in
   * the same call as the last unsubscription. It does not keep a connection open that the source
   * itself ended: an error or a completion always resets at once.
   * @default 0
   */
  idleTimeout?: number;
  /**
   * Runs the idle timer.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

const CONFIG: KnownOptions<ShareConnectionConfig> = { idleTimeout: true, scheduler: true };

/**
 * Shares one connection among every subscriber of a transport or a session stream, the way a
 * caller hands its open connections around instead of dialling again (as bzr passes its
 * `possible_transports`: https://bugs.launchpad.net/bzr/+bug/111702).
 *
 * The first subscriber subscribes to the source (dials: nothing happens before). Later subscribers
 * share that subscription: each first receives the current state — the latest `connected` event,
 * or for a session stream the latest `disconnected` if that came after it — and then the live
 * events. When the last subscriber leaves, the source stays subscribed for `idleTimeout` ms, then
 * is unsubscribed; a subscriber joining within that window reuses it. When the source errors or
 * completes, every current subscriber receives it and the next subscriber dials anew.
 *
 * It keeps at most one event, the current state; it never keeps frames. A late joiner sees only
 * frames that arrive after it subscribed, and frames that arrive while nobody is subscribed (during
 * the idle window) are delivered to nobody.
 *
 * It does not reconnect: a shared transport errors for every subscriber at once. To share a
 * session that survives disconnects, pipe {@link reconnectWith} before it. It does not multiplex
 * sends either: every subscriber gets the same {@link Link}, so one subscriber's `link.close()`
 * closes the connection for all.
 *
 * @param config - the options, or the `idleTimeout` alone.
 * @throws `TypeError` if `idleTimeout` is not a number from 0 to 2^31 − 1, `scheduler` is not a
 * SchedulerLike, or `config` has another key.
 * @example
 * ```ts
 * import { memory, policy, reconnectWith, shareConnection } from 'rx-lifeline';
 * const endpoint = memory<string>();
 * const session = endpoint.transport.pipe(
 *   reconnectWith(policy.exponential({ initial: 100, max: 10_000 })),
 *   shareConnection({ idleTimeout: 5_000 }),
 * );
 * const onError = (error: unknown) => console.error('gave up', error); // GaveUpError
 * const badge = session.subscribe({ next: (event) => console.log(event.type), error: onError }); // dials
 * const chat = session.subscribe({
 *   next: (event) => event.type === 'frame' && console.log(event.frame), // the same connection
 *   error: onError,
 * });
 * badge.unsubscribe();
 * chat.unsubscribe(); // the connection stays up 5 s for the next subscriber, then closes
 * ```
 * @category Operators
 */
export function shareConnection<E extends { readonly type: string }>(
  config: number | ShareConnectionConfig = {},
): MonoTypeOperatorFunction<E> {
  if (
    typeof config !== 'number' &&
    (typeof config !== 'object' || config === null || Array.isArray(config))
  ) {
    throw new TypeError(
      `shareConnection: pass an idleTimeout or { idleTimeout, scheduler }, got ${describe(config)}`,
    );
  }
  const options: ShareConnectionConfig = typeof config === 'number' ? { idleTimeout: config } : config;
  checkKnownOptions('shareConnection', options, CONFIG);
  const { idleTimeout = 0, scheduler = asyncScheduler } = options;
  checkNumber('shareConnection', 'idleTimeout', idleTimeout, { min: 0, max: MAX_DELAY });
  checkScheduler('shareConnection', scheduler);
  return share<E>({
    connector: () => latestState<E>(),
    resetOnError: true,
    resetOnComplete: true,
    // `true` resets in the same call: a timer of 0 ms would still wait for the scheduler.
    resetOnRefCountZero: idleTimeout === 0 ? true : () => timer(idleTimeout, scheduler),
  });
}

/** A connection's state, as opposed to the frames it carries. */
function isState(event: { readonly type: string }): boolean {
  return event.type === 'connected' || event.type === 'disconnected';
}

/**
 * The subject behind one shared connection: forwards every event, remembers only the latest state
 * event, and gives it to each new subscriber before the live events.
 */
function latestState<E extends { readonly type: string }>(): SubjectLike<E> {
  const live = new Subject<E>();
  let state: E | undefined;
  const replayed = new Observable<E>((subscriber) => {
    // Like ReplaySubject: join the live events first, then replay the state captured before, so an
    // event the replay provokes synchronously is not lost.
    const current = state;
    live.subscribe(subscriber); // a Subscriber: the live subscription ends with it
    if (current !== undefined) subscriber.next(current);
  });
  return {
    next: (event: E) => {
      if (isState(event)) state = event;
      live.next(event);
    },
    error: (error: unknown) => {
      state = undefined;
      live.error(error);
    },
    complete: () => {
      state = undefined;
      live.complete();
    },
    subscribe: (observer: Partial<Observer<E>>): Unsubscribable => replayed.subscribe(observer),
  };
}
