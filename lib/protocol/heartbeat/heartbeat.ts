import { asyncScheduler, Observable, Subscription, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { ConnectionError, defineName } from '../../core/errors.js';
import type { Link, TransportEvent } from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { LayerLink } from '../../internal/layer-link.js';
import {
  asLayerError,
  layerProtocolError,
  notAnEnvelope as notAnEnvelopeOf,
} from '../../internal/peer-input.js';
import { checkKnownOptions, type KnownOptions } from '../../internal/validate.js';
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
  protected static override readonly named: string = /* @__PURE__ */ defineName(
    this,
    'HeartbeatTimeoutError',
  );

  /** How long the connection had been silent, in milliseconds. */
  readonly silentFor: number;

  constructor(message: string, options: { silentFor: number; link: Link<unknown> | undefined }) {
    super(message, {
      phase: 'read',
      code: 'ETIMEDOUT',
      ...(options.link ? { write: options.link.writeReport() } : {}),
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
  if (!(Number.isFinite(interval) && interval > 0)) {
    throw new TypeError(
      `heartbeat: interval must be a positive number of milliseconds, got ${describeValue(interval)}`,
    );
  }
  if (!(Number.isFinite(timeout) && timeout > interval)) {
    throw new TypeError(
      `heartbeat: timeout must be a finite number above interval (${describeValue(interval)}), got ${describeValue(timeout)}`,
    );
  }

  return (source) =>
    new Observable<TransportEvent<In, Out> | HeartbeatEvent>((subscriber) => {
      let inner: Link<unknown> | undefined;
      let lastInbound = 0;
      let lastPing = -Infinity;
      let pingId = 0;
      let pingSentAt = 0;
      let timer: Subscription | undefined;
      const connection = new Subscription();

      const fail = (error: unknown) => {
        connection.unsubscribe();
        timer?.unsubscribe();
        subscriber.error(error);
      };

      // Control frames are best effort: a full or closed link drops a ping, never the connection.
      const sendControl = (envelope: unknown[]) => {
        try {
          inner?.send(envelope);
        } catch {
          // The timeout still stands guard: a peer that never hears us stops answering.
        }
      };

      // One timer, re-armed lazily: inbound frames only move `lastInbound`, so a busy connection
      // costs a clock read per frame and no timer churn.
      const arm = () => {
        const now = scheduler.now();
        const deadline = lastInbound + timeout;
        const nextPing = Math.max(lastInbound, lastPing) + interval;
        timer = scheduler.schedule(check, Math.max(0, Math.min(deadline, nextPing) - now));
        connection.add(timer);
      };
      const check = () => {
        if (timer) connection.remove(timer);
        const now = scheduler.now();
        const silentFor = now - lastInbound;
        if (silentFor >= timeout) {
          fail(
            new HeartbeatTimeoutError(
              `No frame for ${silentFor} ms (timeout ${timeout} ms): the connection is dead`,
              {
                silentFor,
                link: inner,
              },
            ),
          );
          return;
        }
        if (now - Math.max(lastInbound, lastPing) >= interval) {
          lastPing = now;
          pingSentAt = now;
          sendControl([PING, ++pingId, now]);
        }
        arm();
      };

      /** Takes one inbound frame; throws a ProtocolError for anything but a heartbeat envelope. */
      const onFrame = (frame: unknown) => {
        const now = scheduler.now();
        lastInbound = now;
        if (!Array.isArray(frame)) throw notAnEnvelope(frame);
        const kind: unknown = frame[0];
        if (kind === DATA && frame.length === 2) {
          subscriber.next({ type: 'frame', frame: frame[1] as In });
        } else if (kind === PING && frame.length === 3 && isNumber(frame[1]) && isNumber(frame[2])) {
          sendControl([PONG, frame[1], frame[2], now, scheduler.now()]);
        } else if (kind === PONG && frame.length === 5 && frame.slice(1).every(isNumber)) {
          onPong(frame as number[], now);
        } else {
          throw notAnEnvelope(frame);
        }
      };

      const onPong = ([, id, t0, t1, t2]: number[], now: number) => {
        // Only the latest ping's pong is a sample; a late answer to an older one is ignored.
        if (id !== pingId || t0 !== pingSentAt) return;
        const t3 = now;
        const rtt = t3 - t0! - (t2! - t1!);
        const clockOffset = (t1! - t0! + (t2! - t3)) / 2;
        // Finite times can still add up to an infinity: such a pong is not a sample.
        if (!Number.isFinite(rtt) || !Number.isFinite(clockOffset)) {
          throw layerProtocolError('heartbeat', `a pong with times ${t1} and ${t2} gives no sample`, inner);
        }
        subscriber.next({ type: 'heartbeat', rtt, clockOffset, at: now });
      };

      const notAnEnvelope = (frame: unknown) =>
        notAnEnvelopeOf('heartbeat', frame, 'does the peer pipe its connection through heartbeat()?', inner);

      connection.add(
        source.subscribe({
          next: (event) => {
            if (event.type === 'connected') {
              const wrong = unlisted('heartbeat', event, 'heartbeat()');
              if (wrong) return fail(wrong);
              inner = event.link;
              lastInbound = scheduler.now();
              arm();
              subscriber.next({
                type: 'connected',
                link: new LayerLink<Out>(event.link, (frame) => [DATA, frame]),
                ...(event.handshake ? { handshake: event.handshake } : {}),
              });
            } else if (event.type === 'frame') {
              // A peer's frame never throws out of here: RxJS would report it as uncaught.
              try {
                onFrame(event.frame);
              } catch (error) {
                fail(asLayerError('heartbeat', error, inner));
              }
            } else if ((event as { readonly type: string }).type === 'disconnected') {
              fail(
                new TypeError(
                  "heartbeat: its source emitted 'disconnected', so it is piped after reconnectWith(); a heartbeat watches one connection and must end it to get a new one: pipe heartbeat() before reconnectWith()",
                ),
              );
            } else {
              subscriber.next(event as never);
            }
          },
          error: (error: unknown) => fail(error),
          complete: () => {
            timer?.unsubscribe();
            subscriber.complete();
          },
        }),
      );
      return connection;
    });
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
