import { expect } from 'chai';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { VirtualTimeScheduler } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import {
  DialError,
  encodeFrames,
  FrameTooLargeError,
  MessageTooLargeError,
  msgpackCodec,
  PeerClosedError,
  ProtocolError,
  websocket,
  type Link,
  type WebSocketConstructor,
  type WebSocketLike,
  type WebSocketOptions,
} from 'rx-lifeline';
import { websocketServer } from 'rx-lifeline/node';
import {
  allWhole,
  exchangeBothWays,
  expectBackpressure,
  expectResetAfterWholeWrites,
  expectStillServing,
  failure,
  record,
  startServer,
  type Numbered,
} from '../support/loopback.js';

// Both the browser's WebSocket class and ws's satisfy the structural constructor type.
export const browserWebSocket: WebSocketConstructor | undefined = (
  globalThis as { WebSocket?: typeof globalThis.WebSocket }
).WebSocket;
export const nodeWebSocket: WebSocketConstructor = WebSocket;

/**
 * ws's WebSocket behind only the standard browser surface: no `on`, no send callback. lifeline then
 * reads write confirmation from `bufferedAmount`, as in a browser.
 */
class BrowserLikeWebSocket implements WebSocketLike {
  readonly #socket: WebSocket;
  constructor(url: string, protocols?: string | string[]) {
    this.#socket = new WebSocket(url, protocols);
  }
  get readyState(): number {
    return this.#socket.readyState;
  }
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }
  get binaryType(): string {
    return this.#socket.binaryType;
  }
  set binaryType(value: string) {
    this.#socket.binaryType = value as WebSocket['binaryType'];
  }
  send(data: Uint8Array): void {
    this.#socket.send(data);
  }
  close(code?: number, reason?: string): void {
    this.#socket.close(code, reason);
  }
  addEventListener(type: 'open' | 'message' | 'error' | 'close', listener: (event: never) => void): void {
    this.#socket.addEventListener(type, listener as () => void);
  }
}

/** A plain ws server whose sockets the test drives by hand. */
async function rawServer(): Promise<{ url: string; nextSocket(): Promise<WebSocket>; close(): void }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const sockets: WebSocket[] = [];
  server.on('connection', (socket) => sockets.push(socket));
  await once(server, 'listening');
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    nextSocket: async () => {
      while (sockets.length === 0) await once(server, 'connection');
      return sockets.shift()!;
    },
    close: () => {
      for (const socket of server.clients) socket.terminate();
      server.close();
    },
  };
}

/** A plain ws client, open. */
async function rawClient(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  await once(socket, 'open');
  return socket;
}

/** Resolves with the close code and reason a ws socket received. */
async function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  const [code, reason] = (await once(socket, 'close')) as [number, Buffer];
  return { code, reason: reason.toString() };
}

