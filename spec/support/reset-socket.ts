import type net from 'node:net';

/**
 * Drops `socket` with an RST where there is a connection to reset, else destroys it.
 *
 * `resetAndDestroy()` on a socket whose graceful shutdown has begun (its writable side ended, by
 * `end()` or by the peer's FIN with `allowHalfOpen` off) is refused by libuv, which resets no
 * stream that is shutting down, and Node then never closes the handle: the socket stays open for
 * good (seen as a TCP handle a long fuzz run left; the same race is described in
 * https://github.com/libp2p/js-libp2p/pull/3597). A connecting socket has nothing to reset yet.
 */
export function resetSocket(socket: net.Socket): void {
  if (socket.connecting || socket.destroyed || socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}
