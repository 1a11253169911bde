import { expect } from 'chai';
import {
  ConnectionResetError,
  DialError,
  EncodeError,
  LinkClosedError,
  memory,
  ProtocolError,
  SendBufferFullError,
  type Codec,
  type Link,
  type MemoryPair,
  type Transport,
  type TransportEvent,
  type WriteReport,
} from 'rx-lifeline';
import {
  asyncScheduler,
  catchError,
  EMPTY,
  endWith,
  filter,
  firstValueFrom,
  map,
  mergeMap,
  of,
  Subscriber,
  tap,
  throwError,
  timeout,
  type Observable,
} from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { earlyTimers } from '../support/early-timers.js';

/** Events as marble values: `c` connected, the frame itself, errors as `E:Name`. */
function asMarbles<In>(transport: Observable<TransportEvent<In, unknown>>): Observable<string> {
  return transport.pipe(
    map((event) => (event.type === 'connected' ? 'c' : String(event.frame))),
    catchError((error: Error) => of(`E:${error.name}`)),
  );
}

const ends = { c: 'c', z: 'z', x: 'E:ConnectionResetError', p: 'E:PeerClosedError' };

/** Runs the client until connected and returns its link. */
function connectNow(pair: MemoryPair<string>, scheduler: TestScheduler, onError?: (e: unknown) => void) {
  let link: Link<string> | undefined;
  pair.transport.subscribe({
    next: (e) => e.type === 'connected' && (link = e.link),
    error: onError ?? (() => undefined),
  });
  scheduler.flush();
  if (!link) throw new Error('not connected');
  return link;
}

/**
 * Serves every accepted connection with `onFrame(frame, link)` and returns the server side's
 * events as marbles, all connections merged: `c` connected, frames, `z` for a connection's clean
 * end and `E:Name` for its error. It never completes by itself: the server stays up.
 */
function serve(
  pair: MemoryPair<string>,
  onFrame: (frame: string, link: Link<string>) => void = () => undefined,
): Observable<string> {
  return pair.server.pipe(
    mergeMap((event) => {
      if (event.type !== 'connection') return EMPTY;
      let link: Link<string> | undefined;
      return event.connection.pipe(
        map((e) => {
          if (e.type === 'connected') link = e.link;
          else if (link) onFrame(e.frame, link);
          return e.type === 'connected' ? 'c' : e.frame;
        }),
        endWith('z'),
        catchError((error: Error) => of(`E:${error.name}`)),
      );
    }),
  );
}

/** A client that sends `frames` as soon as it is connected. */
function sending(
  transport: Transport<string>,
  frames: string[],
  onLink?: (link: Link<string>) => void,
): Observable<TransportEvent<string>> {
  return transport.pipe(
    tap((event) => {
      if (event.type !== 'connected') return;
      onLink?.(event.link);
      for (const frame of frames) event.link.send(frame);
    }),
  );
}

