// The systems of the latency run, each answering a request with its payload: raw net and raw ws
// with request ids written by hand (batched per turn both ways, the baselines), socket.io's
// emitWithAck, and lifeline's requests layer (cancelPending + serveRequests) with and without the
// session under it. partysocket and RxJS webSocket() have no request/ack: their rows say so.
import type net from 'node:net';
import { type Observable, type Subscription } from 'rxjs';
import {
  cancelPending,
  policy,
  reconnectWith,
  serveRequests,
  type RequestLink,
  type RequestLinkEvent,
} from 'rx-lifeline';
import type { WebSocket } from 'ws';
import { newPackr } from '../throughput.js';
import { bytesOf, frameAll, LengthPrefixedReader, type Wire } from './common.js';
import { dialNet, dialWs, listenNet, listenWs } from './raw.js';
import { dialSocketIo, listenSocketIo } from './peer-rigs.js';
import {
  MAX_PENDING,
  plainClient,
  plainServer,
  requestClient,
  sessionServer,
  type StackTransport,
} from './stacks.js';

/** One open client that can ask the server and hear its answer. */
export interface Requester {
  /** Sends `payload` as a request; calls `done` once its answer has arrived and been decoded. */
  request(payload: Uint8Array, done: () => void): void;
  close(): Promise<void>;
}

/** A system of the latency run; without `open` it has no request/ack and its row says so. */
export interface LatencyRig {
  name: string;
  wire: Wire;
  baseline?: true;
  open?: () => Promise<Requester>;
}

type Answer = [id: number, payload: unknown];

/**
 * The raw request/response baseline on any byte pipe: `[id, payload]` bodies, length-prefixed,
 * a turn's requests in one write; the server answers a chunk's requests in one write.
 */
function rawRequester(write: (bytes: Buffer) => void, close: () => Promise<void>) {
  const packr = newPackr();
  const waiting = new Map<number, () => void>();
  let nextId = 0;
  let pending: Uint8Array[] = [];
  const flush = () => {
    write(frameAll(pending));
    pending = [];
  };
  const requester: Requester = {
    request: (payload, done) => {
      const id = nextId++;
      waiting.set(id, done);
      if (pending.push(packr.pack([id, payload])) === 1) setImmediate(flush);
    },
    close,
  };
  const onAnswers = (bytes: Uint8Array, reader: LengthPrefixedReader) =>
    reader.push(bytes, (body) => {
      const [id] = packr.unpack(body) as Answer;
      const done = waiting.get(id)!;
      waiting.delete(id);
      done();
    });
  return { requester, onAnswers };
}

/** Decodes a chunk's `[id, payload]` requests and answers them all in one buffer. */
function answerAll(bytes: Uint8Array, reader: LengthPrefixedReader, send: (bytes: Buffer) => void) {
  const packr = newPackr();
  const answers: Uint8Array[] = [];
  reader.push(bytes, (body) => answers.push(packr.pack(packr.unpack(body) as Answer)));
  if (answers.length) send(frameAll(answers));
}

export const rawNetRequests: LatencyRig = {
  name: 'raw net, ids by hand, one buffer per turn',
  wire: 'TCP',
  baseline: true,
  async open() {
    const server = await listenNet((socket: net.Socket) => {
      const reader = new LengthPrefixedReader();
      socket.on('data', (chunk: Buffer) => answerAll(chunk, reader, (bytes) => socket.write(bytes)));
    });
    const socket = await dialNet(server.port);
    const { requester, onAnswers } = rawRequester(
      (bytes) => socket.write(bytes),
      async () => (socket.destroy(), await server.close()),
    );
    const reader = new LengthPrefixedReader();
    socket.on('data', (chunk: Buffer) => onAnswers(chunk, reader));
    return requester;
  },
};

