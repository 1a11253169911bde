// A real redis-server (Debian's) for the tests: started on a unix socket in a temporary folder (no
// port to race for), ready when it says so on stdout, stopped with SIGTERM or killed with SIGKILL.
// `npm test` installs redis-server first (scripts/system-deps.ts).
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { launchRedis as launch, redisArgs, stopChild as kill } from '../../bench/redis-server.js';

export interface RedisServer {
  /** The unix socket it listens on. */
  readonly socket: string;
  /** A client connected to it, closed by `stop()`; more with `client()`. */
  readonly redis: Redis;
  /** A new client (closed by `stop()` too). */
  client(options?: RedisOptions): Redis;
  /** Kills the server (SIGKILL), as a crash, keeping its folder, and starts it again. */
  restart(): Promise<void>;
  /** Stops (SIGSTOP) or continues (SIGCONT) the server's process: a Redis that hangs, and recovers. */
  freeze(frozen: boolean): void;
  /** Stops the server and every client, and removes its folder. */
  stop(): Promise<void>;
}

/** Starts redis-server; `persist` turns on the append-only file, fsynced on every write. */
export async function startRedis(options: { persist?: boolean } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeline-redis-'));
  const socket = path.join(dir, 'redis.sock');
  const args = redisArgs(dir, socket, options.persist);
  let child = await launch(args);
  const clients: Redis[] = [];
  const client = (extra: RedisOptions = {}) => {
    const redis = new Redis({ path: socket, maxRetriesPerRequest: 3, ...extra });
    // Failures reach the commands that meet them; the event would only print them again.
    redis.on('error', () => undefined);
    clients.push(redis);
    return redis;
  };
  const redis = client();
  return {
    socket,
    redis,
    client,
    freeze(frozen) {
      child.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    },
    async restart() {
      await kill(child, 'SIGKILL');
      child = await launch(args);
    },
    async stop() {
      // ioredis's disconnect() waits for the socket's close behind a timer of its own (2 s), which
      // a socket closed already never clears: it is called only on a client that has not ended,
      // and a client is stopped once it says 'end' (the close, late on a busy machine).
      const ended = clients.map((c) => (c.status === 'end' ? undefined : once(c, 'end')));
      const disconnect = (c: Redis) => c.status !== 'end' && c.disconnect();
      await Promise.all(clients.map((c) => c.quit().catch(() => disconnect(c))));
      for (const c of clients) disconnect(c);
      await kill(child, 'SIGTERM');
      await Promise.all(ended);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
