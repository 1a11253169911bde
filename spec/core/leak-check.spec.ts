import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import { mochaHooks } from '../support/hooks.js';

describe('the leak-checking root hook', () => {
  it('fails a test that leaves a timer behind, and passes once it is cleared', async () => {
    await Promise.resolve(); // Mocha arms this test's own timer once it has the promise
    mochaHooks.beforeEach();
    const timer = setTimeout(() => undefined, 60_000);
    const fakeContext = {
      runnable: () => ({ clearTimeout: () => undefined }),
      currentTest: { fullTitle: () => 'a leaky test' },
    } as unknown as Mocha.Context;
    let message = '';
    const check = mochaHooks.afterEach.call(fakeContext);
    expect(check).to.be.an.instanceOf(Promise);
    await (check as Promise<void>).catch((error: Error) => (message = error.message));
    expect(message).to.equal('a leaky test left resources behind: 1 Timeout');
    clearTimeout(timer);
    expect(mochaHooks.afterEach.call(fakeContext)).to.equal(undefined);
  });

  it('fails a test that leaves a TCP socket open, even an idle one that keeps no loop alive', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    mochaHooks.beforeEach();
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const [accepted] = (await once(server, 'connection')) as [net.Socket];
    await once(client, 'connect');
    const fakeContext = {
      runnable: () => ({ clearTimeout: () => undefined }),
      currentTest: { fullTitle: () => 'a leaky test' },
    } as unknown as Mocha.Context;
    try {
      let message = '';
      await (mochaHooks.afterEach.call(fakeContext) as Promise<void>).catch(
        (error: Error) => (message = error.message),
      );
      expect(message).to.equal('a leaky test left resources behind: 2 TCPSocketWrap');
      client.destroy();
      accepted.destroy();
      await mochaHooks.afterEach.call(fakeContext); // both sockets closed: nothing left
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });
});
