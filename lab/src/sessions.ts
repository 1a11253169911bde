/**
 * The lab's session mode: a few clients per policy through the real lifeline stack (memory
 * transport, heartbeat, reconnectWith, resumable; acceptSessions on the server), in virtual time on
 * a virtual-time scheduler (`VirtualClock`), counting the frames that were lost or delivered twice.
 * @internal
 * @packageDocumentation
 */
import {
  defer,
  map,
  merge,
  mergeMap,
  type Observable,
  throwError,
  timer,
  type SchedulerAction,
  type Subscription,
} from 'rxjs';
import {
  acceptSessions,
  type Codec,
  DialError,
  GaveUpError,
  heartbeat,
  memory,
  policy,
  reconnectWith,
  resumable,
  SessionExpiredError,
  type MemoryPair,
  type ServerEvent,
  type TransportEvent,
} from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import type { LabPolicy } from './policies.js';
import { outagesOf, type Scenario } from './scenarios.js';
import { deriveSeed } from './simulate.js';
import { VirtualClock } from './virtual-clock.js';

/**
 * What to run in session mode.
 * @internal
 * @example
 * ```ts
 * import type { SessionSimulationOptions } from '../lab/src/sessions.js';
 * import { builtInScenario, DEFAULT_SCENARIO_PARAMETERS } from '../lab/src/scenarios.js';
 * import { builtInPolicy, DEFAULT_POLICY_PARAMETERS } from '../lab/src/policies.js';
 * const options: SessionSimulationOptions = {
 *   scenario: builtInScenario('outage', DEFAULT_SCENARIO_PARAMETERS),
 *   policies: [builtInPolicy('full-jitter', DEFAULT_POLICY_PARAMETERS)],
 *   clients: 10,
 *   duration: 60_000,
 *   seed: 1,
 * };
 * ```
 */
export interface SessionSimulationOptions {
  readonly scenario: Scenario;
  readonly policies: readonly LabPolicy[];
  /** Clients per policy, each with its own session. */
  readonly clients: number;
  /** Virtual ms during which the scenario runs and clients send frames. */
  readonly duration: number;
  readonly seed: number;
  /**
   * Each client sends a numbered frame this often, virtual ms. Every frame goes through the whole
   * stack, so the run's cost is about proportional to the frames sent. @default 1_000
   */
  readonly frameInterval?: number;
  /** The server's `sessionTtl`. @default 60_000 */
  readonly sessionTtl?: number;
  /**
   * After `duration`, no more faults and no more frames for this long, so that sessions can
   * resume and deliver what they hold before the count. @default 60_000
   */
  readonly quiet?: number;
  /** As `reconnectWith`'s `healthyAfter`. @default 5_000 */
  readonly healthyAfter?: number;
  /** One-way latency of every link, virtual ms. @default 1 */
  readonly latency?: number;
}

/**
 * One policy's frame figures. A frame is lost when it was sent (handed to the session's link, or
 * refused by a full replay buffer) and never reached the server by the end of the quiet period.
 * @internal
 * @example
 * ```ts
 * import type { SessionResult } from '../lab/src/sessions.js';
 * const clean = (r: SessionResult) => r.lost === 0 && r.duplicated === 0;
 * ```
 */
export interface SessionResult {
  readonly policy: string;
  readonly sent: number;
  /** Distinct frames that reached the server. */
  readonly delivered: number;
  readonly lost: number;
  /** Frames that reached the server more than once (each counted once). */
  readonly duplicated: number;
  /** Sessions a client could not resume (`SessionLostError`, as a `session-reset` event). */
  readonly sessionsLost: number;
  /** Sessions the server dropped after `sessionTtl` without a connection (`SessionExpiredError`). */
  readonly sessionsExpired: number;
  /** Clients whose policy gave up (`GaveUpError`): they send no more. */
  readonly giveUps: number;
  /** Dials the clients made (refused ones included). */
  readonly dials: number;
}

/**
 * The session run: its parameters and one {@link SessionResult} per policy.
 * @internal
 * @example
 * ```ts
 * import type { SessionRun } from '../lab/src/sessions.js';
 * const lost = (run: SessionRun) => run.results.reduce((sum, r) => sum + r.lost, 0);
 * ```
 */
export interface SessionRun {
  readonly clients: number;
  readonly frameInterval: number;
  readonly sessionTtl: number;
  readonly quiet: number;
  readonly results: readonly SessionResult[];
}

