import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscriber,
  type Unsubscribable,
} from 'rxjs';
import { ConnectionError } from '../../core/errors.js';
import type { Link, TransportEvent } from '../../core/transport.js';
import { DirectSubscriber } from '../../internal/direct-subscriber.js';
import { LayerLink } from '../../internal/layer-link.js';
import { timerQueueOf, type TimerEntry, type TimerQueue } from '../../internal/timer-queue.js';
import {
  asLayerError,
  layerProtocolError,
  notAnEnvelope as notAnEnvelopeOf,
} from '../../internal/peer-input.js';
import {
  checkKnownOptions,
  checkNumber,
  checkScheduler,
  describe,
  type KnownOptions,
  POSITIVE_DURATION,
} from '../../internal/validate.js';
import { unlisted } from '../handshake/layers.js';

/** Envelope kinds of the heartbeat layer (docs/PROTOCOL.md, "Heartbeat layer"). */
const DATA = 0;
const PING = 1;
const PONG = 2;

/**
 * A round-trip sample from a ping and its pong, NTP-style: `rtt` excludes the time the peer held
 * the ping, and `clockOffset` estimates how far the peer's clock (its scheduler's `now()`) is
 * ahead of this side's, assuming the two legs took equally long.
 *
 * @example
 * ```ts
 * import type { HeartbeatEvent } from 'rx-lifeline';
 * const show = (e: HeartbeatEvent) => `rtt ${e.rtt} ms, peer clock ${e.clockOffset >= 0 ? '+' : ''}${e.clockOffset} ms`;
 * ```
 * @category Operators
 */
export interface HeartbeatEvent {
  readonly type: 'heartbeat';
  /** Round-trip time in milliseconds: `(t3 - t0) - (t2 - t1)`. */
  readonly rtt: number;
  /** The peer's clock minus this side's, in milliseconds: `((t1 - t0) + (t2 - t3)) / 2`. */
  readonly clockOffset: number;
  /** When the pong arrived (`scheduler.now()`). */
  readonly at: number;
}

/**
 * Options of {@link heartbeat}.
 *
 * @example
 * ```ts
 * import type { HeartbeatConfig } from 'rx-lifeline';
 * const config: HeartbeatConfig = { interval: 5_000, timeout: 15_000 };
 * ```
 * @category Operators
 */
export interface HeartbeatConfig {
  /**
   * Milliseconds without an inbound frame after which a ping is sent, and between pings while the
   * silence lasts. Inbound frames of any kind count as life; outbound traffic does not.
   * @default 5_000
   */
  interval?: number;
  /**
   * Milliseconds without any inbound frame after which the connection is declared dead: the
   * stream errors with {@link HeartbeatTimeoutError} and the socket is closed. Must exceed
   * `interval`.
   * @default 15_000
   */
  timeout?: number;
  /**
   * Runs the ping and timeout timers and reads the clock for the samples.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

const CONFIG: KnownOptions<HeartbeatConfig> = { interval: true, timeout: true, scheduler: true };

/**
 * No frame arrived for `timeout` milliseconds: the connection is half-open (the peer vanished
 * without a FIN) or hopelessly stalled. It is a {@link ConnectionError} in the `'read'` phase, so
 * policies retry it.
 *
 * @example
 * ```ts
 * import { HeartbeatTimeoutError } from 'rx-lifeline';
 * const silence = (e: unknown) => (HeartbeatTimeoutError.is(e) ? e.silentFor : 0);
 * ```
 * @category Operators
 */
export class HeartbeatTimeoutError extends ConnectionError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'HeartbeatTimeoutError';

  /** How long the connection had been silent, in milliseconds. */
  declare readonly silentFor: number;

  constructor(message: string, options: { silentFor: number; link: Link<unknown> | undefined }) {
    super(message, {
      phase: 'read',
      code: 'ETIMEDOUT',
      write: options.link?.writeReport(),
    });
    this.silentFor = options.silentFor;
  }
}

