import type { Observable } from 'rxjs';
import type { WriteReport } from '../core/errors.js';
import type { Link, LinkInfo } from '../core/transport.js';

/**
 * A Link seen through a protocol layer: `send(frame)` sends `wrap(frame)` on the inner link, and
 * everything else is the inner link's. Layers (heartbeat, resumable) hand this to the operators
 * after them, so the application never sees or sends the layer's envelopes.
 * @internal
 */
export class LayerLink<Out> implements Link<Out> {
  readonly #inner: Link<unknown>;
  readonly #wrap: (frame: Out) => unknown;

  constructor(inner: Link<unknown>, wrap: (frame: Out) => unknown) {
    this.#inner = inner;
    this.#wrap = wrap;
  }

  send(frame: Out): boolean {
    return this.#inner.send(this.#wrap(frame));
  }

  close(reason?: string): void {
    this.#inner.close(reason);
  }

  get bufferedBytes(): number {
    return this.#inner.bufferedBytes;
  }

  get framesSent(): number {
    return this.#inner.framesSent;
  }

  get closed(): boolean {
    return this.#inner.closed;
  }

  get closeRequested(): boolean {
    return this.#inner.closeRequested;
  }

  get drain$(): Observable<void> {
    return this.#inner.drain$;
  }

  writeReport(): WriteReport {
    return this.#inner.writeReport();
  }

  get info(): LinkInfo {
    return this.#inner.info;
  }
}
