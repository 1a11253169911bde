import { expect } from 'chai';
import fc from 'fast-check';
import type {
  AmbiguousOutcomeError,
  RequestCancelledError,
  RequestLinkEvent,
  TransportEvent,
} from 'rx-lifeline';
import {
  cancelPending,
  GaveUpError,
  memory,
  policy,
  ProtocolError,
  reconnectWith,
  resumable,
  type RequestHandler,
  type RequestLink,
} from 'rx-lifeline';
import {
  catchError,
  concat,
  EMPTY,
  map,
  mergeMap,
  NEVER,
  of,
  Subject,
  timer,
  VirtualTimeScheduler,
  type Observable,
} from 'rxjs';
import { RecordingLink } from 'rx-lifeline/testing';
import type { TestScheduler } from 'rxjs/testing';
import { byHand, clientOn, serveOn, serveSessionsOn } from './support.js';
import { feedLayer, INT64_FRAME, oddValue, peerFrame, unhandledDuring, type Fed } from '../peer-input.js';
import { newTestScheduler } from '../../operators/support.js';

/** A request's notifications as marble values; errors as `E:<name>`. */
function shown(response: Observable<unknown>): Observable<string> {
  return response.pipe(
    map(String),
    catchError((error: Error) => of(`E:${error.name}`)),
  );
}

/** A handler that counts its calls and answers `payload!` after `delay` ms. */
function counting(delay: number): { handler: RequestHandler; calls: string[] } {
  const calls: string[] = [];
  const handler: RequestHandler = (payload) => {
    calls.push(String(payload));
    return timer(delay).pipe(map(() => `${String(payload)}!`));
  };
  return { handler, calls };
}

function cleanup(testScheduler: TestScheduler, at: number, ...subscriptions: { unsubscribe(): void }[]) {
  testScheduler.schedule(() => subscriptions.forEach((s) => s.unsubscribe()), at);
}

