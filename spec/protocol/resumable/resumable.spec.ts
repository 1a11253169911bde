import { expect } from 'chai';
import fc from 'fast-check';
import {
  acceptSessions,
  memory,
  policy,
  ProtocolError,
  reconnectWith,
  ReplayBufferFullError,
  resumable,
  type AcceptSessionsConfig,
  type Link,
  type MemoryPair,
  type ResumableConfig,
  type ServerSession,
  type TransportEvent,
} from 'rx-lifeline';
import {
  catchError,
  EMPTY,
  endWith,
  map,
  mergeMap,
  of,
  take,
  tap,
  VirtualTimeScheduler,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  bentRecord,
  feedLayer,
  INT64_FRAME,
  oddValue,
  peerFrame,
  unhandledDuring,
  type Fed,
} from '../peer-input.js';
import { newTestScheduler } from '../../operators/support.js';

const ZEROS = '0'.repeat(32);

/** A resumable client as marble values: `c`, frames, `r<n>`, `d`, `x:<reason>`, `o:<frame>`, `E:<name>`. */
function client(
  pair: MemoryPair,
  config: ResumableConfig<string> = {},
  onLink: (link: Link<string>) => void = () => undefined,
): Observable<string> {
  return pair.transport.pipe(
    reconnectWith(policy.constant(10)),
    resumable<string>(config),
    map((event) => {
      switch (event.type) {
        case 'connected':
          onLink(event.link as Link<string>);
          return 'c';
        case 'frame':
          return String(event.frame);
        case 'resumed':
          return `r${event.replayed}`;
        case 'session-reset':
          return `x:${event.reason}`;
        case 'overflow':
          return `o:${String(event.frame)}`;
        default:
          return 'd';
      }
    }),
    catchError((error: Error) => of(`E:${error.name}`)),
  );
}

/** A session server as marble values: `C`, frames, `R<n>`, `D`, `E:<name>`; it echoes upper-cased. */
function server(
  pair: MemoryPair,
  config: AcceptSessionsConfig<string> = {},
  onSession: (session: ServerSession<string>) => void = () => undefined,
): Observable<string> {
  return acceptSessions<string>(pair.server, config).pipe(
    tap(onSession),
    mergeMap((session) =>
      session.events$.pipe(
        map((event) => {
          if (event.type === 'connected') return 'C';
          if (event.type === 'frame') {
            if (event.frame === event.frame.toLowerCase()) session.link.send(event.frame.toUpperCase());
            return event.frame;
          }
          if (event.type === 'resumed') return `R${event.replayed}`;
          return 'D';
        }),
        catchError((error: Error) => of(`E:${error.name}`)),
      ),
    ),
  );
}

/**
 * A hand-made peer on the raw transport (no resumable layer): shows each inbound envelope as
 * JSON (`c` on connect, `|` when the connection ends) and lets `answer` script replies.
 */
function rawClient(
  pair: MemoryPair,
  answer: (frame: unknown, link: Link<unknown>) => void,
  onConnect: (link: Link<unknown>) => void,
): Observable<string> {
  let link: Link<unknown> | undefined;
  return pair.transport.pipe(
    tap((event) => {
      if (event.type === 'connected') {
        link = event.link;
        onConnect(link);
      } else answer(event.frame, link!);
    }),
    map((event) => (event.type === 'connected' ? 'c' : JSON.stringify(event.frame))),
    catchError((error: Error) => of(`E:${error.name}`)),
  );
}

/** A raw server that answers the first hello with a welcome and shows what it receives. */
function rawServer(
  pair: MemoryPair,
  script: (link: Link<unknown>, testScheduler: TestScheduler) => void,
  testScheduler: TestScheduler,
): Observable<string> {
  return pair.server.pipe(
    mergeMap((event) => {
      if (event.type !== 'connection') return EMPTY;
      let link: Link<unknown> | undefined;
      return event.connection.pipe(
        tap((e) => {
          if (e.type === 'connected') link = e.link;
          else if (Array.isArray(e.frame) && e.frame[0] === 2) {
            link!.send([3, { v: 1, session: 'a'.repeat(32), token: 'b'.repeat(32), received: 0 }]);
            script(link!, testScheduler);
          }
        }),
        mergeMap((e) => (e.type === 'connected' ? EMPTY : of(JSON.stringify(e.frame)))),
        catchError(() => EMPTY),
      );
    }),
  );
}