/**
 * Keeps one connection honest (per connection: pipe it before {@link reconnectWith}). While no
 * frame arrives for `interval` ms it pings; when nothing at all arrives for `timeout` ms it errors
 * with {@link HeartbeatTimeoutError} and closes the socket, so `reconnectWith` dials again. It
 * answers the peer's pings by itself, and emits a {@link HeartbeatEvent} with the round-trip time
 * and the peer's clock offset for each pong.
 *
 * It is a protocol layer: application frames travel as `[0, frame]`, pings as `[1, id, t0]`,
 * pongs as `[2, id, t0, t1, t2]` (docs/PROTOCOL.md). Both ends must pipe it — on a server, pipe
 * each accepted connection through `heartbeat()` — and a frame that is not a heartbeat envelope is
 * a {@link ProtocolError}, so a peer without it fails loudly. It does not resend anything, and it
 * does not keep an idle connection open on its own (a peer's idle timeout still applies).
 *
 * @example
 * ```ts
 * import { heartbeat, memory, policy, reconnectWith } from 'rx-lifeline';
 * const endpoint = memory();
 * const session = endpoint.transport.pipe(
 *   heartbeat<string>({ interval: 5_000, timeout: 15_000 }),
 *   reconnectWith(policy.exponential({ initial: 100, max: 10_000 })),
 * );
 * const sub = session.subscribe({
 *   next: (event) => {
 *     if (event.type === 'heartbeat') console.log(`rtt ${event.rtt} ms`);
 *   },
 *   // The policy gave up (GaveUpError, with the last HeartbeatTimeoutError as its cause).
 *   error: (error: unknown) => console.error('connection lost for good', error),
 * });
 * sub.unsubscribe();
 * ```
 * @category Operators
 */
export function heartbeat<In = unknown, Out = In>(
  config: HeartbeatConfig = {},
): OperatorFunction<TransportEvent<unknown, unknown>, TransportEvent<In, Out> | HeartbeatEvent> {
  checkKnownOptions('heartbeat', config, CONFIG);
  const { interval = 5_000, timeout = 15_000, scheduler = asyncScheduler } = config;
  checkNumber('heartbeat', 'interval', interval, POSITIVE_DURATION);
  if (!(Number.isFinite(timeout) && timeout > interval)) {
    throw new TypeError(
      `heartbeat: timeout must be a finite number above interval (${interval}), got ${describe(timeout)}`,
    );
  }

  checkScheduler('heartbeat', scheduler);
  const settings: HeartbeatSettings = {
    interval,
    timeout,
    scheduler,
    timers: timerQueueOf(scheduler),
    origin: scheduler.now(),
  };
  return (source) =>
    new Observable<TransportEvent<In, Out> | HeartbeatEvent>((subscriber) =>
      new HeartbeatRun<In, Out>(subscriber, settings).start(source),
    );
}

interface HeartbeatSettings {
  readonly interval: number;
  readonly timeout: number;
  readonly scheduler: SchedulerLike;
  /** The scheduler's one timer queue: a connection holds a place in it, not a timer of its own. */
  readonly timers: TimerQueue;
  /**
   * The scheduler's clock when `heartbeat()` was called: a run keeps its times from it. They are
   * small integers for 24 days of milliseconds, which V8 keeps in the object itself; a time as
   * `Date.now()` reads it would take a number object of its own per field and connection.
   */
  readonly origin: number;
}

/** Wraps an application frame in the heartbeat's data envelope. */
const wrapData = (frame: unknown): unknown[] => [DATA, frame];

/**
 * One subscription of {@link heartbeat}: the observer of its source, and its timer's entry in the
 * scheduler's {@link TimerQueue}. A class rather than closures: an idle connection holds one object.
 */
class HeartbeatRun<In, Out> extends DirectSubscriber<TransportEvent<unknown, unknown>> implements TimerEntry {
  due = Infinity;
  slot = -1;
  order = 0;
  #inner: Link<unknown> | undefined;
  /** When the last frame came, from `origin`; set once connected. */
  #lastInbound: number | undefined;
  /**
   * When the last ping left, from `origin`: its pong must echo it. None before the first (not
   * -Infinity, which V8 would keep in a number object of its own per connection).
   */
  #lastPing: number | undefined;
  #pingId = 0;

  readonly #subscriber: Subscriber<TransportEvent<In, Out> | HeartbeatEvent>;
  readonly #settings: HeartbeatSettings;

  constructor(subscriber: Subscriber<TransportEvent<In, Out> | HeartbeatEvent>, settings: HeartbeatSettings) {
    super();
    this.#subscriber = subscriber;
    this.#settings = settings;
  }

  /** Subscribes to `source`; returns the teardown (this run: its `unsubscribe`). */
  start(source: Observable<TransportEvent<unknown, unknown>>): Unsubscribable {
    this.subscribeTo(source);
    return this;
  }

  /** Part of the teardown: the timer leaves the queue (the source is unsubscribed after). */
  protected override onUnsubscribe(): void {
    this.#settings.timers.remove(this);
  }

