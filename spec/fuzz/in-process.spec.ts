// The fuzz suite, in process: hostile bytes through the real FrameDecoder into every layer's server
// and client side, in virtual time. Each property asserts the library's promise for bad peer input
// (DESIGN.md invariant 5): only typed errors (LifelineError.is), nothing escapes into the code that
// feeds the bytes (a crash in a socket handler), decoded size bounded, deadlines kept, other
// connections unaffected, teardown total. `npm run fuzz` runs it with more inputs; see settings.ts.
import fc from 'fast-check';
import { defer, from, Subject, VirtualTimeScheduler, type Subscription } from 'rxjs';
import {
  acceptSessions,
  cancelPending,
  FrameDecoder,
  heartbeat,
  msgpackCodec,
  policy,
  reconnectWith,
  resumable,
  serveRequests,
  type RequestLink,
  type SessionServerConnection,
} from 'rx-lifeline';
import {
  amplifier,
  byteMutation,
  clientConversation,
  CONTROL_SESSION,
  cuts,
  encodeBody,
  heartbeatConversation,
  mutateBytes,
  OWN_SESSION,
  OWN_TOKEN,
  peerValue,
  plainRequestsConversation,
  serverConversation,
  split,
  withPrefix,
  type ByteMutation,
  type Step,
} from './arbitraries.js';
import {
  advanceTo,
  catchThrowsInHandlers,
  decodedBudget,
  describeError,
  FakeConnection,
  heapCost,
  isTyped,
} from './harness.js';
import { check, HANG_MS, parameters, printTally, RUNS } from './settings.js';

/** The server's handshake deadline in these runs (acceptSessions' default). */
const HANDSHAKE_TIMEOUT = 10_000;
/**
 * Refused hellos one connection may get before it is closed. The issue asks for "a small number"
 * (it suggests 3); a token has 128 bits, so any bound below this one makes guessing hopeless.
 */
const MAX_REFUSALS = 16;
/** Heartbeat timers far beyond the conversations, so only the hostile input ends a connection. */
const QUIET = { interval: 60_000, timeout: 120_000 } as const;

/** Damage for some frames of a conversation: the frame index (modulo its length) and the change. */
const damages = fc.array(fc.tuple(fc.nat(), byteMutation), { maxLength: 2 });
const conversationInput = (steps: fc.Arbitrary<Step[]>) =>
  fc.record({ steps, damage: fc.oneof(fc.constant([]), damages), cutAt: cuts });

interface ConversationInput {
  readonly steps: readonly Step[];
  readonly damage: readonly (readonly [number, ByteMutation])[];
  readonly cutAt: readonly number[];
}

