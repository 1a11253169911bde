/**
 * What the simulated server and network do: the scenario model, its built-in presets, and the
 * reading of scenarios from config files.
 * @internal
 * @packageDocumentation
 */
import { LabUsageError, parseCount, parseDuration, parseFraction } from './units.js';

/** A period during which the server is down. Times in virtual milliseconds. @internal */
export interface Outage {
  /** When the server goes down: every live connection is dropped at once (a reset). */
  readonly at: number;
  /** How long it stays down: dials in `[at, at + for)` are refused. */
  readonly for: number;
}

/**
 * A scenario: what happens to the server and the network, in virtual milliseconds from 0. Every
 * field is optional in a config file and combines with the others (an outage with a capacity is
 * the built-in `capacity` scenario).
 *
 * Clients begin connected at time 0 (or, with `coldStart`, dialling at time 0). A dial succeeds or
 * fails at once, with no network delay: the lab measures when clients dial, not round trips.
 * @internal
 * @example
 * ```ts
 * import type { Scenario } from '../lab/src/scenarios.js';
 * const restart: Scenario = {
 *   name: 'restart',
 *   description: 'down 10 s from 5 s, 200 dials/s capacity',
 *   coldStart: false,
 *   outages: [{ at: 5_000, for: 10_000 }],
 *   flapping: undefined,
 *   dialFailureRate: 0,
 *   capacity: 200,
 *   admission: undefined,
 *   halfOpen: undefined,
 * };
 * ```
 */
export interface Scenario {
  readonly name: string;
  /** One line for the report's heading. */
  readonly description: string;
  /** Every client dials at time 0 instead of starting connected (a fleet start). @default false */
  readonly coldStart: boolean;
  /** Periods when the server is down. @default [] */
  readonly outages: readonly Outage[];
  /**
   * A server that goes down for `down`, then up for `up`, over and over, from `from` to the end of
   * the run: the same as an outage every `up + down` milliseconds. @default undefined
   */
  readonly flapping: { readonly from: number; readonly up: number; readonly down: number } | undefined;
  /** The share of dials to a running server that fail anyway, at random. @default 0 */
  readonly dialFailureRate: number;
  /**
   * Dials per second the server takes: within each second of virtual time (`[k s, (k+1) s)`), every
   * dial beyond the first `capacity` fails, whatever the reason of the others. @default Infinity
   */
  readonly capacity: number;
  /**
   * Handshakes per second the server admits with pushback, as lifeline's `HandshakeAdmission`
   * does: a dial beyond it is refused `'overloaded'` with a hint of when to come back, the hints
   * spaced one admission slot apart, which the clients' policies honour. @default undefined (none)
   */
  readonly admission: number | undefined;
  /**
   * At `at`, a share `fraction` of the live connections (chosen at random) die silently: nothing
   * tells the client. A client learns it from its heartbeat: pings arrive every
   * `heartbeatInterval` from the moment it connected, and it gives the connection up
   * `heartbeatTimeout` after the last one it heard (lifeline's `heartbeat` operator does the same).
   * @default undefined
   */
  readonly halfOpen:
    | {
        readonly at: number;
        readonly fraction: number;
        readonly heartbeatTimeout: number;
        readonly heartbeatInterval: number;
      }
    | undefined;
}

/** The parameters of the built-in scenarios: the CLI's scenario flags. @internal */
export interface ScenarioParameters {
  /** When the trouble starts. @default 10_000 */
  at: number;
  /** Outage length; for `flapping`, each down period. @default 30_000 */
  down: number;
  /** For `flapping`: each up period. @default 60_000 */
  up: number;
  /** For `dial-failures`. @default 0.3 */
  failRate: number;
  /** For `capacity`: dials per second. @default 100 */
  capacity: number;
  /** For `half-open`. @default 15_000 */
  heartbeatTimeout: number;
  /** For `half-open`. @default 5_000 */
  heartbeatInterval: number;
}

/** The defaults of {@link ScenarioParameters}. @internal */
export const DEFAULT_SCENARIO_PARAMETERS: Readonly<ScenarioParameters> = Object.freeze({
  at: 10_000,
  down: 30_000,
  up: 60_000,
  failRate: 0.3,
  capacity: 100,
  heartbeatTimeout: 15_000,
  heartbeatInterval: 5_000,
});

