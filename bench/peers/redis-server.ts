// A redis-server of the benchmark's own (Debian's `redis-server`; `npm test` installs it), started
// on a unix socket in a temporary folder (no port to race for), ready when it says so on stdout.
// No persistence: it outlives the lifeline server processes the storm kills, not itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface BenchRedis {
  /** The unix socket it listens on: pass it as `LIFELINE_STORE`. */
  readonly socket: string;
  /** Stops it (SIGTERM) and removes its folder. */
  stop(): Promise<void>;
}

/** Starts redis-server and resolves once it accepts connections. */
export async function startRedis(): Promise<BenchRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeline-bench-redis-'));
  const socket = path.join(dir, 'redis.sock');
  const args = ['--port', '0', '--unixsocket', socket, '--dir', dir, '--save', '', '--appendonly', 'no'];
  const child = await launch(args).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    socket,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function launch(args: string[]): Promise<ChildProcess> {
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
      reject(new Error(`redis-server did not start (install Debian's redis-server): ${error.message}`)),
    );
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${out}`)),
    );
  });
}