describe('cancelPending', () => {
  describe('seed 000: what happens to a pending request when the connection breaks', () => {
    it('a request never written is sent on the next connection, even when not idempotent', () => {
      const testScheduler = newTestScheduler();
      const { handler, calls } = counting(0);
      testScheduler.run(({ expectObservable, cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, handler).subscribe();
        const { link, subscription } = clientOn(pair);
        cold('5ms x').subscribe(() => pair.faults.cut());
        // Asked at 7, while reconnecting (the dial starts at 15, connects at 16): sent at 16, in at
        // 17, answered at 18.
        testScheduler.schedule(() => {
          // Frames count from the start of the test.
          expectObservable(shown(link.request('offline'))).toBe('18ms (a|)', { a: 'offline!' });
        }, 7);
        cleanup(testScheduler, 40, subscription, server);
      });
      expect(calls).to.deep.equal(['offline']);
      expect(testScheduler.actions).to.deep.equal([]);
    });

    it('a written idempotent request is sent again after the reconnect', () => {
      const testScheduler = newTestScheduler();
      const { handler, calls } = counting(10);
      testScheduler.run(({ expectObservable, cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, handler).subscribe();
        const { link, subscription } = clientOn(pair);
        cold('5ms x').subscribe(() => pair.faults.cut());
        // In at 2, cut at 5 (the server aborts it); sent again at 16, in at 17, answered at 27 + 1.
        expectObservable(shown(link.request('get', { idempotent: true }))).toBe('28ms (a|)', { a: 'get!' });
        cleanup(testScheduler, 40, subscription, server);
      });
      expect(calls).to.deep.equal(['get', 'get']);
      expect(testScheduler.actions).to.deep.equal([]);
    });

    it('a delivered request that is not idempotent fails with AmbiguousOutcomeError, saying what the link confirmed', () => {
      const testScheduler = newTestScheduler();
      const { handler, calls } = counting(10);
      const errors: AmbiguousOutcomeError[] = [];
      testScheduler.run(({ expectObservable, cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, handler).subscribe();
        const { link, subscription } = clientOn(pair);
        // Both leave at 1 and reach the server at 2; the cut at 5 comes before the answers (13).
        cold('5ms x').subscribe(() => pair.faults.cut());
        link.request('post').subscribe({ error: (e: AmbiguousOutcomeError) => errors.push(e) });
        expectObservable(shown(link.request('post2'))).toBe('5ms (a|)', { a: 'E:AmbiguousOutcomeError' });
        cleanup(testScheduler, 40, subscription, server);
      });
      expect(errors.map((e) => [e.name, e.id, e.confirmed, e.valuesReceived])).to.deep.equal([
        ['AmbiguousOutcomeError', 1, true, 0],
      ]);
      expect(errors[0]!.write).to.deep.include({ lastFrame: 'whole', framesLeft: 2 });
      // Neither was sent again.
      expect(calls).to.deep.equal(['post', 'post2']);
    });

    it('a request whose frame never reached the peer is sent again and handled once, even when not idempotent', () => {
      const testScheduler = newTestScheduler();
      const { handler, calls } = counting(10);
      const errors: AmbiguousOutcomeError[] = [];
      testScheduler.run(({ expectObservable, cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, handler).subscribe();
        const { link, subscription } = clientOn(pair);
        // 'post' (frame 0) reaches the server at 2. From 3 the network holds everything: 'handed'
        // (frame 1) goes to the socket at 3 and is held there; 'queued' (frame 2), asked at 4,
        // waits in the link behind it and is never handed to the socket. The cut at 5 loses both.
        cold('3ms x').subscribe(() => pair.faults.stall());
        cold('5ms x').subscribe(() => pair.faults.cut());
        cold('6ms x').subscribe(() => pair.faults.resume());
        link.request('post').subscribe({ error: (e: AmbiguousOutcomeError) => errors.push(e) });
        // Sent again on the next connection (dial at 15, up at 16), in at 17, answered at 27 + 1.
        testScheduler.schedule(() => {
          expectObservable(shown(link.request('handed'))).toBe('28ms (a|)', { a: 'handed!' });
        }, 3);
        testScheduler.schedule(() => {
          expectObservable(shown(link.request('queued'))).toBe('28ms (a|)', { a: 'queued!' });
        }, 4);
        cleanup(testScheduler, 40, subscription, server);
      });
      expect(errors.map((e) => [e.name, e.id, e.confirmed])).to.deep.equal([
        ['AmbiguousOutcomeError', 1, true],
      ]);
      // Frame 0 may have arrived; frames 1 (known undelivered) and 2 (never handed) did not.
      expect(errors[0]!.write).to.deep.equal({
        lastFrame: 'not-started',
        unconfirmedFrames: 2,
        unconfirmedBytes: errors[0]!.write.unconfirmedBytes,
        framesLeft: 1,
      });
      // Each handler ran once.
      expect(calls).to.deep.equal(['post', 'handed', 'queued']);
      expect(testScheduler.actions).to.deep.equal([]);
    });

    it('the rule holds with heartbeat pings between the requests on the same link', () => {
      const testScheduler = newTestScheduler();
      const { handler, calls } = counting(10);
      const errors: AmbiguousOutcomeError[] = [];
      const beat = { interval: 1, timeout: 30, scheduler: testScheduler };
      const positions: number[] = [];
      testScheduler.run(({ expectObservable, cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, handler, { heartbeat: beat }).subscribe();
        const { link, subscription } = clientOn(pair, { heartbeat: beat });
        // The same schedule, but the client pings every millisecond the server is silent, and
        // during the stall (3 to 8) its pings queue around 'handed' and 'queued'.
        cold('3ms x').subscribe(() => pair.faults.stall());
        cold('8ms x').subscribe(() => pair.faults.cut());
        cold('9ms x').subscribe(() => pair.faults.resume());
        link.request('post').subscribe({ error: (e: AmbiguousOutcomeError) => errors.push(e) });
        link.request('get', { idempotent: true }).subscribe({ error: (e: Error) => errors.push(e as never) });
        // Dial at 18, up at 19, in at 20, answered at 30 + 1.
        testScheduler.schedule(() => {
          positions.push(link.framesSent);
          expectObservable(shown(link.request('handed'))).toBe('31ms (a|)', { a: 'handed!' });
        }, 3);
        testScheduler.schedule(() => {
          positions.push(link.framesSent);
          expectObservable(shown(link.request('queued'))).toBe('31ms (a|)', { a: 'queued!' });
        }, 5);
        cleanup(testScheduler, 60, subscription, server);
      });
      expect(errors.map((e) => [e.name, e.id, e.confirmed])).to.deep.equal([
        ['AmbiguousOutcomeError', 1, true],
      ]);
      const report = errors[0]!.write;
      // More frames never left than our two requests: pings were numbered between them.
      // Pings were numbered before 'handed' and between it and 'queued'; both sit at or above
      // framesLeft (the ping of 2 was held by the stall too), 'post' and 'get' below it.
      expect(report.framesLeft).to.equal(2);
      expect(positions[0]).to.be.above(2);
      expect(positions[1]).to.be.above(positions[0]! + 1);
      expect(report.unconfirmedFrames).to.equal(8);
      // 'post' ran once; 'get' (idempotent, delivered) twice; the two that never arrived once each.
      expect([...calls].sort()).to.deep.equal(['get', 'get', 'handed', 'post', 'queued']);
      expect(testScheduler.actions).to.deep.equal([]);
    });

    it('inside a resumable session, pending requests continue and settle exactly once', () => {
      const testScheduler = newTestScheduler();
      const { handler, calls } = counting(10);
      const results: string[] = [];
      testScheduler.run(({ cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveSessionsOn(pair, handler).subscribe();
        const { link, subscription } = clientOn(pair, { resumable: true });
        const record = (name: string) => ({
          next: (v: unknown) => results.push(`${name}:${String(v)}@${testScheduler.now()}`),
          error: (e: Error) => results.push(`${name}:${e.name}`),
          complete: () => results.push(`${name}:done`),
        });
        link.request('post').subscribe(record('post'));
        cold('6ms x').subscribe(() => pair.faults.cut());
        testScheduler.schedule(() => link.request('offline').subscribe(record('offline')), 8);
        cleanup(testScheduler, 80, subscription, server);
      });
      expect(calls).to.deep.equal(['post', 'offline']);
      expect(results.filter((r) => r.endsWith('done'))).to.deep.equal(['post:done', 'offline:done']);
      expect(results.filter((r) => r.includes('!'))).to.have.length(2);
      expect(results.some((r) => r.includes('Error'))).to.equal(false);
    });
  });

  it("over resumable({ onOverflow: 'event' }), a message the full replay buffer refused waits here and goes once acks make room", () => {
    const testScheduler = newTestScheduler();
    const events: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      // The server acks 20 ms after a frame: the client's replay buffer of 2 frames fills first.
      const server = serveSessionsOn(pair, counting(1).handler, {
        ackInterval: 20,
        ackEvery: 1000,
      }).subscribe();
      let link: RequestLink<string> | undefined;
      const subscription = pair.transport
        .pipe(
          reconnectWith(policy.constant(10)),
          resumable({ maxFrames: 2, onOverflow: 'event', ackInterval: 5 }),
          cancelPending<string>(),
        )
        .subscribe((event) => {
          if (event.type === 'request-link') link = event.link as RequestLink<string>;
          else if (event.type === 'frame') events.push(`${String(event.frame)}@${testScheduler.now()}`);
        });
      testScheduler.schedule(() => ['a', 'b', 'c'].forEach((message) => link!.send(message)), 5);
      testScheduler.schedule(() => events.push(`queued ${link!.queued}`), 6);
      cleanup(testScheduler, 80, subscription, server);
    });
    // a and b arrive at 6 and come back at 7; the server's ack (26) reaches the client at 27,
    // which makes room for c: sent then, back at 29.
    expect(events).to.deep.equal(['queued 1', 'A@7', 'B@7', 'C@29']);
  });

  it('a request timeout fails it with RequestTimeoutError and cancels it on the server', () => {
    const testScheduler = newTestScheduler();
    const aborted: number[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, (_payload, { signal }) => {
        signal.addEventListener('abort', () => aborted.push(testScheduler.now()));
        return NEVER;
      }).subscribe();
      const { link, subscription } = clientOn(pair, { config: { timeout: 50 } });
      expectObservable(shown(link.request('slow', { timeout: 10 }))).toBe('10ms (e|)', {
        e: 'E:RequestTimeoutError',
      });
      expectObservable(shown(link.request('default'))).toBe('50ms (e|)', { e: 'E:RequestTimeoutError' });
      cleanup(testScheduler, 80, subscription, server);
    });
    // The cancels leave at 10 and 50 and arrive 1 ms later.
    expect(aborted).to.deep.equal([11, 51]);
  });

  it('nothing waits forever by default: through an outage a request fails after 30 s; Infinity waits on', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const { handler } = counting(1);
      const server = serveOn(pair, handler).subscribe();
      // The server is unreachable from 5 ms on: every dial is refused, the policy never gives up.
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 5);
      const { link, subscription } = clientOn(pair);
      // Both requests are made at 10 ms, during the outage.
      expectObservable(shown(link.request('default')), '10ms ^').toBe('10ms 30s (e|)', {
        e: 'E:RequestTimeoutError',
      });
      expectObservable(shown(link.request('forever', { timeout: Infinity })), '10ms ^ 60s !').toBe('');
      cleanup(testScheduler, 60_020, subscription, server);
    });
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it('streams a response, and cancels it on unsubscribe; parts that crossed the cancel are ignored', () => {
    const testScheduler = newTestScheduler();
    const events: string[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, () => timer(2, 1)).subscribe();
      const { link, subscription } = clientOn(pair, { events });
      // In at 2, values from 4 arrive from 5; the cancel leaves at 7, the parts sent until 8 arrive.
      expectObservable(shown(link.request('ticks')), '^ 6ms !').toBe('-----ab', { a: '0', b: '1' });
      cleanup(testScheduler, 20, subscription, server);
    });
    expect(events).to.deep.equal(['connected']);
  });

  describe('seed 003: when the stream ends for good, every pending request fails at once', () => {
    it('on give-up, with the GaveUpError as cause', () => {
      const testScheduler = newTestScheduler();
      const errors: RequestCancelledError[] = [];
      testScheduler.run(({ expectObservable, cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, () => NEVER).subscribe();
        const { link } = clientOn(pair, { policy: policy.constant(10).maxAttempts(2) });
        for (const payload of ['a', 'b', 'c']) {
          link
            .request(payload, { idempotent: payload === 'b' })
            .subscribe({ error: (e: RequestCancelledError) => errors.push(e) });
        }
        cold('5ms x').subscribe(() => {
          pair.faults.refuse(true);
          pair.faults.cut();
        });
        // Cut at 5 (a, c ambiguous; b waits to be sent again); the dial at 15 is refused at 16,
        // the second failure, and the policy gives up.
        expectObservable(shown(link.request('d', { idempotent: true }))).toBe('16ms (e|)', {
          e: 'E:RequestCancelledError',
        });
        cleanup(testScheduler, 40, server);
      });
      expect(errors.map((e) => e.name)).to.deep.equal([
        'AmbiguousOutcomeError',
        'AmbiguousOutcomeError',
        'RequestCancelledError',
      ]);
      expect(errors[2]!.reason).to.equal('failed');
      expect(GaveUpError.is(errors[2]!.cause)).to.equal(true);
    });

    it('on unsubscribe, and the server hears of it', () => {
      const testScheduler = newTestScheduler();
      const aborted: string[] = [];
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, (payload, { signal }) => {
          signal.addEventListener('abort', () => aborted.push(`${String(payload)}@${testScheduler.now()}`));
          return NEVER;
        }).subscribe();
        const { link, subscription } = clientOn(pair);
        expectObservable(shown(link.request('a'))).toBe('10ms (e|)', { e: 'E:RequestCancelledError' });
        expectObservable(shown(link.request('b'))).toBe('10ms (e|)', { e: 'E:RequestCancelledError' });
        cleanup(testScheduler, 10, subscription);
        cleanup(testScheduler, 30, server);
        testScheduler.schedule(() => expect(pair.openConnections).to.equal(0), 29);
      });
      expect(aborted).to.deep.equal(['a@11', 'b@11']);
      expect(testScheduler.actions).to.deep.equal([]);
    });

    it('on close(): cancels reach the server, the link closes gracefully, later requests fail at once', () => {
      const testScheduler = newTestScheduler();
      const aborted: string[] = [];
      const events: string[] = [];
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, (payload, { signal }) => {
          signal.addEventListener('abort', () => aborted.push(`${String(payload)}@${testScheduler.now()}`));
          return NEVER;
        }).subscribe();
        const { link } = clientOn(pair, { events });
        expectObservable(shown(link.request('a'))).toBe('10ms (e|)', { e: 'E:RequestCancelledError' });
        testScheduler.schedule(() => link.close(), 10);
        testScheduler.schedule(() => {
          expectObservable(shown(link.request('late'))).toBe('12ms (e|)', { e: 'E:RequestCancelledError' });
        }, 12);
        cleanup(testScheduler, 30, server);
      });
      expect(aborted).to.deep.equal(['a@11']);
      expect(events).to.deep.equal(['connected', 'complete']);
    });
  });

  it('a RequestCancelledError says how the stream ended, to a pending request and to one made after', () => {
    const cause = new Error('gone');
    const endings: [
      string,
      (events: Subject<TransportEvent>, link: RequestLink, stop: () => void) => void,
    ][] = [
      ['complete', (events) => events.complete()],
      ['close()', (_, link) => link.close()],
      ['unsubscribe', (_events, _link, stop) => stop()],
      ['error', (events) => events.error(cause)],
    ];
    const seen = endings.map(([name, end]) => {
      const events = new Subject<TransportEvent>();
      let link: RequestLink | undefined;
      const subscription = events.pipe(cancelPending({ timeout: Infinity })).subscribe({
        next: (event) => {
          if (event.type === 'request-link') link = event.link;
        },
        error: () => undefined,
      });
      const errors: RequestCancelledError[] = [];
      const keep = { error: (error: RequestCancelledError) => errors.push(error) };
      link!.request('pending').subscribe(keep);
      end(events, link!, () => subscription.unsubscribe());
      link!.request('after').subscribe(keep);
      return [name, ...errors.map((e) => `${e.name} ${e.reason} ${String(e.cause)}: ${e.message}`)];
    });
    expect(seen).to.deep.equal([
      [
        'complete',
        'RequestCancelledError closed undefined: The request was cancelled: its stream was closed',
        'RequestCancelledError closed undefined: The request was cancelled: its stream was closed',
      ],
      [
        'close()',
        'RequestCancelledError closed undefined: The request was cancelled: its stream was closed',
        'RequestCancelledError closed undefined: The request was cancelled: its stream was closed',
      ],
      [
        'unsubscribe',
        'RequestCancelledError unsubscribed undefined: The request was cancelled: its stream was unsubscribed',
        'RequestCancelledError unsubscribed undefined: The request was cancelled: its stream was unsubscribed',
      ],
      [
        'error',
        'RequestCancelledError failed Error: gone: The request was cancelled: its stream failed',
        'RequestCancelledError failed Error: gone: The request was cancelled: its stream failed',
      ],
    ]);
  });

  it('a stream that gives up hands back the plain messages it still queued, not the requests', () => {
    const testScheduler = newTestScheduler();
    const errors: string[] = [];
    let unsent: readonly string[] = [];
    testScheduler.run(() => {
      // No server: both dials are refused and the policy gives up at 12.
      const pair = memory({ latency: 1 });
      const { link } = clientOn(pair, { policy: policy.constant(10).maxAttempts(2) });
      link.send('m1');
      link.request('r').subscribe({ error: (e: Error) => errors.push(e.name) });
      link.send('m2');
      testScheduler.schedule(() => (unsent = link.unsent), 20);
    });
    expect(errors).to.deep.equal(['RequestCancelledError']);
    expect(unsent).to.deep.equal(['m1', 'm2']);
  });

  it('close() with no connection hands back every queued message as unsent', () => {
    const testScheduler = newTestScheduler();
    let unsent: readonly string[] = [];
    const events: string[] = [];
    testScheduler.run(() => {
      // No server: the dial at 1 is refused and the next is due at 11.
      const pair = memory({ latency: 1 });
      const { link } = clientOn(pair, { events });
      link.send('m1');
      link.send('m2');
      testScheduler.schedule(() => {
        link.close();
        unsent = link.unsent;
      }, 5);
    });
    expect(unsent).to.deep.equal(['m1', 'm2']);
    expect(events).to.deep.equal(['disconnected', 'complete']);
  });

  it('close() on a full link keeps the queue in order: once one message is left over, the rest are too', () => {
    const testScheduler = newTestScheduler();
    let unsent: readonly string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1, maxFrameBytes: 64, highWaterMark: 50, maxBufferedBytes: 100 });
      const server = serveOn(pair, () => NEVER).subscribe();
      const { link } = clientOn(pair);
      testScheduler.schedule(() => {
        const [a, b, c] = ['a'.repeat(40), 'b'.repeat(50), 'c'];
        link.send(a);
        // b would take the link past maxBufferedBytes: it is queued, and c behind it.
        link.send(b);
        link.send(c);
        link.close();
        unsent = link.unsent.map((m) => m[0]!);
      }, 2);
      cleanup(testScheduler, 20, server);
    });
    // c would fit on the link, but it must not overtake b.
    expect(unsent).to.deep.equal(['b', 'c']);
  });

  it('drain$ says when the link takes frames again after a send that asked to wait or was queued; frames keep their order', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    const received: unknown[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1, maxFrameBytes: 64, highWaterMark: 30, maxBufferedBytes: 80 });
      // A server that only reads: what reached it, in order.
      const server = pair.server
        .pipe(mergeMap((event) => (event.type === 'connection' ? event.connection : EMPTY)))
        .subscribe((event) => {
          if (event.type === 'frame') received.push((event.frame as unknown[])[1]);
          else log.push(`server ${event.type}`);
        });
      const { link, subscription } = clientOn(pair);
      link.drain$.subscribe(() => log.push(`drain@${testScheduler.now()}`));
      testScheduler.schedule(() => {
        // Each frame is about 44 bytes: one makes the link ask to wait, two would overflow it.
        for (const frame of ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)]) {
          log.push(`${frame[0]!}:${link.send(frame)}@${testScheduler.now()}`);
        }
      }, 2);
      testScheduler.schedule(() => log.push(`d:${link.send('d'.repeat(40))}@${testScheduler.now()}`), 10);
      cleanup(testScheduler, 20, subscription, server);
    });
    // b waited for the drain at 3 and c for the next one: drain$ says so once, when both are out.
    expect(log).to.deep.equal([
      'server connected',
      'a:false@2',
      'b:false@2',
      'c:false@2',
      'drain@4',
      'd:false@10',
      'drain@11',
    ]);
    expect(received.map((frame) => String(frame)[0])).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  it('a cancel the full link refused goes once it drains, and what was sent after it goes after it', () => {
    const testScheduler = newTestScheduler();
    const received: string[] = [];
    const log: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1, maxFrameBytes: 64, highWaterMark: 30, maxBufferedBytes: 70 });
      // A server that only reads: what reached it, in order, and when.
      const server = pair.server
        .pipe(mergeMap((event) => (event.type === 'connection' ? event.connection : EMPTY)))
        .subscribe((event) => {
          if (event.type === 'frame') received.push(`${JSON.stringify(event.frame)}@${testScheduler.now()}`);
        });
      const { link, subscription } = clientOn(pair);
      testScheduler.schedule(() => {
        const request = link.request('r').subscribe({ error: () => undefined });
        // 9 bytes of head and 60 of this leave the link 1 byte short of the cancel's 7.
        log.push(`a:${link.send('a'.repeat(52))}`, `buffered ${link.bufferedBytes}`);
        request.unsubscribe();
        log.push(`b:${link.send('b')}`, `queued ${link.queued}`);
      }, 2);
      cleanup(testScheduler, 20, subscription, server);
    });
    expect(log).to.deep.equal(['a:false', 'buffered 69', 'b:false', 'queued 1']);
    expect(received).to.deep.equal(['[1,1,"r"]@3', `[0,"${'a'.repeat(52)}"]@3`, '[3,1]@4', '[0,"b"]@4']);
  });

  it('a request whose payload cannot be encoded fails alone; the link and other requests go on', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, (payload) => of(`${String(payload)}!`)).subscribe();
      const { link, subscription } = clientOn(pair);
      testScheduler.schedule(() => {
        // Connected at 1: the request goes straight to the link, whose codec refuses it.
        expectObservable(shown(link.request(Float64Array.of(1)))).toBe('2ms (e|)', { e: 'E:EncodeError' });
        expectObservable(shown(link.request('ok'))).toBe('4ms (a|)', { a: 'ok!' });
      }, 2);
      cleanup(testScheduler, 20, subscription, server);
    });
  });

  it('a body chunk the link refuses fails its request alone, leaving nothing queued: a message sent next goes at once', () => {
    const testScheduler = newTestScheduler();
    const events: string[] = [];
    const log: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1, maxFrameBytes: 64 });
      const server = serveOn(pair, () => NEVER).subscribe();
      const { link, subscription } = clientOn(pair, { events });
      testScheduler.schedule(() => {
        // Too large for the link, not for the queue.
        shown(link.request('up', { body: of('x'.repeat(100)) })).subscribe((v) => log.push(v));
        log.push(`queued ${link.queued}`, `m:${link.send('m')}`);
      }, 2);
      cleanup(testScheduler, 20, subscription, server);
    });
    expect(log).to.deep.equal(['E:EncodeError', 'queued 0', 'm:true']);
    expect(events).to.deep.equal(['connected', 'frame:M']);
  });

  it('maxQueuedBytes is a bound the queue may reach: frames that fill it exactly are queued, one byte more is refused', () => {
    const { link, subscription } = byHand({ maxQueuedBytes: 22 });
    // 'x' ten times is 11 bytes of MessagePack: two make 22.
    expect([link.send('a'.repeat(10)), link.send('b'.repeat(10))]).to.deep.equal([false, false]);
    expect(link.queued).to.equal(2);
    expect(() => link.send('c')).to.throw(/needs 2 bytes, but 22 of the 22 allowed are queued already/);
    subscription.unsubscribe();
  });

  it('a body whose parts waited for a full link leaves the queue count at 0 once they are out; its end is not counted', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1, maxFrameBytes: 64, highWaterMark: 30, maxBufferedBytes: 80 });
      const server = serveOn(pair, () => NEVER).subscribe();
      const { link, subscription } = clientOn(pair);
      const body = new Subject<string>();
      testScheduler.schedule(() => {
        link.request('up', { body }).subscribe({ error: () => undefined });
        // About 44 bytes each: the first makes the link ask to wait, the second waits here.
        link.send('a'.repeat(40));
        link.send('b'.repeat(40));
        body.next('c');
        body.complete();
        log.push(`queued ${link.queued}@${testScheduler.now()}`);
      }, 2);
      testScheduler.schedule(() => log.push(`queued ${link.queued}@${testScheduler.now()}`), 10);
      cleanup(testScheduler, 20, subscription, server);
    });
    expect(log).to.deep.equal(['queued 2@2', 'queued 0@10']);
  });

  it('a message sent while the connection has ended but its disconnected event has not come yet is queued, not refused', () => {
    const { source, link, error, subscription } = byHand();
    const [first, second] = [new RecordingLink(), new RecordingLink()];
    source.next({ type: 'connected', link: first });
    first.end();
    // The request link outlives connections: the message waits for the next one.
    expect(link.send('m')).to.equal(false);
    expect(link.queued).to.equal(1);
    source.next({ type: 'connected', link: second });
    expect(second.sent).to.deep.equal([[0, 'm']]);
    expect(error()).to.equal(undefined);
    subscription.unsubscribe();
  });

  it('what was queued before a connection that turns out closed stays queued, in order, for the next one', () => {
    const { source, link, subscription } = byHand();
    const [first, second] = [new RecordingLink(), new RecordingLink()];
    const seen: string[] = [];
    shown(link.request('q')).subscribe((v) => seen.push(v));
    link.send('m');
    first.end();
    // Its disconnected event has not come yet: nothing is lost, nothing fails.
    source.next({ type: 'connected', link: first });
    expect([link.queued, link.pending, seen]).to.deep.equal([1, 1, []]);
    source.next({ type: 'connected', link: second });
    expect(second.sent).to.deep.equal([
      [1, 1, 'q'],
      [0, 'm'],
    ]);
    expect(seen).to.deep.equal([]);
    subscription.unsubscribe();
  });

  it('a new connection with no disconnected event before it settles what the old link was handed, as a break does', () => {
    const { source, link, subscription } = byHand();
    const [first, second] = [new RecordingLink(), new RecordingLink()];
    const seen: string[] = [];
    source.next({ type: 'connected', link: first });
    shown(link.request('again', { idempotent: true })).subscribe((v) => seen.push(`again:${v}`));
    shown(link.request('once')).subscribe((v) => seen.push(`once:${v}`));
    expect(first.sent).to.deep.equal([
      [1, 1, 'again'],
      [1, 2, 'once'],
    ]);
    // `first` never closed and no `disconnected` came: what it was handed is as good as lost.
    source.next({ type: 'connected', link: second });
    expect(seen).to.deep.equal(['once:E:AmbiguousOutcomeError']);
    expect(second.sent).to.deep.equal([[1, 1, 'again']]);
    subscription.unsubscribe();
  });

  it('caps pending requests: one more fails at once with PendingRequestsFullError', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, () => timer(5).pipe(map(() => 'ok'))).subscribe();
      const { link, subscription } = clientOn(pair, { config: { maxPending: 2 } });
      expectObservable(shown(link.request('a'))).toBe('8ms (a|)', { a: 'ok' });
      expectObservable(shown(link.request('b'))).toBe('8ms (a|)', { a: 'ok' });
      expectObservable(shown(link.request('c'))).toBe('(e|)', { e: 'E:PendingRequestsFullError' });
      cleanup(testScheduler, 20, subscription, server);
    });
  });

  it('fails the stream with a ProtocolError when the server does not serve requests', () => {
    const testScheduler = newTestScheduler();
    const events: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      const server = pair.server.subscribe((event) => {
        if (event.type === 'connection')
          event.connection.subscribe((e) => e.type === 'connected' && e.link.send('not an envelope'));
      });
      const { link } = clientOn(pair, { events });
      events.push(`closed ${link.closed}`);
      testScheduler.schedule(() => events.push(`closed ${link.closed}`), 5);
      cleanup(testScheduler, 10, server);
    });
    // The request link says closed once its stream ended, with no close() asked.
    expect(events).to.deep.equal(['closed false', 'connected', 'error:ProtocolError', 'closed true']);
  });

  it('the request link says closed, and close requested, as soon as close() returns', () => {
    const testScheduler = newTestScheduler();
    const events: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, counting(1).handler).subscribe();
      const { link, subscription } = clientOn(pair, { events });
      testScheduler.schedule(() => {
        events.push(`closed ${link.closed}`);
        link.close();
        events.push(`closed ${link.closed}, close requested ${link.closeRequested}`);
      }, 5);
      cleanup(testScheduler, 30, subscription, server);
    });
    expect(events).to.deep.equal([
      'connected',
      'closed false',
      'closed true, close requested true',
      'complete',
    ]);
  });

  describe('given any value a peer can decode to', () => {
    const layer = (source: Observable<TransportEvent>) =>
      source.pipe(cancelPending({ scheduler: new VirtualTimeScheduler() }));
    /**
     * Sends request 1 as soon as the link is there, so responses to it are meaningful; it streams
     * a body that never ends, so responses meet a body being sent.
     */
    const requesting = (event: { readonly type: string }) => {
      if (event.type === 'request-link')
        (event as RequestLinkEvent).link
          .request('x', { body: concat(of('a', 'b'), NEVER) })
          .subscribe({ error: () => undefined });
    };

    it('a frame holding a 64-bit integer, or a response part that is one, fails the stream with a ProtocolError', async () => {
      const fed: Fed[] = [];
      const reported = await unhandledDuring(() => {
        fed.push(feedLayer(layer, [INT64_FRAME], requesting));
        fed.push(feedLayer(layer, [[2, 1, 1n]], requesting));
      });
      expect(reported).to.deep.equal([]);
      for (const { error } of fed) expect(ProtocolError.is(error), String(error)).to.equal(true);
      expect((fed[0]!.error as Error).message).to.match(
        /received an array of 1 starting 1n, not a requests envelope/,
      );
      expect((fed[1]!.error as Error).message).to.match(/malformed response part 1n/);
    });

    it('a response or message whose shape is wrong fails the stream with a ProtocolError; a sound one is taken', () => {
      // Request 1 is out. Responses are [2, id, 'next' | 'value' | 'error', value] or
      // [2, id, 'complete']; messages [0, message]. Each of these breaks one rule.
      const malformed = [
        [2, 1, 'value'],
        [2, 1, 'next'],
        [2, 1, 'complete', 'x'],
        [2, 1, 'value', 1, 2],
        [2, 1, 'error', 'not an error'],
        [2, 1, 'done', 1],
        [2, 'x', 'value', 1],
        [2, 9, 'value', 1],
        [0],
        [0, 'a', 'b'],
      ];
      for (const frame of malformed) {
        const { error } = feedLayer(layer, [frame], requesting);
        expect(ProtocolError.is(error), JSON.stringify(frame)).to.equal(true);
      }
      const sound = feedLayer(
        layer,
        [
          [2, 1, 'next', 'v'],
          [0, 'm'],
          [2, 1, 'complete'],
        ],
        requesting,
      );
      expect(sound.error).to.equal(undefined);
      expect(sound.types).to.deep.equal(['request-link', 'connected', 'frame']);
    });

    it('property: it emits frames or fails with a ProtocolError, and never throws', async () => {
      const part = fc.constantFrom('next', 'value', 'error', 'complete');
      const envelopes = fc.oneof(
        fc.tuple(fc.constant(0), oddValue),
        fc.tuple(fc.constant(2), fc.constant(1), part, oddValue),
        fc.tuple(
          fc.constant(2),
          fc.constant(1),
          fc.constant('error'),
          fc.constant({ name: 'E', message: 'm' }),
        ),
        fc.tuple(fc.constant(2), fc.integer(), part),
        // Body parts go client → server only: from a server they are not an envelope.
        fc.tuple(fc.constant(4), fc.constant(1), fc.constantFrom('next', 'complete', 'error'), oddValue),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(peerFrame(envelopes), { maxLength: 4 }), async (frames) => {
          let fed: Fed | undefined;
          expect(
            await unhandledDuring(() => void (fed = feedLayer(layer, frames, requesting))),
          ).to.deep.equal([]);
          for (const type of fed!.types) expect(type).to.be.oneOf(['request-link', 'connected', 'frame']);
          if (fed!.error !== undefined)
            expect(ProtocolError.is(fed!.error), String(fed!.error)).to.equal(true);
        }),
        { numRuns: 300 },
      );
    });
  });
});
