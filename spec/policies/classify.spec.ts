import { expect } from 'chai';
import { TimeoutError as RxTimeoutError, firstValueFrom, NEVER, timeout, VirtualTimeScheduler } from 'rxjs';
import {
  CircuitOpenError,
  classifyFailure,
  ConnectionError,
  ConnectionResetError,
  DialError,
  FrameTooLargeError,
  HttpError,
  LifelineError,
  PeerClosedError,
  ProtocolError,
  RetryBudgetExhaustedError,
  type ClassifyOptions,
  type FailureClass,
} from 'rx-lifeline';

const http = (status: number) => Object.assign(new Error(`HTTP ${status}`), { status });

// A future lifeline error, defined the way lib/core/errors.ts defines names: on the prototype.
class HeartbeatTimeoutError extends LifelineError {}
Object.defineProperty(HeartbeatTimeoutError.prototype, 'name', { value: 'HeartbeatTimeoutError' });

// What http() raises: an HttpError, or a connection error marked with the request's idempotency.
const httpError = (status: number, idempotent: boolean) =>
  new HttpError(`POST / failed: ${status}`, { status, method: 'POST', url: 'http://x/', idempotent });
const notIdempotent = <E extends object>(error: E) => Object.assign(error, { idempotent: false });

// A ConnectionResetError from a second copy of lifeline: another class, the same names.
class ForeignConnectionError extends Error {}
Object.defineProperty(ForeignConnectionError.prototype, 'name', { value: 'ConnectionError' });
class ForeignReset extends ForeignConnectionError {}
Object.defineProperty(ForeignReset.prototype, 'name', { value: 'ConnectionResetError' });
class ForeignDial extends ForeignConnectionError {}
Object.defineProperty(ForeignDial.prototype, 'name', { value: 'DialError' });

type Row = [what: string, error: unknown, expected: FailureClass, options?: ClassifyOptions];

