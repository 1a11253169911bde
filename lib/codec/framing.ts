import { describeError } from '../internal/describe-value.js';
import { FrameTooLargeError, ProtocolError, UNKNOWN_WRITE, type WriteReport } from '../core/errors.js';
import { concatBytes } from '../internal/bytes.js';
import {
  checkCodec,
  checkFunction,
  checkNumber,
  checkRequiredOptions,
  describe as describeValue,
  type KnownOptions,
} from '../internal/validate.js';
import type { BinarySlab } from './binary-slab.js';
import { slabDecoderOf, type Codec, type SlabDecoder } from './codec.js';

/**
 * The size of the length prefix: a 32-bit unsigned big-endian byte count of the body.
 *
 * @example
 * ```ts
 * import { LENGTH_PREFIX_BYTES } from 'rx-lifeline';
 * const wireBytes = (bodyBytes: number) => LENGTH_PREFIX_BYTES + bodyBytes;
 * ```
 * @category Codec
 */
export const LENGTH_PREFIX_BYTES = 4;

/**
 * The most bytes one WebSocket message carries when it holds several frames. A message holds either
 * one frame, of any size up to `maxFrameBytes`, or whole frames adding up to at most this: so a
 * receiver can refuse any message over `max(maxFrameBytes + 4, 64 KiB)` from its header alone,
 * whatever the sender's own limits. @internal
 */
export const MAX_BATCH_MESSAGE_BYTES = 64 * 1024;

/** The largest WebSocket message a receiver with this `maxFrameBytes` accepts. @internal */
export function maxMessageBytes(maxFrameBytes: number): number {
  return Math.max(maxFrameBytes + LENGTH_PREFIX_BYTES, MAX_BATCH_MESSAGE_BYTES);
}

/**
 * The default largest frame body, in bytes: 16 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAME_BYTES, memory } from 'rx-lifeline';
 * const endpoint = memory({ maxFrameBytes: DEFAULT_MAX_FRAME_BYTES / 16 }); // 1 MiB frames
 * ```
 * @category Codec
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Options of {@link FrameDecoder}.
 *
 * @example
 * ```ts
 * import { FrameDecoder, msgpackCodec, type FrameDecoderOptions } from 'rx-lifeline';
 * const options: FrameDecoderOptions<unknown> = { codec: msgpackCodec(), maxFrameBytes: 64 * 1024 };
 * const decoder = new FrameDecoder(options);
 * ```
 * @category Codec
 */
export interface FrameDecoderOptions<T> {
  /** Decodes each frame's body. */
  codec: Codec<T>;
  /**
   * The largest frame body accepted, in bytes. A prefix announcing more is rejected before any of
   * the body is buffered.
   * @default 16 MiB
   */
  maxFrameBytes?: number;
  /**
   * Supplies the write report attached to errors (a transport passes its link's report).
   * @default () => UNKNOWN_WRITE
   */
  writeReport?: () => WriteReport;
}

const OPTIONS: KnownOptions<FrameDecoderOptions<unknown>> = {
  codec: true,
  maxFrameBytes: true,
  writeReport: true,
};

/** What a decoder asks for the write report of its errors: a connection's link. @internal */
export interface WriteReporter {
  writeReport(): WriteReport;
}

/**
 * Decodes chunks that each hold whole length-prefixed frames (a WebSocket message does): a chunk
 * that ends inside a frame is a {@link ProtocolError} once the whole frames before it are
 * delivered. Between two chunks it holds nothing but the stream offset. It is the part of
 * {@link FrameDecoder} that reads whole frames, and all a WebSocket connection needs, so a browser
 * bundle carries no code for frames torn across chunks. Errors carry `reporter`'s write report.
 * @internal
 */