/** Replaces placeholder strings anywhere in `value`, copying what it changes. */
function substitute(value: unknown, names: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return names.get(value) ?? value;
  if (Array.isArray(value)) return value.map((item) => substitute(item, names));
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: substitute(v, names),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** Schedules the conversation's frames on `connection`; returns the virtual time of the last. */
function play(
  scheduler: VirtualTimeScheduler,
  connection: FakeConnection,
  input: ConversationInput,
  names: () => ReadonlyMap<string, string> = () => new Map(),
): number {
  let at = scheduler.now();
  input.steps.forEach((step, index) => {
    at += step.wait;
    const damage = input.damage.find(([i]) => i % input.steps.length === index)?.[1];
    scheduler.schedule(
      () => connection.sendValue(substitute(step.frame, names()), damage, input.cutAt),
      at - scheduler.now(),
    );
  });
  return at;
}

/** Runs virtual time to `at`; an exception out of a timer escaped every layer. */
function runTo(scheduler: VirtualTimeScheduler, at: number, problems: string[]): void {
  try {
    advanceTo(scheduler, at);
  } catch (error) {
    problems.push(
      `escaped every handler (in a real process: an uncaught exception): ${describeError(error)}`,
    );
  }
}

function collector() {
  const problems: string[] = [];
  const typed = (where: string) => (error: unknown) => {
    if (!isTyped(error)) problems.push(`${where} failed with an untyped error: ${describeError(error)}`);
  };
  const escapes = (...connections: FakeConnection[]) => {
    for (const connection of connections) {
      for (const error of connection.escaped)
        problems.push(
          `escaped every handler (in a real process: an uncaught exception): ${describeError(error)}`,
        );
    }
  };
  const verdict = (started: number) => {
    const ms = performance.now() - started;
    if (ms > HANG_MS) problems.push(`one input took ${Math.round(ms)} ms`);
    if (problems.length > 0) throw new Error(problems.join('\n'));
  };
  return { problems, typed, escapes, verdict };
}

/** Frames `[0, [kind, …]]` the server sent on a heartbeat-wrapped resumable connection. */
function resumableSent(connection: FakeConnection, kind: number): unknown[] {
  return connection.link.sent
    .map((frame) => (Array.isArray(frame) && frame[0] === 0 ? frame[1] : undefined))
    .filter((inner): inner is unknown[] => Array.isArray(inner) && inner[0] === kind)
    .map((inner) => inner[1]);
}

// ---------------------------------------------------------------------------------------------
// The layers

/** Bytes straight into a FrameDecoder: any chunking, and a connection failed from inside onFrame. */
function codecLayer(input: {
  bodies: Uint8Array[];
  damage: readonly (readonly [number, ByteMutation])[];
  trailing: Uint8Array;
  cutAt: readonly number[];
  disposeAfter: number | null;
}): void {
  const started = performance.now();
  const { problems, typed, verdict } = collector();
  const decoder = new FrameDecoder({ codec: msgpackCodec() });
  const frames = input.bodies.map((body, index) => {
    const damage = input.damage.find(([i]) => i % input.bodies.length === index)?.[1];
    return damage ? mutateBytes(withPrefix(body), damage) : withPrefix(body);
  });
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0) + input.trailing.length);
  let offset = 0;
  for (const frame of [...frames, input.trailing]) {
    stream.set(frame, offset);
    offset += frame.length;
  }
  let delivered = 0;
  let disposed = false;
  let afterDispose = 0;
  let bodyStart = 0;
  try {
    for (const chunk of split(stream, input.cutAt)) {
      if (disposed) break;
      decoder.push(chunk, (frame) => {
        if (disposed) afterDispose++;
        const bytes = decoder.offset - bodyStart;
        bodyStart = decoder.offset;
        const cost = heapCost(frame);
        if (cost > decodedBudget(bytes)) {
          problems.push(
            `a ${bytes}-byte frame decoded to ~${cost} bytes of heap, over the budget of ${decodedBudget(bytes)}`,
          );
        }
        delivered++;
        // The connection fails from inside onFrame (a layer above rejected this frame): its
        // teardown disposes the decoder, and nothing more may be decoded from this chunk.
        if (input.disposeAfter !== null && delivered > input.disposeAfter && !disposed) {
          disposed = true;
          decoder.dispose();
        }
      });
    }
    if (!disposed) decoder.end();
  } catch (error) {
    typed('the decoder')(error);
  }
  if (afterDispose > 0)
    problems.push(`${afterDispose} frames were decoded and delivered after the decoder was disposed`);
  verdict(started);
}

/** heartbeat() alone, on either side: live timers (1 s ping, 3 s timeout). */
function heartbeatLayer(input: ConversationInput): void {
  const started = performance.now();
  const { problems, typed, escapes, verdict } = collector();
  const scheduler = new VirtualTimeScheduler();
  const connection = new FakeConnection(scheduler);
  const subscription = connection.transport
    .pipe(heartbeat({ interval: 1_000, timeout: 3_000, scheduler }))
    .subscribe({ error: typed('heartbeat') });
  const last = play(scheduler, connection, input);
  runTo(scheduler, last + 3_001, problems);
  if (connection.open)
    problems.push('the connection is still open 3 s after its last frame (heartbeat timeout: 3 s)');
  subscription.unsubscribe();
  if (connection.open) problems.push('the connection is still open after unsubscribing');
  escapes(connection);
  verdict(started);
}

