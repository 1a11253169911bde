// What one peer can hold on a socket server: a frame deadline, a cap on connections and a cap on
// the bytes held in unfinished frames, over real loopback sockets with raw `net` and `ws` peers.
import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import { WebSocket } from 'ws';
import {
  acceptSessions,
  ConnectionResetError,
  DialError,
  type ConnectionError,
  encodeFrames,
  FrameTimeoutError,
  MessageTooLargeError,
  msgpackCodec,
  PeerClosedError,
  ServerCapacityError,
  websocket,
} from 'rx-lifeline';
import { tcp, tcpServer, websocketServer } from 'rx-lifeline/node';
import { filter, firstValueFrom, tap, VirtualTimeScheduler } from 'rxjs';
import {
  expectStillServing,
  failure,
  record,
  startServer,
  turn,
  type RunningServer,
} from '../support/loopback.js';

const codec = msgpackCodec<string>();
const KiB = 1024;

/** One frame on the wire: a string of about `bytes` bytes, named so that it can be told apart. */
function bigFrame(name: string, bytes: number): { value: string; wire: Uint8Array } {
  const value = `${name}:${'x'.repeat(bytes - name.length - 6)}`;
  return { value, wire: encodeFrames(codec, [value]) };
}

/** A plain node:net client, connected, whose resets are expected. */
async function rawClient(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

/** A plain ws client, open; `closed` settles with the close code the server sent. */
async function rawWebSocket(url: string): Promise<{ socket: WebSocket; closed: Promise<number> }> {
  const socket = new WebSocket(url);
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await once(socket, 'open');
  return { socket, closed };
}

/**
 * The next client of `server` is accepted (not refused at `maxConnections`), and its frame of
 * 60 KiB gets through whole (not refused at `maxPendingFrameBytes`): the one before gave both back.
 */
async function expectPlaceAndBytes(server: RunningServer<string, string>, after: string): Promise<void> {
  const refused = server.nextRefusal().then((event) => {
    throw new Error(`after "${after}": the next client was refused (${event.reason})`);
  });
  const socket = await rawClient(server.port);
  const accepted = record(await Promise.race([server.nextConnection(), refused]));
  const frame = bigFrame('whole', 60 * KiB);
  socket.write(frame.wire);
  expect(await Promise.race([accepted.frames(1), refused]), after).to.deep.equal([frame.value]);
  socket.destroy();
  await accepted.outcome;
}

const localOf = (socket: net.Socket) => `${socket.localAddress}:${socket.localPort}`;

describe('socket server limits', () => {
  describe('tcpServer', () => {
    it('fails a connection whose started frame is not whole within frameTimeout; others keep working', async () => {
      const server = await startServer(tcpServer<string>({ frameTimeout: 50 }));
      const hostile = await rawClient(server.port);
      const accepted = record(await server.nextConnection());
      const { wire } = bigFrame('half', 100 * KiB);
      hostile.write(Buffer.concat([encodeFrames(codec, ['first']), wire.subarray(0, 50 * KiB)]));
      expect(await accepted.frames(1)).to.deep.equal(['first']);
      const error = await failure(accepted);
      expect(error).to.be.instanceOf(FrameTimeoutError);
      expect((error as FrameTimeoutError).timeout).to.equal(50);
      expect((error as FrameTimeoutError).bufferedBytes).to.be.above(0);
      // What the connection knows of its writes: it sent nothing, not that nothing is known.
      expect((error as FrameTimeoutError).write).to.deep.equal({
        lastFrame: 'none',
        unconfirmedFrames: 0,
        unconfirmedBytes: 0,
        framesLeft: 0,
      });
      await once(hostile, 'close');
      await expectStillServing(server, () => tcp<string>({ port: server.port }));
      server.stop();
    });

    it('refuses the connection whose unfinished frame takes the server past maxPendingFrameBytes; the other finishes its frame', async () => {
      const server = await startServer(
        tcpServer<string>({ maxFrameBytes: 64 * KiB, maxPendingFrameBytes: 100 * KiB }),
      );
      const a = await rawClient(server.port);
      const acceptedA = record(await server.nextConnection());
      const b = await rawClient(server.port);
      const acceptedB = record(await server.nextConnection());
      const frameA = bigFrame('a', 63 * KiB);
      const frameB = bigFrame('b', 63 * KiB);
      a.write(frameA.wire.subarray(0, 60 * KiB));
      b.write(frameB.wire.subarray(0, 60 * KiB));

      const refusal = await server.nextRefusal();
      expect(refusal.reason).to.equal('max-pending-frame-bytes');
      expect(refusal.total).to.equal(1);
      expect(refusal.error).to.be.instanceOf(ServerCapacityError);
      expect(refusal.error.limit).to.equal(100 * KiB);
      expect(refusal.error.write).to.deep.equal({
        lastFrame: 'none',
        unconfirmedFrames: 0,
        unconfirmedBytes: 0,
        framesLeft: 0,
      });
      const aRefused = refusal.remote === localOf(a);
      const [refused, kept, keptSocket, keptFrame] = aRefused
        ? [acceptedA, acceptedB, b, frameB]
        : [acceptedB, acceptedA, a, frameA];
      expect(await failure(refused)).to.equal(refusal.error);
      await once(aRefused ? a : b, 'close');

      keptSocket.write(keptFrame.wire.subarray(60 * KiB));
      expect(await kept.frames(1)).to.deep.equal([keptFrame.value]);
      keptSocket.destroy();
      expect(await kept.outcome).to.equal('complete');
      await expectStillServing(server, () => tcp<string>({ port: server.port }));
      server.stop();
    });

    it('resets a connection over maxConnections and reports it; the open ones keep working', async () => {
      const server = await startServer(tcpServer<string>({ maxConnections: 2 }));
      const first = record(tcp<string>({ port: server.port }));
      const acceptedFirst = record(await server.nextConnection());
      const second = record(tcp<string>({ port: server.port }));
      const acceptedSecond = record(await server.nextConnection());

      const third = record(tcp<string>({ port: server.port }));
      const refusal = await server.nextRefusal();
      expect(refusal).to.include({ type: 'refused', reason: 'max-connections', total: 1 });
      expect(refusal.error).to.be.instanceOf(ServerCapacityError);
      // Reset as soon as accepted: the client may not even have seen its dial complete.
      const reset = await failure(third);
      expect(reset).to.satisfy((e: unknown) => ConnectionResetError.is(e) || DialError.is(e));
      expect((reset as ConnectionError).code).to.equal('ECONNRESET');

      (await first.link()).send('one');
      (await second.link()).send('two');
      expect(await acceptedFirst.frames(1)).to.deep.equal(['one']);
      expect(await acceptedSecond.frames(1)).to.deep.equal(['two']);
      first.subscription.unsubscribe();
      second.subscription.unsubscribe();
      expect(await acceptedFirst.outcome).to.equal('complete');
      expect(await acceptedSecond.outcome).to.equal('complete');
      server.stop();
    });

    it('acceptSessions on such a server counts its refusals in stats$', async () => {
      let listening!: (port: number) => void;
      const port = new Promise<number>((resolve) => (listening = resolve));
      const server = acceptSessions(
        tcpServer({ maxConnections: 1 }).pipe(tap((e) => e.type === 'listening' && listening(e.port))),
      );
      const running = server.subscribe();
      const refused = firstValueFrom(
        server.stats$.pipe(filter((s) => s.refusedConnections['max-connections'] > 0)),
      );
      const kept = net.connect(await port, '127.0.0.1');
      await firstValueFrom(server.stats$.pipe(filter((s) => s.connections === 1)));
      const over = net.connect(await port, '127.0.0.1');
      over.on('error', () => undefined);
      const stats = await refused;
      expect(stats.refusedConnections).to.deep.equal({ 'max-connections': 1, 'max-pending-frame-bytes': 0 });
      expect(stats.connections).to.equal(1);
      kept.destroy();
      over.destroy();
      running.unsubscribe();
    });

    it('every way a connection ends gives back its place and the bytes of its unfinished frame', async () => {
      const scheduler = new VirtualTimeScheduler();
      // Room for one connection and one unfinished frame of at most 64 KiB.
      const server = await startServer(
        tcpServer<string>({
          maxConnections: 1,
          maxFrameBytes: 64 * KiB,
          maxPendingFrameBytes: 64 * KiB + 4,
          frameTimeout: 1_000,
          scheduler,
        }),
      );
      const part = bigFrame('part', 60 * KiB).wire.subarray(0, 50 * KiB);
      type Accepted = ReturnType<typeof record<string, string>>;
      const endings: Record<string, (socket: net.Socket, accepted: () => Accepted) => Promise<void>> = {
        'the client resets': async (socket) => void socket.resetAndDestroy(),
        'the client ends inside the frame': async (socket) => void socket.end(),
        'the server unsubscribes': async (_socket, accepted) => accepted().subscription.unsubscribe(),
        'the frame deadline passes': async () => void scheduler.flush(),
        'the server closes its link and the client ends too': async (socket, accepted) => {
          socket.on('end', () => socket.end());
          (await accepted().link()).close();
        },
        'the server closes its link and the client never ends': async (socket, accepted) => {
          const ended = once(socket, 'end');
          (await accepted().link()).close();
          await ended;
          scheduler.flush();
        },
      };
      for (const [how, end] of Object.entries(endings)) {
        const socket = net.connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
        socket.on('error', () => undefined);
        const connection = await server.nextConnection();
        const accepted = record(connection);
        await accepted.link();
        socket.write(part);
        // Held by the server once its deadline for the frame is set.
        while (scheduler.actions.length === 0) await turn();
        await end(socket, () => accepted);
        // Unsubscribed, it has no outcome; else it has one.
        if (!accepted.subscription.closed) await accepted.outcome;
        await expectPlaceAndBytes(server, how);
        socket.destroy();
      }
      // Not subscribed while its client came and went: subscribed late, it ends at once.
      const unread = await rawClient(server.port);
      const late = await server.nextConnection();
      unread.write(part);
      unread.destroy();
      await record(late).outcome;
      await expectPlaceAndBytes(server, 'gone before its subscription');
      server.stop();
    });

    it('rejects nonsense limits with a TypeError', () => {
      expect(() => tcpServer({ maxConnections: 0 })).to.throw(TypeError, /tcpServer: maxConnections/);
      expect(() => tcpServer({ frameTimeout: -1 })).to.throw(TypeError, /tcpServer: frameTimeout/);
      expect(() => tcpServer({ maxFrameBytes: 1024, maxPendingFrameBytes: 1000 })).to.throw(
        TypeError,
        /tcpServer: maxPendingFrameBytes must be an integer ≥ 1028/,
      );
      expect(() => tcp({ port: 1, frameTimeout: 0 })).to.throw(TypeError, /tcp: frameTimeout/);
    });
  });

  describe('websocketServer', () => {
    it('refuses a message over maxFrameBytes + 4 from its header: 1009 for the peer, MessageTooLargeError here', async () => {
      const server = await startServer(websocketServer<string>({ maxFrameBytes: 100 * KiB }));
      const hostile = await rawWebSocket(server.address);
      const accepted = record(await server.nextConnection());
      // Two frames each within the limit, in one message over it.
      hostile.socket.send(
        encodeFrames(codec, [bigFrame('a', 60 * KiB).value, bigFrame('b', 60 * KiB).value]),
      );
      expect(await hostile.closed).to.equal(1009);
      const error = await failure(accepted);
      expect(error).to.be.instanceOf(MessageTooLargeError);
      expect((error as MessageTooLargeError).limit).to.equal(100 * KiB + 4);
      await expectStillServing(server, () => websocket<string>({ url: server.address, WebSocket }));
      server.stop();
    });

    it('sends frames of one tick in messages of at most 64 KiB, or one frame each when larger', async () => {
      const server = await startServer(websocketServer<string>());
      const peer = await rawWebSocket(server.address);
      const accepted = record(await server.nextConnection());
      const sizes: number[] = [];
      peer.socket.on('message', (data: Buffer) => sizes.push(data.length));
      const link = await accepted.link();
      const small = Array.from({ length: 100 }, (_, i) => `${i}:${'s'.repeat(1000)}`);
      for (const frame of small) link.send(frame);
      link.send(bigFrame('big', 100 * KiB).value);
      link.close();
      await peer.closed;
      const total = encodeFrames(codec, [...small, bigFrame('big', 100 * KiB).value]).length;
      expect(sizes.reduce((sum, size) => sum + size, 0)).to.equal(total);
      expect(sizes.length).to.equal(3);
      expect(sizes[0]).to.be.at.most(64 * KiB);
      expect(sizes[2]).to.be.above(100 * KiB);
      expect(await accepted.outcome).to.equal('complete');
      server.stop();
    });

    it('the ws client refuses a message over its maxFrameBytes + 4 from its header', async () => {
      const server = await startServer(websocketServer<string>({ maxFrameBytes: 200 * KiB }));
      const client = record(websocket<string>({ url: server.address, WebSocket, maxFrameBytes: 100 * KiB }));
      const accepted = record(await server.nextConnection());
      await client.link();
      (await accepted.link()).send(bigFrame('big', 150 * KiB).value);
      const error = await failure(client);
      expect(error).to.be.instanceOf(MessageTooLargeError);
      const atServer = await failure(accepted);
      expect(atServer).to.be.instanceOf(PeerClosedError);
      expect((atServer as PeerClosedError).code).to.equal(1009);
      server.stop();
    });

    it('fails a connection whose message is not whole within frameTimeout (1008); others keep working', async () => {
      const server = await startServer(websocketServer<string>({ frameTimeout: 50 }));
      const hostile = await rawWebSocket(server.address);
      const accepted = record(await server.nextConnection());
      const { wire } = bigFrame('half', 100 * KiB);
      hostile.socket.send(encodeFrames(codec, ['first']));
      hostile.socket.send(wire.subarray(0, 50 * KiB), { fin: false });
      expect(await accepted.frames(1)).to.deep.equal(['first']);
      const error = await failure(accepted);
      expect(error).to.be.instanceOf(FrameTimeoutError);
      expect(await hostile.closed).to.equal(1008);
      await expectStillServing(server, () => websocket<string>({ url: server.address, WebSocket }));
      server.stop();
    });

    it('refuses the connection whose unfinished message takes the server past maxPendingFrameBytes (1013)', async () => {
      const server = await startServer(
        websocketServer<string>({ maxFrameBytes: 64 * KiB, maxPendingFrameBytes: 100 * KiB }),
      );
      const a = await rawWebSocket(server.address);
      const acceptedA = record(await server.nextConnection());
      const b = await rawWebSocket(server.address);
      const acceptedB = record(await server.nextConnection());
      await Promise.all([acceptedA.link(), acceptedB.link()]);
      const frameA = bigFrame('a', 63 * KiB);
      const frameB = bigFrame('b', 63 * KiB);
      a.socket.send(frameA.wire.subarray(0, 60 * KiB), { fin: false });
      b.socket.send(frameB.wire.subarray(0, 60 * KiB), { fin: false });

      const refusal = await server.nextRefusal();
      expect(refusal).to.include({ reason: 'max-pending-frame-bytes', total: 1 });
      const outcomes = await Promise.race([
        acceptedA.outcome.then(() => 'a' as const),
        acceptedB.outcome.then(() => 'b' as const),
      ]);
      const [refused, kept, keptRecording, keptFrame] =
        outcomes === 'a' ? [a, b, acceptedB, frameB] : [b, a, acceptedA, frameA];
      expect(await failure(outcomes === 'a' ? acceptedA : acceptedB)).to.equal(refusal.error);
      expect(await refused.closed).to.equal(1013);

      kept.socket.send(keptFrame.wire.subarray(60 * KiB), { fin: true });
      expect(await keptRecording.frames(1)).to.deep.equal([keptFrame.value]);
      kept.socket.close();
      expect(await keptRecording.outcome).to.equal('complete');
      server.stop();
    });

    it('closes a connection over maxConnections with 1013 and reports it; the open one keeps working', async () => {
      const server = await startServer(websocketServer<string>({ maxConnections: 1 }));
      const first = record(websocket<string>({ url: server.address, WebSocket }));
      const accepted = record(await server.nextConnection());
      const second = await rawWebSocket(server.address).catch(() => undefined);
      const refusal = await server.nextRefusal();
      expect(refusal).to.include({ type: 'refused', reason: 'max-connections', total: 1 });
      if (second) expect(await second.closed).to.equal(1013);
      (await first.link()).send('still here');
      expect(await accepted.frames(1)).to.deep.equal(['still here']);
      first.subscription.unsubscribe();
      expect(await accepted.outcome).to.equal('complete');
      await turn();
      server.stop();
    });
  });
});
