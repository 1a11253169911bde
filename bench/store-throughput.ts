// Server → client throughput through the full session stack over TCP (handshake + heartbeat +
// reconnectWith + resumable on the client, acceptSessions over acceptHandshake + heartbeat on the
// server), with the session kept in this process's memory (no store), in memorySessionStore(), or in
// redisSessionStore() on a local redis-server: every frame is stored before it is written.
import { map, type Subscription } from 'rxjs';
import { acceptSessions, type ServerSession, type SessionStore } from 'rx-lifeline';
import type { Sample } from './harness.js';
import { SESSION, sessionClient, sessionServer } from './session.js';
import { timedSends, type ThroughputCase } from './throughput.js';

/** Half the replay buffer's default 4 MiB in flight, as the session benchmark sends. */
const WINDOW = 2 * 1024 * 1024;

/**
 * One run: the server session sends the case's frames (waiting for `drain$` when `send` says so),
 * timed until the client received the last one. `store` undefined: no store.
 */
export async function storeRun(c: ThroughputCase, store: SessionStore | undefined): Promise<Sample> {
  const subs: Subscription[] = [];
  try {
    let received = 0;
    let resolveDone!: () => void;
    let rejectDone!: (error: unknown) => void;
    const done = new Promise<void>((resolve, reject) => ((resolveDone = resolve), (rejectDone = reject)));
    let resolvePort!: (port: number) => void;
    const port = new Promise<number>((resolve) => (resolvePort = resolve));
    const server$ = sessionServer(SESSION).pipe(
      map((e) => (e.type === 'listening' && resolvePort(e.port), e)),
    );
    const session = new Promise<ServerSession<Uint8Array>>((resolve, reject) =>
      subs.push(
        acceptSessions<Uint8Array>(server$, store ? { store } : {}).subscribe({
          next: (s) => {
            // A store failure ends the session with a SessionStoreError: the run fails with it.
            subs.push(s.events$.subscribe({ error: rejectDone }));
            resolve(s);
          },
          error: reject,
        }),
      ),
    );
    subs.push(
      sessionClient<Uint8Array>(await port, SESSION).subscribe({
        next: (e) => e.type === 'frame' && ++received === c.frames && resolveDone(),
        error: rejectDone,
      }),
    );
    const sample = await timedSends(c, (await session).link, done, WINDOW);
    if (received !== c.frames) throw new Error(`store bench: ${received} of ${c.frames} frames arrived`);
    return sample;
  } finally {
    for (const sub of subs.reverse()) sub.unsubscribe();
  }
}
