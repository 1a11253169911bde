import { describeError } from '../internal/describe-value.js';
import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs';
import { msgpackCodec, type Codec } from '../codec/codec.js';
import {
  ConnectionResetError,
  DialError,
  EncodeError,
  FrameTooLargeError,
  HttpError,
  ProtocolError,
  type ConnectionError,
} from '../core/errors.js';
import {
  checkKnownOptions,
  checkNumber,
  checkScheduler,
  describe,
  type KnownOptions,
} from '../internal/validate.js';
import { concatBytes } from '../internal/bytes.js';
import { DecodeBudgetError } from '../codec/errors.js';
import { FETCH_MAX_REDIRECTS, TooManyRedirectsError } from './http-errors.js';

/**
 * One HTTP request for {@link http}. A plain string is short for `{ url }`: a GET.
 *
 * Whether it is *idempotent* — safe to send twice with the effect of once — decides whether a
 * failure after it may have left can be retried: GET, HEAD, OPTIONS, PUT and DELETE are;
 * POST, PATCH and other methods are only with an `idempotencyKey` (the server deduplicates) or
 * `idempotent: true` (the caller vouches for it).
 *
 * @example
 * ```ts
 * import type { HttpRequest } from 'rx-lifeline';
 * const order: HttpRequest = {
 *   url: 'https://shop.example/orders',
 *   method: 'POST',
 *   headers: { authorization: 'Bearer t0k3n' },
 *   body: { item: 'tea', quantity: 2 },
 *   idempotencyKey: 'order-7f3a',
 * };
 * ```
 * @category Transports
 */
export interface HttpRequest {
  /**
   * An absolute `http:` or `https:` URL; in a browser, also one relative to the page. It is passed
   * to `fetch` as it is, not rewritten; one with a user name or password is refused.
   * @default none (required)
   */
  url: string;
  /**
   * The method. The standard ones (GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE) are upper-cased;
   * any other is sent as written. CONNECT, TRACE and TRACK are refused, as `fetch` refuses them.
   * @default 'GET'
   */
  method?: string | undefined;
  /**
   * Request headers. `Content-Type` (for an encoded body), `Accept` (for a JSON or msgpack
   * response) and `Idempotency-Key` are added only when absent; nothing else is added or removed.
   * @default none
   */
  headers?: Headers | Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]> | undefined;
  /**
   * The body. A string is sent as UTF-8 text and a `Uint8Array` as its bytes, both untouched; any
   * other value is encoded once, when `http()` is called, per {@link HttpOptions.bodyEncoding}, so
   * every retry sends the same bytes. A value that cannot be encoded makes the Observable error with
   * `EncodeError` on subscription (nothing is sent). GET and HEAD take no body.
   * @default undefined (no body)
   */
  body?: unknown;
  /**
   * A key the server uses to apply this request at most once (IETF draft "The Idempotency-Key HTTP
   * Header Field"); sent as the `Idempotency-Key` header, and makes the request idempotent. It does
   * not make the server deduplicate: that is the server's promise, lifeline only sends the key.
   * @default undefined (none; an `Idempotency-Key` in `headers` counts as one)
   */
  idempotencyKey?: string | undefined;
  /**
   * Overrides the idempotency the method and key imply: `true` for a POST the server is known to
   * apply once, `false` for a GET with side effects.
   * @default true for GET, HEAD, OPTIONS, PUT and DELETE, and for any request with an idempotency key; else false
   */
  idempotent?: boolean | undefined;
}

/**
 * Options of {@link http}.
 *
 * @example
 * ```ts
 * import type { HttpOptions } from 'rx-lifeline';
 * const options: HttpOptions = { responseType: 'text', maxBodyBytes: 1024 * 1024 };
 * ```
 * @category Transports
 */
