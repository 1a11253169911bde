// The browser side of scripts/client-coverage.ts: what a browser client of the client set does,
// run once in Chromium against the tool's server, while V8 records which code runs. It uses only
// the client set's exports (websocket, heartbeat, reconnectWith, resumable, cancelPending,
// openSession, policy), so its bundle holds the same lifeline code as `npm run size`'s.
// When done it calls window.coverageDone with the steps it saw, or window.coverageFailed.
import { firstValueFrom, lastValueFrom, of, filter, take, toArray, timeout } from 'rxjs';
import {
  cancelPending,
  heartbeat,
  openSession,
  policy,
  reconnectWith,
  resumable,
  websocket,
  type ClientSession,
  type ClientState,
} from 'rx-lifeline';

/** What the page sends: a numbered note; the server echoes each one. */
export interface Note {
  readonly n: number;
}
/** A request, as the tool's server answers it (see serve() in client-coverage.ts). */
export type Ask =
  | { readonly echo: unknown }
  | { readonly fail: string }
  | { readonly count: number }
  | { readonly sum: true }
  | { readonly hang: true }
  | { readonly delay: number };

declare global {
  interface Window {
    coverageDone(steps: string[]): void;
    coverageFailed(error: string): void;
  }
}

const steps: string[] = [];
const LIMIT = 10_000;

function stateIs(session: ClientSession<Note, Note>, status: ClientState['status']): Promise<unknown> {
  return firstValueFrom(
    session.state$.pipe(
      filter((state) => state.status === status),
      timeout(LIMIT),
    ),
  );
}

async function post(path: string): Promise<void> {
  await fetch(path, { method: 'POST' });
}

/** Sends notes `from`..`to` and waits for their echoes. */
async function echoes(session: ClientSession<Note, Note>, from: number, to: number): Promise<void> {
  const back = firstValueFrom(
    session.messages$.pipe(
      filter((note) => note.n === to),
      timeout(LIMIT),
    ),
  );
  for (let n = from; n <= to; n++) session.send({ n });
  await back;
}

/** The error a request fails with, by name. */
async function failure(request: Promise<unknown>): Promise<string> {
  try {
    await request;
    return 'no error';
  } catch (error) {
    return (error as Error).name;
  }
}

async function live(): Promise<void> {
  const session = openSession(
    websocket<Note>({ url: `ws://${location.host}/live` }).pipe(
      heartbeat({ interval: 100, timeout: 500 }),
      reconnectWith(policy.exponential({ initial: 20, max: 200 })),
      resumable(),
      cancelPending<Note, Note>({ timeout: LIMIT }),
    ),
  );
  await stateIs(session, 'connected');
  steps.push('connected');
  await echoes(session, 1, 20);
  steps.push('echoes');

  const ask = <R>(payload: Ask, options = {}) => session.request<R>(payload, options);
  steps.push(`echo request: ${String(await firstValueFrom(ask({ echo: 'hi' })))}`);
  steps.push(`failed request: ${await failure(firstValueFrom(ask({ fail: 'no' })))}`);
  steps.push(`streamed: ${(await lastValueFrom(ask<number>({ count: 3 }).pipe(toArray()))).join(',')}`);
  const body = of(1, 2, 3);
  steps.push(`body sum: ${String(await firstValueFrom(ask({ sum: true }, { body, idempotent: true })))}`);
  steps.push(`timed out: ${await failure(firstValueFrom(ask({ hang: true }, { timeout: 50 })))}`);
  const cancelled = ask({ hang: true }).subscribe();
  await new Promise((resolve) => setTimeout(resolve, 20));
  cancelled.unsubscribe();
  steps.push('cancelled');

  // The server kills the socket: the session reconnects and resumes, a request in flight included.
  const pending = firstValueFrom(ask({ delay: 300 }, { idempotent: true }));
  const reconnecting = stateIs(session, 'reconnecting');
  await post('/cut');
  await reconnecting;
  for (let n = 21; n <= 30; n++) session.send({ n }); // queued while away
  await stateIs(session, 'connected');
  await echoes(session, 31, 40);
  steps.push(`resumed; request in flight answered: ${String(await pending)}`);

  // The server stops reading: the heartbeat times out and the session reconnects.
  const timedOut = stateIs(session, 'reconnecting');
  await post('/stall');
  const state = (await timedOut) as { error: Error };
  steps.push(`stalled: ${state.error.name}`);
  await stateIs(session, 'connected');
  await echoes(session, 41, 50);
  steps.push('resumed after stall');

  const closed = stateIs(session, 'closed');
  session.close();
  await closed;
  steps.push('closed');
}

/** A client whose server is not there: each dial fails, and the policy gives up. */
async function unreachable(): Promise<void> {
  const session = openSession(
    websocket<Note>({ url: `ws://${location.host}/nowhere`, connectTimeout: 2_000 }).pipe(
      heartbeat(),
      reconnectWith(policy.constant(10).maxAttempts(2)),
      resumable(),
      cancelPending<Note, Note>(),
    ),
  );
  const state = (await firstValueFrom(
    session.state$.pipe(
      filter((s) => s.status === 'closed'),
      take(1),
      timeout(LIMIT),
    ),
  )) as { error?: Error };
  steps.push(`gave up: ${state.error?.name ?? 'no error'}`);
}

live()
  .then(unreachable)
  .then(
    () => window.coverageDone(steps),
    (error: unknown) =>
      window.coverageFailed(
        `${error instanceof Error ? error.stack : String(error)} after ${steps.join('; ')}`,
      ),
  );