export class FrameReader<T> {
  readonly #codec: Codec<T>;
  /** The codec's slab decoder, if it has one (msgpackCodec's binaries of one read share slabs). */
  readonly #slabDecoder: SlabDecoder<T> | undefined;
  /** The slabs of the read under way, made at its first binary: an idle decoder holds none. */
  #slab: BinarySlab | undefined;
  readonly #maxFrameBytes: number;
  #reporter: WriteReporter;
  /** Stream offset of the first byte of the frame being read. */
  #frameOffset = 0;
  #failure: ProtocolError | undefined;

  /** `codec` and `maxFrameBytes` as checked by the caller. */
  constructor(codec: Codec<T>, maxFrameBytes: number, reporter: WriteReporter) {
    this.#codec = codec;
    this.#slabDecoder = slabDecoderOf(codec);
    this.#maxFrameBytes = maxFrameBytes;
    this.#reporter = reporter;
  }

  /** Stream offset of the next frame to start: the bytes consumed by complete frames. */
  get offset(): number {
    return this.#frameOffset;
  }

  /**
   * Feeds a chunk; calls `onFrame` for each frame it completes, in order. If `onFrame` throws, its
   * error propagates unchanged and the decoder is spent (the rest of the chunk is not read, so it
   * could not resume at a frame boundary): later calls throw a {@link ProtocolError}. If `onFrame`
   * disposes the decoder (the connection ended under it), `push` returns at once: the rest of the
   * chunk is neither decoded nor copied.
   */
  push(chunk: Uint8Array, onFrame: (frame: T) => void): void {
    this.throwIfSpent();
    try {
      this.read(chunk, onFrame);
    } finally {
      // The binaries of this chunk's frames share storage with none of the next chunk's.
      this.#slab = undefined;
    }
  }

  /**
   * Drops buffered bytes; the decoder accepts no more input. Called from inside `onFrame`, it also
   * stops the `push` under way.
   */
  dispose(): void {
    this.#failure ??= new ProtocolError('Decoder disposed', { offset: this.#frameOffset });
  }