  protected onNext(event: TransportEvent<unknown, unknown>): void {
    if (event.type === 'connected') {
      const wrong = unlisted('heartbeat', event, 'heartbeat()');
      if (wrong) return this.#fail(wrong);
      this.#inner = event.link;
      this.#heard();
      this.#arm();
      this.#subscriber.next({
        type: 'connected',
        link: new LayerLink<Out>(event.link, wrapData),
        ...(event.handshake ? { handshake: event.handshake } : {}),
      });
    } else if (event.type === 'frame') {
      // A peer's frame never throws out of here: RxJS would report it as uncaught.
      try {
        this.#onFrame(event.frame);
      } catch (error) {
        this.#fail(asLayerError('heartbeat', error, this.#inner));
      }
    } else if ((event as { readonly type: string }).type === 'disconnected') {
      this.#fail(
        new TypeError(
          "heartbeat: its source emitted 'disconnected', so it is piped after reconnectWith(); it watches one connection and ends it to get a new one: pipe heartbeat() before reconnectWith()",
        ),
      );
    } else {
      this.#subscriber.next(event as never);
    }
  }

  protected onError(error: unknown): void {
    this.#fail(error);
  }

  // The timer leaves the queue as this unsubscribes after (onUnsubscribe).
  protected onComplete(): void {
    this.#subscriber.complete();
  }

  /** The timer: the connection is dead after `timeout` of silence, and pinged after `interval`. */
  fire(now: number): void {
    const { interval, timeout, origin } = this.#settings;
    const at = now - origin;
    const silentFor = at - this.#lastInbound!;
    if (silentFor >= timeout) {
      this.#fail(
        new HeartbeatTimeoutError(
          `No frame for ${silentFor} ms (timeout ${timeout} ms): the connection is dead`,
          {
            silentFor,
            link: this.#inner,
          },
        ),
      );
      return;
    }
    if (at - Math.max(this.#lastInbound!, this.#lastPing ?? -Infinity) >= interval) {
      this.#lastPing = at;
      this.#sendControl([PING, ++this.#pingId, now]);
    }
    this.#arm();
  }

  #fail(error: unknown): void {
    this.unsubscribe();
    this.#subscriber.error(error);
  }

  // One timer, re-armed lazily: inbound frames only move `lastInbound`, so a busy connection
  // costs a clock read per frame and no timer churn.
  #arm(): void {
    if (this.closed) return;
    const { interval, timeout, scheduler, timers, origin } = this.#settings;
    const last = this.#lastInbound!;
    const next = Math.min(last + timeout, Math.max(last, this.#lastPing ?? -Infinity) + interval);
    timers.set(this, Math.max(scheduler.now(), origin + next));
  }

  // Control frames are best effort: a full or closed link drops a ping, never the connection.
  #sendControl(envelope: unknown[]): void {
    try {
      this.#inner?.send(envelope);
    } catch {
      // The timeout still stands guard: a peer that never hears us stops answering.
    }
  }

  /** Something came from the peer now: returns the time, by the scheduler's clock. */
  #heard(): number {
    const { scheduler, origin } = this.#settings;
    const now = scheduler.now();
    this.#lastInbound = now - origin;
    return now;
  }

  /** Takes one inbound frame; throws a ProtocolError for anything but a heartbeat envelope. */
  #onFrame(frame: unknown): void {
    const now = this.#heard();
    if (!Array.isArray(frame)) throw this.#notAnEnvelope(frame);
    const kind: unknown = frame[0];
    if (kind === DATA && frame.length === 2) {
      this.#subscriber.next({ type: 'frame', frame: frame[1] as In });
    } else if (kind === PING && frame.length === 3 && isNumber(frame[1]) && isNumber(frame[2])) {
      this.#sendControl([PONG, frame[1], frame[2], now, this.#settings.scheduler.now()]);
    } else if (kind === PONG && frame.length === 5 && frame.slice(1).every(isNumber)) {
      this.#onPong(frame as number[], now);
    } else {
      throw this.#notAnEnvelope(frame);
    }
  }

  #onPong([, id, t0, t1, t2]: number[], t3: number): void {
    // Only the latest ping's pong is a sample; a late answer to an older one is ignored.
    // Before the first ping, the latest is id 0, sent at 0.
    const { origin } = this.#settings;
    if (id !== this.#pingId || t0! - origin !== (this.#lastPing ?? -origin)) return;
    const rtt = t3 - t0! - (t2! - t1!);
    const clockOffset = (t1! - t0! + (t2! - t3)) / 2;
    // Finite times can still add up to an infinity: such a pong is not a sample.
    if (!Number.isFinite(rtt) || !Number.isFinite(clockOffset)) {
      throw layerProtocolError('heartbeat', `a pong with times ${t1} and ${t2} gives no sample`, this.#inner);
    }
    this.#subscriber.next({ type: 'heartbeat', rtt, clockOffset, at: t3 });
  }

  #notAnEnvelope(frame: unknown) {
    return notAnEnvelopeOf(
      'heartbeat',
      frame,
      'does the peer pipe its connection through heartbeat()?',
      this.#inner,
    );
  }
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
