import { concatBytes } from '../internal/bytes.js';

/**
 * The WebSocket protocol (RFC 6455) as lifeline's server speaks it: the frames a client sends,
 * read without buffering more than the message in progress, and the frames the server sends.
 * lifeline's frames travel in binary messages, so no extension is negotiated and a text message is
 * refused from its first header, unread.
 * @internal
 */

/** Opcodes (RFC 6455 §5.2). */
const CONTINUATION = 0x0;
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

/** Close codes a reader fails a client with (RFC 6455 §7.4.1). */
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_TOO_BIG = 1009;
/** What a close frame without a code reports (never sent). */
export const CLOSE_NO_CODE = 1005;

/** The largest control frame payload. */
const MAX_CONTROL_PAYLOAD = 125;

/**
 * Bytes from a client that are not a valid frame, or a message over the reader's limit: reading
 * stops and the connection closes with `closeCode`. @internal
 */
export interface FrameViolation {
  readonly closeCode: number;
  /** What was wrong, for the error's message. */
  readonly reason: string;
  /** The message's announced size, when it was over the limit. */
  readonly size?: number;
}

/** What a {@link WebSocketReader} tells its connection. Each method that ends reading returns nothing more. @internal */
export interface FrameSink {
  /** A whole binary message, unmasked: a view of the bytes read, or a copy when it spanned reads. */
  message(data: Uint8Array): void;
  /** A text message started. lifeline refuses it unread; reading stops. */
  text(): void;
  /** A ping: the connection answers with a pong carrying `payload`. */
  ping(payload: Uint8Array): void;
  /** A close frame: its code (1005 when it has none) and reason. Reading stops. */
  closeFrame(code: number, reason: string): void;
  /** Bytes that are not a valid client frame, or a message over the limit. Reading stops. */
  violation(violation: FrameViolation): void;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the frames of one client connection, chunk by chunk, whatever the chunks' boundaries:
 * header bytes one at a time into numbers, payloads unmasked in place and handed out as views when
 * a message arrived in one chunk. Every rule of RFC 6455 §5 a server must check is checked (masked
 * frames, no reserved bits or opcodes, control frames short and whole, continuations only inside a
 * message, valid close codes and UTF-8 reasons), and a message is refused from its header when it
 * would be over `maxMessageBytes`, before its payload is buffered.
 *
 * Between messages a reader holds nothing a connection needs ({@link WebSocketReader.resting}): the
 * connections of a server share one then, and a connection keeps a reader only while a message or
 * a frame header is unfinished, the way {@link MessageDecoders} lends decoders.
 * @internal
 */
export class WebSocketReader {
  /** Bytes read since the client was last between messages: what its unfinished message holds. */
  held = 0;
  /** How many times the client was between messages: a new value means a new message started. */
  rests = 0;
  #first = 0;
  #second = 0;
  /** The extended payload length read so far, big-endian. */
  #extended = 0;
  #mask = 0;
  #headerFill = 0;
  #headerSize = 2;
  #payloadLeft = 0;
  /** Payload bytes of the current frame unmasked so far: where in the mask key the next one is. */
  #maskAt = 0;
  /** The opcode of the data message in progress, or -1 between messages. */
  #messageOpcode = -1;
  #messageBytes = 0;
  /** The payload parts of the message in progress, or of the control frame being read. */
  #parts: Uint8Array[] | undefined;
  #controlParts: Uint8Array[] | undefined;

