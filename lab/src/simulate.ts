/**
 * The lab's simulation: N clients, each with its own retry policy, against a scenario, in virtual
 * time driven by one event queue.
 * @internal
 * @packageDocumentation
 */
import type { SchedulerLike } from 'rxjs';
import {
  ConnectionResetError,
  DialError,
  FailureRun,
  HandshakeAdmission,
  HandshakeRefusedError,
  HeartbeatTimeoutError,
  policy,
  type BreakerPermit,
  type FailureClass,
  type RetryPolicy,
} from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import { EventQueue } from './event-queue.js';
import type { LabPolicy } from './policies.js';
import { outagesOf, type Outage, type Scenario } from './scenarios.js';
import { LabUsageError } from './units.js';

/**
 * What to simulate.
 * @internal
 * @example
 * ```ts
 * import type { SimulationOptions } from '../lab/src/simulate.js';
 * import { builtInScenario, DEFAULT_SCENARIO_PARAMETERS } from '../lab/src/scenarios.js';
 * import { builtInPolicy, DEFAULT_POLICY_PARAMETERS } from '../lab/src/policies.js';
 * const options: SimulationOptions = {
 *   scenario: builtInScenario('outage', DEFAULT_SCENARIO_PARAMETERS),
 *   policies: [builtInPolicy('full-jitter', DEFAULT_POLICY_PARAMETERS)],
 *   clients: 1_000,
 *   duration: 10 * 60_000,
 *   seed: 1,
 * };
 * ```
 */
export interface SimulationOptions {
  readonly scenario: Scenario;
  /** Each is simulated on its own, against the same scenario and seed. */
  readonly policies: readonly LabPolicy[];
  readonly clients: number;
  /** Virtual milliseconds simulated, from 0; events at or after it do not happen. */
  readonly duration: number;
  /** Seeds every random draw: jitter (one generator per client) and the scenario's own draws. */
  readonly seed: number;
  /**
   * How long a connection must stay up before it counts as healthy: the client's run of failures
   * then ends (the next failure starts from the initial delay), as `reconnectWith`'s `healthyAfter`.
   * @default 5_000
   */
  readonly healthyAfter?: number;
  /**
   * A guard against a policy that never lets virtual time advance (a delay of 0 against a server
   * that is down): more events than this for one policy is an error.
   * @default 50_000_000
   */
  readonly maxEvents?: number;
}

/**
 * One policy's figures. Recovery times are per disconnection: from the moment a connection was
 * lost (for a half-open link, the moment it died, not the moment the client noticed; for a cold
 * start, time 0) to the moment the client was connected again. A disconnection still open at the
 * end of the run (the client is still dialling, or gave up, or has not noticed) counts as
 * `Infinity`.
 * @internal
 * @example
 * ```ts
 * import type { PolicyResult } from '../lab/src/simulate.js';
 * const summarise = (r: PolicyResult) => `${r.policy}: ${r.dials} dials, peak ${r.peakDialsPerSecond}/s`;
 * ```
 */
export interface PolicyResult {
  readonly policy: string;
  /** Disconnections: connections lost, plus every client's first dial on a cold start. */
  readonly disconnections: number;
  /** Recovery time of the median disconnection, ms (nearest rank); NaN when there was none. */
  readonly backP50: number;
  /** Recovery time at the 99th percentile, ms (nearest rank); NaN when there was none. */
  readonly backP99: number;
  /** The longest recovery time, ms; NaN when there was none. */
  readonly backMax: number;
  /** Clients not connected at the end of the run (gave-up clients included). */
  readonly notBack: number;
  /** Dials that reached the server, accepted or refused (breaker refusals never reach it). */
  readonly dials: number;
  /** The most dials the server saw in one second of virtual time. */
  readonly peakDialsPerSecond: number;
  /** The start of that second, ms (the first such second). */
  readonly peakAt: number;
  /** Clients whose policy gave up (they stop dialling). */
  readonly giveUps: number;
  /** Dials the server saw in each second of the run: index k counts `[k s, (k+1) s)`. */
  readonly dialsPerSecond: readonly number[];
}

