import { expect } from 'chai';
import fc from 'fast-check';
import {
  acceptHandshake,
  AllEndpointsFailedError,
  CircuitBreaker,
  CircuitOpenError,
  ConnectionResetError,
  consecutiveFailures,
  EndpointSet,
  handshake,
  heartbeat,
  memory,
  ProtocolError,
  type Endpoint,
  type EndpointSetOptions,
  type FailureClass,
} from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import { EMPTY, map, mergeMap, Subscription, throwError, type SchedulerLike } from 'rxjs';
import type { ColdObservable } from 'rxjs/internal/testing/ColdObservable';
import { catching, newTestScheduler } from './support.js';
import type { RunHelpers, TestScheduler } from 'rxjs/testing';

const reset = (message = 'reset') => new ConnectionResetError(message, { phase: 'read', code: 'ECONNRESET' });
const garbled = new ProtocolError('garbled', { offset: 0 });

/** Endpoints whose value is their id, from `id: cost` pairs. */
function endpoints(costs: Record<string, number>): Endpoint<string>[] {
  return Object.entries(costs).map(([id, cost]) => ({ id, cost, value: id }));
}

/** Endpoints a (cost 1) and b (cost 2), each with a breaker that opens on one failure. */
function twoNodes(scheduler: TestScheduler): EndpointSet<string> {
  return new EndpointSet({
    endpoints: endpoints({ a: 1, b: 2 }),
    breaker: { strategy: consecutiveFailures(1) },
    random: seededRandom(1),
    scheduler,
  });
}

