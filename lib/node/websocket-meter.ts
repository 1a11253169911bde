/**
 * Follows the WebSocket frames a peer sends, on the raw socket beside `ws`, without buffering any
 * of them: it tells how many bytes of an unfinished message `ws` is holding, which `ws` does not
 * expose. A message is unfinished from the first byte of its first frame to the last byte of its
 * final fragment; control frames inside it count with it. Only lengths are read (RFC 6455 §5.2),
 * never payloads: `ws` itself judges whether the frames are valid.
 * @internal
 */
export class WebSocketMeter {
  /** Bytes received since the peer was last between messages. */
  held = 0;
  /** How many times the peer was between messages: a new value means a new message started. */
  rests = 0;
  /** The header's first byte (FIN, opcode) and second (mask bit, short length): numbers, no buffer. */
  private first = 0;
  private second = 0;
  /** The extended payload length read so far, big-endian. */
  private extended = 0;
  private headerFill = 0;
  private headerSize = 2;
  private payloadLeft = 0;
  private inPayload = false;
  private final = false;
  private control = false;
  /** A data frame without FIN arrived: the message goes on in continuation frames. */
  private fragmented = false;

  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (!this.inPayload) {
        this.headerByte(chunk[pos++]!);
        this.held++;
        if (this.headerFill < this.headerSize) continue;
        this.startPayload();
        continue;
      }
      const take = Math.min(this.payloadLeft, chunk.length - pos);
      pos += take;
      this.held += take;
      this.payloadLeft -= take;
      if (this.payloadLeft === 0) this.frameDone();
    }
  }

  /** Reads one header byte: the first two, then the extended length; the mask key is skipped. */
  private headerByte(byte: number): void {
    const fill = ++this.headerFill;
    if (fill === 1) this.first = byte;
    else if (fill === 2) {
      this.second = byte;
      this.extended = 0;
      this.headerSize = headerSizeOf(byte);
    } else if (fill <= 2 + extendedBytes(this.second)) {
      this.extended = this.extended * 256 + byte;
    }
  }

  private startPayload(): void {
    this.final = (this.first & 0x80) !== 0;
    this.control = (this.first & 0x08) !== 0;
    const short = this.second & 0x7f;
    this.payloadLeft = short >= 126 ? this.extended : short;
    this.headerFill = 0;
    this.headerSize = 2;
    this.inPayload = true;
    if (this.payloadLeft === 0) this.frameDone();
  }

  private frameDone(): void {
    this.inPayload = false;
    if (!this.control) this.fragmented = !this.final;
    if (this.fragmented) return;
    this.held = 0;
    this.rests++;
  }
}

/** The meter of every connection between messages: it stays between messages, or leaves with one. */
let resting = new WebSocketMeter();

/**
 * Pushes `chunk` to a connection's `meter`, or to the meter shared by the connections between
 * messages when it has none, and returns the meter that read it. Only a meter left inside a
 * message (`held > 0`) is the connection's to keep: a shared one then becomes its own, and the
 * others share a new one. So a connection holds a meter only while a message is unfinished.
 * @internal
 */
export function pushMetered(meter: WebSocketMeter | undefined, chunk: Uint8Array): WebSocketMeter {
  if (meter) {
    meter.push(chunk);
    return meter;
  }
  const shared = resting;
  shared.push(chunk);
  if (shared.held > 0) resting = new WebSocketMeter();
  return shared;
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