/** serveRequests() piped on a plain connection, as its TSDoc shows. */
function plainRequestsLayer(input: ConversationInput): void {
  const started = performance.now();
  const { problems, typed, escapes, verdict } = collector();
  const scheduler = new VirtualTimeScheduler();
  const connection = new FakeConnection(scheduler);
  const subscription = connection.transport
    .pipe(serveRequests((payload: unknown) => (Array.isArray(payload) ? from(payload) : payload)))
    .subscribe({ error: typed('serveRequests') });
  const last = play(scheduler, connection, input);
  runTo(scheduler, last + 1, problems);
  subscription.unsubscribe();
  if (connection.open) problems.push('the connection is still open after unsubscribing');
  escapes(connection);
  verdict(started);
}

/**
 * The server stack of the docs: each connection through heartbeat(), acceptSessions(), each
 * session's events through serveRequests(). A control client holds a session beside the hostile
 * connection; at the end it must still be attached and its request answered.
 */
function serverStackLayer(input: ConversationInput): void {
  const started = performance.now();
  const { problems, typed, escapes, verdict } = collector();
  const scheduler = new VirtualTimeScheduler();
  const server$ = new Subject<SessionServerConnection>();
  const subscriptions: Subscription[] = [];
  const controlSaw: string[] = [];
  let owner: 'control' | 'hostile' = 'control';
  const accepted = acceptSessions(server$, { scheduler, handshakeTimeout: HANDSHAKE_TIMEOUT }).subscribe({
    next: (session) => {
      const mine = owner;
      subscriptions.push(
        session.events$.pipe(serveRequests((payload: unknown) => payload)).subscribe({
          next: (event) => {
            if (event.type !== 'disconnected') return;
            if (mine === 'control') controlSaw.push(`disconnected (${describeError(event.error)})`);
            if (event.error !== undefined) typed('a session connection')(event.error);
          },
          error: (error: unknown) => {
            if (mine === 'control') controlSaw.push(`error (${describeError(error)})`);
            typed('a session')(error);
          },
          complete: () => mine === 'control' && controlSaw.push('complete'),
        }),
      );
    },
    error: (error: unknown) => problems.push(`acceptSessions failed: ${describeError(error)}`),
    complete: () => problems.push('acceptSessions completed'),
  });
  const connect = () => {
    const connection = new FakeConnection(scheduler);
    server$.next({
      type: 'connection',
      connection: connection.transport.pipe(heartbeat({ ...QUIET, scheduler })),
    });
    return connection;
  };

  const control = connect();
  control.sendValue([0, [2, { v: [1, 1], received: 0 }]], undefined);
  const controlSession = (resumableSent(control, 3)[0] as { session?: string } | undefined)?.session;
  if (controlSession === undefined) throw new Error('the control client got no welcome');

  owner = 'hostile';
  const hostile = connect();
  const guess = '0123456789abcdef0123456789abcdef';
  const names = () => {
    const welcome = resumableSent(hostile, 3).at(-1) as { session?: string; token?: string } | undefined;
    return new Map([
      [CONTROL_SESSION, controlSession],
      [OWN_SESSION, welcome?.session ?? guess],
      [OWN_TOKEN, welcome?.token ?? guess],
    ]);
  };
  const last = play(scheduler, hostile, input, names);

  // The handshake deadline runs from accept: refused hellos must not extend it.
  runTo(scheduler, HANDSHAKE_TIMEOUT + 1, problems);
  if (resumableSent(hostile, 3).length === 0 && hostile.open && !hostile.link.closed) {
    const refused = resumableSent(hostile, 4).length;
    problems.push(
      `a connection without a session is still open ${HANDSHAKE_TIMEOUT + 1} ms after accept (handshakeTimeout ${HANDSHAKE_TIMEOUT}; ${refused} hellos refused)`,
    );
  }
  runTo(scheduler, Math.max(last, HANDSHAKE_TIMEOUT) + 1, problems);
  const refusals = resumableSent(hostile, 4).length;
  if (refusals > MAX_REFUSALS)
    problems.push(`one connection got ${refusals} refused hellos without being closed`);

  // The control client is unaffected: attached, nothing happened to its session, and it is served.
  if (controlSaw.length > 0) problems.push(`the control session saw: ${controlSaw.join(', ')}`);
  if (!control.open || control.link.closed) problems.push('the control connection was closed');
  const before = control.link.sent.length;
  control.sendValue([0, [0, 1, [1, 1, 'still served?']]], undefined);
  runTo(scheduler, scheduler.now() + 1, problems);
  const responses = control.link.sent
    .slice(before)
    .filter(
      (frame) => JSON.stringify(frame) === JSON.stringify([0, [0, 1, [2, 1, 'value', 'still served?']]]),
    );
  if (responses.length !== 1) problems.push("the control client's request was not answered");

  accepted.unsubscribe();
  for (const subscription of subscriptions) subscription.unsubscribe();
  if (control.open || hostile.open) problems.push('a connection is still open after the server stopped');
  escapes(control, hostile);
  verdict(started);
}

