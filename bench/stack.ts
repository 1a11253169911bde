// The full stack of issue #14, client → server, one way: handshake + heartbeat + reconnectWith +
// resumable + cancelPending on the client, acceptHandshake + heartbeat + acceptSessions +
// serveRequests on the server. Plain frames go through the request link, as an application sends
// messages beside its requests.
import type { Subscription } from 'rxjs';
import { serveRequests, type RequestLink } from 'rx-lifeline';
import { requestClient, sessionServer, type StackTransport } from './peers/stacks.js';
import type { Sample } from './harness.js';
import { timedSends, type ThroughputCase } from './throughput.js';

/**
 * Bytes a sender keeps unacknowledged at most: half the replay buffer's default 4 MiB (as
 * bench/session.ts), since the kernel's buffers alone can hold more.
 */
const WINDOW = 2 * 1024 * 1024;

/** One timed run of `c` through the full stack over `kind`. */
export async function stackRun(c: ThroughputCase, kind: StackTransport): Promise<Sample> {
  const subs: Subscription[] = [];
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let resolvePort!: (port: number) => void;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  subs.push(
    sessionServer<Uint8Array>(kind, true, resolvePort).subscribe((session) =>
      subs.push(
        session.events$.pipe(serveRequests((payload: unknown) => payload)).subscribe((e) => {
          if (e.type === 'frame' && ++received === c.frames) resolveDone();
        }),
      ),
    ),
  );
  const client$ = requestClient<Uint8Array>(kind, await port);
  const link = await new Promise<RequestLink<Uint8Array>>((resolve) =>
    subs.push(
      client$.subscribe((e) => {
        if (e.type === 'connected') resolve(e.link as RequestLink<Uint8Array>);
      }),
    ),
  );
  const sample = await timedSends(c, link, done, WINDOW);
  for (const sub of subs.reverse()) sub.unsubscribe();
  return sample;
}
