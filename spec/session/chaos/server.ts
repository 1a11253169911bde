// The server of the socket chaos test, in a process of its own: each accepted connection through
// heartbeat, then acceptSessions, each session serving requests (each handler run counted) and
// sending FRAMES frames as send()/drain$ allow while it checks the client's. It reports over IPC:
// its port once listening, `up-done` once every client frame arrived, a `problem` at once, and on
// 'stop' its final counts; then it unsubscribes everything and must exit by itself.
//
// argv: `tcp` | `websocket`, the frames per turn (a number or `Infinity`), the replay buffer's
// frame cap (a number or `default`).
import { map, type Subscription } from 'rxjs';
import { acceptHandshake, acceptSessions, heartbeat, serveRequests, type ServerSession } from 'rx-lifeline';
import { tcpServer, websocketServer } from 'rx-lifeline/node';
import {
  answer,
  FRAMES,
  CREDENTIALS,
  HEARTBEAT,
  IDENTITY,
  LAYERS,
  pump,
  Receiver,
  REQUESTS,
  type Frame,
  type Received,
} from './parts.js';

/** What the server reports. */
export type ServerReport =
  | { type: 'ready'; port: number }
  | { type: 'up-done' }
  | { type: 'problem'; what: string }
  | {
      type: 'final';
      up: Received;
      sessions: number;
      /** Requests whose handler did not run exactly once, and the first of them. */
      callsNotOnce: number;
      firstCallProblem: string | undefined;
    };

const [transport = 'tcp', burstArg = '250', capArg = 'default'] = process.argv.slice(2);
const burst = Number(burstArg);
const caps = capArg === 'default' ? {} : { maxFrames: Number(capArg) };
const report = (message: ServerReport) => process.send?.(message);

const subscriptions: Subscription[] = [];
const calls = new Uint8Array(REQUESTS);
const up = new Receiver('client → server');
let sessions = 0;
let stopped = false;
const problem = (what: unknown) => {
  if (!stopped)
    report({ type: 'problem', what: what instanceof Error ? `${what.name}: ${what.message}` : String(what) });
};

const server$ = (transport === 'websocket' ? websocketServer({ port: 0 }) : tcpServer({ port: 0 })).pipe(
  map((event) => {
    if (event.type === 'listening') report({ type: 'ready', port: event.port });
    return event.type === 'connection'
      ? {
          ...event,
          connection: event.connection.pipe(
            acceptHandshake({
              layers: LAYERS,
              authenticate: ({ credentials }) =>
                (credentials as typeof CREDENTIALS | undefined)?.client === CREDENTIALS.client
                  ? IDENTITY
                  : undefined,
            }),
            heartbeat(HEARTBEAT),
          ),
        }
      : event;
  }),
);

const serve = (session: ServerSession<unknown>) => {
  if (++sessions > 1) return problem('a second session started: the first one was lost');
  if (session.identity !== IDENTITY) return problem(`the session's identity is ${String(session.identity)}`);
  const handler = (n: number) => {
    calls[n]!++;
    return answer(n);
  };
  subscriptions.push(
    session.events$.pipe(serveRequests<number, Frame, Frame>(handler)).subscribe({
      next: (event) => {
        if (event.type === 'connected') void pump(event.link, () => stopped, burst).catch(problem);
        else if (event.type === 'frame') {
          up.take(event.frame);
          if (up.firstProblem) problem(up.firstProblem);
          else if (up.next === FRAMES) report({ type: 'up-done' });
        }
      },
      error: problem,
    }),
  );
};

subscriptions.push(
  acceptSessions<unknown>(server$, { ackInterval: 20, ...caps }).subscribe({ next: serve, error: problem }),
);

process.on('message', (message: { type: string }) => {
  if (message.type !== 'stop') return;
  const notOnce = [...calls.keys()].filter((n) => calls[n] !== 1);
  report({
    type: 'final',
    up: up.report(),
    sessions,
    callsNotOnce: notOnce.length,
    firstCallProblem:
      notOnce.length === 0 ? undefined : `request ${notOnce[0]}'s handler ran ${calls[notOnce[0]!]} times`,
  });
  stopped = true;
  for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
  process.disconnect?.();
});
