// A TCP load balancer for the multi-process tests: each accepted connection goes to the next port
// of `targets` in turn. When the target refuses (its process is down), the client's connection is
// closed at once, as a balancer without health checks does, and the client dials again; when
// either side of a pair closes, the other is closed too.
import net from 'node:net';

export interface RoundRobinProxy {
  readonly port: number;
  /** Connections forwarded so far, and those refused by their target. */
  readonly counts: { readonly forwarded: number; readonly refused: number };
  close(): Promise<void>;
}

export async function startRoundRobinProxy(targets: readonly number[]): Promise<RoundRobinProxy> {
  const sockets = new Set<net.Socket>();
  const counts = { forwarded: 0, refused: 0 };
  let next = 0;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
    track(client);
    const target = targets[next++ % targets.length]!;
    const upstream = net.connect({ port: target, host: '127.0.0.1', noDelay: true });
    track(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      counts.forwarded++;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.once('close', () => {
      if (!connected) counts.refused++;
      client.destroy();
    });
    client.once('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
