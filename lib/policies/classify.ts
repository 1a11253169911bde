import { fieldOf, hasName } from './error-names.js';
import {
  checkBoolean,
  checkFunction,
  checkKnownOptions,
  describe,
  type KnownOptions,
} from '../internal/validate.js';

/**
 * Whether a failure may go away if the same thing is tried again (`'transient'`: a reset, a 503,
 * a timeout) or will fail the same way every time (`'permanent'`: a 4xx, a malformed frame, a bug
 * behind a 500).
 *
 * @example
 * ```ts
 * import { classifyFailure, type FailureClass } from 'rx-lifeline';
 * const verdict: FailureClass = classifyFailure(new Error('?')); // 'permanent'
 * ```
 * @category Policies
 */
export type FailureClass = 'transient' | 'permanent';

/**
 * Options of {@link classifyFailure}.
 *
 * @example
 * ```ts
 * import type { ClassifyOptions } from 'rx-lifeline';
 * class QuotaError extends Error {}
 * const options: ClassifyOptions = {
 *   transient: (error) => (error instanceof QuotaError ? true : undefined),
 *   retryHttp500: true,
 * };
 * ```
 * @category Policies
 */
export interface ClassifyOptions {
  /**
   * Asked first, before any built-in rule: return `true` for transient, `false` for permanent, or
   * `undefined` to let the built-in rules decide. This is how an application teaches the classifier
   * its own errors. It is not wrapped: if it throws, `classifyFailure` throws.
   * @default undefined (the built-in rules decide everything)
   */
  transient?: ((error: unknown) => boolean | undefined) | undefined;
  /**
   * Treat HTTP 500 as transient. A 500 says the server failed, not why; often it is a bug that will
   * fail again the same way (Debian's tag2upload retried a "transient" 500 from an API that turned
   * out to be a bug: https://bugs.debian.org/1125487), so by default it is permanent. Set this when the server is known to return 500 for passing trouble. It changes no
   * other status (501, 505, … stay permanent), except the WebSocket close code 1011, its twin.
   * @default false
   */
  retryHttp500?: boolean | undefined;
}

/** The options of {@link ClassifyOptions}. @internal */
export const CLASSIFY_OPTIONS: KnownOptions<ClassifyOptions> = { transient: true, retryHttp500: true };

/** Checks the options of {@link classifyFailure}, for it and for `RetryPolicy.classify`. @internal */
export function checkClassifyOptions(where: string, options: ClassifyOptions): void {
  checkKnownOptions(where, options, CLASSIFY_OPTIONS);
  const { transient, retryHttp500 = false } = options;
  if (transient !== undefined) checkFunction(where, 'transient', transient);
  checkBoolean(where, 'retryHttp500', retryHttp500);
}

/**
 * What `classify` (a user's classifier, which `where` names) says of `error`, checked: anything but
 * `'transient'` or `'permanent'` (an `undefined` from a path without a return) is a TypeError that
 * says what it answered, as if the classifier had thrown it. Without the check the policy retried
 * such a failure while the breaker released its permit, as two different verdicts.
 * @internal
 */
export function verdictOf(
  where: string,
  classify: (error: unknown) => FailureClass,
  error: unknown,
): FailureClass {
  const verdict: unknown = classify(error);
  if (verdict === 'transient' || verdict === 'permanent') return verdict;
  throw new TypeError(`${where} must return 'transient' or 'permanent', got ${describe(verdict)}`);
}

