// Streamed request bodies (requests layer v2): `request(payload, { body })` on the client,
// `context.body$` in the server's handler, over the memory transport in virtual time.
import { expect } from 'chai';
import {
  catchError,
  defer,
  finalize,
  map,
  NEVER,
  of,
  range,
  Subject,
  switchMap,
  take,
  tap,
  timer,
  toArray,
  type Observable,
} from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  cancelPending,
  handshake,
  memory,
  ProtocolError,
  RequestBodyOverflowError,
  RequestBodyUnsupportedError,
  serveRequests,
  type AmbiguousOutcomeError,
  type ConnectedEvent,
  type RemoteError,
  type RequestHandler,
  type RequestLink,
  type TransportEvent,
} from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';
import { newTestScheduler } from '../../operators/support.js';
import { byHand, clientOn, serveOn, serveSessionsOn } from './support.js';

/** A request's notifications as marble values; errors as `E:<name>` (`E:RemoteError:<remoteName>`). */
function shown(response: Observable<unknown>): Observable<string> {
  return response.pipe(
    map(String),
    catchError((error: Error & { remoteName?: string }) =>
      of(error.remoteName ? `E:${error.name}:${error.remoteName}` : `E:${error.name}`),
    ),
  );
}

/**
 * `source` with its subscriptions and unsubscriptions logged as `sub@t` and `unsub@t` (each
 * subscription is one attempt at sending the body).
 */
function logged<T>(testScheduler: TestScheduler, log: string[], source: Observable<T>): Observable<T> {
  return defer(() => {
    log.push(`sub@${testScheduler.now()}`);
    return source.pipe(finalize(() => log.push(`unsub@${testScheduler.now()}`)));
  });
}

/**
 * A handler that logs what its body brings (`payload:chunk@t`, `payload:complete@t`, `payload:E:…@t`
 * and `payload:aborted@t`) and answers with the chunks joined once the body completes.
 */
function joining(testScheduler: TestScheduler, seen: string[]): RequestHandler {
  return (payload, { body$, signal }) => {
    const at = () => testScheduler.now();
    signal.addEventListener('abort', () => seen.push(`${String(payload)}:aborted@${at()}`));
    return body$.pipe(
      tap({
        next: (chunk) => seen.push(`${String(payload)}:${String(chunk)}@${at()}`),
        complete: () => seen.push(`${String(payload)}:complete@${at()}`),
        error: (error: Error) => seen.push(`${String(payload)}:E:${error.name}@${at()}`),
      }),
      toArray(),
      map((chunks) => `${String(payload)}=${chunks.join(',')}`),
    );
  };
}

function cleanup(testScheduler: TestScheduler, at: number, ...subscriptions: { unsubscribe(): void }[]) {
  testScheduler.schedule(() => subscriptions.forEach((s) => s.unsubscribe()), at);
}

/**
 * A memory connection (1 ms each way) with a server whose handler joins the body into its answer
 * (logging to `seen`) and a client: the client's link, and `end(at)` to tear both down at `at`.
 */
function joinedPair(testScheduler: TestScheduler, seen: string[]) {
  const pair = memory({ latency: 1 });
  const server = serveOn(pair, joining(testScheduler, seen)).subscribe();
  const { link, subscription } = clientOn(pair);
  return { link, end: (at: number) => cleanup(testScheduler, at, subscription, server) };
}