/**
 * The whole comparison: one {@link PolicyResult} per policy, in the order given.
 * @internal
 * @example
 * ```ts
 * import type { SimulationResult } from '../lab/src/simulate.js';
 * const fastest = (r: SimulationResult) => [...r.results].sort((a, b) => a.backMax - b.backMax)[0]?.policy;
 * ```
 */
export interface SimulationResult {
  readonly scenario: Scenario;
  readonly clients: number;
  readonly duration: number;
  readonly seed: number;
  readonly results: readonly PolicyResult[];
}

// Event kinds.
const DIAL = 1;
const HEALTHY = 2;
const DETECT = 3;
const OUTAGE = 4;
const HALF_OPEN = 5;

// Client states.
const DOWN = 0;
const UP = 1;
/** Connected as far as the client knows, but the link died silently (half-open). */
const DEAD = 2;
const GAVE_UP = 3;

/** One seed per client and purpose, from the run's seed: distinct streams from one number. @internal */
export function deriveSeed(seed: number, stream: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(stream + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Merges overlapping outages: a server already down has nothing more to drop. */
function merged(outages: readonly Outage[]): { start: number; end: number }[] {
  const windows: { start: number; end: number }[] = [];
  for (const { at, for: length } of outages) {
    if (length <= 0) continue;
    const last = windows[windows.length - 1];
    if (last && at <= last.end) last.end = Math.max(last.end, at + length);
    else windows.push({ start: at, end: at + length });
  }
  return windows;
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/**
 * Runs the scenario once per policy and returns each policy's figures. Pure: the same options give
 * the same result, with no real timer, clock or platform randomness.
 *
 * Each client owns a `FailureRun` (the decide loop of lifeline's retrying operators) over the
 * policy its {@link LabPolicy} made for it, and does what `reconnectWith` does: on a failure it asks
 * the run for a delay and dials again after it (or gives up); a connection that stays up
 * `healthyAfter` ends the run, reports success to the policy's breaker and deposits into its budget.
 * A dial is answered at once: refused if the server is down, beyond its capacity for the current
 * second, or unlucky (the scenario's failure rate), else accepted.
 *
 * It does not model sessions: no frames flow, so nothing is lost or duplicated to count.
 * @internal
 * @throws LabUsageError when a policy needs more than `maxEvents` events.
 * @example
 * ```ts
 * import { simulate } from '../lab/src/simulate.js';
 * import { builtInScenario, DEFAULT_SCENARIO_PARAMETERS } from '../lab/src/scenarios.js';
 * import { builtInPolicy, DEFAULT_POLICY_PARAMETERS } from '../lab/src/policies.js';
 * const result = simulate({
 *   scenario: builtInScenario('outage', DEFAULT_SCENARIO_PARAMETERS),
 *   policies: [builtInPolicy('exponential', DEFAULT_POLICY_PARAMETERS)],
 *   clients: 100,
 *   duration: 120_000,
 *   seed: 1,
 * });
 * console.log(result.results[0]?.peakDialsPerSecond); // 100: every client dials in the same second
 * ```
 */
export function simulate(options: SimulationOptions): SimulationResult {
  const {
    scenario,
    policies,
    clients,
    duration,
    seed,
    healthyAfter = 5_000,
    maxEvents = 50_000_000,
  } = options;
  const results = policies.map((labPolicy) =>
    simulateOne(scenario, labPolicy, clients, duration, seed, healthyAfter, maxEvents),
  );
  return { scenario, clients, duration, seed, results };
}

function simulateOne(
  scenario: Scenario,
  labPolicy: LabPolicy,
  clients: number,
  duration: number,
  seed: number,
  healthyAfter: number,
  maxEvents: number,
): PolicyResult {
  let now = 0;
  const clock = {
    now: () => now,
    schedule: () => {
      throw new TypeError('lifeline-lab: the virtual clock tells the time only; it schedules nothing');
    },
  } as unknown as SchedulerLike;

  const queue = new EventQueue();
  const state = new Uint8Array(clients);
  const generation = new Uint32Array(clients);
  const connectedAt = new Float64Array(clients);
  const downSince = new Float64Array(clients);
  const retryPolicies: RetryPolicy[] = new Array<RetryPolicy>(clients);
  const runs: FailureRun[] = new Array<FailureRun>(clients);
  const permits: (BreakerPermit | undefined)[] = new Array<BreakerPermit | undefined>(clients);
  // The scenario's own draws (which dials fail, which links die) come from a stream of their own.
  const scenarioRandom = seededRandom(deriveSeed(seed, -1));

  // One instance of each failure: they only tell the policy what failed, and a stack trace per
  // failure would cost more than the rest of the simulation (as in bench/brooker.ts).
  const refused = new DialError('The server refused the dial (simulated)', { code: 'ECONNREFUSED' });
  const reset = new ConnectionResetError('The server went down (simulated)', {
    phase: 'read',
    code: 'ECONNRESET',
  });
  // A server with pushback refuses with a hint of its own each time: one error made once, and a
  // cheap copy per refusal that carries the hint (the classifier reads the reason through it).
  const overloaded = new HandshakeRefusedError('The server admits no more handshakes for now (simulated)', {
    reason: 'overloaded',
    side: 'client',
  });
  const pushedBack = (retryAfterMs: number): unknown =>
    Object.create(overloaded, { retryAfterMs: { value: retryAfterMs } }) as unknown;
  const admission =
    scenario.admission === undefined
      ? undefined
      : new HandshakeAdmission({ perSecond: scenario.admission, scheduler: clock });
  const halfOpen = scenario.halfOpen;
  const silent = new HeartbeatTimeoutError('No heartbeat (simulated half-open link)', {
    silentFor: halfOpen?.heartbeatTimeout ?? 0,
    link: undefined,
  });

  // A classifier's verdict on those three is computed once per classifier, not once per failure:
  // classifying walks prototype chains, which was a third of the time of a run. This assumes the
  // classifier is a function of the error alone, as lifeline's are.
  const verdicts = new Map<(error: unknown) => FailureClass, Map<unknown, FailureClass>>();
  const remembering = (retry: RetryPolicy): RetryPolicy => {
    const { classify } = retry.config;
    let known = verdicts.get(classify);
    if (!known) {
      known = new Map([refused, reset, silent].map((error) => [error, classify(error)]));
      verdicts.set(classify, known);
    }
    const cached = known;
    return retry.classify((error) => cached.get(error) ?? classify(error));
  };
  // Every client draws its jitter from its own generator. A policy that is the same for every
  // client is made once, with a `random` that reads the generator of the client deciding (only
  // `decide` draws): 10,000 copies of one policy ran at half the speed of one shared copy.
  const generators = Array.from({ length: clients }, (_, c) => seededRandom(deriveSeed(seed, c)));
  let deciding = 0;
  const shared = labPolicy.perClient
    ? undefined
    : remembering(
        labPolicy.make({ policy, random: () => generators[deciding]!(), scheduler: clock, client: -1 }),
      );
  for (let c = 0; c < clients; c++) {
    const retry =
      shared ?? remembering(labPolicy.make({ policy, random: generators[c]!, scheduler: clock, client: c }));
    retryPolicies[c] = retry;
    runs[c] = new FailureRun(retry, clock);
  }

  const seconds = Math.ceil(duration / 1000);
  const perSecond = new Uint32Array(seconds);
  const recoveries: number[] = [];
  let disconnections = 0;
  let dials = 0;
  let giveUps = 0;
  let events = 0;

  const windows = merged(outagesOf(scenario, duration));
  let window = 0; // the first window that has not ended by `now` (time only moves forward)
  const serverDown = (): boolean => {
    while (window < windows.length && windows[window]!.end <= now) window++;
    const current = windows[window];
    return current !== undefined && current.start <= now;
  };

  const fail = (c: number, error: unknown): void => {
    const permit = permits[c];
    permits[c] = undefined;
    deciding = c;
    const decision = runs[c]!.failed(error, permit);
    if (!decision.retry) {
      state[c] = GAVE_UP;
      giveUps++;
      return;
    }
    queue.push(now + decision.delay, DIAL, c, generation[c]!);
  };

  const lose = (c: number, since: number): void => {
    state[c] = DOWN;
    generation[c]!++;
    downSince[c] = since;
    disconnections++;
  };

  const dial = (c: number): void => {
    const breaker = retryPolicies[c]!.config.breaker;
    if (breaker) {
      try {
        permits[c] = breaker.admit();
      } catch (refusal) {
        return fail(c, refusal); // refused by the client's own breaker: the server never sees it
      }
    }
    dials++;
    const second = Math.floor(now / 1000);
    const load = ++perSecond[second]!;
    const accepted =
      !serverDown() &&
      load <= scenario.capacity &&
      !(scenario.dialFailureRate > 0 && scenarioRandom() < scenario.dialFailureRate);
    if (!accepted) return fail(c, refused);
    const wait = admission?.admit();
    if (wait !== undefined) return fail(c, pushedBack(wait));
    state[c] = UP;
    generation[c]!++;
    connectedAt[c] = now;
    recoveries.push(now - downSince[c]!);
    if (healthyAfter <= 0) healthy(c);
    else queue.push(now + healthyAfter, HEALTHY, c, generation[c]!);
  };

  const healthy = (c: number): void => {
    runs[c]!.reset();
    permits[c]?.success();
    permits[c] = undefined;
    retryPolicies[c]!.config.budget?.deposit();
  };

  for (const { start } of windows) if (start < duration) queue.push(start, OUTAGE, 0, 0);
  if (halfOpen && halfOpen.at < duration) queue.push(halfOpen.at, HALF_OPEN, 0, 0);
  for (let c = 0; c < clients; c++) {
    if (scenario.coldStart) {
      lose(c, 0);
      queue.push(0, DIAL, c, generation[c]!);
    } else {
      state[c] = UP;
      // Connected since before the run: the first run of failures starts from the initial delay.
      connectedAt[c] = 0;
    }
  }

  while (queue.peekTime() < duration) {
    queue.pop();
    if (++events > maxEvents) {
      throw new LabUsageError(
        `policy "${labPolicy.name}" needed more than ${maxEvents} events: does it retry without delay ` +
          `against a server that is down? Virtual time cannot advance then.`,
      );
    }
    now = queue.time;
    const c = queue.client;
    switch (queue.kind) {
      case DIAL:
        if (queue.generation === generation[c] && state[c] === DOWN) dial(c);
        break;
      case HEALTHY:
        if (queue.generation === generation[c] && state[c] === UP) healthy(c);
        break;
      case DETECT:
        if (queue.generation === generation[c] && state[c] === DEAD) {
          state[c] = DOWN;
          fail(c, silent);
        }
        break;
      case OUTAGE:
        // The server goes down: every live connection is reset. Links already dead hear nothing.
        for (let i = 0; i < clients; i++) {
          if (state[i] !== UP) continue;
          lose(i, now);
          fail(i, reset);
        }
        break;
      case HALF_OPEN: {
        const { fraction, heartbeatInterval, heartbeatTimeout } = halfOpen!;
        for (let i = 0; i < clients; i++) {
          if (state[i] !== UP || (fraction < 1 && scenarioRandom() >= fraction)) continue;
          lose(i, now);
          state[i] = DEAD;
          // Pings arrive every interval from the moment it connected; the last one heard before the
          // link died starts the timeout.
          const lastHeard =
            connectedAt[i]! + Math.floor((now - connectedAt[i]!) / heartbeatInterval) * heartbeatInterval;
          queue.push(lastHeard + heartbeatTimeout, DETECT, i, generation[i]!);
        }
        break;
      }
    }
  }

  let notBack = 0;
  for (let c = 0; c < clients; c++) {
    if (state[c] === UP) continue;
    notBack++;
    recoveries.push(Infinity);
  }
  const sorted = Float64Array.from(recoveries).sort();
  let peakDialsPerSecond = 0;
  let peakSecond = 0;
  for (let k = 0; k < seconds; k++) {
    if (perSecond[k]! > peakDialsPerSecond) {
      peakDialsPerSecond = perSecond[k]!;
      peakSecond = k;
    }
  }
  return {
    policy: labPolicy.name,
    disconnections,
    backP50: percentile(sorted, 0.5),
    backP99: percentile(sorted, 0.99),
    backMax: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    notBack,
    dials,
    peakDialsPerSecond,
    peakAt: peakSecond * 1000,
    giveUps,
    dialsPerSecond: Array.from(perSecond),
  };
}
