import { Observable, type Subscriber } from 'rxjs';
import { msgpackSize } from '../../codec/codec.js';
import { Fifo } from '../../internal/fifo.js';
import { RequestBodyOverflowError } from './errors.js';

/** How a body ended on the client: completed, or failed with an error (a `RemoteError` here). */
type BodyEnd = { readonly kind: 'complete' } | { readonly kind: 'error'; readonly error: unknown };

/**
 * The streamed body of one request on a {@link serveRequests} server (requests layer v2): the
 * chunks that arrived, handed to the one subscriber of `body$`. Until the handler subscribes they
 * wait here, bounded by `maxBodyChunks` and `maxBodyBytes`: one more and {@link push} returns a
 * {@link RequestBodyOverflowError} for the caller to fail the request with. Once subscribed, chunks
 * go straight through; once the subscriber is gone (it unsubscribed, or the request ended), later
 * chunks are dropped.
 * @internal
 */
export class BodyInbox {
  /** The body as the handler sees it: cold, subscribed at most once. */
  readonly body$: Observable<unknown>;
  private readonly unread = new Fifo<{ readonly chunk: unknown; readonly size: number }>();
  private unreadBytes = 0;
  private reader: Subscriber<unknown> | undefined;
  private subscribed = false;
  /** The reader left, or the request is over: chunks are dropped from now on. */
  private dropping = false;
  private end: BodyEnd | undefined;

  constructor(
    private readonly id: number,
    private readonly limits: { readonly chunks: number; readonly bytes: number },
  ) {
    this.body$ = new Observable<unknown>((subscriber) => this.read(subscriber));
  }

  /** True once the client's end of the body (complete or error) arrived. */
  get ended(): boolean {
    return this.end !== undefined;
  }

  /** One chunk from the client; a {@link RequestBodyOverflowError} when it is over a cap. */
  push(chunk: unknown): RequestBodyOverflowError | undefined {
    if (this.dropping) return undefined;
    if (this.reader) {
      this.reader.next(chunk);
      return undefined;
    }
    const { chunks, bytes } = this.limits;
    if (this.unread.length >= chunks) {
      return new RequestBodyOverflowError(
        `Request ${this.id}: more than ${chunks} body chunks arrived that the handler has not read (serveRequests maxBodyChunks)`,
        { id: this.id, limit: chunks, unit: 'chunks' },
      );
    }
    const size = sizeOf(chunk);
    if (this.unreadBytes + size > bytes) {
      return new RequestBodyOverflowError(
        `Request ${this.id}: ${this.unreadBytes} bytes of body chunks wait unread and the next needs ${size}; the cap is ${bytes} (serveRequests maxBodyBytes)`,
        { id: this.id, limit: bytes, unit: 'bytes' },
      );
    }
    this.unread.push({ chunk, size });
    this.unreadBytes += size;
    return undefined;
  }

  /** The client's end of the body. */
  finish(end: BodyEnd): void {
    this.end = end;
    const reader = this.reader;
    if (!reader) return;
    this.reader = undefined;
    this.dropping = true;
    deliverEnd(reader, end);
  }

  /**
   * The request is over: what waits is dropped, later chunks too, and a reader still waiting for
   * the end gets `reason` as an error when there is one (the request was cancelled).
   */
  close(reason?: unknown): void {
    this.dropping = true;
    this.unread.clear();
    this.unreadBytes = 0;
    const reader = this.reader;
    this.reader = undefined;
    if (reader && reason !== undefined) reader.error(reason);
  }

  private read(subscriber: Subscriber<unknown>): (() => void) | undefined {
    if (this.subscribed) {
      subscriber.error(new TypeError(`Request ${this.id}: body$ may be subscribed once`));
      return undefined;
    }
    this.subscribed = true;
    if (this.dropping && this.end === undefined) {
      // The request is already over: nothing more will come.
      subscriber.error(new DOMException('The request is over', 'AbortError'));
      return undefined;
    }
    // A chunk that arrives while these are read (a reentrant frame) queues behind them.
    while (this.unread.length > 0) {
      const { chunk, size } = this.unread.shift()!;
      this.unreadBytes -= size;
      subscriber.next(chunk);
      if (subscriber.closed) return this.leave();
    }
    if (this.end) {
      this.dropping = true;
      deliverEnd(subscriber, this.end);
      return undefined;
    }
    this.reader = subscriber;
    return () => {
      if (this.reader === subscriber) this.leave();
    };
  }

  /** The reader unsubscribed: nobody can read the rest. */
  private leave(): undefined {
    this.reader = undefined;
    this.dropping = true;
    this.unread.clear();
    this.unreadBytes = 0;
    return undefined;
  }
}

function deliverEnd(subscriber: Subscriber<unknown>, end: BodyEnd): void {
  if (end.kind === 'complete') subscriber.complete();
  else subscriber.error(end.error);
}

/** A chunk's MessagePack size; one that cannot be measured (it decoded, so it rarely is) counts 0. */
function sizeOf(chunk: unknown): number {
  try {
    return msgpackSize(chunk);
  } catch {
    return 0;
  }
}
