import type { Subscription } from 'rxjs';
import { LinkClosedError, SendBufferFullError } from '../../core/errors.js';
import type { Link } from '../../core/transport.js';
import { Fifo } from '../../internal/fifo.js';
import { ReplayBufferFullError } from '../resumable/errors.js';

/**
 * The responses of one {@link serveRequests} stream on their way to its link, in order. They leave
 * at once while the link takes them; once the link asks to wait (`send` returned `false`, or its
 * buffer refused a frame as full) they wait here and leave on the link's `drain$`, so a burst of
 * responses never fails the stream. A closed link drops what waits: the connection is going, and
 * the client's rules for a broken connection take over.
 * @internal
 */
export class ResponseOutbox {
  private readonly waiting = new Fifo<unknown[]>();
  private drainWait: Subscription | undefined;
  private disposed = false;

  constructor(
    private readonly link: Link<unknown>,
    /**
     * Called with an envelope the link refused for another reason (it cannot be encoded, say):
     * returns the envelope to send in its place, or `undefined` to drop it (after failing the
     * stream).
     */
    private readonly refused: (envelope: unknown[], error: unknown) => unknown[] | undefined,
  ) {}

  /** Responses waiting for the link. */
  get length(): number {
    return this.waiting.length;
  }

  push(envelope: unknown[]): void {
    if (this.disposed) return;
    this.waiting.push(envelope);
    this.flush();
  }

  dispose(): void {
    this.disposed = true;
    this.waiting.clear();
    this.drainWait?.unsubscribe();
    this.drainWait = undefined;
  }

  private flush(): void {
    while (!this.drainWait && !this.disposed && this.waiting.length > 0) {
      const outcome = this.send(this.waiting.peek()!);
      if (outcome === 'closed') return this.waiting.clear();
      if (outcome !== 'full') this.waiting.shift();
      if (outcome !== 'sent') this.awaitDrain();
    }
  }

  /** `'sent'`; `'sent-wait'`: sent, and the link asks to wait; `'full'`: not sent, wait. */
  private send(envelope: unknown[]): 'sent' | 'sent-wait' | 'full' | 'closed' {
    try {
      return this.link.send(envelope) ? 'sent' : 'sent-wait';
    } catch (error) {
      if (SendBufferFullError.is(error) || ReplayBufferFullError.is(error)) return 'full';
      if (LinkClosedError.is(error)) return 'closed';
      const instead = this.refused(envelope, error);
      return instead === undefined || this.disposed ? 'sent' : this.send(instead);
    }
  }

  private awaitDrain(): void {
    this.drainWait = this.link.drain$.subscribe(() => {
      this.drainWait?.unsubscribe();
      this.drainWait = undefined;
      this.flush();
    });
  }
}
