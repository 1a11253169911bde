import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  asyncScheduler,
  firstValueFrom,
  lastValueFrom,
  tap,
  toArray,
  VirtualTimeScheduler,
  type Observable,
  type SchedulerAction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';
import {
  classifyFailure,
  ConnectionResetError,
  DecodeBudgetError,
  DialError,
  EncodeError,
  FrameTooLargeError,
  GaveUpError,
  http,
  HttpError,
  msgpackCodec,
  policy,
  ProtocolError,
  retryWith,
  TooManyRedirectsError,
  type HttpOptions,
  type HttpRequest,
} from 'rx-lifeline';
import { turn } from '../support/loopback.js';

/** One request as the server saw it. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly res: ServerResponse;
  /** Settles when the request's socket closes. */
  readonly socketClosed: Promise<unknown>;
}

/** Answers request number `n` (from 1). */
type Handler = (seen: Seen, n: number) => void;

interface TestServer {
  readonly url: string;
  readonly requests: Seen[];
  /** Request number `n` (from 1), once it has arrived whole. */
  arrival(n: number): Promise<Seen>;
  close(): Promise<void>;
}

async function serve(handler: Handler): Promise<TestServer> {
  const requests: Seen[] = [];
  const waiters = new Map<number, (seen: Seen) => void>();
  const server: Server = createServer((req, res) => {
    // Not `once()`: it would reject on the ECONNRESET of a client that aborted mid-body.
    const socketClosed = new Promise((resolve) => req.socket.once('close', resolve));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        res,
        socketClosed,
      };
      requests.push(seen);
      // No keep-alive: undici would otherwise pool the client's socket past the end of the test.
      res.setHeader('connection', 'close');
      waiters.get(requests.length)?.(seen);
      handler(seen, requests.length);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    arrival: (n) => {
      const seen = requests[n - 1];
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.set(n, resolve));
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function reply(
  seen: Seen,
  status: number,
  body: string | Uint8Array = '',
  headers: Record<string, string> = {},
) {
  seen.res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  seen.res.end(body);
}

function replyJson(seen: Seen, status: number, value: unknown) {
  reply(seen, status, JSON.stringify(value), { 'content-type': 'application/json' });
}

/** A port nobody listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** The error `source` fails with; fails the test if it completes. */
async function errorOf(source: Observable<unknown>): Promise<unknown> {
  return lastValueFrom(source).then(
    (value) => {
      // inspect, not JSON.stringify: bounded, and it does not throw on a bigint.
      throw new Error(`expected an error, got ${inspect(value, { depth: 2, maxArrayLength: 5 })}`);
    },
    (error: unknown) => error,
  );
}

/**
 * Runs retryWith's waits at once but records the delay each one asked for, so a test can check the
 * Retry-After floor without waiting a second per retry.
 */
class RecordingScheduler implements SchedulerLike {
  readonly delays: number[] = [];
  /**
   * A virtual clock: it moves only by the waits it skipped (each runs at once), so the delays it
   * records are the ones asked for, not shortened by wall-clock milliseconds that passed meanwhile.
   */
  private skipped = 0;
  now(): number {
    return this.skipped;
  }
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    this.delays.push(delay);
    const skip = () => (this.skipped += delay);
    return asyncScheduler.schedule(
      function (this: SchedulerAction<T>, value?: T) {
        skip();
        work.call(this, value);
      },
      0,
      state,
    );
  }
}

/** The global fetch, wrapped to tell the test when a response's headers have arrived. */
function watchedFetch(): { fetch: NonNullable<HttpOptions['fetch']>; responded: Promise<void> } {
  let resolve!: () => void;
  const responded = new Promise<void>((r) => (resolve = r));
  return {
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      resolve();
      return response;
    },
    responded,
  };
}

