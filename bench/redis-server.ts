// A local redis-server (Debian's; `npm test` installs it) for the benchmarks and the tests: started
// on a unix socket in a temporary folder (no port to race for), ready when it says so on stdout,
// stopped at the end. The tests' harness (spec/support/redis-server.ts) launches it through here.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

export interface BenchRedis {
  /** The unix socket it listens on. */
  readonly socket: string;
  /** A client connected to it, closed by `stop()`. */
  readonly redis: Redis;
  /** `INFO memory`'s `used_memory`, in bytes. */
  usedMemory(): Promise<number>;
  /** Stops the client and the server, and removes the folder. */
  stop(): Promise<void>;
}

/** The arguments of a redis-server on `socket`, in `dir`; `persist`: an fsynced append-only file. */
export function redisArgs(dir: string, socket: string, persist = false): string[] {
  const args = ['--port', '0', '--unixsocket', socket, '--dir', dir, '--save', ''];
  return persist
    ? [...args, '--appendonly', 'yes', '--appendfsync', 'always']
    : [...args, '--appendonly', 'no'];
}

export async function startRedis(): Promise<BenchRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeline-bench-redis-'));
  const socket = path.join(dir, 'redis.sock');
  const child = await launchRedis(redisArgs(dir, socket)).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const redis = new Redis({ path: socket, maxRetriesPerRequest: 3 });
  return {
    socket,
    redis,
    async usedMemory() {
      const info = await redis.info('memory');
      const match = /^used_memory:(\d+)/m.exec(info);
      if (!match) throw new Error(`store bench: no used_memory in INFO memory:\n${info}`);
      return Number(match[1]);
    },
    async stop() {
      await redis.quit().catch(() => redis.disconnect());
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Spawns redis-server and resolves once it accepts connections. */
export function launchRedis(args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (data: Buffer) => {
      out += data.toString();
      if (!/ready to accept connections/i.test(out)) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      child.removeAllListeners('exit');
      resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.resume();
    child.once('error', (error) =>
      reject(
        new Error(`redis-server did not start (install it: apt-get install redis-server): ${error.message}`),
      ),
    );
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${out}`)),
    );
  });
}

/** SIGTERM, and resolves once the process has exited. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
