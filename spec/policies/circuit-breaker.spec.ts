import { expect } from 'chai';
import fc from 'fast-check';
import { map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { earlyTimers } from '../support/early-timers.js';
import {
  CircuitBreaker,
  CircuitOpenError,
  consecutiveFailures,
  exponentialBackoff,
  type Backoff,
  failureRatio,
  type BreakerPermit,
  type BreakerStrategy,
  type CircuitTransition,
} from 'rx-lifeline';
import { virtualClock } from './support.js';

/**
 * Plays a marble of actions against a breaker, as one stream of attempts:
 * - `S` / `F`: admit, then report success / failure at once;
 * - `a`: admit and hold the permit; `s` / `f` / `r`: settle the oldest held permit (success,
 *   failure, release).
 * Emits, for an admission: `n` (admitted while closed), `p` (admitted as a probe) or `x` (refused
 * with a CircuitOpenError); for a settlement: the state after it (`c`, `o`, `h`).
 */
function drive(breaker: CircuitBreaker, actions: Observable<string>): Observable<string> {
  const held: BreakerPermit[] = [];
  const letter = { closed: 'c', open: 'o', 'half-open': 'h' } as const;
  return actions.pipe(
    map((action) => {
      if (action === 's' || action === 'f' || action === 'r') {
        const permit = held.shift();
        if (!permit) throw new Error(`'${action}' with no permit held`);
        if (action === 's') permit.success();
        else if (action === 'f') permit.failure();
        else permit.release();
        return letter[breaker.state];
      }
      let permit: BreakerPermit;
      try {
        permit = breaker.admit();
      } catch (error) {
        if (!(error instanceof CircuitOpenError)) throw error;
        return 'x';
      }
      if (action === 'S') permit.success();
      else if (action === 'F') permit.failure();
      else held.push(permit);
      return permit.probe ? 'p' : 'n';
    }),
  );
}

const closed = (at: number): CircuitTransition => ({ state: 'closed', at });
const open = (at: number, reopensAt: number): CircuitTransition => ({ state: 'open', at, reopensAt });
const halfOpen = (at: number): CircuitTransition => ({ state: 'half-open', at });

describe('CircuitBreaker', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('closed → open after N failures → half-open after the open duration → closed after M probe successes', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({
        strategy: consecutiveFailures(3),
        openFor: 100,
        closeAfter: 2,
        scheduler: testScheduler,
      });
      // prettier-ignore
      {
      const actions = cold('FFF 47ms S 51ms SS');
      const results =      'nnn 47ms x 51ms pp';
      const states =       'c-o 99ms hC';
      expectObservable(breaker.state$, '^ 300ms !').toBe(states, {
        c: closed(0), o: open(2, 102), h: halfOpen(102), C: closed(103),
      });
      expectObservable(drive(breaker, actions)).toBe(results);
      }
    });
  });

  it('a failed probe opens it again, for the next duration of a Backoff; closing starts the Backoff over', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({
        strategy: consecutiveFailures(3),
        openFor: exponentialBackoff({ initial: 100, max: 1_000 }),
        scheduler: testScheduler,
      });
      // prettier-ignore
      {
      const actions = cold('FFF 99ms F 199ms S 9ms FFF');
      const results =      'nnn 99ms p 199ms p 9ms nnn';
      const states =       'c-o 99ms (HO) 196ms (hC) 8ms n 99ms k';
      expectObservable(breaker.state$, '^ 500ms !').toBe(states, {
        c: closed(0), o: open(2, 102),
        H: halfOpen(102), O: open(102, 302), // the probe failed: open twice as long
        h: halfOpen(302), C: closed(302),
        n: open(314, 414), k: halfOpen(414), // 100 ms again
      });
      expectObservable(drive(breaker, actions)).toBe(results);
      }
    });
  });

  it("a hand-written openFor whose next() answers a duration no timer can wait: the failed probe's report throws a TypeError, the breaker stays half-open", () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const openFor: Backoff = { duration: 100, max: 1_000, next: () => ({ ...openFor, duration: NaN }) };
      const breaker = new CircuitBreaker({
        strategy: consecutiveFailures(1),
        openFor,
        scheduler: testScheduler,
      });
      // prettier-ignore
      {
      const actions = cold('F 99ms F');
      const states =       '(co) 96ms h';
      expectObservable(breaker.state$.pipe(map((t) => t.state[0])), '^ 200ms !').toBe(states);
      expectObservable(drive(breaker, actions)).toBe(
        'n 99ms #',
        undefined,
        new TypeError(
          "CircuitBreaker: openFor: next() must return a Backoff whose duration is from 0 to its max (at most 2147483647 ms), got duration NaN and max 1000",
        ),
      );
      }
    });
  });

  it('is shared: failures from two streams add up, and both are refused while it is open', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({
        strategy: consecutiveFailures(3),
        openFor: 50,
        scheduler: testScheduler,
      });
      // prettier-ignore
      {
      const a = cold('F-F 7ms S 41ms a 2ms s');
      const b = cold('-F 5ms S 45ms S 2ms S');
      expectObservable(drive(breaker, a)).toBe('n-n 7ms x 41ms p 2ms c');
      expectObservable(drive(breaker, b)).toBe('-n 5ms x 45ms x 2ms n');
      expectObservable(breaker.state$, '^ 100ms !').toBe('c-o 49ms h-- C', {
        c: closed(0), o: open(2, 52), h: halfOpen(52), C: closed(55), // a's probe holds the only slot, b is refused
      });
      }
    });
  });

  it('half-open admits at most N probes at once and closes after M successes (M > N)', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({
        strategy: consecutiveFailures(1),
        openFor: 10,
        halfOpenProbes: 2,
        closeAfter: 3,
        scheduler: testScheduler,
      });
      // prettier-ignore
      {
      const actions = cold('F 9ms aaasass');
      const results =      'n 9ms ppxhphc';
      expectObservable(drive(breaker, actions)).toBe(results);
      }
    });
  });

  it('a probe still in flight from an earlier half-open holds its slot, and its outcome is ignored', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({
        strategy: consecutiveFailures(1),
        openFor: 10,
        halfOpenProbes: 2,
        scheduler: testScheduler,
      });
      // p1 fails and reopens at 12; p2 is still out at the next half-open (22): only one new probe
      // fits, and p2's late success does not close the breaker; p3's does.
      // prettier-ignore
      {
      const actions = cold('F 9ms aaf 9ms aass');
      const results =      'n 9ms ppo 9ms pxhc';
      expectObservable(drive(breaker, actions)).toBe(results);
      }
    });
  });

  it('release() frees a probe slot without counting either way', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({
        strategy: consecutiveFailures(1),
        openFor: 10,
        scheduler: testScheduler,
      });
      // prettier-ignore
      expectObservable(drive(breaker, cold('F 9ms aararas'))).toBe('n 9ms pxhphpc');
      // After each release it is still half-open, with its slot free: a release is not a success.
    });
  });

  it('ignores the outcomes of permits admitted before it changed state', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({
        strategy: consecutiveFailures(2),
        openFor: 10,
        scheduler: testScheduler,
      });
      // Two slow attempts admitted while closed report after it opened (a failure does not reopen
      // the half-open breaker, a success does not close it).
      // prettier-ignore
      expectObservable(drive(breaker, cold('aaFF 9ms fs'))).toBe('nnnn 9ms hh');
    });
  });

  it('settling a permit twice counts once', () => {
    const breaker = new CircuitBreaker({
      strategy: consecutiveFailures(2),
      scheduler: new TestScheduler(() => undefined),
    });
    const permit = breaker.admit();
    permit.failure();
    permit.failure();
    permit.release();
    expect(breaker.state).to.equal('closed');
    breaker.admit().failure();
    expect(breaker.state).to.equal('open');
  });

  it('a success between failures resets consecutiveFailures', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(3), scheduler: testScheduler });
      // prettier-ignore
      {
      expectObservable(drive(breaker, cold('FFSFFSFFF'))).toBe('nnnnnnnnn');
      expectObservable(breaker.state$, '^ 20ms !').toBe('c 7ms o', { c: closed(0), o: open(8, 10_008) });
      }
    });
  });

  describe('failureRatio', () => {
    const run = (
      strategy: BreakerStrategy,
      actions: string,
      states: string,
      values: Record<string, CircuitTransition>,
    ) =>
      testScheduler.run(({ cold, expectObservable }) => {
        const breaker = new CircuitBreaker({ strategy, openFor: 1_000, scheduler: testScheduler });
        drive(breaker, cold(actions)).subscribe();
        expectObservable(breaker.state$, '^ 400ms !').toBe(states, values);
      });

    it('over a count window: opens when the share of failures reaches the threshold', () => {
      // prettier-ignore
      run(failureRatio({ threshold: 0.5, window: { count: 4 } }), 'SFSF', 'c--o', { c: closed(0), o: open(3, 1_003) });
    });

    it('over a count window: waits for the minimum throughput', () => {
      const strategy = failureRatio({ threshold: 0.5, window: { count: 10 }, minimumThroughput: 4 });
      // prettier-ignore
      run(strategy, 'FFF 5ms F', 'c 7ms o', { c: closed(0), o: open(8, 1_008) });
    });

    it('over a count window: slides, forgetting the oldest outcome', () => {
      const strategy = failureRatio({ threshold: 0.75, window: { count: 4 } });
      // S S S S F F → last four S S F F = 0.5; then F → S F F F = 0.75.
      // prettier-ignore
      run(strategy, 'SSSSFFF', 'c 5ms o', { c: closed(0), o: open(6, 1_006) });
    });

    it('over a time window: failures older than the window do not count', () => {
      const strategy = failureRatio({
        threshold: 0.5,
        window: { duration: 100, buckets: 10 },
        minimumThroughput: 3,
      });
      // F@0 and F@10 have left the window by 211; F@211, S@221, F@231 open it at 231.
      // prettier-ignore
      run(strategy, 'F 9ms F 200ms F 9ms S 9ms F', 'c 230ms o', { c: closed(0), o: open(231, 1_231) });
    });

    it('over a time window: failures within the window do count', () => {
      const strategy = failureRatio({
        threshold: 0.5,
        window: { duration: 100, buckets: 10 },
        minimumThroughput: 3,
      });
      // prettier-ignore
      run(strategy, 'F 9ms F 9ms F', 'c 19ms o', { c: closed(0), o: open(20, 1_020) });
    });

    it('over a time window: stays closed below the threshold', () => {
      const strategy = failureRatio({ threshold: 0.5, window: { duration: 100 }, minimumThroughput: 3 });
      // prettier-ignore
      run(strategy, 'SSFSSFSSF', 'c', { c: closed(0) });
    });
  });

  describe('state$', () => {
    it('gives a late subscriber the current state first, and shares transitions', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const breaker = new CircuitBreaker({
          strategy: consecutiveFailures(1),
          openFor: 20,
          scheduler: testScheduler,
        });
        drive(breaker, cold('5ms F')).subscribe();
        // prettier-ignore
        {
        expectObservable(breaker.state$, '^ 40ms !').toBe('c 4ms o 19ms h', { c: closed(0), o: open(5, 25), h: halfOpen(25) });
        expectObservable(breaker.state$, '10ms ^ 30ms !').toBe('10ms o 14ms h', { o: open(5, 25), h: halfOpen(25) });
        }
      });
    });

    it('turns half-open on time when its timer fires early', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const breaker = new CircuitBreaker({
          strategy: consecutiveFailures(1),
          openFor: 20,
          scheduler: earlyTimers(testScheduler, 1),
        });
        drive(breaker, cold('5ms F')).subscribe();
        // The 20 ms timer fires at 24: too early, it waits again and turns half-open at 25.
        // prettier-ignore
        expectObservable(breaker.state$, '^ 40ms !').toBe('c 4ms o 19ms h', { c: closed(0), o: open(5, 25), h: halfOpen(25) });
      });
    });

    it('turns half-open without a timer when nobody watches: the next call notices', () => {
      testScheduler.run(({ cold, expectObservable }) => {
        const breaker = new CircuitBreaker({
          strategy: consecutiveFailures(1),
          openFor: 100,
          scheduler: testScheduler,
        });
        breaker.admit().failure();
        expect(breaker.state).to.equal('open');
        expect(breaker.reopensAt).to.equal(100);
        cold('150ms a').subscribe(() => {
          expect(breaker.state).to.equal('half-open');
          expect(breaker.reopensAt).to.equal(undefined);
        });
        // The transition is dated when the open period ended, not when it was noticed.
        expectObservable(breaker.state$, '200ms ^ !').toBe('200ms h', { h: halfOpen(100) });
      });
    });

    it('sets a real timer only while subscribed and clears it on unsubscribe', () => {
      const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
      const before = timers();
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(1), openFor: 60_000 });
      breaker.admit().failure();
      expect(breaker.state).to.equal('open');
      expect(timers()).to.equal(before);
      const seen: CircuitTransition[] = [];
      const subscription = breaker.state$.subscribe((t) => seen.push(t));
      expect(timers()).to.equal(before + 1);
      expect(seen.map((t) => t.state)).to.deep.equal(['open']);
      subscription.unsubscribe();
      expect(timers()).to.equal(before);
    });
  });

  describe('admit', () => {
    it('throws a CircuitOpenError carrying reopensAt while open, and the half-open state when full', () => {
      const { scheduler, advance } = virtualClock();
      const breaker = new CircuitBreaker({ strategy: consecutiveFailures(1), openFor: 30, scheduler });
      advance(5);
      breaker.admit().failure();
      let error: unknown;
      try {
        breaker.admit();
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(CircuitOpenError);
      expect(CircuitOpenError.is(error)).to.equal(true);
      expect(error).to.include({ name: 'CircuitOpenError', state: 'open', reopensAt: 35 });
      advance(30);
      const probe = breaker.admit();
      expect(probe.probe).to.equal(true);
      expect(() => breaker.admit())
        .to.throw(CircuitOpenError)
        .that.includes({ state: 'half-open', reopensAt: undefined });
      probe.success();
      expect(breaker.state).to.equal('closed');
      expect(breaker.admit().probe).to.equal(false);
    });
  });

  describe('rejects nonsense with a TypeError', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['consecutiveFailures(0)', () => consecutiveFailures(0), /failures must be an integer ≥ 1/],
      ['consecutiveFailures(1.5)', () => consecutiveFailures(1.5), /failures/],
      ['a threshold of 0', () => failureRatio({ threshold: 0 }), /threshold must be a number > 0 and ≤ 1/],
      ['a threshold above 1', () => failureRatio({ threshold: 1.5 }), /threshold/],
      ['an empty count window', () => failureRatio({ window: { count: 0 } }), /window.count/],
      ['a huge count window', () => failureRatio({ window: { count: 10_000_000 } }), /window.count/],
      ['a zero duration window', () => failureRatio({ window: { duration: 0 } }), /window.duration/],
      [
        'too many buckets',
        () => failureRatio({ window: { duration: 1000, buckets: 5000 } }),
        /window.buckets/,
      ],
      ['a malformed window', () => failureRatio({ window: {} as never }), /window must be/],
      [
        'a minimum throughput above the count',
        () => failureRatio({ window: { count: 5 }, minimumThroughput: 6 }),
        /minimumThroughput/,
      ],
      [
        'a strategy literal that is wrong',
        () => new CircuitBreaker({ strategy: { kind: 'consecutive-failures', failures: -1 } }),
        /failures/,
      ],
      [
        'an unknown strategy',
        () => new CircuitBreaker({ strategy: { kind: 'never' } as never }),
        /strategy must be/,
      ],
      ['openFor 0', () => new CircuitBreaker({ openFor: 0 }), /openFor must be a number > 0/],
      ['openFor NaN', () => new CircuitBreaker({ openFor: NaN }), /openFor/],
      [
        'openFor a string',
        () => new CircuitBreaker({ openFor: '5s' as never }),
        /openFor must be a number or a Backoff/,
      ],
      ['halfOpenProbes 0', () => new CircuitBreaker({ halfOpenProbes: 0 }), /halfOpenProbes/],
      ['closeAfter 0.5', () => new CircuitBreaker({ closeAfter: 0.5 }), /closeAfter/],
      ['a scheduler that is not one', () => new CircuitBreaker({ scheduler: {} as never }), /scheduler/],
    ];
    for (const [what, make, message] of cases) {
      it(what, () => expect(make).to.throw(TypeError, message));
    }
  });

  it('property: never more than N probes in flight, and a free slot is never refused', () => {
    type Command =
      | { op: 'admit' }
      | { op: 'success' | 'failure' | 'release'; index: number }
      | { op: 'advance'; ms: number };
    // Admissions weigh most, so that half-open bursts of admissions are common.
    const command: fc.Arbitrary<Command> = fc.oneof(
      { arbitrary: fc.constant({ op: 'admit' as const }), weight: 3 },
      {
        arbitrary: fc.record({
          op: fc.constantFrom('success' as const, 'failure' as const, 'release' as const),
          index: fc.nat(),
        }),
        weight: 2,
      },
      {
        arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }),
        weight: 1,
      },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        fc.array(command, { minLength: 10, maxLength: 200, size: 'large' }),
        (probes, closeAfter, failures, watched, commands) => {
          const { scheduler, advance } = virtualClock();
          const breaker = new CircuitBreaker({
            strategy: consecutiveFailures(failures),
            openFor: 25,
            halfOpenProbes: probes,
            closeAfter,
            scheduler,
          });
          let last: CircuitTransition | undefined;
          const subscription = watched ? breaker.state$.subscribe((t) => (last = t)) : undefined;
          const outstanding: BreakerPermit[] = [];
          for (const c of commands) {
            if (c.op === 'admit') {
              const state = breaker.state;
              const probesOut = outstanding.filter((p) => p.probe).length;
              try {
                const permit = breaker.admit();
                outstanding.push(permit);
                expect(state).to.not.equal('open');
                expect(permit.probe).to.equal(state === 'half-open');
              } catch (error) {
                expect(error).to.be.instanceOf(CircuitOpenError);
                // Refused only when open, or half-open with every slot taken.
                expect(state === 'open' || (state === 'half-open' && probesOut >= probes)).to.equal(true);
              }
            } else if (c.op === 'advance') {
              advance(c.ms);
            } else if (outstanding.length > 0) {
              const [permit] = outstanding.splice(c.index % outstanding.length, 1);
              permit![c.op]();
            }
            expect(outstanding.filter((p) => p.probe).length).to.be.at.most(probes);
            // A watched breaker's timer keeps state$ in step with the clock.
            if (watched) expect(last?.state).to.equal(breaker.state);
          }
          subscription?.unsubscribe();
        },
      ),
      { numRuns: 200 },
    );
  });
});
