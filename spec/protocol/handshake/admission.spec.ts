import { expect } from 'chai';
import fc from 'fast-check';
import type { HandshakeRefusedError, MemoryPair, PeerClosedError } from 'rx-lifeline';
import {
  acceptHandshake,
  classifyFailure,
  handshake,
  HandshakeAdmission,
  heartbeat,
  memory,
  policy,
  reconnectWith,
} from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import { catchError, EMPTY, map, mergeMap, of, VirtualTimeScheduler, type Observable } from 'rxjs';
import { newTestScheduler } from '../../operators/support.js';

/** A clock that only moves when told. */
function clock() {
  const scheduler = new VirtualTimeScheduler();
  return { scheduler, at: (ms: number) => ((scheduler as unknown as { frame: number }).frame = ms) };
}

/** A server of `pair` whose every connection is admitted by `admission`, with a heartbeat. */
function serveHeartbeat(pair: MemoryPair, admission: HandshakeAdmission): void {
  pair.server
    .pipe(
      mergeMap((event) =>
        event.type === 'connection'
          ? event.connection.pipe(
              acceptHandshake({ layers: ['heartbeat'], admission }),
              heartbeat(),
              catchError(() => EMPTY),
            )
          : EMPTY,
      ),
    )
    .subscribe();
}

