// A server process of the store chaos test: tcpServer on a given port (0 the first time, then the
// port it had, when the test restarts it after a SIGKILL) + acceptSessions over redisSessionStore.
// To each session copy it holds it streams [incarnation, 1], [incarnation, 2], … at a steady pace;
// each client frame delivered goes, synchronously, to its delivery log (one line each, see
// store-parts.ts) and, batched per turn, to the test over IPC. On 'quiet' it stops streaming and
// reports what it sent; on 'stop' it unsubscribes everything, closes its Redis client and exits.
//
// In 'deploy' mode it stacks a rolling deploy's server: acceptHandshake (resumable, requests) with a
// HandshakeAdmission, acceptSessions and serveRequests on the same admission, answering each request
// after 0–30 ms; on 'drain' it drains (go-away, requests finished, store flushed), reports 'drained'
// and exits as on 'stop'.
//
// argv: <port> <redis unix socket> <incarnation> <delivery log path> [plain|deploy]
import { closeSync, openSync, writeSync } from 'node:fs';
import { Redis } from 'ioredis';
import { map, timer, type Observable, type Subscription } from 'rxjs';
import {
  acceptHandshake,
  acceptSessions,
  HandshakeAdmission,
  serveRequests,
  SessionStoreError,
  type Link,
  type ServerSession,
  type ServerSessionEvent,
} from 'rx-lifeline';
import { tcpServer } from 'rx-lifeline/node';
import { redisSessionStore } from 'rx-lifeline/redis';
import { seededRandom } from 'rx-lifeline/testing';
import {
  deliveryLine,
  DEPLOY_LAYERS,
  stream,
  type DownFrame,
  type ServerCommand,
  type ServerReport,
  type UpRequest,
} from './store-parts.js';

const [portArg, socket, incarnationArg, logPath, mode = 'plain'] = process.argv.slice(2);
if (portArg === undefined || socket === undefined || incarnationArg === undefined || logPath === undefined) {
  throw new Error(
    'usage: fork store-server.ts <port> <redis socket> <incarnation> <log path> [plain|deploy]',
  );
}
const incarnation = Number(incarnationArg);
const deploy = mode === 'deploy';
const admission = deploy ? new HandshakeAdmission() : undefined;
const random = seededRandom(1_000 + incarnation);
let requestsRun = 0;
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

/** Answers a request after 0–30 ms with its number and this process's incarnation. */
const answer = ({ n }: UpRequest) => {
  requestsRun++;
  return timer(Math.floor(random() * 31)).pipe(map(() => ({ n, by: incarnation })));
};

const eventsOf = (session: ServerSession<number, DownFrame>) =>
  (admission
    ? session.events$.pipe(serveRequests<UpRequest>(answer, { admission }))
    : session.events$) as Observable<ServerSessionEvent<number, DownFrame>>;

const serve = (session: ServerSession<number, DownFrame>) => {
  const id = session.id;
  report({ type: 'opened', session: id });
  subscriptions.push(
    eventsOf(session).subscribe({
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
    if (event.type !== 'connection' || !admission) return event;
    const layers = [...DEPLOY_LAYERS];
    return { ...event, connection: event.connection.pipe(acceptHandshake({ layers, admission })) };
  }),
);
const store = redisSessionStore(redis);
subscriptions.push(
  acceptSessions<number, DownFrame>(server$, {
    store,
    ackInterval: 20,
    ...(admission ? { admission } : {}),
  }).subscribe({
    next: serve,
    error: (error: unknown) => report({ type: 'problem', what: `acceptSessions failed: ${String(error)}` }),
  }),
);

const stop = () => {
  stopped = true;
  flush();
  for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
  closeSync(log);
  // Quit waits for the replies of commands in flight; a connection already closed has none.
  redis
    .quit()
    .catch(() => redis.disconnect())
    .finally(() => process.disconnect());
};

process.on('message', (message: ServerCommand) => {
  if (message.type === 'quiet') {
    quiet = true;
    for (const subscription of streams.values()) subscription.unsubscribe();
    streams.clear();
    flush();
    report({ type: 'quiet', sent });
  } else if (message.type === 'drain') {
    if (!admission) {
      report({ type: 'problem', what: "'drain' needs deploy mode" });
      return;
    }
    admission.drain({ retryAfterMs: 100, timeout: 5_000 }).subscribe({
      complete: () => {
        flush();
        report({ type: 'drained', sent, requestsRun });
        stop();
      },
    });
  } else stop();
});
