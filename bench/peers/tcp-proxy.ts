// A TCP proxy on 127.0.0.1 between clients and a server: it logs when each client dials (an
// accepted connection), and cuts connections on demand like a crash does (an RST to one side, a
// FIN to the other). While the server is down, each dial is reset at once, as a refused one is.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

interface Pair {
  readonly client: net.Socket;
  readonly server: net.Socket;
  up: boolean;
}

export class TcpProxy {
  /** When each dial arrived, in `performance.now()` ms. */
  readonly dials: number[] = [];
  private readonly pairs = new Set<Pair>();
  private cuts = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1 (port 0 unless given) and forwards every connection to `target`. */
  static listen(target: number, port = 0): Promise<TcpProxy> {
    return new Promise((resolve, reject) => {
      const server = net.createServer({ pauseOnConnect: true, noDelay: true });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
        server.on('connection', (client) => proxy.forward(client, target));
        resolve(proxy);
      });
    });
  }

  /** Connections whose server side is up. */
  get live(): number {
    let count = 0;
    for (const pair of this.pairs) if (pair.up) count++;
    return count;
  }

  /** Cuts the `index`-th live connection (taken modulo their number); false when none is live. */
  cut(index: number): boolean {
    const live = [...this.pairs].filter((pair) => pair.up);
    const pair = live[index % Math.max(1, live.length)];
    if (!pair) return false;
    const [reset, closed] = ++this.cuts % 2 ? [pair.client, pair.server] : [pair.server, pair.client];
    dropHard(reset);
    closed.destroy();
    return true;
  }

  /** Closes every connection and stops listening. */
  close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.server.destroy();
    }
    this.pairs.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: net.Socket, target: number): void {
    this.dials.push(performance.now());
    const server = net.connect({ port: target, host: '127.0.0.1', noDelay: true });
    const pair: Pair = { client, server, up: false };
    this.pairs.add(pair);
    const end = () => {
      pair.up = false;
      this.pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', () => undefined); // resets are what this proxy is for
    server.on('error', () => {
      if (!pair.up) dropHard(client); // the server is down: refuse
    });
    client.on('close', end);
    server.on('close', end);
    server.once('connect', () => {
      pair.up = true;
      client.pipe(server);
      server.pipe(client);
      client.resume();
    });
  }
}

/**
 * An RST where there is a connection to reset, else a plain destroy: `resetAndDestroy()` on a
 * socket whose shutdown has begun (its side ended) is refused by libuv, and Node then never closes
 * the handle (https://github.com/libp2p/js-libp2p/pull/3597).
 */
function dropHard(socket: net.Socket): void {
  if (socket.connecting || socket.destroyed || socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}
