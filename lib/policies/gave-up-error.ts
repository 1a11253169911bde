import { LifelineError } from '../core/errors.js';
import type { GiveUpReason } from './retry-policy.js';

/**
 * A retrying operator ({@link reconnectWith}, {@link retryWith}) stopped because its policy gave up.
 * `cause` is the last failure (or the budget's refusal), `attempts` how many attempts failed in a
 * row, and `reason` why the policy stopped.
 *
 * @example
 * ```ts
 * import { GaveUpError } from 'rx-lifeline';
 * const explain = (e: unknown) =>
 *   GaveUpError.is(e) ? `gave up after ${e.attempts} attempts (${e.reason})` : String(e);
 * ```
 * @category Operators
 */
export class GaveUpError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'GaveUpError';

  /** Consecutive failed attempts, the last included. */
  declare readonly attempts: number;
  /** Why the policy gave up. */
  declare readonly reason: GiveUpReason;

  constructor(message: string, options: { cause: unknown; attempts: number; reason: GiveUpReason }) {
    super(message, { cause: options.cause });
    this.attempts = options.attempts;
    this.reason = options.reason;
  }
}