/**
 * The client stack: heartbeat(), reconnectWith() (three attempts), resumable(), cancelPending() with
 * three requests in flight. Every connection the client dials meets the same hostile server.
 */
function clientStackLayer(input: ConversationInput): void {
  const started = performance.now();
  const { problems, typed, escapes, verdict } = collector();
  const scheduler = new VirtualTimeScheduler();
  const connections: FakeConnection[] = [];
  const dial = defer(() => {
    const connection = new FakeConnection(scheduler);
    connections.push(connection);
    play(scheduler, connection, input);
    return connection.transport;
  });
  let link: RequestLink | undefined;
  const subscription = dial
    .pipe(
      heartbeat({ ...QUIET, scheduler }),
      reconnectWith({ policy: policy.constant(100).maxAttempts(3), scheduler }),
      resumable({ scheduler }),
      cancelPending({ scheduler }),
    )
    .subscribe({
      next: (event) => {
        if (event.type === 'request-link') link = event.link as RequestLink;
      },
      error: typed('the client stream'),
    });
  const requests = [1, 2, 3].map((n) =>
    link!.request(n, { idempotent: n === 2 }).subscribe({ error: typed(`request ${n}`) }),
  );
  // Four connections at most, each at most ~14 s of conversation and a 100 ms backoff.
  runTo(scheduler, 80_000, problems);
  for (const request of requests) request.unsubscribe();
  subscription.unsubscribe();
  if (connections.some((connection) => connection.open))
    problems.push('a connection is still open after unsubscribing');
  escapes(...connections);
  verdict(started);
}

// ---------------------------------------------------------------------------------------------

const LAYERS = ['codec', 'heartbeat', 'serveRequests', 'server stack', 'client stack'] as const;

describe('fuzz, in process: hostile frames through every layer', function () {
  this.timeout(0); // each property is bounded by its own count and time limit (settings.ts)
  let restore: () => void;
  before(() => (restore = catchThrowsInHandlers()));
  after(() => {
    restore();
    printTally('fuzz in process', LAYERS);
  });

  it(`codec: random, damaged, torn and amplifying frames decode or fail typed, within a decoded-size budget, and nothing after a dispose`, () => {
    const body = fc.oneof(
      { weight: 20, arbitrary: peerValue.map(encodeBody) },
      { weight: 4, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 48 }) },
      { weight: 1, arbitrary: amplifier },
    );
    const input = fc.record({
      bodies: fc.array(body, { maxLength: 5 }),
      damage: fc.oneof(fc.constant([]), damages),
      trailing: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 8 })),
      cutAt: cuts,
      disposeAfter: fc.option(fc.nat(3), { freq: 3 }),
    });
    check('codec', input, codecLayer, parameters(RUNS, 1));
  });

  it('heartbeat: any frames end in data, pings, pongs or a typed error, and a silent connection closes', () => {
    check('heartbeat', conversationInput(heartbeatConversation), heartbeatLayer, parameters(RUNS, 2));
  });

  it('serveRequests on a plain connection: any envelopes end in responses or a typed error', () => {
    check(
      'serveRequests',
      conversationInput(plainRequestsConversation),
      plainRequestsLayer,
      parameters(RUNS, 3),
    );
  });

  it('server stack (heartbeat, acceptSessions, serveRequests): typed errors, the handshake deadline holds, refused hellos are bounded, the control session is unaffected', () => {
    check('server stack', conversationInput(clientConversation), serverStackLayer, parameters(RUNS, 4));
  });

  it('client stack (heartbeat, resumable, cancelPending): a hostile server causes only typed errors', () => {
    check('client stack', conversationInput(serverConversation), clientStackLayer, parameters(RUNS, 5));
  });
});
