// The requests layer's send buffer where a full link and a streamed body meet: order, the caps'
// counts, what a refused frame becomes, and what a broken connection says of a body's last part.
import { expect } from 'chai';
import {
  EncodeError,
  memory,
  SendBufferFullError,
  type AmbiguousOutcomeError,
  type MemoryPair,
  type RequestTimeoutError,
} from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';
import { EMPTY, mergeMap, NEVER, Subject, type Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { newTestScheduler } from '../../operators/support.js';
import { byHand, clientOn, serveOn } from './support.js';

/** A server that only reads: each frame that reached it, as JSON, with its time. */
function reader(pair: MemoryPair, testScheduler: TestScheduler, received: string[]): Subscription {
  return pair.server
    .pipe(mergeMap((event) => (event.type === 'connection' ? event.connection : EMPTY)))
    .subscribe((event) => {
      if (event.type === 'frame') received.push(`${JSON.stringify(event.frame)}@${testScheduler.now()}`);
    });
}

function cleanup(testScheduler: TestScheduler, at: number, ...subscriptions: { unsubscribe(): void }[]) {
  testScheduler.schedule(() => subscriptions.forEach((s) => s.unsubscribe()), at);
}

/**
 * Runs `act` at 2 ms on a client over `pair` (made with `options`), whose server only reads, and
 * returns what reached the server, as {@link reader} writes it; everything ends at 20 ms.
 */
function framesReceived(
  options: Parameters<typeof memory>[0],
  act: (link: ReturnType<typeof clientOn>['link'], testScheduler: TestScheduler) => void,
): string[] {
  const testScheduler = newTestScheduler();
  const received: string[] = [];
  testScheduler.run(() => {
    const pair = memory(options);
    const server = reader(pair, testScheduler, received);
    const { link, subscription } = clientOn(pair);
    testScheduler.schedule(() => act(link, testScheduler), 2);
    cleanup(testScheduler, 20, subscription, server);
  });
  return received;
}

/** A link of 70 bytes at most, asking to wait from 30: 60 bytes of `a` leave room for 9 more. */
const SMALL = { latency: 1, maxFrameBytes: 64, highWaterMark: 30, maxBufferedBytes: 70 } as const;
const A = 'a'.repeat(52);

describe('cancelPending: the send buffer', () => {
  it('a request asked while a frame waits for the full link goes after it, though its head would fit', () => {
    const received = framesReceived(SMALL, (link) => {
      link.send(A);
      // 12 bytes: more than the 10 left; the head, 9 bytes, would fit.
      link.send('b'.repeat(6));
      link.request('r').subscribe({ error: () => undefined });
    });
    expect(received).to.deep.equal([`[0,"${A}"]@3`, '[0,"bbbbbb"]@4', '[1,1,"r"]@4']);
  });

  it('a queued message the link then refuses as too large fails the stream: its sender is gone, it is not dropped', () => {
    const testScheduler = newTestScheduler();
    const events: string[] = [];
    testScheduler.run(() => {
      const pair = memory(SMALL);
      const server = serveOn(pair, () => NEVER).subscribe();
      const { link, subscription } = clientOn(pair, { events });
      testScheduler.schedule(() => {
        link.send(A);
        // The first waits for room; the second, over maxFrameBytes, waits behind it.
        link.send('b'.repeat(6));
        link.send('x'.repeat(100));
      }, 2);
      cleanup(testScheduler, 20, subscription, server);
    });
    expect(events).to.deep.equal(['connected', 'error:EncodeError']);
  });

  it('a body whose head the link took while asking to wait starts once the link drains', () => {
    const body = new Subject<string>();
    const received = framesReceived(SMALL, (link, testScheduler) => {
      link.send('a'.repeat(40));
      link.request('r', { body }).subscribe({ error: () => undefined });
      body.next('x');
      testScheduler.schedule(() => body.next('y'), 3);
    });
    // 'x' came before the drain (3): the body was not subscribed yet, so it is not sent.
    expect(received).to.deep.equal([`[0,"${'a'.repeat(40)}"]@3`, '[1,1,"r","body"]@3', '[4,1,"next","y"]@6']);
  });

  it('a request cancelled while its body runs sends the cancel and nothing more of its body', () => {
    const body = new Subject<string>();
    const received = framesReceived({ latency: 1 }, (link, testScheduler) => {
      const request = link.request('r', { body }).subscribe({ error: () => undefined });
      body.next('x');
      testScheduler.schedule(() => request.unsubscribe(), 2);
    });
    expect(received).to.deep.equal(['[1,1,"r","body"]@3', '[4,1,"next","x"]@3', '[3,1]@5']);
  });

  it("a body's error waiting for the full link is not counted by the caps, as its end is not", () => {
    const testScheduler = newTestScheduler();
    const log: string[] = [];
    testScheduler.run(() => {
      const pair = memory(SMALL);
      const server = serveOn(pair, () => NEVER).subscribe();
      const { link, subscription } = clientOn(pair);
      const body = new Subject<string>();
      testScheduler.schedule(() => {
        link.request('up', { body }).subscribe({ error: () => undefined });
        link.send(A);
        body.next('c');
        body.error(new Error('gone'));
        log.push(`queued ${link.queued}`);
      }, 2);
      cleanup(testScheduler, 20, subscription, server);
    });
    expect(log).to.deep.equal(['queued 2']);
  });

  it("a broken connection says a body's request confirmed only when its last part handed was", () => {
    const confirmed: boolean[] = [];
    // With a stall from 4, 'y' (handed at 4) is held; without, it is written and confirmed.
    for (const stall of [true, false]) {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold }) => {
        const pair = memory({ latency: 1 });
        const server = serveOn(pair, () => NEVER).subscribe();
        const { link, subscription } = clientOn(pair);
        const body = new Subject<string>();
        if (stall) cold('4ms x').subscribe(() => pair.faults.stall());
        cold('6ms x').subscribe(() => pair.faults.cut());
        cold('7ms x').subscribe(() => pair.faults.resume());
        testScheduler.schedule(() => {
          link.request('r', { body }).subscribe({
            error: (e: AmbiguousOutcomeError) => confirmed.push(e.confirmed ?? (e.name as never)),
          });
          body.next('x');
        }, 2);
        testScheduler.schedule(() => body.next('y'), 4);
        cleanup(testScheduler, 30, subscription, server);
      });
    }
    expect(confirmed).to.deep.equal([false, true]);
  });

  it("a request settled while its body's parts wait drops only its own: another body's go on", () => {
    const log: string[] = [];
    const [one, two] = [new Subject<string>(), new Subject<string>()];
    const received = framesReceived(SMALL, (link) => {
      const first = link.request('p', { body: one }).subscribe({ error: () => undefined });
      link.request('q', { body: two }).subscribe({ error: () => undefined });
      link.send('a'.repeat(40));
      // The link is full: the parts wait, in order.
      one.next('1'.repeat(30));
      two.next('2'.repeat(30));
      two.complete();
      log.push(`queued ${link.queued}`);
      first.unsubscribe();
      log.push(`queued ${link.queued}`);
    });
    expect(log).to.deep.equal(['queued 3', 'queued 2']);
    // The cancel fits where the message did not: it goes first (a cancel waits for nothing).
    expect(received.map((frame) => frame.replace(/"(.)\1{9,}"/, '"$1…"'))).to.deep.equal([
      '[1,1,"p","body"]@3',
      '[1,2,"q","body"]@3',
      '[3,1]@3',
      '[0,"a…"]@4',
      '[4,2,"next","2…"]@5',
      '[4,2,"complete"]@5',
    ]);
  });
});

