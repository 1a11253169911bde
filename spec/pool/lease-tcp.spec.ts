// Seed 002's failure on real sockets: an interrupted transfer must not leave its connection (and
// the lock taken on it) behind for the retry. Everything waits on events, never on a clock.
import { expect } from 'chai';
import { BehaviorSubject, filter, firstValueFrom, ReplaySubject, skip, type Subscription } from 'rxjs';
import { ConnectionPool, type Lease, type Link } from 'rx-lifeline';
import { tcp, tcpServer } from 'rx-lifeline/node';
import { startServer } from '../support/loopback.js';

/**
 * A lock server: `LOCK` takes the one lock (`LOCKED`, or `BUSY` when any connection holds it),
 * `UNLOCK` gives it back; a connection that ends drops its lock. Counts connections open now.
 */
async function lockServer() {
  const server = await startServer(tcpServer<string>({ host: '127.0.0.1', port: 0 }));
  let holder: object | undefined;
  let open = 0;
  let maxOpen = 0;
  let accepted = 0;
  const closed = new BehaviorSubject(0);
  const serving = (async () => {
    for (;;) {
      const connection = await server.nextConnection();
      const self = {};
      accepted++;
      open++;
      maxOpen = Math.max(maxOpen, open);
      const ended = () => {
        open--;
        if (holder === self) holder = undefined;
        closed.next(closed.value + 1);
      };
      let link: Link<string> | undefined;
      connection.subscribe({
        next: (event) => {
          if (event.type === 'connected') link = event.link;
          else if (event.frame === 'LOCK') {
            const free = holder === undefined;
            if (free) holder = self;
            link?.send(free ? 'LOCKED' : 'BUSY');
          } else if (event.frame === 'UNLOCK' && holder === self) {
            holder = undefined;
            link?.send('UNLOCKED');
          }
        },
        error: ended,
        complete: ended,
      });
    }
  })();
  void serving;
  return {
    port: server.port,
    stats: () => ({ open, maxOpen, accepted }),
    closedAtLeast: (count: number) => firstValueFrom(closed.pipe(filter((n) => n >= count))),
    stop: () => server.stop(),
  };
}

/** Leases a connection and collects its replies from the first moment. */
function openLease(pool: ConnectionPool<string>, address: string) {
  const replies = new ReplaySubject<string>();
  let subscription!: Subscription;
  const lease = new Promise<Lease<string>>((resolve, reject) => {
    subscription = pool.lease(address).subscribe({
      next: (granted) => {
        granted.frames$.subscribe(replies);
        resolve(granted);
      },
      error: reject,
    });
  });
  return { lease, reply: (index: number) => firstValueFrom(replies.pipe(skip(index))), subscription };
}

describe('ConnectionPool.lease over TCP', () => {
  it('1,000 interrupted leased transfers, then a normal one succeeds, and nothing is left open', async () => {
    const server = await lockServer();
    const address = `tcp://127.0.0.1:${server.port}`;
    const limits = { openTotal: 2, idlePerKey: 1 };
    const pool = new ConnectionPool<string>({
      dial: (origin) => tcp<string>({ host: origin.host, port: origin.port }),
      ...limits,
    });
    for (let i = 0; i < 1000; i++) {
      const transfer = openLease(pool, address);
      const lease = await transfer.lease;
      lease.link.send('LOCK');
      expect(await transfer.reply(0)).to.equal('LOCKED');
      transfer.subscription.unsubscribe(); // interrupted before UNLOCK: the connection is discarded
      expect(pool.open).to.equal(0);
      await server.closedAtLeast(i + 1); // the server saw the close, and dropped the lock with it
    }
    // The retry: a fresh connection, the lock is free, the exchange completes and is kept.
    const transfer = openLease(pool, address);
    const lease = await transfer.lease;
    lease.link.send('LOCK');
    expect(await transfer.reply(0)).to.equal('LOCKED');
    lease.link.send('UNLOCK');
    expect(await transfer.reply(1)).to.equal('UNLOCKED');
    lease.release();
    expect(pool.snapshot().total).to.deep.equal({ open: 1, idle: 1, waiting: 0 });
    expect(server.stats().accepted).to.equal(1001); // no interrupted connection was reused
    expect(server.stats().maxOpen).to.be.at.most(limits.openTotal);

    pool.close();
    await server.closedAtLeast(1001);
    expect(server.stats().open).to.equal(0);
    server.stop();
  });
});