describe('streamed request bodies (requests layer v2)', () => {
  describe('order, end and error', () => {
    it('the head, then each chunk in order, then the end: the handler reads them as body$', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      const log: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const { link, end } = joinedPair(testScheduler, seen);
        // Connected at 1: the head leaves then and the body is subscribed; chunks at 2, 4, 6, its
        // end at 7, each in 1 ms later; the answer leaves at 8 and arrives at 9.
        const body = logged(testScheduler, log, cold('-a-b-c|'));
        expectObservable(shown(link.request('up', { body }))).toBe('9ms (r|)', { r: 'up=a,b,c' });
        end(30);
      });
      expect(seen).to.deep.equal(['up:a@3', 'up:b@5', 'up:c@7', 'up:complete@8']);
      expect(log).to.deep.equal(['sub@1', 'unsub@7']);
    });

    it('chunks that arrive before the handler subscribes wait for it, in order', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        // The request arrives at 2; its handler subscribes body$ 10 ms later, when every chunk
        // (in at 3, 5, 7) and the end (in at 8) wait for it.
        const server = serveOn(pair, (_payload, { body$ }) =>
          timer(10).pipe(
            switchMap(() => body$),
            toArray(),
            map((chunks) => chunks.join(',')),
          ),
        ).subscribe();
        const { link, subscription } = clientOn(pair);
        expectObservable(shown(link.request('late', { body: cold('-a-b-c|') }))).toBe('13ms (r|)', {
          r: 'a,b,c',
        });
        cleanup(testScheduler, 30, subscription, server);
      });
    });

    it('a body that fails reaches body$ as a RemoteError with its name and message; the handler answers', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, (_payload, { body$ }) =>
          body$.pipe(
            toArray(),
            map((chunks) => chunks.join(',')),
            catchError((error: RemoteError) => {
              seen.push(`${error.name}:${error.remoteName}:${error.message}@${testScheduler.now()}`);
              return of('body failed');
            }),
          ),
        ).subscribe();
        const { link, subscription } = clientOn(pair);
        const body = cold('-a-#', undefined, new TypeError('disk gone'));
        // The error leaves at 4 and arrives at 5; the answer is back at 6.
        expectObservable(shown(link.request('up', { body }))).toBe('6ms (r|)', { r: 'body failed' });
        cleanup(testScheduler, 30, subscription, server);
      });
      expect(seen).to.deep.equal(['RemoteError:TypeError:disk gone@5']);
    });

    it('a request without a body has an empty body$; an empty body completes it at once', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      testScheduler.run(({ expectObservable }) => {
        const { link, end } = joinedPair(testScheduler, seen);
        expectObservable(shown(link.request('plain'))).toBe('3ms (r|)', { r: 'plain=' });
        // The head and the end leave together at 1.
        expectObservable(shown(link.request('empty', { body: of() }))).toBe('3ms (r|)', { r: 'empty=' });
        end(30);
      });
      expect(seen).to.deep.equal(['plain:complete@2', 'empty:complete@2']);
    });

    it('body$ may be subscribed once: a second subscription errors with a TypeError', () => {
      const testScheduler = newTestScheduler();
      const errors: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, (_payload, { body$ }) => {
          body$.subscribe({ error: () => undefined });
          body$.subscribe({ error: (e: Error) => errors.push(`${e.name}: ${e.message}`) });
          return 'ok';
        }).subscribe();
        const { link, subscription } = clientOn(pair);
        expectObservable(shown(link.request('twice', { body: cold('-a|') }))).toBe('3ms (r|)', { r: 'ok' });
        cleanup(testScheduler, 30, subscription, server);
      });
      expect(errors).to.deep.equal(['TypeError: Request 1: body$ may be subscribed once']);
    });

    it('an answer before the end of the body unsubscribes it on the client; the rest is dropped', () => {
      const testScheduler = newTestScheduler();
      const log: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        // The handler answers with the first chunk (in at 3): the answer is back at 4.
        const server = serveOn(pair, (payload, { body$ }) =>
          payload === 'first' ? body$.pipe(take(1)) : 'fine',
        ).subscribe();
        const { link, subscription } = clientOn(pair);
        const body = logged(testScheduler, log, cold('-a-b-c-d|'));
        expectObservable(shown(link.request('first', { body }))).toBe('4ms (a|)', { a: 'a' });
        // The chunk that crossed the answer (b, sent at 4) is dropped; the connection goes on.
        testScheduler.schedule(() => {
          expectObservable(shown(link.request('next'))).toBe('12ms (r|)', { r: 'fine' });
        }, 10);
        cleanup(testScheduler, 30, subscription, server);
      });
      expect(log).to.deep.equal(['sub@1', 'unsub@4']);
    });
  });
  describe('cancel', () => {
    it('unsubscribing mid-body unsubscribes the body and sends a cancel: the server aborts and body$ errors', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      const log: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const { link, end } = joinedPair(testScheduler, seen);
        const body = logged(testScheduler, log, cold('-a-b-c-d|'));
        // Chunks leave at 2 and 4; the request is unsubscribed at 5, its cancel arrives at 6.
        expectObservable(shown(link.request('up', { body })), '^ 4ms !').toBe('');
        end(30);
      });
      expect(log).to.deep.equal(['sub@1', 'unsub@5']);
      expect(seen).to.deep.equal(['up:a@3', 'up:b@5', 'up:aborted@6', 'up:E:AbortError@6']);
    });

    it('a handler that subscribes to body$ only after its request was cancelled gets an AbortError at once', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        let late: Observable<unknown> | undefined;
        const server = serveOn(pair, (_payload, { body$ }) => {
          late = body$;
          return NEVER;
        }).subscribe();
        const { link, subscription } = clientOn(pair);
        // Unsubscribed at 5: the cancel reaches the server at 6; the handler reads its body at 10.
        expectObservable(shown(link.request('up', { body: cold('-a-b-c-d|') })), '^ 4ms !').toBe('');
        testScheduler.schedule(() => {
          late!.subscribe({
            next: (chunk) => seen.push(`chunk ${String(chunk)}`),
            error: (error: Error) => seen.push(`${error.name}@${testScheduler.now()}`),
          });
        }, 10);
        cleanup(testScheduler, 30, subscription, server);
      });
      expect(seen).to.deep.equal(['AbortError@10']);
    });

    it('a timeout mid-body does the same, and the request fails with RequestTimeoutError', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      const log: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const { link, end } = joinedPair(testScheduler, seen);
        const body = logged(testScheduler, log, cold('-a-b-c-d|'));
        expectObservable(shown(link.request('up', { body, timeout: 5 }))).toBe('5ms (e|)', {
          e: 'E:RequestTimeoutError',
        });
        end(30);
      });
      expect(log).to.deep.equal(['sub@1', 'unsub@5']);
      expect(seen).to.deep.equal(['up:a@3', 'up:b@5', 'up:aborted@6', 'up:E:AbortError@6']);
    });

    it('the end of the stream unsubscribes every body', () => {
      const testScheduler = newTestScheduler();
      const log: string[] = [];
      testScheduler.run(({ cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, joining(testScheduler, [])).subscribe();
        const { link, subscription } = clientOn(pair);
        const body = logged(testScheduler, log, cold('-a-b-c-d|'));
        link.request('up', { body }).subscribe({ error: () => undefined });
        cleanup(testScheduler, 4, subscription);
        cleanup(testScheduler, 30, server);
      });
      expect(log).to.deep.equal(['sub@1', 'unsub@4']);
    });
  });

  describe('bounds', () => {
    it('chunks that come after the handler stopped reading are dropped, not held against maxBodyChunks', () => {
      const testScheduler = newTestScheduler();
      const read: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        // Reads the first chunk, stops reading, and answers at 20.
        const server = serveOn(
          pair,
          (_payload, { body$ }) => {
            body$.pipe(take(1)).subscribe((chunk) => read.push(String(chunk)));
            return timer(20).pipe(map(() => 'done'));
          },
          { config: { maxBodyChunks: 2 } },
        ).subscribe();
        const { link, subscription } = clientOn(pair);
        // Five chunks arrive from 3 to 11, four of them after the handler left body$.
        expectObservable(shown(link.request('skim', { body: cold('-a-b-c-d-e|') }))).toBe('23ms (r|)', {
          r: 'done',
        });
        cleanup(testScheduler, 40, subscription, server);
      });
      expect(read).to.deep.equal(['a']);
    });

    it('over maxBodyChunks unread chunks, that request fails with RequestBodyOverflowError; the connection goes on', () => {
      const testScheduler = newTestScheduler();
      const reasons: unknown[] = [];
      const log: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        // A handler that never reads its body.
        const server = serveOn(
          pair,
          (payload, { signal }) => {
            signal.addEventListener('abort', () => reasons.push(signal.reason));
            return payload === 'hoard' ? NEVER : 'fine';
          },
          { config: { maxBodyChunks: 3 } },
        ).subscribe();
        const { link, subscription } = clientOn(pair);
        const body = logged(testScheduler, log, cold('-a-b-c-d-e-f|'));
        // Chunks arrive at 3, 5, 7; the fourth, at 9, is one too many: the error is back at 10.
        expectObservable(shown(link.request('hoard', { body }))).toBe('10ms (e|)', {
          e: 'E:RemoteError:RequestBodyOverflowError',
        });
        testScheduler.schedule(() => {
          expectObservable(shown(link.request('next'))).toBe('14ms (r|)', { r: 'fine' });
        }, 12);
        cleanup(testScheduler, 30, subscription, server);
      });
      expect(log).to.deep.equal(['sub@1', 'unsub@10']);
      expect(reasons).to.have.length(1);
      const reason = reasons[0] as RequestBodyOverflowError;
      expect(RequestBodyOverflowError.is(reason)).to.equal(true);
      expect([reason.id, reason.limit, reason.unit]).to.deep.equal([1, 3, 'chunks']);
    });

    it('over maxBodyBytes of unread chunks likewise (unit bytes); a reader keeps nothing waiting', () => {
      const testScheduler = newTestScheduler();
      const reasons: RequestBodyOverflowError[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(
          pair,
          (payload, { body$, signal }) => {
            signal.addEventListener('abort', () => reasons.push(signal.reason as RequestBodyOverflowError));
            return payload === 'hoard'
              ? NEVER
              : body$.pipe(
                  toArray(),
                  map((c) => c.length),
                );
          },
          { config: { maxBodyBytes: 20 } },
        ).subscribe();
        const { link, subscription } = clientOn(pair);
        const chunk = 'x'.repeat(9); // 10 bytes of MessagePack
        const body = () => cold('-a-a-a-a-a|', { a: chunk });
        // The third unread chunk (in at 7) is past 20 bytes.
        expectObservable(shown(link.request('hoard', { body: body() }))).toBe('8ms (e|)', {
          e: 'E:RemoteError:RequestBodyOverflowError',
        });
        // A handler that reads as chunks come holds none of them: 5 × 10 bytes pass.
        expectObservable(shown(link.request('read', { body: body() }))).toBe('13ms (r|)', { r: '5' });
        cleanup(testScheduler, 30, subscription, server);
      });
      expect(reasons.map((r) => [r.limit, r.unit])).to.deep.equal([[20, 'bytes']]);
    });

    it('body chunks the link cannot take queue within maxQueued; one more fails the request with SendQueueFullError and cancels it', () => {
      const testScheduler = newTestScheduler();
      const aborted: number[] = [];
      const log: string[] = [];
      let emitted = 0;
      testScheduler.run(({ expectObservable }) => {
        // The link's buffer takes about 200 bytes; a synchronous body of 100 chunks of 40 bytes
        // overruns it and then the 5 places of the client's queue.
        const pair = memory({ latency: 1, maxFrameBytes: 64, highWaterMark: 100, maxBufferedBytes: 200 });
        const server = serveOn(pair, (_payload, { signal }) => {
          signal.addEventListener('abort', () => aborted.push(testScheduler.now()));
          return NEVER;
        }).subscribe();
        const { link, subscription } = clientOn(pair, { config: { maxQueued: 5 } });
        const body = logged(
          testScheduler,
          log,
          range(1, 100).pipe(
            tap(() => emitted++),
            map(() => 'x'.repeat(40)),
          ),
        );
        expectObservable(shown(link.request('flood', { body }))).toBe('1ms (e|)', {
          e: 'E:SendQueueFullError',
        });
        // The queue is free again: plain frames still go.
        testScheduler.schedule(() => expect(link.queued).to.equal(0), 1);
        cleanup(testScheduler, 30, subscription, server);
      });
      // The body stopped at once, mid-loop, and the cancel reached the server.
      expect(log).to.deep.equal(['sub@1', 'unsub@1']);
      expect(emitted).to.be.below(20);
      expect(aborted).to.have.length(1);
    });

    it('a head the link took past its high-water mark: the body waits for drain$ before it is subscribed', () => {
      const testScheduler = newTestScheduler();
      const log: string[] = [];
      testScheduler.run(({ cold }) => {
        const pair = memory({ latency: 1, highWaterMark: 16 });
        const server = serveOn(pair, joining(testScheduler, [])).subscribe();
        const { link, subscription } = clientOn(pair);
        link
          .request('x'.repeat(40), { body: logged(testScheduler, log, cold('-a|')) })
          .subscribe({ error: () => undefined });
        cleanup(testScheduler, 30, subscription, server);
      });
      // Connected at 1: the head leaves, the link asks to wait; it drains at 2.
      expect(log[0]).to.equal('sub@2');
    });
  });
  describe('a broken connection, without resumable', () => {
    it('a streamed request none of whose frames left is sent again whole: the body is subscribed again from its start', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      const log: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, joining(testScheduler, seen)).subscribe();
        const { link, subscription } = clientOn(pair);
        // From 3 the network holds everything: the head (at 3) and the first chunk (at 4) are
        // held, then lost in the cut at 5. Not idempotent, yet certainly never executed.
        testScheduler.schedule(() => pair.faults.stall(), 3);
        testScheduler.schedule(() => pair.faults.cut(), 5);
        testScheduler.schedule(() => pair.faults.resume(), 6);
        testScheduler.schedule(() => {
          const body = logged(testScheduler, log, cold('-a-b|'));
          // Up again at 16: the head and the body again from a; the answer is back at 22.
          expectObservable(shown(link.request('up', { body }))).toBe('22ms (r|)', { r: 'up=a,b' });
        }, 3);
        cleanup(testScheduler, 40, subscription, server);
      });
      expect(log).to.deep.equal(['sub@3', 'unsub@5', 'sub@16', 'unsub@20']);
      // Handled once, with the whole body.
      expect(seen).to.deep.equal(['up:a@18', 'up:b@20', 'up:complete@21']);
    });

    it('one partly sent and not idempotent fails with AmbiguousOutcomeError; its body is unsubscribed', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      const log: string[] = [];
      const errors: AmbiguousOutcomeError[] = [];
      testScheduler.run(({ cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, joining(testScheduler, seen)).subscribe();
        const { link, subscription } = clientOn(pair);
        testScheduler.schedule(() => pair.faults.cut(), 5);
        const body = logged(testScheduler, log, cold('-a-b-c-d|'));
        link.request('up', { body }).subscribe({ error: (e: AmbiguousOutcomeError) => errors.push(e) });
        cleanup(testScheduler, 40, subscription, server);
      });
      expect(log).to.deep.equal(['sub@1', 'unsub@5']);
      expect(errors.map((e) => [e.name, e.id, e.valuesReceived])).to.deep.equal([
        ['AmbiguousOutcomeError', 1, 0],
      ]);
      expect(errors[0]!.message).to.include('part of its body');
      // The server had the head and a chunk: it ran the handler once, and the cut aborted it.
      expect(seen).to.deep.equal(['up:a@3', 'up:aborted@5', 'up:E:AbortError@5']);
    });

    it('one partly sent and idempotent is sent again whole, its body subscribed again', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      const log: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, joining(testScheduler, seen)).subscribe();
        const { link, subscription } = clientOn(pair);
        testScheduler.schedule(() => pair.faults.cut(), 5);
        const body = logged(testScheduler, log, cold('-a-b-c-d|'));
        // Up again at 16: the whole body again, the answer back at 26.
        expectObservable(shown(link.request('up', { body, idempotent: true }))).toBe('26ms (r|)', {
          r: 'up=a,b,c,d',
        });
        cleanup(testScheduler, 40, subscription, server);
      });
      expect(log).to.deep.equal(['sub@1', 'unsub@5', 'sub@16', 'unsub@24']);
      expect(seen).to.deep.equal([
        'up:a@3',
        'up:aborted@5',
        'up:E:AbortError@5',
        'up:a@18',
        'up:b@20',
        'up:c@22',
        'up:d@24',
        'up:complete@25',
      ]);
    });

    it('chunks queued for a request that is sent again are dropped, not sent after the new head', () => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      testScheduler.run(({ cold, expectObservable }) => {
        // A link that takes about 100 bytes: most of the body's chunks queue in the client.
        const pair = memory({ latency: 1, maxFrameBytes: 64, highWaterMark: 50, maxBufferedBytes: 100 });
        const server = serveOn(pair, (_payload, { body$, signal }) => {
          signal.addEventListener('abort', () => seen.push('aborted'));
          return body$.pipe(
            tap((chunk) => seen.push(String(chunk).slice(0, 1))),
            toArray(),
            map((chunks) => chunks.length),
          );
        }).subscribe();
        const { link, subscription } = clientOn(pair);
        // The six chunks come at once; the cut at 5 finds some of them still queued here.
        const queued: number[] = [];
        testScheduler.schedule(() => queued.push(link.queued), 3);
        testScheduler.schedule(() => pair.faults.cut(), 5);
        // Offline: the dropped chunks no longer take places in the queue.
        testScheduler.schedule(() => queued.push(link.queued), 6);
        testScheduler.schedule(() => expect(queued[0]).to.be.above(0), 6);
        testScheduler.schedule(() => expect(queued[1]).to.equal(0), 6);
        const body = cold('-(abcdef)-|', { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }).pipe(
          map((n) => `${n}${'x'.repeat(30)}`),
        );
        // Up again at 16; the body's end leaves at 26, the answer is back at 28.
        expectObservable(shown(link.request('up', { body, idempotent: true }))).toBe('28ms (r|)', { r: '6' });
        cleanup(testScheduler, 60, subscription, server);
      });
      // Some chunks, then the cut; then the six, each once, in order, on the second connection.
      const second = seen.slice(seen.indexOf('aborted') + 1);
      expect(second).to.deep.equal(['1', '2', '3', '4', '5', '6']);
      expect(seen.indexOf('aborted')).to.be.above(0);
    });
  });

  it('inside a resumable session a cut mid-body loses nothing: the body goes on, subscribed once', () => {
    const testScheduler = newTestScheduler();
    const seen: string[] = [];
    const log: string[] = [];
    const results: string[] = [];
    testScheduler.run(({ cold }) => {
      const pair = memory({ latency: 1 });
      const server = serveSessionsOn(pair, joining(testScheduler, seen)).subscribe();
      const { link, subscription } = clientOn(pair, { resumable: true });
      testScheduler.schedule(() => pair.faults.cut(), 8);
      const values = { a: 'a', b: 'b', c: 'c', d: 'd', e: 'e', f: 'f', g: 'g', h: 'h' };
      const body = logged(testScheduler, log, cold('--a-b-c-d-e-f-g-h|', values));
      link.request('up', { body }).subscribe({
        next: (v) => results.push(String(v)),
        error: (e: Error) => results.push(`E:${e.name}`),
        complete: () => results.push('done'),
      });
      cleanup(testScheduler, 100, subscription, server);
    });
    expect(results).to.deep.equal(['up=a,b,c,d,e,f,g,h', 'done']);
    // One subscription (from the session's first handshake, at 3, to the end of the body):
    // nothing was sent again by this layer.
    expect(log).to.deep.equal(['sub@3', 'unsub@20']);
    // Each chunk reached the handler once, in order, then the end.
    expect(seen.map((s) => s.split('@')[0])).to.deep.equal([
      'up:a',
      'up:b',
      'up:c',
      'up:d',
      'up:e',
      'up:f',
      'up:g',
      'up:h',
      'up:complete',
    ]);
    // a arrived before the cut at 8; b (sent at 7) was lost in it, and the session replayed it
    // and the chunks sent while away once it resumed.
    const times = seen.map((s) => Number(s.split('@')[1]));
    expect(times[0]).to.be.below(8);
    for (const time of times.slice(1)) expect(time).to.be.at.least(18);
  });
  describe('versions', () => {
    /**
     * A client, `handshake({ layers: ['requests'] })` then `cancelPending()`, on a recording link;
     * `before` runs with its request link before the server's answer, which settles `requests` at
     * `version`; `after` runs after it. `stop()` ends the client.
     */
    async function negotiated(
      version: number,
      before: (link: RequestLink) => void,
      after: (link: RequestLink) => void,
    ): Promise<{ sent: unknown[]; error: unknown; stop: () => void }> {
      const source = new Subject<TransportEvent>();
      const wire = new RecordingLink();
      let link: RequestLink | undefined;
      const result = { sent: wire.sent as unknown[], error: undefined as unknown, stop: () => undefined };
      const subscription = source.pipe(handshake({ layers: ['requests'] }), cancelPending()).subscribe({
        next: (event) => {
          if (event.type === 'request-link') link = event.link;
        },
        error: (error: unknown) => (result.error = error),
      });
      source.next({ type: 'connected', link: wire });
      await Promise.resolve();
      before(link!);
      source.next({ type: 'frame', frame: { lifeline: 2, layers: { requests: version } } });
      after(link!);
      return { ...result, stop: () => subscription.unsubscribe() };
    }

    it('requests v1 negotiated: a request with a body fails at once with RequestBodyUnsupportedError, sending nothing', async () => {
      const errors: unknown[] = [];
      const fail = { error: (e: unknown) => errors.push(e) };
      const { sent, error, stop } = await negotiated(
        1,
        // Queued before the handshake settled: it fails when its turn comes.
        (link) => link.request('early', { body: of('a') }).subscribe(fail),
        (link) => {
          link.request('late', { body: of('a') }).subscribe(fail);
          link.request('plain').subscribe(fail);
        },
      );
      expect(error).to.equal(undefined);
      expect(errors).to.have.length(2);
      for (const e of errors) {
        expect(RequestBodyUnsupportedError.is(e), String(e)).to.equal(true);
        expect([
          (e as RequestBodyUnsupportedError).version,
          (e as RequestBodyUnsupportedError).needs,
        ]).to.deep.equal([1, 2]);
        expect((e as Error).message).to.include('the server speaks requests v1');
      }
      // The hello, then the plain request only, as v1 has it: an id is given when a head reaches
      // the link, and neither refused request's did.
      expect(sent.slice(1)).to.deep.equal([[1, 1, 'plain']]);
      stop();
    });

    it('requests v1 settled by the last connection: a request with a body made after it broke fails at once, queuing nothing', () => {
      const { source, link, error, subscription } = byHand();
      const wire = new RecordingLink();
      const handshake = { layers: { requests: 1 } } as unknown as ConnectedEvent<unknown>['handshake'];
      source.next({ type: 'connected', link: wire, handshake } as TransportEvent);
      wire.end();
      source.next({ type: 'disconnected', error: new Error('gone'), attempt: 1, delay: 1000 } as never);
      // No connection now; the version the last one settled still holds.
      const errors: unknown[] = [];
      link.request('late', { body: of('a') }).subscribe({ error: (e: unknown) => errors.push(e) });
      expect(error()).to.equal(undefined);
      expect(errors).to.have.length(1);
      expect(RequestBodyUnsupportedError.is(errors[0]), String(errors[0])).to.equal(true);
      expect([link.pending, link.queued]).to.deep.equal([0, 0]);
      subscription.unsubscribe();
    });

    it('requests v2 negotiated: the head says a body follows; a plain request keeps the v1 envelope', async () => {
      const { sent, error, stop } = await negotiated(
        2,
        () => undefined,
        (link) => {
          link.request('plain').subscribe({ error: () => undefined });
          link.request('up', { body: of('a', 'b') }).subscribe({ error: () => undefined });
        },
      );
      expect(error).to.equal(undefined);
      expect(sent.slice(1)).to.deep.equal([
        [1, 1, 'plain'],
        [1, 2, 'up', 'body'],
        [4, 2, 'next', 'a'],
        [4, 2, 'next', 'b'],
        [4, 2, 'complete'],
      ]);
      stop();
    });

    it('a server whose handshake settled requests v1 takes body envelopes for what they are there: a ProtocolError', () => {
      const run = (version: number, frames: unknown[]) => {
        const source = new Subject<TransportEvent>();
        const link = new RecordingLink();
        const seen: unknown[] = [];
        let error: unknown;
        source
          .pipe(serveRequests((_payload, { body$ }) => body$.pipe(toArray())))
          .subscribe({ error: (e: unknown) => (error = e) });
        source.next({ type: 'connected', link, handshake: { layers: { requests: version } } });
        for (const frame of frames) source.next({ type: 'frame', frame });
        seen.push(...link.sent);
        return { sent: seen, error };
      };
      const head = [1, 1, 'up', 'body'];
      const v1 = run(1, [head]);
      expect(ProtocolError.is(v1.error), String(v1.error)).to.equal(true);
      expect(run(1, [[4, 1, 'complete']]).error).to.satisfy((e: unknown) => ProtocolError.is(e));
      const v2 = run(2, [head, [4, 1, 'next', 'a'], [4, 1, 'complete']]);
      expect(v2.error).to.equal(undefined);
      expect(v2.sent).to.deep.equal([
        [2, 1, 'next', ['a']],
        [2, 1, 'complete'],
      ]);
    });

    it('options: a body that is not an Observable is a TypeError at once', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(() => {
        const pair = memory({ latency: 1 });
        const { link, subscription } = clientOn(pair);
        expect(() => link.request('x', { body: ['a'] as never })).to.throw(
          TypeError,
          'request: body must be an Observable, got an array',
        );
        subscription.unsubscribe();
      });
      expect(() => serveRequests(() => 1, { maxBodyChunks: 0 })).to.throw(
        TypeError,
        'serveRequests: maxBodyChunks must be a positive integer, got 0',
      );
      expect(() => serveRequests(() => 1, { maxBodyBytes: 1.5 })).to.throw(TypeError, /maxBodyBytes/);
    });
  });
});
