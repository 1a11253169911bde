// The fuzz suite's target: the documented server stack (each accepted connection through
// heartbeat(), then acceptSessions(), each session's events through serveRequests()), over TCP and
// WebSocket, in a process of its own so the suite can check it stays alive. It reports over IPC:
// its ports when listening, then on request its RSS (current and peak, sampled every 20 ms), the
// errors it saw by class name, and anything that escaped (an uncaught exception or unhandled
// rejection is reported, then the process exits with code 70, as it would without the report).
// On 'stop' it unsubscribes everything and must then exit by itself: teardown is total.
import { filter, firstValueFrom, map, share, tap, type Observable, type Subscription } from 'rxjs';
import {
  acceptSessions,
  heartbeat,
  LifelineError,
  serveRequests,
  type ListeningEvent,
  type ServerEvent,
  type SessionServerConnection,
} from 'rx-lifeline';
import { tcpServer, websocketServer } from 'rx-lifeline/node';

/** Frames above 1 MiB are refused: the bound on what one connection may make the server hold. */
const MAX_FRAME_BYTES = 1024 * 1024;

type Report =
  | { type: 'ready'; tcp: number; websocket: number }
  | { type: 'stats'; rss: number; peakRss: number; errors: Record<string, number>; sessions: number }
  | { type: 'escaped'; what: string };

const send = (report: Report) => process.send?.(report);

function describe(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : `a thrown ${typeof error}`;
  } catch {
    return 'an indescribable error';
  }
}

for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    send({ type: 'escaped', what: `${event}: ${describe(error)}` });
    process.exitCode = 70;
    process.disconnect?.();
    process.exit(70);
  });
}

const errors = new Map<string, number>();
/** Counts an error by class name; an untyped one by its message, marked. */
function note(error: unknown): void {
  const name = LifelineError.is(error) ? (error as Error).name : `untyped ${describe(error)}`;
  errors.set(name, (errors.get(name) ?? 0) + 1);
}

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
let sessions = 0;

/** The stack of the docs on one server; resolves with its port. */
function serve(server$: Observable<ServerEvent>, subscriptions: Subscription[]): Promise<number> {
  const events$ = server$.pipe(share());
  const port = firstValueFrom(
    events$.pipe(
      filter((event): event is ListeningEvent => event.type === 'listening'),
      map((event) => event.port),
    ),
  );
  const connections$ = events$.pipe(
    map((event) =>
      event.type === 'connection'
        ? ({
            type: 'connection',
            // Every connection's own failure is seen here, typed or not, before the session layer.
            connection: event.connection.pipe(heartbeat(), tap({ error: note })),
          } satisfies SessionServerConnection)
        : event,
    ),
  );
  subscriptions.push(
    acceptSessions(connections$).subscribe({
      next: (session) => {
        sessions++;
        subscriptions.push(
          session.events$.pipe(serveRequests((payload: unknown) => payload)).subscribe({
            next: (event) => {
              if (event.type === 'disconnected' && event.error !== undefined) note(event.error);
            },
            error: note,
          }),
        );
      },
      error: (error: unknown) => note(new Error(`the server failed: ${describe(error)}`)),
    }),
  );
  return port;
}

const subscriptions: Subscription[] = [];
const [tcp, websocket] = await Promise.all([
  serve(tcpServer({ maxFrameBytes: MAX_FRAME_BYTES }), subscriptions),
  serve(websocketServer({ maxFrameBytes: MAX_FRAME_BYTES }), subscriptions),
]);
send({ type: 'ready', tcp, websocket });

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') {
    const rss = process.memoryUsage().rss;
    peakRss = Math.max(peakRss, rss);
    send({ type: 'stats', rss, peakRss, errors: Object.fromEntries(errors), sessions });
  } else if (message.type === 'reset-peak') {
    peakRss = process.memoryUsage().rss;
    send({ type: 'stats', rss: peakRss, peakRss, errors: Object.fromEntries(errors), sessions });
  } else if (message.type === 'stop') {
    for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
    clearInterval(sampler);
    // Nothing else keeps the process alive: with the IPC channel closed it must exit by itself.
    process.disconnect?.();
  }
});
