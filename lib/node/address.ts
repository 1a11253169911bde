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

/** Validates a port option: an integer from `min` (0 to let the system choose) to 65535. @internal */
export function checkPort(where: string, port: unknown, min: 0 | 1): number {
  return checkNumber(where, 'port', port, { min, max: 65535, integer: true });
}
