import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { DialError, ListenError, websocket } from 'rx-lifeline';
import { websocketServer } from 'rx-lifeline/node';
import { failure, record, startServer } from '../support/loopback.js';

describe('websocketServer', () => {
  it('listens on 127.0.0.1 and a free port by default, with a ws:// address', async () => {
    const server = await startServer(websocketServer());
    expect(server.port).to.be.above(0);
    expect(server.address).to.equal(`ws://127.0.0.1:${server.port}`);
    server.stop();
  });

  it('unsubscribing completes subscribed connections and closes the others with 1001; clients complete', async () => {
    const server = await startServer(websocketServer<string>());
    const first = record(websocket<string>({ url: server.address, WebSocket }));
    const accepted = record(await server.nextConnection());
    const second = record(websocket<string>({ url: server.address, WebSocket }));
    await server.nextConnection(); // never subscribed
    await Promise.all([first.link(), second.link(), accepted.link()]);
    server.stop();
    expect(await accepted.outcome).to.equal('complete');
    expect(await first.outcome).to.equal('complete');
    expect(await second.outcome).to.equal('complete');
    const refused = await failure(record(websocket({ url: server.address, WebSocket })));
    expect(refused).to.be.instanceOf(DialError);
  });

  it('an accepted connection can be subscribed only once', async () => {
    const server = await startServer(websocketServer());
    const client = record(websocket({ url: server.address, WebSocket }));
    const connection = await server.nextConnection();
    const accepted = record(connection);
    await Promise.all([client.link(), accepted.link()]);
    const error = await failure(record(connection));
    expect(error).to.be.instanceOf(TypeError);
    client.subscription.unsubscribe();
    expect(await accepted.outcome).to.equal('complete');
    server.stop();
  });

  it('serves a path on an existing HTTP server, refuses other paths, and leaves the server running', async () => {
    const httpServer = http.createServer((_request, response) => response.writeHead(404).end());
    httpServer.listen(0, '127.0.0.1');
    await once(httpServer, 'listening');
    const { port } = httpServer.address() as AddressInfo;
    const server = await startServer(websocketServer<string>({ server: httpServer, path: '/live' }));
    expect(server.address).to.equal(`ws://127.0.0.1:${port}/live`);

    const client = record(websocket<string>({ url: server.address, WebSocket }));
    const accepted = record(await server.nextConnection());
    (await client.link()).send('on /live');
    expect(await accepted.frames(1)).to.deep.equal(['on /live']);

    const elsewhere = await failure(record(websocket({ url: `ws://127.0.0.1:${port}/other`, WebSocket })));
    expect(elsewhere).to.be.instanceOf(DialError);
    expect((elsewhere as DialError).message).to.match(/400/);

    server.stop();
    expect(await client.outcome).to.equal('complete');
    expect(httpServer.listening).to.equal(true);
    httpServer.close();
    await once(httpServer, 'close');
  });

  it('answers a plain HTTP request with 426 Upgrade Required', async () => {
    const server = await startServer(websocketServer());
    const request = http.get({ host: '127.0.0.1', port: server.port, agent: false });
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    response.resume();
    await once(response, 'end');
    expect(response.statusCode).to.equal(426);
    server.stop();
  });

  it('a used port errors the server with ListenError EADDRINUSE', async () => {
    const first = await startServer(websocketServer());
    const error = await firstValueFrom(websocketServer({ port: first.port })).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ListenError);
    expect(error).to.include({ code: 'EADDRINUSE' });
    first.stop();
  });

  it('unsubscribing before it is bound leaves no listener behind', () => {
    websocketServer().subscribe().unsubscribe(); // the root hook fails the test if a listener remains
  });

  it('rejects nonsense options with a TypeError', () => {
    expect(() => websocketServer({ port: 65_536 })).to.throw(TypeError, /port/);
    expect(() => websocketServer({ path: 'live' })).to.throw(TypeError, /path/);
  });
});
