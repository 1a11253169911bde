import { describeValue } from '../../internal/describe-value.js';
import {
  checkKnownOptions,
  checkNumber,
  type KnownOptions,
  POSITIVE_INTEGER,
} from '../../internal/validate.js';
import { ReplayBufferFullError } from './errors.js';

/**
 * Options of {@link ReplayBuffer}.
 *
 * @example
 * ```ts
 * import type { ReplayBufferOptions } from 'rx-lifeline';
 * const options: ReplayBufferOptions = { maxBytes: 1024 * 1024, maxFrames: 1000 };
 * ```
 * @category Sessions
 */
export interface ReplayBufferOptions {
  /**
   * The most bytes held (sum of the sizes given to `append`).
   * @default 4 MiB (4_194_304)
   */
  maxBytes?: number;
  /**
   * The most frames held.
   * @default 65_536
   */
  maxFrames?: number;
}

/** A frame's size as the buffer counts it: a number of bytes ≥ 0, at most 2^53 - 1. @internal */
export function isFrameSize(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER;
}

const OPTIONS: KnownOptions<ReplayBufferOptions> = { maxBytes: true, maxFrames: true };

/**
 * The frames of a {@link ReplayBuffer}, without its checks of what the caller passes: what a
 * session keeps its frames in, whose caps were checked with its options, whose sizes are numbers of
 * bytes and whose acks whole numbers already (so a browser bundle of a session carries no check
 * that never fails). Everything else is the replay buffer's, documented there.
 * @internal
 */
export class ReplayFrames<T> {
  /** The cap on bytes held. */
  readonly maxBytes: number;
  /** The cap on frames held. */
  readonly maxFrames: number;
  #frames: (T | undefined)[] | undefined;
  #sizes: number[] | undefined;
  #head = 0;
  #first = 1;
  #heldBytes = 0;

  /** @param maxBytes - Checked already, as `maxFrames`: positive integers. */
  constructor(maxBytes: number, maxFrames: number) {
    this.maxBytes = maxBytes;
    this.maxFrames = maxFrames;
  }

  /** Frames held. */
  get length(): number {
    return this.#frames ? this.#frames.length - this.#head : 0;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#heldBytes;
  }

  /** The `seq` of the oldest frame held; when empty, the `seq` the next frame will get. */
  get firstSeq(): number {
    return this.#first;
  }

  /** The `seq` the next appended frame gets. */
  get nextSeq(): number {
    return this.#first + this.length;
  }

  /**
   * True from half of either cap on: the buffer's high-water mark, where a session's `send()`
   * starts returning `false` so a sender that honours it never reaches the cap.
   */
  get pastHighWater(): boolean {
    return this.length >= this.maxFrames / 2 || this.#heldBytes >= this.maxBytes / 2;
  }

  /** True when a frame of `size` bytes would fit. */
  fits(size: number): boolean {
    return this.length < this.maxFrames && this.#heldBytes + size <= this.maxBytes;
  }

  /**
   * Appends a frame and returns its `seq`.
   * @throws {@link ReplayBufferFullError} if it does not fit; nothing changes then.
   */
  append(frame: T, size: number): number {
    if (!this.fits(size)) {
      throw new ReplayBufferFullError(
        `Replay buffer full: ${this.length} frames and ${this.#heldBytes} bytes unacknowledged, a frame of ${size} bytes would exceed ${this.maxFrames} frames or ${this.maxBytes} bytes`,
        {
          frames: this.length,
          bytes: this.#heldBytes,
          size,
          limit: { frames: this.maxFrames, bytes: this.maxBytes },
        },
      );
    }
    return this.push(frame, size);
  }

