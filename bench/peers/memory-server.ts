// Child process of the memory run: one server of the system named in argv[2] on 127.0.0.1 port 0.
// It reports its memory (after GC) at once, and again when the parent asks, once every expected
// session is up; it exits when told to close. Each session is held the way an application would:
// lifeline's ServerSession with its events$ subscribed, socket.io's socket, ws's socket.
import { createServer } from 'node:http';
import { writeHeapSnapshot } from 'node:v8';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { WebSocketServer } from 'ws';
import { SOCKET_IO_RECOVERY } from './peer-rigs.js';
import { sessionServer } from './stacks.js';
import {
  isMemorySystem,
  settledMemory,
  type ListeningMessage,
  type MemorySystem,
  type ParentMessage,
} from './memory-protocol.js';

let sessions = 0;
/** A folder to write `before.heapsnapshot` and `after.heapsnapshot` into (bench/peers/memory-profile.ts). */
const snapshots = process.env.MEMORY_SNAPSHOTS;

/** Writes a heap snapshot named `name` when asked for snapshots, then returns `report`. */
function snapshot<T>(name: string, report: T): T {
  if (snapshots) writeHeapSnapshot(`${snapshots}/${name}.heapsnapshot`);
  return report;
}

/**
 * The observer of every lifeline session's events: one object, not two closures per session. Under
 * tsx (keepNames) a closure named by its property gets a property dictionary of its own, which
 * would be counted as lifeline's.
 */
const SESSION_ENDS = { error: () => void sessions--, complete: () => void sessions-- };

/** Listens with the system's server; resolves with the port and a close. */
async function listen(system: MemorySystem): Promise<{ port: number; close: () => void }> {
  if (system === 'lifeline') {
    let resolvePort!: (port: number) => void;
    const port = new Promise<number>((resolve) => (resolvePort = resolve));
    const sub = sessionServer('websocket', false, resolvePort).subscribe((session) => {
      sessions++;
      session.events$.subscribe(SESSION_ENDS);
    });
    return { port: await port, close: () => sub.unsubscribe() };
  }
  if (system === 'socket.io') {
    const http = createServer();
    const io = new Server(http, SOCKET_IO_RECOVERY);
    io.on('connection', (socket) => {
      sessions++;
      socket.once('disconnect', () => sessions--);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return { port: (http.address() as AddressInfo).port, close: () => void io.close() };
  }
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (socket) => {
    sessions++;
    socket.once('close', () => sessions--);
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** Resolves once `expected` sessions are up (checked every 50 ms, for at most 120 s). */
async function sessionsUp(expected: number): Promise<void> {
  for (let waited = 0; sessions < expected; waited += 50) {
    if (waited > 120_000) throw new Error(`memory-server: ${sessions} sessions of ${expected} after 120 s`);
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
  }
}

const system = process.argv[2];
if (!isMemorySystem(system)) throw new TypeError(`memory-server: unknown system ${system}`);
const server = await listen(system);
const listening: ListeningMessage = {
  type: 'listening',
  port: server.port,
  baseline: snapshot('before', await settledMemory(0)),
};
process.send!(listening);
process.on('message', (message: ParentMessage) => {
  if (message.type === 'close') {
    server.close();
    process.disconnect();
    setImmediate(() => process.exit(0));
    return;
  }
  void sessionsUp(message.sessions)
    .then(() => settledMemory(sessions))
    .then((report) => snapshot('after', report))
    .then((report) => process.send!(report));
});
