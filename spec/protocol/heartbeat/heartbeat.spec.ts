import { expect } from 'chai';
import fc from 'fast-check';
import { once } from 'node:events';
import {
  heartbeat,
  HeartbeatTimeoutError,
  memory,
  policy,
  ProtocolError,
  reconnectWith,
  type HeartbeatEvent,
  type Link,
  type MemoryPair,
  type SessionEvent,
  type Transport,
  type TransportEvent,
} from 'rx-lifeline';
import { tcp, tcpServer } from 'rx-lifeline/node';
import { RecordingLink } from 'rx-lifeline/testing';
import net from 'node:net';
import {
  catchError,
  EMPTY,
  finalize,
  firstValueFrom,
  map,
  mergeMap,
  of,
  Subject,
  tap,
  VirtualTimeScheduler,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { failure, record, startServer, type Recording } from '../../support/loopback.js';
import { INT64_FRAME, INT64_FRAME_BYTES, oddValue, peerFrame, unhandledDuring } from '../peer-input.js';
import { earlyTimers } from '../../support/early-timers.js';
import { newTestScheduler } from '../../operators/support.js';

type Event = TransportEvent<unknown, unknown> | HeartbeatEvent | SessionEvent;

/** Client events as marble values: `c`, frames, `h<rtt>/<offset>` samples, `E:<name>` errors. */
function marbles(events: Observable<Event>): Observable<string> {
  return events.pipe(
    map((event) => {
      if (event.type === 'connected') return 'c';
      if (event.type === 'frame') return String(event.frame);
      if (event.type === 'heartbeat') return `h${event.rtt}/${event.clockOffset}`;
      return `d${event.attempt}`;
    }),
    catchError((error: Error) => of(`E:${error.name}`)),
  );
}

/**
 * A plain server (no heartbeat layer) that shows the raw envelopes it receives as JSON, and calls
 * `answer` for each so a test can script the peer.
 */
function rawServer(
  pair: MemoryPair,
  answer: (frame: unknown, link: Link<unknown>) => void = () => undefined,
): Observable<string> {
  return pair.server.pipe(
    mergeMap((event) => {
      if (event.type !== 'connection') return EMPTY;
      let link: Link<unknown> | undefined;
      return event.connection.pipe(
        tap((e) => {
          if (e.type === 'connected') link = e.link;
          else if (link) answer(e.frame, link);
        }),
        map((e) => (e.type === 'connected' ? 'c' : JSON.stringify(e.frame))),
        catchError(() => EMPTY),
      );
    }),
  );
}

/** Heartbeat's output, recorded as a transport's events (the recording skips its samples). */
function recordLayer<T>(events: Observable<TransportEvent<T, T> | HeartbeatEvent>): Recording<T, T> {
  return record(events as unknown as Transport<T, T>);
}

describe('heartbeat', () => {
  it('pings while the connection is idle and errors with HeartbeatTimeoutError after timeout of silence', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 10 });
      const client = pair.transport.pipe(heartbeat({ interval: 50, timeout: 150 }));
      // Connected at 10; silent since: pings at 60 and 110 (arriving at 70 and 120); dead at 160.
      const pings = { c: 'c', a: '[1,1,60]', b: '[1,2,110]' };
      // prettier-ignore
      expectObservable(rawServer(pair), '^ 200ms !').toBe('10ms c 59ms a 49ms b', pings);
      // prettier-ignore
      expectObservable(marbles(client)).toBe('10ms c 149ms (x|)', { c: 'c', x: 'E:HeartbeatTimeoutError' });
      testScheduler.schedule(() => expect(pair.openConnections).to.equal(0), 180);
    });
  });

  it('pings and times out on time when its timers fire early', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 10 });
      const scheduler = earlyTimers(testScheduler, 1);
      const client = pair.transport.pipe(heartbeat({ interval: 50, timeout: 150, scheduler }));
      // Every timer fires 1 ms early and waits the rest: pings still leave at 60 and 110, death at 160.
      const pings = { c: 'c', a: '[1,1,60]', b: '[1,2,110]' };
      // prettier-ignore
      expectObservable(rawServer(pair), '^ 200ms !').toBe('10ms c 59ms a 49ms b', pings);
      // prettier-ignore
      expectObservable(marbles(client)).toBe('10ms c 149ms (x|)', { c: 'c', x: 'E:HeartbeatTimeoutError' });
    });
  });

  it('answers pongs into round-trip samples (NTP-style) and keeps a live connection up', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 10 });
      // The peer's clock runs 1000 ms ahead and it holds each ping 4 ms before answering.
      rawServer(pair, (frame, link) => {
        const [kind, id, t0] = frame as number[];
        if (kind !== 1) return;
        const t1 = testScheduler.now() + 1000;
        testScheduler.schedule(() => link.send([2, id, t0, t1, t1 + 4]), 4);
      }).subscribe();
      const client = pair.transport.pipe(heartbeat({ interval: 50, timeout: 150 }));
      // Ping at 60 arrives at 70, answered at 74, pong arrives at 84: rtt (84-60)-(4) = 20;
      // offset ((1070-60) + (1074-84)) / 2 = 1000. Next ping 50 ms after the pong.
      // prettier-ignore
      expectObservable(marbles(client), '^ 200ms !').toBe('10ms c 73ms h 73ms h', { c: 'c', h: 'h20/1000' });
    });
  });

  it('pings, samples and times out the same on a clock far from zero, as Date.now() reads', () => {
    // It keeps its times from the clock when heartbeat() was called: this one reads 2025-11-24.
    const FAR = 1_764_000_000_000;
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const scheduler = {
        now: () => testScheduler.now() + FAR,
        schedule: (work, delay, state) => testScheduler.schedule(work as never, delay, state),
      } as SchedulerLike;
      const pair = memory({ latency: 10 });
      // Pongs to the first two pings (held 4 ms, clock 1000 ms ahead of the test's); none after.
      rawServer(pair, (frame, link) => {
        const [kind, id, t0] = frame as number[];
        if (kind !== 1 || id! > 2) return;
        const t1 = testScheduler.now() + 1000;
        testScheduler.schedule(() => link.send([2, id, t0, t1, t1 + 4]), 4);
      }).subscribe();
      const client = pair.transport.pipe(heartbeat({ interval: 50, timeout: 150, scheduler }));
      // Pings at 60 and 134 (50 ms after each pong, at 84), then 184 and 234 unanswered: the
      // pong at 158 was the last frame, so it is dead at 308.
      const h = `h20/${1000 - FAR}`;
      // prettier-ignore
      expectObservable(marbles(client)).toBe('10ms c 73ms h 73ms h 149ms (x|)', { c: 'c', h, x: 'E:HeartbeatTimeoutError' });
    });
  });

  it('carries application frames as [0, frame] both ways, and frames count as life', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable, cold }) => {
      const pair = memory({ latency: 1 });
      rawServer(pair, (frame, link) => {
        const [kind, payload] = frame as [number, string];
        if (kind === 0) link.send([0, payload.toUpperCase()]);
      }).subscribe();
      let link: Link<string> | undefined;
      const client = pair.transport.pipe(
        heartbeat<string>({ interval: 50, timeout: 150 }),
        tap((e) => e.type === 'connected' && (link = e.link)),
      );
      // The client talks every 40 ms, so it never goes silent for 50: no pings at all.
      cold('2ms a 39ms b 39ms c 39ms d').subscribe((v) => link?.send(v));
      // prettier-ignore
      expectObservable(marbles(client), '^ 170ms !').toBe('-c--A 39ms B 39ms C 39ms D', {
        c: 'c', A: 'A', B: 'B', C: 'C', D: 'D',
      });
    });
  });

  it('two heartbeat peers answer each other without the application', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 5 });
      pair.server
        .pipe(
          mergeMap((e) =>
            e.type === 'connection' ? e.connection.pipe(heartbeat({ interval: 1000, timeout: 3000 })) : EMPTY,
          ),
        )
        .subscribe();
      const client = pair.transport.pipe(heartbeat({ interval: 50, timeout: 150 }));
      // Ping at 55, pong back at 65: rtt 10, same clock. Then every 50 ms of silence after it.
      // prettier-ignore
      expectObservable(marbles(client), '^ 200ms !').toBe('5ms c 59ms h 59ms h 59ms h', { c: 'c', h: 'h10/0' });
    });
  });

  it('finds a half-open link (memory stall) and lets reconnectWith dial again', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      pair.server
        .pipe(
          mergeMap((e) =>
            e.type === 'connection'
              ? e.connection.pipe(
                  heartbeat({ interval: 20, timeout: 60 }),
                  catchError(() => EMPTY),
                )
              : EMPTY,
          ),
        )
        .subscribe();
      testScheduler.schedule(() => pair.faults.stall(), 30);
      testScheduler.schedule(() => pair.faults.resume(), 100);
      const session = pair.transport.pipe(
        heartbeat({ interval: 20, timeout: 60 }),
        reconnectWith({ policy: policy.constant(10), healthyAfter: 1000 }),
      );
      const values = { c: 'c', h: 'h2/0', d: 'd1' };
      // A sample at 23 (ping 21, pong 23); the stall at 30 swallows the ping of 43; 60 ms after
      // the last frame (23) the link is declared dead at 83; the redial at 93 hangs in the stall
      // and connects when it ends at 100.
      // prettier-ignore
      expectObservable(marbles(session), '^ 110ms !').toBe('-c 21ms h 59ms d 16ms c', values);
    });
  });

  it('a frame that is not a heartbeat envelope is a ProtocolError', () => {
    // Data is [0, frame], a ping [1, id, t0], a pong [2, id, t0, t1, t2], all numbers: each of
    // these breaks one rule, by its kind, its length or the type of a field.
    const notEnvelopes = [
      'plain',
      {},
      [],
      [0],
      [0, 'a', 'b'],
      [1, 5],
      [1, 5, 6, 7],
      [1, 'x', 6],
      [1, 5, null],
      [2, 1, 2, 3],
      [2, 1, 2, 3, 4, 5],
      [2, 1, 2, 3, 'x'],
      [3, 'a'],
      ['0', 'a'],
    ];
    for (const answer of notEnvelopes) {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ expectObservable }) => {
        const pair = memory({ latency: 1 });
        rawServer(pair, (_frame, link) => link.send(answer)).subscribe();
        const client = pair.transport.pipe(heartbeat({ interval: 5, timeout: 20 }));
        // The client's first ping (at 6) is answered with the frame at 8. Unsubscribed at 30, so a
        // heartbeat that wrongly took the frame stops pinging and the test fails instead of looping.
        // prettier-ignore
        expectObservable(marbles(client), '^ 30ms !').toBe('-c 6ms (x|)', { c: 'c', x: 'E:ProtocolError' });
      });
    }
  });

  it('closes the connection before it reports its error, so that a retry never overlaps it', () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(({ cold }) => {
      const link = new RecordingLink({ scheduler: testScheduler });
      // A connection that never hears back: the heartbeat times out at 20.
      cold('c', { c: { type: 'connected' as const, link } })
        .pipe(
          finalize(() => log.push(`closed at ${testScheduler.now()}`)),
          heartbeat({ interval: 5, timeout: 20, scheduler: testScheduler }),
        )
        .subscribe({ error: (error: Error) => log.push(`${error.name} at ${testScheduler.now()}`) });
    });
    expect(log).to.deep.equal(['closed at 20', 'HeartbeatTimeoutError at 20']);
    expect(testScheduler.actions).to.have.length(0);
  });

  it('unsubscribing clears its timers and closes the connection', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const client = pair.transport.pipe(heartbeat({ interval: 50, timeout: 150 }));
      // prettier-ignore
      expectObservable(rawServer(pair), '^ 30ms !').toBe('-c');
      expectObservable(marbles(client), '^ 10ms !').toBe('-c');
      testScheduler.schedule(() => expect(pair.openConnections).to.equal(0), 20);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('idle connections share one timer of their scheduler, and each still pings on its own time', () => {
    const testScheduler = newTestScheduler();
    const links = [0, 1, 2].map(() => new RecordingLink({ scheduler: testScheduler }));
    testScheduler.run(({ cold }) => {
      const subs = links.map((link, i) =>
        cold(`${i * 10}ms c`, { c: { type: 'connected' as const, link } })
          .pipe(heartbeat({ interval: 100, timeout: 1_000, scheduler: testScheduler }))
          .subscribe(),
      );
      testScheduler.schedule(() => {
        // Three connections, one scheduler action: the heartbeat's shared timer queue.
        expect(testScheduler.actions).to.have.length(1);
        for (const sub of subs) sub.unsubscribe();
      }, 250);
    });
    expect(links.map((link) => link.sends.map((s) => s.time))).to.deep.equal([
      [100, 200],
      [110, 210],
      [120, 220],
    ]);
    expect(testScheduler.actions).to.have.length(0);
  });

  it('piped after reconnectWith, it fails at once with a TypeError naming the right order', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable, cold }) => {
      const pair = memory({ latency: 1 });
      const server = pair.server.subscribe();
      cold('5ms x').subscribe(() => pair.faults.cut());
      const misplaced = pair.transport.pipe(
        reconnectWith(policy.constant(10)),
        heartbeat({ interval: 100, timeout: 300 }) as never,
        map((event: { type: string }) => event.type[0]),
        catchError((error: Error) =>
          of(/pipe heartbeat\(\) before reconnectWith\(\)/.test(error.message) ? 'T' : error.message),
        ),
      );
      // Connected at 1, cut at 5: the 'disconnected' that follows is the misplacement.
      expectObservable(misplaced).toBe('-c 3ms (T|)');
      testScheduler.schedule(() => server.unsubscribe(), 20);
    });
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it('rejects nonsense options with a TypeError', () => {
    expect(() => heartbeat({ interval: 0 })).to.throw(TypeError, /interval/);
    expect(() => heartbeat({ interval: 100, timeout: 100 })).to.throw(TypeError, /timeout/);
    expect(() => heartbeat({ timeout: Number.NaN })).to.throw(TypeError, /timeout/);
  });

  it('over real TCP, finds a peer that stopped reading and writing', async () => {
    // A server that accepts and then does nothing at all: no reads, no writes, no FIN.
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.pause();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const outcome = await firstValueFrom(
        tcp({ port }).pipe(
          heartbeat({ interval: 20, timeout: 60 }),
          map(() => 'event'),
          catchError((error: unknown) => of(error)),
          mergeMap((value) => (value === 'event' ? EMPTY : of(value))),
        ),
      );
      expect(HeartbeatTimeoutError.is(outcome)).to.equal(true);
      expect((outcome as HeartbeatTimeoutError).silentFor).to.be.at.least(60);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('given any value a peer can decode to', () => {
    /**
     * Feeds `frames` to heartbeat on one connection (virtual time that never moves, so no ping):
     * the types it emitted and the error it failed with.
     */
    function feed(frames: readonly unknown[]): { types: string[]; error: unknown } {
      const source = new Subject<TransportEvent>();
      const outcome = { types: [] as string[], error: undefined as unknown };
      const subscription = source.pipe(heartbeat({ scheduler: new VirtualTimeScheduler() })).subscribe({
        next: (event) => outcome.types.push(event.type),
        error: (error: unknown) => (outcome.error = error),
      });
      source.next({ type: 'connected', link: new RecordingLink() });
      for (const frame of frames) source.next({ type: 'frame', frame });
      subscription.unsubscribe();
      return outcome;
    }

    it('a frame holding a 64-bit integer is a ProtocolError, not an exception', async () => {
      let outcome: ReturnType<typeof feed> | undefined;
      const reported = await unhandledDuring(() => void (outcome = feed([INT64_FRAME])));
      expect(reported).to.deep.equal([]);
      expect(ProtocolError.is(outcome!.error), String(outcome!.error)).to.equal(true);
      expect((outcome!.error as Error).message).to.match(
        /received an array of 1 starting 1n, not a heartbeat envelope/,
      );
    });

    it('a ping or a pong whose times are not finite numbers is a ProtocolError, not answered or sampled', () => {
      for (const frame of [
        [1, 5, Infinity],
        [1, NaN, 6],
        [2, 0, 0, 3, -Infinity],
        [2, NaN, 0, 1, 2],
      ]) {
        const { types, error } = feed([frame]);
        expect(types, String(frame)).to.deep.equal(['connected']);
        expect(ProtocolError.is(error), String(frame)).to.equal(true);
      }
    });

    it('a pong that does not answer the latest ping, by its id or by its time, is no sample', () => {
      // No ping went out yet (the clock never moves): the latest is id 0, sent at 0.
      expect(feed([[2, 0, 0, 1, 2]]).types, 'the answer').to.deep.equal(['connected', 'heartbeat']);
      for (const pong of [
        [2, 0, 5, 1, 2],
        [2, 3, 0, 1, 2],
      ]) {
        expect(feed([pong]), String(pong)).to.deep.equal({ types: ['connected'], error: undefined });
      }
    });

    it('on a clock far from zero, the answer before any ping is still id 0 sent at 0, and a sample is timed by that clock', () => {
      const FAR = 1_764_000_000_000;
      const scheduler = new VirtualTimeScheduler();
      scheduler.frame = FAR; // heartbeat() below reads it as its origin
      const source = new Subject<TransportEvent>();
      const events: (TransportEvent | HeartbeatEvent)[] = [];
      const subscription = source.pipe(heartbeat({ scheduler })).subscribe((event) => events.push(event));
      source.next({ type: 'connected', link: new RecordingLink() });
      for (const frame of [
        [2, 0, FAR, 1, 2],
        [2, 0, 0, FAR, FAR + 2],
      ]) {
        source.next({ type: 'frame', frame });
      }
      subscription.unsubscribe();
      const samples = events.filter((event) => event.type === 'heartbeat');
      expect(samples).to.deep.equal([
        { type: 'heartbeat', rtt: FAR - 2, clockOffset: (FAR + 2) / 2, at: FAR },
      ]);
    });

    it('a pong whose times add up to an infinity is a ProtocolError, not a sample', () => {
      const { types, error } = feed([[2, 0, 0, Number.MAX_VALUE, -Number.MAX_VALUE]]);
      expect(types).to.deep.equal(['connected']);
      expect(ProtocolError.is(error)).to.equal(true);
    });

    it('property: it emits frames and samples or fails with a ProtocolError, and never throws', async () => {
      const envelopes = fc.oneof(
        fc.tuple(fc.constant(0), oddValue),
        fc.tuple(fc.constant(1), fc.integer(), fc.double()),
        fc.tuple(fc.constant(2), fc.constant(0), fc.constant(0), fc.double(), fc.double()),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(peerFrame(envelopes), { maxLength: 4 }), async (frames) => {
          let outcome: ReturnType<typeof feed> | undefined;
          expect(await unhandledDuring(() => void (outcome = feed(frames)))).to.deep.equal([]);
          const { types, error } = outcome!;
          for (const type of types) expect(type).to.be.oneOf(['connected', 'frame', 'heartbeat']);
          if (error !== undefined) expect(ProtocolError.is(error), String(error)).to.equal(true);
        }),
        { numRuns: 300 },
      );
    });

    it('over real TCP, that frame fails only its own connection, with a ProtocolError: the server and its other connections carry on', async () => {
      const reported = await unhandledDuring(async () => {
        const server = await startServer(tcpServer());
        try {
          // A hostile peer, as the server's first connection; every connection is piped through heartbeat.
          const hostile = net.connect({ host: '127.0.0.1', port: server.port });
          hostile.on('error', () => undefined);
          const closed = once(hostile, 'close');
          const hostileSide = recordLayer((await server.nextConnection()).pipe(heartbeat()));
          const client = recordLayer(tcp<string>({ port: server.port }).pipe(heartbeat<string>()));
          const accepted = recordLayer((await server.nextConnection()).pipe(heartbeat<string>()));
          hostile.write(INT64_FRAME_BYTES);
          const error = await failure(hostileSide);
          expect(ProtocolError.is(error), String(error)).to.equal(true);
          await closed;
          (await client.link()).send('still here');
          expect(await accepted.frames(1)).to.deep.equal(['still here']);
          expect(server.ended()).to.equal(undefined);
          client.subscription.unsubscribe();
          accepted.subscription.unsubscribe();
        } finally {
          server.stop();
        }
      });
      expect(reported).to.deep.equal([]);
    });

    it('over real TCP, a tcp() client piped through heartbeat fails with a ProtocolError on that frame', async () => {
      const sockets: net.Socket[] = [];
      const server = net.createServer((socket) => {
        sockets.push(socket);
        socket.write(INT64_FRAME_BYTES);
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const { port } = server.address() as net.AddressInfo;
        const reported = await unhandledDuring(async () => {
          const client = recordLayer(tcp({ port }).pipe(heartbeat()));
          const error = await failure(client);
          expect(ProtocolError.is(error), String(error)).to.equal(true);
        });
        expect(reported).to.deep.equal([]);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