describe('resumable', () => {
  it('connects once, then carries frames both ways in order', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable, cold }) => {
      const pair = memory({ latency: 1 });
      let link: Link<string> | undefined;
      // prettier-ignore
      expectObservable(server(pair), '^ 50ms !').toBe('--C 8ms a 9ms b', { C: 'C', a: 'a', b: 'b' });
      cold('10ms a 9ms b').subscribe((frame) => link!.send(frame));
      // Hello at 1 arrives at 2; the welcome arrives at 3. Each frame takes 1 ms there and 1 back.
      // prettier-ignore
      expectObservable(client(pair, {}, (l) => (link = l)), '^ 50ms !').toBe('---c 7ms - A 9ms B', {
        c: 'c', A: 'A', B: 'B',
      });
    });
  });

  it('acks every ackEvery frames, and ackInterval ms after the first frame not yet acked', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const script = (link: Link<unknown>, scheduler: TestScheduler) => {
        // The client acks the welcome at once (w); frames 1 and 2 at 10 (acked on arrival at 11),
        // frame 3 at 20: acked 50 ms after its arrival.
        scheduler.schedule(() => (link.send([0, 1, 'a']), link.send([0, 2, 'b'])), 8);
        scheduler.schedule(() => link.send([0, 3, 'c']), 18);
      };
      const values = {
        h: '[2,{"v":[1,2],"received":0}]',
        w: '[1,0]',
        x: '[1,2]',
        y: '[1,3]',
      };
      // prettier-ignore
      expectObservable(rawServer(pair, script, testScheduler), '^ 100ms !').toBe('--h-w 7ms x 59ms y', values);
      // prettier-ignore
      expectObservable(client(pair, { ackEvery: 2, ackInterval: 50 }), '^ 100ms !').toBe(
        '---c 7ms (ab) 6ms c', { c: 'c', a: 'a', b: 'b' },
      );
    });
  });

  it('keeps one ack timer through the acks, and still acks ackInterval ms after the first frame not acked', () => {
    const testScheduler = newTestScheduler();
    let timers = 0;
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const counting: SchedulerLike = {
        now: () => testScheduler.now(),
        schedule: (...args: Parameters<typeof testScheduler.schedule>) => (
          timers++,
          testScheduler.schedule(...args)
        ),
      };
      const script = (link: Link<unknown>, scheduler: TestScheduler) => {
        // Ten pairs, one a millisecond from 10 (each pair acked on arrival, 11 to 20), then frame 21
        // at 30: acked 50 ms after its arrival (81, heard at 82), by the timer armed at 11 that waited again.
        for (let pair = 0; pair < 10; pair++) {
          const seq = 2 * pair + 1;
          scheduler.schedule(() => (link.send([0, seq, 'a']), link.send([0, seq + 1, 'b'])), 8 + pair);
        }
        scheduler.schedule(() => link.send([0, 21, 'c']), 28);
      };
      const values = {
        h: '[2,{"v":[1,2],"received":0}]',
        w: '[1,0]',
        ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), `[1,${2 * i + 2}]`])),
        y: '[1,21]',
      };
      // prettier-ignore
      expectObservable(rawServer(pair, script, testScheduler), '^ 100ms !').toBe('--h-w 7ms 0123456789 60ms y', values);
      const sub = client(pair, { ackEvery: 2, ackInterval: 50, scheduler: counting }).subscribe();
      testScheduler.schedule(() => sub.unsubscribe(), 100);
    });
    // The timer armed by frame 1 (at 11, for 61), armed again at 61 for frame 21 (due at 81).
    expect(timers).to.equal(2);
  });

  it('drops duplicates, and a gap on a live connection is a ProtocolError', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const script = (link: Link<unknown>, scheduler: TestScheduler) => {
        scheduler.schedule(() => (link.send([0, 1, 'a']), link.send([0, 1, 'a']), link.send([0, 2, 'b'])), 5);
        scheduler.schedule(() => link.send([0, 4, 'd']), 10);
      };
      rawServer(pair, script, testScheduler).subscribe();
      // prettier-ignore
      expectObservable(client(pair)).toBe('---c 4ms (ab) 1ms (E|)', { c: 'c', a: 'a', b: 'b', E: 'E:ProtocolError' });
    });
  });

  it('a malformed welcome is a ProtocolError, each field checked (moved and sent too)', () => {
    const good = { v: 2, session: 'a'.repeat(32), token: 'b'.repeat(32), received: 0 };
    const bad: unknown[] = [
      { ...good, v: -1 },
      { ...good, session: 'A'.repeat(32) },
      { ...good, token: 7 },
      { ...good, received: 1.5 },
      { ...good, moved: 'yes' },
      { ...good, moved: true, sent: -1 },
      { ...good, moved: true, sent: 2 ** 53 },
      [good],
    ];
    for (const welcome of bad) {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        pair.server
          .pipe(
            mergeMap((event) => (event.type === 'connection' ? event.connection : EMPTY)),
            catchError(() => EMPTY),
          )
          .subscribe((event) => {
            if (event.type === 'connected') event.link.send([3, welcome]);
          });
        expectObservable(client(pair)).toBe('--(E|)', { E: 'E:ProtocolError' });
      });
    }
  });

  it('replays after a cut in the middle of a frame: every frame once, in order, both ways', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable, cold }) => {
      const pair = memory({ latency: 1 });
      let link: Link<string> | undefined;
      cold('10ms (ab) 9ms c').subscribe((frame) => link!.send(frame));
      // The next 5 bytes towards the server arrive at 10, then the connection is reset mid-frame:
      // frame a is cut inside its envelope. The client redials at 20 (connected 21, welcome 23)
      // and replays a, b, c; the server, which got nothing, replays its nothing.
      testScheduler.schedule(() => pair.faults.cutAfter(5), 10);
      // prettier-ignore
      expectObservable(server(pair), '^ 60ms !').toBe('--C 8ms D 11ms R 1ms (abc)', {
        C: 'C', D: 'D', R: 'R0', a: 'a', b: 'b', c: 'c',
      });
      // prettier-ignore
      expectObservable(client(pair, {}, (l) => (link = l)), '^ 60ms !').toBe('---c 7ms d 12ms r 1ms (ABC)', {
        c: 'c', d: 'd', r: 'r3', A: 'A', B: 'B', C: 'C',
      });
    });
  });

  it('queues sends while disconnected and flushes them on resume', () => {
    const testScheduler = newTestScheduler();
    const seen: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      let link: Link<string> | undefined;
      server(pair).subscribe((v) => seen.push(`S${testScheduler.now()}:${v}`));
      client(pair, {}, (l) => (link = l)).subscribe((v) => seen.push(`C${testScheduler.now()}:${v}`));
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 10);
      testScheduler.schedule(() => {
        expect(link!.send('q')).to.equal(false);
        expect(link!.bufferedBytes).to.be.above(0);
      }, 15);
      testScheduler.schedule(() => pair.faults.refuse(false), 45);
    });
    // Dials at 21, 32, 43 are refused; the one at 54 resumes: the server has nothing to replay,
    // the client replays q, queued at 15.
    expect(seen).to.deep.equal([
      'S2:C',
      'C3:c',
      'C10:d',
      'S10:D',
      'C21:d',
      'C32:d',
      'C43:d',
      'S55:R0',
      'C56:r1',
      'S57:q',
      'C58:Q',
    ]);
  });

  it('overflow: send throws ReplayBufferFullError, or emits an overflow event, never drops silently', () => {
    for (const onOverflow of ['error', 'event'] as const) {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      let thrown: unknown;
      testScheduler.run(() => {
        const pair = memory({ latency: 1 });
        let link: Link<string> | undefined;
        server(pair).subscribe();
        const sub = client(pair, { maxFrames: 2, onOverflow }, (l) => (link = l)).subscribe((v) =>
          seen.push(v),
        );
        testScheduler.schedule(() => pair.faults.refuse(true), 4);
        testScheduler.schedule(() => pair.faults.cut(), 5);
        testScheduler.schedule(() => {
          link!.send('a');
          link!.send('b');
          try {
            seen.push(`sent:${String(link!.send('c'))}`);
          } catch (error) {
            thrown = error;
          }
        }, 6);
        testScheduler.schedule(() => sub.unsubscribe(), 30);
      });
      if (onOverflow === 'error') {
        expect(ReplayBufferFullError.is(thrown)).to.equal(true);
        expect((thrown as ReplayBufferFullError).frames).to.equal(2);
        expect(seen).to.deep.equal(['c', 'd', 'd', 'd']);
      } else {
        expect(thrown).to.equal(undefined);
        expect(seen).to.deep.equal(['c', 'd', 'o:c', 'sent:false', 'd', 'd']);
      }
    }
  });

  describe('backpressure: a sender that honours send() and drain$', () => {
    const TOTAL = 1_000;
    const CAP = 16;
    // The receiver acks every 4 frames, so a sender paused at half the cap soon goes on.

    /** Sends M0…M999 on `link`, pausing whenever `send` returns false until `drain$`. */
    function sendHonouring(link: Link<string>, held: number[]): void {
      let next = 0;
      const go = (): void => {
        while (next < TOTAL) {
          const ready = link.send(`M${next++}`);
          held.push(link.writeReport().unconfirmedFrames);
          if (!ready) {
            link.drain$.pipe(take(1)).subscribe(go);
            return;
          }
        }
      };
      go();
    }

    const inOrder = Array.from({ length: TOTAL }, (_, i) => `M${i}`);

    /** Runs one direction: `wire` starts the sender and the receiver, returning both subscriptions. */
    function run(
      wire: (
        pair: MemoryPair,
        receive: (v: string) => void,
        send: (link: Link<string>) => void,
      ) => {
        unsubscribe(): void;
      }[],
    ): { received: string[]; held: number[] } {
      const testScheduler = newTestScheduler();
      const received: string[] = [];
      const held: number[] = [];
      testScheduler.run(() => {
        const subscriptions = wire(
          memory({ latency: 1 }),
          (v) => v.startsWith('M') && received.push(v),
          (link) => sendHonouring(link, held),
        );
        testScheduler.schedule(() => subscriptions.forEach((s) => s.unsubscribe()), 5_000);
      });
      return { received, held };
    }

    for (const [direction, wire] of [
      [
        'client to server',
        (pair, receive, send) => [
          server(pair, { ackEvery: 4 }).subscribe(receive),
          client(pair, { maxFrames: CAP }, send).subscribe(),
        ],
      ],
      [
        'server to client',
        (pair, receive, send) => [
          server(pair, { maxFrames: CAP }, (session) => send(session.link)).subscribe(),
          client(pair, { ackEvery: 4 }).subscribe(receive),
        ],
      ],
    ] as const satisfies readonly (readonly [string, Parameters<typeof run>[0]])[]) {
      it(`${direction}: never reaches the cap (send() says wait from half of it) and loses nothing`, () => {
        const { received, held } = run(wire);
        expect(received).to.deep.equal(inOrder);
        expect(Math.max(...held)).to.equal(CAP / 2);
      });
    }
  });

  describe('maxBytes', () => {
    // 'xxxxxxxx' is 9 bytes of MessagePack; its envelope [0, seq, frame] with the 4-byte length
    // prefix is 16 bytes on the wire.
    const FRAME = 'xxxxxxxx';

    /** Sends FRAME until the buffer refuses it, at `at`; returns the bytes held and the error. */
    function fill(config: ResumableConfig<string>, offline: boolean) {
      const testScheduler = newTestScheduler();
      const held: number[] = [];
      let refused: ReplayBufferFullError | undefined;
      testScheduler.run(() => {
        const pair = memory({ latency: 1 });
        let link: Link<string> | undefined;
        const srv = server(pair).subscribe();
        const sub = client(pair, config, (l) => (link = l)).subscribe();
        if (offline) {
          testScheduler.schedule(() => pair.faults.refuse(true), 9);
          testScheduler.schedule(() => pair.faults.cut(), 9);
        }
        testScheduler.schedule(() => {
          try {
            for (let i = 0; i < 10; i++) {
              link!.send(FRAME);
              held.push(link!.bufferedBytes);
            }
          } catch (error) {
            refused = error as ReplayBufferFullError;
          }
        }, 10);
        testScheduler.schedule(() => (sub.unsubscribe(), srv.unsubscribe()), 30);
      });
      expect(ReplayBufferFullError.is(refused)).to.equal(true);
      return { held, refused: refused! };
    }

    it('by default, a frame written at once counts its framed size, taking the buffer past the cap by one frame at most', () => {
      const { held, refused } = fill({ maxBytes: 40 }, false);
      // Measured as written, without encoding twice: 16 bytes each. The third is accepted because
      // the buffer had room when it was sent; the fourth is refused, loudly.
      expect(held).to.deep.equal([16, 32, 48]);
      expect(refused).to.include({ frames: 3, bytes: 48 });
      expect(refused.limit).to.deep.equal({ frames: 65_536, bytes: 40 });
    });

    it('by default, a frame queued while disconnected is measured exactly and never exceeds the cap', () => {
      const { held, refused } = fill({ maxBytes: 40 }, true);
      expect(held).to.deep.equal([9, 18, 27, 36]);
      expect(refused).to.include({ frames: 4, bytes: 36, size: 9 });
    });

    it('a sizeOf measures every frame before it is written, so the cap is never exceeded', () => {
      const { held, refused } = fill({ maxBytes: 40, sizeOf: (frame) => frame.length * 2 }, false);
      expect(held).to.deep.equal([16, 32]);
      expect(refused).to.include({ frames: 2, bytes: 32, size: 16 });
    });

    it('a sizeOf that answers nonsense makes send throw a TypeError that says so, keeping and writing nothing', () => {
      for (const answer of [-1e9, NaN, '5', undefined]) {
        const testScheduler = newTestScheduler();
        let caught: unknown;
        let held = -1;
        const received: string[] = [];
        testScheduler.run(() => {
          const pair = memory({ latency: 1 });
          let link: Link<string> | undefined;
          const srv = server(pair).subscribe((v) => received.push(v));
          const sub = client(pair, { sizeOf: () => answer as number }, (l) => (link = l)).subscribe();
          testScheduler.schedule(() => {
            try {
              link!.send(FRAME);
            } catch (error) {
              caught = error;
            }
            held = link!.bufferedBytes;
          }, 10);
          testScheduler.schedule(() => (sub.unsubscribe(), srv.unsubscribe()), 30);
        });
        expect(caught, String(answer)).to.be.instanceOf(TypeError);
        expect((caught as TypeError).message).to.match(
          /^resumable: sizeOf must return a number of bytes ≥ 0, it returned /,
        );
        expect(held).to.equal(0);
        expect(received.filter((v) => v === FRAME)).to.deep.equal([]);
      }
    });
  });

  it('session expiry: the resume is refused and the client fails with SessionLostError', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      let link: Link<string> | undefined;
      testScheduler.schedule(() => link!.send('a'), 5);
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 10);
      testScheduler.schedule(() => pair.faults.refuse(false), 75);
      // The session loses its connection at 10 and expires at 60.
      // prettier-ignore
      expectObservable(server(pair, { sessionTtl: 50 }), '^ 100ms !').toBe('--C 3ms a 3ms D 49ms E', {
        C: 'C', a: 'a', D: 'D', E: 'E:SessionExpiredError',
      });
      // prettier-ignore
      expectObservable(client(pair, {}, (l) => (link = l)), '^ 100ms !').toBe(
        '---c 3ms A 2ms d 10ms d 10ms d 10ms d 10ms d 10ms d 12ms (E|)',
        { c: 'c', A: 'A', d: 'd', E: 'E:SessionLostError' },
      );
    });
  });

  it('a session that resumed and lost its connection again waits its whole sessionTtl from the last loss', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      testScheduler.schedule(() => pair.faults.cut(), 10);
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 40);
      testScheduler.schedule(() => pair.faults.refuse(false), 75);
      // Lost at 10 and resumed at 22; lost again at 40: it would expire at 90, not at 60, so the
      // resume at 85 is welcomed.
      // prettier-ignore
      expectObservable(server(pair, { sessionTtl: 50 }), '^ 100ms !').toBe('--C 7ms D 11ms R 17ms D 44ms R', {
        C: 'C', D: 'D', R: 'R0',
      });
      // prettier-ignore
      expectObservable(client(pair), '^ 100ms !').toBe('---c 6ms d 12ms r 16ms d 10ms d 10ms d 10ms d 12ms r', {
        c: 'c', d: 'd', r: 'r0',
      });
    });
  });

  it("session expiry with onSessionLost: 'reset': an explicit session-reset, then a fresh session, announced live", () => {
    const testScheduler = newTestScheduler();
    const seen: string[] = [];
    let lost: unknown;
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      let link: Link<string> | undefined;
      const serverSub = server(pair, { sessionTtl: 50 }).subscribe((v) => seen.push(`S:${v}`));
      const sub = pair.transport
        .pipe(reconnectWith(policy.constant(10)), resumable<string>({ onSessionLost: 'reset' }))
        .subscribe((event) => {
          if (event.type === 'connected') link = event.link as Link<string>;
          if (event.type === 'session-reset') lost = event.lost;
          if (event.type === 'resumed')
            seen.push(`C:resumed${event.fresh ? ' fresh' : ''}/${event.replayed}`);
          else seen.push(`C:${event.type === 'frame' ? String(event.frame) : event.type}`);
        });
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 10);
      // Sent while away: never acked, so reported as possibly lost.
      testScheduler.schedule(() => (link!.send('x'), link!.send('y')), 12);
      testScheduler.schedule(() => pair.faults.refuse(false), 75);
      testScheduler.schedule(() => link!.send('z'), 90);
      testScheduler.schedule(() => (sub.unsubscribe(), serverSub.unsubscribe()), 100);
    });
    expect(lost).to.deep.equal({ sent: [1, 2], missed: undefined });
    const tail = seen.filter((v) => v !== 'C:disconnected');
    expect(tail).to.deep.equal([
      'S:C',
      'C:connected',
      'S:D',
      'S:E:SessionExpiredError',
      'C:session-reset',
      'S:C',
      'C:resumed fresh/0',
      'S:z',
      'C:Z',
    ]);
  });

  it('close() says goodbye after the last frame: the server ends the session at once, not at its TTL', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const sessions = acceptSessions<string>(pair.server, { sessionTtl: 1_000 });
      let goodbyes = -1;
      sessions.stats$.subscribe((stats) => (goodbyes = stats.goodbyes));
      const ended = sessions.pipe(
        mergeMap((session) =>
          session.events$.pipe(
            map((event) => (event.type === 'frame' ? event.frame : event.type[0]!)),
            // The session's end, as a value: the server itself listens on.
            endWith('x'),
            catchError((error: Error) => of(`E:${error.name}`)),
          ),
        ),
      );
      let link: Link<string> | undefined;
      const sub = client(pair, {}, (l) => (link = l)).subscribe();
      testScheduler.schedule(() => (link!.send('a'), link!.send('b'), link!.close()), 5);
      // Both frames arrive at 6, then the goodbye: the session ends at once.
      expectObservable(ended, '^ 100ms !').toBe('--c 3ms (abx)');
      testScheduler.schedule(() => {
        expect(goodbyes).to.equal(1);
        sub.unsubscribe();
      }, 50);
    });
  });

  it('a version 1 client is welcomed with version 1, which has no goodbye', () => {
    const testScheduler = newTestScheduler();
    const welcomes: unknown[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      server(pair).subscribe();
      rawClient(
        pair,
        (frame) => welcomes.push(frame),
        (l) => l.send([2, { v: [1, 1], received: 0 }]),
      ).subscribe();
      testScheduler.schedule(() => undefined, 10);
    });
    expect(welcomes).to.have.length(1);
    expect((welcomes[0] as [number, { v: number }])[1].v).to.equal(1);
  });

  it('a server restart (a new acceptSessions) refuses the resume explicitly', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const first = server(pair).subscribe();
      testScheduler.schedule(() => first.unsubscribe(), 10);
      testScheduler.schedule(() => server(pair).subscribe(), 15);
      // Closed at 10 (the end arrives at 11: reconnect), redial at 22, refused 'unknown-session' at 24.
      // prettier-ignore
      expectObservable(client(pair), '^ 60ms !').toBe('---c 7ms d 12ms (E|)', { c: 'c', d: 'd', E: 'E:SessionLostError' });
    });
  });

  it("a wrong token is refused with 'bad-token' and the real session is unaffected", () => {
    const testScheduler = newTestScheduler();
    const seen: string[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      let id = '';
      let link: Link<string> | undefined;
      server(pair, {}, (session) => (id = session.id)).subscribe((v) => seen.push(`S:${v}`));
      client(pair, {}, (l) => (link = l)).subscribe((v) => seen.push(`C:${v}`));
      const intruder = testScheduler.createColdObservable('20ms a').pipe(
        mergeMap(() =>
          rawClient(
            pair,
            () => undefined,
            (l) => l.send([2, { v: [1, 1], session: id, token: ZEROS, received: 0 }]),
          ),
        ),
      );
      // prettier-ignore
      expectObservable(intruder, '^ 40ms !').toBe('21ms c 1ms r', { c: 'c', r: '[4,{"reason":"bad-token"}]' });
      testScheduler.schedule(() => link!.send('after'), 30);
    });
    expect(seen).to.deep.equal(['S:C', 'C:c', 'S:after', 'C:AFTER']);
  });

  it('rotates the token on every resume: the old one stops working once the client spoke on the new connection', () => {
    const testScheduler = newTestScheduler();
    const welcomes: { session: string; token: string }[] = [];
    const refusals: unknown[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      // Token rotation alone: no lockout after the wrong tokens below (sessions.spec.ts covers it).
      server(pair, { badTokenLockout: 0 }).subscribe();
      const dial = (hello: () => object, at: number) =>
        testScheduler.schedule(() => {
          const sub = rawClient(
            pair,
            (frame, link) => {
              const [kind, body] = frame as [number, { session: string; token: string }];
              if (kind === 3) {
                welcomes.push(body);
                link.send([1, 0]); // speaks after the welcome: the token it presented retires
              } else refusals.push(body);
              testScheduler.schedule(() => sub.unsubscribe(), 2);
            },
            (l) => l.send([2, hello()]),
          ).subscribe();
        }, at);
      dial(() => ({ v: [1, 1], received: 0 }), 0);
      dial(() => ({ v: [1, 1], session: welcomes[0]!.session, token: welcomes[0]!.token, received: 0 }), 10);
      dial(() => ({ v: [1, 1], session: welcomes[0]!.session, token: welcomes[0]!.token, received: 0 }), 20);
      dial(() => ({ v: [1, 2], session: welcomes[0]!.session, token: welcomes[1]!.token, received: 0 }), 30);
    });
    expect(welcomes).to.have.length(3);
    expect(new Set(welcomes.map((w) => w.session)).size).to.equal(1);
    expect(new Set(welcomes.map((w) => w.token)).size).to.equal(3);
    for (const { session, token } of welcomes) expect(session + token).to.match(/^[0-9a-f]{64}$/);
    expect(refusals).to.deep.equal([{ reason: 'bad-token' }]);
  });

  it('a welcome lost in a cut does not lock the client out: the token it presented works until it speaks', () => {
    const testScheduler = newTestScheduler();
    const welcomes: { session: string; token: string }[] = [];
    const refusals: unknown[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      // Token rotation alone: no lockout after the wrong tokens below (sessions.spec.ts covers it).
      server(pair, { badTokenLockout: 0 }).subscribe();
      const dial = (hello: () => object, at: number, speak: boolean) =>
        testScheduler.schedule(() => {
          const sub = rawClient(
            pair,
            (frame, link) => {
              const [kind, body] = frame as [number, { session: string; token: string }];
              if (kind === 3) {
                welcomes.push(body);
                if (speak) link.send([1, 0]);
              } else refusals.push(body);
              testScheduler.schedule(() => sub.unsubscribe(), 2);
            },
            (l) => l.send([2, hello()]),
          ).subscribe();
        }, at);
      const resume = (token: () => string) => () => ({
        v: [1, 1],
        session: welcomes[0]!.session,
        token: token(),
        received: 0,
      });
      dial(() => ({ v: [1, 1], received: 0 }), 0, true);
      // The welcome of this resume is "lost": the client never speaks, and still holds token 0.
      dial(
        resume(() => welcomes[0]!.token),
        10,
        false,
      );
      // So token 0 still resumes, once; token 1 (never received) is retired by it.
      dial(
        resume(() => welcomes[0]!.token),
        20,
        true,
      );
      dial(
        resume(() => welcomes[1]!.token),
        30,
        true,
      );
      // The client spoke with token 2 in hand: token 0 is worthless now.
      dial(
        resume(() => welcomes[0]!.token),
        40,
        true,
      );
      dial(
        resume(() => welcomes[2]!.token),
        50,
        true,
      );
    });
    expect(welcomes).to.have.length(4);
    expect(new Set(welcomes.map((w) => w.token)).size).to.equal(4);
    expect(refusals).to.deep.equal([{ reason: 'bad-token' }, { reason: 'bad-token' }]);
  });

  it('closes a connection that does not complete its handshake within handshakeTimeout', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      server(pair, { handshakeTimeout: 30 }).subscribe();
      const silent = rawClient(
        pair,
        () => undefined,
        () => undefined,
      );
      // Accepted at 1, closed at 31, the end arrives at 32.
      // prettier-ignore
      expectObservable(silent).toBe('-c 30ms |', { c: 'c' });
      testScheduler.schedule(() => expect(pair.openConnections).to.equal(0), 40);
    });
  });

  it('refuses a version it does not speak, and the client fails with a ProtocolError', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      server(pair).subscribe();
      const old = rawClient(
        pair,
        () => undefined,
        (l) => l.send([2, { v: [3, 4], received: 0 }]),
      );
      // prettier-ignore
      expectObservable(old).toBe('-c 1ms (r|)', { c: 'c', r: '[4,{"reason":"version"}]' });
    });
  });

  it("welcomes a client whose versions overlap the server's (1 and 2) with the highest shared one, and refuses others", () => {
    const cases: [readonly [number, number], string][] = [
      [[1, 1], 'v1'],
      [[0, 1], 'v1'],
      [[1, 2], 'v2'],
      [[2, 2], 'v2'],
      [[2, 9], 'v2'],
      [[3, 4], 'refused: version'],
      [[0, 0], 'refused: version'],
    ];
    for (const [versions, expected] of cases) {
      const testScheduler = newTestScheduler();
      const answers: string[] = [];
      testScheduler.run(() => {
        const pair = memory({ latency: 1 });
        const srv = server(pair).subscribe();
        const sub = pair.transport.subscribe((event) => {
          if (event.type === 'connected') event.link.send([2, { v: versions, received: 0 }]);
          else {
            const [, body] = event.frame as [number, { v?: number; reason?: string }];
            answers.push(body.v !== undefined ? `v${body.v}` : `refused: ${String(body.reason)}`);
          }
        });
        testScheduler.schedule(() => (sub.unsubscribe(), srv.unsubscribe()), 10);
      });
      expect(answers, JSON.stringify(versions)).to.deep.equal([expected]);
    }
  });

  it('a server that is not a session server is a ProtocolError, not frames', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      pair.server
        .pipe(mergeMap((e) => (e.type === 'connection' ? e.connection : EMPTY)))
        .subscribe((e) => e.type === 'connected' && e.link.send('plain'));
      // prettier-ignore
      expectObservable(client(pair)).toBe('--(E|)', { E: 'E:ProtocolError' });
    });
  });

  it('unsubscribing tears everything down: no timer, no connection left', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      let link: Link<string> | undefined;
      testScheduler.schedule(() => link!.send('a'), 5);
      // prettier-ignore
      expectObservable(server(pair, { ackInterval: 50 }), '^ 20ms !').toBe('--C 3ms a 5ms D');
      // prettier-ignore
      expectObservable(client(pair, { ackInterval: 50 }, (l) => (link = l)), '^ 10ms !').toBe('---c 3ms A');
      testScheduler.schedule(() => expect(pair.openConnections).to.equal(0), 30);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('the session link says closed once the stream ended, by unsubscribing or by a failure', () => {
    for (const how of ['unsubscribe', 'fail'] as const) {
      const testScheduler = newTestScheduler();
      let link: Link<string> | undefined;
      let ended = false;
      const seen: boolean[] = [];
      testScheduler.run(() => {
        const pair = memory({ latency: 1 });
        const srv = server(pair, { sessionTtl: 50 }).subscribe();
        const sub = client(pair, {}, (l) => (link = l)).subscribe({ complete: () => (ended = true) });
        testScheduler.schedule(() => seen.push(link!.closed), 5);
        // Unsubscribed at 10; or cut at 10 and kept out until the session expired (at 60): the
        // resume at 75 is refused and the stream fails with SessionLostError.
        if (how === 'unsubscribe') testScheduler.schedule(() => sub.unsubscribe(), 10);
        else testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 10);
        testScheduler.schedule(() => pair.faults.refuse(false), 75);
        testScheduler.schedule(() => seen.push(link!.closed), 100);
        testScheduler.schedule(() => (sub.unsubscribe(), srv.unsubscribe()), 110);
      });
      expect(seen, how).to.deep.equal([false, true]);
      expect(ended, `${how}: the stream ended`).to.equal(how === 'fail');
    }
  });

  it('fails loudly when misused', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      server(pair).subscribe();
      testScheduler.schedule(() => pair.faults.cut(), 5);
      // Piped before reconnectWith: its source fails with a connection error.
      const misplaced = pair.transport.pipe(
        resumable(),
        catchError((error: Error) => of(`${error.name}:${(error.cause as Error).name}`)),
        map((e) => (typeof e === 'string' ? e : e.type)),
      );
      // prettier-ignore
      expectObservable(misplaced).toBe('---c 1ms (e|)', { c: 'connected', e: 'TypeError:ConnectionResetError' });
      // With reconnectWith after it, the GaveUpError's own message says what to change.
      const retried = pair.transport.pipe(
        resumable(),
        reconnectWith(policy.constant(10)),
        map(() => 'event'),
        catchError((error: Error) => of(error.message)),
      );
      const why =
        /^Gave up after 1 failed attempt \(permanent\): TypeError: resumable: .*pipe resumable\(\) after reconnectWith\(\)$/;
      expectObservable(retried.pipe(map((m) => (why.test(m) ? 'why' : m)))).toBe('---e 1ms (w|)', {
        e: 'event',
        w: 'why',
      });
    });
    expect(() => resumable({ ackEvery: 0 })).to.throw(TypeError, /ackEvery/);
    expect(() => resumable({ maxBytes: -1 })).to.throw(TypeError, /maxBytes/);
    expect(() => resumable({ onOverflow: 'drop' as never })).to.throw(TypeError, /onOverflow/);
    expect(() => acceptSessions(memory().server, { sessionTtl: 0 })).to.throw(TypeError, /sessionTtl/);
  });

  describe('given any value a peer can decode to', () => {
    const layer = (source: Observable<TransportEvent>) =>
      source.pipe(resumable({ scheduler: new VirtualTimeScheduler() }));
    const WELCOME = [3, { v: 1, session: 'a'.repeat(32), token: 'b'.repeat(32), received: 0 }];

    it('a frame holding a 64-bit integer fails the stream with a ProtocolError, handshaking or resumed', async () => {
      const fed: Fed[] = [];
      const reported = await unhandledDuring(() => {
        fed.push(feedLayer(layer, [INT64_FRAME]));
        fed.push(feedLayer(layer, [WELCOME, INT64_FRAME]));
      });
      expect(reported).to.deep.equal([]);
      for (const { error } of fed) expect(ProtocolError.is(error), String(error)).to.equal(true);
      expect((fed[0]!.error as Error).message).to.match(
        /received an array of 1 starting 1n, not a resumable envelope; this client is handshaking/,
      );
      expect(fed[1]!.types).to.deep.equal(['connected']);
    });

    /** Asserts that `frames` give only `connected` and frames, or a ProtocolError, and nothing uncaught. */
    const check = async (frames: unknown[]) => {
      let fed: Fed | undefined;
      expect(await unhandledDuring(() => void (fed = feedLayer(layer, frames)))).to.deep.equal([]);
      for (const type of fed!.types) expect(type).to.be.oneOf(['connected', 'frame']);
      if (fed!.error !== undefined) expect(ProtocolError.is(fed!.error), String(fed!.error)).to.equal(true);
    };

    it('property, handshaking: any answer to the hello is a welcome or a ProtocolError, and never throws', async () => {
      const welcome = bentRecord(
        fc.record({
          v: fc.constantFrom<unknown>(0, 1, 2),
          session: fc.constant('a'.repeat(32)),
          token: fc.constant('b'.repeat(32)),
          received: fc.constantFrom<unknown>(0, 1),
        }),
      );
      const refusal = bentRecord(
        fc.record({
          reason: fc.constantFrom('unknown-session', 'bad-token', 'version', 'overloaded'),
          lost: fc.constantFrom<unknown>(undefined, [1, 2], [2, 1]),
        }),
      );
      const envelopes = fc.oneof(fc.tuple(fc.constant(3), welcome), fc.tuple(fc.constant(4), refusal));
      await fc.assert(fc.asyncProperty(fc.array(peerFrame(envelopes), { maxLength: 3 }), check), {
        numRuns: 300,
      });
    });

    it('property, resumed: any frame is delivered once or is a ProtocolError, and never throws', async () => {
      const envelopes = fc.oneof(
        fc.tuple(fc.constant(0), fc.integer({ min: 0, max: 3 }), oddValue),
        fc.tuple(fc.constant(1), fc.integer({ min: 0, max: 2 })),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(peerFrame(envelopes), { maxLength: 4 }), (frames) =>
          check([WELCOME, ...frames]),
        ),
        { numRuns: 300 },
      );
    });
  });
});