describe('EndpointSet', () => {
  describe('choosing', () => {
    it('runs on the cheapest endpoint only', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const sources = { a: cold('--a|'), b: cold('--b|'), c: cold('--c|') };
        const set = new EndpointSet({
          endpoints: endpoints({ a: 2, b: 1, c: 3 }),
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        expectObservable(set.use((e) => sources[e.value as 'a' | 'b' | 'c'])).toBe('--b|');
        expectSubscriptions(sources.b.subscriptions).toBe('^--!');
        expectSubscriptions(sources.a.subscriptions).toBe([]);
        expectSubscriptions(sources.c.subscriptions).toBe([]);
      });
    });

    it('among equally cheap endpoints, follows the seeded random exactly: floor(random() * k)', () => {
      for (const seed of [2, 7, 1234]) {
        const cheapest = ['p', 'q', 'r'];
        const draws = seededRandom(seed);
        const expected = Array.from({ length: 60 }, () => cheapest[Math.floor(draws() * cheapest.length)]);

        const set = new EndpointSet({
          endpoints: endpoints({ p: 1, q: 1, z: 5, r: 1 }),
          random: seededRandom(seed),
        });
        const picks = expected.map(() => {
          const picked = set.pick()!;
          picked.permit.success();
          return picked.endpoint.id;
        });
        expect(picks).to.deep.equal(expected);
        expect(new Set(picks)).to.deep.equal(new Set(cheapest)); // every tie gets its turn
      }
    });

    it('use() runs on the endpoint the seeded draw names', () => {
      const seed = 99;
      const expectedId = ['a', 'b', 'c'][Math.floor(seededRandom(seed)() * 3)]!;
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const sources: Record<string, ColdObservable<string>> = {
          a: cold('-a|'),
          b: cold('-b|'),
          c: cold('-c|'),
        };
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1, b: 1, c: 1 }),
          random: seededRandom(seed),
          scheduler: testScheduler,
        });
        expectObservable(set.use((e) => sources[e.id]!)).toBe('-x|', { x: expectedId });
        for (const id of ['a', 'b', 'c']) {
          expectSubscriptions(sources[id]!.subscriptions).toBe(id === expectedId ? '^-!' : []);
        }
      });
    });

    it('draws no random number when the cheapest admissible endpoint is alone', () => {
      let draws = 0;
      const set = new EndpointSet({
        endpoints: endpoints({ a: 1, b: 2, c: 2 }),
        random: () => (draws++, 0.5),
      });
      for (let i = 0; i < 5; i++) set.pick()!.permit.success();
      expect(draws).to.equal(0);
      expect(set.pick({ exclude: ['a'] })!.endpoint.id).to.equal('c'); // floor(0.5 * 2) = 1
      expect(draws).to.equal(1);
      expect(set.pick({ exclude: ['a', 'b', 'c'] })).to.equal(undefined);
    });

    it('property: pick() never returns an endpoint whose breaker refuses, and always one of minimal cost among those that admit', () => {
      type BreakerState = 'closed' | 'open' | 'half-open' | 'half-open-busy';
      const endpointArb = fc.record({
        cost: fc.integer({ min: 0, max: 3 }),
        state: fc.constantFrom<BreakerState>('closed', 'open', 'half-open', 'half-open-busy'),
      });
      fc.assert(
        fc.property(fc.array(endpointArb, { minLength: 1, maxLength: 8 }), fc.integer(), (specs, seed) => {
          let clock = 0;
          const scheduler: SchedulerLike = { now: () => clock, schedule: () => new Subscription() };
          // Every breaker opens at 0; the 'open' ones for long, the others until 10.
          const breakers = specs.map(({ state }) => {
            const breaker = new CircuitBreaker({
              strategy: consecutiveFailures(1),
              openFor: state === 'open' ? 1_000 : 10,
              scheduler,
            });
            if (state !== 'closed') breaker.admit().failure();
            return breaker;
          });
          clock = 10;
          specs.forEach(({ state }, i) => {
            if (state === 'half-open-busy') breakers[i]!.admit(); // takes the only probe slot
          });
          const set = new EndpointSet({
            endpoints: specs.map(({ cost }, i) => ({ id: `e${i}`, cost, value: i })),
            breaker: (id) => breakers[Number(id.slice(1))]!,
            random: seededRandom(seed),
          });

          const admits = (i: number) => specs[i]!.state === 'closed' || specs[i]!.state === 'half-open';
          const admissible = specs.map((_, i) => i).filter(admits);
          const picked = set.pick();
          if (admissible.length === 0) return picked === undefined;
          if (picked === undefined) return false;
          const minCost = Math.min(...admissible.map((i) => specs[i]!.cost));
          const ok = admits(picked.endpoint.value) && picked.endpoint.cost === minCost;
          picked.permit.release();
          // The model of who refuses is right: the refusing breakers do refuse.
          specs.forEach((_, i) => {
            if (!admits(i)) expect(() => breakers[i]!.admit()).to.throw(CircuitOpenError);
          });
          return ok;
        }),
        { numRuns: 500 },
      );
    });

    it('pick() leaves the breakers of the endpoints it did not choose as they were', () => {
      let clock = 0;
      const scheduler: SchedulerLike = { now: () => clock, schedule: () => new Subscription() };
      const set = new EndpointSet({
        endpoints: endpoints({ a: 1, b: 1 }),
        breaker: { strategy: consecutiveFailures(1), openFor: 10, scheduler },
        random: () => 0, // always the first that admits
      });
      set.breakerOf('a').admit().failure();
      set.breakerOf('b').admit().failure();
      clock = 10; // both half-open, one probe slot each
      const first = set.pick()!;
      expect(first.endpoint.id).to.equal('a');
      expect(first.permit.probe).to.equal(true);
      // b's probe slot, taken while choosing, was given back: b admits now, a (busy) does not.
      expect(set.pick()!.endpoint.id).to.equal('b');
    });
  });

  describe('use() and failover', () => {
    it('fails over on transient failures, cheapest first, and counts them against each breaker', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const sources: Record<string, ColdObservable<string>> = {
          a: cold('--#', {}, reset('a')),
          b: cold('---#', {}, reset('b')),
          c: cold('-c|'),
        };
        const set = new EndpointSet({
          endpoints: endpoints({ c: 3, a: 1, b: 2 }),
          breaker: { strategy: consecutiveFailures(1), openFor: 1_000 },
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        expectObservable(set.use((e) => sources[e.id]!)).toBe('------c|');
        expectSubscriptions(sources.a!.subscriptions).toBe('^-!');
        expectSubscriptions(sources.b!.subscriptions).toBe('--^--!');
        expectSubscriptions(sources.c!.subscriptions).toBe('-----^-!');
        testScheduler.flush();
        expect(['a', 'b', 'c'].map((id) => set.breakerOf(id).state)).to.deep.equal([
          'open',
          'open',
          'closed',
        ]);
      });
    });

    it('tries each endpoint at most once, in the order of the seeded draws among equals', () => {
      const seed = 5;
      const draws = seededRandom(seed);
      const remaining = ['a', 'b', 'c', 'd'];
      const order: string[] = [];
      while (remaining.length > 0) {
        const index = remaining.length > 1 ? Math.floor(draws() * remaining.length) : 0;
        order.push(...remaining.splice(index, 1));
      }
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const sources: Record<string, ColdObservable<string>> = {};
        for (const id of order) sources[id] = cold('-#', {}, reset(id));
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1, b: 1, c: 1, d: 1 }),
          random: seededRandom(seed),
          scheduler: testScheduler,
        });
        let caught: unknown;
        expectObservable(
          catching(
            set.use((e) => sources[e.id]!),
            (e) => (caught = e),
          ),
        ).toBe('----|');
        order.forEach((id, i) => expectSubscriptions(sources[id]!.subscriptions).toBe(`${i}ms ^!`));
        testScheduler.flush();
        expect(AllEndpointsFailedError.is(caught)).to.equal(true);
        expect((caught as AllEndpointsFailedError).failures.map((f) => f.id)).to.deep.equal(order);
      });
    });

    it('fails over when an attempt fails synchronously, on subscription', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const b = cold('-b|');
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1, b: 2 }),
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        expectObservable(set.use<string>((e) => (e.id === 'a' ? throwError(() => reset()) : b))).toBe('-b|');
        expectSubscriptions(b.subscriptions).toBe('^-!');
      });
    });

    it('does not fail over on a permanent failure, and the breaker does not count it', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const a = cold('--#', {}, garbled);
        const b = cold('-b|');
        const set = twoNodes(testScheduler);
        expectObservable(set.use((e) => (e.id === 'a' ? a : b))).toBe('--#', undefined, garbled);
        expectSubscriptions(a.subscriptions).toBe('^-!');
        expectSubscriptions(b.subscriptions).toBe([]);
        testScheduler.flush();
        expect(set.breakerOf('a').state).to.equal('closed');
      });
    });

    it('does not fail over after the first value, which already counted as a success', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const error = reset();
        const a = cold('-a-#', { a: 'a' }, error);
        const b = cold('-b|');
        const set = twoNodes(testScheduler);
        expectObservable(set.use((e) => (e.id === 'a' ? a : b))).toBe('-a-#', undefined, error);
        expectSubscriptions(a.subscriptions).toBe('^--!');
        expectSubscriptions(b.subscriptions).toBe([]);
        testScheduler.flush();
        expect(set.breakerOf('a').state).to.equal('closed');
      });
    });

    it('when all fail, errors with AllEndpointsFailedError listing every error, the first as cause', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const errors = { a: reset('node a is down'), b: reset('b'), c: reset('c') };
        const sources: Record<string, ColdObservable<string>> = {
          a: cold('-#', {}, errors.a),
          b: cold('--#', {}, errors.b),
          c: cold('#', {}, errors.c),
        };
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1, b: 2, c: 3 }),
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        let caught: unknown;
        expectObservable(
          catching(
            set.use((e) => sources[e.id]!),
            (e) => (caught = e),
          ),
        ).toBe('---|');
        expectSubscriptions(sources.a!.subscriptions).toBe('^!');
        expectSubscriptions(sources.b!.subscriptions).toBe('-^-!');
        expectSubscriptions(sources.c!.subscriptions).toBe('---(^!)');
        testScheduler.flush();
        expect(caught).to.be.instanceOf(AllEndpointsFailedError);
        const error = caught as AllEndpointsFailedError;
        expect(error.name).to.equal('AllEndpointsFailedError');
        expect(error.cause).to.equal(errors.a);
        expect(error.message).to.equal(
          'No endpoint succeeded (3 failed); the first error, from "a": ConnectionResetError: node a is down',
        );
        expect(error.failures).to.deep.equal([
          { id: 'a', error: errors.a, attempted: true },
          { id: 'b', error: errors.b, attempted: true },
          { id: 'c', error: errors.c, attempted: true },
        ]);
      });
    });

    it('lists endpoints refused by their breaker after those tried, with their CircuitOpenError', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = reset('b');
        const b = cold('-#', {}, failure);
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1, b: 2 }),
          breaker: { strategy: consecutiveFailures(1), openFor: 50 },
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        set.breakerOf('a').admit().failure(); // open until 50
        let caught: unknown;
        expectObservable(
          catching(
            set.use(() => b),
            (e) => (caught = e),
          ),
        ).toBe('-|');
        expectSubscriptions(b.subscriptions).toBe('^!');
        testScheduler.flush();
        const error = caught as AllEndpointsFailedError;
        expect(error.cause).to.equal(failure); // the first error of an endpoint that was tried
        expect(error.failures.map((f) => [f.id, f.attempted])).to.deep.equal([
          ['b', true],
          ['a', false],
        ]);
        expect(CircuitOpenError.is(error.failures[1]!.error)).to.equal(true);
        expect(error.message).to.match(
          /^No endpoint succeeded \(1 failed, 1 refused by an open circuit breaker\)/,
        );
      });
    });

    it('asks a refusing breaker again at the next failover: it may have turned half-open meanwhile', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const a = cold('-a|');
        const b = cold('------#', {}, reset('b'));
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1, b: 2 }),
          breaker: { strategy: consecutiveFailures(1), openFor: 5 },
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        set.breakerOf('a').admit().failure(); // open until 5
        expectObservable(set.use((e) => (e.id === 'a' ? a : b))).toBe('-------a|');
        expectSubscriptions(b.subscriptions).toBe('^-----!');
        expectSubscriptions(a.subscriptions).toBe('------^-!');
      });
    });

    it('with every breaker open, errors at once without running anything; the cause is the first refusal', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const set = twoNodes(testScheduler);
        set.breakerOf('a').admit().failure();
        set.breakerOf('b').admit().failure();
        let ran = false;
        let caught: unknown;
        const use = set.use(() => ((ran = true), EMPTY));
        expectObservable(catching(use, (e) => (caught = e))).toBe('|');
        testScheduler.flush();
        expect(ran).to.equal(false);
        const error = caught as AllEndpointsFailedError;
        expect(error.failures.map((f) => f.id)).to.deep.equal(['a', 'b']);
        expect(error.cause).to.equal(error.failures[0]!.error);
        expect(CircuitOpenError.is(error.cause)).to.equal(true);
      });
    });

    it('skips a dead node while its breaker is open, probes it when half-open, and uses it again once it closes', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const aDown = cold('-#', {}, reset());
        const aUp = cold('-a|');
        const b = cold('-b|');
        let attemptsOnA = 0;
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1, b: 2 }),
          breaker: { strategy: consecutiveFailures(2), openFor: 100 },
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        const fn = (e: Endpoint<string>) => (e.id === 'b' ? b : attemptsOnA++ < 2 ? aDown : aUp);
        // Calls at 0, 10 (a fails twice: open at 11 until 111), 20 (skipped), 120 (probe), 130.
        const calls = cold('x 9ms x 9ms x 99ms x 9ms x|').pipe(mergeMap(() => set.use(fn)));
        const states = { c: 'closed', o: 'open', h: 'half-open' };
        const stateOfA = set.breakerOf('a').state$.pipe(map((t) => t.state));
        // prettier-ignore
        expectObservable(calls).toBe(                '--b 9ms b 8ms b 99ms a 9ms a|');
        // prettier-ignore
        expectObservable(stateOfA, '^ 200ms !').toBe('c 10ms o 99ms h 9ms c', states);
        expectSubscriptions(aDown.subscriptions).toBe(['^!', '10ms ^!']);
        expectSubscriptions(aUp.subscriptions).toBe(['120ms ^-!', '130ms ^-!']);
        expectSubscriptions(b.subscriptions).toBe(['-^-!', '11ms ^-!', '20ms ^-!']);
      });
    });

    it('unsubscribing ends the attempt and releases its permit (a half-open probe slot comes back)', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const slow = cold('-----a|');
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1 }),
          breaker: { strategy: consecutiveFailures(1), openFor: 10 },
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        set.breakerOf('a').admit().failure(); // open until 10, then one probe at a time
        const first = cold('10ms x').pipe(mergeMap(() => set.use(() => slow)));
        const second = cold('15ms x').pipe(mergeMap(() => set.use(() => slow)));
        expectObservable(first, '^ 11ms !').toBe('');
        expectObservable(second).toBe('15ms -----a');
        expectSubscriptions(slow.subscriptions).toBe(['10ms ^-!', '15ms ^-----!']);
      });
    });

    it('a callback that throws ends the call with its error, without failover', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const bug = new Error('bug in fn');
        const b = cold('-b|');
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1, b: 2 }),
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        const use = set.use((e) => {
          if (e.id === 'a') throw bug;
          return b;
        });
        expectObservable(use).toBe('#', undefined, bug);
        expectSubscriptions(b.subscriptions).toBe([]);
      });
    });

    it('passes through empty, never and many values', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable }) => {
        const set = new EndpointSet({
          endpoints: endpoints({ a: 1 }),
          random: seededRandom(1),
          scheduler: testScheduler,
        });
        expectObservable(set.use(() => cold('--|'))).toBe('--|');
        expectObservable(
          set.use(() => cold('-')),
          '^ 5ms !',
        ).toBe('');
        expectObservable(set.use(() => cold('-a-b-c|'))).toBe('-a-b-c|');
      });
    });

    /**
     * A set of a (whose call fails at 1 with `garbled`) and b (answers b at 1), classified by
     * `classify`, with the call routed by endpoint; inside `TestScheduler.run`.
     */
    function failingA(helpers: RunHelpers, testScheduler: TestScheduler, classify: () => FailureClass) {
      const a = helpers.cold('-#', {}, garbled);
      const b = helpers.cold('-b|');
      const set = new EndpointSet({
        endpoints: endpoints({ a: 1, b: 2 }),
        classify,
        random: seededRandom(1),
        scheduler: testScheduler,
      });
      return { set, b, call: set.use((e) => (e.id === 'a' ? a : b)) };
    }

    it('a classifier that answers no FailureClass ends the call with a TypeError saying so, without failover', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run((helpers) => {
        const { set, b, call } = failingA(helpers, testScheduler, () => undefined as never);
        const said = new TypeError(
          "EndpointSet: classify must return 'transient' or 'permanent', got undefined",
        );
        helpers.expectObservable(call).toBe('-#', undefined, said);
        helpers.expectSubscriptions(b.subscriptions).toBe([]);
        // The attempt's permit was given back, not counted against a.
        expect(set.breakerOf('a').state).to.equal('closed');
      });
    });

    it('takes its own classifier', () => {
      const testScheduler = newTestScheduler();
      testScheduler.run((helpers) => {
        const { b, call } = failingA(helpers, testScheduler, () => 'transient');
        helpers.expectObservable(call).toBe('--b|');
        helpers.expectSubscriptions(b.subscriptions).toBe('-^-!');
      });
    });
  });

  describe("each node's clock (heartbeat samples)", () => {
    const set = () => new EndpointSet({ endpoints: endpoints({ a: 1, b: 1 }), random: seededRandom(1) });

    it('knows nothing before a sample, then translates times both ways by the offset', () => {
      const nodes = set();
      expect(nodes.clockOf('a')).to.equal(undefined);
      expect(nodes.toNodeTime('a', 1_000)).to.equal(undefined);
      nodes.noteClock('a', { clockOffset: 5_000, rtt: 4, at: 10 });
      expect(nodes.clockOf('a')).to.deep.equal({ offset: 5_000, rtt: 4, at: 10 });
      expect(nodes.toNodeTime('a', 1_000)).to.equal(6_000);
      expect(nodes.fromNodeTime('a', 6_000)).to.equal(1_000);
      // Per node: b has no sample yet.
      expect(nodes.toNodeTime('b', 1_000)).to.equal(undefined);
    });

    it('trusts the sample with the shortest round trip among the last 8', () => {
      const nodes = set();
      nodes.noteClock('a', { clockOffset: 100, rtt: 2, at: 0 });
      for (let i = 1; i <= 7; i++) nodes.noteClock('a', { clockOffset: 100 + i * 10, rtt: 20 + i, at: i });
      expect(nodes.clockOf('a')?.offset).to.equal(100);
      // The ninth sample pushes the best one out: the best of the last 8 is now rtt 21.
      nodes.noteClock('a', { clockOffset: 999, rtt: 50, at: 8 });
      expect(nodes.clockOf('a')).to.deep.equal({ offset: 110, rtt: 21, at: 1 });
    });

    it('takes the HeartbeatEvent of a connection to a node whose clock is 5 s ahead', () => {
      const testScheduler = newTestScheduler();
      const nodes = set();
      testScheduler.run(() => {
        const endpoint = memory({ latency: 1 });
        // The server's clock reads 5 s more than the client's.
        const ahead = {
          now: () => testScheduler.now() + 5_000,
          schedule: (work, delay, state) => testScheduler.schedule(work as never, delay, state),
        } as SchedulerLike;
        const server = endpoint.server.subscribe((event) => {
          if (event.type === 'connection')
            event.connection.pipe(heartbeat({ interval: 10, timeout: 100, scheduler: ahead })).subscribe();
        });
        const client = endpoint.transport
          .pipe(heartbeat({ interval: 10, timeout: 100 }))
          .subscribe((event) => {
            if (event.type === 'heartbeat') nodes.noteClock('a', event);
          });
        testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 50);
      });
      // Latency 1 ms each way, symmetric: the offset is exact.
      expect(nodes.clockOf('a')?.offset).to.equal(5_000);
      expect(nodes.toNodeTime('a', 0)).to.equal(5_000);
    });

    it('refuses an unknown node and a sample that is not finite', () => {
      const nodes = set();
      expect(() => nodes.noteClock('z', { clockOffset: 0, rtt: 1, at: 0 })).to.throw(
        RangeError,
        /no endpoint "z"/,
      );
      expect(() => nodes.noteClock('a', { clockOffset: NaN, rtt: 1, at: 0 })).to.throw(TypeError, /finite/);
      expect(() => nodes.toNodeTime('z', 0)).to.throw(RangeError);
    });
  });

  describe('what each node negotiated (handshake)', () => {
    const set = () => new EndpointSet({ endpoints: endpoints({ a: 1, b: 1 }), random: seededRandom(1) });

    it('keeps the latest handshake of a connection to each node, per node', () => {
      const testScheduler = newTestScheduler();
      const nodes = set();
      testScheduler.run(() => {
        const endpoint = memory({ latency: 1 });
        const server = endpoint.server.subscribe((event) => {
          if (event.type === 'connection') {
            event.connection
              .pipe(acceptHandshake({ layers: ['resumable'], app: { name: 'kv', versions: [1, 3] } }))
              .subscribe();
          }
        });
        const client = endpoint.transport
          .pipe(handshake({ layers: ['resumable'], app: { name: 'kv', versions: [2, 5] } }))
          .subscribe((event) => {
            if (event.type === 'connected' && event.handshake) nodes.noteHandshake('a', event.handshake);
          });
        testScheduler.schedule(() => (client.unsubscribe(), server.unsubscribe()), 20);
      });
      expect(nodes.negotiatedOf('a')).to.deep.equal({
        layers: { resumable: 2 },
        app: { name: 'kv', version: 3 },
      });
      expect(nodes.negotiatedOf('b')).to.equal(undefined);
      nodes.noteHandshake('a', { layers: { resumable: 1 } });
      expect(nodes.negotiatedOf('a')).to.deep.equal({ layers: { resumable: 1 } });
    });

    it('refuses an unknown node and a value that is not a handshake result', () => {
      const nodes = set();
      expect(() => nodes.noteHandshake('z', { layers: {} })).to.throw(RangeError, /no endpoint "z"/);
      expect(() => nodes.noteHandshake('a', { layers: { heartbeat: 0 } })).to.throw(
        TypeError,
        /handshake result/,
      );
      expect(() => nodes.noteHandshake('a', undefined as never)).to.throw(TypeError, /handshake result/);
      expect(() => nodes.negotiatedOf('z')).to.throw(RangeError);
    });
  });

  describe('configuration', () => {
    const good = (): EndpointSetOptions<string> => ({
      endpoints: endpoints({ a: 1 }),
      random: seededRandom(1),
    });

    it('throws a TypeError on nonsense', () => {
      const bad: [Partial<EndpointSetOptions<string>>, RegExp][] = [
        [{ random: undefined as unknown as () => number }, /random must be a function/],
        [{ endpoints: [] }, /endpoints must be a non-empty array/],
        [{ endpoints: [...endpoints({ a: 1 }), ...endpoints({ a: 2 })] }, /id "a" appears twice/],
        [{ endpoints: [{ id: '', cost: 1, value: '' }] }, /id must be a non-empty string/],
        [{ endpoints: endpoints({ a: -1 }) }, /cost must be a number ≥ 0/],
        [{ endpoints: endpoints({ a: Infinity }) }, /cost must be a number/],
        [{ endpoints: endpoints({ a: NaN }) }, /cost must be a number/],
        [{ breaker: 3 as unknown as undefined }, /breaker must be options or a function/],
        [{ breaker: () => null as unknown as CircuitBreaker }, /breaker\("a"\) must return/],
      ];
      for (const [override, message] of bad) {
        expect(() => new EndpointSet({ ...good(), ...override }), String(message)).to.throw(
          TypeError,
          message,
        );
      }
      // use() checks its function when it is called, not when the Observable is subscribed.
      expect(() => new EndpointSet(good()).use(42 as never)).to.throw(
        TypeError,
        'EndpointSet.use: fn must be a function, got 42',
      );
    });

    it('throws a TypeError when random() leaves [0, 1), and use() reports it as an error', () => {
      const set = new EndpointSet({ endpoints: endpoints({ a: 1, b: 1 }), random: () => 1 });
      expect(() => set.pick()).to.throw(TypeError, /random\(\) must return a number in \[0, 1\), got 1/);
      let caught: unknown;
      set.use(() => EMPTY).subscribe({ error: (e: unknown) => (caught = e) });
      expect(caught).to.be.instanceOf(TypeError);
      // The permits taken while choosing were given back: the breakers are untouched.
      expect(set.breakerOf('a').state).to.equal('closed');
    });

    it('breakerOf() throws a RangeError for an unknown id', () => {
      expect(() => new EndpointSet(good()).breakerOf('zz')).to.throw(RangeError, /no endpoint "zz"/);
    });
  });
});
