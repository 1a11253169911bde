import { expect } from 'chai';
import {
  heartbeat,
  policy,
  reconnectWith,
  type Link,
  type SessionEvent,
  type TransportEvent,
} from 'rx-lifeline';
import { marbleEvents, seededRandom, virtualNetwork, type SimulatedNetwork } from 'rx-lifeline/testing';
import { catchError, EMPTY, map, mergeMap, of, tap, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { newTestScheduler, upperCaseServer } from './support.js';

/** The client's link of the latest connection, kept up to date by a tap in the pipe. */
function tracked<E extends { type: string }>(events: Observable<E>, onLink: (link: Link<string>) => void) {
  return events.pipe(
    tap((event) => {
      if (event.type === 'connected') onLink((event as unknown as { link: Link<string> }).link);
    }),
  );
}

/** Frames the server receives, as marble values (`c` per connection). */
function serverView(network: SimulatedNetwork<string>): Observable<string> {
  return network.server.pipe(
    mergeMap((event) =>
      event.type === 'connection'
        ? event.connection.pipe(
            map((e) => (e.type === 'connected' ? 'c' : e.frame)),
            catchError(() => EMPTY),
          )
        : EMPTY,
    ),
  );
}

/** A server whose every connection is piped through heartbeat, answering the client's pings. */
function heartbeatServer(network: SimulatedNetwork, testScheduler: TestScheduler) {
  return network.server
    .pipe(
      mergeMap((event) =>
        event.type === 'connection'
          ? event.connection.pipe(
              heartbeat({ interval: 10, timeout: 30, scheduler: testScheduler }),
              catchError(() => EMPTY),
            )
          : EMPTY,
      ),
    )
    .subscribe();
}

describe('virtualNetwork', () => {
  it('delivers after the latency, each way, and a scheduled latency change applies from then on', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const network = virtualNetwork<string>({ scheduler: testScheduler, latency: 5 });
      const server = upperCaseServer(network);
      network.schedule('20ms latency(10ms)');
      let link: Link<string> | undefined;
      const client = tracked(network.transport, (l) => l.send('a'));
      cold('22ms b').subscribe((frame) => link?.send(frame));
      // Dial 5 ms; 'a' sent at 5 arrives at 10, 'A' back at 15. 'b' at 22 arrives at 32, 'B' at 42.
      const session = tracked(client, (l) => (link = l));
      // prettier-ignore
      expectObservable(marbleEvents(session), '^ 50ms !').toBe('5ms c 9ms A 26ms B', { c: 'c', A: 'A', B: 'B' });
      testScheduler.schedule(() => server.unsubscribe(), 60);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('a cut resets the connection; reconnectWith dials again', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const network = virtualNetwork<string>({ scheduler: testScheduler, latency: 1 });
      upperCaseServer(network);
      network.schedule('5ms cut');
      const session = network.transport.pipe(reconnectWith(policy.constant(10)));
      const values = { c: 'c', x: 'd1:10:ConnectionResetError' };
      expectObservable(marbleEvents(session), '^ 30ms !').toBe('-c---x 9ms -c', values);
      testScheduler.schedule(
        () => expect([network.dials, network.openConnections]).to.deep.equal([2, 1]),
        30,
      );
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('a stall holds traffic silently; resume delivers it in order', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const network = virtualNetwork<string>({ scheduler: testScheduler, latency: 1 });
      upperCaseServer(network);
      network.schedule('2ms stall 10ms resume');
      const session = tracked(network.transport, (link) => {
        link.send('a');
        link.send('b');
      });
      // 'a' and 'b' leave at 1 and are held from 2 to 12; the answers arrive at 13.
      expectObservable(marbleEvents(session), '^ 20ms !').toBe('-c 11ms (AB)', { c: 'c', A: 'A', B: 'B' });
    });
  });

  it('a stall is a half-open link: heartbeat finds it, and dials hang until the network resumes', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const network = virtualNetwork({ scheduler: testScheduler, latency: 1 });
      heartbeatServer(network, testScheduler);
      network.schedule('5ms stall 55ms resume');
      const session = network.transport.pipe(
        heartbeat({ interval: 10, timeout: 30, scheduler: testScheduler }),
        reconnectWith(policy.constant(10)),
      );
      // Connected at 1 and silent from 5: timeout at 31; the dial at 41 hangs until 60.
      const values = { c: 'c', x: 'd1:10:HeartbeatTimeoutError' };
      expectObservable(marbleEvents(session), '^ 65ms !').toBe('-c 29ms x 28ms c', values);
    });
  });

  it('stall(ms) resumes by itself', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const network = virtualNetwork<string>({ scheduler: testScheduler, latency: 1 });
      upperCaseServer(network);
      network.schedule('stall(20ms)');
      const session = tracked(network.transport, (link) => link.send('a'));
      // The dial at 0 hangs until 20, 'a' goes out then and comes back at 22.
      expectObservable(marbleEvents(session), '^ 30ms !').toBe('20ms c-A', { c: 'c', A: 'A' });
    });
  });

  it('an outage resets open connections and refuses dials until it ends; a list plan does the same', () => {
    for (const plan of [
      '5ms cut 20ms outage(20ms)',
      [
        { at: 5, fault: 'cut' as const },
        { at: 25, fault: { outage: 20 } },
      ],
    ]) {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const network = virtualNetwork<string>({ scheduler: testScheduler, latency: 1 });
        upperCaseServer(network);
        network.schedule(plan);
        const session = network.transport.pipe(
          reconnectWith({ policy: policy.constant(10), healthyAfter: 0 }),
        );
        const values = { c: 'c', x: 'd1:10:ConnectionResetError', y: 'd2:10:DialError' };
        // Cut at 5, back at 16; the outage resets it at 25, refuses the dial at 35; back at 47.
        // prettier-ignore
        expectObservable(marbleEvents(session), '^ 50ms !').toBe('-c---x 10ms c 8ms x 10ms y 10ms c', values);
      });
      expect(testScheduler.actions).to.have.length(0);
    }
  });

  it('a lost frame cuts its connection when it would have arrived; frames sent before it arrive', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const draws = [0.9, 0.9, 0.1]; // the third frame sent is lost
      const random = () => draws.shift() ?? 0.9;
      const network = virtualNetwork<string>({
        scheduler: testScheduler,
        latency: 1,
        loss: { rate: 0.5, random },
      });
      const server = serverView(network);
      let link: Link<string> | undefined;
      // The client sends a at 3, b at 10, c at 20; the server answers nothing.
      cold('3ms a 6ms b 9ms c').subscribe((frame) => link?.send(frame));
      const session = tracked(network.transport, (l) => (link = l)).pipe(reconnectWith(policy.constant(100)));
      const values = { c: 'c', x: 'd1:100:ConnectionResetError' };
      expectObservable(marbleEvents(session), '^ 30ms !').toBe('-c 19ms x', values);
      expectObservable(server, '^ 30ms !').toBe('-c--a 6ms b', { c: 'c', a: 'a', b: 'b' });
      testScheduler.schedule(() => expect(network.lost).to.equal(1), 30);
    });
  });

  it('a loss.random that answers outside [0, 1) makes send throw a TypeError, not lose nothing in silence', () => {
    for (const answer of [2, NaN, -0.5, '0.1']) {
      const testScheduler = newTestScheduler();
      const thrown: unknown[] = [];
      testScheduler.run(() => {
        const network = virtualNetwork<string>({
          scheduler: testScheduler,
          latency: 1,
          loss: { rate: 0.5, random: () => answer as number },
        });
        serverView(network).subscribe();
        const client = tracked(network.transport, (link) => {
          try {
            link.send('a');
          } catch (error) {
            thrown.push(error);
          }
        }).subscribe();
        testScheduler.schedule(() => client.unsubscribe(), 10);
      });
      expect(thrown, String(answer)).to.have.length(1);
      expect(thrown[0]).to.be.instanceOf(TypeError);
      expect((thrown[0] as Error).message).to.match(
        /^virtualNetwork: loss\.random\(\) must return a number in \[0, 1\), got /,
      );
    }
  });

  it("loss with effect 'stall' leaves that connection half-open for good; the next one is fresh", () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const network = virtualNetwork({
        scheduler: testScheduler,
        latency: 1,
        loss: { rate: 1, random: seededRandom(1), effect: 'stall' },
      });
      heartbeatServer(network, testScheduler);
      const session = network.transport.pipe(
        heartbeat({ interval: 10, timeout: 30, scheduler: testScheduler }),
        reconnectWith(policy.constant(10)),
      );
      // Every first ping is lost: each connection goes silent, and heartbeat gives up on it.
      const values = { c: 'c', x: 'd1:10:HeartbeatTimeoutError', y: 'd2:10:HeartbeatTimeoutError' };
      expectObservable(marbleEvents(session), '^ 75ms !').toBe('-c 29ms x 10ms c 29ms y', values);
      testScheduler.schedule(() => expect(network.lost).to.equal(2), 75);
    });
  });

  it('loss under a seeded random gives the same diagram for the same seed, and never corrupts a stream', () => {
    const run = (seed: number) => {
      const testScheduler = newTestScheduler();
      const seen: string[] = [];
      testScheduler.run(({ cold }) => {
        const network = virtualNetwork<string>({
          scheduler: testScheduler,
          latency: 2,
          loss: { rate: 0.1, random: seededRandom(seed) },
        });
        upperCaseServer(network);
        let link: Link<string> | undefined;
        let sent = 0;
        cold('-a'.repeat(100)).subscribe(() => link && !link.closed && link.send(`m${++sent}`));
        const session = tracked(network.transport, (l) => (link = l)).pipe(reconnectWith(policy.constant(5)));
        const subscription = marbleEvents(session as Observable<SessionEvent>).subscribe((value) =>
          seen.push(`${testScheduler.now()}:${value}`),
        );
        testScheduler.schedule(() => subscription.unsubscribe(), 210);
        testScheduler.schedule(() => expect(network.openConnections).to.equal(0), 220);
      });
      expect(testScheduler.actions).to.have.length(0);
      return seen;
    };
    const first = run(42);
    expect(run(42)).to.deep.equal(first);
    expect(run(43)).to.not.deep.equal(first);
    expect(first.filter((v) => v.includes(':d'))).to.not.be.empty;
    // On each connection, the answers are the frames sent, in order, without a gap.
    const connections = first.join(' ').split(/\S*:d\S*/);
    for (const connection of connections) {
      const answers = connection.match(/M\d+/g)?.map((m) => Number(m.slice(1))) ?? [];
      answers.forEach((n, i) => i > 0 && expect(n).to.equal(answers[i - 1]! + 1));
    }
  });

  it('without a listener dials are refused; when the server stops, clients see a clean close', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const network = virtualNetwork<string>({ scheduler: testScheduler, latency: 1 });
      const refused = network.transport.pipe(
        map((e: TransportEvent) => e.type),
        catchError((e: Error) => of(e.name)),
      );
      expectObservable(refused).toBe('-(x|)', { x: 'DialError' });
      testScheduler.schedule(() => {
        const server = upperCaseServer(network);
        testScheduler.schedule(() => server.unsubscribe(), 10);
      }, 5);
      // Dials at 5, connected at 6; the server stops at 15, and the end reaches the client at 16.
      expectObservable(marbleEvents(network.transport), '5ms ^').toBe('6ms c 9ms |', { c: 'c' });
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('a dial still on its way when the server stops is refused when it arrives', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const network = virtualNetwork<string>({ scheduler: testScheduler, latency: 5 });
      const server = upperCaseServer(network);
      testScheduler.schedule(() => server.unsubscribe(), 2);
      const dial = network.transport.pipe(
        map((e: TransportEvent) => e.type),
        catchError((e: Error) => of(e.name)),
      );
      // Dialled at 0 while the server listened; it stopped at 2, before the dial arrived at 5.
      expectObservable(dial, '^ 20ms !').toBe('5ms (x|)', { x: 'DialError' });
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('unsubscribing a plan cancels the faults not yet injected; everything tears down', () => {
    const testScheduler = newTestScheduler();
    let network: SimulatedNetwork<string> | undefined;
    testScheduler.run(({ expectObservable }) => {
      network = virtualNetwork<string>({ scheduler: testScheduler, latency: 1 });
      const server = upperCaseServer(network);
      const plan = network.schedule('10ms cut');
      testScheduler.schedule(() => plan.unsubscribe(), 5);
      expectObservable(marbleEvents(network.transport), '^ 20ms !').toBe('-c');
      testScheduler.schedule(() => server.unsubscribe(), 30);
    });
    expect(network!.openConnections).to.equal(0);
    expect(testScheduler.actions).to.have.length(0);
  });

  it('rejects nonsense with a TypeError', () => {
    const random = seededRandom(1);
    expect(() => virtualNetwork({ latency: -1 })).to.throw(TypeError, /latency/);
    expect(() => virtualNetwork({ loss: { rate: 2, random } })).to.throw(TypeError, /rate/);
    expect(() => virtualNetwork({ loss: { rate: 0.1, random: 0.5 as never } })).to.throw(TypeError, /random/);
    const network = virtualNetwork();
    expect(() => network.schedule('10ms explode')).to.throw(TypeError, /'explode'/);
    expect(() => network.schedule('outage(ten)')).to.throw(TypeError, /outage\(ten\)/);
    expect(() => network.schedule([{ at: -1, fault: 'cut' }])).to.throw(TypeError, /at/);
    expect(() => network.schedule([{ at: 1, fault: { flood: 3 } as never }])).to.throw(TypeError, /flood/);
    expect(() => network.inject('explode' as never)).to.throw(TypeError, /explode/);
  });
});
