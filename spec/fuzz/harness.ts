// The in-process harness: a connection whose bytes come from a hostile peer, decoded by the real
// FrameDecoder and handed to the layers as a transport would, all in virtual time.
import type { VirtualTimeScheduler } from 'rxjs';
import { config, Observable, Subject, type Subscriber } from 'rxjs';
import { FrameDecoder, LifelineError, msgpackCodec, type TransportEvent } from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';
import { encodeBody, mutateBytes, split, withPrefix, type ByteMutation } from './arbitraries.js';

/** Names an error without ever throwing (the value may be anything a layer threw). */
export function describeError(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.name}: ${error.message}`;
    return `a thrown ${typeof error}`;
  } catch {
    return 'an indescribable error';
  }
}

/** The promise: every error a peer can cause is a lifeline error. */
export function isTyped(error: unknown): boolean {
  return LifelineError.is(error);
}

/**
 * Makes an exception thrown inside an operator's `next` handler (which RxJS would otherwise report
 * asynchronously, as an uncaught exception that ends a Node process) surface synchronously at the
 * call that fed the frame, so it is pinned on the input that caused it. Returns the restore step.
 */
export function catchThrowsInHandlers(): () => void {
  const before = config.useDeprecatedSynchronousErrorHandling;
  const onUnhandled = config.onUnhandledError;
  config.useDeprecatedSynchronousErrorHandling = true;
  return () => {
    config.useDeprecatedSynchronousErrorHandling = before;
    config.onUnhandledError = onUnhandled;
  };
}

/**
 * Runs `work` inside RxJS's error context (a Subject's `next`), so that under
 * {@link catchThrowsInHandlers} an exception thrown in any handler during `work` is rethrown here
 * instead of being dropped. Public API only: `Subject.next` opens the context.
 */
export function inErrorContext(work: () => void): void {
  const context = new Subject<void>();
  context.subscribe(work);
  context.next();
}

const codec = msgpackCodec();

/**
 * One accepted (or dialled) connection driven by the test: `connected` with a recording link, then a
 * `frame` per frame the real decoder completes from the bytes fed. A bad frame fails it with the
 * decoder's error, as a transport does; closing the link completes it.
 */
export class FakeConnection {
  readonly link: RecordingLink;
  readonly decoder = new FrameDecoder({ codec });
  /** Exceptions that escaped into the feeding code: in a socket's 'data' handler, a crash. */
  readonly escaped: unknown[] = [];
  unsubscribed = false;
  private subscriber: Subscriber<TransportEvent> | undefined;
  readonly transport: Observable<TransportEvent>;

  constructor(scheduler: VirtualTimeScheduler) {
    this.link = new RecordingLink({
      scheduler,
      onClose: () => scheduler.schedule(() => this.subscriber?.complete()),
    });
    this.transport = new Observable<TransportEvent>((subscriber) => {
      this.subscriber = subscriber;
      subscriber.next({ type: 'connected', link: this.link });
      return () => {
        this.unsubscribed = true;
        this.decoder.dispose();
      };
    });
  }

  get open(): boolean {
    return this.subscriber !== undefined && !this.subscriber.closed && !this.unsubscribed;
  }

  /** Feeds one frame's value: encoded, optionally damaged, cut into chunks. */
  sendValue(value: unknown, damage: ByteMutation | undefined, cutAt: readonly number[] = []): void {
    let bytes = withPrefix(encodeBody(value));
    if (damage) bytes = mutateBytes(bytes, damage);
    this.sendBytes(bytes, cutAt);
  }

  sendBytes(bytes: Uint8Array, cutAt: readonly number[] = []): void {
    try {
      inErrorContext(() => this.pushChunks(bytes, cutAt));
    } catch (error) {
      this.escaped.push(error);
    }
  }

  private pushChunks(bytes: Uint8Array, cutAt: readonly number[]): void {
    for (const chunk of split(bytes, cutAt)) {
      if (!this.open) return;
      const subscriber = this.subscriber!;
      let fromLayer = false;
      try {
        this.decoder.push(chunk, (frame) => {
          try {
            subscriber.next({ type: 'frame', frame });
          } catch (error) {
            fromLayer = true;
            throw error;
          }
        });
      } catch (error) {
        // The decoder's own (typed) errors fail the connection, as a transport does; anything a
        // layer threw into the feeding code escaped it: in a socket's 'data' handler, a crash.
        if (!fromLayer && isTyped(error)) subscriber.error(error);
        else this.escaped.push(error);
        return;
      }
    }
  }
}

/** Advances virtual time to `at`, running everything due by then. */
export function advanceTo(scheduler: VirtualTimeScheduler, at: number): void {
  inErrorContext(() => {
    scheduler.maxFrames = at;
    scheduler.flush();
    scheduler.frame = Math.max(scheduler.frame, at);
  });
}

// ---------------------------------------------------------------------------------------------
// Decoded size

/**
 * Rough V8 heap bytes held by a decoded value (64-bit, no pointer compression, as Node ships):
 * a plain object 56 + 16 per property, an array 32 + 8 per slot, a heap number 16, a string
 * 16 + its length, a Uint8Array with its buffer 96 + its length, a Date 48, a bigint 24. Iterative,
 * so any depth is fine.
 */
export function heapCost(root: unknown): number {
  let total = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      total += 32 + 8 * value.length;
      for (const item of value) stack.push(item);
    } else if (value instanceof Uint8Array) total += 96 + value.length;
    else if (value instanceof Date) total += 48;
    else if (typeof value === 'object' && value !== null) {
      const keys = Object.keys(value);
      total += 56 + 16 * keys.length;
      for (const k of keys) {
        total += 16 + k.length;
        stack.push((value as Record<string, unknown>)[k]);
      }
    } else if (typeof value === 'string') total += 16 + value.length;
    else if (typeof value === 'bigint') total += 24;
    else if (typeof value === 'number' && !(Number.isInteger(value) && Math.abs(value) < 2 ** 31))
      total += 16;
  }
  return total;
}

/**
 * The decoded-size promise (DESIGN.md: "Decoded size is bounded, not only byte size"), as this suite
 * checks it: a frame of `bytes` decodes to at most 32 × its bytes, plus a 1 MiB floor so small frames
 * are never refused. Ordinary data stays well below (an array of small integers: 8×; an object
 * of short keys: ~15×); a frame of empty maps is ~64× and would take a 16 MiB frame to 1 GiB.
 */
export function decodedBudget(bytes: number): number {
  return 32 * bytes + 1024 * 1024;
}