const rows: Row[] = [
  // Connection failures: transient.
  ['a refused dial', new DialError('refused', { code: 'ECONNREFUSED' }), 'transient'],
  ['an unreachable host', new DialError('unreachable', { code: 'EHOSTUNREACH' }), 'transient'],
  ['a dial timeout', new DialError('timed out', { code: 'ETIMEDOUT' }), 'transient'],
  ['a reset', new ConnectionResetError('reset', { phase: 'read', code: 'ECONNRESET' }), 'transient'],
  ['a failed write', new ConnectionResetError('EPIPE', { phase: 'write', code: 'EPIPE' }), 'transient'],
  ['a reset from another copy of lifeline', new ForeignReset('reset'), 'transient'],
  ['a cut: the peer closed mid-frame', new PeerClosedError('cut', {}), 'transient'],
  ['a WebSocket going away (1001)', new PeerClosedError('bye', { code: 1001 }), 'transient'],
  ['a WebSocket service restart (1012)', new PeerClosedError('restart', { code: 1012 }), 'transient'],
  ['a WebSocket try again later (1013)', new PeerClosedError('later', { code: 1013 }), 'transient'],
  ['any other ConnectionError', new ConnectionError('read failed', { phase: 'read' }), 'transient'],
  // A peer that rejects this client: permanent.
  ['a WebSocket policy violation (1008)', new PeerClosedError('no', { code: 1008 }), 'permanent'],
  ['a WebSocket protocol error (1002)', new PeerClosedError('no', { code: 1002 }), 'permanent'],
  ['a WebSocket message too big (1009)', new PeerClosedError('no', { code: 1009 }), 'permanent'],
  ['a WebSocket internal error (1011)', new PeerClosedError('oops', { code: 1011 }), 'permanent'],
  [
    'a WebSocket internal error with retryHttp500',
    new PeerClosedError('oops', { code: 1011 }),
    'transient',
    { retryHttp500: true },
  ],
  // Bad bytes: permanent.
  ['a ProtocolError', new ProtocolError('garbled', { offset: 12 }), 'permanent'],
  ['a FrameTooLargeError', new FrameTooLargeError('big', { offset: 0, size: 10, limit: 5 }), 'permanent'],
  [
    'a ProtocolError, even with retryHttp500',
    new ProtocolError('garbled', { offset: 0 }),
    'permanent',
    { retryHttp500: true },
  ],
  // Timeouts, by name: transient.
  ["RxJS's TimeoutError", new RxTimeoutError(), 'transient'],
  [
    'a DOMException named TimeoutError (AbortSignal.timeout)',
    new DOMException('late', 'TimeoutError'),
    'transient',
  ],
  ['a HeartbeatTimeoutError (named on the prototype)', new HeartbeatTimeoutError('silent'), 'transient'],
  [
    'an error named HeartbeatTimeoutError on the instance',
    Object.assign(new Error('x'), { name: 'HeartbeatTimeoutError' }),
    'transient',
  ],
  // HTTP, read structurally from `status`.
  ['HTTP 408', http(408), 'transient'],
  ['HTTP 425', http(425), 'transient'],
  ['HTTP 429', http(429), 'transient'],
  ['HTTP 502', http(502), 'transient'],
  ['HTTP 503', http(503), 'transient'],
  ['HTTP 504', http(504), 'transient'],
  ['HTTP 503 on a plain object', { status: 503 }, 'transient'],
  ['HTTP 500', http(500), 'permanent'],
  ['HTTP 500 with retryHttp500', http(500), 'transient', { retryHttp500: true }],
  ['HTTP 500 with retryHttp500: false', http(500), 'permanent', { retryHttp500: false }],
  ['HTTP 401 (auth)', http(401), 'permanent'],
  ['HTTP 403 (auth)', http(403), 'permanent'],
  ['HTTP 401 with retryHttp500', http(401), 'permanent', { retryHttp500: true }],
  ['HTTP 400', http(400), 'permanent'],
  ['HTTP 404', http(404), 'permanent'],
  ['HTTP 409', http(409), 'permanent'],
  ['HTTP 422', http(422), 'permanent'],
  ['HTTP 501', http(501), 'permanent'],
  ['HTTP 505', http(505), 'permanent'],
  ['a 3xx raised as an error', http(304), 'permanent'],
  ['a status that is a string, not a number', Object.assign(new Error('x'), { status: '503' }), 'permanent'],
  ['a status that is not an HTTP status', Object.assign(new Error('x'), { status: 9503 }), 'permanent'],
  // A request that is not idempotent may have been applied: only a failed dial is retried (seed 000).
  ['an HttpError 503 of an idempotent request', httpError(503, true), 'transient'],
  ['an HttpError 503 of a request that is not idempotent', httpError(503, false), 'permanent'],
  ['an HttpError 429 of a request that is not idempotent', httpError(429, false), 'permanent'],
  [
    'an HttpError 500 of a request that is not idempotent, with retryHttp500',
    httpError(500, false),
    'permanent',
    { retryHttp500: true },
  ],
  [
    'an HttpError 500 of an idempotent request (idempotent does not lift it)',
    httpError(500, true),
    'permanent',
  ],
  [
    'a reset of a request that is not idempotent',
    notIdempotent(new ConnectionResetError('reset', { phase: 'read', code: 'UND_ERR_SOCKET' })),
    'permanent',
  ],
  [
    'a peer close of a request that is not idempotent',
    notIdempotent(new PeerClosedError('cut', { code: 1001 })),
    'permanent',
  ],
  ['a timeout of a request that is not idempotent', notIdempotent(new RxTimeoutError()), 'permanent'],
  [
    'a refused dial of a request that is not idempotent: nothing was sent',
    notIdempotent(new DialError('refused', { code: 'ECONNREFUSED' })),
    'transient',
  ],
  [
    'a refused dial from another copy of lifeline, not idempotent',
    notIdempotent(new ForeignDial('refused')),
    'transient',
  ],
  ['a plain object with status 503 and idempotent: false', { status: 503, idempotent: false }, 'permanent'],
  ['a plain object with status 503 and idempotent: true', { status: 503, idempotent: true }, 'transient'],
  [
    'an idempotent flag that is not the boolean false (the string "false")',
    Object.assign(http(503), { idempotent: 'false' }),
    'transient',
  ],
  ['an idempotent flag that is undefined', Object.assign(http(503), { idempotent: undefined }), 'transient'],
  [
    'a reset of a request that is not idempotent, which the application calls transient',
    notIdempotent(new ConnectionResetError('reset', { phase: 'read' })),
    'transient',
    { transient: () => true },
  ],
  // The policies' own errors.
  [
    'a CircuitOpenError (the breaker reopens by itself)',
    new CircuitOpenError('open', { state: 'open', reopensAt: 5 }),
    'transient',
  ],
  ['a RetryBudgetExhaustedError', new RetryBudgetExhaustedError('spent'), 'permanent'],
  // Unknown: permanent.
  ['an unknown Error', new Error('what?'), 'permanent'],
  ['a TypeError (a bug)', new TypeError('x is not a function'), 'permanent'],
  ['a thrown string', 'boom', 'permanent'],
  ['undefined', undefined, 'permanent'],
  ['null', null, 'permanent'],
  [
    'an error wrapping a transient cause (cause is not followed)',
    new Error('wrapped', { cause: new DialError('r', {}) }),
    'permanent',
  ],
  // options.transient is asked first.
  [
    'an unknown error the application calls transient',
    new Error('quota'),
    'transient',
    { transient: () => true },
  ],
  [
    'a ProtocolError the application calls transient',
    new ProtocolError('x', { offset: 0 }),
    'transient',
    { transient: () => true },
  ],
  [
    'a DialError the application calls permanent',
    new DialError('r', {}),
    'permanent',
    { transient: () => false },
  ],
  ['HTTP 503 the application has no opinion on', http(503), 'transient', { transient: () => undefined }],
  [
    'HTTP 500 the application has no opinion on, retryHttp500',
    http(500),
    'transient',
    { transient: () => undefined, retryHttp500: true },
  ],
];

