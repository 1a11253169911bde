import { Observable, Subject, Subscription, type Observer, type SchedulerLike, type Subscriber } from 'rxjs';
import type { RunHelpers } from 'rxjs/testing';
import { ConnectionResetError, DialError } from '../core/errors.js';
import type { Transport, TransportEvent } from '../core/transport.js';
import { checkFunction, checkKnownOptions, describe, type KnownOptions } from '../internal/validate.js';
import { RecordingLink } from './recording-link.js';

/**
 * The `cold` helper of `TestScheduler.run` (or `testScheduler.createColdObservable` bound to its
 * scheduler): {@link scriptedTransport} builds its connections from it.
 *
 * @example
 * ```ts
 * import { TestScheduler } from 'rxjs/testing';
 * import type { ColdFactory } from 'rx-lifeline/testing';
 * const testScheduler = new TestScheduler(() => undefined);
 * const cold: ColdFactory = testScheduler.createColdObservable.bind(testScheduler);
 * ```
 * @category Testing
 */
export type ColdFactory = RunHelpers['cold'];

/**
 * A subscription log, as `expectSubscriptions` takes it.
 *
 * @example
 * ```ts
 * import type { RecordedTransport, SubscriptionLogs } from 'rx-lifeline/testing';
 * const dialsOf = (transport: RecordedTransport): SubscriptionLogs => transport.subscriptions;
 * ```
 * @category Testing
 */
export type SubscriptionLogs = ReturnType<ColdFactory>['subscriptions'];

/**
 * Options of {@link scriptedTransport}.
 *
 * @example
 * ```ts
 * import { ProtocolError } from 'rx-lifeline';
 * import type { ScriptedTransportOptions } from 'rx-lifeline/testing';
 * const options: ScriptedTransportOptions<{ n: number }> = {
 *   values: { a: { n: 1 }, b: { n: 2 } },
 *   error: new ProtocolError('garbage', { offset: 0 }),
 * };
 * ```
 * @category Testing
 */
export interface ScriptedTransportOptions<In = string> {
  /**
   * The inbound frame each letter stands for. A letter without an entry delivers itself, as a
   * string. `c` is reserved for the connected event and cannot be given a value.
   * @default {}
   */
  values?: Readonly<Record<string, In>>;
  /**
   * What `#` errors with. By default a `#` before `c` is a {@link DialError} (`ECONNREFUSED`), and
   * after it a {@link ConnectionResetError} (`ECONNRESET`) carrying the link's write report; both
   * are made anew for each connection.
   * @default DialError or ConnectionResetError
   */
  error?: unknown;
}

const OPTIONS: KnownOptions<ScriptedTransportOptions> = { values: true, error: true };

/**
 * What {@link scriptedTransport} returns: a {@link Transport}, plus what a test needs to look at.
 *
 * @example
 * ```ts
 * import type { RecordedTransport } from 'rx-lifeline/testing';
 * const lastLink = (transport: RecordedTransport) => transport.links.at(-1);
 * ```
 * @category Testing
 */
export type RecordedTransport<In = string, Out = unknown> = Transport<In, Out> & {
  /** One entry per dial (subscription), for `expectSubscriptions`: it proves backoff and teardown. */
  readonly subscriptions: SubscriptionLogs;
  /** The link of each connection, in the order they connected. */
  readonly links: readonly RecordingLink<Out>[];
  /** Every frame sent on any of the links, as it is sent; it never completes. */
  readonly sent$: Observable<Out>;
};

/**
 * A {@link Transport} that plays a marble script in virtual time: each subscription is a new
 * connection that follows the script, so a transport that drops can be piped into
 * `reconnectWith` and every reconnection plays it again. In the script, `c` is the connected event
 * (with a fresh {@link RecordingLink}), any other letter an inbound frame (see `values`), `#` a
 * failure and `|` a clean close by the peer. Time works as in any marble diagram (`-`, `10ms`,
 * groups).
 *
 * Given a list of scripts, the first dial plays the first, the second dial the second, and so on;
 * dials past the end play the last one again. `link.close()` completes the connection in the same
 * frame (a real transport first flushes, which takes some time). Unsubscribing ends the link.
 *
 * It does not check what is sent: the links record it, and `sent$` shows it as a diagram.
 *
 * @param cold - the `cold` helper of `TestScheduler.run`.
 * @param script - one marble script for every dial, or one per dial.
 * @throws TypeError if there is no script, `values` has a `c`, or `options` has a key other than
 * `values` and `error`.
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
 * testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
 *   // Refused twice, then a connection that delivers a frame and stays up.
 *   const transport = scriptedTransport(cold, ['#', '-#', 'c-a']);
 *   const session = transport.pipe(reconnectWith(policy.constant(10)));
 *   const values = { c: 'c', a: 'a', x: 'd1:10:DialError', y: 'd2:10:DialError' };
 *   expectObservable(marbleEvents(session), '^ 30ms !').toBe('x 10ms y 9ms c-a', values);
 *   expectSubscriptions(transport.subscriptions).toBe(['(^!)', '10ms ^!', '21ms ^ 9ms !']);
 * });
 * ```
 * @category Testing
 */
