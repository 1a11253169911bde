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
  private readonly header = new Uint8Array(14);
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
        this.header[this.headerFill++] = chunk[pos++]!;
        this.held++;
        if (this.headerFill === 2) this.headerSize = headerSizeOf(this.header);
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

  private startPayload(): void {
    const { header } = this;
    this.final = (header[0]! & 0x80) !== 0;
    this.control = (header[0]! & 0x08) !== 0;
    const short = header[1]! & 0x7f;
    if (short === 126) this.payloadLeft = (header[2]! << 8) | header[3]!;
    else if (short === 127) {
      const high = ((header[2]! << 24) | (header[3]! << 16) | (header[4]! << 8) | header[5]!) >>> 0;
      const low = ((header[6]! << 24) | (header[7]! << 16) | (header[8]! << 8) | header[9]!) >>> 0;
      this.payloadLeft = high * 2 ** 32 + low;
    } else this.payloadLeft = short;
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

/** The header's size from its first two bytes: 2, plus 2 or 8 for a long length, plus a mask. */
function headerSizeOf(header: Uint8Array): number {
  const short = header[1]! & 0x7f;
  const extended = short === 126 ? 2 : short === 127 ? 8 : 0;
  return 2 + extended + ((header[1]! & 0x80) !== 0 ? 4 : 0);
}
