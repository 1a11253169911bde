import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import { VirtualTimeScheduler } from 'rxjs';
import { ConnectionResetError, encodeFrames, FrameTimeoutError, msgpackCodec } from 'rx-lifeline';
import { websocketServer } from 'rx-lifeline/node';
import { record, startServer, turn } from '../support/loopback.js';

// A server's socket as a raw client sees it: what it reads after a close frame or a text message,
// when it ends its side, and what one message torn across reads leaves behind.

/** An upgrade request a raw client writes (the key is RFC 6455's example). */
const UPGRADE_REQUEST =
  'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** One final frame as a client sends it: masked (with a zero key, so the payload reads as is). */
function maskedFrame(opcode: number, payload: Uint8Array): Buffer {
  if (payload.length > 125) throw new RangeError('maskedFrame writes short frames only');
  return Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0, ...payload]);
}

const BINARY = 0x2;
const TEXT = 0x1;
const CLOSE = 0x8;
const codec = msgpackCodec<string>();

/** A raw client upgraded on a server whose timers never fire unless flushed, and its connection. */
async function rawClient() {
  const scheduler = new VirtualTimeScheduler();
  const server = await startServer(websocketServer<string>({ scheduler, frameTimeout: 1_000 }));
  const raw = net.connect(server.port, '127.0.0.1');
  raw.on('error', () => undefined);
  const received: Buffer[] = [];
  raw.on('data', (chunk: Buffer) => received.push(chunk));
  raw.write(UPGRADE_REQUEST);
  const accepted = record(await server.nextConnection());
  await accepted.link();
  const stop = () => {
    raw.destroy();
    server.stop();
  };
  return { scheduler, raw, received: () => Buffer.concat(received), accepted, stop };
}

describe('websocketServer, read by a raw client', () => {
  it("reads nothing after a client's close frame, answers it, and ends the socket without waiting", async () => {
    const { raw, received, accepted, stop } = await rawClient();
    const ended = once(raw, 'end');
    raw.write(
      Buffer.concat([
        maskedFrame(CLOSE, Uint8Array.of(0x03, 0xe8)),
        maskedFrame(BINARY, encodeFrames(codec, ['after the close'])),
      ]),
    );
    await ended; // the server's timers never fire: it ended the socket on its own
    expect(received().includes(Buffer.from([0x88, 0x02, 0x03, 0xe8])), 'the answer, 1000').to.equal(true);
    expect(await accepted.outcome).to.equal('complete');
    expect(await accepted.frames(1)).to.deep.equal([]);
    stop();
  });

  it('a text message stops reading: the server closes with 1003 and ends the socket without waiting', async () => {
    const { raw, received, accepted, stop } = await rawClient();
    const ended = once(raw, 'end');
    raw.write(
      Buffer.concat([maskedFrame(TEXT, Buffer.from('hi')), maskedFrame(BINARY, encodeFrames(codec, ['x']))]),
    );
    await ended;
    expect(received().includes(Buffer.from([0x88]))).to.equal(true);
    expect(received().includes(Buffer.from([0x03, 0xeb])), 'close code 1003').to.equal(true);
    expect(await accepted.frames(1)).to.deep.equal([]);
    stop();
  });

  it('an unmasked frame stops reading: the server closes with 1002 and ends the socket without waiting', async () => {
    const { raw, received, accepted, stop } = await rawClient();
    const ended = once(raw, 'end');
    raw.write(
      Buffer.concat([Buffer.from([0x82, 0x01, 0x00]), maskedFrame(BINARY, encodeFrames(codec, ['x']))]),
    );
    await ended;
    expect(received().includes(Buffer.from([0x03, 0xea])), 'close code 1002').to.equal(true);
    expect(await accepted.frames(1)).to.deep.equal([]);
    stop();
  });

  it('a message not whole frameTimeout after its first byte fails with 1008, saying how many bytes came', async () => {
    const { scheduler, raw, received, accepted, stop } = await rawClient();
    const ended = once(raw, 'end');
    raw.write(maskedFrame(BINARY, encodeFrames(codec, ['torn'])).subarray(0, 9));
    await until(() => scheduler.actions.length === 1);
    scheduler.flush();
    const error = (await accepted.outcome) as { error: unknown };
    expect(FrameTimeoutError.is(error.error), String(error.error)).to.equal(true);
    expect((error.error as FrameTimeoutError).bufferedBytes).to.equal(9);
    expect((error.error as FrameTimeoutError).message).to.contain('(9 bytes arrived)');
    await ended;
    expect(received().includes(Buffer.from([0x03, 0xf0])), 'close code 1008').to.equal(true);
    stop();
  });

  it('a message torn across reads and then whole leaves no deadline behind: silence after it is no timeout', async () => {
    const { scheduler, raw, accepted, stop } = await rawClient();
    const message = maskedFrame(BINARY, encodeFrames(codec, ['torn']));
    raw.write(message.subarray(0, 5));
    await until(() => scheduler.actions.length === 1); // the deadline of the unfinished message
    raw.write(message.subarray(5));
    expect(await accepted.frames(1)).to.deep.equal(['torn']);
    scheduler.flush(); // far past frameTimeout
    raw.write(maskedFrame(BINARY, encodeFrames(codec, ['still here'])));
    expect(await accepted.frames(2)).to.deep.equal(['torn', 'still here']);
    raw.write(maskedFrame(CLOSE, Uint8Array.of(0x03, 0xe8)));
    expect(await accepted.outcome).to.equal('complete');
    stop();
  });

  it('a socket error reaches the connection: it fails with a ConnectionResetError caused by it', async () => {
    const { raw, accepted, stop } = await rawClient();
    raw.resetAndDestroy();
    const outcome = await accepted.outcome;
    const error = (outcome as { error: unknown }).error;
    expect(ConnectionResetError.is(error), String(error)).to.equal(true);
    expect(((error as ConnectionResetError).cause as { code?: unknown } | undefined)?.code).to.equal(
      'ECONNRESET',
    );
    stop();
  });
});

/** Resolves once `done` holds, checked after each turn of the event loop. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await turn();
}