  /**
   * True once the decoder failed or was disposed: it takes no more input.
   * @internal
   */
  get spent(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Goes on for the connection of `reporter`, as if `offset` bytes of whole frames had been read:
   * for a decoder that holds no unfinished frame and serves one message of a connection at a time.
   * @internal
   */
  lendTo(reporter: WriteReporter, offset: number): void {
    this.#reporter = reporter;
    this.#frameOffset = offset;
  }

  /** Throws the error that spent the decoder, if one did. @internal */
  protected throwIfSpent(): void {
    if (this.#failure) throw this.#failure;
  }

  /** The write report attached to errors. @internal */
  protected report(): WriteReport {
    return this.#reporter.writeReport();
  }

  /** Reads a chunk of whole frames. @internal */
  protected read(chunk: Uint8Array, onFrame: (frame: T) => void): void {
    const pos = this.readWhole(chunk, 0, onFrame);
    if (pos === chunk.length || this.spent) return;
    this.fail(
      new ProtocolError(
        `A WebSocket message ended inside the frame at offset ${this.#frameOffset} (${chunk.length - pos} bytes of it arrived): a frame never spans messages`,
        { offset: this.#frameOffset, write: this.report() },
      ),
    );
  }

  /**
   * Delivers the frames lying whole in `chunk` from `pos` on, checking each prefix it reads; returns
   * where the first frame not whole in it starts (the chunk's end when there is none), or stops at
   * once when `onFrame` disposed the decoder. @internal
   */
  protected readWhole(chunk: Uint8Array, pos: number, onFrame: (frame: T) => void): number {
    const end = chunk.length;
    while (end - pos >= LENGTH_PREFIX_BYTES) {
      const length = readLengthPrefix(chunk, pos);
      this.checkLength(length);
      const start = pos + LENGTH_PREFIX_BYTES;
      if (end - start < length) break;
      this.deliver(chunk, start, start + length, onFrame);
      if (this.spent) return end;
      pos = start + length;
    }
    return pos;
  }

  /** Throws when a prefix announces an empty frame or one over `maxFrameBytes`. @internal */
  protected checkLength(length: number): void {
    if (length > this.#maxFrameBytes) {
      this.fail(
        new FrameTooLargeError(
          `Frame at offset ${this.#frameOffset} announces ${length} bytes; the limit is ${this.#maxFrameBytes}`,
          { offset: this.#frameOffset, size: length, limit: this.#maxFrameBytes, write: this.report() },
        ),
      );
    }
    if (length === 0) {
      this.fail(
        new ProtocolError(`Empty frame at offset ${this.#frameOffset}: a frame body is never empty`, {
          offset: this.#frameOffset,
          write: this.report(),
        }),
      );
    }
  }

  /** Decodes the body at `source[start, end)` in place (no view is made when the codec allows). @internal */
  protected deliver(source: Uint8Array, start: number, end: number, onFrame: (frame: T) => void): void {
    let frame: T;
    const codec = this.#codec;
    const slabDecoder = this.#slabDecoder;
    try {
      if (slabDecoder) frame = slabDecoder.decode(source, start, end, (this.#slab ??= slabDecoder.slab()));
      else if (codec.decodeRange) frame = codec.decodeRange(source, start, end);
      else frame = codec.decode(source.subarray(start, end));
    } catch (cause) {
      this.fail(
        new ProtocolError(
          `Malformed frame at offset ${this.#frameOffset} (${end - start} bytes): ${describeError(cause)}`,
          { offset: this.#frameOffset, cause, write: this.report() },
        ),
      );
    }
    this.#frameOffset += LENGTH_PREFIX_BYTES + end - start;
    try {
      onFrame(frame);
    } catch (error) {
      this.#failure = new ProtocolError(
        `Decoder stopped at offset ${this.#frameOffset}: the frame callback threw, so the bytes after ` +
          'its frame were not read',
        { offset: this.#frameOffset, cause: error, write: this.report() },
      );
      throw error;
    }
  }

  /** Spends the decoder with `error`, and throws it. @internal */
  protected fail(error: ProtocolError): never {
    this.#failure = error;
    throw error;
  }
}

/**
 * Splits a byte stream into length-prefixed frames and decodes them, whatever the chunking: one
 * byte at a time, many frames per chunk, or a prefix torn across chunks all yield the same frames.
 *
 * Memory held is at most the bytes of one unfinished frame, and never more than `maxFrameBytes`
 * plus the prefix. Those bytes are copied, so the caller may reuse a chunk's buffer once `push`
 * returns, and a small remainder never keeps a large chunk alive. Errors are thrown from `push` or
 * `end` as {@link FrameTooLargeError} or {@link ProtocolError} naming the stream offset of the bad
 * frame; frames before it have already been delivered. After an error the decoder is spent and throws the same error again.
 *
 * @example
 * ```ts
 * import { FrameDecoder, encodeFrames, msgpackCodec } from 'rx-lifeline';
 * const codec = msgpackCodec<string>();
 * const decoder = new FrameDecoder({ codec });
 * const bytes = encodeFrames(codec, ['a', 'b']);
 * const got: string[] = [];
 * for (const byte of bytes) decoder.push(Uint8Array.of(byte), (frame) => got.push(frame));
 * decoder.end(); // throws if the stream stopped inside a frame
 * console.log(got); // ['a', 'b']
 * ```
 * @category Codec
 */
export class FrameDecoder<T> extends FrameReader<T> {
  /** The prefix bytes read so far, big-endian: a number, not a buffer, so an idle decoder is small. */
  #header = 0;
  #headerFill = 0;
  /** Body length of the frame being read, or -1 while reading a prefix. */
  #bodyLength = -1;
  /** The copied pieces of a body torn across chunks; none between frames (most of the time). */
  #parts: Uint8Array[] | undefined;
  #partBytes = 0;

  /**
   * @throws TypeError when `options` does not give a codec, has an option it does not know, or a
   * `maxFrameBytes` that is not an integer from 1 to 2^32 − 1.
   */
  constructor(options: FrameDecoderOptions<T>) {
    checkRequiredOptions('FrameDecoder', options, OPTIONS, 'codec', 'give the codec, as { codec }');
    const { codec, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES, writeReport } = options;
    checkCodec('FrameDecoder', codec, ['decode']);
    if (writeReport !== undefined) checkFunction('FrameDecoder', 'writeReport', writeReport);
    super(
      codec,
      checkMaxFrameBytes(maxFrameBytes, 'FrameDecoder'),
      writeReport ? { writeReport } : UNKNOWN_REPORTER,
    );
  }

  /** Bytes held for the unfinished frame (prefix included). */
  get bufferedBytes(): number {
    return this.#bodyLength < 0 ? this.#headerFill : LENGTH_PREFIX_BYTES + this.#partBytes;
  }

  /** Reads a chunk: the frames whole in it in place, a frame torn across chunks from copies. */
  protected override read(chunk: Uint8Array, onFrame: (frame: T) => void): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.#bodyLength < 0) {
        pos = this.#readPrefix(chunk, pos, onFrame);
        continue;
      }
      const missing = this.#bodyLength - this.#partBytes;
      if (this.#partBytes === 0 && end - pos >= missing) {
        // Only the prefix was torn: the body lies whole in this chunk, so decode it in place.
        this.#bodyLength = -1;
        this.deliver(chunk, pos, pos + missing, onFrame);
        if (this.spent) return;
        pos += missing;
        continue;
      }
      const take = Math.min(missing, end - pos);
      // A copy (not Buffer#slice, which is a view): the chunk's buffer belongs to the caller, who
      // may reuse it once push returns.
      (this.#parts ??= []).push(new Uint8Array(chunk.subarray(pos, pos + take)));
      this.#partBytes += take;
      pos += take;
      if (this.#partBytes === this.#bodyLength) {
        // The parts are copies this decoder made, so a single one can be used as it is.
        const body = concatBytes(this.#parts, this.#partBytes, true);
        this.#drop();
        this.deliver(body, 0, body.length, onFrame);
        if (this.spent) return;
      }
    }
  }

  /**
   * Between frames: delivers the frames whole in the chunk from `pos`, then starts the torn one
   * (its whole prefix, or one more byte of a torn prefix). Returns the position after what it read.
   */
  #readPrefix(chunk: Uint8Array, pos: number, onFrame: (frame: T) => void): number {
    const end = chunk.length;
    if (this.#headerFill === 0) {
      pos = this.readWhole(chunk, pos, onFrame);
      if (pos === end || this.spent) return end;
      if (end - pos >= LENGTH_PREFIX_BYTES) {
        // readWhole checked this prefix: its body is not whole in this chunk.
        this.#bodyLength = readLengthPrefix(chunk, pos);
        return pos + LENGTH_PREFIX_BYTES;
      }
    }
    this.#header = this.#header * 256 + chunk[pos]!;
    if (++this.#headerFill === LENGTH_PREFIX_BYTES) {
      this.checkLength(this.#header);
      this.#bodyLength = this.#header;
      this.#headerFill = 0;
      this.#header = 0;
    }
    return pos + 1;
  }

  /**
   * Declares the end of the stream. Throws a {@link ProtocolError} if it ended inside a frame
   * (`phase` says how the error is reported: `'close'` when the peer closed mid-frame).
   */
  end(phase: 'read' | 'close' = 'close'): void {
    this.throwIfSpent();
    const held = this.bufferedBytes;
    if (held === 0) return;
    const expected =
      this.#bodyLength < 0 ? 'a length prefix' : `${LENGTH_PREFIX_BYTES + this.#bodyLength} bytes`;
    this.#drop();
    this.fail(
      new ProtocolError(
        `Stream ended inside a frame at offset ${this.offset}: ${held} bytes of ${expected} arrived`,
        { offset: this.offset, write: this.report(), phase },
      ),
    );
  }

  /**
   * Drops buffered bytes; the decoder accepts no more input. Called from inside `onFrame`, it also
   * stops the `push` under way.
   */
  override dispose(): void {
    this.#drop();
    super.dispose();
  }

  /** Forgets the unfinished frame. */
  #drop(): void {
    this.#parts = undefined;
    this.#partBytes = 0;
    this.#bodyLength = -1;
    this.#headerFill = 0;
    this.#header = 0;
  }
}

/** The reporter of a decoder given no `writeReport`: one for every decoder. */
const UNKNOWN_REPORTER: WriteReporter = { writeReport: () => UNKNOWN_WRITE };

/**
 * Encodes frames with their length prefixes into one buffer, as a transport would write them. What
 * the codec throws is thrown; what it returns that is not a `Uint8Array` is a `TypeError`.
 *
 * @example
 * ```ts
 * import { encodeFrames, msgpackCodec } from 'rx-lifeline';
 * const bytes = encodeFrames(msgpackCodec(), [{ a: 1 }, 'two']);
 * console.log(bytes.length > 8); // true
 * ```
 * @category Codec
 */
export function encodeFrames<T>(codec: Codec<T>, frames: Iterable<T>): Uint8Array {
  checkCodec('encodeFrames', codec, ['encode']);
  if (typeof (frames as Partial<Iterable<T>> | null)?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`encodeFrames: frames must be iterable, got ${describeValue(frames)}`);
  }
  const bodies = Array.from(frames, (frame) => encodeBody(codec, frame));
  return joinFrames(bodies);
}

/**
 * `codec.encode(frame)`, checked: bytes (a Uint8Array of any realm, or a Buffer), or a TypeError
 * that says what the codec returned instead (a string would go out as that many zero bytes, an
 * ArrayBuffer or a number as nothing at all).
 * @internal
 */
export function encodeBody<T>(codec: Codec<T>, frame: T): Uint8Array {
  const body: unknown = codec.encode(frame);
  // This realm's first: the tag check (for another realm's bytes) costs more, on every frame.
  if (body instanceof Uint8Array) return body;
  if (ArrayBuffer.isView(body) && Object.prototype.toString.call(body) === '[object Uint8Array]') {
    return body as Uint8Array;
  }
  throw new TypeError(`codec.encode must return a Uint8Array, it returned ${describeValue(body)}`);
}

/** Writes `bodies` with their length prefixes into one new buffer. @internal */
export function joinFrames(bodies: readonly Uint8Array[], totalBodyBytes?: number): Uint8Array {
  let total = 0;
  if (totalBodyBytes === undefined) for (const body of bodies) total += body.length;
  else total = totalBodyBytes;
  const out = new Uint8Array(total + LENGTH_PREFIX_BYTES * bodies.length);
  let pos = 0;
  for (const body of bodies) {
    writeLengthPrefix(out, pos, body.length);
    out.set(body, pos + LENGTH_PREFIX_BYTES);
    pos += LENGTH_PREFIX_BYTES + body.length;
  }
  return out;
}

/** Validates a `maxFrameBytes` option. @internal */
export function checkMaxFrameBytes(value: number, where: string): number {
  return checkNumber(where, 'maxFrameBytes', value, { min: 1, integer: true, max: 0xffffffff });
}

/** The body length in the 32-bit big-endian prefix at `at`. @internal */
export function readLengthPrefix(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** Writes a body's length as the 32-bit big-endian prefix at `at`. @internal */
export function writeLengthPrefix(out: Uint8Array, at: number, length: number): void {
  out[at] = length >>> 24;
  out[at + 1] = (length >>> 16) & 0xff;
  out[at + 2] = (length >>> 8) & 0xff;
  out[at + 3] = length & 0xff;
}