export function scriptedTransport<In = string, Out = unknown>(
  cold: ColdFactory,
  script: string | readonly string[],
  options: ScriptedTransportOptions<In> = {},
): RecordedTransport<In, Out> {
  const { scripts, values } = checkArguments(cold, script, options);
  // `#` errors with a marker, replaced per connection by the real error (or the user's).
  const failure = Symbol('scripted failure');
  const plays = scripts.map((s) => cold(s, undefined, failure));
  // A script of its own, never played: its subscription log records every dial, whichever script.
  const log = cold('');
  const links: RecordingLink<Out>[] = [];
  const sent = new Subject<Out>();
  let dials = 0;

  const transport = new Observable<TransportEvent<In, Out>>((subscriber) => {
    const dial = ++dials;
    const logIndex = log.logSubscribedFrame();
    const play = new ScriptedDial<In, Out>(dial, subscriber, {
      scheduler: log.scheduler,
      values,
      failure,
      options,
      onLink: (link) => {
        link.sent$.subscribe((frame) => sent.next(frame));
        links.push(link);
      },
    });
    play.connection.add(plays[Math.min(dial, plays.length) - 1]!.subscribe(play));
    return () => {
      play.dispose();
      log.logUnsubscribedFrame(logIndex);
    };
  });

  return Object.assign(transport, { subscriptions: log.subscriptions, links, sent$: sent.asObservable() });
}

/** Checks {@link scriptedTransport}'s arguments; answers its scripts and values. */
function checkArguments<In>(
  cold: ColdFactory,
  script: string | readonly string[],
  options: ScriptedTransportOptions<In>,
): { scripts: string[]; values: Readonly<Record<string, In>> } {
  checkFunction('scriptedTransport', 'cold', cold);
  const scripts = typeof script === 'string' ? [script] : Array.isArray(script) ? [...script] : [];
  if (scripts.length === 0 || scripts.some((s) => typeof s !== 'string')) {
    throw new TypeError('scriptedTransport: give a marble script, or a non-empty list of them');
  }
  checkKnownOptions('scriptedTransport', options, OPTIONS);
  const { values = {} } = options;
  if (typeof values !== 'object' || values === null) {
    throw new TypeError(
      `scriptedTransport: values must be an object of letters to values, got ${describe(values)}`,
    );
  }
  if (Object.hasOwn(values, 'c')) {
    throw new TypeError("scriptedTransport: 'c' is the connected event and cannot have a value");
  }
  return { scripts, values };
}

/** What every dial of one {@link scriptedTransport} shares. */
interface DialSettings<In, Out> {
  readonly scheduler: SchedulerLike;
  readonly values: Readonly<Record<string, In>>;
  /** What a script's `#` errors with, before it is replaced. */
  readonly failure: symbol;
  readonly options: ScriptedTransportOptions<In>;
  /** Called with each new link. */
  readonly onLink: (link: RecordingLink<Out>) => void;
}

/** One dial of a {@link scriptedTransport}: plays its script's letters as transport events. */
class ScriptedDial<In, Out> implements Observer<string> {
  /** The script's subscription and the completion scheduled by `link.close()`. */
  readonly connection = new Subscription();
  #link: RecordingLink<Out> | undefined;

  constructor(
    readonly dial: number,
    readonly subscriber: Subscriber<TransportEvent<In, Out>>,
    readonly settings: DialSettings<In, Out>,
  ) {}

  next(letter: string): void {
    if (letter === 'c') return this.#connect();
    if (!this.#link) {
      return this.subscriber.error(
        new TypeError(`scriptedTransport: script of dial ${this.dial} delivers '${letter}' before c`),
      );
    }
    const { values } = this.settings;
    this.subscriber.next({
      type: 'frame',
      frame: (Object.hasOwn(values, letter) ? values[letter] : letter) as In,
    });
  }

  error(error: unknown): void {
    const { failure, options } = this.settings;
    if (error !== failure) return this.subscriber.error(error);
    if ('error' in options) return this.subscriber.error(options.error);
    const link = this.#link;
    this.subscriber.error(
      link
        ? new ConnectionResetError(`Scripted connection ${link.info.local} was reset`, {
            phase: 'read',
            code: 'ECONNRESET',
            write: link.writeReport(),
          })
        : new DialError(`Scripted dial ${this.dial} was refused`, { code: 'ECONNREFUSED' }),
    );
  }

  complete(): void {
    this.subscriber.complete();
  }

  /** Ends the script and the link. */
  dispose(): void {
    this.connection.unsubscribe();
    this.#link?.end();
  }

  #connect(): void {
    const { dial, subscriber } = this;
    if (this.#link) {
      return subscriber.error(new TypeError(`scriptedTransport: script of dial ${dial} has two c`));
    }
    const { scheduler } = this.settings;
    const link = new RecordingLink<Out>({
      scheduler,
      info: { transport: 'scripted', local: `scripted#${dial}/client`, remote: `scripted#${dial}/server` },
      onClose: () => this.connection.add(scheduler.schedule(() => subscriber.complete())),
    });
    this.#link = link;
    this.settings.onLink(link);
    subscriber.next({ type: 'connected', link });
  }
}