describe('websocket', () => {
  for (const [name, Impl] of [
    ['ws', WebSocket],
    ['a browser-like WebSocket (confirmation from bufferedAmount)', BrowserLikeWebSocket],
  ] as const) {
    it(`exchanges 10,000 frames each way with websocketServer, in order and intact, using ${name}`, async () => {
      const server = await startServer(websocketServer<Numbered>());
      const client = record(websocket<Numbered>({ url: server.address, WebSocket: Impl }));
      const accepted = record(await server.nextConnection());
      const [clientLink, serverLink] = await Promise.all([client.link(), accepted.link()]);
      expect(clientLink.info).to.deep.equal({ transport: 'websocket', remote: server.address, local: '' });
      expect(serverLink.info.transport).to.equal('websocket');
      expect(serverLink.info.local).to.equal(`127.0.0.1:${server.port}`);

      await exchangeBothWays(client, accepted, 10_000);

      client.subscription.unsubscribe();
      expect(await accepted.outcome).to.equal('complete');
      expect(server.ended()).to.equal(undefined);
      server.stop();
    });
  }

  it('link.close(reason) flushes, closes with 1000 and the reason, and both sides complete', async () => {
    const raw = await rawServer();
    const client = record(websocket<string>({ url: raw.url, WebSocket }));
    const link = await client.link();
    const socket = await raw.nextSocket();
    const messages: Buffer[] = [];
    socket.on('message', (data: Buffer) => messages.push(data));
    const closed = closeOf(socket);
    link.send('one');
    link.send('two');
    link.close('done');
    expect(await closed).to.deep.equal({ code: 1000, reason: 'done' });
    expect(Buffer.concat(messages)).to.deep.equal(Buffer.from(encodeFrames(msgpackCodec(), ['one', 'two'])));
    expect(await client.outcome).to.equal('complete');
    raw.close();
  });

  it('link.close(reason) cuts a reason over 123 bytes of UTF-8 on a character boundary', async () => {
    const raw = await rawServer();
    const client = record(websocket<string>({ url: raw.url, WebSocket }));
    const link = await client.link();
    const socket = await raw.nextSocket();
    const closed = closeOf(socket);
    // 121 bytes of ASCII, then '€' (3 bytes) would end at byte 124: it is left out whole.
    link.close(`${'a'.repeat(121)}€😀 and more`);
    expect(await closed).to.deep.equal({ code: 1000, reason: 'a'.repeat(121) });
    expect(await client.outcome).to.equal('complete');
    raw.close();
  });

  it('link.close(reason) keeps a character of 4 bytes whole when it ends at byte 123', async () => {
    const raw = await rawServer();
    const client = record(websocket<string>({ url: raw.url, WebSocket }));
    const link = await client.link();
    const socket = await raw.nextSocket();
    const closed = closeOf(socket);
    link.close(`${'a'.repeat(119)}😀😀`);
    expect(await closed).to.deep.equal({ code: 1000, reason: `${'a'.repeat(119)}😀` });
    expect(await client.outcome).to.equal('complete');
    raw.close();
  });

  it('completes when the peer closes cleanly (server link.close)', async () => {
    const server = await startServer(websocketServer<string>());
    const client = record(websocket<string>({ url: server.address, WebSocket }));
    const accepted = record(await server.nextConnection());
    const link = await accepted.link();
    link.send('bye');
    link.close();
    expect(await client.frames(2)).to.deep.equal(['bye']);
    expect(await client.outcome).to.equal('complete');
    expect(await accepted.outcome).to.equal('complete');
    server.stop();
  });

  it('a close code other than 1000/1001 is a PeerClosedError with the code and reason', async () => {
    const raw = await rawServer();
    const client = record(websocket({ url: raw.url, WebSocket }));
    await client.link();
    (await raw.nextSocket()).close(4001, 'bye');
    const error = await failure(client);
    expect(error).to.be.instanceOf(PeerClosedError);
    expect(error).to.include({ code: 4001, reason: 'bye', phase: 'close' });
    raw.close();
  });

  it('a frame sent after the close frame arrived is reported as never sent: ws refuses it', async () => {
    const client$ = { link: undefined as Link<string> | undefined };
    /** ws calls `close` itself when a close frame arrives: the socket is closing from then on. */
    class SendsWhileClosing extends WebSocket {
      override close(code?: number, reason?: string | Buffer): void {
        super.close(code, reason);
        client$.link?.send('after the close frame');
      }
    }
    const raw = await rawServer();
    const client = record(websocket<string>({ url: raw.url, WebSocket: SendsWhileClosing }));
    const link = (client$.link = await client.link());
    const socket = await raw.nextSocket();
    link.send('delivered');
    await once(socket, 'message');
    expect(link.writeReport()).to.deep.equal(allWhole(1));
    socket.close(4001, 'bye');
    const error = await failure(client);
    expect(error).to.be.instanceOf(PeerClosedError);
    expect((error as PeerClosedError).write).to.deep.include({ lastFrame: 'not-started', framesLeft: 1 });
    raw.close();
  });

  it('an abnormal close (1006) is a ConnectionResetError that reports the frames written whole', async () => {
    const raw = await rawServer();
    const client = record(websocket<string>({ url: raw.url, WebSocket }));
    const link = await client.link();
    const socket = await raw.nextSocket();
    link.send('a');
    link.send('b');
    await once(socket, 'message');
    expect(link.writeReport()).to.deep.equal(allWhole(2));
    socket.terminate();
    await expectResetAfterWholeWrites(client, 1006, 2);
    raw.close();
  });

  it('a message that ends inside a frame is a ProtocolError at that frame, after the whole ones', async () => {
    const raw = await rawServer();
    const client = record(websocket<string>({ url: raw.url, WebSocket }));
    await client.link();
    const socket = await raw.nextSocket();
    const first = encodeFrames(msgpackCodec(), ['first']);
    const second = encodeFrames(msgpackCodec(), ['second', 'torn']);
    socket.send(first);
    socket.send(second.subarray(0, second.length - 2));
    expect(await client.frames(3)).to.deep.equal(['first', 'second']);
    const error = await failure(client);
    expect(error).to.be.instanceOf(ProtocolError);
    expect((error as ProtocolError).offset).to.equal(
      first.length + encodeFrames(msgpackCodec(), ['second']).length,
    );
    expect((await closeOf(socket)).code).to.equal(1002);
    raw.close();
  });

  it('a text message is a ProtocolError', async () => {
    const raw = await rawServer();
    const client = record(websocket({ url: raw.url, WebSocket }));
    await client.link();
    const socket = await raw.nextSocket();
    socket.send('hello');
    const error = await failure(client);
    expect(error).to.be.instanceOf(ProtocolError);
    expect((error as ProtocolError).message).to.match(/text message/i);
    expect((await closeOf(socket)).code).to.equal(1003);
    raw.close();
  });

  it('an empty binary message is a ProtocolError', async () => {
    const raw = await rawServer();
    const client = record(websocket({ url: raw.url, WebSocket }));
    await client.link();
    const socket = await raw.nextSocket();
    socket.send(new Uint8Array(0));
    const error = await failure(client);
    expect(error).to.be.instanceOf(ProtocolError);
    expect((error as ProtocolError).message).to.match(/empty message/i);
    expect((await closeOf(socket)).code).to.equal(1002);
    raw.close();
  });

  it('offers the given subprotocols in the handshake', async () => {
    const raw = await rawServer();
    const client = record(websocket({ url: raw.url, protocols: ['lifeline.v1', 'other'], WebSocket }));
    await client.link();
    expect((await raw.nextSocket()).protocol).to.equal('lifeline.v1');
    client.subscription.unsubscribe();
    raw.close();
  });

  it('a refused dial is a DialError ECONNREFUSED', async () => {
    const raw = await rawServer();
    const url = raw.url;
    raw.close();
    const error = await failure(record(websocket({ url, WebSocket })));
    expect(error).to.be.instanceOf(DialError);
    expect(error).to.include({ code: 'ECONNREFUSED', phase: 'dial' });
  });

  it('a server that takes the connection but never answers the upgrade fails the dial at connectTimeout (DialError ETIMEDOUT)', async () => {
    for (const [name, Impl] of [
      ['ws', WebSocket],
      ['a browser-like WebSocket', BrowserLikeWebSocket],
    ] as const) {
      const scheduler = new VirtualTimeScheduler();
      // A TCP server that reads the upgrade request and never answers it.
      const mute = net.createServer((socket) => socket.resume());
      mute.listen(0, '127.0.0.1');
      await once(mute, 'listening');
      const url = `ws://127.0.0.1:${(mute.address() as AddressInfo).port}`;
      const taken = once(mute, 'connection');
      const dial = record(websocket({ url, WebSocket: Impl, connectTimeout: 1_000, scheduler }));
      const [socket] = (await taken) as [net.Socket];
      const closed = new Promise((resolve) => socket.on('close', resolve));
      scheduler.flush(); // 1 s later, still no answer
      const error = await failure(dial);
      expect(error, name).to.be.instanceOf(DialError);
      expect(error, name).to.include({ code: 'ETIMEDOUT', phase: 'dial' });
      expect((error as DialError).message, name).to.equal(
        `Could not open a WebSocket to ${url}: not open after 1000 ms`,
      );
      await closed; // the socket was dropped, not left to the server
      mute.close();
    }
  });

  it('a socket that opens in time leaves no dial timer; connectTimeout Infinity sets none', async () => {
    const server = await startServer(websocketServer<string>());
    for (const connectTimeout of [1_000, Infinity]) {
      const scheduler = new VirtualTimeScheduler();
      const client = record(websocket<string>({ url: server.address, WebSocket, connectTimeout, scheduler }));
      if (connectTimeout === Infinity) expect(scheduler.actions).to.have.length(0);
      const accepted = record(await server.nextConnection());
      await client.link();
      expect(scheduler.actions, String(connectTimeout)).to.have.length(0);
      client.subscription.unsubscribe();
      expect(await accepted.outcome).to.equal('complete');
    }
    server.stop();
  });

  it('an oversized length prefix is a FrameTooLargeError on that connection; others are served', async () => {
    const server = await startServer(websocketServer<string>({ maxFrameBytes: 1024 }));
    const hostile = await rawClient(server.address);
    const accepted = record(await server.nextConnection());
    const closed = closeOf(hostile);
    hostile.send(Uint8Array.of(0, 0, 0x10, 0, 1, 2, 3));
    const error = await failure(accepted);
    expect(error).to.be.instanceOf(FrameTooLargeError);
    expect(error).to.include({ size: 4096, limit: 1024, offset: 0 });
    expect((await closed).code).to.equal(1009);

    await expectStillServing(server, () => websocket<string>({ url: server.address, WebSocket }));
    server.stop();
  });

  it('garbage after a valid frame is a ProtocolError at its offset; other connections are unaffected', async () => {
    const server = await startServer(websocketServer<string>());
    const bystander = record(websocket<string>({ url: server.address, WebSocket }));
    const bystanderAccepted = record(await server.nextConnection());
    const hostile = await rawClient(server.address);
    const accepted = record(await server.nextConnection());
    const valid = encodeFrames(msgpackCodec(), ['fine']);
    const closed = closeOf(hostile);
    hostile.send(Buffer.concat([valid, Uint8Array.of(0, 0, 0, 1, 0xc1)]));
    expect(await accepted.frames(2)).to.deep.equal(['fine']);
    const error = await failure(accepted);
    expect(error).to.be.instanceOf(ProtocolError);
    expect((error as ProtocolError).offset).to.equal(valid.length);
    expect((await closed).code).to.equal(1002);

    (await bystander.link()).send('unaffected');
    expect(await bystanderAccepted.frames(1)).to.deep.equal(['unaffected']);
    bystander.subscription.unsubscribe();
    expect(await bystanderAccepted.outcome).to.equal('complete');
    server.stop();
  });

  for (const [name, Impl] of [
    ['ws', WebSocket],
    ['a browser-like WebSocket', BrowserLikeWebSocket],
  ] as const) {
    it(`a slow reader fills the send buffer: SendBufferFullError at maxBufferedBytes, nothing lost, using ${name}`, async () => {
      const server = await startServer(websocketServer<Numbered>({ maxFrameBytes: 1024 }));
      const client = record(
        websocket<Numbered>({
          url: server.address,
          WebSocket: Impl,
          maxFrameBytes: 1024,
          maxBufferedBytes: 8192,
        }),
      );
      const link = await client.link();
      const connection = await server.nextConnection(); // not subscribed yet: the socket is not read
      const reader = await expectBackpressure(link, connection, 8192);
      client.subscription.unsubscribe();
      expect(await reader.outcome).to.equal('complete');
      server.stop();
    });
  }

  it('unsubscribing closes the socket with 1000: the server side completes', async () => {
    const server = await startServer(websocketServer());
    const client = record(websocket({ url: server.address, WebSocket }));
    const accepted = record(await server.nextConnection());
    await Promise.all([client.link(), accepted.link()]);
    client.subscription.unsubscribe();
    expect(await accepted.outcome).to.equal('complete');
    server.stop();
  });

  it('an unsubscribe while connecting leaves nothing open', async () => {
    const raw = await rawServer();
    const links: Link<unknown>[] = [];
    websocket({ url: raw.url, WebSocket })
      .subscribe((event) => event.type === 'connected' && links.push(event.link))
      .unsubscribe();
    raw.close(); // the root hook fails the test if the aborted socket stays open
    expect(links).to.deep.equal([]);
  });

  it('without a WebSocket implementation, throws a TypeError that says what to pass', () => {
    const global = globalThis as { WebSocket?: unknown };
    const saved = global.WebSocket;
    delete global.WebSocket;
    try {
      expect(() => websocket({ url: 'ws://127.0.0.1:1' })).to.throw(
        TypeError,
        'websocket: no WebSocket implementation: pass { WebSocket } (e.g. from the ws package)',
      );
    } finally {
      if (saved !== undefined) global.WebSocket = saved;
    }
    expect(() => websocket({ url: 'not a url', WebSocket })).to.throw(TypeError, /url/);
    const url = 'ws://127.0.0.1:1';
    expect(() => websocket({ url, WebSocket, connectTimeout: 0 })).to.throw(
      TypeError,
      /^websocket: connectTimeout must be/,
    );
    expect(() => websocket({ url, WebSocket, connectTimeout: '5s' as never })).to.throw(
      TypeError,
      /connectTimeout/,
    );
    expect(() => websocket({ url, WebSocket, scheduler: {} as never })).to.throw(TypeError, /scheduler/);
  });

  // What a WebSocket constructor refuses (the WHATWG WebSocket standard, and ws alike, throw a
  // SyntaxError) is refused by websocket() itself, when it is called: not at each dial, where it
  // would reach the stream as an error of another kind.
  it('refuses, when called, a URL or subprotocols that a WebSocket constructor would throw on', () => {
    const refused: [WebSocketOptions['url'], WebSocketOptions['protocols'], RegExp][] = [
      [
        'ftp://127.0.0.1/',
        undefined,
        /^websocket: url must be a ws:, wss:, http: or https: URL, got "ftp:\/\/127\.0\.0\.1\/"$/,
      ],
      ['ws://127.0.0.1:1/#top', undefined, /^websocket: url must not have a fragment \(#top\)/],
      [
        'ws://127.0.0.1:1',
        'two words',
        /^websocket: protocols must be tokens \(RFC 6455\), each once: "two words" is not$/,
      ],
      [
        'ws://127.0.0.1:1',
        ['v1', 'v2', 'v1'],
        /^websocket: protocols must be tokens \(RFC 6455\), each once: "v1" is there twice$/,
      ],
      ['ws://127.0.0.1:1', [''], /protocols must be tokens/],
      ['ws://127.0.0.1:1', ['v1,v2'], /protocols must be tokens/],
    ];
    for (const [url, protocols, message] of refused) {
      expect(
        () => websocket({ url, WebSocket, ...(protocols && { protocols }) }),
        `${url} ${String(protocols)}`,
      ).to.throw(TypeError, message);
      // What ws does with the same arguments: it would have thrown at the dial.
      expect(() => new WebSocket(url, protocols), `ws: ${url} ${String(protocols)}`).to.throw(SyntaxError);
    }
    for (const url of [
      'ws://127.0.0.1:1/',
      'wss://example.com/live?x=1',
      'http://127.0.0.1:1',
      'https://x.test',
    ]) {
      expect(() => websocket({ url, protocols: ['v1', "a!#$%&'*+-.^_`|~z"], WebSocket })).to.not.throw();
    }
  });

  it("a dial's error keeps its cause and a string or number code of it as the DialError's, and no other code", async () => {
    for (const [code, kept] of [
      [42, 42],
      ['EHOSTUNREACH', 'EHOSTUNREACH'],
      [{ errno: 1 }, undefined],
      [true, undefined],
    ] as const) {
      const cause = Object.assign(new Error('no route'), { code });
      /** A browser-like socket whose dial fails with `cause`, before it opens. */
      class FailingWebSocket {
        readyState = 0;
        bufferedAmount = 0;
        binaryType = 'blob';
        readonly #listeners = new Map<string, (event: unknown) => void>();
        constructor() {
          queueMicrotask(() => this.#listeners.get('error')?.({ type: 'error', error: cause }));
        }
        addEventListener(type: string, listener: (event: unknown) => void): void {
          this.#listeners.set(type, listener);
        }
        send(): void {}
        close(): void {
          this.readyState = 3;
        }
      }
      const error = await failure(
        record(websocket({ url: 'ws://127.0.0.1:1', WebSocket: FailingWebSocket as never })),
      );
      expect(error, String(code)).to.be.instanceOf(DialError);
      expect((error as DialError).message).to.equal(
        'Could not open a WebSocket to ws://127.0.0.1:1: no route',
      );
      expect((error as DialError).cause).to.equal(cause);
      expect((error as DialError).code, String(code)).to.equal(kept);
    }
  });

  it('refuses a scheme that only ends like ws:, a subprotocol with a separator, and names the first repeated one', () => {
    expect(() => websocket({ url: 'xws://127.0.0.1:1', WebSocket })).to.throw(
      TypeError,
      /url must be a ws:, wss:, http: or https: URL/,
    );
    expect(() => websocket({ url: 'ws://127.0.0.1:1', protocols: ['a/b'], WebSocket })).to.throw(
      TypeError,
      /"a\/b" is not$/,
    );
    expect(() =>
      websocket({ url: 'ws://127.0.0.1:1', protocols: ['v1', 'v2', 'v2', 'v1'], WebSocket }),
    ).to.throw(TypeError, /: "v2" is there twice$/);
    // ws also dials a Unix socket by a ws+unix: URL.
    expect(() => websocket({ url: 'ws+unix:/tmp/lifeline.sock', WebSocket })).to.not.throw();
  });

  it('a socket closed before it opened is a DialError with the close code; a dial that times out closes it with 1000', async () => {
    const closes: unknown[][] = [];
    /** A browser-like socket that never opens; `closeFirst` makes it close (1006) right away. */
    const neverOpens = (closeFirst: boolean) =>
      class NeverOpens {
        readyState = 0;
        bufferedAmount = 0;
        binaryType = 'blob';
        readonly #listeners = new Map<string, (event: unknown) => void>();
        constructor() {
          if (closeFirst) {
            queueMicrotask(() => {
              this.readyState = 3;
              this.#listeners.get('close')?.({ type: 'close', code: 1006, reason: '', wasClean: false });
            });
          }
        }
        addEventListener(type: string, listener: (event: unknown) => void): void {
          this.#listeners.set(type, listener);
        }
        send(): void {}
        close(...args: unknown[]): void {
          closes.push(args);
          this.readyState = 3;
        }
      };
    const closed = await failure(
      record(websocket({ url: 'ws://127.0.0.1:1', WebSocket: neverOpens(true) as never })),
    );
    expect(closed).to.be.instanceOf(DialError);
    expect(closed).to.include({
      code: 1006,
      message: 'Could not open a WebSocket to ws://127.0.0.1:1: closed with code 1006',
    });
    const scheduler = new VirtualTimeScheduler();
    const late = record(
      websocket({
        url: 'ws://127.0.0.1:1',
        WebSocket: neverOpens(false) as never,
        connectTimeout: 1_000,
        scheduler,
      }),
    );
    scheduler.flush();
    expect(await failure(late)).to.include({ code: 'ETIMEDOUT' });
    // A browser refuses any other code on a socket still connecting (InvalidAccessError).
    expect(closes.map(([code]) => code)).to.deep.equal([1000]);
  });

  it('errors the stream with what a WebSocket constructor throws at the dial, and opens nothing', () => {
    const refusal = new Error('SecurityError: the port is blocked');
    class Refusing {
      constructor() {
        throw refusal;
      }
    }
    const errors: unknown[] = [];
    websocket({ url: 'ws://127.0.0.1:1', WebSocket: Refusing as never }).subscribe({
      error: (error: unknown) => errors.push(error),
    });
    expect(errors).to.deep.equal([refusal]);
  });

  it('takes a message of whole frames adding up to more than its maxFrameBytes: a batch may hold up to 64 KiB (ws)', async () => {
    const raw = await rawServer();
    const client = record(websocket<string>({ url: raw.url, WebSocket, maxFrameBytes: 64 }));
    await client.link();
    const socket = await raw.nextSocket();
    // Ten frames of 52 bytes each in one message of 560 bytes.
    const frames = Array.from({ length: 10 }, (_, i) => String(i).repeat(50));
    socket.send(encodeFrames(msgpackCodec(), frames));
    expect(await client.frames(10)).to.deep.equal(frames);
    client.subscription.unsubscribe();
    raw.close();
  });

  it("a message over 64 KiB, with a smaller maxFrameBytes, is a MessageTooLargeError that says the limit and keeps ws's error (ws)", async () => {
    const raw = await rawServer();
    const client = record(websocket<string>({ url: raw.url, WebSocket, maxFrameBytes: 64 }));
    await client.link();
    const socket = await raw.nextSocket();
    socket.send(new Uint8Array(70_000));
    const error = (await failure(client)) as MessageTooLargeError;
    expect(error).to.be.instanceOf(MessageTooLargeError);
    expect(error.limit).to.equal(65_536);
    expect((error.cause as { code?: unknown }).code).to.equal('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    raw.close();
  });
});
