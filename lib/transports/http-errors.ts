import { LifelineError } from '../core/errors.js';

/**
 * The redirects a fetch that follows the Fetch standard takes before it gives up: 20.
 * @internal
 */
export const FETCH_MAX_REDIRECTS = 20;

/**
 * An HTTP request ({@link http}) was redirected more times than `fetch` follows (20, per the Fetch
 * standard): almost always a redirect loop, such as a login page that redirects to itself. It is
 * permanent for {@link classifyFailure}, so `retryWith` does not send the chain again: the same
 * request meets the same redirects. `fetch` reports neither the URLs it visited nor the last one,
 * so the error carries the URL requested and the count.
 *
 * Recognised in Node (undici reports "redirect count exceeded"). A browser's `fetch` reports a
 * redirect loop as any other network failure, so there it stays a `ConnectionResetError`.
 *
 * @example
 * ```ts
 * import { http, TooManyRedirectsError } from 'rx-lifeline';
 * http('https://api.example/users/7').subscribe({
 *   error: (error: unknown) => {
 *     if (TooManyRedirectsError.is(error)) console.error(`${error.url}: ${error.redirects} redirects`);
 *   },
 * });
 * ```
 */
export class TooManyRedirectsError extends LifelineError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'TooManyRedirectsError';

  /** The request method. */
  readonly method: string;
  /** The URL requested, where the chain of redirects started. */
  readonly url: string;
  /** How many redirects `fetch` followed before it gave up. */
  readonly redirects: number;

  constructor(message: string, options: { method: string; url: string; redirects: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.method = options.method;
    this.url = options.url;
    this.redirects = options.redirects;
  }
}
