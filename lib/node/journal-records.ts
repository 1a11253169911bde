/**
 * The log format of {@link fileJournal}: its records, how a log replays into a journal's state, and
 * that state written back as records (for compaction).
 * @internal
 * @packageDocumentation
 */
import { msgpackCodec } from '../codec/codec.js';
import type { Codec } from '../core/codec.js';
import { isLayerOwnFrame, layerOwnFrame } from '../internal/layer-own-frame.js';
import { describeError } from '../internal/describe-value.js';
import { memoryJournal, type JournalState } from '../protocol/resumable/journal.js';
import { crc32 } from './crc32.js';
import { JournalError } from './journal-errors.js';

const SESSION = 1;
const SENT = 2;
const ACKED = 3;
const RECEIVED = 4;
const CLEAR = 5;

/** The fourth field of a `sent` record whose frame a protocol layer sent for itself. */
const LAYER_OWN = 1;

/** Bytes before a record's body: its length and its CRC-32, both u32 big-endian. */
const HEADER = 8;

/**
 * The state a file journal keeps in memory: a {@link memoryJournal}, and the `received` that
 * `restore()` does not show while nothing else is kept, which compaction must keep all the same.
 */
export class JournalMirror {
  readonly memory = memoryJournal();
  /** False while the state is empty but for `received` (restore() says undefined). */
  #visible = false;
  /** `received` while not visible. */
  #hiddenReceived = 0;

  session(id: string, token: string): void {
    this.memory.session(id, token);
    this.#visible = true;
  }

  sent(seq: number, frame: unknown): void {
    this.memory.sent(seq, frame);
    this.#visible = true;
  }

  acked(seq: number): void {
    this.memory.acked(seq);
  }

  received(seq: number): void {
    this.memory.received(seq);
    if (!this.#visible && seq > this.#hiddenReceived) this.#hiddenReceived = seq;
  }

  clear(): void {
    this.memory.clear();
    this.#visible = false;
    this.#hiddenReceived = 0;
  }

  get hiddenReceived(): number {
    return this.#hiddenReceived;
  }
}

/** The record of one call of a session journal, as fields. */
export const records = {
  session: (id: string, token: string): unknown[] => [SESSION, id, token],
  /** `[2, seq, frame]`, with a fourth field `1` for a layer's own frame. */
  sent: (seq: number, frame: unknown): unknown[] =>
    isLayerOwnFrame(frame) ? [SENT, seq, frame, LAYER_OWN] : [SENT, seq, frame],
  acked: (seq: number): unknown[] => [ACKED, seq],
  received: (seq: number): unknown[] => [RECEIVED, seq],
  clear: (): unknown[] => [CLEAR],
};

/** Encodes and decodes the records of one journal file, each at most `maxRecordBytes`. */
export class JournalRecords {
  readonly #codec: Codec<unknown> = msgpackCodec({ int64AsType: 'number', maxInflation: Infinity });

  constructor(
    /** The file, for messages. */
    readonly path: string,
    readonly maxRecordBytes: number,
  ) {}

  /** One record's bytes: length, CRC-32, body. Throws a JournalError for what it cannot keep. */
  encode(fields: unknown[]): Buffer {
    let body: Uint8Array;
    try {
      body = this.#codec.encode(fields);
    } catch (error) {
      throw new JournalError(
        `fileJournal: a frame MessagePack cannot carry (${describeError(error)}); nothing was kept in ${this.path}`,
        { path: this.path, reason: 'unencodable', cause: error },
      );
    }
    if (body.length > this.maxRecordBytes) {
      throw new JournalError(
        `fileJournal: a record of ${body.length} bytes is over maxRecordBytes (${this.maxRecordBytes}); ` +
          `nothing was kept in ${this.path}: send smaller frames or raise maxRecordBytes`,
        { path: this.path, reason: 'too-large' },
      );
    }
    const out = Buffer.allocUnsafe(HEADER + body.length);
    out.writeUInt32BE(body.length, 0);
    out.writeUInt32BE(crc32(body), 4);
    out.set(body, HEADER);
    return out;
  }

