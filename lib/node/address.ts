import type { Socket } from 'node:net';
import { checkNumber } from '../internal/validate.js';

/**
 * Formats an address as `host:port`, bracketing IPv6 hosts (`[::1]:7070`) so the port stays
 * unambiguous. An unknown host or port (a socket already destroyed) reads as `?`.
 * @internal
 */
export function hostPort(host: string | undefined, port: number | undefined): string {
  const name = host ?? '?';
  // Joined, not concatenated: V8 keeps a concatenation this long as a pair of strings (three
  // objects), and a connection holds its address for its whole life.
  return [name.includes(':') ? `[${name}]` : name, port ?? '?'].join(':');
}

/** A socket with Node's cache of its peer's address (net.Socket's `_peername`). */
type PeerCachingSocket = Socket & { _peername?: unknown };

/**
 * An accepted socket's peer as `host:port` (see {@link hostPort}). Node keeps the address it was
 * asked for on the socket (an object and its address string, for the socket's whole life); the
 * connection keeps its own text of it instead, so Node's copy is let go. Node asks again if
 * anything else wants it.
 * @internal
 */
export function remoteOf(socket: Socket): string {
  const remote = hostPort(socket.remoteAddress, socket.remotePort);
  const cached = socket as PeerCachingSocket;
  if (cached._peername !== undefined) cached._peername = undefined;
  return remote;
}

/** Validates a port option: an integer from `min` (0 to let the system choose) to 65535. @internal */
export function checkPort(where: string, port: unknown, min: 0 | 1): number {
  return checkNumber(where, 'port', port, { min, max: 65535, integer: true });
}