/**
 * Runs every policy's clients through the real stack against the scenario and counts frames.
 * Deterministic: every timer runs on one virtual clock per policy, every draw comes from
 * generators seeded from `seed` (session ids and tokens are random, but nothing counted depends on
 * them).
 *
 * The scenario maps onto the memory transport's faults, one pair per client: an outage (or a
 * flapping server's down period) refuses dials and cuts every live connection; a failed dial
 * (`dialFailureRate`, or beyond `capacity` in a second) is refused after the link's latency; a
 * half-open link stalls the client's pair until the client, having noticed by heartbeat,
 * dials again (the dead connection is then reset, what it held is lost, and the new dial goes
 * through). Heartbeats use the scenario's half-open interval and timeout, else 5 s and 15 s.
 * @internal
 * @throws Error when a client's stream fails with anything but a `GaveUpError` (a bug).
 * @example
 * ```ts
 * import { simulateSessions } from '../lab/src/sessions.js';
 * import { builtInScenario, DEFAULT_SCENARIO_PARAMETERS } from '../lab/src/scenarios.js';
 * import { builtInPolicy, DEFAULT_POLICY_PARAMETERS } from '../lab/src/policies.js';
 * const run = simulateSessions({
 *   scenario: builtInScenario('outage', { ...DEFAULT_SCENARIO_PARAMETERS, at: 5_000, down: 10_000 }),
 *   policies: [builtInPolicy('full-jitter', DEFAULT_POLICY_PARAMETERS)],
 *   clients: 5,
 *   duration: 30_000,
 *   seed: 1,
 * });
 * console.log(run.results[0]?.lost); // 0
 * ```
 */
export function simulateSessions(options: SessionSimulationOptions): SessionRun {
  const {
    frameInterval = 1_000,
    sessionTtl = 60_000,
    quiet = 60_000,
    clients,
    healthyAfter = 5_000,
    latency = 1,
  } = options;
  if (!(frameInterval > 0)) throw new TypeError(`frameInterval must be more than 0, got ${frameInterval}`);
  const results = options.policies.map((labPolicy) =>
    runOne(options, labPolicy, { frameInterval, sessionTtl, quiet, healthyAfter, latency }),
  );
  return { clients, frameInterval, sessionTtl, quiet, results };
}

type Frame = readonly [client: number, n: number];

/**
 * A codec that hands each value over through a table instead of serialising it: the lab measures
 * what the session layers do with frames, not msgpack, which took a fifth of the run. Each encoded
 * value is 4 bytes (its slot number) on the wire.
 */
function handOverCodec(): Codec<unknown> {
  const values = new Map<number, unknown>();
  let next = 0;
  return {
    encode(value) {
      const slot = next++ >>> 0;
      values.set(slot, value);
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setUint32(0, slot);
      return bytes;
    },
    decode(bytes) {
      if (bytes.length !== 4) throw new TypeError(`lab codec: expected 4 bytes, got ${bytes.length}`);
      const slot = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
      if (!values.has(slot)) throw new TypeError(`lab codec: no value in slot ${slot}`);
      const value = values.get(slot);
      values.delete(slot);
      return value;
    },
  };
}