export interface HttpOptions {
  /**
   * The `fetch` to use: inject one to add credentials, a proxy or a test double. It is called as a
   * plain function with the URL and a `RequestInit` holding `method`, `headers`, `body` and an
   * abort `signal`. It does not change how failures are typed. It must resolve to a `Response`
   * whose body is `null` or a ReadableStream: anything else errors with a TypeError that says so.
   * @default globalThis.fetch
   */
  fetch?: ((url: string, init: RequestInit) => Promise<Response>) | undefined;
  /**
   * The largest response body accepted, in bytes, after any content decoding: a larger one makes
   * the Observable error with `FrameTooLargeError` and its connection is closed. A declared
   * `Content-Length` over it fails before the body is read; otherwise the body is counted as it
   * arrives, and no more than this is ever held. It does not limit what is sent.
   * @default 16 MiB (16_777_216)
   */
  maxBodyBytes?: number | undefined;
  /**
   * How a 2xx response body becomes {@link HttpResponse.body}: `'json'` (parsed from UTF-8),
   * `'text'` (UTF-8, malformed bytes replaced), `'bytes'` (a `Uint8Array` that owns its bytes) or
   * `'msgpack'` (decoded with {@link msgpackCodec}'s defaults). An empty body is `undefined` for
   * `'json'` and `'msgpack'`. It ignores the response's `Content-Type` and charset; a body that
   * does not decode makes the Observable error with `ProtocolError`.
   *
   * The decoded body's memory is bounded by `maxBodyBytes`: a msgpack body is refused before it is
   * decoded when it would take more than 32 times its size (its `cause` is a
   * {@link DecodeBudgetError}); JSON cannot go past about 22 times (16 MiB of `[{},{},...]`
   * measured 357 MiB), text 2 times (UTF-16), bytes once.
   * @default 'json'
   */
  responseType?: 'json' | 'text' | 'bytes' | 'msgpack' | undefined;
  /**
   * How a request body that is neither a string nor a `Uint8Array` is encoded: `'json'`
   * (`Content-Type: application/json`) or `'msgpack'` (`Content-Type: application/msgpack`,
   * with {@link msgpackCodec}'s defaults). It does not touch string or byte bodies.
   * @default 'json'
   */
  bodyEncoding?: 'json' | 'msgpack' | undefined;
  /**
   * The clock for `Retry-After` dates: `scheduler.now()` is "now" when a `Retry-After` HTTP-date is
   * turned into `HttpError.retryAfterMs`. http() schedules nothing on it; the waits between retries
   * belong to `retryWith`'s scheduler.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike | undefined;
}

/**
 * A 2xx response, read whole and decoded per {@link HttpOptions.responseType}.
 *
 * @typeParam T - the decoded body's type. It is what the caller claims, not checked.
 * @example
 * ```ts
 * import type { HttpResponse } from 'rx-lifeline';
 * const etagOf = (response: HttpResponse) => response.headers.get('etag') ?? undefined;
 * ```
 * @category Transports
 */
export interface HttpResponse<T = unknown> {
  /** The status, 200–299. */
  readonly status: number;
  /** The response headers. */
  readonly headers: Headers;
  /** The decoded body. */
  readonly body: T;
}

/**
 * One HTTP request as a cold Observable, on `fetch`, browser-safe: each subscription sends the
 * request once and emits one {@link HttpResponse} for a 2xx answer, then completes. Unsubscribing
 * aborts the request and closes its connection; nothing is emitted after that.
 *
 * Failures are typed so that {@link classifyFailure}, and so {@link retryWith}, can decide on them:
 *
 * - a status outside 2xx: {@link HttpError} (`status`, `retryAfterMs` from `Retry-After`, the
 *   first 4 KiB of the body as `bodyText`);
 * - no connection made (refused, unknown host, connect timeout): {@link DialError} with the
 *   system `code` (`ECONNREFUSED`, `ENOTFOUND`, …) — nothing was sent;
 * - any other network failure, before or during the response: {@link ConnectionResetError}, phase
 *   `'read'`, with the code when there is one (`UND_ERR_SOCKET`, `ECONNRESET`). A browser's fetch
 *   does not say whether it connected, so there every network failure is this one;
 * - more redirects than `fetch` follows (a redirect loop): {@link TooManyRedirectsError}, which is
 *   permanent (in Node; a browser's fetch does not say, so there it is a `ConnectionResetError`);
 * - a body over `maxBodyBytes`: {@link FrameTooLargeError} (`size` is the declared length, or the
 *   bytes received when the cap was passed); a body that does not decode, or (msgpack) would
 *   decode over its {@link DecodeBudgetError | decode budget}: {@link ProtocolError}.
 *
 * Each of these errors has an `idempotent` property saying whether the request was idempotent
 * (see {@link HttpRequest}). When it is `false` the classifier calls every one of them permanent
 * except the `DialError`, so a POST without an `Idempotency-Key` is resent only if it never left.
 *
 * It does not retry by itself: pipe `retryWith(policy)`, which resubscribes — a new request each
 * time. Nor does it time out: put RxJS `timeout()` between `http()` and `retryWith` — but note its
 * `TimeoutError` has no `idempotent` flag, so the default classifier retries it even for a POST.
 * It does not follow cookies or caches beyond what the given `fetch` does, and it follows redirects
 * as `fetch` does, up to 20.
 *
 * @typeParam T - the decoded body's type, as the caller claims it.
 * @throws TypeError on a request or option that makes no sense (no `fetch` available, a URL that is
 * not http(s), a body on a GET, a `maxBodyBytes` that is not a non-negative integer, a field or
 * option it does not know, …).
 * @example
 * ```ts
 * import { http, policy, retryWith, HttpError } from 'rx-lifeline';
 * const retry = policy.exponential({ initial: 200, max: 10_000 }).maxAttempts(5);
 * http<{ name: string }>('https://api.example/users/7')
 *   .pipe(retryWith(retry))
 *   .subscribe({
 *     next: (response) => console.log(response.body.name),
 *     error: (error: unknown) => console.error(HttpError.is(error) ? error.status : error),
 *   });
 * // A POST is retried only with an idempotency key (or after a refused connection).
 * http({ url: 'https://api.example/orders', method: 'POST', body: { tea: 2 }, idempotencyKey: 'o-1' })
 *   .pipe(retryWith(retry))
 *   .subscribe();
 * ```
 * @category Transports
 */
export function http<T = unknown>(
  request: string | HttpRequest,
  options: HttpOptions = {},
): Observable<HttpResponse<T>> {
  const settings = resolveOptions(options);
  const prepared = prepareRequest(request, settings);
  return new Observable<HttpResponse<T>>((subscriber) => {
    if (prepared.encodeError) {
      subscriber.error(prepared.encodeError);
      return undefined;
    }
    const controller = new AbortController();
    const progress: Progress = { bodyRead: false };
    exchange(prepared, settings, controller.signal, progress).then(
      (response) => {
        subscriber.next(response as HttpResponse<T>);
        subscriber.complete();
      },
      // After an unsubscribe the subscriber is closed and drops the AbortError.
      (error: unknown) => subscriber.error(error),
    );
    // A body read to its end leaves the connection reusable; anything less (an unsubscribe, a body
    // over the cap, an error body cut at 4 KiB) aborts, which closes the connection.
    return () => {
      if (!progress.bodyRead) controller.abort();
    };
  });
}

/** The most of an error response's body kept as `HttpError.bodyText`. */
const ERROR_BODY_BYTES = 4096;
const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const STANDARD_METHODS: ReadonlySet<string> = new Set([...IDEMPOTENT_METHODS, 'POST', 'PATCH']);
const FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);
/** RFC 9110 `token`. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const RESPONSE_TYPES: ReadonlySet<unknown> = new Set(['json', 'text', 'bytes', 'msgpack']);
const BODY_ENCODINGS: ReadonlySet<unknown> = new Set(['json', 'msgpack']);
const MSGPACK_TYPE = 'application/msgpack';
const ACCEPT: Readonly<Record<Settings['responseType'], string | undefined>> = {
  json: 'application/json',
  msgpack: MSGPACK_TYPE,
  text: undefined,
  bytes: undefined,
};
/**
 * Error codes that only arise before a connection exists: refused, unroutable, a name that does not
 * resolve, undici's connect timeout. Matched when the error does not say its system call.
 */
