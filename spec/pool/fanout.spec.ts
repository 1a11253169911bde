import { expect } from 'chai';
import {
  ConnectionResetError,
  consecutiveFailures,
  EndpointSet,
  fanout,
  FanoutError,
  ProtocolError,
  type Endpoint,
  type FanoutResult,
} from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import { EMPTY, map, type Observable } from 'rxjs';
import type { ColdObservable } from 'rxjs/internal/testing/ColdObservable';
import { catching, newTestScheduler } from './support.js';

const reset = (message: string) => new ConnectionResetError(message, { phase: 'read', code: 'ECONNRESET' });

/** Endpoints whose value is their id, all of cost 1. */
function nodes(...ids: string[]): Endpoint<string>[] {
  return ids.map((id) => ({ id, cost: 1, value: id }));
}

/** A result with each outcome as `id=value` or `id:ErrorName:message`, for a diagram's values. */
function summarize(results: Observable<FanoutResult<string>>) {
  return results.pipe(
    map(({ status, ok, failed }) => ({
      status,
      ok: ok.map(({ id, value }) => `${id}=${value}`),
      failed: failed.map(({ id, error }) => `${id}:${(error as Error).name}:${(error as Error).message}`),
    })),
  );
}

describe('fanout', () => {
  it('all succeed: one result, in the order the endpoints answered, once the last has completed', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const sources: Record<string, ColdObservable<string>> = {
        a: cold('-a|'),
        b: cold('--x-b|'),
        c: cold('--c|'),
      };
      const result: FanoutResult<string> = {
        status: 'all-succeeded',
        ok: [
          { id: 'a', value: 'a' },
          { id: 'c', value: 'c' },
          { id: 'b', value: 'b' }, // the last value
        ],
        failed: [],
      };
      expectObservable(fanout(nodes('a', 'b', 'c'), (e) => sources[e.id]!)).toBe('-----(r|)', { r: result });
      expectSubscriptions(sources.a!.subscriptions).toBe('^-!');
      expectSubscriptions(sources.b!.subscriptions).toBe('^----!');
      expectSubscriptions(sources.c!.subscriptions).toBe('^--!');
    });
  });

  it('some fail: emits the result with status some-failed, the failures in the order they happened', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const errors = { b: reset('b'), c: new ProtocolError('c', { offset: 0 }) };
      const sources: Record<string, ColdObservable<string>> = {
        a: cold('---a|'),
        b: cold('--#', {}, errors.b),
        c: cold('-#', {}, errors.c),
      };
      const result: FanoutResult<string> = {
        status: 'some-failed',
        ok: [{ id: 'a', value: 'a' }],
        failed: [
          { id: 'c', error: errors.c },
          { id: 'b', error: errors.b },
        ],
      };
      expectObservable(fanout(nodes('a', 'b', 'c'), (e) => sources[e.id]!)).toBe('----(r|)', { r: result });
      expectSubscriptions(sources.a!.subscriptions).toBe('^---!');
      expectSubscriptions(sources.b!.subscriptions).toBe('^-!');
      expectSubscriptions(sources.c!.subscriptions).toBe('^!');
    });
  });

  it("some fail with failWhen 'any-failed': errors with FanoutError holding the whole result", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const failure = reset('drop failed on b');
      const sources: Record<string, ColdObservable<string>> = { a: cold('-a|'), b: cold('--#', {}, failure) };
      let caught: unknown;
      const drop = fanout(nodes('a', 'b'), (e) => sources[e.id]!, { failWhen: 'any-failed' });
      expectObservable(catching(drop, (e) => (caught = e))).toBe('--|');
      testScheduler.flush();
      expect(FanoutError.is(caught)).to.equal(true);
      const error = caught as FanoutError;
      expect(error.cause).to.equal(failure);
      expect(error.result).to.deep.equal({
        status: 'some-failed',
        ok: [{ id: 'a', value: 'a' }],
        failed: [{ id: 'b', error: failure }],
      });
      expect(error.message).to.equal(
        'Fanout failed on 1 of 2 endpoints; the first error, from "b": ConnectionResetError: drop failed on b',
      );
    });
  });

  it('all fail: errors with FanoutError, every error kept, the first to happen as cause', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const errors = { a: reset('a'), b: reset('b'), c: reset('c') };
      const sources: Record<string, ColdObservable<string>> = {
        a: cold('--#', {}, errors.a),
        b: cold('---#', {}, errors.b),
        c: cold('-#', {}, errors.c),
      };
      let caught: unknown;
      expectObservable(
        catching(
          fanout(nodes('a', 'b', 'c'), (e) => sources[e.id]!),
          (e) => (caught = e),
        ),
      ).toBe('---|');
      expectSubscriptions(sources.b!.subscriptions).toBe('^--!');
      testScheduler.flush();
      const error = caught as FanoutError;
      expect(error).to.be.instanceOf(FanoutError);
      expect(error.name).to.equal('FanoutError');
      expect(error.cause).to.equal(errors.c);
      expect(error.message).to.match(/^Fanout failed on 3 of 3 endpoints; the first error, from "c": /);
      expect(error.result.status).to.equal('all-failed');
      expect(error.result.failed).to.deep.equal([
        { id: 'c', error: errors.c },
        { id: 'a', error: errors.a },
        { id: 'b', error: errors.b },
      ]);
    });
  });

  it('unsubscribing cancels every branch', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const sources: Record<string, ColdObservable<string>> = {
        a: cold('-a--'),
        b: cold('----b|'),
        c: cold('-'),
      };
      expectObservable(
        fanout(nodes('a', 'b', 'c'), (e) => sources[e.id]!),
        '^--!',
      ).toBe('');
      for (const id of ['a', 'b', 'c']) expectSubscriptions(sources[id]!.subscriptions).toBe('^--!');
    });
  });

  it('asks only the selected endpoints; an empty selection completes at once with an empty result', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const sources: Record<string, ColdObservable<string>> = {
        a: cold('-a|'),
        b: cold('-b|'),
        c: cold('-c|'),
      };
      const holders = new Set(['a', 'c']);
      const some = fanout(nodes('a', 'b', 'c'), (e) => sources[e.id]!, { select: (e) => holders.has(e.id) });
      expectObservable(some).toBe('--(r|)', {
        r: {
          status: 'all-succeeded',
          ok: [
            { id: 'a', value: 'a' },
            { id: 'c', value: 'c' },
          ],
          failed: [],
        },
      });
      const none = fanout(nodes('a', 'b', 'c'), (e) => sources[e.id]!, { select: () => false });
      expectObservable(none).toBe('(r|)', { r: { status: 'all-succeeded', ok: [], failed: [] } });
      expectSubscriptions(sources.b!.subscriptions).toBe([]);
    });
  });

  it('an endpoint that completes without a value fails with EmptyError; one that throws fails with its error', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const bug = new Error('bug');
      const run = fanout<string, string>(nodes('a', 'b', 'c'), (e) => {
        if (e.id === 'c') throw bug;
        return e.id === 'a' ? cold<string>('-|') : cold('--x|');
      });
      expectObservable(summarize(run)).toBe('---(r|)', {
        r: {
          status: 'some-failed',
          ok: ['b=x'],
          failed: ['c:Error:bug', 'a:EmptyError:no elements in sequence'],
        },
      });
    });
  });

  it('on an EndpointSet: an open breaker fails its endpoint without running it; outcomes reach the breakers', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const sources: Record<string, ColdObservable<string>> = {
        a: cold('-a|'),
        b: cold('-#', {}, reset('b')),
        c: cold('-c|'),
      };
      const set = new EndpointSet({
        endpoints: nodes('a', 'b', 'c'),
        breaker: { strategy: consecutiveFailures(1), openFor: 1_000 },
        random: seededRandom(1),
        scheduler: testScheduler,
      });
      set.breakerOf('c').admit().failure(); // c is dead
      expectObservable(summarize(fanout(set, (e) => sources[e.id]!))).toBe('--(r|)', {
        r: {
          status: 'some-failed',
          ok: ['a=a'],
          failed: ['c:CircuitOpenError:The circuit breaker is open until 1000', 'b:ConnectionResetError:b'],
        },
      });
      expectSubscriptions(sources.a!.subscriptions).toBe('^-!');
      expectSubscriptions(sources.c!.subscriptions).toBe([]);
      testScheduler.flush();
      expect(set.breakerOf('a').state).to.equal('closed');
      expect(set.breakerOf('b').state).to.equal('open'); // the transient failure counted
    });
  });

  it('throws a TypeError on nonsense', () => {
    expect(() => fanout([], () => EMPTY)).to.throw(TypeError, /endpoints must be a non-empty array/);
    expect(() => fanout(nodes('a', 'a'), () => EMPTY)).to.throw(TypeError, /appears twice/);
    expect(() => fanout(nodes('a'), 3 as unknown as () => Observable<never>)).to.throw(
      TypeError,
      /fn must be/,
    );
    expect(() => fanout(nodes('a'), () => EMPTY, { failWhen: 'never' as 'all-failed' })).to.throw(
      TypeError,
      /failWhen must be/,
    );
  });
});
