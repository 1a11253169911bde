// Requests across a client crash: a process on resumable({ journal }) + cancelPending dies
// (unsubscribed, no goodbye: the journal kept as a crash leaves it) and a new stream on the same
// journal takes over the session. Ids must not collide with the dead process's, whose requests
// may still run on the server, and their responses reach the new process as outcomes.
import { expect } from 'chai';
import fc from 'fast-check';
import {
  acceptSessions,
  cancelPending,
  memory,
  memoryJournal,
  openSession,
  policy,
  RemoteError,
  reconnectWith,
  resumable,
  serveRequests,
  type MemoryPair,
  type RecoveredResponseEvent,
  type RequestHandler,
  type RequestLink,
  type RequestsRestoredEvent,
  type SessionJournal,
  sentOutcomes,
} from 'rx-lifeline';
import { concat, ignoreElements, map, mergeMap, take, throwError, timer, type Subscription } from 'rxjs';
import { newTestScheduler } from '../../operators/support.js';
import { recoveredResponse } from '../../../lib/protocol/requests/restored-requests.js';

/**
 * The server's handler: `slow` answers after 30 ms, `stream` with two values 10 ms apart, `boom`
 * fails after 30 ms, anything else at once; every call is logged as `payload#id`.
 */
function handlerLogging(calls: string[]): RequestHandler {
  return (payload, { id }) => {
    calls.push(`${String(payload)}#${id}`);
    if (payload === 'slow') return timer(30).pipe(map(() => 'slow!'));
    if (payload === 'stream')
      return timer(10, 10).pipe(
        map((n) => `s${n}`),
        take(2),
      );
    if (payload === 'boom') return timer(30).pipe(mergeMap(() => throwError(() => new RangeError('boom'))));
    return `${String(payload)}!`;
  };
}

/**
 * A session server serving `handler`; plain messages are logged in `calls` as `message:<m>`, a
 * failed session as `failed:<name>`.
 */
function serve(pair: MemoryPair, handler: RequestHandler, calls: string[]): Subscription {
  return acceptSessions(pair.server, { ackInterval: 5 })
    .pipe(mergeMap((session) => session.events$.pipe(serveRequests(handler))))
    .subscribe({
      next: (event) => {
        if (event.type === 'frame') calls.push(`message:${String((event as { frame: unknown }).frame)}`);
      },
      error: (e: Error) => calls.push(`failed:${e.name}`),
    });
}

/** Shows a client event in one short string (`restored`, `recovered`, errors); `undefined` for others. */
function shown(event: { type: string }): string | undefined {
  if (event.type === 'restored') {
    const e = event as RequestsRestoredEvent;
    const requests = e.requests.map((r) => `${r.id}:${String(r.payload)}`).join(',');
    return `restored(last ${e.lastRequestId}; ${e.state.frames.map((f) => String(f.frame)).join(',')}; [${requests}])`;
  }
  if (event.type === 'recovered-response') {
    const e = event as RecoveredResponseEvent;
    const what = e.part === 'error' ? `${e.error!.name}:${e.error!.remoteName}` : String(e.value ?? '');
    return `recovered ${e.id} ${e.part} ${what}${'payload' in e ? ` for ${String(e.payload)}` : ''}`;
  }
  return undefined;
}

/**
 * One client process on `journal`: its link, and its events shown in `log` as `t: what`;
 * `onRestored` sees the restored event first, `maxFrames` caps the replay buffer.
 */
function processOn(
  pair: MemoryPair,
  journal: SessionJournal,
  log: string[],
  now: () => number,
  options: { onRestored?: (event: RequestsRestoredEvent) => void; maxFrames?: number } = {},
): { link: RequestLink<string>; subscription: Subscription } {
  let link: RequestLink<string> | undefined;
  const caps = options.maxFrames === undefined ? {} : { maxFrames: options.maxFrames };
  const subscription = pair.transport
    .pipe(
      reconnectWith(policy.constant(10)),
      resumable({ journal, ackInterval: 5, ...caps }),
      cancelPending<string>({ timeout: Infinity }),
    )
    .subscribe({
      next: (event) => {
        if (event.type === 'request-link') link = event.link as RequestLink<string>;
        if (event.type === 'restored') options.onRestored?.(event);
        const said = shown(event);
        if (said) log.push(`${now()}: ${said}`);
      },
      error: (error: Error) => log.push(`${now()}: error ${error.name}: ${error.message}`),
    });
  return { link: link!, subscription };
}