export const rawWsRequests: LatencyRig = {
  name: 'raw ws, ids by hand, one message per turn',
  wire: 'WebSocket',
  baseline: true,
  async open() {
    const server = await listenWs((socket: WebSocket) =>
      socket.on('message', (data) =>
        answerAll(bytesOf(data), new LengthPrefixedReader(), (bytes) => socket.send(bytes)),
      ),
    );
    const socket = await dialWs(server.port);
    const { requester, onAnswers } = rawRequester(
      (bytes) => socket.send(bytes),
      async () => (socket.terminate(), await server.close()),
    );
    socket.on('message', (data) => onAnswers(bytesOf(data), new LengthPrefixedReader()));
    return requester;
  },
};

export const socketIoRequests: LatencyRig = {
  name: 'socket.io 4.8, emitWithAck, connectionStateRecovery',
  wire: 'WebSocket',
  async open() {
    const server = await listenSocketIo();
    server.io.on('connection', (socket) => {
      const packr = newPackr();
      socket.on('r', (data: unknown, ack: (answer: Uint8Array) => void) =>
        ack(packr.pack(packr.unpack(bytesOf(data)))),
      );
    });
    const client = await dialSocketIo(server.port);
    const packr = newPackr();
    return {
      request: (payload, done) =>
        void client.emitWithAck('r', packr.pack(payload)).then((answer: unknown) => {
          packr.unpack(bytesOf(answer));
          done();
        }),
      close: async () => (client.disconnect(), await server.close()),
    };
  },
};

/** A requester over a stream that ends in cancelPending, once its first connection is up. */
async function linkRequester(
  client$: Observable<{ readonly type: string }>,
  subs: Subscription[],
): Promise<Requester> {
  const link = await new Promise<RequestLink<unknown>>((resolve, reject) => {
    let requestLink: RequestLink<unknown> | undefined;
    subs.push(
      client$.subscribe({
        next: (e) => {
          if (e.type === 'request-link') requestLink = (e as RequestLinkEvent<unknown>).link;
          else if (e.type === 'connected') resolve(requestLink!);
        },
        error: reject,
      }),
    );
  });
  return {
    request: (payload, done) => void link.request(payload).subscribe({ complete: done }),
    close: async () => {
      for (const sub of subs.reverse()) sub.unsubscribe();
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

const echo = (payload: unknown) => payload;
const wireOf = (kind: StackTransport): Wire => (kind === 'tcp' ? 'TCP' : 'WebSocket');
const nameOf = (kind: StackTransport) => (kind === 'tcp' ? 'tcp()' : 'websocket()');

/** lifeline's requests layer on a plain transport: reconnectWith + cancelPending, no session. */
export function lifelinePlainRequests(kind: StackTransport): LatencyRig {
  return {
    name: `lifeline ${nameOf(kind)} + reconnectWith + requests (no session)`,
    wire: wireOf(kind),
    async open() {
      const subs: Subscription[] = [];
      const port = await new Promise<number>((resolve) =>
        subs.push(
          plainServer(kind).subscribe((event) => {
            if (event.type === 'listening') resolve(event.port);
            else if (event.type === 'connection') {
              subs.push(event.connection.pipe(serveRequests(echo)).subscribe());
            }
          }),
        ),
      );
      const client$ = plainClient(kind, port).pipe(
        reconnectWith(policy.constant(0)),
        cancelPending({ maxPending: MAX_PENDING }),
      );
      return linkRequester(client$, subs);
    },
  };
}

/** lifeline's full stack with the requests layer: link.request through resumable sessions. */
export function lifelineStackRequests(kind: StackTransport): LatencyRig {
  return {
    name: `lifeline full stack over ${nameOf(kind)}, link.request`,
    wire: wireOf(kind),
    async open() {
      const subs: Subscription[] = [];
      let resolvePort!: (port: number) => void;
      const port = new Promise<number>((resolve) => (resolvePort = resolve));
      subs.push(
        sessionServer(kind, true, resolvePort).subscribe((session) =>
          subs.push(session.events$.pipe(serveRequests(echo)).subscribe()),
        ),
      );
      return linkRequester(requestClient(kind, await port), subs);
    },
  };
}
