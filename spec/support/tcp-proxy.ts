// The fault injector of the socket tests: a TCP proxy between a client and a server that can cut a
// connection pair, resetting one side and closing the other, at a chosen moment or byte offset.
import net from 'node:net';
import { resetSocket } from './reset-socket.js';

export type Side = 'client' | 'server';

export interface Pair {
  readonly client: net.Socket;
  readonly server: net.Socket;
  /** Cut when the next chunk flowing towards `towards` has been forwarded up to `offset` bytes. */
  midChunk: { towards: Side; offset: number; reset: Side } | undefined;
  /** Nothing more is forwarded (a cut is done or under way). */
  halted: boolean;
}

export interface ChaosProxy {
  readonly port: number;
  /** Pairs currently forwarding. */
  readonly pairs: ReadonlySet<Pair>;
  close(): Promise<void>;
}

/**
 * Cuts `pair`: the `reset` side's socket gets an RST (`resetAndDestroy`), the other a FIN
 * (`destroy`), so one peer sees a reset and the other a close, possibly inside a frame.
 */
export function cutPair(pair: Pair, reset: Side | undefined): void {
  pair.halted = true;
  const [hard, soft] = reset === 'client' ? [pair.client, pair.server] : [pair.server, pair.client];
  if (reset === undefined) hard.destroy();
  else resetSocket(hard);
  soft.destroy();
}

export async function startProxy(target: number): Promise<ChaosProxy> {
  const pairs = new Set<Pair>();
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Resets are the point of this proxy: an 'error' is expected, and ends the pair below.
    socket.on('error', () => undefined);
  };
  const forward = (pair: Pair, from: net.Socket, to: net.Socket, towards: Side) => {
    from.on('data', (chunk: Buffer) => {
      if (pair.halted) return;
      const armed = pair.midChunk;
      if (armed?.towards === towards) {
        // Forward part of this chunk (often mid-frame), then cut once it left this process.
        pair.halted = true;
        to.write(chunk.subarray(0, Math.min(armed.offset, chunk.length - 1)), () =>
          cutPair(pair, armed.reset),
        );
        return;
      }
      to.write(chunk);
    });
    // One end went away by itself (a heartbeat timeout, a takeover): close the other end too.
    from.on('close', () => {
      pairs.delete(pair);
      cutPair(pair, undefined);
    });
  };
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
    track(client);
    const upstream = net.connect({ port: target, host: '127.0.0.1', noDelay: true });
    track(upstream);
    const pair: Pair = { client, server: upstream, midChunk: undefined, halted: false };
    pairs.add(pair);
    forward(pair, client, upstream, 'server');
    forward(pair, upstream, client, 'client');
    upstream.once('connect', () => client.resume());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    pairs,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
