import { expect } from 'chai';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { firstValueFrom, VirtualTimeScheduler } from 'rxjs';
import { WebSocket, type ClientOptions } from 'ws';
import {
  ConnectionResetError,
  DialError,
  ListenError,
  PeerClosedError,
  ProtocolError,
  websocket,
  type Transport,
} from 'rx-lifeline';
import { websocketServer } from 'rx-lifeline/node';
import { HeaderValues } from '../../lib/node/websocket-server.js';
import { failure, record, startServer, turn } from '../support/loopback.js';
import { fieldOf } from '../support/private-fields.js';

/** An upgrade request a raw client writes (the key is RFC 6455's example). */
const UPGRADE_REQUEST =
  'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** One final frame as a client sends it: masked (with a zero key, so the payload reads as is). */
function maskedFrame(opcode: number, payload: Uint8Array): Buffer {
  if (payload.length > 125) throw new RangeError('maskedFrame writes short frames only');
  return Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0, ...payload]);
}

/** Resolves once `done` holds, checked after each turn of the event loop. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await turn();
}

describe('websocketServer', () => {
  it('listens on 127.0.0.1 and a free port by default, with a ws:// address', async () => {
    const server = await startServer(websocketServer());
    expect(server.port).to.be.above(0);
    expect(server.address).to.equal(`ws://127.0.0.1:${server.port}`);
    server.stop();
  });

  it("a connection's local address is the one it reached: the listening one, or on a wildcard the socket's", async () => {
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      const server = await startServer(websocketServer({ host }));
      const url = `ws://127.0.0.1:${server.port}`;
      const client = record(websocket({ url, WebSocket }));
      const accepted = record(await server.nextConnection());
      const [clientLink, serverLink] = await Promise.all([client.link(), accepted.link()]);
      expect(serverLink.info.local, host).to.equal(`127.0.0.1:${server.port}`);
      expect(serverLink.info.remote, host).to.match(/^127\.0\.0\.1:\d+$/);
      expect(clientLink.info.remote).to.equal(url);
      client.subscription.unsubscribe();
      expect(await accepted.outcome).to.equal('complete');
      server.stop();
    }
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

  describe("a client's socket, as the server's connection sees it", () => {
    /** A raw ws client, open, and the server's connection of it, subscribed. */
    async function rawClient(server: {
      address: string;
      nextConnection(): Promise<Transport<string, string>>;
    }) {
      const client = new WebSocket(server.address);
      const accepted = record(await server.nextConnection());
      await Promise.all([once(client, 'open'), accepted.link()]);
      return { client, accepted };
    }

    it('a text message fails the connection with a ProtocolError, and the client hears 1003', async () => {
      const server = await startServer(websocketServer<string>());
      const { client, accepted } = await rawClient(server);
      client.send('not a frame');
      const [code] = (await once(client, 'close')) as [number];
      expect(code).to.equal(1003);
      expect(await failure(accepted)).to.be.instanceOf(ProtocolError);
      server.stop();
    });

    it('a close with 1000 completes it; one with another code is a PeerClosedError with that code', async () => {
      const server = await startServer(websocketServer<string>());
      const clean = await rawClient(server);
      clean.client.close(1000);
      expect(await clean.accepted.outcome).to.equal('complete');
      const other = await rawClient(server);
      other.client.close(4000, 'bye');
      const error = await failure(other.accepted);
      expect(error).to.be.instanceOf(PeerClosedError);
      expect((error as PeerClosedError).code).to.equal(4000);
      expect((error as PeerClosedError).reason).to.equal('bye');
      server.stop();
    });

    it('a closed connection gives its place back: at maxConnections 1, the next client is accepted', async () => {
      const server = await startServer(websocketServer<string>({ maxConnections: 1 }));
      const first = await rawClient(server);
      first.client.close(1000);
      expect(await first.accepted.outcome).to.equal('complete');
      const second = await rawClient(server);
      second.client.send(new Uint8Array([0, 0, 0, 1, 0xc0])); // one frame: nil
      expect(await second.accepted.frames(1)).to.deep.equal([null]);
      second.client.close(1000);
      expect(await second.accepted.outcome).to.equal('complete');
      server.stop();
    });

    it('answers a ping with a pong carrying its payload', async () => {
      const server = await startServer(websocketServer<string>());
      const { client, accepted } = await rawClient(server);
      client.ping(Buffer.from('are you there'));
      const [payload] = (await once(client, 'pong')) as [Buffer];
      expect(payload.toString()).to.equal('are you there');
      client.close(1000);
      expect(await accepted.outcome).to.equal('complete');
      server.stop();
    });

    it("a client that pings and never reads does not grow the server's unwritten bytes past the high-water mark", async () => {
      const server = await startServer(websocketServer<string>());
      const raw = net.connect(server.port, '127.0.0.1');
      raw.write(UPGRADE_REQUEST);
      const accepted = record(await server.nextConnection());
      const link = await accepted.link();
      raw.pause(); // reads nothing from here on: neither the 101 nor any pong
      const ping = maskedFrame(0x9, new Uint8Array(125));
      const pings = 200_000; // 26 MB of pongs unanswered: more than loopback's buffers hold
      for (let i = 0; i < pings / 1000; i++)
        raw.write(Buffer.concat(Array.from({ length: 1000 }, () => ping)));
      raw.write(maskedFrame(0x2, Uint8Array.from([0, 0, 0, 3, 0xa2, 0x68, 0x69]))); // then 'hi'
      expect(await accepted.frames(1)).to.deep.equal(['hi']);
      const socket = fieldOf(fieldOf(fieldOf(link, 'sink'), 'socket'), 'socket') as net.Socket;
      expect(socket.writableLength).to.be.at.most(socket.writableHighWaterMark + 127);
      raw.destroy();
      expect(await failure(accepted)).to.be.instanceOf(ConnectionResetError);
      server.stop();
    });

    it('a message in fragments, with a ping between them, is one message', async () => {
      const server = await startServer(websocketServer<string>());
      const { client, accepted } = await rawClient(server);
      const wire = new Uint8Array([0, 0, 0, 3, 0xa2, 0x68, 0x69]); // one frame: 'hi'
      client.send(wire.subarray(0, 2), { binary: true, fin: false });
      client.ping();
      client.send(wire.subarray(2, 5), { binary: true, fin: false });
      client.send(wire.subarray(5), { binary: true, fin: true });
      expect(await accepted.frames(1)).to.deep.equal(['hi']);
      client.close(1000);
      expect(await accepted.outcome).to.equal('complete');
      server.stop();
    });

    it('an unmasked frame is a ProtocolError; the client hears 1002', async () => {
      const server = await startServer(websocketServer<string>());
      const { client, accepted } = await rawClient(server);
      // Written under ws: a binary frame of one byte without a mask, which a client must not send.
      (client as unknown as { _socket: net.Socket })._socket.write(Buffer.from([0x82, 0x01, 0x00]));
      const error = await failure(accepted);
      expect(error).to.be.instanceOf(ProtocolError);
      expect((error as Error).message).to.match(/unmasked/);
      const [code] = (await once(client, 'close')) as [number];
      expect(code).to.be.oneOf([1002, 1006]); // ws may drop first: it reads the server's close as it can
      server.stop();
    });

    it("closing from the server waits for the client's close frame, and drops a client that never sends one after 30 s", async () => {
      const scheduler = new VirtualTimeScheduler();
      const server = await startServer(websocketServer<string>({ scheduler }));
      const raw = net.connect(server.port, '127.0.0.1');
      raw.write(UPGRADE_REQUEST);
      const accepted = record(await server.nextConnection());
      const link = await accepted.link();
      const received: Buffer[] = [];
      raw.on('data', (chunk: Buffer) => received.push(chunk));
      link.close();
      await until(() => Buffer.concat(received).includes(Buffer.from([0x88, 0x02, 0x03, 0xe8])));
      expect(Buffer.concat(received).toString('latin1')).to.match(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      expect(Buffer.concat(received).toString('latin1')).to.include(
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
      );
      await turn();
      expect(raw.destroyed, 'still waiting for the close frame').to.equal(false);
      const closed = once(raw, 'close');
      scheduler.flush(); // 30 s later, without the client's close frame
      await closed;
      expect(await failure(accepted)).to.be.instanceOf(ConnectionResetError);
      server.stop();
    });

    it('closes a socket whose upgrade request is not whole frameTimeout after it connected; an upgraded one stays', async () => {
      const scheduler = new VirtualTimeScheduler();
      const server = await startServer(websocketServer<string>({ scheduler, frameTimeout: 1_000 }));
      const { client, accepted } = await rawClient(server);
      const silent = net.connect(server.port, '127.0.0.1');
      const slow = net.connect(server.port, '127.0.0.1');
      slow.write('GET / HTTP/1.1\r\nHost: x\r\n');
      for (const socket of [silent, slow]) socket.on('error', () => undefined);
      // Both deadlines set once the server saw both sockets.
      await until(() => scheduler.actions.length === 2);
      const closed = [silent, slow].map((socket) => new Promise((resolve) => socket.on('close', resolve)));
      scheduler.flush(); // 1 s later
      await Promise.all(closed);
      client.send(new Uint8Array([0, 0, 0, 1, 0xc0])); // one frame: nil
      expect(await accepted.frames(1)).to.deep.equal([null]);
      client.close(1000);
      expect(await accepted.outcome).to.equal('complete');
      server.stop();
    });

    it('a client dropped without a close frame is a ConnectionResetError', async () => {
      const server = await startServer(websocketServer<string>());
      const { client, accepted } = await rawClient(server);
      client.terminate();
      expect(await failure(accepted)).to.be.instanceOf(ConnectionResetError);
      server.stop();
    });
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

  it('refuses an upgrade it cannot accept with the HTTP status that says why, as ws does', async () => {
    const server = await startServer(websocketServer());
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const upgrade = (lines: Record<string, string>, method = 'GET') =>
      `${method} / HTTP/1.1\r\nHost: x\r\n${Object.entries(lines)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')}\r\n`;
    const valid = {
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
    };
    const cases: [string, string, RegExp][] = [
      ['a POST', upgrade(valid, 'POST'), /^HTTP\/1\.1 405 /],
      [
        'no key',
        upgrade({ ...valid, 'Sec-WebSocket-Key': 'short' }),
        /^HTTP\/1\.1 400 [^]*Sec-WebSocket-Key/,
      ],
      [
        'version 12',
        upgrade({ ...valid, 'Sec-WebSocket-Version': '12' }),
        /^HTTP\/1\.1 400 [^]*Sec-WebSocket-Version: 13, 8/,
      ],
      [
        'a bad subprotocol list',
        upgrade({ ...valid, 'Sec-WebSocket-Protocol': 'a, a' }),
        /^HTTP\/1\.1 400 [^]*Sec-WebSocket-Protocol/,
      ],
      ['another upgrade', upgrade({ ...valid, Upgrade: 'h2c' }), /^HTTP\/1\.1 400 [^]*Upgrade header/],
    ];
    for (const [what, request, expected] of cases) {
      const raw = net.connect(server.port, '127.0.0.1');
      raw.end(request);
      const chunks: Buffer[] = [];
      raw.on('data', (chunk: Buffer) => chunks.push(chunk));
      await once(raw, 'close');
      expect(Buffer.concat(chunks).toString('latin1'), what).to.match(expected);
    }
    const chosen = new WebSocket(server.address, ['v2', 'v1']);
    await once(chosen, 'open');
    expect(chosen.protocol).to.equal('v2');
    const accepted = record(await server.nextConnection());
    chosen.close(1000);
    expect(await accepted.outcome).to.equal('complete');
    server.stop();
  });

  it('a client that ends its side without a closing handshake gets this side ended too, and the connection fails', async () => {
    const server = await startServer(websocketServer());
    const raw = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
    raw.on('error', () => undefined);
    raw.write(UPGRADE_REQUEST);
    await once(raw, 'data');
    const accepted = record(await server.nextConnection());
    await accepted.link();
    const ended = once(raw, 'end');
    raw.end();
    // Without this side's end the client would wait for it as long as the socket lives.
    await ended;
    // A close without a close frame (1006): the connection was reset.
    expect(await failure(accepted)).to.be.instanceOf(ConnectionResetError);
    raw.destroy();
    server.stop();
  });

  it('carries frames of every header size both ways: up to 125 bytes, up to 64 KiB, and beyond (a 64-bit length)', async () => {
    const server = await startServer(websocketServer<Uint8Array>({ maxFrameBytes: 1024 * 1024 }));
    const client = record(
      websocket<Uint8Array>({ url: server.address, WebSocket, maxFrameBytes: 1024 * 1024 }),
    );
    const accepted = record(await server.nextConnection());
    const [clientLink, serverLink] = await Promise.all([client.link(), accepted.link()]);
    const sizes = [1, 100, 1000, 60_000, 70_000, 300_000, 900_000];
    const payloads = sizes.map((size, i) => new Uint8Array(size).map((_, at) => (at * 31 + i) & 0xff));
    for (const payload of payloads) {
      clientLink.send(payload);
      serverLink.send(payload);
    }
    /** Each frame received equals the payload sent in its place. */
    const same = (got: Uint8Array[]) => got.map((bytes, at) => Buffer.from(bytes).equals(payloads[at]!));
    expect(same(await accepted.frames(sizes.length))).to.deep.equal(sizes.map(() => true));
    expect(same(await client.frames(sizes.length))).to.deep.equal(sizes.map(() => true));
    client.subscription.unsubscribe();
    expect(await accepted.outcome).to.equal('complete');
    server.stop();
  });

  it('serves wss:// on an HTTPS server: frames both ways over TLS', async () => {
    const fixtures = new URL('../support/fixtures/', import.meta.url);
    const cert = readFileSync(new URL('tls-cert.pem', fixtures));
    const httpsServer = https.createServer({ cert, key: readFileSync(new URL('tls-key.pem', fixtures)) });
    httpsServer.listen(0, '127.0.0.1');
    await once(httpsServer, 'listening');
    const { port } = httpsServer.address() as AddressInfo;
    const server = await startServer(websocketServer<string>({ server: httpsServer }));
    /** ws, trusting the test's self-signed certificate. */
    class TrustingWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[], options?: ClientOptions) {
        super(url, protocols, { ...options, ca: cert });
      }
    }
    const client = record(
      websocket<string>({ url: `wss://127.0.0.1:${port}`, WebSocket: TrustingWebSocket }),
    );
    const accepted = record(await server.nextConnection());
    const [clientLink, serverLink] = await Promise.all([client.link(), accepted.link()]);
    clientLink.send('up over TLS');
    serverLink.send('down over TLS');
    expect(await accepted.frames(1)).to.deep.equal(['up over TLS']);
    expect(await client.frames(1)).to.deep.equal(['down over TLS']);
    client.subscription.unsubscribe();
    expect(await accepted.outcome).to.equal('complete');
    server.stop();
    httpsServer.close();
    await once(httpsServer, 'close');
  });

  it('shares equal header values between connections, keeping at most 256 of at most 512 characters', () => {
    const values = new HeaderValues();
    expect(values.shared('example.com')).to.equal('example.com');
    for (let i = 0; i < 10_000; i++) values.shared(`client-${i}`); // a hostile client's junk
    expect(values.size).to.equal(256);
    const long = new HeaderValues();
    long.shared('x'.repeat(513));
    expect(long.size).to.equal(0);
  });

  it('connections whose headers equal the last ones kept share their object, frozen', () => {
    const values = new HeaderValues();
    const keep = (headers: Record<string, string>) =>
      values.sharedHeaders(
        Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, values.shared(value)])),
      );
    const first = keep({ host: 'example.com', origin: 'https://example.com' });
    expect(Object.isFrozen(first)).to.equal(true);
    expect(keep({ host: 'example.com', origin: 'https://example.com' })).to.equal(first);
    const other = keep({ host: 'example.com', origin: 'https://other.example' });
    expect(other).to.not.equal(first);
    expect(other).to.deep.equal({ host: 'example.com', origin: 'https://other.example' });
    expect(keep({ host: 'example.com' })).to.deep.equal({ host: 'example.com' });
    expect(keep({ host: 'example.com', cookie: 'a=1' })).to.deep.equal({
      host: 'example.com',
      cookie: 'a=1',
    });
  });

  it('headers with a name the last ones do not have are not theirs, even with no value', () => {
    const values = new HeaderValues();
    const first = values.sharedHeaders({ host: 'x', cookie: undefined });
    const second = values.sharedHeaders({ host: 'x', origin: undefined });
    expect(second).to.not.equal(first);
    expect(Object.keys(second)).to.deep.equal(['host', 'origin']);
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
