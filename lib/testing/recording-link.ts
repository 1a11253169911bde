import { asyncScheduler, NEVER, Subject, type Observable, type SchedulerLike } from 'rxjs';
import { LinkClosedError, type WriteReport } from '../core/errors.js';
import type { Link, LinkInfo } from '../core/transport.js';
import {
  checkFunction,
  checkKnownOptions,
  checkScheduler,
  describe,
  type KnownOptions,
} from '../internal/validate.js';

/**
 * One frame a {@link RecordingLink} was asked to send, and when.
 *
 * @example
 * ```ts
 * import type { SentFrame } from 'rx-lifeline/testing';
 * const show = ({ frame, time }: SentFrame<string>) => `${frame}@${time}`;
 * ```
 * @category Testing
 */
export interface SentFrame<Out = unknown> {
  /** The frame passed to `send`. */
  readonly frame: Out;
  /** `scheduler.now()` at the call: the virtual frame under a `TestScheduler`. */
  readonly time: number;
}

/**
 * Options of {@link RecordingLink}.
 *
 * @example
 * ```ts
 * import { TestScheduler } from 'rxjs/testing';
 * import { RecordingLink, type RecordingLinkOptions } from 'rx-lifeline/testing';
 * const testScheduler = new TestScheduler(() => undefined);
 * const options: RecordingLinkOptions = { scheduler: testScheduler, onClose: (reason) => console.log(reason) };
 * const link = new RecordingLink<string>(options);
 * ```
 * @category Testing
 */
export interface RecordingLinkOptions {
  /**
   * The clock that stamps each send. Under `TestScheduler.run` the default reads virtual time too.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
  /**
   * What `info` reports.
   * @default { transport: 'recording', local: 'here', remote: 'there' }
   */
  info?: LinkInfo;
  /**
   * Called once, when `close()` is first called, so whoever owns the connection can end it. The
   * link itself only records the request: it does not complete anything by itself.
   * @default none
   */
  onClose?: (reason: string | undefined) => void;
}

const OPTIONS: KnownOptions<RecordingLinkOptions> = { scheduler: true, info: true, onClose: true };

/**
 * A fake {@link Link} that records every frame sent on it with the virtual time of the send, for
 * tests of code that writes to a link. `sent$` emits each frame as it is sent and completes when
 * the link closes, so `expectObservable(link.sent$)` asserts the sends as a marble diagram.
 *
 * It never buffers: `send` returns `true`, `bufferedBytes` is 0, `drain$` never emits, and every
 * send is reported as written whole (`framesSent` and the report's `framesLeft` are `sent.length`). After `close()` or {@link RecordingLink.end}, `send` throws
 * {@link LinkClosedError} as a real link does. It does not encode frames, so it does not catch a
 * frame msgpackr would refuse.
 *
 * @typeParam Out - the type of outbound frames.
 * @example
 * ```ts
 * import { expect } from 'chai';
 * import { TestScheduler } from 'rxjs/testing';
 * import { RecordingLink } from 'rx-lifeline/testing';
 *
 * const testScheduler = new TestScheduler((actual, expected) => {
 *   expect(actual).to.deep.equal(expected);
 * });
 * testScheduler.run(({ cold, expectObservable }) => {
 *   const link = new RecordingLink<string>();
 *   cold('--a-b-|').subscribe({ next: (frame) => link.send(frame), complete: () => link.close() });
 *   expectObservable(link.sent$).toBe('--a-b-|');
 * });
 * ```
 * @category Testing
 */
export class RecordingLink<Out = unknown> implements Link<Out> {
  /** The frames sent, in order. */
  readonly sent: Out[] = [];
  /** The frames sent with the time of each send, in order. */
  readonly sends: SentFrame<Out>[] = [];
  /** Each frame as it is sent (not those sent before subscribing); completes when the link closes. */
  readonly sent$: Observable<Out>;
  readonly info: LinkInfo;
  readonly drain$: Observable<void> = NEVER;
  readonly bufferedBytes: number = 0;
  /** The reason given to the first `close()` call. */
  closeReason: string | undefined;
  private requested = false;
  private ended = false;
  private readonly sends$ = new Subject<Out>();
  private readonly scheduler: SchedulerLike;
  private readonly onClose: ((reason: string | undefined) => void) | undefined;

  /** @throws TypeError when an option is not one of {@link RecordingLinkOptions}. */
  constructor(options: RecordingLinkOptions = {}) {
    checkKnownOptions('RecordingLink', options, OPTIONS);
    const { scheduler = asyncScheduler, info, onClose } = options;
    this.scheduler = checkScheduler('RecordingLink', scheduler);
    if (info !== undefined && (typeof info !== 'object' || info === null)) {
      throw new TypeError(`RecordingLink: info must be a LinkInfo, got ${describe(info)}`);
    }
    this.info = info ?? { transport: 'recording', local: 'here', remote: 'there' };
    this.onClose = onClose === undefined ? undefined : checkFunction('RecordingLink', 'onClose', onClose);
    this.sent$ = this.sends$.asObservable();
  }

  get closed(): boolean {
    return this.requested || this.ended;
  }

  /** The frames sent so far: `sent.length`. */
  get framesSent(): number {
    return this.sent.length;
  }

  get closeRequested(): boolean {
    return this.requested;
  }

  send(frame: Out): boolean {
    if (this.closed) throw new LinkClosedError(`RecordingLink ${this.info.local} is closed`);
    this.sent.push(frame);
    this.sends.push({ frame, time: this.scheduler.now() });
    this.sends$.next(frame);
    return true;
  }

  close(reason?: string): void {
    if (this.requested) return;
    this.requested = true;
    this.closeReason = reason;
    this.sends$.complete();
    this.onClose?.(reason);
  }

  /**
   * Marks the connection as over without a `close()` from this side (the peer or the network ended
   * it): `closed` becomes true, `sent$` completes, and later sends throw.
   */
  end(): void {
    this.ended = true;
    this.sends$.complete();
  }

  /** Every frame sent counts as written whole (and as possibly received: `framesLeft`). */
  writeReport(): WriteReport {
    const framesLeft = this.sent.length;
    return framesLeft === 0
      ? { lastFrame: 'none', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft }
      : { lastFrame: 'whole', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft };
  }
}
