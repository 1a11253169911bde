/**
 * What both sides of the handshake share: one subscription of the operator, holding the source's
 * subscription, the deadline and the link, and ending once.
 * @internal
 * @packageDocumentation
 */
import {
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
  type Unsubscribable,
} from 'rxjs';
import type { Link, TransportEvent } from '../../core/transport.js';
import { DueTimer } from '../../internal/due-timer.js';

type Events = TransportEvent<unknown, unknown>;

/**
 * One subscription of a handshake operator, in its own states until it has ended. It is its
 * source's observer and its own teardown, so an open connection holds this object and no closures.
 * @internal
 */
export abstract class HandshakeSide<State extends string> implements Unsubscribable {
  protected state: State | 'ended';
  protected link: Link<unknown> | undefined;
  protected readonly deadline: DueTimer;
  private source: Subscription | undefined;

  constructor(
    protected readonly subscriber: Subscriber<Events>,
    scheduler: SchedulerLike,
    initial: State,
  ) {
    this.state = initial;
    this.deadline = new DueTimer(scheduler);
  }

  start(source: Observable<Events>): void {
    this.onStart();
    const subscription = source.subscribe(this);
    if (this.state === 'ended') subscription.unsubscribe();
    else this.source = subscription;
  }

  stop(): void {
    this.state = 'ended';
    this.deadline.cancel();
    const source = this.source;
    this.source = undefined;
    source?.unsubscribe();
    this.onStop();
  }

  /** The teardown of the operator's subscription. */
  unsubscribe(): void {
    this.stop();
  }

  /** The source's events (this object is the source's observer). */
  next(event: Events): void {
    this.onEvent(event);
  }

  error(error: unknown): void {
    this.onError(error);
  }

  complete(): void {
    this.onComplete();
  }

  /** Fails the stream with `error`, once. */
  protected end(error: unknown): void {
    if (this.state === 'ended') return;
    this.stop();
    this.subscriber.error(error);
  }

  protected onStart(): void {}
  protected onStop(): void {}
  protected abstract onEvent(event: Events | { readonly type: string }): void;
  protected abstract onError(error: unknown): void;
  protected abstract onComplete(): void;
}

/** The operator that runs one `make(subscriber)` per subscription. @internal */
export function sideOperator<In, Out>(
  make: (subscriber: Subscriber<Events>) => HandshakeSide<string>,
): OperatorFunction<Events, TransportEvent<In, Out>> {
  return (source) =>
    new Observable<TransportEvent<In, Out>>((subscriber) => {
      const side = make(subscriber as Subscriber<Events>);
      side.start(source);
      return side;
    });
}