/**
 * Decides whether a failure is worth retrying ({@link FailureClass}). One function owns the
 * decision and comments every case, in the manner of graphql-ws's `shouldRetryConnectOrThrow`.
 *
 * Rules, first match wins: `options.transient`; a request that is not idempotent (an error whose
 * `idempotent` property is `false`, as {@link http} sets on a POST without an `Idempotency-Key`) is
 * permanent unless it is a `DialError`; lifeline's policy errors; protocol errors
 * (permanent); a refused handshake (permanent, except `'unavailable'` and `'overloaded'`); connection errors (transient, except a WebSocket close code that rejects the client);
 * too many redirects (permanent);
 * timeouts by name (transient); HTTP status read structurally from a numeric `status` property
 * (408, 425, 429, 502, 503, 504 transient; 500 per `retryHttp500`; everything else permanent);
 * anything else permanent.
 *
 * It only classifies: beyond that `idempotent` flag it does not judge whether resending is *safe*
 * (that depends on what was written, see `ConnectionError.write`), does not look
 * inside `cause`, and does not count attempts or time.
 *
 * @example
 * ```ts
 * import { classifyFailure, ConnectionResetError, ProtocolError } from 'rx-lifeline';
 * classifyFailure(new ConnectionResetError('reset', { phase: 'read' })); // 'transient'
 * classifyFailure(new ProtocolError('garbled', { offset: 0 })); // 'permanent'
 * classifyFailure(Object.assign(new Error('busy'), { status: 503 })); // 'transient'
 * classifyFailure(Object.assign(new Error('oops'), { status: 500 }), { retryHttp500: true }); // 'transient'
 * classifyFailure(Object.assign(new Error('busy'), { status: 503, idempotent: false })); // 'permanent'
 * ```
 * @category Policies
 */
export function classifyFailure(error: unknown, options: ClassifyOptions = {}): FailureClass {
  checkClassifyOptions('classifyFailure', options);
  const { transient, retryHttp500 = false } = options;

  // The application knows its own errors best, so it is asked first; undefined means "no opinion".
  const verdict = transient?.(error);
  if (verdict === true) return 'transient';
  if (verdict === false) return 'permanent';
  if (verdict !== undefined) {
    throw new TypeError(
      `classifyFailure: transient() must return a boolean or undefined, got ${describe(verdict)}`,
    );
  }

  // A request that is not idempotent (an HTTP POST without an Idempotency-Key) may have been acted
  // on even though it failed: the server may have processed it before the connection broke, or
  // before it answered 503. Sending it again could apply it twice, so no failure of it is
  // retried — except a DialError: the connection was never made, so nothing was sent. Read
  // structurally, like `status`; only the boolean `false` counts.
  if (fieldOf(error, 'idempotent') === false && !hasName(error, 'DialError')) return 'permanent';

  const named = classifyNamed(error, retryHttp500);
  if (named !== undefined) return named;
  const status = httpStatusOf(error);
  if (status !== undefined) return classifyStatus(status, retryHttp500);
  // An error we do not understand is permanent: retrying it could loop forever on a bug, and it is
  // better surfaced to the caller, who can teach the classifier with `options.transient`.
  return 'permanent';
}

/**
 * The class of an error lifeline (or RxJS, or fetch) raises, by its name; `undefined` for any other.
 *
 * Every error here is matched by its name, never by its class: the classifier imports no error
 * class (a bundle of the retry policy alone carries none), and recognises the errors of another
 * copy of lifeline as its own.
 */