const NOTHING: Omit<Scenario, 'name' | 'description'> = {
  coldStart: false,
  outages: [],
  flapping: undefined,
  dialFailureRate: 0,
  capacity: Infinity,
  admission: undefined,
  halfOpen: undefined,
};

const s = (ms: number) => `${ms / 1000} s`;

/** The names of the built-in scenarios, in the order `--help` lists them. @internal */
export const BUILT_IN_SCENARIOS = [
  'outage',
  'flapping',
  'dial-failures',
  'capacity',
  'pushback',
  'half-open',
] as const;

/**
 * Makes a built-in scenario from the CLI's scenario flags.
 * @internal
 * @example
 * ```ts
 * import { builtInScenario, DEFAULT_SCENARIO_PARAMETERS } from '../lab/src/scenarios.js';
 * const outage = builtInScenario('outage', { ...DEFAULT_SCENARIO_PARAMETERS, down: 60_000 });
 * console.log(outage.outages); // [{ at: 10000, for: 60000 }]
 * ```
 */
export function builtInScenario(
  name: (typeof BUILT_IN_SCENARIOS)[number],
  p: Readonly<ScenarioParameters>,
): Scenario {
  switch (name) {
    case 'outage':
      return {
        ...NOTHING,
        name,
        description: `server down from ${s(p.at)} for ${s(p.down)}`,
        outages: [{ at: p.at, for: p.down }],
      };
    case 'flapping':
      return {
        ...NOTHING,
        name,
        description: `server down for ${s(p.down)} then up for ${s(p.up)}, over and over from ${s(p.at)}`,
        flapping: { from: p.at, up: p.up, down: p.down },
      };
    case 'dial-failures':
      return {
        ...NOTHING,
        name,
        description: `every client dials at 0 s; ${Math.round(p.failRate * 1000) / 10}% of dials fail at random`,
        coldStart: true,
        dialFailureRate: p.failRate,
      };
    case 'capacity':
      return {
        ...NOTHING,
        name,
        description: `server down from ${s(p.at)} for ${s(p.down)}; it takes ${p.capacity} dials/s and fails the rest`,
        outages: [{ at: p.at, for: p.down }],
        capacity: p.capacity,
      };
    case 'pushback':
      return {
        ...NOTHING,
        name,
        description: `server down from ${s(p.at)} for ${s(p.down)}; it admits ${p.capacity} handshakes/s and tells the rest when to come back`,
        outages: [{ at: p.at, for: p.down }],
        admission: p.capacity,
      };
    case 'half-open':
      return {
        ...NOTHING,
        name,
        description:
          `every connection dies silently at ${s(p.at)}; heartbeat every ${s(p.heartbeatInterval)}, ` +
          `timeout ${s(p.heartbeatTimeout)}`,
        halfOpen: {
          at: p.at,
          fraction: 1,
          heartbeatTimeout: p.heartbeatTimeout,
          heartbeatInterval: p.heartbeatInterval,
        },
      };
  }
}

/** The outages of a scenario within a run of `duration` ms, flapping expanded, sorted by start. @internal */
export function outagesOf(scenario: Scenario, duration: number): Outage[] {
  const outages = [...scenario.outages];
  const { flapping } = scenario;
  if (flapping) {
    for (let at = flapping.from; at < duration; at += flapping.up + flapping.down) {
      outages.push({ at, for: flapping.down });
    }
  }
  return outages.sort((a, b) => a.at - b.at);
}

const SCENARIO_KEYS = new Set([
  'description',
  'coldStart',
  'outages',
  'flapping',
  'dialFailureRate',
  'capacity',
  'admission',
  'halfOpen',
]);

function record(where: string, value: unknown): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  throw new LabUsageError(`${where} must be an object, got ${JSON.stringify(value) ?? String(value)}`);
}

function onlyKeys(where: string, value: Record<string, unknown>, allowed: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) {
      throw new LabUsageError(`${where}: unknown field "${key}" (known: ${[...allowed].join(', ')})`);
    }
  }
}

