import type { Observable } from 'rxjs';
import type { TransportEvent } from './transport.js';

/**
 * Between two connections of a session stream: the last connection (or dial) ended with `error`,
 * and the next dial starts after `delay` milliseconds. A UI shows "reconnecting in 3 s" from it.
 *
 * @example
 * ```ts
 * import type { DisconnectedEvent } from 'rx-lifeline';
 * const badge = (e: DisconnectedEvent) => `reconnecting in ${Math.ceil(e.delay / 1000)} s (try ${e.attempt + 1})`;
 * ```
 * @category Operators
 */
export interface DisconnectedEvent {
  readonly type: 'disconnected';
  /** Why the connection or dial ended: a `ConnectionError`, a `CircuitOpenError`, a timeout… */
  readonly error: unknown;
  /** Consecutive failed attempts, this one included: 1 after a healthy connection dropped. */
  readonly attempt: number;
  /** Milliseconds until the next dial. */
  readonly delay: number;
}

/**
 * What {@link reconnectWith} emits: the events of every connection in turn, with a
 * {@link DisconnectedEvent} between two connections. It errors only when the policy gives up.
 *
 * @example
 * ```ts
 * import type { SessionEvent } from 'rx-lifeline';
 * const online = (event: SessionEvent) =>
 *   event.type === 'connected' ? true : event.type === 'disconnected' ? false : undefined;
 * ```
 * @category Operators
 */
export type SessionEvent<In = unknown, Out = In> = TransportEvent<In, Out> | DisconnectedEvent;

/**
 * A stream of {@link SessionEvent}s: a transport piped through {@link reconnectWith}.
 *
 * @example
 * ```ts
 * import { memory, policy, reconnectWith, type SessionStream } from 'rx-lifeline';
 * const session: SessionStream<string> = memory<string>().transport.pipe(reconnectWith(policy.constant(100)));
 * ```
 * @category Operators
 */
export type SessionStream<In = unknown, Out = In> = Observable<SessionEvent<In, Out>>;
