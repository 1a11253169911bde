import { map, type Observable } from 'rxjs';
import { describeValue } from '../internal/describe-value.js';

/**
 * The short marble value of one transport or session event, so that a diagram's values read at a
 * glance:
 *
 * - `connected` → `'c'`
 * - `frame` → the frame itself if it is a string, its JSON otherwise (`String(frame)` when JSON
 *   cannot show it)
 * - `disconnected` → `'d<attempt>:<delay>:<error name>'`, e.g. `'d1:100:ConnectionResetError'`
 * - `heartbeat` → `'h<rtt>'`
 * - any other event → its `type`
 *
 * @example
 * ```ts
 * import { ConnectionResetError, type SessionEvent } from 'rx-lifeline';
 * import { marbleValue } from 'rx-lifeline/testing';
 * const error = new ConnectionResetError('reset', { phase: 'read' });
 * const event: SessionEvent = { type: 'disconnected', error, attempt: 1, delay: 100 };
 * console.log(marbleValue(event)); // 'd1:100:ConnectionResetError'
 * ```
 * @category Testing
 */
export function marbleValue<E extends { readonly type: string }>(event: E): string {
  const e = event as {
    readonly type: string;
    frame?: unknown;
    error?: unknown;
    attempt?: unknown;
    delay?: unknown;
    rtt?: unknown;
  };
  switch (e.type) {
    case 'connected':
      return 'c';
    case 'frame':
      return showFrame(e.frame);
    case 'disconnected':
      return `d${String(e.attempt)}:${String(e.delay)}:${errorName(e.error)}`;
    case 'heartbeat':
      return `h${String(e.rtt)}`;
    default:
      return e.type;
  }
}

/**
 * Maps a stream of transport or session events to their {@link marbleValue}s, so that a test can
 * write the expected stream as a diagram of short strings. Errors and completion pass through
 * unchanged, so `#` and `|` mean what they mean in the source.
 *
 * @example
 * ```ts
 * import { expect } from 'chai';
 * import { TestScheduler } from 'rxjs/testing';
 * import { policy, reconnectWith } from 'rx-lifeline';
 * import { marbleEvents, scriptedTransport } from 'rx-lifeline/testing';
 *
 * const testScheduler = new TestScheduler((actual, expected) => {
 *   expect(actual).to.deep.equal(expected);
 * });
 * testScheduler.run(({ cold, expectObservable }) => {
 *   const transport = scriptedTransport(cold, 'c-a-#');
 *   const session = transport.pipe(reconnectWith(policy.constant(100)));
 *   const values = { c: 'c', a: 'a', x: 'd1:100:ConnectionResetError' };
 *   expectObservable(marbleEvents(session), '^ 106ms !').toBe('c-a-x 99ms c-a', values);
 * });
 * ```
 * @category Testing
 */
export function marbleEvents<E extends { readonly type: string }>(events: Observable<E>): Observable<string> {
  if (typeof (events as Partial<Observable<E>> | null)?.pipe !== 'function') {
    throw new TypeError(`marbleEvents: events must be an Observable, got ${describeValue(events)}`);
  }
  return events.pipe(map((event) => marbleValue(event)));
}

function showFrame(frame: unknown): string {
  if (typeof frame === 'string') return frame;
  try {
    return JSON.stringify(frame) ?? String(frame);
  } catch {
    // A bigint shows its digits; a toJSON that throws, a description that runs none of its code.
    return typeof frame === 'bigint' ? String(frame) : describeValue(frame);
  }
}

function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  if (typeof name === 'string') return name;
  return typeof error === 'string' ? error : describeValue(error);
}