  /** Reads `chunk`; false once reading must stop (a close frame, a text message, a violation). */
  push(chunk: Uint8Array, sink: FrameSink, maxMessageBytes: number): boolean {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      // A frame with an empty payload ends with its header: no payload left means a header next.
      if (this.#payloadLeft === 0) {
        this.#headerByte(chunk[pos++]!);
        this.held++;
        if (this.#headerFill < this.#headerSize) continue;
        if (!this.#startFrame(sink, maxMessageBytes)) return false;
        if (this.#payloadLeft === 0 && !this.#endFrame(sink)) return false;
        continue;
      }
      const take = Math.min(this.#payloadLeft, end - pos);
      const payload = chunk.subarray(pos, pos + take);
      pos += take;
      this.held += take;
      this.#payloadLeft -= take;
      this.#unmask(payload);
      if (this.#isControl()) (this.#controlParts ??= []).push(payload);
      else (this.#parts ??= []).push(payload);
      if (this.#payloadLeft === 0 && !this.#endFrame(sink)) return false;
    }
    return true;
  }

  /** Holds no unfinished frame or message: it can serve another connection. */
  get resting(): boolean {
    return this.held === 0;
  }

  #headerByte(byte: number): void {
    const fill = ++this.#headerFill;
    if (fill === 1) this.#first = byte;
    else if (fill === 2) {
      this.#second = byte;
      this.#extended = 0;
      this.#mask = 0;
      this.#headerSize = headerSizeOf(byte);
    } else if (fill <= 2 + extendedBytes(this.#second)) {
      this.#extended = this.#extended * 256 + byte;
    } else {
      this.#mask = ((this.#mask << 8) | byte) >>> 0;
    }
  }

  #isControl(): boolean {
    return (this.#first & 0x08) !== 0;
  }

  /** The header is whole: checks it, and starts the frame's payload. False when reading stops. */
  #startFrame(sink: FrameSink, maxMessageBytes: number): boolean {
    this.#headerFill = 0;
    this.#headerSize = 2;
    this.#maskAt = 0;
    const short = this.#second & 0x7f;
    const length = short >= 126 ? this.#extended : short;
    this.#payloadLeft = length;
    const wrong = this.#wrongHeader(short, length);
    if (wrong !== undefined) return fail(sink, CLOSE_PROTOCOL_ERROR, wrong);
    const opcode = this.#first & 0x0f;
    if (opcode === TEXT) {
      sink.text();
      return false;
    }
    if (this.#isControl()) return true;
    if (opcode === BINARY) this.#messageOpcode = BINARY;
    const size = this.#messageBytes + length;
    if (size > maxMessageBytes) {
      sink.violation({
        closeCode: CLOSE_TOO_BIG,
        reason: `a message of at least ${size} bytes, over the ${maxMessageBytes} a message may carry here`,
        size,
      });
      return false;
    }
    this.#messageBytes = size;
    return true;
  }

  /** What is wrong with the header just read, if anything. */
  #wrongHeader(short: number, length: number): string | undefined {
    const first = this.#first;
    const opcode = first & 0x0f;
    if ((first & 0x70) !== 0) return 'a frame with a reserved bit set (no extension was agreed)';
    if ((this.#second & 0x80) === 0) return 'an unmasked frame (a client masks every frame)';
    if (short === 127 && this.#extended > Number.MAX_SAFE_INTEGER)
      return 'a frame length with its most significant bit set';
    if (this.#isControl()) {
      if (opcode !== CLOSE && opcode !== PING && opcode !== PONG) return `reserved opcode ${opcode}`;
      if ((first & 0x80) === 0) return 'a fragmented control frame';
      if (length > MAX_CONTROL_PAYLOAD) return `a control frame of ${length} bytes (at most 125)`;
      return undefined;
    }
    if (opcode === CONTINUATION)
      return this.#messageOpcode === -1 ? 'a continuation frame outside a message' : undefined;
    if (opcode !== TEXT && opcode !== BINARY) return `reserved opcode ${opcode}`;
    if (this.#messageOpcode !== -1) return 'a new message before the last one was whole';
    return undefined;
  }

  /** Unmasks in place, four bytes a round (the key's bytes rotated to where this part starts). */
  #unmask(payload: Uint8Array): void {
    const mask = this.#mask;
    const from = this.#maskAt;
    const k0 = maskByte(mask, from);
    const k1 = maskByte(mask, from + 1);
    const k2 = maskByte(mask, from + 2);
    const k3 = maskByte(mask, from + 3);
    const length = payload.length;
    let i = 0;
    for (; i + 4 <= length; i += 4) {
      payload[i]! ^= k0;
      payload[i + 1]! ^= k1;
      payload[i + 2]! ^= k2;
      payload[i + 3]! ^= k3;
    }
    for (; i < length; i++) payload[i]! ^= maskByte(mask, from + i);
    this.#maskAt = from + length;
  }

  /** The frame's payload is whole. False when reading stops. */
  #endFrame(sink: FrameSink): boolean {
    const fin = (this.#first & 0x80) !== 0;
    if (this.#isControl()) return this.#endControl(sink);
    if (!fin) return true;
    const data = joined(this.#parts);
    this.#parts = undefined;
    this.#messageOpcode = -1;
    this.#messageBytes = 0;
    this.#rest();
    sink.message(data);
    return true;
  }

  #endControl(sink: FrameSink): boolean {
    const payload = joined(this.#controlParts);
    this.#controlParts = undefined;
    if (this.#messageOpcode === -1) this.#rest();
    const opcode = this.#first & 0x0f;
    if (opcode === CLOSE) return closeOf(sink, payload);
    if (opcode === PING) sink.ping(payload);
    return true;
  }

  #rest(): void {
    this.held = 0;
    this.rests++;
  }
}

function fail(sink: FrameSink, closeCode: number, reason: string): false {
  sink.violation({ closeCode, reason });
  return false;
}

/** Reads a close frame's payload: nothing, or a valid code and a UTF-8 reason. Always false. */
function closeOf(sink: FrameSink, payload: Uint8Array): false {
  if (payload.length === 0) {
    sink.closeFrame(CLOSE_NO_CODE, '');
    return false;
  }
  if (payload.length === 1) return fail(sink, CLOSE_PROTOCOL_ERROR, 'a close frame of 1 byte');
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code))
    return fail(sink, CLOSE_PROTOCOL_ERROR, `close code ${code}, which no peer sends`);
  let reason: string;
  try {
    reason = fatalUtf8.decode(payload.subarray(2));
  } catch {
    return fail(sink, CLOSE_INVALID_DATA, 'a close reason that is not UTF-8');
  }
  sink.closeFrame(code, reason);
  return false;
}

/** Codes a peer may send in a close frame (RFC 6455 §7.4.1 and the IANA registry, as `ws` checks). */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

/** One view for `parts`: the part itself when there is one, a copy of them all otherwise. */
function joined(parts: Uint8Array[] | undefined): Uint8Array {
  if (parts === undefined) return EMPTY;
  let size = 0;
  for (const part of parts) size += part.length;
  return concatBytes(parts, size, true);
}

const EMPTY = new Uint8Array(0);

/** The byte of the 4-byte mask key `mask` (big-endian) that masks payload byte `at`. */
function maskByte(mask: number, at: number): number {
  return (mask >>> ((3 - (at & 3)) << 3)) & 0xff;
}

/** The header's size from its second byte: 2, plus 2 or 8 for a long length, plus a mask. */
function headerSizeOf(second: number): number {
  return 2 + extendedBytes(second) + ((second & 0x80) !== 0 ? 4 : 0);
}

/** The bytes of the extended payload length that follow a second header byte: 0, 2 or 8. */
function extendedBytes(second: number): number {
  const short = second & 0x7f;
  return short === 126 ? 2 : short === 127 ? 8 : 0;
}

/** The header of an unmasked frame (a server's) with FIN set: 2, 4 or 10 bytes, written at `into[at]`. */
function writeHeader(into: Uint8Array, at: number, opcode: number, length: number): number {
  into[at] = 0x80 | opcode;
  if (length < 126) {
    into[at + 1] = length;
    return 2;
  }
  if (length < 0x10000) {
    into[at + 1] = 126;
    into[at + 2] = length >>> 8;
    into[at + 3] = length & 0xff;
    return 4;
  }
  into[at + 1] = 127;
  const high = Math.floor(length / 0x100000000);
  const low = length >>> 0;
  for (let i = 0; i < 4; i++) into[at + 2 + i] = (high >>> ((3 - i) * 8)) & 0xff;
  for (let i = 0; i < 4; i++) into[at + 6 + i] = (low >>> ((3 - i) * 8)) & 0xff;
  return 10;
}

/** The bytes of a header for a payload of `length`. */
export function headerBytes(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10;
}

/** A whole server frame: header and payload in one buffer. */
export function serverFrame(opcode: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(headerBytes(payload.length) + payload.length);
  out.set(payload, writeHeader(out, 0, opcode, payload.length));
  return out;
}

/** The header alone of a binary server frame of `length` bytes, sent before a large payload. */
export function binaryHeader(length: number): Buffer {
  const out = Buffer.allocUnsafe(headerBytes(length));
  writeHeader(out, 0, BINARY, length);
  return out;
}

/** A close frame with `code` and `reason` (at most 123 bytes of UTF-8: the caller trims it), or none. */
export function closeFrame(code: number | undefined, reason = ''): Buffer {
  if (code === undefined) return serverFrame(CLOSE, EMPTY);
  const text = Buffer.from(reason, 'utf8');
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  payload.set(text, 2);
  return serverFrame(CLOSE, payload);
}

export { BINARY as BINARY_OPCODE, PONG as PONG_OPCODE };
