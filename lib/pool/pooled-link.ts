import { EMPTY, filter, type Observable } from 'rxjs';
import { LinkClosedError, type WriteReport } from '../core/errors.js';
import type { Link, LinkInfo } from '../core/transport.js';

/**
 * The view of a pooled connection's {@link Link} that one user holds. Once the user gives the
 * connection back, the view is revoked: `send` throws `LinkClosedError` and `close` does nothing,
 * so a stale reference can never write into the next user's exchange.
 * @internal
 */
export class PooledLink<Out> implements Link<Out> {
  readonly info: LinkInfo;
  private inner: Link<Out> | undefined;
  private finalReport: WriteReport | undefined;
  private finalFramesSent = 0;

  constructor(inner: Link<Out>) {
    this.inner = inner;
    this.info = inner.info;
  }

  get drain$(): Observable<void> {
    const inner = this.inner;
    return inner ? inner.drain$.pipe(filter(() => this.inner === inner)) : EMPTY;
  }

  /** Cuts this view off the connection; the report it shows from now on is the one of this moment. */
  revoke(): void {
    if (!this.inner) return;
    this.finalReport = this.inner.writeReport();
    this.finalFramesSent = this.inner.framesSent;
    this.inner = undefined;
  }

  send(frame: Out): boolean {
    if (!this.inner) {
      throw new LinkClosedError('This pooled connection was given back to its pool; it cannot send');
    }
    return this.inner.send(frame);
  }

  close(reason?: string): void {
    this.inner?.close(reason);
  }

  get bufferedBytes(): number {
    return this.inner?.bufferedBytes ?? 0;
  }

  get framesSent(): number {
    return this.inner?.framesSent ?? this.finalFramesSent;
  }

  get closed(): boolean {
    return this.inner?.closed ?? true;
  }

  get closeRequested(): boolean {
    return this.inner?.closeRequested ?? true;
  }

  writeReport(): WriteReport {
    return this.inner?.writeReport() ?? this.finalReport!;
  }
}