describe('classifyFailure', () => {
  for (const [what, error, expected, options] of rows) {
    it(`${what}: ${expected}`, () => {
      expect(classifyFailure(error, options)).to.equal(expected);
    });
  }

  it('recognises the TimeoutError the RxJS timeout operator actually raises', async () => {
    const scheduler = new VirtualTimeScheduler();
    const late = firstValueFrom(NEVER.pipe(timeout({ first: 10, scheduler })));
    scheduler.flush();
    const error = await late.catch((e: unknown) => e);
    expect(classifyFailure(error)).to.equal('transient');
  });

  it('passes the error to options.transient, which composes with the defaults', () => {
    class QuotaError extends Error {}
    const seen: unknown[] = [];
    const options: ClassifyOptions = {
      transient: (e) => {
        seen.push(e);
        return e instanceof QuotaError ? true : undefined;
      },
    };
    const quota = new QuotaError('later');
    expect(classifyFailure(quota, options)).to.equal('transient');
    expect(classifyFailure(new ProtocolError('x', { offset: 0 }), options)).to.equal('permanent');
    expect(classifyFailure(http(503), options)).to.equal('transient');
    expect(seen[0]).to.equal(quota);
    expect(seen).to.have.length(3);
  });

  it('lets an exception from options.transient escape', () => {
    const boom = new Error('boom');
    expect(() =>
      classifyFailure(new Error('x'), {
        transient: () => {
          throw boom;
        },
      }),
    ).to.throw(boom);
  });

  it('rejects a predicate that answers neither a boolean nor undefined', () => {
    const transient = (() => 'yes') as unknown as ClassifyOptions['transient'];
    expect(() => classifyFailure(new Error('x'), { transient })).to.throw(TypeError, /boolean or undefined/);
  });
});