const DIAL_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

let msgpack: Codec<unknown> | undefined;
/** lifeline's msgpack codec with its defaults, made on first use. */
function sharedMsgpack(): Codec<unknown> {
  return (msgpack ??= msgpackCodec());
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

interface Settings {
  readonly fetch: Fetch;
  readonly maxBodyBytes: number;
  readonly responseType: 'json' | 'text' | 'bytes' | 'msgpack';
  readonly bodyEncoding: 'json' | 'msgpack';
  readonly scheduler: SchedulerLike;
}

interface Prepared {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string | Uint8Array | undefined;
  readonly idempotent: boolean;
  readonly encodeError: EncodeError | undefined;
}

/** Per subscription: whether the response body was read to its end. */
interface Progress {
  bodyRead: boolean;
}

const OPTIONS: KnownOptions<HttpOptions> = {
  fetch: true,
  maxBodyBytes: true,
  responseType: true,
  bodyEncoding: true,
  scheduler: true,
};

const REQUEST_FIELDS: KnownOptions<HttpRequest> = {
  url: true,
  method: true,
  headers: true,
  body: true,
  idempotencyKey: true,
  idempotent: true,
};

function resolveOptions(options: HttpOptions): Settings {
  checkKnownOptions('http', options, OPTIONS);
  const {
    fetch = globalFetch(),
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
    responseType = 'json',
    bodyEncoding = 'json',
    scheduler = asyncScheduler,
  } = options;
  if (fetch === undefined) {
    throw new TypeError('http: no fetch available: pass { fetch } (globalThis.fetch is missing)');
  }
  if (typeof fetch !== 'function')
    throw new TypeError(`http: fetch must be a function, got ${describe(fetch)}`);
  checkNumber('http', 'maxBodyBytes', maxBodyBytes, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
  if (!RESPONSE_TYPES.has(responseType)) {
    throw new TypeError(
      `http: responseType must be 'json', 'text', 'bytes' or 'msgpack', got ${describe(responseType)}`,
    );
  }
  if (!BODY_ENCODINGS.has(bodyEncoding)) {
    throw new TypeError(`http: bodyEncoding must be 'json' or 'msgpack', got ${describe(bodyEncoding)}`);
  }
  checkScheduler('http', scheduler);
  return { fetch, maxBodyBytes, responseType, bodyEncoding, scheduler };
}

/** The request's headers, or a TypeError that says which header the platform refused. */
function toHeaders(given: HttpRequest['headers']): Headers {
  try {
    return new Headers(given as ConstructorParameters<typeof Headers>[0]);
  } catch (error) {
    throw new TypeError(
      `http: headers must be a Headers, a record of names to values or a list of [name, value] pairs, of valid names and values; ${describeError(error)}`,
      { cause: error },
    );
  }
}

function globalFetch(): Fetch | undefined {
  return (globalThis as { fetch?: Fetch }).fetch;
}

function prepareRequest(request: string | HttpRequest, settings: Settings): Prepared {
  const fields: HttpRequest = typeof request === 'string' ? { url: request } : request;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new TypeError(`http: request must be a URL or an HttpRequest, got ${describe(request)}`);
  }
  checkKnownOptions('http', fields, REQUEST_FIELDS);
  const {
    url,
    method: givenMethod = 'GET',
    headers: givenHeaders,
    body,
    idempotencyKey,
    idempotent,
  } = fields;
  checkUrl(url);
  const method = checkMethod(givenMethod);
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw new TypeError(`http: a ${method} request cannot have a body`);
  }
  if (idempotent !== undefined && typeof idempotent !== 'boolean') {
    throw new TypeError(`http: idempotent must be a boolean, got ${describe(idempotent)}`);
  }
  const headers = toHeaders(givenHeaders);
  const key = checkIdempotencyKey(idempotencyKey, headers.get('idempotency-key'));
  if (key !== undefined) headers.set('idempotency-key', key);
  const accept = ACCEPT[settings.responseType];
  if (accept !== undefined && !headers.has('accept')) headers.set('accept', accept);

  let encoded: string | Uint8Array | undefined;
  let encodeError: EncodeError | undefined;
  try {
    encoded = encodeBody(body, settings.bodyEncoding, headers);
  } catch (error) {
    encodeError = new EncodeError(
      `http: the body of ${method} ${url} cannot be encoded as ${settings.bodyEncoding}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  return {
    url,
    method,
    headers,
    body: encoded,
    idempotent: idempotent ?? (IDEMPOTENT_METHODS.has(method) || key !== undefined),
    encodeError,
  };
}

function checkUrl(url: unknown): asserts url is string {
  // In a browser a URL may be relative to the page, as fetch allows.
  const base = (globalThis as { location?: { href?: unknown } }).location?.href;
  const parsed =
    typeof url === 'string' && URL.canParse(url, typeof base === 'string' ? base : undefined)
      ? new URL(url, typeof base === 'string' ? base : undefined)
      : undefined;
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new TypeError(`http: url must be an http: or https: URL, got ${describe(url)}`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new TypeError('http: url must not contain credentials: send an Authorization header');
  }
}

function checkMethod(method: unknown): string {
  if (typeof method !== 'string' || !TOKEN.test(method)) {
    throw new TypeError(`http: method must be an HTTP method name, got ${describe(method)}`);
  }
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`http: fetch does not send ${upper} requests`);
  return STANDARD_METHODS.has(upper) ? upper : method;
}

function checkIdempotencyKey(given: unknown, inHeaders: string | null): string | undefined {
  if (given === undefined) return inHeaders ?? undefined;
  if (typeof given !== 'string' || given === '') {
    throw new TypeError(`http: idempotencyKey must be a non-empty string, got ${describe(given)}`);
  }
  if (inHeaders !== null && inHeaders !== given) {
    throw new TypeError('http: idempotencyKey differs from the Idempotency-Key header');
  }
  return given;
}

/** Encodes a body that is not already text or bytes; sets its Content-Type unless one was given. */
function encodeBody(
  body: unknown,
  encoding: 'json' | 'msgpack',
  headers: Headers,
): string | Uint8Array | undefined {
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {
    // JSON would turn them into `{}` or index maps, msgpack into stale bytes: ask for the view.
    throw new TypeError('pass binary data as a Uint8Array');
  }
  let encoded: string | Uint8Array;
  if (encoding === 'json') {
    const text = JSON.stringify(body) as string | undefined;
    if (text === undefined) throw new TypeError(`JSON has no representation of ${describe(body)}`);
    encoded = text;
  } else {
    // A copy: the codec may reuse its output buffer, and every retry sends these bytes.
    encoded = new Uint8Array(sharedMsgpack().encode(body));
  }
  if (!headers.has('content-type')) {
    headers.set('content-type', encoding === 'json' ? 'application/json' : MSGPACK_TYPE);
  }
  return encoded;
}

/**
 * What the `fetch` option answered, checked: a `Response` has a numeric status, headers, and a body
 * that is `null` or a ReadableStream (node-fetch 2's Node stream failed later, with
 * 'response.body.getReader is not a function').
 */
function checkResponse(response: unknown): void {
  const { status, headers, body } = (response ?? {}) as Partial<Response>;
  const readable = body === null || typeof body?.getReader === 'function';
  if (typeof status === 'number' && typeof headers?.get === 'function' && readable) return;
  throw new TypeError(
    `http: fetch must resolve to a Response (with a status, headers and a body that is null or a ReadableStream), got ${describe(response)}`,
  );
}

/** One request and its response, for one subscription. */
async function exchange(
  request: Prepared,
  settings: Settings,
  signal: AbortSignal,
  progress: Progress,
): Promise<HttpResponse<unknown>> {
  const response = await send(request, settings, signal);
  if (response.status < 200 || response.status > 299) {
    throw await statusError(response, request, settings, progress);
  }
  const bytes = await readBody(response, request, progress, {
    limit: settings.maxBodyBytes,
    truncate: false,
  });
  return { status: response.status, headers: response.headers, body: decodeBody(bytes, request, settings) };
}

/** Sends the request: the Response, or a network error when fetch throws or rejects. */
async function send(request: Prepared, settings: Settings, signal: AbortSignal): Promise<Response> {
  const { url, method, headers, body } = request;
  let response: Response;
  try {
    const init: RequestInit = { method, headers, signal };
    if (body !== undefined) init.body = body as NonNullable<RequestInit['body']>;
    // Called as a plain function: a browser's fetch throws "Illegal invocation" on another `this`.
    const { fetch } = settings;
    response = await fetch(url, init);
  } catch (error) {
    throw networkError(error, request);
  }
  checkResponse(response);
  return response;
}

/**
 * The HttpError for a response whose status is not 2xx, with its Retry-After (counted from the
 * time the response arrived) and the first {@link ERROR_BODY_BYTES} of its body.
 */
async function statusError(
  response: Response,
  request: Prepared,
  settings: Settings,
  progress: Progress,
): Promise<HttpError> {
  const { method, url } = request;
  const now = settings.scheduler.now();
  const head = await readBody(response, request, progress, { limit: ERROR_BODY_BYTES, truncate: true });
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now);
  const statusLine = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new HttpError(`${method} ${url} failed: ${statusLine}`, {
    status: response.status,
    statusText: response.statusText,
    method,
    url,
    headers: response.headers,
    retryAfterMs,
    // `stream: true` holds back a character cut at the 4 KiB mark instead of mangling it.
    bodyText: new TextDecoder().decode(head, { stream: true }),
    idempotent: request.idempotent,
  });
}

/** The body decoded as `responseType`, or a ProtocolError saying why it cannot be. */
function decodeBody(bytes: Uint8Array, request: Prepared, settings: Settings): unknown {
  try {
    return decode(bytes, settings.responseType);
  } catch (error) {
    const why = DecodeBudgetError.is(error)
      ? 'would take too much memory once decoded'
      : `is not valid ${settings.responseType}`;
    throw marked(
      new ProtocolError(`${request.method} ${request.url}: the response body ${why}`, {
        offset: 0,
        cause: error,
      }),
      request.idempotent,
    );
  }
}

/**
 * Reads the body, never holding more than `limit` bytes: with `truncate` it keeps the first `limit`
 * and stops reading; otherwise a longer body is a FrameTooLargeError. The caller's teardown aborts
 * the request when the body was not read to its end, which closes the connection.
 */
async function readBody(
  response: Response,
  request: Prepared,
  progress: Progress,
  { limit, truncate }: { limit: number; truncate: boolean },
): Promise<Uint8Array> {
  const tooLarge = (size: number, how: string) =>
    marked(
      new FrameTooLargeError(
        `${request.method} ${request.url}: the response body ${how} ${size} bytes, over maxBodyBytes (${limit})`,
        { offset: 0, size, limit, phase: 'read' },
      ),
      request.idempotent,
    );
  if (!truncate && request.method !== 'HEAD') {
    const declared = declaredLength(response.headers);
    if (declared !== undefined && declared > limit) throw tooLarge(declared, 'declares');
  }
  if (response.body === null) {
    progress.bodyRead = true;
    return new Uint8Array(0);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await reader.read();
    } catch (error) {
      // An error body cut short still has its status, which is what matters: keep what arrived.
      if (truncate) break;
      throw networkError(error, request, true);
    }
    if (result.done) {
      progress.bodyRead = true;
      break;
    }
    const chunk = result.value;
    if (truncate) {
      chunks.push(chunk.subarray(0, limit - total));
      total += Math.min(chunk.byteLength, limit - total);
      if (total >= limit) break;
    } else {
      total += chunk.byteLength;
      if (total > limit) throw tooLarge(total, 'reached');
      chunks.push(chunk);
    }
  }
  // A new buffer that owns its bytes: a chunk may be a view of a larger buffer.
  return concatBytes(chunks, total);
}

/** The Content-Length, when present, valid, and describing the bytes the body will yield. */
function declaredLength(headers: Headers): number | undefined {
  // A compressed body's length says nothing about the decoded size the cap applies to.
  const encoding = headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return undefined;
  const value = headers.get('content-length')?.trim();
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

function decode(bytes: Uint8Array, responseType: Settings['responseType']): unknown {
  switch (responseType) {
    case 'bytes':
      return bytes;
    case 'text':
      return new TextDecoder().decode(bytes);
    case 'json':
      return bytes.byteLength === 0
        ? undefined
        : (JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown);
    case 'msgpack':
      return bytes.byteLength === 0 ? undefined : sharedMsgpack().decode(bytes);
  }
}

/**
 * Types a rejected fetch (or a failed body read): a DialError when the connection was never made,
 * else a ConnectionResetError. undici rejects with `TypeError('fetch failed')` whose `cause` is
 * the system error (`code`, `syscall`), or an AggregateError of them when it tried several
 * addresses; a browser says nothing, so there it is always a reset.
 */
function networkError(
  error: unknown,
  request: Prepared,
  duringBody = false,
): ConnectionError | TooManyRedirectsError {
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (!duringBody && (isRedirectLimit(cause) || isRedirectLimit(error))) {
    const redirects = FETCH_MAX_REDIRECTS;
    return marked(
      new TooManyRedirectsError(
        `${request.method} ${request.url}: more than ${redirects} redirects (a redirect loop?)`,
        { method: request.method, url: request.url, redirects, cause: error },
      ),
      request.idempotent,
    );
  }
  const code = codeOf(cause) ?? codeOf(error);
  const syscall = (cause as { syscall?: unknown } | null)?.syscall;
  const neverConnected =
    !duringBody &&
    (syscall === 'connect' ||
      syscall === 'getaddrinfo' ||
      (typeof code === 'string' && DIAL_CODES.has(code)));
  const where = `${request.method} ${request.url}`;
  const suffix = code === undefined ? '' : ` (${code})`;
  const options = { cause: error, ...(code === undefined ? {} : { code }) };
  const failure = neverConnected
    ? new DialError(`${where}: could not connect${suffix}`, options)
    : new ConnectionResetError(
        `${where}: the connection failed ${duringBody ? 'while reading the response body' : 'before a response'}${suffix}`,
        { ...options, phase: 'read' },
      );
  return marked(failure, request.idempotent);
}

/** undici's error for a request redirected more than 20 times (the Fetch standard's limit). */
function isRedirectLimit(value: unknown): boolean {
  return value instanceof Error && value.message === 'redirect count exceeded';
}

function codeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { code, errors } = value as { code?: unknown; errors?: unknown };
  if (typeof code === 'string' && code !== '') return code;
  return Array.isArray(errors) && errors.length > 0 ? codeOf(errors[0]) : undefined;
}

/**
 * Gives an error http() raises the request's idempotency, as a read-only own property that
 * classifyFailure reads structurally. A property rather than a wrapper, so that
 * `ConnectionResetError.is(error)`, its `phase` and `code` stay as they are.
 */
function marked<E extends Error>(error: E, idempotent: boolean): E & { readonly idempotent: boolean } {
  Object.defineProperty(error, 'idempotent', { value: idempotent, enumerable: true });
  return error as E & { readonly idempotent: boolean };
}

const DAYS = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAYS = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH = '([A-Za-z]{3})';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^${DAYS}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i');
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete) */
const RFC_850 = new RegExp(`^${LONG_DAYS}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i');
/** `Sun Nov  6 08:49:37 1994` (obsolete; ANSI C's asctime) */
const ASCTIME = new RegExp(`^${DAYS} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, 'i');

/**
 * A `Retry-After` value (RFC 9110 §10.2.3) as milliseconds from `now`: delta-seconds, or an
 * HTTP-date in any of its three formats. `undefined` for a missing or malformed value, or a date
 * before `now`. Dates are parsed here, not by `Date.parse`, whose accepted formats vary by engine
 * and which would read an asctime date in local time.
 */
function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  const at = parseHttpDate(text, now);
  return at === undefined || at < now ? undefined : at - now;
}

function parseHttpDate(text: string, now: number): number | undefined {
  let match: RegExpExecArray | null;
  let fields: [day: string, month: string, year: number, hour: string, minute: string, second: string];
  if ((match = IMF_FIXDATE.exec(text))) {
    const [, day, month, year, hour, minute, second] = match as unknown as string[];
    fields = [day!, month!, Number(year), hour!, minute!, second!];
  } else if ((match = RFC_850.exec(text))) {
    const [, day, month, yy, hour, minute, second] = match as unknown as string[];
    // A two-digit year more than 50 years ahead is in the past century (RFC 9110 §5.6.7).
    const thisYear = new Date(now).getUTCFullYear();
    let year = thisYear - (thisYear % 100) + Number(yy);
    if (year > thisYear + 50) year -= 100;
    fields = [day!, month!, year, hour!, minute!, second!];
  } else if ((match = ASCTIME.exec(text))) {
    const [, month, day, hour, minute, second, year] = match as unknown as string[];
    fields = [day!.trim(), month!, Number(year), hour!, minute!, second!];
  } else {
    return undefined;
  }
  const [day, monthName, year, hour, minute, second] = fields;
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const [d, h, m, s] = [day, hour, minute, second].map(Number) as [number, number, number, number];
  // 60 allows a leap second, which the grammar admits.
  if (month < 0 || h > 23 || m > 59 || s > 60) return undefined;
  const midnight = Date.UTC(year, month, d);
  // Date.UTC rolls 31 Feb over into March: such a date is malformed.
  const date = new Date(midnight);
  if (date.getUTCMonth() !== month || date.getUTCDate() !== d) return undefined;
  return midnight + ((h * 60 + m) * 60 + s) * 1000;
}
