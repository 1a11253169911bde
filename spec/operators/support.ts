// Helpers for operator specs. The fake Link and the marble values of events are the public kit's
// (lifeline/testing), so our specs and our users' tests share one implementation.
import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import {
  CircuitBreaker,
  consecutiveFailures,
  type ConnectedEvent,
  type Link,
  type TransportEvent,
} from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';

export { RecordingLink as FakeLink, marbleEvents as summarize } from 'rx-lifeline/testing';

/** A TestScheduler that compares with chai's deep equality. */
export function newTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

/** The event values scripted sources use: `c` connected (with `link`), `a`/`b` frames. */
export function transportValues(link: Link<unknown> = new RecordingLink()): Record<string, TransportEvent> {
  const connected: ConnectedEvent = { type: 'connected', link };
  return { c: connected, a: { type: 'frame', frame: 'a' }, b: { type: 'frame', frame: 'b' } };
}

/** A breaker opened at 0 for 10 ms: half-open from 10, with one probe slot. */
export function halfOpenAt10(): CircuitBreaker {
  const breaker = new CircuitBreaker({ strategy: consecutiveFailures(1), openFor: 10 });
  breaker.admit().failure();
  return breaker;
}

/** At virtual time `at`, expects `breaker` to admit an attempt as its half-open probe. */
export function expectProbeFree(scheduler: TestScheduler, breaker: CircuitBreaker, at: number): void {
  scheduler.schedule(() => {
    const permit = breaker.admit();
    expect(permit.probe, 'the probe slot is free').to.equal(true);
    permit.release();
  }, at);
}