describe('http', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  describe('success', () => {
    it('GETs JSON: one response with status, headers and the parsed body, then completes', async () => {
      server = await serve((seen) => {
        seen.res.setHeader('x-trace', 'abc');
        replyJson(seen, 200, { id: 7, name: 'Ada' });
      });
      // toArray() resolves only on complete: one response, then completion.
      const responses = await lastValueFrom(
        http<{ id: number; name: string }>(`${server.url}/users/7`).pipe(toArray()),
      );
      expect(responses).to.have.length(1);
      const [response] = responses as [(typeof responses)[number]];
      expect(response.status).to.equal(200);
      expect(response.headers.get('x-trace')).to.equal('abc');
      expect(response.body).to.deep.equal({ id: 7, name: 'Ada' });
      const [seen] = server.requests;
      expect(seen?.method).to.equal('GET');
      expect(seen?.url).to.equal('/users/7');
      expect(seen?.headers.accept).to.equal('application/json');
    });

    it('POSTs a value as JSON with its Content-Type, and sends strings and bytes untouched', async () => {
      server = await serve((seen) => replyJson(seen, 201, { got: seen.body.toString('latin1') }));
      const json = await firstValueFrom(http({ url: server.url, method: 'post', body: { tea: 2 } }));
      expect(json.status).to.equal(201);
      expect(server.requests[0]?.method).to.equal('POST');
      expect(server.requests[0]?.headers['content-type']).to.equal('application/json');
      expect(server.requests[0]?.body.toString()).to.equal('{"tea":2}');

      await firstValueFrom(http({ url: server.url, method: 'PUT', body: 'plain text' }));
      expect(server.requests[1]?.body.toString()).to.equal('plain text');

      const bytes = new Uint8Array([0, 255, 1, 254]);
      const custom = { 'content-type': 'application/x-custom' };
      await firstValueFrom(http({ url: server.url, method: 'PUT', body: bytes, headers: custom }));
      expect([...(server.requests[2]?.body ?? [])]).to.deep.equal([0, 255, 1, 254]);
      expect(server.requests[2]?.headers['content-type']).to.equal('application/x-custom');
    });

    it('encodes and decodes msgpack both ways with lifeline’s codec', async () => {
      const codec = msgpackCodec();
      server = await serve((seen) =>
        reply(seen, 200, codec.encode({ echo: codec.decode(seen.body) }), {
          'content-type': 'application/msgpack',
        }),
      );
      const payload = { n: 1, bin: new Uint8Array([1, 2, 3]) };
      const response = await firstValueFrom(
        http(
          { url: server.url, method: 'POST', body: payload },
          { bodyEncoding: 'msgpack', responseType: 'msgpack' },
        ),
      );
      expect(response.body).to.deep.equal({ echo: payload });
      expect(server.requests[0]?.headers['content-type']).to.equal('application/msgpack');
      expect(server.requests[0]?.headers.accept).to.equal('application/msgpack');
    });

    it('reads text and bytes; an empty body is undefined for json', async () => {
      server = await serve((seen) =>
        seen.url === '/empty' ? reply(seen, 204) : reply(seen, 200, new Uint8Array([0xe2, 0x82, 0xac, 0x21])),
      );
      const text = await firstValueFrom(http<string>(server.url, { responseType: 'text' }));
      expect(text.body).to.equal('€!');
      const bytes = await firstValueFrom(http<Uint8Array>(server.url, { responseType: 'bytes' }));
      expect(bytes.body).to.be.instanceOf(Uint8Array);
      expect([...bytes.body]).to.deep.equal([0xe2, 0x82, 0xac, 0x21]);
      expect(bytes.body.byteOffset).to.equal(0);
      expect(bytes.body.buffer.byteLength).to.equal(4);
      const empty = await firstValueFrom(http(`${server.url}/empty`));
      expect(empty.status).to.equal(204);
      expect(empty.body).to.equal(undefined);
    });

    it('calls the injected fetch as a plain function, as a browser’s fetch requires', async () => {
      server = await serve((seen) => replyJson(seen, 200, 'ok'));
      const receivers: unknown[] = [];
      const plainOnly = function (this: unknown, url: string, init: RequestInit) {
        receivers.push(this);
        return fetch(url, init);
      };
      await firstValueFrom(http(server.url, { fetch: plainOnly }));
      expect(receivers).to.deep.equal([undefined]);
    });

    it('each subscription is one request: the Observable is cold', async () => {
      server = await serve((seen, n) => replyJson(seen, 200, n));
      const request = http<number>(server.url);
      expect(server.requests).to.have.length(0);
      expect((await firstValueFrom(request)).body).to.equal(1);
      expect((await firstValueFrom(request)).body).to.equal(2);
    });
  });

  describe('retrying with retryWith', () => {
    for (const [name, retry, delays] of [
      [
        'policy.constant(1): the hint is honoured above the backoff’s max',
        policy.constant(1).maxAttempts(5),
        [1000, 1000],
      ],
      [
        'policy.constant(1).maxHint(1): the hint is capped',
        policy.constant(1).maxHint(1).maxAttempts(5),
        [1, 1],
      ],
      [
        'policy.exponential({ initial: 1, max: 60 s }): the floor lifts the delays',
        policy.exponential({ initial: 1, max: 60_000 }).maxAttempts(5),
        [1000, 1000],
      ],
    ] as const) {
      it(`retries a 503 with Retry-After: 1 until it succeeds (${name})`, async () => {
        const failures = 2;
        server = await serve((seen, n) =>
          n <= failures ? reply(seen, 503, 'busy', { 'retry-after': '1' }) : replyJson(seen, 200, 'ok'),
        );
        const scheduler = new RecordingScheduler();
        const errors: unknown[] = [];
        const response = await lastValueFrom(
          http(server.url).pipe(
            tap({ error: (error: unknown) => errors.push(error) }),
            retryWith({ policy: retry, scheduler }),
          ),
        );
        expect(response.body).to.equal('ok');
        expect(server.requests).to.have.length(failures + 1);
        expect(errors).to.have.length(failures);
        for (const error of errors) {
          expect(HttpError.is(error)).to.equal(true);
          const { status, retryAfterMs, idempotent } = error as HttpError;
          expect({ status, retryAfterMs, idempotent }).to.deep.equal({
            status: 503,
            retryAfterMs: 1000,
            idempotent: true,
          });
        }
        expect(scheduler.delays).to.deep.equal(delays);
      });
    }

    it('does not retry a 500 by default: one request, GaveUpError(permanent) with the HttpError', async () => {
      server = await serve((seen) => reply(seen, 500, 'NullPointerException at line 7'));
      const error = await errorOf(
        http(server.url).pipe(retryWith(policy.exponential({ initial: 1 }).maxAttempts(5))),
      );
      expect(server.requests).to.have.length(1);
      expect(GaveUpError.is(error)).to.equal(true);
      const gaveUp = error as GaveUpError;
      expect(gaveUp.reason).to.equal('permanent');
      expect(gaveUp.attempts).to.equal(1);
      expect(HttpError.is(gaveUp.cause)).to.equal(true);
      expect((gaveUp.cause as HttpError).status).to.equal(500);
      expect((gaveUp.cause as HttpError).bodyText).to.equal('NullPointerException at line 7');
    });

    it('retries a 500 when the policy is told to (retryHttp500)', async () => {
      server = await serve((seen, n) => (n === 1 ? reply(seen, 500) : replyJson(seen, 200, 'fixed')));
      const retry = policy
        .exponential({ initial: 1, max: 2 })
        .maxAttempts(3)
        .classify({ retryHttp500: true });
      const response = await lastValueFrom(http(server.url).pipe(retryWith(retry)));
      expect(response.body).to.equal('fixed');
      expect(server.requests).to.have.length(2);
    });

    // Each request fails once with a 503, then would succeed: is it sent again?
    const rows: [what: string, request: Omit<HttpRequest, 'url'>, requests: number][] = [
      ['a POST without an idempotency key is not retried', { method: 'POST', body: { pay: 10 } }, 1],
      ['a PATCH without an idempotency key is not retried', { method: 'PATCH', body: { a: 1 } }, 1],
      ['a GET the caller marks idempotent: false is not retried', { idempotent: false }, 1],
      [
        'a POST with idempotencyKey is retried',
        { method: 'POST', body: { pay: 10 }, idempotencyKey: 'k-1' },
        2,
      ],
      [
        'a POST with an Idempotency-Key header is retried',
        { method: 'POST', headers: { 'idempotency-key': 'k-2' } },
        2,
      ],
      ['a POST the caller marks idempotent: true is retried', { method: 'POST', idempotent: true }, 2],
      ['a PUT is retried', { method: 'PUT', body: 'x' }, 2],
      ['a DELETE is retried', { method: 'DELETE' }, 2],
      ['an OPTIONS is retried', { method: 'OPTIONS' }, 2],
      ['a HEAD is retried', { method: 'HEAD' }, 2],
    ];
    for (const [what, request, expected] of rows) {
      it(`${what} after a 503`, async () => {
        server = await serve((seen, n) => (n === 1 ? reply(seen, 503) : reply(seen, 200)));
        const outcome = await lastValueFrom(
          http({ url: server.url, ...request }, { responseType: 'text' }).pipe(
            retryWith(policy.constant(0).maxAttempts(3)),
          ),
        ).then(
          (response) => response.status,
          (error: unknown) => error,
        );
        expect(server.requests).to.have.length(expected);
        if (expected === 1) {
          expect((outcome as GaveUpError).reason).to.equal('permanent');
          const cause = (outcome as GaveUpError).cause as HttpError;
          expect(cause.status).to.equal(503);
          expect(cause.idempotent).to.equal(false);
        } else {
          expect(outcome).to.equal(200);
        }
      });
    }

    it('sends the same Idempotency-Key and the same body bytes on every attempt', async () => {
      server = await serve((seen, n) => (n < 3 ? reply(seen, 503) : replyJson(seen, 201, 'created')));
      const request = { url: server.url, method: 'POST', body: { amount: 10 }, idempotencyKey: 'pay-42' };
      const response = await lastValueFrom(http(request).pipe(retryWith(policy.constant(0).maxAttempts(5))));
      expect(response.status).to.equal(201);
      expect(server.requests.map((seen) => seen.headers['idempotency-key'])).to.deep.equal([
        'pay-42',
        'pay-42',
        'pay-42',
      ]);
      expect(server.requests.map((seen) => seen.body.toString())).to.deep.equal(
        Array(3).fill('{"amount":10}'),
      );
    });
  });

  describe('network failures', () => {
    it('a refused connection is a DialError with code ECONNREFUSED', async () => {
      const url = `http://127.0.0.1:${await closedPort()}/`;
      const error = await errorOf(http(url));
      expect(DialError.is(error)).to.equal(true);
      const dial = error as DialError & { idempotent: boolean };
      expect(dial.code).to.equal('ECONNREFUSED');
      expect(dial.phase).to.equal('dial');
      expect(dial.write.lastFrame).to.equal('none');
      expect(dial.idempotent).to.equal(true);
      expect(dial.message).to.contain(url).and.contain('ECONNREFUSED');
      expect((dial.cause as Error).name).to.equal('TypeError');
    });

    it('a POST whose connection was refused IS retried: nothing was sent', async () => {
      const url = `http://127.0.0.1:${await closedPort()}/`;
      const failures: unknown[] = [];
      const error = await errorOf(
        http({ url, method: 'POST', body: { pay: 10 } }).pipe(
          tap({ error: (e: unknown) => failures.push(e) }),
          retryWith(policy.constant(0).maxAttempts(3)),
        ),
      );
      expect((error as GaveUpError).reason).to.equal('max-attempts');
      expect((error as GaveUpError).attempts).to.equal(3);
      expect(failures).to.have.length(3);
      for (const failure of failures) {
        expect(DialError.is(failure)).to.equal(true);
        expect((failure as { idempotent?: unknown }).idempotent).to.equal(false);
      }
    });

    it('a host name that does not resolve is a DialError', async () => {
      const error = await errorOf(http('http://lifeline-test.invalid/'));
      expect(DialError.is(error)).to.equal(true);
      expect(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL']).to.include((error as DialError).code);
    });

    it('a connection closed before the response is a ConnectionResetError; a GET is retried', async () => {
      server = await serve((seen, n) =>
        n === 1 ? seen.res.socket?.destroy() : replyJson(seen, 200, 'second'),
      );
      const errors: unknown[] = [];
      const response = await lastValueFrom(
        http(server.url).pipe(
          tap({ error: (e: unknown) => errors.push(e) }),
          retryWith(policy.constant(0).maxAttempts(3)),
        ),
      );
      expect(response.body).to.equal('second');
      expect(errors).to.have.length(1);
      const [reset] = errors as [ConnectionResetError & { idempotent: boolean }];
      expect(ConnectionResetError.is(reset)).to.equal(true);
      expect(DialError.is(reset)).to.equal(false);
      expect(reset.phase).to.equal('read');
      expect(reset.code).to.equal('UND_ERR_SOCKET');
      expect(reset.idempotent).to.equal(true);
    });

    it('a POST whose connection closed before the response is NOT retried (it may have been applied)', async () => {
      server = await serve((seen) => seen.res.socket?.destroy());
      const error = await errorOf(
        http({ url: server.url, method: 'POST', body: { pay: 10 } }).pipe(
          retryWith(policy.constant(0).maxAttempts(3)),
        ),
      );
      expect(server.requests).to.have.length(1);
      expect((error as GaveUpError).reason).to.equal('permanent');
      const cause = (error as GaveUpError).cause as ConnectionResetError & { idempotent: boolean };
      expect(ConnectionResetError.is(cause)).to.equal(true);
      expect(cause.idempotent).to.equal(false);
      expect(classifyFailure(cause)).to.equal('permanent');
    });

    it('a redirect loop is a permanent TooManyRedirectsError: retryWith sends the chain once', async () => {
      // Before: a ConnectionResetError, retried: 63 requests for 3 attempts.
      server = await serve((seen) => reply(seen, 302, '', { location: seen.url === '/a' ? '/b' : '/a' }));
      const error = await errorOf(http(`${server.url}/a`).pipe(retryWith(policy.constant(0).maxAttempts(3))));
      expect(server.requests).to.have.length(21); // the request and the 20 redirects fetch follows
      expect(server.requests.map((seen) => seen.url).slice(0, 4)).to.deep.equal(['/a', '/b', '/a', '/b']);
      expect(GaveUpError.is(error)).to.equal(true);
      expect((error as GaveUpError).reason).to.equal('permanent');
      expect((error as GaveUpError).attempts).to.equal(1);
      const cause = (error as GaveUpError).cause;
      expect(TooManyRedirectsError.is(cause)).to.equal(true);
      expect(ConnectionResetError.is(cause)).to.equal(false);
      const { name, method, url, redirects, idempotent, message } = cause as TooManyRedirectsError & {
        idempotent: boolean;
      };
      expect({ name, method, url, redirects, idempotent }).to.deep.equal({
        name: 'TooManyRedirectsError',
        method: 'GET',
        url: `${server.url}/a`,
        redirects: 20,
        idempotent: true,
      });
      expect(message).to.equal(`GET ${server.url}/a: more than 20 redirects (a redirect loop?)`);
      expect(classifyFailure(cause)).to.equal('permanent');
    });

    it('a connection closed in the middle of the body is a ConnectionResetError', async () => {
      const { fetch, responded } = watchedFetch();
      server = await serve((seen) => {
        seen.res.writeHead(200, { 'content-length': '100' });
        seen.res.write('partial');
      });
      const failed = errorOf(http(server.url, { fetch }));
      await responded;
      (await server.arrival(1)).res.socket?.destroy();
      const error = await failed;
      expect(ConnectionResetError.is(error)).to.equal(true);
      expect((error as ConnectionResetError).message).to.contain('while reading the response body');
      expect((error as ConnectionResetError).phase).to.equal('read');
    });
  });

  describe('HttpError', () => {
    it('is what a status just past 2xx gives: 300, with its body as text, not a decoded response', async () => {
      server = await serve((seen) => reply(seen, 300, '{"a":1}'));
      const error = await errorOf(http(server.url));
      expect(HttpError.is(error), String(error)).to.equal(true);
      expect([(error as HttpError).status, (error as HttpError).bodyText]).to.deep.equal([300, '{"a":1}']);
    });

    it('carries status, statusText, method, url, headers, Retry-After and the first 4 KiB of the body', async () => {
      server = await serve((seen) => {
        seen.res.writeHead(429, 'Slow Down', { 'retry-after': '7', 'x-request-id': 'r-1' });
        // 10 KiB and never ended: the error must not wait for the rest.
        seen.res.write('x'.repeat(10 * 1024));
      });
      const url = `${server.url}/limited?q=1`;
      const error = await errorOf(http({ url, method: 'DELETE' }));
      expect(HttpError.is(error)).to.equal(true);
      const e = error as HttpError;
      expect(e).to.be.instanceOf(HttpError);
      expect(e.name).to.equal('HttpError');
      expect([e.status, e.statusText, e.method, e.url]).to.deep.equal([429, 'Slow Down', 'DELETE', url]);
      expect(e.headers.get('x-request-id')).to.equal('r-1');
      expect(e.retryAfterMs).to.equal(7000);
      expect(e.bodyText).to.equal('x'.repeat(4096));
      expect(e.idempotent).to.equal(true);
      expect(e.message).to.equal(`DELETE ${url} failed: 429 Slow Down`);
      // The rest of the body was not read: the request was aborted and its connection closed.
      await server.requests[0]?.socketClosed;
    });

    it('is still an HttpError when the connection breaks in the middle of the error body', async () => {
      const { fetch, responded } = watchedFetch();
      server = await serve((seen) => {
        seen.res.writeHead(503, { 'content-length': '100' });
        seen.res.write('partial');
      });
      const failed = errorOf(http(server.url, { fetch }));
      await responded;
      (await server.arrival(1)).res.socket?.destroy();
      const error = await failed;
      expect(HttpError.is(error)).to.equal(true);
      expect((error as HttpError).status).to.equal(503);
      // The bytes that arrived before the break, if the stream delivered them before its error.
      expect(['', 'partial']).to.include((error as HttpError).bodyText);
    });

    it('cuts bodyText on a whole character', async () => {
      server = await serve((seen) => reply(seen, 400, '€'.repeat(2000)));
      const error = (await errorOf(http(server.url))) as HttpError;
      expect(error.bodyText).to.equal('€'.repeat(1365)); // 4096 bytes = 1365 × 3 + 1
    });

    it('reads Retry-After as delta-seconds or an HTTP-date relative to scheduler.now()', async () => {
      server = await serve((seen) => {
        const value = new URL(seen.url, 'http://x').searchParams.get('retry-after');
        reply(seen, 503, '', value === null ? {} : { 'retry-after': value });
      });
      const now = Date.UTC(1994, 10, 6, 8, 49, 0); // Sun, 06 Nov 1994 08:49:00 GMT
      const clock = new VirtualTimeScheduler();
      clock.frame = now;
      const rows: [header: string | null, expected: number | undefined][] = [
        ['120', 120_000],
        ['0', 0],
        ['Sun, 06 Nov 1994 08:49:37 GMT', 37_000], // IMF-fixdate
        ['Sunday, 06-Nov-94 08:49:37 GMT', 37_000], // RFC 850
        ['Sun Nov  6 08:49:37 1994', 37_000], // asctime, read as UTC
        ['Sun, 06 Nov 1994 08:49:00 GMT', 0], // now
        ['Mon, 07 Nov 1994 08:49:00 GMT', 86_400_000],
        [null, undefined],
        ['Sun, 06 Nov 1994 08:48:59 GMT', undefined], // in the past
        ['-5', undefined],
        ['1.5', undefined],
        ['soon', undefined],
        ['Tue, 31 Feb 1995 08:49:37 GMT', undefined], // no such day
        ['Sun, 06 Nov 1994 08:49:37 PST', undefined],
        ['Sun, 06 Nov 1994 25:49:37 GMT', undefined],
        ['2024-01-01T00:00:00Z', undefined], // ISO 8601 is not an HTTP-date
      ];
      for (const [header, expected] of rows) {
        const query = header === null ? '' : `?retry-after=${encodeURIComponent(header)}`;
        const error = (await errorOf(http(`${server.url}/${query}`, { scheduler: clock }))) as HttpError;
        expect(error.retryAfterMs, `Retry-After: ${String(header)}`).to.equal(expected);
      }
      expect(server.requests).to.have.length(rows.length);
    });

    it('reads an RFC 850 two-digit year as within 50 years of now', async () => {
      server = await serve((seen) =>
        reply(seen, 503, '', { 'retry-after': 'Friday, 01-Jan-60 00:00:10 GMT' }),
      );
      const clock = new VirtualTimeScheduler();
      clock.frame = Date.UTC(2059, 11, 31, 23, 59, 50); // then '60' is 2060, 20 s ahead
      const error = (await errorOf(http(server.url, { scheduler: clock }))) as HttpError;
      expect(error.retryAfterMs).to.equal(20_000);
      clock.frame = Date.UTC(2000, 0, 1); // then '60' is 1960, long past
      const again = (await errorOf(http(server.url, { scheduler: clock }))) as HttpError;
      expect(again.retryAfterMs).to.equal(undefined);
    });
  });

  describe('body limits and decoding', () => {
    it('fails with FrameTooLargeError on a declared Content-Length over maxBodyBytes, without reading it', async () => {
      server = await serve((seen) => {
        seen.res.writeHead(200, { 'content-length': '2048' });
        seen.res.write('y'.repeat(512)); // and the rest never comes
      });
      const error = await errorOf(http(server.url, { maxBodyBytes: 1024, responseType: 'text' }));
      expect(FrameTooLargeError.is(error)).to.equal(true);
      const tooLarge = error as FrameTooLargeError & { idempotent: boolean };
      expect([tooLarge.size, tooLarge.limit, tooLarge.idempotent]).to.deep.equal([2048, 1024, true]);
      expect(classifyFailure(tooLarge)).to.equal('permanent');
      await server.requests[0]?.socketClosed; // released: the request was aborted
    });

    it('counts an undeclared body as it arrives and stops at maxBodyBytes, closing the connection', async () => {
      // An endless chunked body: only a client that stops reading at the cap ends this test.
      server = await serve((seen) => {
        seen.res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(16 * 1024, 1);
        const pump = () => {
          while (!seen.res.destroyed && seen.res.write(chunk));
        };
        seen.res.on('drain', pump);
        pump();
      });
      const error = await errorOf(http(server.url, { maxBodyBytes: 100_000, responseType: 'bytes' }));
      expect(FrameTooLargeError.is(error)).to.equal(true);
      const tooLarge = error as FrameTooLargeError;
      expect(tooLarge.limit).to.equal(100_000);
      expect(tooLarge.size).to.be.above(100_000);
      await server.requests[0]?.socketClosed;
    });

    it('accepts a body of exactly maxBodyBytes, and a compressed body whose length exceeds it', async () => {
      // Bytes that gzip cannot shrink: the compressed length is over the cap, the body is not.
      let state = 1;
      const noise = Buffer.from(
        Array.from({ length: 1000 }, () => (state = (state * 1103515245 + 12345) >>> 0) >>> 24),
      );
      const compressed = gzipSync(noise);
      expect(compressed.byteLength).to.be.above(1000);
      server = await serve((seen) =>
        seen.url === '/gzip'
          ? reply(seen, 200, compressed, {
              'content-encoding': 'gzip',
              'content-length': String(compressed.length),
            })
          : reply(seen, 200, noise),
      );
      const exact = await firstValueFrom(
        http<Uint8Array>(server.url, { maxBodyBytes: 1000, responseType: 'bytes' }),
      );
      expect(Buffer.from(exact.body).equals(noise)).to.equal(true);
      const gzip = await firstValueFrom(
        http<Uint8Array>(`${server.url}/gzip`, { maxBodyBytes: 1000, responseType: 'bytes' }),
      );
      expect(Buffer.from(gzip.body).equals(noise)).to.equal(true);
    });

    it('does not apply Content-Length to a HEAD response, which has no body', async () => {
      server = await serve((seen) => {
        seen.res.writeHead(200, { 'content-length': '1000000' });
        seen.res.end();
      });
      const response = await firstValueFrom(http({ url: server.url, method: 'HEAD' }, { maxBodyBytes: 10 }));
      expect(response.status).to.equal(200);
      expect(response.body).to.equal(undefined);
    });

    it('fails with ProtocolError on a body that does not decode', async () => {
      server = await serve((seen) =>
        reply(seen, 200, seen.url === '/msgpack' ? new Uint8Array([0xc1]) : '{"a":'),
      );
      const json = await errorOf(http({ url: server.url, method: 'POST' }));
      expect(ProtocolError.is(json)).to.equal(true);
      expect((json as ProtocolError).message).to.contain('not valid json');
      expect((json as ProtocolError & { idempotent: boolean }).idempotent).to.equal(false);
      const msgpack = await errorOf(http(`${server.url}/msgpack`, { responseType: 'msgpack' }));
      expect(ProtocolError.is(msgpack)).to.equal(true);
      // A GET may be sent again: its error says so.
      expect((msgpack as ProtocolError & { idempotent: boolean }).idempotent).to.equal(true);
    });

    it('refuses a msgpack body over its decode budget before decoding it', async () => {
      // 4 MiB of empty maps: about 256 MiB once decoded, over the budget of 32 × 4 MiB.
      const body = new Uint8Array(4 * 1024 * 1024).fill(0x80);
      body.set([0xdd, 0x00, 0x3f, 0xff, 0xfb]); // array 32 of 4 MiB - 5 items
      server = await serve((seen) => reply(seen, 200, body, { 'content-type': 'application/msgpack' }));
      const { fetch, responded } = watchedFetch();
      const failed = errorOf(http(server.url, { responseType: 'msgpack', fetch }));
      await responded;
      const before = process.memoryUsage().heapUsed;
      const error = await failed;
      expect(process.memoryUsage().heapUsed - before, 'heap growth').to.be.below(64 * 1024 * 1024);
      expect(ProtocolError.is(error)).to.equal(true);
      expect((error as ProtocolError).message).to.equal(
        `GET ${server.url}: the response body would take too much memory once decoded`,
      );
      const cause = (error as ProtocolError).cause as DecodeBudgetError;
      expect(DecodeBudgetError.is(cause)).to.equal(true);
      expect([cause.frameBytes, cause.budget]).to.deep.equal([body.length, 32 * body.length]);
      expect(classifyFailure(error)).to.equal('permanent');
    });

    it('errors with EncodeError on a body it cannot encode, sending nothing', async () => {
      server = await serve((seen) => reply(seen, 200));
      const request = http({ url: server.url, method: 'POST', body: { n: 1n } });
      const error = await errorOf(request);
      expect(EncodeError.is(error)).to.equal(true);
      expect((error as EncodeError).cause).to.be.instanceOf(TypeError);
      const view = await errorOf(http({ url: server.url, method: 'POST', body: new Uint16Array(2) }));
      expect(EncodeError.is(view)).to.equal(true);
      expect(server.requests).to.have.length(0);
    });
  });

  describe('teardown', () => {
    it('unsubscribing while waiting for the response aborts the request: its socket closes', async () => {
      const settled: Promise<unknown>[] = [];
      const fetchSpy: NonNullable<HttpOptions['fetch']> = (url, init) => {
        const pending = fetch(url, init);
        settled.push(pending.catch((error: unknown) => error));
        return pending;
      };
      server = await serve(() => undefined); // never answers
      const notifications: unknown[] = [];
      const subscription = http(server.url, { fetch: fetchSpy }).subscribe({
        next: (value) => notifications.push(value),
        error: (error: unknown) => notifications.push(error),
        complete: () => notifications.push('complete'),
      });
      const seen = await server.arrival(1);
      subscription.unsubscribe();
      await seen.socketClosed;
      const outcome = await settled[0];
      expect((outcome as Error).name).to.equal('AbortError');
      await turn(); // let http() see the rejection: it must not notify anyone
      expect(notifications).to.deep.equal([]);
    });

    it('unsubscribing while the body streams in aborts the request: its socket closes', async () => {
      const { fetch, responded } = watchedFetch();
      server = await serve((seen) => {
        seen.res.writeHead(200, { 'content-length': '1000' });
        seen.res.write('{"partial":');
      });
      const notifications: unknown[] = [];
      const subscription = http(server.url, { fetch }).subscribe({
        next: (value) => notifications.push(value),
        error: (error: unknown) => notifications.push(error),
      });
      await responded;
      subscription.unsubscribe();
      await server.requests[0]?.socketClosed;
      await turn();
      expect(notifications).to.deep.equal([]);
    });
  });

  describe('bad options', () => {
    const url = 'http://127.0.0.1:1/';
    const rows: [what: string, call: () => unknown, message: RegExp][] = [
      [
        'fetch that is not a function',
        () => http(url, { fetch: 'nope' as never }),
        /fetch must be a function/,
      ],
      ['a negative maxBodyBytes', () => http(url, { maxBodyBytes: -1 }), /maxBodyBytes/],
      ['a fractional maxBodyBytes', () => http(url, { maxBodyBytes: 1.5 }), /maxBodyBytes/],
      ['a NaN maxBodyBytes', () => http(url, { maxBodyBytes: NaN }), /maxBodyBytes/],
      ['an infinite maxBodyBytes', () => http(url, { maxBodyBytes: Infinity }), /maxBodyBytes/],
      ['a string maxBodyBytes', () => http(url, { maxBodyBytes: '1024' as never }), /maxBodyBytes/],
      ['an unknown responseType', () => http(url, { responseType: 'xml' as never }), /responseType/],
      ['an unknown bodyEncoding', () => http(url, { bodyEncoding: 'cbor' as never }), /bodyEncoding/],
      ['a scheduler without now()', () => http(url, { scheduler: {} as never }), /scheduler/],
      ['options that are not an object', () => http(url, null as never), /options/],
      ['a request that is neither a URL nor an object', () => http(42 as never), /request/],
      ['a URL that does not parse', () => http('not a url'), /http: or https: URL/],
      ['a URL that is not http', () => http('ftp://127.0.0.1/'), /http: or https: URL/],
      ['a URL with credentials', () => http('http://user:pw@127.0.0.1/'), /credentials/],
      ['a method that is not a token', () => http({ url, method: 'GE T' }), /method/],
      ['a TRACE request', () => http({ url, method: 'trace' }), /TRACE/],
      ['a GET with a body', () => http({ url, body: 'x' }), /GET request cannot have a body/],
      ['an empty idempotencyKey', () => http({ url, method: 'POST', idempotencyKey: '' }), /idempotencyKey/],
      [
        'an idempotencyKey that contradicts the header',
        () => http({ url, method: 'POST', idempotencyKey: 'a', headers: { 'Idempotency-Key': 'b' } }),
        /differs/,
      ],
      ['idempotent that is not a boolean', () => http({ url, idempotent: 'yes' as never }), /idempotent/],
      ['an invalid header name', () => http({ url, headers: { 'bad name': 'x' } }), /./],
    ];
    for (const [what, call, message] of rows) {
      it(`throws a TypeError for ${what}`, () => {
        expect(call).to.throw(TypeError, message);
      });
    }

    it('errors with a TypeError that says so when fetch resolves to something other than a Response', async () => {
      const headers = new Headers();
      for (const answer of [
        undefined,
        null,
        42,
        { ok: true },
        { status: 200, headers: 5 },
        // A body that is not a ReadableStream (node-fetch 2 answers a Node stream), or none at all.
        { status: 200, headers, body: { pipe: () => undefined } },
        { status: 200, headers },
      ]) {
        const error = await firstValueFrom(http(url, { fetch: () => Promise.resolve(answer as never) })).then(
          () => expect.fail('no response'),
          (caught: unknown) => caught,
        );
        expect(error).to.be.instanceOf(TypeError);
        expect((error as TypeError).message).to.match(
          /^http: fetch must resolve to a Response \(with a status, headers and a body that is null or a ReadableStream\), got /,
        );
        expect(classifyFailure(error)).to.equal('permanent');
      }
    });

    it('throws a TypeError when there is no fetch at all', () => {
      const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
      Object.defineProperty(globalThis, 'fetch', { value: undefined, configurable: true, writable: true });
      try {
        expect(() => http(url)).to.throw(TypeError, /no fetch available/);
      } finally {
        if (descriptor) Object.defineProperty(globalThis, 'fetch', descriptor);
      }
      expect(typeof globalThis.fetch).to.equal('function');
    });
  });
});
