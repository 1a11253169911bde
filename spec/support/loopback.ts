// Helpers for the loopback tests of the socket transports: record a transport's events, run a
// server and take its connections one by one. Everything waits on events, never on a clock.
import {
  catchError,
  connectable,
  EMPTY,
  endWith,
  filter,
  firstValueFrom,
  ignoreElements,
  lastValueFrom,
  map,
  of,
  ReplaySubject,
  take,
  toArray,
  type Observable,
  type Subscription,
} from 'rxjs';
import { expect } from 'chai';
import {
  ConnectionResetError,
  SendBufferFullError,
  type Link,
  type RefusedEvent,
  type ServerEvent,
  type Transport,
  type TransportEvent,
} from 'rx-lifeline';

/** How a transport ended: `'complete'`, or the error it failed with. */
export type Outcome = 'complete' | { error: unknown };

/** A subscribed transport whose events are all kept, so a test can ask for them at any time. */
export interface Recording<In, Out> {
  /** The link of the `connected` event (rejects if the transport failed first). */
  link(): Promise<Link<Out>>;
  /** The first `count` inbound frames, or fewer if the transport ended before. */
  frames(count: number): Promise<In[]>;
  /** Settles once the transport completes or errors; never rejects. */
  readonly outcome: Promise<Outcome>;
  readonly subscription: Subscription;
}

export function record<In, Out>(transport: Transport<In, Out>): Recording<In, Out> {
  const events = connectable(transport, {
    connector: () => new ReplaySubject<TransportEvent<In, Out>>(),
    resetOnDisconnect: false,
  });
  const outcome = lastValueFrom(
    events.pipe(
      ignoreElements(),
      endWith<Outcome>('complete'),
      catchError((error: unknown) => of<Outcome>({ error })),
    ),
  );
  const subscription = events.connect();
  return {
    link: () =>
      firstValueFrom(
        events.pipe(
          filter((event) => event.type === 'connected'),
          map((event) => event.link),
        ),
      ),
    frames: (count) =>
      lastValueFrom(
        events.pipe(
          filter((event) => event.type === 'frame'),
          map((event) => event.frame),
          take(count),
          catchError(() => EMPTY),
          toArray(),
        ),
      ),
    outcome,
    subscription,
  };
}

/** The error a transport ended with; fails the test if it completed. */
export async function failure(recording: { outcome: Promise<Outcome> }): Promise<unknown> {
  const outcome = await recording.outcome;
  if (outcome === 'complete') throw new Error('expected the transport to fail, but it completed');
  return outcome.error;
}

/** A server Observable, subscribed and listening. */
export interface RunningServer<In, Out> {
  readonly port: number;
  readonly address: string;
  /** The next accepted connection, in order of acceptance. */
  nextConnection(): Promise<Transport<In, Out>>;
  /** The next `refused` event, in order. */
  nextRefusal(): Promise<RefusedEvent>;
  /** How the server Observable ended, if it did: it should neither complete nor error while running. */
  ended(): Outcome | undefined;
  stop(): void;
}

export async function startServer<In, Out>(
  server$: Observable<ServerEvent<In, Out>>,
): Promise<RunningServer<In, Out>> {
  const events = connectable(server$, {
    connector: () => new ReplaySubject<ServerEvent<In, Out>>(),
    resetOnDisconnect: false,
  });
  let ended: Outcome | undefined;
  events.subscribe({ error: (error: unknown) => (ended = { error }), complete: () => (ended = 'complete') });
  const subscription = events.connect();
  const listening = await firstValueFrom(events.pipe(filter((event) => event.type === 'listening')));
  const connections = events.pipe(
    filter((event) => event.type === 'connection'),
    map((event) => event.connection),
  );
  let taken = 0;
  let refusalsTaken = 0;
  const refusals = events.pipe(filter((event): event is RefusedEvent => event.type === 'refused'));
  return {
    port: listening.port,
    address: listening.address,
    nextConnection: () => {
      const index = taken++;
      return firstValueFrom(connections.pipe(filter((_, i) => i === index)));
    },
    nextRefusal: () => {
      const index = refusalsTaken++;
      return firstValueFrom(refusals.pipe(filter((_, i) => i === index)));
    },
    ended: () => ended,
    stop: () => subscription.unsubscribe(),
  };
}

/** One turn of the event loop: lets sockets make progress without waiting on a clock. */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface Numbered {
  seq: number;
  text: string;
}

