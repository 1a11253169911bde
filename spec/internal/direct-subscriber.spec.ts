import { expect } from 'chai';
import { Observable, Subject, Subscription, mergeMap, of } from 'rxjs';
import { DirectSubscriber } from '../../lib/internal/direct-subscriber.js';
import { newTestScheduler } from '../operators/support.js';

/** Records what it hears, as `n:value`, `e:error`, `c`, and `u` when it ends. */
class Recorder<T> extends DirectSubscriber<T> {
  readonly heard: string[] = [];

  listen(source: Observable<T>): this {
    this.subscribeTo(source);
    return this;
  }

  protected onNext(value: T): void {
    this.heard.push(`n:${String(value)}`);
  }

  protected onError(error: unknown): void {
    this.heard.push(`e:${String(error)}`);
  }

  protected onComplete(): void {
    this.heard.push('c');
  }

  protected override onUnsubscribe(): void {
    this.heard.push('u');
  }
}

describe('DirectSubscriber', () => {
  it('RxJS subscribes it as it is: no SafeSubscriber around it, the source handed it itself', () => {
    const recorder = new Recorder<number>();
    let given: unknown;
    const source = new Observable<number>((subscriber) => {
      given = subscriber;
    });
    // If RxJS ever wraps it, each per-connection layer costs a SafeSubscriber and a finalizer array again.
    expect(source.subscribe(recorder)).to.equal(recorder);
    expect(given).to.equal(recorder);
  });

  it('unsubscribes its source when it is unsubscribed, and when the source ends', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectSubscriptions }) => {
      // prettier-ignore
      const quiet =  cold('-a-b-c-d-');
      const failing = cold('-a-#');
      const ending = cold('-a-|');
      const subs = '       ^---!';
      const failed = '     ^--!';
      const ended = '      ^--!';
      const early = new Recorder<string>().listen(quiet);
      testScheduler.schedule(() => early.unsubscribe(), 4);
      new Recorder<string>().listen(failing);
      new Recorder<string>().listen(ending);
      expectSubscriptions(quiet.subscriptions).toBe(subs);
      expectSubscriptions(failing.subscriptions).toBe(failed);
      expectSubscriptions(ending.subscriptions).toBe(ended);
    });
  });

  it('delivers nothing after error, complete or unsubscribe; its handler runs before the teardown', () => {
    const order: string[] = [];
    const subject = new Subject<number>();
    const recorder = new Recorder<number>();
    recorder.add(() => order.push(`teardown after ${recorder.heard.join(' ')}`));
    subject.subscribe(recorder);
    subject.next(1);
    recorder.error('boom');
    recorder.next(2);
    recorder.complete();
    expect(recorder.heard).to.deep.equal(['n:1', 'e:boom', 'u']);
    expect(order).to.deep.equal(['teardown after n:1 e:boom u']);
    expect(recorder.closed).to.equal(true);
    expect(subject.observed).to.equal(false);
  });

  it('runs a teardown added once closed at once, and every teardown though one throws', () => {
    const ran: string[] = [];
    const recorder = new Recorder<number>();
    recorder.add(() => ran.push('first'));
    recorder.add(() => {
      throw new Error('second');
    });
    recorder.add(new Subscription(() => ran.push('third')));
    expect(() => recorder.unsubscribe()).to.throw('second');
    expect(ran).to.deep.equal(['first', 'third']);
    recorder.add(() => ran.push('late'));
    expect(ran).to.deep.equal(['first', 'third', 'late']);
    recorder.unsubscribe(); // once only
    expect(ran).to.have.length(3);
  });

  it('remove takes a teardown back', () => {
    const ran: string[] = [];
    const recorder = new Recorder<number>();
    const first = () => ran.push('first');
    const second = () => ran.push('second');
    recorder.add(first);
    recorder.add(second);
    recorder.remove(first);
    recorder.remove(second);
    recorder.unsubscribe();
    expect(ran).to.deep.equal([]);
  });

  it('does not grow without bound under a source that adds many short subscriptions (mergeMap)', () => {
    const outer = new Subject<number>();
    const recorder = new Recorder<number>().listen(outer.pipe(mergeMap((n) => of(n))));
    for (let i = 0; i < 10_000; i++) outer.next(i);
    expect(recorder.heard).to.have.length(10_000);
    // Each inner subscription was added to the recorder and closed at once: swept, not kept.
    const more = (recorder as unknown as { more?: unknown[] }).more ?? [];
    expect(more.length).to.be.below(16);
    recorder.unsubscribe();
    expect(outer.observed).to.equal(false);
  });

  it('works when an RxJS wraps it after all: the returned subscription is kept as its teardown', () => {
    const recorder = new Recorder<number>();
    let unsubscribed = false;
    const wrapping = {
      subscribe: (observer: Recorder<number>) => {
        observer.next(1);
        return new Subscription(() => (unsubscribed = true));
      },
    } as unknown as Observable<number>;
    recorder.listen(wrapping);
    recorder.unsubscribe();
    expect(recorder.heard).to.deep.equal(['n:1', 'u']);
    expect(unsubscribed).to.equal(true);
  });
});
