import { createHash } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** The GUID a server appends to the client's key (RFC 6455 §1.3). */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A key is 16 random bytes in base64. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** A subprotocol is an HTTP token (RFC 7230 §3.2.6). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** An upgrade request refused: its HTTP status, a body that says why, extra headers. @internal */
export interface UpgradeRefusal {
  readonly status: number;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** An upgrade request accepted: the 101 response to write, and the subprotocol chosen. @internal */
export interface UpgradeAnswer {
  readonly response: string;
  readonly protocol: string;
}

/**
 * Checks a WebSocket upgrade request (RFC 6455 §4.2.1), as the `ws` package does: a GET, with
 * `Upgrade: websocket`, a valid `Sec-WebSocket-Key`, version 13 (or 8), on `path` when one is set,
 * and well-formed subprotocols. Returns the 101 response, choosing the first subprotocol offered,
 * and no extension (lifeline compresses nothing); or the refusal to send.
 * @internal
 */
export function answerUpgrade(
  request: IncomingMessage,
  path: string | undefined,
): UpgradeAnswer | UpgradeRefusal {
  const { headers } = request;
  const key = headers['sec-websocket-key'];
  const version = Number(headers['sec-websocket-version']);
  if (request.method !== 'GET') return { status: 405, message: 'Invalid HTTP method' };
  if (headers.upgrade?.toLowerCase() !== 'websocket')
    return { status: 400, message: 'Invalid Upgrade header' };
  if (key === undefined || !KEY.test(key))
    return { status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' };
  if (version !== 13 && version !== 8) {
    return {
      status: 400,
      message: 'Missing or invalid Sec-WebSocket-Version header',
      headers: { 'Sec-WebSocket-Version': '13, 8' },
    };
  }
  if (path !== undefined && pathOf(request.url ?? '/') !== path)
    return { status: 400, message: STATUS_CODES[400]! };
  const protocols = subprotocols(headers['sec-websocket-protocol']);
  if (protocols === undefined) return { status: 400, message: 'Invalid Sec-WebSocket-Protocol header' };
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${accept}`,
  ];
  const protocol = protocols[0] ?? '';
  if (protocol !== '') lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  return { response: `${lines.join('\r\n')}\r\n\r\n`, protocol };
}

/** Whether an upgrade was answered with a refusal. @internal */
export function isRefusal(answer: UpgradeAnswer | UpgradeRefusal): answer is UpgradeRefusal {
  return 'status' in answer;
}

/** Writes `refusal` as an HTTP response and closes the socket once it is written. @internal */
export function refuseUpgrade(socket: Duplex, refusal: UpgradeRefusal): void {
  const { status, message } = refusal;
  const headers: Record<string, string | number> = {
    Connection: 'close',
    'Content-Type': 'text/html',
    'Content-Length': Buffer.byteLength(message),
    ...refusal.headers,
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n');
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n\r\n${message}`);
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** The subprotocols offered, in order; undefined when the header is not a list of distinct tokens. */
function subprotocols(header: string | undefined): string[] | undefined {
  if (header === undefined) return [];
  const names = header.split(',').map((name) => name.trim());
  if (names.some((name) => !TOKEN.test(name)) || new Set(names).size !== names.length) return undefined;
  return names;
}