  /**
   * Applies the records of `buffer` (its first `length` bytes) to `mirror`, up to the first one cut
   * short, failing its CRC or not decoding to a record; returns where that one starts.
   */
  replay(buffer: Buffer, length: number, mirror: JournalMirror): number {
    let at = 0;
    while (at + HEADER <= length) {
      const size = buffer.readUInt32BE(at);
      if (size > this.maxRecordBytes || at + HEADER + size > length) break;
      const start = at + HEADER;
      if (crc32(buffer, start, start + size) !== buffer.readUInt32BE(at + 4)) break;
      let body: unknown;
      try {
        body = this.#codec.decodeRange!(buffer, start, start + size);
      } catch {
        break;
      }
      if (!applyRecord(body, mirror)) break;
      at = start + size;
    }
    return at;
  }

  /**
   * The records that rebuild `mirror`'s state: the session, the last acknowledged frame, the
   * unacknowledged ones and what was received.
   */
  snapshot(mirror: JournalMirror): Buffer[] {
    const state: JournalState | undefined = mirror.memory.restore();
    if (state === undefined) {
      return mirror.hiddenReceived > 0 ? [this.encode(records.received(mirror.hiddenReceived))] : [];
    }
    const out: Buffer[] = [];
    if (state.session !== undefined) out.push(this.encode([SESSION, state.session, state.token]));
    // The last acknowledged frame first, retired at once: it keeps `lastAcked`, which tells a
    // restarted application what was delivered (and `lastSeq` when no frame is left: frames leave
    // only through an acknowledgement, so a state with none and a lastSeq has a lastAcked).
    const { lastAcked } = state;
    if (lastAcked !== undefined) {
      out.push(
        this.encode([SENT, lastAcked.seq, lastAcked.frame]),
        this.encode(records.acked(lastAcked.seq)),
      );
    }
    // Frames a layer sent for itself after it, all acknowledged: one stands in for them, so that
    // `lastSeq` survives without replacing `lastAcked`.
    const ackedThrough = (state.frames[0]?.seq ?? state.lastSeq + 1) - 1;
    if (ackedThrough > (lastAcked?.seq ?? 0)) {
      out.push(this.encode([SENT, ackedThrough, [], LAYER_OWN]), this.encode(records.acked(ackedThrough)));
    }
    for (const { seq, frame } of state.frames) out.push(this.encode(records.sent(seq, frame)));
    if (state.received > 0) out.push(this.encode(records.received(state.received)));
    return out;
  }
}

/** Applies one decoded record to `mirror`; false when it is not a record. */
function applyRecord(body: unknown, mirror: JournalMirror): boolean {
  if (!Array.isArray(body)) return false;
  const [kind, a, b] = body as unknown[];
  switch (kind) {
    case SESSION:
      if (body.length !== 3 || typeof a !== 'string' || typeof b !== 'string') return false;
      mirror.session(a, b);
      return true;
    case SENT:
      return applySent(body, mirror);
    case ACKED:
    case RECEIVED:
      if (body.length !== 2 || !isSeq(a, 0)) return false;
      if (kind === ACKED) mirror.acked(a);
      else mirror.received(a);
      return true;
    case CLEAR:
      if (body.length !== 1) return false;
      mirror.clear();
      return true;
    default:
      return false;
  }
}

function applySent(body: unknown[], mirror: JournalMirror): boolean {
  const [, seq, frame] = body;
  if (!isSeq(seq, 1)) return false;
  if (body.length === 3) mirror.sent(seq, frame);
  else if (body.length === 4 && body[3] === LAYER_OWN && typeof frame === 'object' && frame !== null) {
    mirror.sent(seq, layerOwnFrame(frame));
  } else return false;
  return true;
}

/** Whether `value` is a sequence number of at least `min`. */
function isSeq(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}