describe('memory()', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('refuses a dial when no server listens', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 2 });
      // prettier-ignore
      expectObservable(asMarbles(pair.transport)).toBe('--(x|)', { x: 'E:DialError' });
    });
  });

  it('refuses dials while faults.refuse(true), even with a server listening', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>();
      pair.server.subscribe();
      pair.faults.refuse(true);
      let error: unknown;
      pair.transport.subscribe({ error: (e) => (error = e) });
      testScheduler.flush();
      expect(DialError.is(error) && error.code).to.equal('ECONNREFUSED');
      expectObservable(EMPTY).toBe('|');
    });
  });

  it('connects after the latency and carries frames both ways', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 3 });
      const serverSide = serve(pair, (frame, link) => link.send(frame.toUpperCase()));
      // dial 3 ms; the frames take 3 ms to the server and their echoes 3 ms back
      // prettier-ignore
      expectObservable(serverSide, '^-------------!').toBe('---c--(ab)');
      // prettier-ignore
      expectObservable(asMarbles(sending(pair.transport, ['a', 'b'])), '^-------------!').toBe('---c-----(AB)');
    });
  });

  it('completes the client when the server closes the link, after delivering what was sent', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 1 });
      const serverSide = pair.server.pipe(
        mergeMap((event) => (event.type === 'connection' ? event.connection : EMPTY)),
        tap((event) => {
          if (event.type !== 'connected') return;
          event.link.send('bye');
          event.link.close();
        }),
      );
      // prettier-ignore
      expectObservable(asMarbles(serverSide), '^------!').toBe('-c-', ends);
      // prettier-ignore
      expectObservable(asMarbles(pair.transport)).toBe('-c(b|)', { c: 'c', b: 'bye' });
    });
  });

  it('unsubscribing the client ends the server side cleanly and frees the connection', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 1 });
      // prettier-ignore
      expectObservable(serve(pair), '^------!').toBe('-c--z', ends);
      // prettier-ignore
      expectObservable(asMarbles(pair.transport), '^--!').toBe('-c-');
      testScheduler.schedule(() => expect(pair.openConnections).to.equal(0), 10);
    });
  });

  it('unsubscribing the server completes every connection it accepted', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>();
      // prettier-ignore
      expectObservable(serve(pair), '^----!').toBe('c----');
      // prettier-ignore
      expectObservable(asMarbles(pair.transport)).toBe('c----|');
    });
  });

  it('cut() resets both sides with ConnectionResetError', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>();
      testScheduler.schedule(() => pair.faults.cut(), 4);
      const values = ends;
      // prettier-ignore
      expectObservable(serve(pair), '^-------!').toBe('c---x', values);
      // prettier-ignore
      // prettier-ignore
      expectObservable(asMarbles(pair.transport)).toBe('c---(x|)', values);
    });
  });

  it('a transport subscribed again dials a new connection', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 1 });
      testScheduler.schedule(() => pair.faults.cut(), 3);
      // prettier-ignore
      expectObservable(serve(pair), '^-------!').toBe('-c-xc', ends);
      const twice = asMarbles(pair.transport).pipe(
        mergeMap((value) => (value.startsWith('E:') ? asMarbles(pair.transport) : of(value))),
      );
      // prettier-ignore
      expectObservable(twice, '^-------!').toBe('-c--c');
    });
  });

  it('cutAfter(n) delivers exactly n bytes, mid-frame, and reports what left whole', () => {
    const pair = memory<string>({ scheduler: testScheduler });
    const received: string[] = [];
    let serverError: unknown;
    let clientError: unknown;
    serve(pair, (frame) => received.push(frame)).subscribe((v) => v.startsWith('E:') && (serverError = v));
    // Each 'xxxx' frame is 4 bytes of prefix + 5 bytes of msgpack (a fixstr header + 4 chars).
    const frameBytes = 9;
    const link = connectNow(pair, testScheduler, (e) => (clientError = e));
    pair.faults.cutAfter(frameBytes + 4);
    for (const frame of ['aaaa', 'bbbb', 'cccc']) link.send(frame);
    expect(link.framesSent).to.equal(3);
    testScheduler.flush();
    expect(received).to.deep.equal(['aaaa']);
    expect(serverError).to.equal('E:ConnectionResetError');
    expect(ConnectionResetError.is(clientError)).to.equal(true);
    const error = clientError as ConnectionResetError;
    // The third frame never left; the second left in part: 2 unconfirmed, 5 + 9 bytes of them.
    expect(error.write).to.deep.equal({
      lastFrame: 'not-started',
      unconfirmedFrames: 2,
      unconfirmedBytes: 14,
      // 'aaaa' and the part of 'bbbb' may have reached the server; 'cccc' certainly did not.
      framesLeft: 2,
    });
    expect(error.phase).to.equal('write');
  });

  it('cutAfter(n) ending inside the last frame reports it partial', () => {
    const pair = memory<string>({ scheduler: testScheduler });
    serve(pair).subscribe();
    let report: WriteReport | undefined;
    const link = connectNow(pair, testScheduler, (e) => (report = (e as ConnectionResetError).write));
    pair.faults.cutAfter(9 + 3);
    link.send('aaaa');
    link.send('bbbb');
    testScheduler.flush();
    expect(report).to.deep.equal({
      lastFrame: 'partial',
      unconfirmedFrames: 1,
      unconfirmedBytes: 6,
      framesLeft: 2,
    });
  });

  it("cutAfter(n, _, 'end') inside a frame is a PeerClosedError for the receiver", () => {
    const pair = memory<string>({ scheduler: testScheduler });
    const received: string[] = [];
    let serverEnd = '';
    serve(pair, (frame) => received.push(frame)).subscribe((v) => (serverEnd = v));
    let clientError: unknown;
    const link = connectNow(pair, testScheduler, (e) => (clientError = e));
    pair.faults.cutAfter(9 + 3, 'to-server', 'end');
    link.send('aaaa');
    link.send('bbbb');
    testScheduler.flush();
    expect(received).to.deep.equal(['aaaa']);
    expect(serverEnd).to.equal('E:PeerClosedError');
    expect(ConnectionResetError.is(clientError)).to.equal(true);
    expect(pair.openConnections).to.equal(0);
  });

  it("cutAfter(n, _, 'end') on a frame boundary completes the receiver", () => {
    const pair = memory<string>({ scheduler: testScheduler });
    const serverSide: string[] = [];
    serve(pair).subscribe((v) => serverSide.push(v));
    const link = connectNow(pair, testScheduler);
    pair.faults.cutAfter(9, 'to-server', 'end');
    link.send('aaaa');
    link.send('bbbb');
    testScheduler.flush();
    expect(serverSide).to.deep.equal(['c', 'aaaa', 'z']);
    expect(pair.openConnections).to.equal(0);
  });

  it('a frame the socket delivered is reported whole', () => {
    const pair = memory<string>({ scheduler: testScheduler });
    serve(pair).subscribe();
    let link: Link<string> | undefined;
    let error: ConnectionResetError | undefined;
    sending(pair.transport, ['aaaa'], (l) => (link = l)).subscribe({ error: (e) => (error = e) });
    testScheduler.flush();
    expect(link?.writeReport()).to.deep.equal({
      lastFrame: 'whole',
      unconfirmedFrames: 0,
      unconfirmedBytes: 0,
      framesLeft: 1,
    });
    pair.faults.cut();
    expect(error?.write.lastFrame).to.equal('whole');
    expect(error?.phase).to.equal('read');
  });

  it('stall() holds traffic silently and resume() delivers it in order', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 1 });
      sending(pair.transport, ['a', 'b']).subscribe();
      // Scheduled after the dial, so the connection opens at 1 and only its traffic is held.
      testScheduler.schedule(() => pair.faults.stall(), 1);
      testScheduler.schedule(() => pair.faults.resume(), 10);
      // connected at 1; frames sent at 1 are held by the stall and delivered on resume at 10
      // prettier-ignore
      expectObservable(serve(pair), '^-------------!').toBe('-c--------(ab)');
    });
  });

  it('a dial during a stall hangs until the stall ends', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 1 });
      pair.faults.stall();
      testScheduler.schedule(() => pair.faults.resume(), 10);
      // prettier-ignore
      expectObservable(serve(pair), '^-----------!').toBe('10ms c');
      // prettier-ignore
      expectObservable(asMarbles(pair.transport), '^-----------!').toBe('10ms c');
    });
  });

  it('a dial abandoned during a stall never reaches the server', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 1 });
      pair.faults.stall();
      testScheduler.schedule(() => pair.faults.resume(), 10);
      testScheduler.schedule(() => expect(pair.openConnections).to.equal(0), 11);
      // prettier-ignore
      expectObservable(pair.server.pipe(map((event) => event.type)), '^-----------!').toBe('l', { l: 'listening' });
      // prettier-ignore
      expectObservable(asMarbles(pair.transport), '^----!').toBe('');
    });
  });

  it('unsubscribing the server ends the connections it accepted and never subscribed to', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>();
      testScheduler.schedule(() => expect(pair.openConnections).to.equal(0), 6);
      // prettier-ignore
      expectObservable(pair.server.pipe(map((event) => event.type[0])), '^----!').toBe('(lc)');
      // prettier-ignore
      expectObservable(asMarbles(pair.transport), '^-------!').toBe('c----|');
    });
  });

  it('unsubscribing the server completes a connection subscribed on its own', () => {
    const pair = memory<string>({ scheduler: testScheduler });
    const events: string[] = [];
    const server = pair.server.subscribe((event) => {
      if (event.type !== 'connection') return;
      event.connection.subscribe({
        next: (e) => events.push(e.type),
        error: (e: Error) => events.push(`E:${e.name}`),
        complete: () => events.push('complete'),
      });
    });
    const client = pair.transport.subscribe({ error: () => undefined });
    testScheduler.flush();
    server.unsubscribe();
    expect(events).to.deep.equal(['connected', 'complete']);
    testScheduler.flush();
    expect(pair.openConnections).to.equal(0);
    client.unsubscribe();
  });

  it('a connection reset before the server subscribed to it completes at once, never connecting', () => {
    const pair = memory<string>({ scheduler: testScheduler });
    const accepted: Observable<TransportEvent<string>>[] = [];
    const server = pair.server.subscribe((event) => {
      if (event.type === 'connection') accepted.push(event.connection);
    });
    const client = pair.transport.subscribe({ error: () => undefined });
    testScheduler.flush();
    pair.faults.cut();
    const events: string[] = [];
    accepted[0]!.subscribe({
      next: (e) => events.push(e.type),
      error: (e: Error) => events.push(`E:${e.name}`),
      complete: () => events.push('complete'),
    });
    expect(events).to.deep.equal(['complete']);
    expect(pair.openConnections).to.equal(0);
    client.unsubscribe();
    server.unsubscribe();
  });

  it('both sides unsubscribing at once frees the connection', () => {
    const pair = memory<string>({ scheduler: testScheduler });
    let serverSide: { unsubscribe(): void } | undefined;
    const server = pair.server.subscribe((event) => {
      if (event.type === 'connection') serverSide = event.connection.subscribe();
    });
    const client = pair.transport.subscribe();
    testScheduler.flush();
    expect(pair.openConnections).to.equal(1);
    serverSide!.unsubscribe();
    client.unsubscribe();
    testScheduler.flush();
    expect(pair.openConnections).to.equal(0);
    server.unsubscribe();
  });

  it('delay(ms) changes the latency of later dials and deliveries', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>();
      pair.faults.delay(5);
      sending(pair.transport, ['a']).subscribe();
      // prettier-ignore
      expectObservable(serve(pair), '^-----------!').toBe('-----c----a');
    });
  });

  it('an accepted connection can be subscribed once', () => {
    const pair = memory<string>({ scheduler: testScheduler });
    const errors: unknown[] = [];
    const server = pair.server.subscribe((event) => {
      if (event.type !== 'connection') return;
      event.connection.subscribe();
      event.connection.subscribe({ error: (e) => errors.push(e) });
    });
    const client = pair.transport.subscribe();
    testScheduler.flush();
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(TypeError);
    client.unsubscribe();
    testScheduler.flush();
    expect(pair.openConnections).to.equal(0);
    server.unsubscribe();
  });

  it('a second server on the same pair errors', () => {
    const pair = memory({ scheduler: testScheduler });
    const first = pair.server.subscribe();
    let error: unknown;
    pair.server.subscribe({ error: (e) => (error = e) });
    expect(error).to.be.instanceOf(TypeError);
    first.unsubscribe();
  });

  it('a frame the peer cannot decode is a ProtocolError there and a reset here', () => {
    // A codec whose decoder rejects 'bad', standing in for garbage on the wire.
    const codec: Codec<unknown> = {
      encode: (value) => new TextEncoder().encode(String(value)),
      decode: (bytes) => {
        const value = new TextDecoder().decode(bytes);
        if (value === 'bad') throw new Error('not a frame');
        return value;
      },
    };
    const pair = memory<string>({ scheduler: testScheduler, codec });
    const received: string[] = [];
    let serverError: unknown;
    let clientError: unknown;
    pair.server
      .pipe(mergeMap((event) => (event.type === 'connection' ? event.connection : EMPTY)))
      .subscribe({
        next: (e) => e.type === 'frame' && received.push(e.frame),
        error: (e) => (serverError = e),
      });
    sending(pair.transport, ['ok', 'bad', 'never']).subscribe({ error: (e) => (clientError = e) });
    testScheduler.flush();
    expect(received).to.deep.equal(['ok']);
    expect(ProtocolError.is(serverError)).to.equal(true);
    expect((serverError as ProtocolError).offset).to.equal(4 + 2);
    expect((serverError as ProtocolError).message).to.match(/offset 6.*not a frame/);
    // The server's decoder reports its own link's writes (none), not an unknown write.
    expect((serverError as ProtocolError).write).to.deep.equal({
      lastFrame: 'none',
      unconfirmedFrames: 0,
      unconfirmedBytes: 0,
      framesLeft: 0,
    });
    expect(ConnectionResetError.is(clientError)).to.equal(true);
    expect(pair.openConnections).to.equal(0);
  });

  it('decodes nothing more once a layer above failed the connection on a frame', () => {
    const decoded: string[] = [];
    const codec: Codec<unknown> = {
      encode: (value) => new TextEncoder().encode(String(value)),
      decode: (bytes) => {
        const value = new TextDecoder().decode(bytes);
        decoded.push(value);
        return value;
      },
    };
    const pair = memory<string>({ scheduler: testScheduler, codec });
    let serverError: unknown;
    pair.server
      .pipe(
        mergeMap((event) => (event.type === 'connection' ? event.connection : EMPTY)),
        tap((e) => {
          if (e.type === 'frame' && e.frame === 'bad')
            throw new ProtocolError('rejected above', { offset: -1 });
        }),
      )
      .subscribe({ error: (e) => (serverError = e) });
    sending(pair.transport, ['ok', 'bad', 'after', 'more']).subscribe({ error: () => undefined });
    testScheduler.flush();
    expect((serverError as Error).message).to.equal('rejected above');
    // The three frames came in one batch: the two after 'bad' were never decoded.
    expect(decoded).to.deep.equal(['ok', 'bad']);
    expect(pair.openConnections).to.equal(0);
  });

  it('a subscriber that throws from next fails its connection only, with a ProtocolError', () => {
    const pair = memory<string>({ scheduler: testScheduler });
    const boom = new Error('subscriber failed');
    let serverError: unknown;
    const frames: string[] = [];
    pair.server.subscribe((event) => {
      if (event.type !== 'connection') return;
      // A hand-made Subscriber calls its destination directly: a throw comes straight back to the
      // transport, which RxJS's own subscribers never do.
      event.connection.subscribe(
        new Subscriber<TransportEvent<string>>({
          next: (e) => {
            if (e.type !== 'frame') return;
            frames.push(e.frame);
            if (e.frame === 'bad') throw boom;
          },
          error: (e: unknown) => (serverError = e),
          complete: () => undefined,
        }),
      );
    });
    let clientError: unknown;
    sending(pair.transport, ['ok', 'bad', 'never']).subscribe({ error: (e) => (clientError = e) });
    testScheduler.flush();
    expect(frames).to.deep.equal(['ok', 'bad']);
    expect(serverError).to.be.instanceOf(ProtocolError);
    expect((serverError as ProtocolError).cause).to.equal(boom);
    expect(ConnectionResetError.is(clientError)).to.equal(true);
    expect(pair.openConnections).to.equal(0);
  });

  it('refuses frames it cannot encode or that exceed maxFrameBytes, without closing', () => {
    const pair = memory<unknown>({ scheduler: testScheduler, maxFrameBytes: 8 });
    const server = pair.server.subscribe();
    let link: Link<unknown> | undefined;
    const sub = pair.transport.subscribe((e) => e.type === 'connected' && (link = e.link));
    testScheduler.flush();
    expect(() => link!.send('x'.repeat(20))).to.throw(EncodeError, /1 to 8 bytes/);
    expect(() => link!.send(Symbol('nope'))).to.throw(EncodeError);
    expect(link!.closed).to.equal(false);
    expect(link!.send('ok')).to.equal(true);
    sub.unsubscribe();
    server.unsubscribe();
    testScheduler.flush();
  });

  it('applies backpressure: false above the high-water mark, SendBufferFullError at the cap, drain$ after', () => {
    const pair = memory<string>({
      scheduler: testScheduler,
      maxFrameBytes: 16,
      highWaterMark: 30,
      maxBufferedBytes: 40,
    });
    const received: string[] = [];
    serve(pair, (frame) => received.push(frame)).subscribe();
    let link: Link<string> | undefined;
    const sub = pair.transport.subscribe((e) => e.type === 'connected' && (link = e.link));
    testScheduler.flush();
    pair.faults.stall();
    // 'aaaa' is 9 bytes on the wire
    expect(link!.send('aaaa')).to.equal(true);
    expect(link!.send('bbbb')).to.equal(true);
    expect(link!.send('cccc')).to.equal(true);
    expect(link!.bufferedBytes).to.equal(27);
    expect(link!.send('dddd')).to.equal(false);
    let drained = 0;
    link!.drain$.subscribe(() => drained++);
    expect(() => link!.send('eeee')).to.throw(SendBufferFullError);
    testScheduler.flush();
    expect(received).to.deep.equal([]);
    expect(link!.bufferedBytes).to.equal(36);
    pair.faults.resume();
    testScheduler.flush();
    expect(received).to.deep.equal(['aaaa', 'bbbb', 'cccc', 'dddd']);
    expect(link!.bufferedBytes).to.equal(0);
    expect(drained).to.equal(1);
    sub.unsubscribe();
    testScheduler.flush();
  });

  it('close() flushes queued frames, completes both sides, and later sends throw LinkClosedError', () => {
    testScheduler.run(({ expectObservable }) => {
      const pair = memory<string>({ latency: 1 });
      let link: Link<string> | undefined;
      const client = pair.transport.pipe(
        tap((e) => {
          if (e.type !== 'connected') return;
          link = e.link;
          e.link.send('one');
          e.link.send('two');
          e.link.close('done');
        }),
      );
      // prettier-ignore
      expectObservable(serve(pair), '^------!').toBe('-c(otz)', { ...ends, o: 'one', t: 'two' });
      // prettier-ignore
      expectObservable(asMarbles(client)).toBe('-c|');
      testScheduler.schedule(() => {
        expect(() => link!.send('three')).to.throw(LinkClosedError);
        expect(pair.openConnections).to.equal(0);
      }, 5);
    });
  });

  it('delivers every frame at its due time when timers fire early (TestScheduler)', () => {
    testScheduler.run(({ expectObservable }) => {
      // Every timer longer than 1 ms fires 1 ms early: the dial connects at 4 instead of 5, and
      // each delivery timer finds its frame not yet due and must wait for the rest.
      const pair = memory<string>({ latency: 5, scheduler: earlyTimers(testScheduler, 1) });
      const serverSide = serve(pair, (frame, link) => link.send(frame.toUpperCase()));
      // prettier-ignore
      expectObservable(serverSide, '^-------------------!').toBe('----c----a');
      // prettier-ignore
      expectObservable(asMarbles(sending(pair.transport, ['a'])), '^-------------------!').toBe('----c---------A');
    });
  });

  it('delivers a frame whose real timer fires early (asyncScheduler)', async () => {
    const pair = memory<string>({ latency: 30, scheduler: earlyTimers(asyncScheduler, 10) });
    const server = serve(pair, (frame, link) => link.send(frame.toUpperCase())).subscribe();
    try {
      const echoed = firstValueFrom(
        sending(pair.transport, ['ping']).pipe(
          filter((event) => event.type === 'frame'),
          map((event) => (event as { frame: string }).frame),
          // A lost frame never arrives: fail in bounded time instead of hanging the suite.
          timeout({ first: 2_000, with: () => throwError(() => new Error('the frame was lost')) }),
        ),
      );
      expect(await echoed).to.equal('PING');
    } finally {
      server.unsubscribe();
    }
  });

  it('rejects nonsense options with a TypeError', () => {
    expect(() => memory({ latency: -1 })).to.throw(TypeError, /latency/);
    expect(() => memory({ maxFrameBytes: 0 })).to.throw(TypeError, /maxFrameBytes/);
    expect(() => memory({ maxFrameBytes: 100, maxBufferedBytes: 50 })).to.throw(
      TypeError,
      /maxBufferedBytes/,
    );
    expect(() => memory({ highWaterMark: 0 })).to.throw(TypeError, /highWaterMark/);
    expect(() => memory().faults.cutAfter(-1)).to.throw(TypeError, /cutAfter/);
  });
});
