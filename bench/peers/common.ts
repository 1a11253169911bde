// Shared types and helpers of the peer benchmark (`npm run bench:peers`): lifeline measured beside
// socket.io, partysocket, RxJS webSocket() and raw node:net / ws, in one run.

/** Options every section of the peer benchmark takes. */
export interface PeersOptions {
  /** Seed for every random choice a section makes (payload bytes, jitter, cut times). */
  seed: number;
  /** Measured runs per case; the tables show medians. */
  runs: number;
  /** A short smoke run: fewer frames, sessions and in-flight levels. */
  quick: boolean;
}

/** One section of the report: a title, its Markdown (tables and notes) and an optional chart. */
export interface Section {
  title: string;
  markdown: string;
  /** A chart written next to bench/results/peers.md; `file` is a bare file name. */
  svg?: { file: string; content: string };
}

/** The two payload sizes every system is measured with. */
export const PAYLOAD_SIZES = [64, 1024] as const;

/** What a table cell says where a system cannot do what the row measures. */
export const NO_ACKS = '— (no acks)';

/** The transport a system runs on; its ratios are against the batched raw baseline of that transport. */
export type Wire = 'TCP' | 'WebSocket';

/** A socket's buffered bytes past which a sender waits for it to drain. */
export const HIGH_WATER = 1024 * 1024;

export const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Raw bytes of a message as `ws`, socket.io or a DOM-style socket deliver them, for msgpackr. */
export function bytesOf(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]); // ws 'fragments'
  throw new TypeError(`bench/peers: expected binary message data, got ${typeof data}`);
}

/** `bodies`, each behind its 4-byte big-endian length, in one buffer. */
export function frameAll(bodies: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const body of bodies) total += 4 + body.length;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const body of bodies) {
    out.writeUInt32BE(body.length, pos);
    out.set(body, pos + 4);
    pos += 4 + body.length;
  }
  return out;
}

/**
 * Splits a byte stream of length-prefixed bodies, as a careful user would: a body that lies whole
 * in a chunk is handed on in place (a view), and only a body torn across chunks is copied, once,
 * into a buffer of its own size. (Joining the rest of a chunk to a torn body's bytes would copy
 * every byte received once more.)
 */
export class LengthPrefixedReader {
  /** The torn body (or prefix) being completed, and how many of its bytes have arrived. */
  private torn: Uint8Array | undefined;
  private tornFill = 0;
  private readonly prefix = new Uint8Array(4);
  private prefixFill = 0;

  push(chunk: Uint8Array, onBody: (body: Uint8Array) => void): void {
    let pos = this.finishTorn(chunk, onBody);
    while (chunk.length - pos >= 4) {
      const length = readLength(chunk, pos);
      if (chunk.length - pos - 4 < length) break;
      onBody(chunk.subarray(pos + 4, pos + 4 + length));
      pos += 4 + length;
    }
    if (pos === chunk.length) return;
    if (chunk.length - pos < 4) {
      this.prefix.set(chunk.subarray(pos));
      this.prefixFill = chunk.length - pos;
      return;
    }
    this.torn = new Uint8Array(readLength(chunk, pos));
    this.torn.set(chunk.subarray(pos + 4));
    this.tornFill = chunk.length - pos - 4;
  }

  /** Completes a torn prefix or body from the head of `chunk`; returns where the chunk's own frames start. */
  private finishTorn(chunk: Uint8Array, onBody: (body: Uint8Array) => void): number {
    let pos = 0;
    if (this.prefixFill > 0) {
      const take = Math.min(4 - this.prefixFill, chunk.length);
      this.prefix.set(chunk.subarray(0, take), this.prefixFill);
      this.prefixFill += take;
      pos = take;
      if (this.prefixFill < 4) return pos;
      this.prefixFill = 0;
      this.torn = new Uint8Array(readLength(this.prefix, 0));
      this.tornFill = 0;
    }
    const torn = this.torn;
    if (torn === undefined) return pos;
    const take = Math.min(torn.length - this.tornFill, chunk.length - pos);
    torn.set(chunk.subarray(pos, pos + take), this.tornFill);
    this.tornFill += take;
    if (this.tornFill < torn.length) return chunk.length;
    this.torn = undefined;
    onBody(torn);
    return pos + take;
  }
}

function readLength(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/**
 * The version in an installed package's package.json (read from the project's node_modules, since
 * some packages' export maps hide their package.json), or 'not installed'.
 */
export async function packageVersion(name: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const root = new URL('../../', import.meta.url);
  const path = name === 'rx-lifeline' ? 'package.json' : `node_modules/${name}/package.json`;
  try {
    return (JSON.parse(await readFile(new URL(path, root), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** A ratio as the tables print it: `0.42×`. */
export function formatRatio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)}×`;
}

/** One bar of a chart. */
export interface Bar {
  label: string;
  value: number;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar chart as a standalone SVG, each bar labelled with its formatted value. */
export function barChartSvg(title: string, bars: readonly Bar[], format: (value: number) => string): string {
  const rowHeight = 22;
  const labelWidth = 330;
  const plotWidth = 420;
  const top = 34;
  const height = top + bars.length * rowHeight + 12;
  const max = Math.max(...bars.map((b) => b.value), Number.MIN_VALUE);
  const rows = bars.map((bar, i) => {
    const y = top + i * rowHeight;
    const width = Math.max(1, (bar.value / max) * plotWidth);
    return [
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${width.toFixed(1)}" height="${rowHeight - 6}" fill="#3b6ea5"/>`,
      `<text x="${(labelWidth + width + 6).toFixed(1)}" y="${y + 15}">${escapeXml(format(bar.value))}</text>`,
    ].join('');
  });
  const width = labelWidth + plotWidth + 90;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="8" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    ...rows,
    '</svg>',
    '',
  ].join('\n');
}
