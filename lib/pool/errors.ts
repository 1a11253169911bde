import { LifelineError } from '../core/errors.js';

/**
 * A {@link ConnectionPool} could not give a connection: every one of its `openTotal` connections
 * is in use and its waiting queue (`maxWaiting`) is full. Nothing was dialled or sent, so the
 * request can be retried later as it is.
 *
 * @example
 * ```ts
 * import { PoolExhaustedError } from 'rx-lifeline';
 * const busy = (e: unknown) => (PoolExhaustedError.is(e) ? `${e.key}: ${e.waiting} waiting` : '');
 * ```
 * @category Pools
 */
export class PoolExhaustedError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'PoolExhaustedError';

  /** The origin key that was asked for. */
  readonly key: string;
  /** Connections open in the whole pool at the time (equal to `openTotal`). */
  readonly open: number;
  /** Requests already waiting (equal to `maxWaiting`). */
  readonly waiting: number;

  constructor(message: string, options: { key: string; open: number; waiting: number }) {
    super(message);
    this.key = options.key;
    this.open = options.open;
    this.waiting = options.waiting;
  }
}

/**
 * The {@link ConnectionPool} was closed: every request waiting for a connection, every transport
 * and lease holding one fails with this error, and so does every later request.
 *
 * @example
 * ```ts
 * import { PoolClosedError } from 'rx-lifeline';
 * const closedPool = (e: unknown) => PoolClosedError.is(e);
 * ```
 * @category Pools
 */
export class PoolClosedError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'PoolClosedError';
}
