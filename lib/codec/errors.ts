import { ProtocolError } from '../core/errors.js';

/**
 * A frame would take more memory once decoded than its decode budget allows ({@link msgpackCodec}'s
 * `maxInflation` and `minDecodeBudget`). Raised by the check that runs before msgpackr, from an
 * estimate of what each value costs in memory, so nothing of the frame was built. Through a
 * transport it reaches the application as the `cause` of the connection's {@link ProtocolError};
 * from `codec.decode` it is thrown as it is. Retrying will not help: the peer sends the same frame.
 *
 * @example
 * ```ts
 * import { DecodeBudgetError, ProtocolError } from 'rx-lifeline';
 * const overBudget = (error: unknown) =>
 *   DecodeBudgetError.is(error) || (ProtocolError.is(error) && DecodeBudgetError.is(error.cause));
 * ```
 */
export class DecodeBudgetError extends ProtocolError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'DecodeBudgetError';

  /** The frame's size in bytes. */
  declare readonly frameBytes: number;
  /**
   * The estimated memory, in bytes, of the part of the frame read when the check stopped: more
   * than `budget`, and no more than the whole frame's estimate.
   */
  declare readonly estimate: number;
  /** The frame's budget in bytes: `maxInflation × frameBytes`, and at least `minDecodeBudget`. */
  declare readonly budget: number;

  constructor(
    message: string,
    options: { frameBytes: number; estimate: number; budget: number; offset?: number; cause?: unknown },
  ) {
    super(message, { offset: options.offset ?? 0, cause: options.cause });
    this.frameBytes = options.frameBytes;
    this.estimate = options.estimate;
    this.budget = options.budget;
  }
}