/** How a {@link ScriptedLink} answers a send: taken, refused by a full link, taken past its mark, or too large. */
type Answer = 'ok' | 'full' | 'wait' | 'too-large';

/** A RecordingLink whose next sends answer as scripted, then as a RecordingLink does. */
class ScriptedLink extends RecordingLink<unknown> {
  readonly #answers: Answer[];

  constructor(...answers: Answer[]) {
    super();
    this.#answers = answers;
  }

  override send(frame: unknown): boolean {
    const answer = this.#answers.shift();
    if (answer === 'full') throw new SendBufferFullError('full', { bufferedBytes: 0, limit: 0 });
    if (answer === 'too-large') throw new EncodeError('too large');
    return super.send(frame) && answer !== 'wait';
  }
}

describe('cancelPending: the send buffer, driven by hand', () => {
  it('close() hands back a queued message the link took while asking to wait no more, and one it refused', () => {
    for (const [answer, unsent, sent] of [
      ['wait', [], [[0, 'm']]],
      ['too-large', ['m'], []],
    ] as const) {
      const { source, link, subscription } = byHand();
      const inner = new ScriptedLink('full', answer);
      source.next({ type: 'connected', link: inner });
      expect(link.send('m')).to.equal(false);
      link.close();
      expect([link.unsent, inner.sent]).to.deep.equal([unsent, sent]);
      subscription.unsubscribe();
    }
  });

  it('drain$ emits when a message queued while no link was there has gone to the next one', () => {
    const { source, link, subscription } = byHand();
    const drains: number[] = [];
    link.drain$.subscribe(() => drains.push(link.queued));
    expect(link.send('m')).to.equal(false);
    const inner = new RecordingLink();
    source.next({ type: 'connected', link: inner });
    expect([inner.sent, drains]).to.deep.equal([[[0, 'm']], [0]]);
    subscription.unsubscribe();
  });

  it('the bytes of queued messages that left count no more: the queue fills up to maxQueuedBytes again', () => {
    const { source, link, error, subscription } = byHand({ maxQueuedBytes: 22 });
    for (const inner of [new RecordingLink(), new RecordingLink()]) {
      // 11 bytes each: the two fill the queue, which the next link empties.
      expect([link.send('a'.repeat(10)), link.send('b'.repeat(10))]).to.deep.equal([false, false]);
      source.next({ type: 'connected', link: inner });
      expect(inner.sent).to.have.length(2);
      inner.end();
      source.next({ type: 'disconnected' } as never);
    }
    expect(error()).to.equal(undefined);
    subscription.unsubscribe();
  });

  it('a cancel its closing link refused is not sent on the next connection, which never had the request', () => {
    const { source, link, subscription } = byHand();
    const [first, second] = [new RecordingLink(), new RecordingLink()];
    source.next({ type: 'connected', link: first });
    const request = link.request('s').subscribe({ error: () => undefined });
    first.end();
    request.unsubscribe();
    source.next({ type: 'connected', link: second });
    expect(second.sent).to.deep.equal([]);
    subscription.unsubscribe();
  });

  it('a request sent again after a break goes before the messages queued during it', () => {
    const { source, link, subscription } = byHand();
    const [first, second] = [new RecordingLink(), new RecordingLink()];
    source.next({ type: 'connected', link: first });
    link.request('r', { idempotent: true }).subscribe({ error: () => undefined });
    first.end();
    link.send('m');
    source.next({ type: 'connected', link: second });
    expect(second.sent).to.deep.equal([
      [1, 1, 'r'],
      [0, 'm'],
    ]);
    subscription.unsubscribe();
  });

  it("close() hands back only messages: not a waiting cancel, nor a body's waiting parts", () => {
    for (const body of [undefined, new Subject<string>()]) {
      const { source, link, subscription } = byHand();
      // The head goes; the cancel, or the body's part, finds the link full.
      const inner = new ScriptedLink('ok', 'full');
      source.next({ type: 'connected', link: inner });
      const request = link.request('r', body ? { body } : {}).subscribe({ error: () => undefined });
      if (body) body.next('x');
      else request.unsubscribe();
      link.close();
      expect(link.unsent).to.deep.equal([]);
      expect(inner.sent.every((frame) => (frame as unknown[])[0] !== 0)).to.equal(true);
      subscription.unsubscribe();
    }
  });

  it('a request that timed out says after how long, and which it was', () => {
    const testScheduler = newTestScheduler();
    const errors: unknown[] = [];
    testScheduler.run(() => {
      const { source, link, subscription } = byHand({ scheduler: testScheduler });
      source.next({ type: 'connected', link: new RecordingLink() });
      link.request('r', { timeout: 10 }).subscribe({ error: (e: RequestTimeoutError) => errors.push(e) });
      cleanup(testScheduler, 20, subscription);
    });
    expect(errors).to.have.length(1);
    expect(errors[0]).to.deep.include({ name: 'RequestTimeoutError', id: 1, timeout: 10 });
    expect(String(errors[0])).to.match(/within 10 ms/);
  });
});