  /**
   * Appends a frame whose size became known only as it was written (the caller checked that the
   * buffer had room before): it may take the buffer past `maxBytes` by that one frame.
   * @internal
   */
  push(frame: T, size: number): number {
    (this.#frames ??= []).push(frame);
    (this.#sizes ??= []).push(size);
    this.#heldBytes += size;
    return this.nextSeq - 1;
  }

  /** Every frame held, oldest first. */
  held(): T[] {
    return this.#frames ? (this.#frames.slice(this.#head) as T[]) : [];
  }

  /** The frame numbered `seq`, or `undefined` when it is not held. */
  at(seq: number): T | undefined {
    if (typeof seq !== 'number') return undefined;
    const index = seq - this.#first;
    return index >= 0 && index < this.length ? this.#frames?.[this.#head + index] : undefined;
  }

  /** Drops every frame with `seq` ≤ `through` (an ack). Returns how many were dropped. */
  trim(through: number): number {
    const frames = this.#frames;
    const sizes = this.#sizes;
    if (!frames || !sizes) return 0;
    const count = Math.min(through - this.#first + 1, frames.length - this.#head);
    if (count <= 0) return 0;
    for (let i = this.#head, end = this.#head + count; i < end; i++) {
      this.#heldBytes -= sizes[i]!;
      frames[i] = undefined;
    }
    this.#head += count;
    this.#first += count;
    if (this.#head === frames.length) this.reset(this.#first);
    else if (this.#head >= 1024 && this.#head * 2 >= frames.length) {
      this.#frames = frames.slice(this.#head);
      this.#sizes = sizes.slice(this.#head);
      this.#head = 0;
    }
    return count;
  }

  /** Drops every frame and starts numbering again at `nextSeq` (1 by default). */
  reset(nextSeq = 1): void {
    this.#frames = undefined;
    this.#sizes = undefined;
    this.#head = 0;
    this.#first = nextSeq;
    this.#heldBytes = 0;
  }
}

/**
 * The unacknowledged outbound frames of one side of a resumable session, numbered by `seq` from 1.
 * `append` is O(1); `trim` (on an ack) is O(1) amortised per frame removed; `at(seq)` is O(1), so a
 * replay walks the buffer without copying it. A frame that would take it past `maxFrames` or
 * `maxBytes` is refused with {@link ReplayBufferFullError}: it never evicts anything, because an
 * evicted frame would be a silent gap. It does not measure frames itself: the caller passes each
 * frame's size. Storage is allocated on the first append and released when the buffer empties, so
 * an idle, fully acknowledged buffer costs a few fields.
 *
 * @typeParam T - the frames held.
 * @example
 * ```ts
 * import { ReplayBuffer } from 'rx-lifeline';
 * const buffer = new ReplayBuffer<string>({ maxFrames: 100 });
 * buffer.append('a', 3); // seq 1
 * buffer.append('b', 3); // seq 2
 * buffer.trim(1); // the peer acknowledged seq 1
 * console.log(buffer.firstSeq, buffer.at(2)); // 2 'b'
 * ```
 * @category Sessions
 */
export class ReplayBuffer<T> extends ReplayFrames<T> {
  /** @throws TypeError when a cap is not a positive integer, or an option is not one of the two. */
  constructor(options: ReplayBufferOptions = {}) {
    checkKnownOptions('ReplayBuffer', options, OPTIONS);
    const { maxBytes = 4 * 1024 * 1024, maxFrames = 65_536 } = options;
    super(
      checkNumber('ReplayBuffer', 'maxBytes', maxBytes, POSITIVE_INTEGER),
      checkNumber('ReplayBuffer', 'maxFrames', maxFrames, POSITIVE_INTEGER),
    );
  }

  /**
   * Appends a frame and returns its `seq`.
   * @throws {@link ReplayBufferFullError} if it does not fit; nothing changes then. TypeError when
   * `size` is not a number of bytes ≥ 0.
   */
  override append(frame: T, size: number): number {
    if (!isFrameSize(size)) {
      throw new TypeError(
        `ReplayBuffer.append: size must be a number of bytes ≥ 0, got ${describeValue(size)}`,
      );
    }
    return super.append(frame, size);
  }

  /**
   * Drops every frame with `seq` ≤ `through` (an ack). Returns how many were dropped.
   * @throws TypeError when `through` is not a whole number.
   */
  override trim(through: number): number {
    if (!Number.isInteger(through)) {
      throw new TypeError(`ReplayBuffer.trim: through must be a whole seq, got ${describeValue(through)}`);
    }
    return super.trim(through);
  }
}
