// The documented examples, run: the code below is copied from the TSDoc of lib/testing and from
// docs/testing.md, so the diagrams users read are diagrams that pass.
import { expect } from 'chai';
import { catchError, EMPTY, mergeMap, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { heartbeat, policy, reconnectWith, type GaveUpError } from 'rx-lifeline';
import {
  marbleEvents,
  marbleTime,
  RecordingLink,
  scriptedTransport,
  seededRandom,
  virtualNetwork,
} from 'rx-lifeline/testing';

function newTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

describe('documented examples', () => {
  it('RecordingLink (TSDoc)', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const link = new RecordingLink<string>();
      cold('--a-b-|').subscribe({ next: (frame) => link.send(frame), complete: () => link.close() });
      expectObservable(link.sent$).toBe('--a-b-|');
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('scriptedTransport (TSDoc)', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // Refused twice, then a connection that delivers a frame and stays up.
      const transport = scriptedTransport(cold, ['#', '-#', 'c-a']);
      const session = transport.pipe(reconnectWith(policy.constant(10)));
      const values = { c: 'c', a: 'a', x: 'd1:10:DialError', y: 'd2:10:DialError' };
      expectObservable(marbleEvents(session), '^ 30ms !').toBe('x 10ms y 9ms c-a', values);
      expectSubscriptions(transport.subscriptions).toBe(['(^!)', '10ms ^!', '21ms ^ 9ms !']);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('marbleEvents (TSDoc)', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const transport = scriptedTransport(cold, 'c-a-#');
      const session = transport.pipe(reconnectWith(policy.constant(100)));
      const values = { c: 'c', a: 'a', x: 'd1:100:ConnectionResetError' };
      expectObservable(marbleEvents(session), '^ 106ms !').toBe('c-a-x 99ms c-a', values);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('virtualNetwork (TSDoc)', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const network = virtualNetwork<string>({ scheduler: testScheduler, latency: 1 });
      // A server that accepts connections and ignores what they say.
      network.server
        .pipe(mergeMap((e) => (e.type === 'connection' ? e.connection.pipe(catchError(() => EMPTY)) : EMPTY)))
        .subscribe();
      network.schedule('5ms cut 20ms outage(20ms)');
      const session = network.transport.pipe(reconnectWith({ policy: policy.constant(10), healthyAfter: 0 }));
      const values = { c: 'c', x: 'd1:10:ConnectionResetError', y: 'd2:10:DialError' };
      // Connected at 1, cut at 5, back at 16; the outage resets it at 25 and refuses the dial at 35;
      // it ends at 45, and the dial at 46 is back at 47.
      expectObservable(marbleEvents(session), '^ 50ms !').toBe('-c---x 10ms c 8ms x 10ms y 10ms c', values);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('docs/testing.md §1: a transport that fails twice, then works, under jittered backoff', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      // Refused, refused, then a connection that delivers two frames and stays up.
      const transport = scriptedTransport(cold, ['#', '#', 'c-a-b']);

      // The policy under test: exponential from 100 ms, full jitter, at most 5 attempts.
      const retry = policy
        .exponential({ initial: 100, max: 1_000 })
        .jitter('full', { random: seededRandom(42) })
        .maxAttempts(5);
      const session = transport.pipe(reconnectWith({ policy: retry, healthyAfter: 'first-frame' }));

      // Full jitter waits random() × 100, then random() × 200: the same seed gives the same waits.
      const draws = seededRandom(42);
      const wait1 = draws() * 100; // 60.11… ms
      const wait2 = draws() * 200; // 89.65… ms

      const values = {
        x: `d1:${wait1}:DialError`,
        y: `d2:${wait2}:DialError`,
        c: 'c',
        a: 'a',
        b: 'b',
      };
      // A value takes one frame, hence the `- 1`.
      expectObservable(marbleEvents(session), '^ 1000ms !').toBe(
        marbleTime`x ${wait1} y ${wait1 + wait2} c-a-b`,
        values,
      );

      // One line per dial: the backoff between them, and the teardown of the last one at 1001.
      expectSubscriptions(transport.subscriptions).toBe([
        '(^!)',
        marbleTime`${wait1} (^!)`,
        marbleTime`${wait1 + wait2} ^ ${1001} !`,
      ]);
    });

    // Nothing is left behind: no pending wait, no timer.
    expect(testScheduler.actions).to.have.length(0);
  });

  it('docs/testing.md §2: giving up', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const transport = scriptedTransport(cold, 'c-#'); // every connection is reset after 1 ms
      const session = transport.pipe(reconnectWith(policy.constant(10).maxAttempts(3)));
      const outcome = marbleEvents(session).pipe(
        catchError((error: GaveUpError) => of(`${error.name}:${error.reason}:${error.attempts}`)),
      );
      const values = {
        c: 'c',
        x: 'd1:10:ConnectionResetError',
        y: 'd2:10:ConnectionResetError',
        g: 'GaveUpError:max-attempts:3',
      };
      expectObservable(outcome).toBe('c-x 9ms c-y 9ms c-(g|)', values);
      expectSubscriptions(transport.subscriptions).toBe(['^-!', '12ms ^-!', '24ms ^-!']);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('docs/testing.md §3: a half-open link, found by heartbeat', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const transport = scriptedTransport(cold, 'c'); // connects, then silence
      const session = transport.pipe(
        heartbeat({ interval: 1_000, timeout: 3_000 }), // per connection: before reconnectWith
        reconnectWith(policy.constant(500)),
      );
      const values = { c: 'c', x: 'd1:500:HeartbeatTimeoutError' };
      expectObservable(marbleEvents(session), '^ 4000ms !').toBe('c 2999ms x 499ms c', values);
      expectSubscriptions(transport.subscriptions).toBe(['^ 2999ms !', '3500ms ^ 500ms !']);

      // Heartbeat's pings ([1, id, t0] envelopes, docs/PROTOCOL.md) went out at 1 s and 2 s, unanswered.
      const pings = { p: [1, 1, 1000], q: [1, 2, 2000] };
      expectObservable(transport.sent$, '^ 4000ms !').toBe('1000ms p 999ms q', pings);
    });
    expect(testScheduler.actions).to.have.length(0);
  });
  it('docs/testing.md §4: the same, over a virtual network', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const network = virtualNetwork({ scheduler: testScheduler, latency: 1 });
      // The server pipes each connection through heartbeat too, so it answers pings.
      network.server
        .pipe(
          mergeMap((event) =>
            event.type === 'connection'
              ? event.connection.pipe(
                  heartbeat({ interval: 10, timeout: 30 }),
                  catchError(() => EMPTY),
                )
              : EMPTY,
          ),
        )
        .subscribe();
      network.schedule('5ms stall 55ms resume');

      const session = network.transport.pipe(
        heartbeat({ interval: 10, timeout: 30 }),
        reconnectWith(policy.constant(10)),
      );
      // Connected at 1 (latency), silent from 5: heartbeat gives up at 31. The dial at 41 hangs in the
      // stalled network until it resumes at 60.
      const values = { c: 'c', x: 'd1:10:HeartbeatTimeoutError' };
      expectObservable(marbleEvents(session), '^ 65ms !').toBe('-c 29ms x 28ms c', values);
    });
  });
});
