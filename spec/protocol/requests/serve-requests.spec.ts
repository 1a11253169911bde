import { expect } from 'chai';
import fc from 'fast-check';
import {
  firstValueFrom,
  lastValueFrom,
  toArray,
  Observable,
  interval,
  map,
  take,
  finalize,
  NEVER,
  catchError,
  of,
  range,
} from 'rxjs';
import type { RemoteError } from 'rx-lifeline';
import { memory, ProtocolError, serveRequests, type TransportEvent } from 'rx-lifeline';
import { feedLayer, INT64_FRAME, oddValue, peerFrame, unhandledDuring, type Fed } from '../peer-input.js';
import { FakeLink, newTestScheduler } from '../../operators/support.js';
import { clientOn, serveOn, serveSessionsOn } from './support.js';

describe('serveRequests', () => {
  it('answers a value in one response, and streams an Observable', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, (payload) =>
        payload === 'stream' ? interval(5).pipe(take(3)) : `got ${String(payload)}`,
      ).subscribe();
      const { link, subscription } = clientOn(pair);
      // Dial 1 ms, request out at 1, in at 2, answer back at 3.
      expectObservable(link.request('x')).toBe('---(a|)', { a: 'got x' });
      expectObservable(link.request('stream')).toBe('8ms a 4ms b 4ms (c|)', { a: 0, b: 1, c: 2 });
      testScheduler.schedule(() => {
        subscription.unsubscribe();
        server.unsubscribe();
      }, 50);
    });
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it('sends handler errors as { name, message } only: no stack, no constructor', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      class NotFoundError extends Error {
        override name = 'NotFoundError';
        secret = 'kept on the server';
      }
      const server = serveOn(pair, (payload) => {
        if (payload === 'throw') throw new NotFoundError('no user 7');
        if (payload === 'string') throw 'plain string';
        // A hand-written thenable whose then() throws: that request's error, not the connection's.
        if (payload === 'thenable') {
          return {
            then: () => {
              throw new RangeError('then broke');
            },
          };
        }
        return new Observable(() => {
          throw new TypeError('broken stream');
        });
      }).subscribe();
      const { link, subscription } = clientOn(pair);
      const describe = (e: unknown) => {
        const error = e as RemoteError;
        return [error.name, error.remoteName, error.message, Object.keys(error).sort().join(',')].join('|');
      };
      for (const [payload, expected] of [
        ['throw', 'RemoteError|NotFoundError|no user 7|id,remoteName'],
        ['string', 'RemoteError|Error|plain string|id,remoteName'],
        ['thenable', 'RemoteError|RangeError|then broke|id,remoteName'],
        ['observable', 'RemoteError|TypeError|broken stream|id,remoteName'],
      ] as const) {
        let seen = '';
        link.request(payload).subscribe({ error: (e: unknown) => (seen = describe(e)) });
        testScheduler.schedule(() => expect(seen, payload).to.equal(expected), 10);
      }
      testScheduler.schedule(() => {
        subscription.unsubscribe();
        server.unsubscribe();
      }, 20);
      expectObservable(NEVER, '^ 20ms !').toBe('');
    });
  });

  it('a cancel aborts the signal and unsubscribes the handler’s Observable', () => {
    const testScheduler = newTestScheduler();
    const seen: string[] = [];
    testScheduler.run(({ expectObservable }) => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, (_payload, { signal }) => {
        signal.addEventListener('abort', () => seen.push(`aborted at ${testScheduler.now()}`));
        return interval(2).pipe(finalize(() => seen.push(`unsubscribed at ${testScheduler.now()}`)));
      }).subscribe();
      const { link, subscription } = clientOn(pair);
      // Request in at 2; values every 2 ms from 4 reach the client 1 ms later; cancel at 8 arrives at 9.
      expectObservable(link.request('tick'), '^ 7ms !').toBe('----- a 1ms b', { a: 0, b: 1 });
      testScheduler.schedule(() => {
        subscription.unsubscribe();
        server.unsubscribe();
      }, 30);
    });
    expect(seen).to.deep.equal(['aborted at 9', 'unsubscribed at 9']);
  });

  it('a signal first read after the cancel is already aborted, and a spread context keeps it', () => {
    const testScheduler = newTestScheduler();
    const seen: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, (_payload, context) =>
        // The handler looks at its signal only once it is done waiting, after the cancel came in.
        NEVER.pipe(
          finalize(() => {
            const { signal } = { ...context };
            const same = signal === context.signal ? 'same' : 'another';
            seen.push(`${signal.aborted} ${(signal.reason as Error).name} ${same} at ${testScheduler.now()}`);
          }),
        ),
      ).subscribe();
      const { link, subscription } = clientOn(pair);
      const request = link.request('late').subscribe();
      // Request in at 2; the cancel leaves at 5 and arrives at 6.
      testScheduler.schedule(() => request.unsubscribe(), 5);
      testScheduler.schedule(() => {
        subscription.unsubscribe();
        server.unsubscribe();
      }, 20);
    });
    expect(seen).to.deep.equal(['true AbortError same at 6']);
  });

  it('cancels every running handler when the connection ends', () => {
    const testScheduler = newTestScheduler();
    const seen: string[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      const server = serveOn(pair, (payload, { signal }) => {
        signal.addEventListener('abort', () =>
          seen.push(`${String(payload)} aborted at ${testScheduler.now()}`),
        );
        return NEVER;
      }).subscribe();
      const { link, subscription } = clientOn(pair);
      link.request('a').subscribe({ error: () => undefined });
      link.request('b').subscribe({ error: () => undefined });
      // Unsubscribing drops the client's socket; the server sees the end 1 ms later.
      testScheduler.schedule(() => subscription.unsubscribe(), 5);
      testScheduler.schedule(() => server.unsubscribe(), 20);
    });
    expect(seen).to.deep.equal(['a aborted at 6', 'b aborted at 6']);
  });

  it('answers beyond maxConcurrent with a TooManyRequestsError response, and a Promise with its value', async () => {
    const pair = memory();
    const server = pair.server
      .pipe(
        // Only the connection matters here: serve it with a cap of one.
        (source) =>
          new Observable<unknown>((subscriber) =>
            source.subscribe((event) => {
              if (event.type === 'connection') {
                event.connection
                  .pipe(
                    serveRequests(
                      (payload) => (payload === 'slow' ? NEVER : Promise.resolve(`p:${String(payload)}`)),
                      { maxConcurrent: 1 },
                    ),
                  )
                  .subscribe({ error: (e: unknown) => subscriber.error(e) });
              }
            }),
          ),
      )
      .subscribe();
    const { link, subscription } = clientOn(pair);
    try {
      const slow = link.request('slow').subscribe({ error: () => undefined });
      const refused = await firstValueFrom(link.request('x')).catch((e: RemoteError) => e.remoteName);
      expect(refused).to.equal('TooManyRequestsError');
      slow.unsubscribe();
      // The cancel frees the slot; the Promise's value comes back as one response.
      expect(await lastValueFrom(link.request('y').pipe(toArray()))).to.deep.equal(['p:y']);
      expect(await lastValueFrom(link.request('z').pipe(map((v) => `${String(v)}!`)))).to.equal('p:z!');
    } finally {
      subscription.unsubscribe();
      server.unsubscribe();
    }
    expect(pair.openConnections).to.equal(0);
  });

  it('a burst of requests on a session with a small replay buffer: responses wait for drain$, every request settles once', () => {
    const testScheduler = newTestScheduler();
    const settled: string[] = [];
    const calls: number[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 1 });
      // The server's replay buffer holds 8 frames: the 200 answers cannot all be in flight at once.
      const server = serveSessionsOn(
        pair,
        (payload) => {
          calls.push(payload as number);
          return (payload as number) * 2;
        },
        { maxFrames: 8 },
      ).subscribe();
      const { link, subscription } = clientOn(pair, { resumable: true });
      testScheduler.schedule(() => {
        for (let n = 1; n <= 200; n++) {
          link.request(n).subscribe({
            next: (v) => settled.push(`${n}:${String(v)}`),
            error: (e: Error) => settled.push(`${n}:E:${e.name}`),
          });
        }
      }, 5);
      testScheduler.schedule(() => (subscription.unsubscribe(), server.unsubscribe()), 5_000);
    });
    expect(calls).to.have.length(200);
    expect(settled).to.deep.equal(Array.from({ length: 200 }, (_, i) => `${i + 1}:${(i + 1) * 2}`));
  });

  it('a streamed response that outruns a slow link by maxQueued is ended with ResponseOverflowError; the others are answered', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ expectObservable }) => {
      // A link that asks to wait after about 64 bytes, and drains 1 ms later.
      const pair = memory({ latency: 1, highWaterMark: 64 });
      const server = pair.server.subscribe((event) => {
        if (event.type !== 'connection') return;
        event.connection
          .pipe(
            serveRequests(
              (payload) => (payload === 'flood' ? range(1, 100).pipe(map(() => 'x'.repeat(20))) : 'small'),
              { maxQueued: 10 },
            ),
          )
          .subscribe();
      });
      const { link, subscription } = clientOn(pair);
      const flood = link.request('flood').pipe(
        toArray(),
        map((values) => `${values.length} values`),
        catchError((error: Error & { remoteName?: string }) => of(`E:${error.remoteName}`)),
      );
      // The flood's first values fill the link; ten more wait, and the eleventh ends the response.
      // The link then takes a write a millisecond: the waiting values and the error arrive by 9 ms,
      // and the answer to 'small', asked after the flood, waited its turn behind them.
      expectObservable(flood).toBe('9ms (e|)', { e: 'E:ResponseOverflowError' });
      expectObservable(link.request('small')).toBe('10ms (s|)', { s: 'small' });
      testScheduler.schedule(() => (subscription.unsubscribe(), server.unsubscribe()), 50);
    });
    expect(testScheduler.actions).to.deep.equal([]);
  });

  it('fails the stream with a ProtocolError on a frame that is not a requests envelope', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const events = cold('c a', {
        c: { type: 'connected', link: new FakeLink() },
        a: { type: 'frame', frame: [9, 1] },
      });
      expectObservable(
        events.pipe(
          serveRequests(() => 1),
          map((e) => e.type),
          catchError((error: ProtocolError) => of(`${error.name} ${error.offset}`)),
        ),
      ).toBe('c (e|)', { c: 'connected', e: 'ProtocolError -1' });
    });
  });

  describe('given any value a peer can decode to', () => {
    const layer = (source: Observable<TransportEvent>) => source.pipe(serveRequests(() => 'done'));

    it('a frame holding a 64-bit integer fails the stream with a ProtocolError, not a TypeError', async () => {
      let fed: Fed | undefined;
      const reported = await unhandledDuring(() => void (fed = feedLayer(layer, [INT64_FRAME])));
      expect(reported).to.deep.equal([]);
      expect(ProtocolError.is(fed!.error), String(fed!.error)).to.equal(true);
      expect((fed!.error as Error).message).to.match(
        /received an array of 1 starting 1n, not a requests envelope/,
      );
    });

    it('property: it emits frames or fails with a ProtocolError, and never throws', async () => {
      const envelopes = fc.oneof(
        fc.tuple(fc.constant(0), oddValue),
        fc.tuple(fc.constant(1), fc.integer({ min: 1, max: 3 }), oddValue),
        fc.tuple(fc.constant(3), fc.integer({ min: 1, max: 3 })),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(peerFrame(envelopes), { maxLength: 4 }), async (frames) => {
          let fed: Fed | undefined;
          expect(await unhandledDuring(() => void (fed = feedLayer(layer, frames)))).to.deep.equal([]);
          for (const type of fed!.types) expect(type).to.be.oneOf(['connected', 'frame']);
          if (fed!.error !== undefined)
            expect(ProtocolError.is(fed!.error), String(fed!.error)).to.equal(true);
        }),
        { numRuns: 300 },
      );
    });

    it('a body part of no known kind, or of the wrong length, is a ProtocolError', async () => {
      const bodies = (source: Observable<TransportEvent>) =>
        source.pipe(serveRequests((_payload, { body$ }) => body$));
      for (const part of [
        ['oops', { name: 'E', message: 'm' }],
        ['oops'],
        ['complete', 'extra'],
        ['next'],
        ['error'],
      ]) {
        let fed: Fed | undefined;
        const frames = [
          [1, 1, 'payload', 'body'],
          [4, 1, ...part],
        ];
        expect(await unhandledDuring(() => void (fed = feedLayer(bodies, frames)))).to.deep.equal([]);
        expect(ProtocolError.is(fed!.error), String(fed!.error)).to.equal(true);
        expect((fed!.error as Error).message, JSON.stringify(part)).to.contain('malformed body part');
      }
    });

    it('property (v2): heads with a body and body parts, well-formed or bent, end in frames or a ProtocolError', async () => {
      // Odd ids hand body$ back as the response; even ones never read it, so chunks wait and
      // overflow the small caps.
      const bodies = (source: Observable<TransportEvent>) =>
        source.pipe(
          serveRequests((_payload, { id, body$ }) => (id % 2 === 0 ? NEVER : body$), {
            maxBodyChunks: 2,
            maxBodyBytes: 64,
          }),
        );
      const id = fc.integer({ min: 1, max: 3 });
      const envelopes = fc.oneof(
        fc.tuple(fc.constant(1), id, oddValue, fc.constant('body')),
        fc.tuple(fc.constant(1), id, oddValue),
        fc.tuple(fc.constant(4), id, fc.constant('next'), oddValue),
        fc.tuple(fc.constant(4), id, fc.constant('complete')),
        fc.tuple(fc.constant(4), id, fc.constant('error'), fc.constant({ name: 'E', message: 'm' })),
        fc.tuple(fc.constant(4), id, fc.constantFrom('next', 'complete', 'error', 'body'), oddValue),
        fc.tuple(fc.constant(3), id),
      );
      // Runs of well-formed frames too: a head, then parts of the same request.
      const part = fc.oneof(
        fc.tuple(fc.constant('next'), oddValue),
        fc.constant(['complete']),
        fc.constant(['error', { name: 'E', message: 'm' }]),
      );
      const request = fc
        .tuple(id, oddValue, fc.array(part, { maxLength: 5 }))
        .map(([n, payload, parts]) => [[1, n, payload, 'body'], ...parts.map((p) => [4, n, ...p])]);
      const conversation = fc
        .array(
          fc.oneof(
            peerFrame(envelopes).map((frame) => [frame]),
            request,
          ),
          { maxLength: 5 },
        )
        .map((runs) => runs.flat());
      const outcomes = new Set<string>();
      await fc.assert(
        fc.asyncProperty(conversation, async (frames) => {
          let fed: Fed | undefined;
          expect(await unhandledDuring(() => void (fed = feedLayer(bodies, frames)))).to.deep.equal([]);
          for (const type of fed!.types) expect(type).to.be.oneOf(['connected', 'frame']);
          if (fed!.error !== undefined) {
            expect(ProtocolError.is(fed!.error), String(fed!.error)).to.equal(true);
            outcomes.add('protocol error');
          }
          for (const sent of fed!.link.sent as unknown[][]) {
            outcomes.add(
              `${String(sent[2])}${sent[2] === 'error' ? `:${(sent[3] as RemoteError).name}` : ''}`,
            );
          }
        }),
        {
          numRuns: 500,
          // Besides the random runs, one that reaches each path for sure.
          examples: [
            [
              [
                [1, 1, 'p', 'body'],
                [4, 1, 'next', 'a'],
                [4, 1, 'complete'],
              ],
            ],
            [
              [
                [1, 2, 'p', 'body'],
                [4, 2, 'next', 'a'],
                [4, 2, 'next', 'b'],
                [4, 2, 'next', 'c'],
              ],
            ],
            [
              [
                [1, 1, 'p', 'body'],
                [4, 1, 'complete'],
                [4, 1, 'complete'],
              ],
            ],
          ],
        },
      );
      // The runs reached the paths that matter: bodies answered, overflowed, refused.
      expect([...outcomes]).to.include.members([
        'protocol error',
        'next',
        'complete',
        'error:RequestBodyOverflowError',
      ]);
    });
  });
});
