import type { Observable } from 'rxjs';
import type { Link } from '../core/transport.js';
import type { Origin } from './origin.js';

/**
 * Exclusive use of one pooled connection for an exchange of several steps that must stay on one
 * connection — LOCK then UNLOCK, a transfer and its acknowledgement. Emitted by
 * {@link ConnectionPool.lease}.
 *
 * End it one of three ways:
 * - `release()`: the exchange is finished. The connection goes back to the pool if it is healthy
 *   and every frame sent on it was confirmed written whole; otherwise it is closed.
 * - `discard()`: the exchange went wrong; the connection is closed, never reused.
 * - unsubscribing from the lease Observable without `release()`: the exchange was interrupted
 *   midway, so its state on the server is unknown. The connection is closed, never reused — a lock
 *   taken on it dies with it instead of being inherited by the next user.
 *
 * After any of them, `link` is revoked (`send` throws `LinkClosedError`) and `frames$` completes.
 * It does not time the exchange out: pipe `timeout` onto what you wait for.
 *
 * @typeParam In - inbound frame type. @typeParam Out - outbound frame type.
 * @example
 * ```ts
 * import { ConnectionPool, memory, type Lease } from 'rx-lifeline';
 * import { first } from 'rxjs';
 * const endpoint = memory<string>();
 * const pool = new ConnectionPool<string>({ dial: () => endpoint.transport });
 * const onError = (error: unknown) => console.error('lock failed', error);
 * pool.lease('tcp://files.example.com:7070').subscribe({
 *   next: (lease: Lease<string>) => {
 *     lease.link.send('LOCK key-1');
 *     lease.frames$.pipe(first()).subscribe({
 *       next: (reply) => {
 *         lease.link.send('UNLOCK key-1');
 *         if (reply === 'OK') lease.release();
 *         else lease.discard();
 *       },
 *       error: onError,
 *     });
 *   },
 *   error: onError,
 * });
 * ```
 * @category Pools
 */
export interface Lease<In = unknown, Out = In> {
  /** The origin the connection goes to. */
  readonly origin: Origin;
  /** The connection's link, valid until the lease ends. */
  readonly link: Link<Out>;
  /**
   * Inbound frames of the connection while the lease lasts. A Subject, not a replay: subscribe in
   * the same call that receives the lease. It completes when the lease ends, however it ends; a
   * connection error comes through the lease Observable, not through `frames$`.
   */
  readonly frames$: Observable<In>;
  /** True once the lease ended (released, discarded, interrupted or broken). */
  readonly ended: boolean;
  /** Ends the exchange and returns the connection to the pool if it is healthy and fully written. */
  release(): void;
  /** Ends the exchange and closes the connection; it is never reused. */
  discard(): void;
}

/** @internal */
export class PoolLease<In, Out> implements Lease<In, Out> {
  constructor(
    readonly origin: Origin,
    readonly link: Link<Out>,
    readonly frames$: Observable<In>,
    private readonly finish: (reuse: boolean) => void,
    private readonly isEnded: () => boolean,
  ) {}

  get ended(): boolean {
    return this.isEnded();
  }

  release(): void {
    this.finish(true);
  }

  discard(): void {
    this.finish(false);
  }
}