/**
 * Reads a scenario from a config file's `scenarios` object. Durations are numbers of milliseconds
 * or strings with a unit (`"30s"`); the fields are those of {@link Scenario}, every one optional.
 * @internal
 * @throws LabUsageError naming the field that is wrong.
 * @example
 * ```ts
 * import { scenarioFromSpec } from '../lab/src/scenarios.js';
 * const deploy = scenarioFromSpec('deploy', { outages: [{ at: '5s', for: '45s' }], capacity: 500 });
 * console.log(deploy.capacity); // 500
 * ```
 */
export function scenarioFromSpec(name: string, spec: unknown): Scenario {
  const where = `scenario "${name}"`;
  const fields = record(where, spec);
  onlyKeys(where, fields, SCENARIO_KEYS);
  const {
    description,
    coldStart = false,
    outages = [],
    flapping,
    dialFailureRate = 0,
    capacity,
    admission,
  } = fields;
  if (description !== undefined && typeof description !== 'string') {
    throw new LabUsageError(`${where}: description must be a string`);
  }
  if (typeof coldStart !== 'boolean') throw new LabUsageError(`${where}: coldStart must be true or false`);
  if (!Array.isArray(outages)) throw new LabUsageError(`${where}: outages must be an array of { at, for }`);
  const scenario: Scenario = {
    name,
    description: description ?? 'from the config file',
    coldStart,
    outages: outages.map((outage: unknown, i) => {
      const o = record(`${where}: outages[${i}]`, outage);
      onlyKeys(`${where}: outages[${i}]`, o, new Set(['at', 'for']));
      return {
        at: parseDuration(`${where}: outages[${i}].at`, o.at),
        for: parseDuration(`${where}: outages[${i}].for`, o.for),
      };
    }),
    flapping: undefined,
    dialFailureRate: parseFraction(`${where}: dialFailureRate`, dialFailureRate),
    capacity: capacity === undefined ? Infinity : parseCount(`${where}: capacity`, capacity),
    admission: admission === undefined ? undefined : parseCount(`${where}: admission`, admission),
    halfOpen: undefined,
  };
  if (flapping !== undefined) {
    const f = record(`${where}: flapping`, flapping);
    onlyKeys(`${where}: flapping`, f, new Set(['from', 'up', 'down']));
    const up = parseDuration(`${where}: flapping.up`, f.up);
    const down = parseDuration(`${where}: flapping.down`, f.down);
    if (up + down <= 0) throw new LabUsageError(`${where}: flapping.up + flapping.down must be more than 0`);
    const from = f.from === undefined ? 0 : parseDuration(`${where}: flapping.from`, f.from);
    return withHalfOpen(where, { ...scenario, flapping: { from, up, down } }, fields.halfOpen);
  }
  return withHalfOpen(where, scenario, fields.halfOpen);
}

function withHalfOpen(where: string, scenario: Scenario, spec: unknown): Scenario {
  if (spec === undefined) return scenario;
  const h = record(`${where}: halfOpen`, spec);
  onlyKeys(`${where}: halfOpen`, h, new Set(['at', 'fraction', 'heartbeatTimeout', 'heartbeatInterval']));
  const heartbeatTimeout = parseDuration(`${where}: halfOpen.heartbeatTimeout`, h.heartbeatTimeout);
  const heartbeatInterval =
    h.heartbeatInterval === undefined
      ? heartbeatTimeout / 3
      : parseDuration(`${where}: halfOpen.heartbeatInterval`, h.heartbeatInterval);
  if (heartbeatInterval <= 0 || heartbeatInterval > heartbeatTimeout) {
    throw new LabUsageError(
      `${where}: halfOpen.heartbeatInterval must be more than 0 and at most heartbeatTimeout`,
    );
  }
  return {
    ...scenario,
    halfOpen: {
      at: parseDuration(`${where}: halfOpen.at`, h.at),
      fraction: h.fraction === undefined ? 1 : parseFraction(`${where}: halfOpen.fraction`, h.fraction),
      heartbeatTimeout,
      heartbeatInterval,
    },
  };
}
