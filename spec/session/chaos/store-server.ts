// A server process of the store chaos test: tcpServer on a given port (0 the first time, then the
// port it had, when the test restarts it after a SIGKILL) + acceptSessions over redisSessionStore.
// To each session copy it holds it streams [incarnation, 1], [incarnation, 2], … at a steady pace;
// each client frame delivered goes, synchronously, to its delivery log (one line each, see
// store-parts.ts) and, batched per turn, to the test over IPC. On 'quiet' it stops streaming and
// reports what it sent; on 'stop' it unsubscribes everything, closes its Redis client and exits.
//
// argv: <port> <redis unix socket> <incarnation> <delivery log path>
import { closeSync, openSync, writeSync } from 'node:fs';
import { Redis } from 'ioredis';
import { map, type Subscription } from 'rxjs';
import { acceptSessions, SessionStoreError, type Link, type ServerSession } from 'rx-lifeline';
import { tcpServer } from 'rx-lifeline/node';
import { redisSessionStore } from 'rx-lifeline/redis';
import {
  deliveryLine,
  stream,
  type DownFrame,
  type ServerCommand,
  type ServerReport,
} from './store-parts.js';

const [portArg, socket, incarnationArg, logPath] = process.argv.slice(2);
if (portArg === undefined || socket === undefined || incarnationArg === undefined || logPath === undefined) {
  throw new Error('usage: fork store-server.ts <port> <redis socket> <incarnation> <log path>');
}
const incarnation = Number(incarnationArg);
const report = (message: ServerReport) => process.send?.(message);
const log = openSync(logPath, 'a');

const redis = new Redis({ path: socket });
// Failures reach the store's commands, which end the sessions concerned: the event adds nothing.
redis.on('error', () => undefined);

const subscriptions: Subscription[] = [];
const streams = new Map<string, Subscription>();
const sent: Record<string, number> = {};
let quiet = false;
let stopped = false;

let pending: [string, number][] = [];
const flush = () => {
  const deliveries = pending;
  pending = [];
  if (deliveries.length > 0) report({ type: 'got', deliveries });
};

const startStream = (id: string, link: Link<DownFrame>) => {
  sent[id] ??= 0;
  const next = (): DownFrame => [incarnation, ++sent[id]!];
  streams.set(id, stream(link, next));
};

const serve = (session: ServerSession<number, DownFrame>) => {
  const id = session.id;
  report({ type: 'opened', session: id });
  subscriptions.push(
    session.events$.subscribe({
      next: (event) => {
        if (event.type === 'connected' && !quiet) startStream(id, event.link as Link<DownFrame>);
        else if (event.type === 'frame') {
          writeSync(
            log,
            deliveryLine({ session: id, n: event.frame, seq: event.seq, redelivered: !!event.redelivered }),
          );
          if (pending.length === 0) setImmediate(flush);
          pending.push([id, event.frame]);
        }
      },
      error: (error: unknown) => ended(id, error),
      complete: () => ended(id, undefined),
    }),
  );
};

const ended = (id: string, error: unknown) => {
  streams.get(id)?.unsubscribe();
  streams.delete(id);
  if (stopped) return;
  const name = error === undefined ? 'complete' : error instanceof Error ? error.name : String(error);
  report({ type: 'ended', session: id, name, code: SessionStoreError.is(error) ? error.code : undefined });
};

const server$ = tcpServer({ port: Number(portArg) }).pipe(
  map((event) => {
    if (event.type === 'listening') report({ type: 'ready', port: event.port });
    return event;
  }),
);
subscriptions.push(
  acceptSessions<number, DownFrame>(server$, { store: redisSessionStore(redis), ackInterval: 20 }).subscribe({
    next: serve,
    error: (error: unknown) => report({ type: 'problem', what: `acceptSessions failed: ${String(error)}` }),
  }),
);

process.on('message', (message: ServerCommand) => {
  if (message.type === 'quiet') {
    quiet = true;
    for (const subscription of streams.values()) subscription.unsubscribe();
    streams.clear();
    flush();
    report({ type: 'quiet', sent });
    return;
  }
  stopped = true;
  flush();
  for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
  closeSync(log);
  // Quit waits for the replies of commands in flight; a connection already closed has none.
  redis
    .quit()
    .catch(() => redis.disconnect())
    .finally(() => process.disconnect());
});