/** Frames with varied sizes, so chunks and messages split them in varied places. */
export function numbered(count: number, label: string): Numbered[] {
  return Array.from({ length: count }, (_, seq) => ({
    seq,
    text: `${label} ${seq} ${'x'.repeat(seq % 257)}`,
  }));
}

/**
 * Sends `count` numbered frames each way, in bursts of 1000 one event-loop turn apart (so many
 * coalesced writes follow each other, one in flight at a time), and asserts that each side
 * received exactly the other's frames, in order.
 */
export async function exchangeBothWays(
  client: Recording<Numbered, Numbered>,
  accepted: Recording<Numbered, Numbered>,
  count: number,
): Promise<void> {
  const [clientLink, serverLink] = await Promise.all([client.link(), accepted.link()]);
  const up = numbered(count, 'up');
  const down = numbered(count, 'down');
  for (let i = 0; i < count; i += 1000) {
    for (const frame of up.slice(i, i + 1000)) clientLink.send(frame);
    for (const frame of down.slice(i, i + 1000)) serverLink.send(frame);
    await turn();
  }
  const [atServer, atClient] = await Promise.all([accepted.frames(count), client.frames(count)]);
  expect(atServer).to.deep.equal(up);
  expect(atClient).to.deep.equal(down);
}

/**
 * Sends ~1 KiB frames a few at a time, one event-loop turn apart, until the link refuses one.
 * Returns the frames it accepted, in order, and the refusal.
 */
export async function sendUntilFull(
  link: Link<Numbered>,
): Promise<{ accepted: Numbered[]; error: SendBufferFullError }> {
  const accepted: Numbered[] = [];
  for (let seq = 0; seq < 200_000;) {
    for (let i = 0; i < 4; i++, seq++) {
      const frame = { seq, text: 'y'.repeat(1000) };
      try {
        link.send(frame);
      } catch (error) {
        if (error instanceof SendBufferFullError) return { accepted, error };
        throw error;
      }
      accepted.push(frame);
    }
    await turn();
  }
  throw new Error('the send buffer never filled');
}

/**
 * The slow-reader scenario: `connection` is an accepted connection nobody read yet. Fills the
 * client's send buffer until `SendBufferFullError`, checks the refusal, then reads the connection
 * and checks every accepted frame arrives, in order.
 */
export async function expectBackpressure(
  link: Link<Numbered>,
  connection: Transport<Numbered, Numbered>,
  maxBufferedBytes: number,
): Promise<Recording<Numbered, Numbered>> {
  const { accepted, error } = await sendUntilFull(link);
  expect(error.limit).to.equal(maxBufferedBytes);
  expect(error.bufferedBytes).to.be.at.most(maxBufferedBytes);
  // The kernel's buffers took far more than the cap before the writer stalled: the cap bounds
  // unconfirmed bytes, not bytes sent.
  expect(accepted.length * 1000).to.be.above(maxBufferedBytes);
  expect(link.closed).to.equal(false);
  const reader = record(connection);
  expect(await reader.frames(accepted.length)).to.deep.equal(accepted);
  return reader;
}

/** A new client of `server` still gets its frame through: one bad connection harmed no other. */
export async function expectStillServing(
  server: RunningServer<string, string>,
  dial: () => Transport<string, string>,
): Promise<void> {
  const client = record(dial());
  const accepted = record(await server.nextConnection());
  (await client.link()).send('still serving');
  expect(await accepted.frames(1)).to.deep.equal(['still serving']);
  client.subscription.unsubscribe();
  expect(await accepted.outcome).to.equal('complete');
  expect(server.ended()).to.equal(undefined);
}

/** Nothing unconfirmed: every one of the `frames` sent so far left whole (and may have arrived). */
export function allWhole(frames: number) {
  return { lastFrame: 'whole', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft: frames } as const;
}

/**
 * Waits for `recording` to fail and checks it is a read-phase `ConnectionResetError` with `code`
 * that reports every one of the `frames` sent as written whole; returns it for further checks.
 */
export async function expectResetAfterWholeWrites(
  recording: { outcome: Promise<Outcome> },
  code: string | number,
  frames: number,
): Promise<ConnectionResetError> {
  const error = await failure(recording);
  expect(error).to.be.instanceOf(ConnectionResetError);
  const reset = error as ConnectionResetError;
  expect(reset.code).to.equal(code);
  expect(reset.phase).to.equal('read');
  expect(reset.write).to.deep.equal(allWhole(frames));
  return reset;
}
