// One session server process for the store benchmark's resume latency: TCP on 127.0.0.1, port 0,
// acceptSessions on a Redis session store. Forked by bench/store.ts (with `--import tsx`), it says
// `{ port }` over IPC once listening; each session it gets sends `frames` numbered frames (server A
// opens sessions with frames; server B, started with 0, only resumes them).
// Usage: store-server.ts <redis unix socket> <frames per session>
import { Redis } from 'ioredis';
import { tap } from 'rxjs';
import { acceptSessions, type ServerSession } from 'rx-lifeline';
import { tcpServer } from 'rx-lifeline/node';
import { redisSessionStore } from 'rx-lifeline/redis';

const [socket, framesArg] = process.argv.slice(2);
const frames = Number(framesArg);
if (socket === undefined || !Number.isSafeInteger(frames) || frames < 0 || process.send === undefined) {
  throw new Error('usage: fork store-server.ts <redis unix socket> <frames per session>');
}
const send = process.send.bind(process);
const redis = new Redis({ path: socket, maxRetriesPerRequest: 3 });
redis.on('error', () => undefined); // failures reach the store's calls, and end their sessions

const serve = (session: ServerSession<number>) => {
  session.events$.subscribe({ error: () => undefined });
  for (let seq = 1; seq <= frames; seq++) session.link.send(seq);
};

const server$ = tcpServer({ port: 0 }).pipe(
  tap((event) => event.type === 'listening' && send({ port: event.port })),
);
acceptSessions<number>(server$, { store: redisSessionStore(redis), maxSessions: 100_000 }).subscribe({
  next: serve,
  error: (error: unknown) => {
    console.error('store-server: the server stopped', error);
    process.exit(1);
  },
});