/** Subscribes a request, logging its outcome as `t: name -> value` or `t: name !ErrorName`. */
function ask(link: RequestLink<string>, payload: string, log: string[], now: () => number): Subscription {
  return link.request<string>(payload).subscribe({
    next: (value) => log.push(`${now()}: ${payload} -> ${value}`),
    error: (error: Error) => log.push(`${now()}: ${payload} !${error.name}`),
  });
}

/** What the next process gets to start with: the shared pair and journal, the log and the clock. */
interface Restart {
  readonly pair: MemoryPair;
  readonly journal: SessionJournal;
  readonly log: string[];
  readonly now: () => number;
}

/**
 * A server, and a first process on a journal that asks for `payloads` at 5 and dies at 15 (after
 * the server acknowledged them); `restart` starts the next process at 20, and what it returns is
 * unsubscribed at 100, with the server. Returns the server's calls and the processes' log.
 */
function afterACrash(
  payloads: readonly string[],
  restart: (next: Restart) => { unsubscribe(): void },
): { calls: string[]; log: string[] } {
  const testScheduler = newTestScheduler();
  const calls: string[] = [];
  const log: string[] = [];
  const journal = memoryJournal();
  testScheduler.run(() => {
    const now = () => testScheduler.now();
    const pair = memory({ latency: 1 });
    const server = serve(pair, handlerLogging(calls), calls);
    const first = processOn(pair, journal, log, now);
    testScheduler.schedule(() => payloads.forEach((p) => ask(first.link, p, log, now)), 5);
    testScheduler.schedule(() => first.subscription.unsubscribe(), 15);
    let next: { unsubscribe(): void } | undefined;
    testScheduler.schedule(() => (next = restart({ pair, journal, log, now })), 20);
    testScheduler.schedule(() => (next?.unsubscribe(), server.unsubscribe()), 100);
  });
  return { calls, log };
}

/** The application's key in a requests-layer frame: a plain message's, or a request head's payload. */
function keyOf(frame: unknown): number | undefined {
  if (!Array.isArray(frame)) return undefined;
  const value: unknown =
    frame[0] === 0 && frame.length === 2 ? frame[1] : frame[0] === 1 ? frame[2] : undefined;
  return typeof value === 'number' ? value : undefined;
}

/** A handler answering after 30 ms, after its body (if any) ended. */
function handlerOf(): RequestHandler {
  return (payload, { body$ }) => concat(body$.pipe(ignoreElements()), timer(30)).pipe(map(() => payload));
}

