// What the throughput driver sees of a system: one connection to send on, and a count of the
// frames arriving at the measuring end (the server one way; the client for echo).
import type { Wire } from './common.js';

/** One open connection of a system under test. */
export interface Channel {
  /** Encodes and sends one payload; `false` asks the driver to wait on `drained()` before the next. */
  send(payload: Uint8Array): boolean;
  /** Ends a burst (batched baselines write their buffer here); `false` asks to wait on `drained()`. */
  flush(): boolean;
  /** Resolves when the system's own backpressure signal says to go on (a turn where it has none). */
  drained(): Promise<void>;
  /** Closes the client, every server-side connection and the server. */
  close(): Promise<void>;
}

/** A system as the throughput run opens it. */
export interface ThroughputRig {
  name: string;
  wire: Wire;
  /** The raw batched baseline of its wire: the rows' ratios divide by its rate. */
  baseline?: true;
  /**
   * Listens on 127.0.0.1 port 0 and connects one client. Without `echo`, the server calls
   * `onArrive` per decoded frame; with it, the server sends each decoded frame back (encoded
   * again) and the client calls `onArrive` per decoded echo.
   */
  open(echo: boolean, onArrive: () => void): Promise<Channel>;
}
