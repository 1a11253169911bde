import type { AddressInfo, Server } from 'node:net';
import { ListenError } from '../core/errors.js';
import { hostPort } from './address.js';

/** What {@link listen} reports. @internal */
export interface ListenCallbacks {
  /** The server is bound; `address` has the real port (for port 0, the one the system chose). */
  listening(address: AddressInfo): void;
  /** The bind failed, or the listener failed later. */
  failed(error: ListenError): void;
  /**
   * Accepting one connection failed (`EMFILE`, `ENFILE`, …): Node keeps listening, so the server
   * goes on. Without this callback such an error counts as `failed`.
   */
  acceptFailed?(error: ListenError): void;
}

/**
 * Binds `server` to `host:port` and returns the function that stops it. Stopping works at any
 * time, even before the bind completed: a bind that lands after the stop is closed at once, so an
 * early unsubscribe cannot leave a listening socket behind.
 * @internal
 */
export function listen(server: Server, host: string, port: number, callbacks: ListenCallbacks): () => void {
  let stopped = false;
  const address = hostPort(host, port);
  server.on('listening', () => {
    if (stopped) server.close();
    else callbacks.listening(server.address() as AddressInfo);
  });
  // Stays attached after the stop: an 'error' without a listener would be thrown.
  server.on('error', (cause: NodeJS.ErrnoException) => {
    if (stopped) return;
    const code = cause.code === undefined ? {} : { code: cause.code };
    if (cause.syscall === 'accept' && server.listening && callbacks.acceptFailed) {
      const error = new ListenError(`Could not accept a connection on ${address}: ${cause.message}`, {
        address,
        cause,
        ...code,
      });
      return callbacks.acceptFailed(error);
    }
    callbacks.failed(
      new ListenError(`Could not listen on ${address}: ${cause.message}`, { address, cause, ...code }),
    );
  });
  server.listen(port, host);
  return () => {
    stopped = true;
    server.close();
  };
}
