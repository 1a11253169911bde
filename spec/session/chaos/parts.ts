// What both processes of the socket chaos test share: the frames, the counts, how a side sends and
// how a side checks what it receives.
import type { LayerName, Link } from 'rx-lifeline';

/**
 * Frames each way: the 100,000. They take 1–2 s per transport on this 2-core machine (at
 * most 5 s over 40 seeds), so 15–60 cuts per run; `CHAOS_FRAMES` runs longer soaks.
 */
export const FRAMES = Number(process.env.CHAOS_FRAMES ?? 100_000);
/**
 * Requests, client → server, interleaved with the frames: the 10,000, a hundred at a time,
 * each idempotent or not at random. Inside a resumable session none is ever resent or ambiguous:
 * every one must succeed, its handler run once.
 */
export const REQUESTS = Number(process.env.CHAOS_REQUESTS ?? 10_000);
/** The layers both ends stack, stated in their handshake. */
export const LAYERS: LayerName[] = ['heartbeat', 'resumable', 'requests'];
/** What the client presents, and the identity the server's authenticate gives it. */
export const CREDENTIALS = { client: 'chaos' } as const;
export const IDENTITY = 'chaos-client';

export const HEARTBEAT = { interval: 250, timeout: 2_000 } as const;
/** Frames sent per event-loop turn in the steady mode. */
const BURST = 250;

/**
 * Frames per turn: a steady stream, or a burst that only `send()` returning false stops. The burst
 * runs with replay buffers of 4,096 frames, which a burst that ignored backpressure fills within
 * one turn, before any ack can arrive.
 */
export const MODES = [
  { mode: '', burst: BURST, maxFrames: undefined, minCuts: 10 },
  // A burst is over in about a second: 14–17 cuts in the runs measured.
  { mode: 'burst mode, ', burst: Infinity, maxFrames: 4_096, minCuts: 5 },
] as const;

/** Frame `n`: its number, and every 16th one padded so frames and chunks split in varied places. */
export type Frame = readonly [number, string];
export const frame = (n: number): Frame => [n, n % 16 === 0 ? 'x'.repeat(n % 1021) : ''];

/** What a {@link Receiver} found, as one process tells the other. */
export interface Received {
  next: number;
  duplicated: number;
  lost: number;
  firstProblem: string | undefined;
}

/** Checks one direction's frames as they arrive: exactly once, in order. */
export class Receiver implements Received {
  next = 0;
  duplicated = 0;
  lost = 0;
  firstProblem: string | undefined;

  constructor(private readonly direction: string) {}

  take(received: Frame): void {
    const [n] = received;
    if (n === this.next) this.next++;
    else if (n < this.next) {
      this.duplicated++;
      this.firstProblem ??= `${this.direction}: frame ${n} again after ${this.next - 1}`;
    } else {
      this.lost += n - this.next;
      this.firstProblem ??= `${this.direction}: frame ${n} after ${this.next - 1}, frames missing`;
      this.next = n + 1;
    }
  }

  get done(): boolean {
    return this.next >= FRAMES;
  }

  report(): Received {
    const { next, duplicated, lost, firstProblem } = this;
    return { next, duplicated, lost, firstProblem };
  }
}

/**
 * Sends frames 0 … FRAMES−1 on a session link, up to `burst` per turn, and waits for `drain$`
 * whenever `send()` says so. With `burst` = Infinity it sends as fast as `send()` allows: only the
 * session's backpressure stops it.
 */
export async function pump(link: Link<Frame>, stopped: () => boolean, burst: number): Promise<void> {
  for (let n = 0; n < FRAMES && !stopped();) {
    let ready = true;
    for (let i = 0; i < burst && n < FRAMES && ready; i++) ready = link.send(frame(n++));
    if (ready) await new Promise<void>((resolve) => setImmediate(resolve));
    else
      await new Promise<void>((resolve) => {
        // Offline or above the high-water mark: the next ack that frees space resumes us.
        const wait = link.drain$.subscribe({ next: () => done(), complete: () => done() });
        const done = () => {
          wait.unsubscribe();
          resolve();
        };
      });
  }
}

/** The server's answer to request `n`: `2n`, as a value or (every third) a Promise. */
export const answer = (n: number): number | Promise<number> => (n % 3 === 0 ? Promise.resolve(2 * n) : 2 * n);