function runOne(
  options: SessionSimulationOptions,
  labPolicy: LabPolicy,
  p: { frameInterval: number; sessionTtl: number; quiet: number; healthyAfter: number; latency: number },
): SessionResult {
  const { scenario, clients, duration, seed } = options;
  const end = duration + p.quiet;
  const scheduler = new VirtualClock(end);
  const scenarioRandom = seededRandom(deriveSeed(seed, -1));
  const interval = scenario.halfOpen?.heartbeatInterval ?? 5_000;
  const timeout = scenario.halfOpen?.heartbeatTimeout ?? 15_000;
  const beat = { interval, timeout: Math.max(timeout, interval + 1), scheduler };

  const codec = handOverCodec();
  const pairs: MemoryPair<Frame, Frame>[] = Array.from({ length: clients }, (_, c) =>
    memory<Frame, Frame>({ scheduler, latency: p.latency, name: `lab-${c}`, codec }),
  );
  const dead = new Uint8Array(clients); // a half-open link the client has not redialled past
  const sent = new Uint32Array(clients);
  const received: number[][] = Array.from({ length: clients }, () => []);
  const perSecond = new Map<number, number>();
  let dials = 0;
  let sessionsLost = 0;
  let sessionsExpired = 0;
  let giveUps = 0;
  const failures: unknown[] = [];
  const subscriptions: Subscription[] = [];

  // The server: every pair's connections, each through heartbeat, into one acceptSessions.
  const server$ = merge(...pairs.map((e) => e.server)).pipe(
    map((event: ServerEvent<Frame, Frame>) =>
      event.type === 'connection'
        ? { ...event, connection: event.connection.pipe(heartbeat<Frame, Frame>(beat)) }
        : event,
    ),
  );
  subscriptions.push(
    acceptSessions<Frame>(server$, { sessionTtl: p.sessionTtl, scheduler }).subscribe((session) => {
      session.events$.subscribe({
        next: (event) => {
          if (event.type !== 'frame') return;
          const [c, n] = event.frame;
          const counts = received[c]!;
          counts[n] = (counts[n] ?? 0) + 1;
        },
        error: (error: unknown) => {
          if (SessionExpiredError.is(error)) sessionsExpired++;
          else failures.push(error);
        },
      });
    }),
  );

  // Faults on a schedule, in virtual time.
  const at = (time: number, work: () => void) => {
    if (time < duration) scheduler.schedule(work, time);
  };
  for (const { at: start, for: length } of outagesOf(scenario, duration)) {
    if (length <= 0) continue;
    at(start, () => {
      for (const pair of pairs) {
        pair.faults.refuse(true);
        pair.faults.cut();
      }
    });
    // Overlapping outages: the server is back when the last one ends.
    scheduler.schedule(() => {
      const now = scheduler.now();
      const down = outagesOf(scenario, duration).some((o) => o.at <= now && now < o.at + o.for);
      if (!down) for (const pair of pairs) pair.faults.refuse(false);
    }, start + length);
  }
  const halfOpen = scenario.halfOpen;
  if (halfOpen) {
    at(halfOpen.at, () => {
      for (let c = 0; c < clients; c++) {
        if (halfOpen.fraction < 1 && scenarioRandom() >= halfOpen.fraction) continue;
        dead[c] = 1;
        pairs[c]!.faults.stall();
      }
    });
  }

  for (let c = 0; c < clients; c++) {
    const pair = pairs[c]!;
    const random = seededRandom(deriveSeed(seed, c));
    const retry = labPolicy.make({ policy, random, scheduler, client: c });
    // Each dial: past a dead link, through the scenario's refusals, to the client's pair.
    const transport = defer((): Observable<TransportEvent<Frame, Frame>> => {
      if (dead[c]) {
        dead[c] = 0;
        pair.faults.cut();
        pair.faults.resume();
      }
      dials++;
      const second = Math.floor(scheduler.now() / 1000);
      const load = (perSecond.get(second) ?? 0) + 1;
      perSecond.set(second, load);
      const refused =
        load > scenario.capacity ||
        (scenario.dialFailureRate > 0 && scenarioRandom() < scenario.dialFailureRate);
      if (!refused) return pair.transport;
      const error = new DialError('The server refused the dial (simulated)', { code: 'ECONNREFUSED' });
      return timer(p.latency, scheduler).pipe(mergeMap(() => throwError(() => error)));
    });
    let sending: Subscription | undefined;
    const stop = () => sending?.unsubscribe();
    subscriptions.push(
      transport
        .pipe(
          heartbeat<Frame, Frame>(beat),
          reconnectWith({ policy: retry, healthyAfter: p.healthyAfter, scheduler }),
          resumable<Frame>({ scheduler, onSessionLost: 'reset', onOverflow: 'event' }),
        )
        .subscribe({
          next: (event) => {
            if (event.type === 'connected' && !sending) {
              const link = event.link;
              sending = scheduler.schedule(function (this: SchedulerAction<undefined>) {
                if (scheduler.now() >= duration) return;
                // A frame refused by a full buffer comes back as an overflow event: still sent, and lost.
                link.send([c, sent[c]!++]);
                this.schedule(undefined, p.frameInterval);
              });
            } else if (event.type === 'session-reset') sessionsLost++;
          },
          error: (error: unknown) => {
            stop();
            if (GaveUpError.is(error)) giveUps++;
            else failures.push(error);
          },
        }),
    );
    subscriptions.push({ unsubscribe: stop } as Subscription);
  }

  try {
    scheduler.flush();
  } finally {
    for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
  }
  if (failures.length > 0) {
    const first = failures[0];
    throw new Error(
      `lifeline-lab --sessions: policy "${labPolicy.name}": ${failures.length} unexpected failure(s), the first: ` +
        (first instanceof Error ? `${first.name}: ${first.message}` : String(first)),
      { cause: first },
    );
  }

  let total = 0;
  let delivered = 0;
  let duplicated = 0;
  for (let c = 0; c < clients; c++) {
    total += sent[c]!;
    const counts = received[c]!;
    for (let n = 0; n < sent[c]!; n++) {
      const k = counts[n] ?? 0;
      if (k > 0) delivered++;
      if (k > 1) duplicated++;
    }
  }
  return {
    policy: labPolicy.name,
    sent: total,
    delivered,
    lost: total - delivered,
    duplicated,
    sessionsLost,
    sessionsExpired,
    giveUps,
    dials,
  };
}