describe('HandshakeAdmission', () => {
  it('admits a burst, then refuses with hints that queue the refused one slot apart', () => {
    const { scheduler } = clock();
    const admission = new HandshakeAdmission({ perSecond: 10, burst: 3, scheduler });
    const answers = Array.from({ length: 7 }, () => admission.admit());
    // 3 admitted; the bucket refills one token per 100 ms: the refused come back at 100, 200, …
    expect(answers).to.deep.equal([undefined, undefined, undefined, 100, 200, 300, 400]);
    expect(admission.stats).to.deep.equal({ admitted: 3, refused: 4, open: 0, running: 0, draining: false });
  });

  it('admits the refused when they come back at their hint, one per slot', () => {
    const { scheduler, at } = clock();
    const admission = new HandshakeAdmission({ perSecond: 10, burst: 1, scheduler });
    expect(admission.admit()).to.equal(undefined);
    const hints = [admission.admit(), admission.admit(), admission.admit()] as number[];
    expect(hints).to.deep.equal([100, 200, 300]);
    for (const hint of hints) {
      at(hint);
      expect(admission.admit(), `back at ${hint}`).to.equal(undefined);
    }
  });

  it('never asks for more than maxWait, and forgets a queue that has passed', () => {
    const { scheduler, at } = clock();
    const admission = new HandshakeAdmission({ perSecond: 1, burst: 1, maxWait: 2_500, scheduler });
    admission.admit();
    expect([admission.admit(), admission.admit(), admission.admit(), admission.admit()]).to.deep.equal([
      1_000, 2_000, 2_500, 2_500,
    ]);
    at(60_000);
    expect(admission.admit()).to.equal(undefined);
    expect(admission.admit()).to.equal(1_000);
  });

  it('property: over any arrivals, admits at most burst + rate × time, and every hint is in [1, maxWait]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 300 }),
        (perSecond, burst, gaps) => {
          const { scheduler, at } = clock();
          const admission = new HandshakeAdmission({ perSecond, burst, maxWait: 10_000, scheduler });
          let now = 0;
          let admitted = 0;
          for (const gap of gaps) {
            at((now += gap));
            const hint = admission.admit();
            if (hint === undefined) admitted++;
            else expect(hint).to.be.within(1, 10_000);
          }
          expect(admitted).to.be.at.most(Math.floor(burst + (perSecond * now) / 1000) + 1e-9);
        },
      ),
    );
  });

  it('says what is wrong with its options', () => {
    expect(() => new HandshakeAdmission({ perSecond: 0 })).to.throw(
      TypeError,
      'perSecond must be a number > 0',
    );
    expect(() => new HandshakeAdmission({ perSecond: 5, bust: 3 } as never)).to.throw(
      TypeError,
      /did you mean 'burst'/,
    );
    expect(() => new HandshakeAdmission({ maxConnections: 0 })).to.throw(TypeError, /maxConnections/);
    expect(() => new HandshakeAdmission({ maxConnections: 1.5 })).to.throw(TypeError, /maxConnections/);
    expect(() => new HandshakeAdmission({ fullRetryAfterMs: 0 })).to.throw(TypeError, /fullRetryAfterMs/);
    expect(() => new HandshakeAdmission({ maxConnection: 5 } as never)).to.throw(
      TypeError,
      /did you mean 'maxConnections'/,
    );
    expect(() => acceptHandshake({ layers: [], admission: {} as never })).to.throw(
      TypeError,
      'acceptHandshake: admission must be a HandshakeAdmission',
    );
  });

  it("refuses the excess 'overloaded' with the hint (transient), and a storm of clients all get in, spread at the rate", () => {
    const testScheduler = newTestScheduler();
    const admittedAt: number[] = [];
    let dials = 0;
    let refusal: HandshakeRefusedError | undefined;
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      const admission = new HandshakeAdmission({ perSecond: 20, burst: 5 });
      pair.server
        .pipe(
          mergeMap((event) => {
            if (event.type !== 'connection') return EMPTY;
            dials++;
            return event.connection.pipe(
              acceptHandshake({ layers: [], admission }),
              catchError(() => EMPTY),
            );
          }),
        )
        .subscribe((event) => {
          if (event.type === 'connected') admittedAt.push(testScheduler.now());
        });
      // 100 clients at once, each with the README's policy (exponential 100 ms → 30 s, full jitter).
      const random = seededRandom(7);
      for (let i = 0; i < 100; i++) {
        const client = pair.transport.pipe(
          handshake({ layers: [] }),
          reconnectWith(policy.exponential({ initial: 100, max: 30_000 }).jitter('full', { random })),
        );
        const subscription = client.subscribe((event) => {
          if (event.type === 'disconnected') refusal ??= event.error as HandshakeRefusedError;
          if (event.type === 'connected') testScheduler.schedule(() => subscription.unsubscribe(), 1);
        });
      }
    });
    expect(refusal!.reason).to.equal('overloaded');
    expect(refusal!.retryAfterMs).to.be.a('number');
    expect(classifyFailure(refusal)).to.equal('transient');
    expect(admittedAt).to.have.length(100);
    // 5 at once, then 20 per second: the last one is in by 95 / 20 s (plus a slot of slack).
    const last = Math.max(...admittedAt);
    expect(last).to.be.within(4_700, 5_200);
    // The 95 refused each came back once, at its hint, and got in: told when, none dialled blindly.
    expect(dials).to.equal(100 + 95);
  });

  it('maxConnections: a handshake that would open one connection too many is refused with a hint; the client comes back then and gets in once one left', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(() => {
      const pair = memory({ latency: 5 });
      const admission = new HandshakeAdmission({ maxConnections: 2, fullRetryAfterMs: 300 });
      serveHeartbeat(pair, admission);
      const seen: string[] = [];
      const subscriptions = ['a', 'b', 'c'].map((name, i) => {
        const session = pair.transport.pipe(
          handshake({ layers: ['heartbeat'] }),
          heartbeat(),
          reconnectWith(policy.constant(10).maxAttempts(5)),
          catchError(() => EMPTY),
        );
        let subscription: { unsubscribe(): void } | undefined;
        testScheduler.schedule(() => {
          subscription = session.subscribe((event) => {
            const now = testScheduler.now();
            if (event.type === 'connected') seen.push(`${now}:${name} connected`);
            if (event.type === 'disconnected') {
              const error = event.error as HandshakeRefusedError;
              seen.push(`${now}:${name} ${error.name}:${String(error.reason)}:${event.delay}`);
            }
          });
        }, i);
        return () => subscription?.unsubscribe();
      });
      // a leaves at 100: its place goes to c when it comes back.
      testScheduler.schedule(() => subscriptions[0]!(), 100);
      testScheduler.schedule(() => {
        expect(seen).to.deep.equal([
          '15:a connected',
          '16:b connected',
          // c is refused with the hint and waits it (not its own 10 ms): it dials again at 317 and,
          // a having left at 100, gets in.
          '17:c HandshakeRefusedError:overloaded:300',
          '332:c connected',
        ]);
        expect(admission.stats).to.include({ open: 2, refused: 1 });
      }, 1_000);
      testScheduler.schedule(() => subscriptions.forEach((unsubscribe) => unsubscribe()), 2_000);
    });
  });

  describe('drain(): the graceful close of a server', () => {
    it('says go-away with the hint on every open connection, closes it, refuses newcomers, and completes once all are gone', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        const admission = new HandshakeAdmission();
        serveHeartbeat(pair, admission);
        const client = () =>
          pair.transport.pipe(
            handshake({ layers: ['heartbeat'] }),
            heartbeat(),
            reconnectWith(policy.constant(10).maxAttempts(3)),
            map((event) => {
              if (event.type !== 'disconnected') return event.type;
              const error = event.error as PeerClosedError | HandshakeRefusedError;
              return `${error.name}:${String(error.code ?? (error as HandshakeRefusedError).reason)}:${event.delay}`;
            }),
            named(),
          );
        let drained = '';
        testScheduler.schedule(() => {
          admission
            .drain({ retryAfterMs: 1_000 })
            .subscribe({ complete: () => (drained = `at ${testScheduler.now()}`) });
        }, 50);
        // Connected at 15; the go-away leaves at 50 and the close follows: the client sees the end at
        // 55, waits the server's 1,000 ms (not its own 10), is refused 'overloaded' with the same hint
        // at 1,070, waits again, and gives up at its third attempt.
        const values = {
          c: 'connected',
          g: 'PeerClosedError:go-away:1000',
          o: 'HandshakeRefusedError:overloaded:1000',
          x: 'E:GaveUpError',
        };
        expectObservable(client()).toBe('15ms c 39ms g 1014ms o 1014ms (x|)', values);
        expectObservable(client()).toBe('15ms c 39ms g 1014ms o 1014ms (x|)', values);
        testScheduler.schedule(() => {
          expect(drained).to.equal('at 55');
          expect(admission.stats).to.deep.equal({
            admitted: 2,
            refused: 4,
            open: 0,
            running: 0,
            draining: true,
          });
        }, 3_000);
      });
    });

    it('with a rate, spreads the hints one slot apart: the crowd it sends away does not come back in one instant', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(() => {
        const pair = memory({ latency: 5 });
        // 100 a second: one slot every 10 ms.
        const admission = new HandshakeAdmission({ perSecond: 100, burst: 10 });
        serveHeartbeat(pair, admission);
        const seen: string[] = [];
        for (const name of ['a', 'b', 'c']) {
          pair.transport
            .pipe(
              handshake({ layers: ['heartbeat'] }),
              heartbeat(),
              reconnectWith(policy.constant(10).maxAttempts(2)),
              catchError(() => EMPTY),
            )
            .subscribe((event) => {
              if (event.type === 'disconnected') seen.push(`${testScheduler.now()}:${name}:${event.delay}`);
            });
        }
        testScheduler.schedule(() => admission.drain({ retryAfterMs: 1_000 }).subscribe(), 50);
        testScheduler.schedule(() => {
          // Each client waits its own hint (the policy takes it as its delay), one slot after the other.
          expect(seen).to.deep.equal(['55:a:1000', '55:b:1010', '55:c:1020']);
        }, 3_000);
      });
    });

    it('on a connection without layers it only closes: a map there could be an application frame', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        const admission = new HandshakeAdmission();
        const sent: unknown[] = [];
        pair.server
          .pipe(
            mergeMap((event) =>
              event.type === 'connection'
                ? event.connection.pipe(
                    acceptHandshake({ layers: [], admission }),
                    catchError(() => EMPTY),
                  )
                : EMPTY,
            ),
          )
          .subscribe();
        const client = pair.transport.pipe(
          handshake({ layers: [] }),
          map((event) => (event.type === 'frame' ? (sent.push(event.frame), 'f') : event.type)),
          named(),
        );
        testScheduler.schedule(() => admission.drain().subscribe(), 50);
        expectObservable(client).toBe('15ms c 39ms |', { c: 'connected' });
        testScheduler.schedule(() => expect(sent).to.deep.equal([]), 100);
      });
    });

    it('completes at once when no connection is open, and says what is wrong with its options', () => {
      const admission = new HandshakeAdmission({ perSecond: 10 });
      let done = false;
      admission.drain().subscribe({ complete: () => (done = true) });
      expect(done).to.equal(true);
      expect(admission.admit()).to.equal(1_000);
      expect(() => admission.drain({ retryAfterMs: -1 })).to.throw(
        TypeError,
        'retryAfterMs must be an integer ≥ 0',
      );
      expect(() => admission.drain({ retryAfter: 5 } as never)).to.throw(
        TypeError,
        /did you mean 'retryAfterMs'/,
      );
    });

    it('a map after the accept that is no go-away goes up to the layer above, which refuses it', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 5 });
        pair.server
          .pipe(mergeMap((event) => (event.type === 'connection' ? event.connection : EMPTY)))
          .subscribe((event) => {
            if (event.type !== 'connected') return;
            event.link.send({ lifeline: 2, layers: { heartbeat: 1 } });
            event.link.send({ lifeline: 2, goAway: { retryAfterMs: -5 } });
          });
        const client = pair.transport.pipe(
          handshake({ layers: ['heartbeat'] }),
          heartbeat(),
          map((e) => e.type),
          named(),
        );
        expectObservable(client).toBe('10ms (cx|)', { c: 'connected', x: 'E:ProtocolError' });
      });
    });
  });
});

/** Maps an error to `E:<name>` and completes. */
function named<T>(): (source: Observable<T>) => Observable<T | string> {
  return catchError((error: Error) => of(`E:${error.name}`));
}