function classifyNamed(error: unknown, retryHttp500: boolean): FailureClass | undefined {
  // An open breaker closes again by itself (half-open after its open duration): wait and retry.
  if (hasName(error, 'CircuitOpenError')) return 'transient';
  // The retry budget refused this retry; retrying the refusal would spend the budget it protects.
  if (hasName(error, 'RetryBudgetExhaustedError')) return 'permanent';

  // A refused handshake (another stack, another version, bad credentials) is refused the same way
  // on the next connection; only 'unavailable' (the server's authenticate failed) and 'overloaded'
  // (its admission control) may pass. Matched
  // by name: the handshake layer sits above the policies.
  if (hasName(error, 'HandshakeRefusedError')) {
    const { reason } = error as { reason?: unknown };
    return reason === 'unavailable' || reason === 'overloaded' ? 'transient' : 'permanent';
  }
  // A session store that could not be reached may be back on the next try; a store that fenced
  // this process out, or lost the session, answers the same way again. Matched by name.
  if (hasName(error, 'SessionStoreError')) {
    return (error as { code?: unknown }).code === 'unavailable' ? 'transient' : 'permanent';
  }
  // Bytes that were not valid frames (FrameTooLargeError included) come out the same way again: the
  // peer speaks another protocol or version, or is hostile. Checked before ConnectionError, of which
  // ProtocolError is a subclass.
  if (hasName(error, 'ProtocolError')) return 'permanent';
  // Refused, unreachable or timed out while dialling: the peer may be restarting. Nothing was sent.
  if (hasName(error, 'DialError')) return 'transient';
  // An established connection was reset or aborted: the network cut it, the next one may hold.
  if (hasName(error, 'ConnectionResetError')) return 'transient';
  if (hasName(error, 'PeerClosedError')) {
    const { code } = error as { code?: unknown };
    // A WebSocket peer that closes with a code saying it rejects this client will reject it again.
    if (typeof code === 'number' && REJECTING_CLOSE_CODES.has(code)) return 'permanent';
    // 1011 is the WebSocket "internal error": the same doubt as HTTP 500, the same switch.
    if (code === 1011) return retryHttp500 ? 'transient' : 'permanent';
    // Otherwise the peer went away mid-stream (a cut, a restart, 1012 service restart, 1013 try
    // again later): a new connection may well succeed.
    return 'transient';
  }
  // Any other connection failure (a write that failed, a read error) is about the link, not the
  // request; a new connection may succeed.
  if (hasName(error, 'ConnectionError')) return 'transient';

  // More redirects than fetch follows (http()'s TooManyRedirectsError) is a redirect loop: the same
  // request meets the same redirects again. Matched by name, like the timeouts below.
  if (hasName(error, 'TooManyRedirectsError')) return 'permanent';

  // RxJS's `timeout()` raises TimeoutError, as do AbortSignal.timeout() and fetch; lifeline's
  // heartbeat will raise HeartbeatTimeoutError. Matched by name so that no import is needed and a
  // second copy of RxJS or lifeline is recognised. A timeout says the answer was late, not wrong.
  if (hasName(error, 'TimeoutError') || hasName(error, 'HeartbeatTimeoutError')) return 'transient';
  return undefined;
}

/** The class of an HTTP status carried by an error. */
function classifyStatus(status: number, retryHttp500: boolean): FailureClass {
  // 408 Request Timeout, 425 Too Early, 429 Too Many Requests: the server asks to come back later.
  // 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout: something between us and the
  // service is down or overloaded, which passes.
  if (TRANSIENT_STATUSES.has(status)) return 'transient';
  // 500 Internal Server Error: may be passing trouble, is often a bug; see retryHttp500.
  if (status === 500) return retryHttp500 ? 'transient' : 'permanent';
  // Every other status is permanent. 401 Unauthorized and 403 Forbidden: the credentials will not
  // improve by themselves; fix them (refresh a token) and start over rather than retry. Any other
  // 4xx says the request itself is wrong: sent again, it is wrong again. The other 5xx (501 Not
  // Implemented, 505, 507, …) do not promise recovery; nor is a 1xx, 2xx or 3xx raised as an error
  // understood.
  return 'permanent';
}

/** 408, 425, 429, 502, 503, 504: the statuses that ask to be retried. */
const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 502, 503, 504]);

/**
 * WebSocket close codes (RFC 6455 §7.4.1) that mean the peer rejects what this client sends:
 * 1002 protocol error, 1003 unsupported data, 1007 invalid payload, 1008 policy violation,
 * 1009 message too big, 1010 missing extension.
 */
const REJECTING_CLOSE_CODES: ReadonlySet<number> = new Set([1002, 1003, 1007, 1008, 1009, 1010]);

/** The HTTP status of an error with an integer `status` from 100 to 599, read structurally. */
function httpStatusOf(error: unknown): number | undefined {
  const status = fieldOf(error, 'status');
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599
    ? status
    : undefined;
}
