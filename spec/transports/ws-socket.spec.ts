import { expect } from 'chai';
import * as wsSocket from '../../lib/transports/ws-socket.js';
import * as browserWsSocket from '../../lib/transports/ws-socket.browser.js';
import { CLIENT_SET, measure } from '../../scripts/size.js';

describe('ws-socket (what only sockets of the ws package need) and its browser stand-in', function () {
  this.timeout(120_000);

  it('the browser stand-in has every function of ws-socket.ts, each saying "not a ws socket"', () => {
    expect(Object.keys(browserWsSocket).sort()).to.deep.equal(Object.keys(wsSocket).sort());
    for (const [name, stub] of Object.entries(browserWsSocket)) {
      // Empty, so that a bundler replaces each call with undefined.
      expect(String(stub), name).to.match(/\)\s*\{\s*\}$/);
      expect((stub as (...args: unknown[]) => unknown)({}, {}, {}, {}), name).to.equal(undefined);
    }
  });

  it('keeps the ws-only paths out of the browser client set', async () => {
    const { code } = await measure(CLIENT_SET);
    expect(code).to.not.include('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    expect(code).to.not.include('maxPayload');
    expect(code).to.not.include('.terminate');
  });

  it('sendConfirmed confirms a write only when ws reports it without an error', () => {
    const answers: (Error | null | undefined)[] = [undefined, null, new Error('gone')];
    const socket = {
      readyState: 1,
      bufferedAmount: 0,
      binaryType: 'arraybuffer',
      terminate: () => undefined,
      send: (_data: Uint8Array, done?: (error?: Error | null) => void) => done?.(answers.shift()),
      close: () => undefined,
      addEventListener: () => undefined,
    };
    const confirmed: number[] = [];
    for (const i of [0, 1, 2]) wsSocket.sendConfirmed(socket, Uint8Array.of(i), () => confirmed.push(i));
    expect(confirmed).to.deep.equal([0, 1]);
  });

  it('terminateWs drops a ws socket at once, and leaves any other socket alone', () => {
    const calls: string[] = [];
    const other = { readyState: 1, bufferedAmount: 0, binaryType: 'arraybuffer', send: () => undefined };
    const socket = { ...other, close: () => calls.push('close'), addEventListener: () => undefined };
    const ws = { ...socket, terminate: () => calls.push('terminate') };
    wsSocket.terminateWs(ws);
    wsSocket.terminateWs(socket);
    expect(calls).to.deep.equal(['terminate']);
  });
});
