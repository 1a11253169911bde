import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import { firstValueFrom, tap, VirtualTimeScheduler } from 'rxjs';
import {
  ConnectionResetError,
  DialError,
  encodeFrames,
  FrameTooLargeError,
  ListenError,
  msgpackCodec,
  PeerClosedError,
  ProtocolError,
  type Link,
} from 'rx-lifeline';
import { tcp, tcpServer } from 'rx-lifeline/node';
import {
  allWhole,
  exchangeBothWays,
  expectBackpressure,
  expectResetAfterWholeWrites,
  expectStillServing,
  failure,
  record,
  sendUntilFull,
  startServer,
  turn,
  type Numbered,
} from '../support/loopback.js';

/** A plain node:net server whose sockets the test drives by hand. */
async function rawServer(
  options: net.ServerOpts = {},
): Promise<{ port: number; nextSocket(): Promise<net.Socket>; close(): void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer(options, (socket) => sockets.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    nextSocket: async () => {
      while (sockets.length === 0) await once(server, 'connection');
      return sockets.shift()!;
    },
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** A plain node:net client, connected. */
async function rawClient(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

describe('tcp and tcpServer', () => {
  it('exchange 10,000 frames each way, in order and intact', async () => {
    const server = await startServer(tcpServer<Numbered>());
    const client = record(tcp<Numbered>({ port: server.port }));
    const accepted = record(await server.nextConnection());
    const [clientLink, serverLink] = await Promise.all([client.link(), accepted.link()]);

    expect(clientLink.info.transport).to.equal('tcp');
    expect(clientLink.info.remote).to.equal(`127.0.0.1:${server.port}`);
    expect(serverLink.info.remote).to.equal(clientLink.info.local);
    expect(serverLink.info.local).to.equal(clientLink.info.remote);

    await exchangeBothWays(client, accepted, 10_000);

    client.subscription.unsubscribe();
    expect(await accepted.outcome).to.equal('complete');
    expect(server.ended()).to.equal(undefined);
    server.stop();
  });

  it('complete on both sides when the client closes its link, after flushing what it queued', async () => {
    const server = await startServer(tcpServer<string>());
    const client = record(tcp<string>({ port: server.port }));
    const accepted = record(await server.nextConnection());
    const link = await client.link();
    link.send('one');
    link.send('two');
    link.close();
    expect(link.closed).to.equal(true);
    expect(() => link.send('three')).to.throw('closed');
    expect(await accepted.frames(3)).to.deep.equal(['one', 'two']);
    expect(await accepted.outcome).to.equal('complete');
    expect(await client.outcome).to.equal('complete');
    server.stop();
  });

  it('complete on both sides when the server closes its link', async () => {
    const server = await startServer(tcpServer<string>());
    const client = record(tcp<string>({ port: server.port }));
    const accepted = record(await server.nextConnection());
    const link = await accepted.link();
    link.send('bye');
    link.close('done');
    expect(await client.frames(2)).to.deep.equal(['bye']);
    expect(await client.outcome).to.equal('complete');
    expect(await accepted.outcome).to.equal('complete');
    server.stop();
  });

  it("closing a link waits for the peer's end, and drops a peer that never ends its side after 30 s", async () => {
    const scheduler = new VirtualTimeScheduler();
    const server = await startServer(tcpServer<string>({ scheduler }));
    // A client that keeps its half open after the server's FIN, and never closes.
    const raw = net.connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
    raw.resume();
    const accepted = record(await server.nextConnection());
    const ended = once(raw, 'end');
    (await accepted.link()).close();
    await ended;
    await turn();
    expect(accepted.subscription.closed, "waits for the client's end").to.equal(false);
    scheduler.flush(); // 30 s later, without it
    const error = await failure(accepted);
    expect(error).to.be.instanceOf(ConnectionResetError);
    expect(error).to.include({ phase: 'read', code: 'ETIMEDOUT' });
    expect((error as ConnectionResetError).message).to.match(/did not end its side within 30000 ms/);
    // The client, having heard the FIN and written nothing since, learns of it only when it writes.
    raw.destroy();
    server.stop();
  });

  it("the client's link close is bounded the same way, and a peer that ends in time leaves no timer", async () => {
    const scheduler = new VirtualTimeScheduler();
    const raw = await rawServer({ allowHalfOpen: true });
    const silent = record(tcp<string>({ port: raw.port, scheduler }));
    const silentSocket = await raw.nextSocket();
    silentSocket.resume();
    const ended = once(silentSocket, 'end');
    (await silent.link()).close();
    await ended;
    scheduler.flush();
    expect(await failure(silent)).to.be.instanceOf(ConnectionResetError);

    const polite = record(tcp<string>({ port: raw.port, scheduler }));
    const politeSocket = await raw.nextSocket();
    politeSocket.resume();
    politeSocket.on('end', () => politeSocket.end());
    (await polite.link()).close();
    expect(await polite.outcome).to.equal('complete');
    expect(scheduler.actions, 'no close timer left').to.have.length(0);
    // The silent peer still holds its half open: this test's own socket to close.
    silentSocket.destroy();
    raw.close();
  });

  it('unsubscribing the client closes its socket: the server side completes', async () => {
    const server = await startServer(tcpServer());
    const client = record(tcp({ port: server.port }));
    const accepted = record(await server.nextConnection());
    await Promise.all([client.link(), accepted.link()]);
    client.subscription.unsubscribe();
    expect(await accepted.outcome).to.equal('complete');
    server.stop();
  });

  it('an unsubscribe inside next(connected) closes the socket at once', async () => {
    const server = await startServer(tcpServer());
    let link: Link<unknown> | undefined;
    const subscription = tcp({ port: server.port }).subscribe(function (event) {
      if (event.type !== 'connected') return;
      link = event.link;
      subscription.unsubscribe();
    });
    const accepted = record(await server.nextConnection());
    expect(await accepted.outcome).to.equal('complete');
    expect(link?.closed).to.equal(true);
    server.stop();
  });

  it('unsubscribing the server closes the listener and completes every accepted connection', async () => {
    const server = await startServer(tcpServer());
    const first = record(tcp({ port: server.port }));
    const second = record(tcp({ port: server.port }));
    const accepted = record(await server.nextConnection());
    await server.nextConnection(); // never subscribed: closed unread
    await Promise.all([first.link(), second.link(), accepted.link()]);
    server.stop();
    expect(await accepted.outcome).to.equal('complete');
    expect(await first.outcome).to.equal('complete');
    expect(await second.outcome).to.equal('complete');
    const refused = await failure(record(tcp({ port: server.port })));
    expect(refused).to.be.instanceOf(DialError);
  });

  it('an accepted connection can be subscribed only once', async () => {
    const server = await startServer(tcpServer());
    const client = record(tcp({ port: server.port }));
    const connection = await server.nextConnection();
    const accepted = record(connection);
    await accepted.link();
    const error = await failure(record(connection));
    expect(error).to.be.instanceOf(TypeError);
    expect((error as Error).message).to.match(/only once/);
    client.subscription.unsubscribe();
    expect(await accepted.outcome).to.equal('complete');
    server.stop();
  });

  it('a reset mid-stream errors the client with ConnectionResetError, reporting the frames written whole', async () => {
    const raw = await rawServer();
    const client = record(tcp<string>({ port: raw.port }));
    const link = await client.link();
    const socket = await raw.nextSocket();
    const frames = ['a', 'b', 'c'];
    for (const frame of frames) link.send(frame);
    const expected = encodeFrames(msgpackCodec(), frames).length;
    let received = 0;
    while (received < expected) received += ((await once(socket, 'data')) as [Buffer])[0].length;
    // The write callbacks have fired: every frame is confirmed as having left whole.
    expect(link.writeReport()).to.deep.equal(allWhole(frames.length));

    socket.resetAndDestroy();
    const reset = await expectResetAfterWholeWrites(client, 'ECONNRESET', frames.length);
    expect((reset.cause as NodeJS.ErrnoException).code).to.equal('ECONNRESET');
    raw.close();
  });

  it('a frame written after the peer reset is reported as never sent: the socket refused the write', async () => {
    const raw = await rawServer();
    const client = record(tcp<string>({ port: raw.port }));
    const link = await client.link();
    const socket = await raw.nextSocket();
    link.send('delivered');
    const size = encodeFrames(msgpackCodec(), ['delivered']).length;
    let received = 0;
    while (received < size) received += ((await once(socket, 'data')) as [Buffer])[0].length;
    expect(link.writeReport()).to.deep.equal(allWhole(1));

    // The reset reaches the client's kernel before this returns; the client's process has not
    // seen it yet when its write goes out, so the socket refuses the write outright.
    socket.resetAndDestroy();
    link.send('after the reset');
    const error = await failure(client);
    expect(error).to.be.instanceOf(ConnectionResetError);
    const reset = error as ConnectionResetError;
    expect(reset.phase).to.equal('write');
    expect(reset.write).to.deep.include({ lastFrame: 'not-started', framesLeft: 1 });
    raw.close();
  });

  it('a peer that ends the stream inside a frame errors with PeerClosedError, after the whole frames', async () => {
    const raw = await rawServer();
    const client = record(tcp<string>({ port: raw.port }));
    await client.link();
    const socket = await raw.nextSocket();
    const bytes = encodeFrames(msgpackCodec(), ['whole', 'cut short']);
    socket.end(bytes.subarray(0, bytes.length - 3));
    expect(await client.frames(2)).to.deep.equal(['whole']);
    const error = await failure(client);
    expect(error).to.be.instanceOf(PeerClosedError);
    expect((error as PeerClosedError).phase).to.equal('close');
    expect((error as PeerClosedError).cause).to.be.instanceOf(ProtocolError);
    // What the connection knows of its writes: it sent nothing (not 'unknown').
    expect((error as PeerClosedError).write).to.deep.equal({
      lastFrame: 'none',
      unconfirmedFrames: 0,
      unconfirmedBytes: 0,
      framesLeft: 0,
    });
    raw.close();
  });

  it('a dial not connected within connectTimeout fails with DialError ETIMEDOUT, timed on its scheduler', async () => {
    const scheduler = new VirtualTimeScheduler();
    const server = await startServer(tcpServer<string>());
    const late = record(tcp<string>({ port: server.port, connectTimeout: 1_000, scheduler }));
    scheduler.flush(); // 1 s of virtual time, before the loopback dial completes
    const error = await failure(late);
    expect(error).to.be.instanceOf(DialError);
    expect(error).to.include({ phase: 'dial', code: 'ETIMEDOUT' });
    expect((error as DialError).message).to.match(/no connection after 1000 ms/);
    const onTime = record(tcp<string>({ port: server.port, connectTimeout: 1_000, scheduler }));
    await onTime.link();
    expect(scheduler.actions, 'no dial timer left once connected').to.have.length(0);
    onTime.subscription.unsubscribe();
    // 30 s by default; Infinity sets no timer.
    const byDefault = record(tcp<string>({ port: server.port, scheduler }));
    scheduler.flush();
    expect(scheduler.now()).to.equal(31_000);
    expect(((await failure(byDefault)) as DialError).message).to.match(/no connection after 30000 ms/);
    const unbounded = record(tcp<string>({ port: server.port, connectTimeout: Infinity, scheduler }));
    expect(scheduler.actions).to.have.length(0);
    await unbounded.link();
    unbounded.subscription.unsubscribe();
    server.stop();
  });

  it('a refused dial errors with DialError ECONNREFUSED', async () => {
    const raw = await rawServer();
    raw.close();
    const error = await failure(record(tcp({ port: raw.port })));
    expect(error).to.be.instanceOf(DialError);
    const dial = error as DialError;
    expect(dial.code).to.equal('ECONNREFUSED');
    expect(dial.phase).to.equal('dial');
    expect(dial.write.lastFrame).to.equal('none');
  });

  it('an oversized length prefix errors that connection with FrameTooLargeError; others are served', async () => {
    const server = await startServer(tcpServer<string>({ maxFrameBytes: 1024 }));
    const hostile = await rawClient(server.port);
    const accepted = record(await server.nextConnection());
    const closed = once(hostile, 'close');
    hostile.write(Uint8Array.of(0, 0, 0x10, 0, 1, 2, 3)); // announces 4096 bytes
    const error = await failure(accepted);
    expect(error).to.be.instanceOf(FrameTooLargeError);
    expect(error).to.include({ size: 4096, limit: 1024, offset: 0 });
    await closed; // the server dropped the hostile socket

    await expectStillServing(server, () => tcp<string>({ port: server.port }));
    server.stop();
  });

  it('once a layer above failed the connection on a frame, the rest of the chunk is not decoded', async () => {
    const decoded: unknown[] = [];
    const inner = msgpackCodec<string>();
    const codec = {
      encode: (value: string) => inner.encode(value),
      decode: (bytes: Uint8Array) => {
        const value = inner.decode(bytes);
        decoded.push(value);
        return value;
      },
    };
    const server = await startServer(tcpServer<string>({ codec }));
    const hostile = await rawClient(server.port);
    const accepted = record(
      (await server.nextConnection()).pipe(
        tap((e) => {
          if (e.type === 'frame' && e.frame === 'bad')
            throw new ProtocolError('rejected above', { offset: -1 });
        }),
      ),
    );
    // The server resets the socket: its 'error' is expected, and once() would reject on it.
    const closed = new Promise((resolve) => hostile.on('error', () => undefined).once('close', resolve));
    hostile.write(encodeFrames(inner, ['ok', 'bad', 'after', 'x'.repeat(100_000)]));
    expect(((await failure(accepted)) as Error).message).to.equal('rejected above');
    await closed;
    expect(decoded).to.deep.equal(['ok', 'bad']);
    server.stop();
  });

  it('garbage after a valid frame errors that connection with ProtocolError at its offset; others are unaffected', async () => {
    const server = await startServer(tcpServer<string>());
    const bystander = record(tcp<string>({ port: server.port }));
    const bystanderAccepted = record(await server.nextConnection());
    const hostile = await rawClient(server.port);
    const accepted = record(await server.nextConnection());
    const valid = encodeFrames(msgpackCodec(), ['fine']);
    const closed = once(hostile, 'close');
    hostile.write(Buffer.concat([valid, Uint8Array.of(0, 0, 0, 1, 0xc1)]));
    expect(await accepted.frames(2)).to.deep.equal(['fine']);
    const error = await failure(accepted);
    expect(error).to.be.instanceOf(ProtocolError);
    expect(error).not.to.be.instanceOf(FrameTooLargeError);
    expect((error as ProtocolError).offset).to.equal(valid.length);
    await closed;

    (await bystander.link()).send('unaffected');
    expect(await bystanderAccepted.frames(1)).to.deep.equal(['unaffected']);
    bystander.subscription.unsubscribe();
    expect(await bystanderAccepted.outcome).to.equal('complete');
    server.stop();
  });

  it('a slow reader fills the send buffer: SendBufferFullError at maxBufferedBytes, nothing lost', async () => {
    const server = await startServer(tcpServer<Numbered>({ maxFrameBytes: 1024 }));
    const client = record(tcp<Numbered>({ port: server.port, maxFrameBytes: 1024, maxBufferedBytes: 8192 }));
    const link = await client.link();
    const connection = await server.nextConnection(); // not subscribed yet: the socket is not read
    const reader = await expectBackpressure(link, connection, 8192);
    client.subscription.unsubscribe();
    expect(await reader.outcome).to.equal('complete');
    server.stop();
  });

  it('a reset while writes are stuck reports them unconfirmed, in the write phase', async () => {
    const raw = await rawServer({ pauseOnConnect: true }); // never reads
    const client = record(tcp<Numbered>({ port: raw.port, maxFrameBytes: 1024, maxBufferedBytes: 8192 }));
    const link = await client.link();
    const socket = await raw.nextSocket();
    await sendUntilFull(link);
    const pending = link.bufferedBytes;
    expect(pending).to.be.above(0);

    socket.resetAndDestroy();
    const error = await failure(client);
    expect(error).to.be.instanceOf(ConnectionResetError);
    const reset = error as ConnectionResetError;
    expect(reset.phase).to.equal('write');
    expect(reset.write.unconfirmedBytes).to.equal(pending);
    expect(reset.write.unconfirmedFrames).to.be.above(0);
    expect(reset.write.lastFrame).to.be.oneOf(['partial', 'not-started']);
    raw.close();
  });

  it('a second server on a used port errors with ListenError EADDRINUSE', async () => {
    const first = await startServer(tcpServer());
    const second = await firstValueFrom(tcpServer({ port: first.port })).catch((error: unknown) => error);
    expect(second).to.be.instanceOf(ListenError);
    expect(second).to.include({ code: 'EADDRINUSE', address: `127.0.0.1:${first.port}` });
    first.stop();
  });

  it('unsubscribing the server before it is bound leaves no listener behind', () => {
    tcpServer().subscribe().unsubscribe(); // the root hook fails the test if a listener remains
  });

  it('reject nonsense options with a TypeError', () => {
    expect(() => tcp({ port: 0 })).to.throw(TypeError, /port/);
    expect(() => tcp({ port: 70_000 })).to.throw(TypeError, /port/);
    expect(() => tcp({ port: 1.5 })).to.throw(TypeError, /port/);
    expect(() => tcp({ port: 80, connectTimeout: -1 })).to.throw(TypeError, /connectTimeout/);
    expect(() => tcp({ port: 80, maxFrameBytes: 1024, maxBufferedBytes: 10 })).to.throw(TypeError);
    expect(() => tcpServer({ port: -1 })).to.throw(TypeError, /port/);
    expect(() => tcpServer({ maxConnections: 0 })).to.throw(TypeError, /maxConnections/);
  });
});
