// cancelPending over real loopback TCP: what a break does to a request depends on what the socket
// reported, so these run on the kernel's sockets rather than the memory transport.
import { expect } from 'chai';
import { catchError, EMPTY, firstValueFrom, map, range, reduce, type Subscription } from 'rxjs';
import {
  cancelPending,
  policy,
  reconnectWith,
  serveRequests,
  type RequestLink,
  type Transport,
} from 'rx-lifeline';
import { tcp, tcpServer } from 'rx-lifeline/node';
import { startServer } from '../../support/loopback.js';
import { cutPair, startProxy } from '../../support/tcp-proxy.js';

describe('cancelPending over TCP', () => {
  it('seed 000: a request written just after the peer reset is sent again and handled once, although not idempotent', async () => {
    const handled: string[] = [];
    const server = await startServer(tcpServer<unknown>());
    const serving: Subscription[] = [];
    const serveNext = async (): Promise<void> => {
      const connection = (await server.nextConnection()) as Transport<unknown, unknown>;
      serving.push(
        connection
          .pipe(
            serveRequests((payload: string) => {
              handled.push(payload);
              return payload.toUpperCase();
            }),
            catchError(() => EMPTY),
          )
          .subscribe(),
      );
    };
    const proxy = await startProxy(server.port);
    const firstServed = serveNext();
    let link: RequestLink<string> | undefined;
    const failures: unknown[] = [];
    const client = tcp({ port: proxy.port })
      .pipe(reconnectWith(policy.constant(0)), cancelPending<string>())
      .subscribe({
        next: (event) => {
          if (event.type === 'request-link') link = event.link;
        },
        error: (error: unknown) => failures.push(error),
      });
    await firstServed;
    const [pair] = proxy.pairs;
    const secondServed = serveNext();

    // The client's kernel has the RST when this returns; the request's write then fails outright.
    cutPair(pair!, 'client');
    const response = firstValueFrom(link!.request('once', { idempotent: false }));
    await secondServed;
    expect(await response).to.equal('ONCE');
    expect(handled).to.deep.equal(['once']);
    expect(failures).to.deep.equal([]);

    client.unsubscribe();
    for (const subscription of serving) subscription.unsubscribe();
    server.stop();
    await proxy.close();
  });

  it('a streamed body of 2,000 chunks (2 MiB) crosses a real socket in order, through the send buffer', async () => {
    const server = await startServer(tcpServer<unknown>());
    const served = server.nextConnection().then((connection) =>
      (connection as Transport<unknown, unknown>)
        .pipe(
          serveRequests((_payload, { body$ }) =>
            body$.pipe(
              reduce((sum, chunk, index) => {
                const bytes = chunk as Uint8Array;
                // Each chunk is filled with its index, mod 256: out of order shows.
                if (bytes[0] !== index % 256) throw new Error(`chunk ${index} out of order`);
                return sum + bytes.byteLength;
              }, 0),
            ),
          ),
          catchError(() => EMPTY),
        )
        .subscribe(),
    );
    let link: RequestLink<string> | undefined;
    const client = tcp({ port: server.port })
      .pipe(reconnectWith(policy.constant(0)), cancelPending<string>())
      .subscribe((event) => {
        if (event.type === 'request-link') link = event.link;
      });
    // Cold: each subscription makes the chunks anew.
    const body = range(0, 2_000).pipe(map((index) => new Uint8Array(1_024).fill(index % 256)));
    const total = await firstValueFrom(link!.request<number>('upload', { body }));
    expect(total).to.equal(2_000 * 1_024);
    client.unsubscribe();
    (await served).unsubscribe();
    server.stop();
  });
});
