import { expect } from 'chai';
import net from 'node:net';
import { resetSocket } from './reset-socket.js';

/** A loopback server and a connected client; `stop` destroys whatever is left. */
async function connectedPair() {
  const accepted: net.Socket[] = [];
  const peerErrors: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', (error: NodeJS.ErrnoException) => peerErrors.push(String(error.code)));
    accepted.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' });
  const errors: string[] = [];
  client.on('error', (error: NodeJS.ErrnoException) => errors.push(String(error.code)));
  await new Promise<void>((resolve) => client.once('connect', resolve));
  while (accepted.length === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  const stop = async () => {
    client.destroy();
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { client, errors, peer: accepted[0]!, peerErrors, stop };
}

/** Whether `socket` emits 'close' before the server side can answer a round of the event loop. */
function closes(socket: net.Socket): Promise<boolean> {
  if (socket.closed) return Promise.resolve(true);
  return new Promise((resolve) => {
    socket.once('close', () => resolve(true));
    // 50 turns of the loop: a handle Node closes is closed in the first.
    let turns = 0;
    const spin = () => (socket.closed ? undefined : ++turns < 50 ? setImmediate(spin) : resolve(false));
    setImmediate(spin);
  });
}

describe('resetSocket (spec support)', () => {
  it('resets an open socket: the peer sees ECONNRESET', async () => {
    const { client, peer, peerErrors, stop } = await connectedPair();
    try {
      resetSocket(client);
      expect(await closes(client)).to.equal(true);
      await new Promise((resolve) => peer.once('close', resolve));
      expect(peerErrors).to.deep.equal(['ECONNRESET']);
    } finally {
      await stop();
    }
  });

  it('closes a socket whose shutdown has begun, which resetAndDestroy() would leave open for good', async () => {
    const { client, errors, stop } = await connectedPair();
    try {
      client.end();
      await new Promise<void>((resolve) => process.nextTick(resolve)); // the shutdown is under way
      resetSocket(client);
      expect(await closes(client)).to.equal(true);
      expect(errors).to.deep.equal([]);
    } finally {
      await stop();
    }
  });
});