describe('cancelPending over a journal: requests across a client crash', () => {
  it('a restarted process numbers its requests above the journal: no collision with a request the dead one left running, whose answer arrives as recovered-response', () => {
    // The first process asks for 'slow', 'stream' and 'boom' (ids 1 to 3) and dies at 15, after
    // the server acknowledged them (the journal no longer holds their heads). The second one starts
    // at 20 on the same journal and asks for 'fast' at once.
    const { calls, log } = afterACrash(['slow', 'stream', 'boom'], ({ pair, journal, log, now }) => {
      const second = processOn(pair, journal, log, now);
      ask(second.link, 'fast', log, now);
      return second.subscription;
    });
    // The server ran each request once, the second process's under a fresh id.
    expect(calls).to.deep.equal(['slow#1', 'stream#2', 'boom#3', 'fast#4']);
    expect(log).to.deep.equal([
      // The dead process's requests failed with it (unsubscribed), as a crash would leave them.
      '15: slow !RequestCancelledError',
      '15: stream !RequestCancelledError',
      '15: boom !RequestCancelledError',
      // Nothing pending in the journal: the three heads were acknowledged; their ids are ≤ 3.
      '20: restored(last 3; ; [])',
      // Connected at 21, resumed at 23: the server replays 's0', sent at 16 while no one was there.
      '23: recovered 2 next s0',
      // 'fast' left at 23 as request 4; the server has 1 to 3 still running and takes it.
      '25: fast -> fast!',
      '27: recovered 2 next s1',
      '27: recovered 2 complete ',
      // The slow and failing answers, at 36 on the server, are the new process's to see.
      '37: recovered 1 next slow!',
      '37: recovered 1 complete ',
      '37: recovered 3 error RemoteError:RangeError',
    ]);
  });

  it('after a restart the application accounts for each request it made: a pending one is sent again and answered as recovered-response, an unknown one it asks again', () => {
    const testScheduler = newTestScheduler();
    const calls: string[] = [];
    const log: string[] = [];
    const outcomes: string[] = [];
    const journal = memoryJournal();
    /** The application's own outbox keys, in the order it handed things over. */
    const keys: Record<string, number> = { a: 1, m: 2, b: 3 };
    testScheduler.run(() => {
      const now = () => testScheduler.now();
      const pair = memory({ latency: 1 });
      const server = serve(pair, handlerLogging(calls), calls);
      // A replay buffer of two frames: from the first on, send() says to wait.
      const first = processOn(pair, journal, log, now, { maxFrames: 2 });
      // The server goes away at 5 and comes back at 15; meanwhile the first process asks for
      // 'a', sends 'm' (both journaled, in its replay buffer), then asks for 'b', which finds the
      // buffer full and waits in cancelPending's queue, never journaled. It dies at 12.
      testScheduler.schedule(() => (pair.faults.refuse(true), pair.faults.cut()), 5);
      testScheduler.schedule(() => {
        ask(first.link, 'a', log, now);
        first.link.send('m');
        ask(first.link, 'b', log, now);
      }, 8);
      testScheduler.schedule(() => first.subscription.unsubscribe(), 12);
      testScheduler.schedule(() => pair.faults.refuse(false), 15);
      let second: ReturnType<typeof processOn> | undefined;
      testScheduler.schedule(() => {
        second = processOn(pair, journal, log, now, {
          onRestored: (event) => {
            const report = sentOutcomes(event.state, (value) => keys[String(value)]);
            for (const [name, key] of Object.entries(keys)) outcomes.push(`${name}:${report.of(key)}`);
          },
        });
        // What never reached the journal never left: asked again, as a new request.
        for (const name of Object.keys(keys)) {
          if (outcomes.includes(`${name}:unknown`)) ask(second.link, name, log, now);
        }
      }, 20);
      testScheduler.schedule(() => (second!.subscription.unsubscribe(), server.unsubscribe()), 100);
    });
    expect(outcomes).to.deep.equal(['a:pending', 'm:pending', 'b:unknown']);
    // Each ran once: 'a' under the id the first process gave it, 'b' under the second's first id.
    expect(calls).to.deep.equal(['a#1', 'message:m', 'b#3']);
    expect(log).to.deep.equal([
      '12: a !RequestCancelledError',
      '12: b !RequestCancelledError',
      // The journal's frames in the application's terms, and the request among them.
      '20: restored(last 2; a,m; [1:a])',
      // Resumed at 23: 'a' and 'm' are replayed, then 'b' leaves as request 3.
      '25: recovered 1 value a! for a',
      '25: b -> b!',
    ]);
  });

  it('property: across any number of crashes, no id serves two requests, and every request ran once and answered once, or never ran and reads unknown', () => {
    const incarnation = fc.record({
      /** Milliseconds to each answer, one request each, asked 1 ms apart from 2 ms on. */
      delays: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 5 }),
      /** When this process dies, after it started. */
      life: fc.integer({ min: 1, max: 50 }),
    });
    fc.assert(
      fc.property(fc.array(incarnation, { minLength: 1, maxLength: 4 }), (plan) => {
        const testScheduler = newTestScheduler();
        const journal = memoryJournal();
        const ranUnder = new Map<number, number>();
        const ran = new Map<number, number>();
        const answers = new Map<number, number>();
        const unknown = new Set<number>();
        const problems: string[] = [];
        let key = 0;
        const delayOf = new Map<number, number>();
        testScheduler.run(() => {
          const pair = memory({ latency: 1 });
          const handler: RequestHandler = (payload, { id }) => {
            const k = payload as number;
            ran.set(k, (ran.get(k) ?? 0) + 1);
            if (ranUnder.has(id)) problems.push(`id ${id} served ${ranUnder.get(id)} and ${k}`);
            ranUnder.set(id, k);
            return timer(delayOf.get(k)!).pipe(map(() => -k));
          };
          const server = acceptSessions(pair.server, { ackInterval: 5 })
            .pipe(mergeMap((session) => session.events$.pipe(serveRequests(handler))))
            .subscribe({ error: (e: Error) => problems.push(`server: ${e.name}: ${e.message}`) });
          const answered = (k: number) => answers.set(k, (answers.get(k) ?? 0) + 1);
          let start = 0;
          let previous: number[] = [];
          plan.forEach(({ delays, life }, index) => {
            const last = index === plan.length - 1;
            testScheduler.schedule(() => {
              let link: RequestLink<number> | undefined;
              const made: number[] = [];
              const subscription = pair.transport
                .pipe(
                  reconnectWith(policy.constant(10)),
                  resumable({ journal, ackInterval: 5 }),
                  cancelPending<number>({ timeout: Infinity }),
                )
                .subscribe({
                  next: (event) => {
                    if (event.type === 'request-link') link = event.link as RequestLink<number>;
                    else if (event.type === 'restored') {
                      const report = sentOutcomes(event.state, (v) =>
                        typeof v === 'number' ? v : undefined,
                      );
                      for (const k of previous) if (report.of(k) === 'unknown') unknown.add(k);
                    } else if (event.type === 'recovered-response' && event.part === 'next') {
                      answered(-(event.value as number));
                    }
                  },
                  error: (e: Error) => problems.push(`client ${index}: ${e.name}: ${e.message}`),
                });
              delays.forEach((delay, i) => {
                testScheduler.schedule(() => {
                  const k = ++key;
                  delayOf.set(k, delay);
                  made.push(k);
                  link!.request<number>(k).subscribe({ next: (v) => answered(-v), error: () => undefined });
                }, 2 + i);
              });
              testScheduler.schedule(
                () => {
                  // Those still waiting are the next process's to account for.
                  previous = made.filter((k) => !answers.has(k));
                  subscription.unsubscribe();
                  if (last) server.unsubscribe();
                },
                last ? 200 : life,
              );
            }, start);
            start += (last ? 200 : life) + 1;
          });
        });
        expect(problems).to.deep.equal([]);
        for (let k = 1; k <= key; k++) {
          if (unknown.has(k)) expect([k, ran.get(k) ?? 0, answers.get(k) ?? 0]).to.deep.equal([k, 0, 0]);
          else if (ran.has(k)) expect([k, ran.get(k), answers.get(k)]).to.deep.equal([k, 1, 1]);
          // Neither ran nor unknown: asked before the process connected, it died in cancelPending's queue.
          else expect(answers.has(k), `request ${k}`).to.equal(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  describe("the commitment point when the server's last acknowledged frame is the requests layer's own", () => {
    /**
     * A process that sends message 1, asks request 2 (answered after 30 ms), then does `then` at 7,
     * and dies at 20, once the server acknowledged every frame. The next process reads what became
     * of `keys` off its restored event. Returns the journal's lastSeq at the restart and the outcomes.
     */
    function crashAfter(then: (link: RequestLink<string>, slow: Subscription) => void, keys: string[]) {
      const testScheduler = newTestScheduler();
      const calls: string[] = [];
      const log: string[] = [];
      const outcomes: string[] = [];
      const journal = memoryJournal();
      let restarted: { lastSeq: number; frames: number } | undefined;
      testScheduler.run(() => {
        const now = () => testScheduler.now();
        const pair = memory({ latency: 1 });
        const server = serve(pair, handlerLogging(calls), calls);
        const first = processOn(pair, journal, log, now);
        let slow: Subscription | undefined;
        testScheduler.schedule(() => {
          first.link.send('m');
          slow = ask(first.link, 'slow', log, now);
        }, 5);
        testScheduler.schedule(() => then(first.link, slow!), 7);
        testScheduler.schedule(() => first.subscription.unsubscribe(), 20);
        testScheduler.schedule(() => {
          const state = journal.restore()!;
          restarted = { lastSeq: state.lastSeq, frames: state.frames.length };
          const second = processOn(pair, journal, log, now, {
            onRestored: (event) => {
              const report = sentOutcomes(
                event.state,
                (value) => keys.indexOf(String(value)) + 1 || undefined,
              );
              for (const key of keys) outcomes.push(`${key}:${report.of(keys.indexOf(key) + 1)}`);
            },
          });
          testScheduler.schedule(() => (second.subscription.unsubscribe(), server.unsubscribe()), 30);
        }, 25);
      });
      return { restarted, outcomes, calls };
    }

    it('a cancel: the message and the request before it read delivered', () => {
      const { restarted, outcomes, calls } = crashAfter((_, slow) => slow.unsubscribe(), ['m', 'slow']);
      // Frames 1 (m), 2 (slow) and 3 (its cancel) were all acknowledged: the cancel was the last.
      expect(restarted).to.deep.equal({ lastSeq: 3, frames: 0 });
      expect(calls).to.deep.equal(['message:m', 'slow#1']);
      expect(outcomes).to.deep.equal(['m:delivered', 'slow:delivered']);
    });

    it('a streamed body part: the message and the requests before it read delivered', () => {
      const { restarted, outcomes, calls } = crashAfter(
        (link) =>
          link.request('up', { body: timer(1, 1).pipe(take(2)) }).subscribe({ error: () => undefined }),
        ['m', 'slow', 'up'],
      );
      // 1 (m), 2 (slow), 3 (up's head), 4 and 5 (its chunks), 6 (its end): all acknowledged.
      expect(restarted).to.deep.equal({ lastSeq: 6, frames: 0 });
      expect(calls).to.deep.equal(['message:m', 'slow#1', 'up#2']);
      expect(outcomes).to.deep.equal(['m:delivered', 'slow:delivered', 'up:delivered']);
    });
  });

  it('property: messages, requests, cancels and body parts in any order, a crash at any point: what the server acknowledged reads delivered, what the journal holds pending, the rest unknown', () => {
    const action = fc.oneof(
      fc.constant({ kind: 'message' as const }),
      fc.constant({ kind: 'request' as const }),
      fc.record({ kind: fc.constant('body' as const), parts: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('cancel' as const), which: fc.nat() }),
    );
    const plan = fc.record({
      actions: fc.array(fc.record({ action, gap: fc.integer({ min: 0, max: 4 }) }), { maxLength: 12 }),
      crashAt: fc.integer({ min: 2, max: 60 }),
    });
    fc.assert(
      fc.property(plan, ({ actions, crashAt }) => {
        const testScheduler = newTestScheduler();
        const base = memoryJournal();
        /** The seq each key was journaled under (a message, or a request's head). */
        const seqOf = new Map<number, number>();
        const journal: SessionJournal = {
          ...base,
          sent(seq, frame) {
            base.sent(seq, frame);
            const key = keyOf(frame);
            if (key !== undefined) seqOf.set(key, seq);
          },
        };
        const problems: string[] = [];
        let keys = 0;
        /** Requests the application withdrew: one that never left has no outcome to tell. */
        const cancelled = new Set<number>();
        let outcomes: ReturnType<typeof sentOutcomes> | undefined;
        let state: ReturnType<SessionJournal['restore']>;
        testScheduler.run(() => {
          const pair = memory({ latency: 1 });
          const server = serve(pair, handlerOf(), []);
          const log: string[] = [];
          const now = () => testScheduler.now();
          const first = processOn(pair, journal, log, now);
          const running: Subscription[] = [];
          /** The key of each request, in the order of `running`. */
          const requests: number[] = [];
          let at = 2;
          for (const { action, gap } of actions) {
            at += gap;
            if (at >= crashAt) break;
            testScheduler.schedule(() => {
              const link = first.link as unknown as RequestLink<number>;
              if (action.kind === 'message') link.send(++keys);
              else if (action.kind === 'cancel') {
                const which = action.which % Math.max(1, running.length);
                running[which]?.unsubscribe();
                if (requests[which] !== undefined) cancelled.add(requests[which]);
              } else {
                const body = action.kind === 'body' ? { body: timer(0, 1).pipe(take(action.parts)) } : {};
                running.push(link.request(++keys, body).subscribe({ error: () => undefined }));
                requests.push(keys);
              }
            }, at);
          }
          testScheduler.schedule(() => {
            first.subscription.unsubscribe();
            state = journal.restore();
            const second = processOn(pair, journal, log, now, {
              onRestored: (event) =>
                (outcomes = sentOutcomes(event.state, (v) => (typeof v === 'number' ? v : undefined))),
            });
            testScheduler.schedule(() => (second.subscription.unsubscribe(), server.unsubscribe()), 40);
          }, crashAt);
          testScheduler.schedule(
            () => log.forEach((line) => line.includes('error') && problems.push(line)),
            crashAt + 50,
          );
        });
        expect(problems).to.deep.equal([]);
        const pendingSeqs = new Set(state?.frames.map((f) => f.seq));
        for (let key = 1; key <= keys; key++) {
          const seq = seqOf.get(key);
          if (seq === undefined && cancelled.has(key)) continue;
          const expected = seq === undefined ? 'unknown' : pendingSeqs.has(seq) ? 'pending' : 'delivered';
          expect([key, outcomes?.of(key) ?? 'unknown']).to.deep.equal([key, expected]);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("openSession: restored$ replays what the journal restored to a later subscriber, recovered$ carries the dead process's answers", () => {
    const { calls, log } = afterACrash(['slow'], ({ pair, journal, log, now }) => {
      const session = openSession(
        pair.transport.pipe(
          reconnectWith(policy.constant(10)),
          resumable({ journal, ackInterval: 5 }),
          cancelPending<string>({ timeout: Infinity }),
        ),
      );
      // Subscribed after openSession returned: the restored event, emitted while it subscribed, is replayed.
      session.restored$.subscribe((event) => log.push(`${now()}: ${shown(event)!}`));
      session.recovered$.subscribe((event) => log.push(`${now()}: ${shown(event)!}`));
      return { unsubscribe: () => session.close() };
    });
    expect(calls).to.deep.equal(['slow#1']);
    expect(log).to.deep.equal([
      '15: slow !RequestCancelledError',
      '20: restored(last 1; ; [])',
      '37: recovered 1 next slow!',
      '37: recovered 1 complete ',
    ]);
  });
});

describe('recoveredResponse', () => {
  it('carries the value of next and value, the error of error, and neither for complete; the payload while it is known', () => {
    const error = new RemoteError('no', { id: 3, remoteName: 'Error' });
    const payloads = new Map<number, unknown>([[3, 'p']]);
    const parts = [
      recoveredResponse({ id: 3, part: 'next', value: 'v', error: undefined }, payloads),
      recoveredResponse({ id: 3, part: 'complete', value: undefined, error: undefined }, payloads),
      recoveredResponse({ id: 3, part: 'value', value: 'w', error: undefined }, payloads),
      recoveredResponse({ id: 3, part: 'error', value: undefined, error }, new Map([[3, 'q']])),
    ];
    expect(parts).to.deep.equal([
      { type: 'recovered-response', id: 3, part: 'next', value: 'v', payload: 'p' },
      { type: 'recovered-response', id: 3, part: 'complete', payload: 'p' },
      { type: 'recovered-response', id: 3, part: 'value', value: 'w' },
      { type: 'recovered-response', id: 3, part: 'error', error, payload: 'q' },
    ]);
    expect(parts[3]!.error).to.equal(error);
  });
});
