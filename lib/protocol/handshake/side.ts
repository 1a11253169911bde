/**
 * What both sides of the handshake share: one subscription of the operator, holding the source's
 * subscription, the deadline and the link, and ending once.
 * @internal
 * @packageDocumentation
 */
import { Observable, type OperatorFunction, type SchedulerLike, type Subscriber } from 'rxjs';
import type { Link, TransportEvent } from '../../core/transport.js';
import { DirectSubscriber } from '../../internal/direct-subscriber.js';
import { DueTimer } from '../../internal/due-timer.js';

type Events = TransportEvent<unknown, unknown>;

/**
 * One subscription of a handshake operator, in its own states until it has ended. It is its
 * source's subscriber and its own teardown, so an open connection holds this object and no closures.
 * @internal
 */
export abstract class HandshakeSide<
  State extends string,
  Settings extends { readonly scheduler: SchedulerLike },
> extends DirectSubscriber<Events> {
  protected state: State | 'ended';
  protected link: Link<unknown> | undefined;
  /** While the handshake runs: an open connection holds no timer. */
  private deadline: DueTimer | undefined;

  constructor(
    protected readonly subscriber: Subscriber<Events>,
    /** Shared by every connection of the operator: the scheduler and the side's own settings. */
    protected readonly settings: Settings,
    initial: State,
  ) {
    super();
    this.state = initial;
  }

  /** Runs `work` in `delay` ms unless the deadline is cancelled first. */
  protected setDeadline(delay: number, work: () => void): void {
    (this.deadline ??= new DueTimer(this.settings.scheduler)).setIn(delay, work);
  }

  protected cancelDeadline(): void {
    this.deadline?.cancel();
    this.deadline = undefined;
  }

  start(source: Observable<Events>): void {
    this.onStart();
    this.subscribeTo(source);
  }

  /** Ends this side: the deadline is cancelled and the source unsubscribed. */
  stop(): void {
    this.unsubscribe();
  }

  protected override onUnsubscribe(): void {
    this.state = 'ended';
    this.cancelDeadline();
    this.onStop();
  }

  /** Fails the stream with `error`, once. */
  protected end(error: unknown): void {
    if (this.state === 'ended') return;
    this.stop();
    this.subscriber.error(error);
  }

  protected onStart(): void {}
  protected onStop(): void {}
}

/** The operator that runs one `make(subscriber)` per subscription. @internal */
export function sideOperator<In, Out>(
  make: (subscriber: Subscriber<Events>) => HandshakeSide<string, { readonly scheduler: SchedulerLike }>,
): OperatorFunction<Events, TransportEvent<In, Out>> {
  return (source) =>
    new Observable<TransportEvent<In, Out>>((subscriber) => {
      const side = make(subscriber as Subscriber<Events>);
      side.start(source);
      return side;
    });
}
