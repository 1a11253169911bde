/**
 * The lab's command line, as a function: parse the flags, simulate, print, write the SVG.
 * `cli.ts` calls it with the process's argv and streams.
 * @internal
 * @packageDocumentation
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type LabConfig } from './config-file.js';
import {
  BUILT_IN_POLICIES,
  builtInPolicy,
  DEFAULT_POLICY_PARAMETERS,
  isBuiltInPolicy,
  type LabPolicy,
  type PolicyParameters,
} from './policies.js';
import { formatReport } from './report.js';
import {
  BUILT_IN_SCENARIOS,
  builtInScenario,
  DEFAULT_SCENARIO_PARAMETERS,
  type Scenario,
  type ScenarioParameters,
} from './scenarios.js';
import { simulateSessions } from './sessions.js';
import { simulate } from './simulate.js';
import { svgChart } from './svg-chart.js';
import { LabUsageError, parseCount, parseDuration, parseFraction } from './units.js';

/** The most clients and the longest run the CLI accepts: the per-second arrays stay small. */
const MAX_CLIENTS = 1_000_000;
const MAX_DURATION = 24 * 3_600_000;
/** The most clients per policy in a --sessions run: each is a real session. */
const MAX_SESSION_CLIENTS = 10_000;

/** `lifeline-lab --help`. @internal */
export const HELP = `Usage: lifeline-lab [options]

Simulates N clients reconnecting with retry policies against a misbehaving server, in virtual
time, and compares the policies side by side: a table, a terminal chart of the dials per second
the server sees, and optionally the same chart as an SVG file. The same seed gives the same
output, byte for byte.

Run options:
  --scenario NAME        what the server does (default: outage); see Scenarios below
  --policy A,B,…         the policies to compare (default: exponential,full-jitter,decorrelated)
  --clients N            simulated clients (default: 1000; at most ${MAX_CLIENTS})
  --duration D           virtual time simulated, from 0 (default: 10m; at most 24h)
  --seed N               seeds the jitter and the scenario's random draws (default: 1)
  --healthy-after D      a connection up this long ends the client's run of failures, as
                         reconnectWith's healthyAfter (default: 5s)
  --svg FILE             also write the chart as an SVG file
  --sessions             also run a few clients per policy through the real session stack
                         (heartbeat, reconnectWith, resumable, acceptSessions) and add frames
                         sent, delivered, lost, duplicated and sessions lost to the table
  --session-clients N    --sessions: clients per policy (default: 50; at most ${MAX_SESSION_CLIENTS})
  --frame-interval D     --sessions: each client sends a numbered frame this often (default: 1s)
  --session-ttl D        --sessions: the server's sessionTtl (default: 60s)
  --config FILE          add scenarios and policies from a file (.json, .js, .mjs, .ts, …);
                         an entry named like a built-in replaces it
  --color, --no-color    colour the terminal chart (default: when stdout is a terminal)
  -h, --help             show this help

Scenario flags (built-in scenarios only; times take a unit: 500ms, 30s, 10m, 1h):
  --at D                 when the trouble starts (default: 10s)
  --down D               outage length; for flapping, each down period (default: 30s)
  --up D                 flapping: each up period (default: 60s)
  --fail-rate F          dial-failures: share of dials that fail, 0.3 or 30% (default: 30%)
  --capacity N           capacity: dials per second the server takes (default: 100)
  --heartbeat-timeout D  half-open: silence after which a client gives a link up (default: 15s)
  --heartbeat-interval D half-open: time between pings (default: 5s)

Policy flags (built-in policies only):
  --initial D            first delay (default: 100ms)
  --max D                largest delay (default: 30s)
  --max-attempts N       give up after N attempts in one run of failures (default: never)
  --max-elapsed D        give up when a run of failures would last longer (default: never)

Scenarios (clients start connected at 0 s unless said otherwise; dials are answered at once):
${BUILT_IN_SCENARIOS.map((name) => `  ${name.padEnd(15)}${scenarioHelp(name)}`).join('\n')}

Policies (each client has its own, jittered from its own seeded random):
${Object.entries(BUILT_IN_POLICIES)
  .map(([name, text]) => `  ${name.padEnd(15)}${text}`)
  .join('\n')}

Config files: JSON {"scenarios": {NAME: {...}}, "policies": {NAME: {...}}}, or a module exporting
scenarios and policies (a policy may be a RetryPolicy or a function ({ policy, random, scheduler,
client }) => RetryPolicy). TypeScript modules need tsx. See docs/lab.md for every field.

Sessions are not simulated unless --sessions is given: without it no frames flow, so frames lost
or duplicated are not measured. With it, the session run takes seconds per policy, not
milliseconds: it runs the real operators in virtual time, one frame at a time (1,000 clients ×
2 minutes with a frame a second: 7 to 9 s of CPU per policy; ten times the frames, ten times as
long).

Exit status: 0 on success, 2 on a bad flag or config file, 1 on any other error.
`;

function scenarioHelp(name: (typeof BUILT_IN_SCENARIOS)[number]): string {
  switch (name) {
    case 'outage':
      return 'server down from --at for --down; live connections are reset';
    case 'flapping':
      return 'server down for --down, up for --up, over and over from --at';
    case 'dial-failures':
      return 'every client dials at 0 s; --fail-rate of dials fail at random';
    case 'capacity':
      return 'an outage, then a server that fails every dial beyond --capacity per second';
    case 'pushback':
      return 'an outage, then a server that admits --capacity handshakes/s and tells the rest when to return';
    case 'half-open':
      return 'at --at every link dies silently; clients notice by heartbeat timeout';
  }
}

/** Where the CLI writes. @internal */
export interface LabIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal: the chart is coloured by default when it is. */
  readonly isTerminal: boolean;
}

const SCENARIO_FLAGS = [
  'at',
  'down',
  'up',
  'fail-rate',
  'capacity',
  'heartbeat-timeout',
  'heartbeat-interval',
] as const;

const OPTIONS = {
  scenario: { type: 'string' },
  policy: { type: 'string' },
  clients: { type: 'string' },
  duration: { type: 'string' },
  seed: { type: 'string' },
  'healthy-after': { type: 'string' },
  svg: { type: 'string' },
  sessions: { type: 'boolean' },
  'session-clients': { type: 'string' },
  'frame-interval': { type: 'string' },
  'session-ttl': { type: 'string' },
  config: { type: 'string' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  at: { type: 'string' },
  down: { type: 'string' },
  up: { type: 'string' },
  'fail-rate': { type: 'string' },
  capacity: { type: 'string' },
  'heartbeat-timeout': { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  initial: { type: 'string' },
  max: { type: 'string' },
  'max-attempts': { type: 'string' },
  'max-elapsed': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type Values = Partial<Record<keyof typeof OPTIONS, string | boolean>>;

/** A value that starts with a dash but is a (negative) number: `-5`, `-0.3`, `-5s`. */
const NEGATIVE = /^-\.?\d/;

/**
 * parseArgs reads `--clients -5` as two options and says "argument is ambiguous": join such a
 * value to its flag (`--clients=-5`), so that the flag's own check says what is wrong with it.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const option = arg.startsWith('--') ? (OPTIONS as ParseArgsConfig['options'])?.[arg.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && NEGATIVE.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  return joined;
}

function parse(argv: readonly string[]): Values {
  try {
    return parseArgs({
      args: joinNegativeValues(argv),
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
    }).values as Values;
  } catch (error) {
    // parseArgs says what is wrong ("Unknown option '--x'"); the usage hint says where to look.
    throw new LabUsageError(`${(error as Error).message.split('\n')[0]} (see --help)`);
  }
}

function text(values: Values, flag: keyof typeof OPTIONS): string | undefined {
  const value = values[flag];
  return typeof value === 'string' ? value : undefined;
}

function scenarioParameters(values: Values): ScenarioParameters {
  const p: ScenarioParameters = { ...DEFAULT_SCENARIO_PARAMETERS };
  const duration = (flag: (typeof SCENARIO_FLAGS)[number]) => {
    const value = text(values, flag);
    return value === undefined ? undefined : parseDuration(`--${flag}`, value);
  };
  p.at = duration('at') ?? p.at;
  p.down = duration('down') ?? p.down;
  p.up = duration('up') ?? p.up;
  p.heartbeatTimeout = duration('heartbeat-timeout') ?? p.heartbeatTimeout;
  p.heartbeatInterval = duration('heartbeat-interval') ?? p.heartbeatInterval;
  const failRate = text(values, 'fail-rate');
  if (failRate !== undefined) p.failRate = parseFraction('--fail-rate', failRate);
  const capacity = text(values, 'capacity');
  if (capacity !== undefined) p.capacity = parseCount('--capacity', capacity);
  if (p.up + p.down <= 0) throw new LabUsageError('--up and --down cannot both be 0');
  if (p.heartbeatInterval <= 0 || p.heartbeatInterval > p.heartbeatTimeout) {
    throw new LabUsageError('--heartbeat-interval must be more than 0 and at most --heartbeat-timeout');
  }
  return p;
}

function policyParameters(values: Values): PolicyParameters {
  const p: PolicyParameters = { ...DEFAULT_POLICY_PARAMETERS };
  const initial = text(values, 'initial');
  if (initial !== undefined) p.initial = parseDuration('--initial', initial);
  const max = text(values, 'max');
  if (max !== undefined) p.max = parseDuration('--max', max);
  const maxAttempts = text(values, 'max-attempts');
  if (maxAttempts !== undefined) p.maxAttempts = parseCount('--max-attempts', maxAttempts);
  const maxElapsed = text(values, 'max-elapsed');
  if (maxElapsed !== undefined) p.maxElapsed = parseDuration('--max-elapsed', maxElapsed);
  return p;
}

function chooseScenario(name: string, values: Values, config: LabConfig | undefined): Scenario {
  const fromFile = config?.scenarios.get(name);
  if (fromFile) {
    const given = SCENARIO_FLAGS.filter((flag) => values[flag] !== undefined);
    if (given.length > 0) {
      throw new LabUsageError(
        `--${given[0]} applies to built-in scenarios; "${name}" comes from --config: set it in the file`,
      );
    }
    return fromFile;
  }
  const builtIn = BUILT_IN_SCENARIOS.find((known) => known === name);
  if (builtIn) return builtInScenario(builtIn, scenarioParameters(values));
  const known = [...BUILT_IN_SCENARIOS, ...(config?.scenarios.keys() ?? [])];
  throw new LabUsageError(`--scenario: unknown scenario "${name}" (known: ${known.join(', ')})`);
}

function choosePolicies(list: string, values: Values, config: LabConfig | undefined): LabPolicy[] {
  const names = list.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) {
    throw new LabUsageError(
      '--policy must be a comma-separated list of names, such as exponential,full-jitter',
    );
  }
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new LabUsageError(`--policy: "${duplicate}" is listed twice`);
  const parameters = policyParameters(values);
  return names.map((name) => {
    const fromFile = config?.policies.get(name);
    if (fromFile) return fromFile;
    if (isBuiltInPolicy(name)) return builtInPolicy(name, parameters);
    const known = [...Object.keys(BUILT_IN_POLICIES), ...(config?.policies.keys() ?? [])];
    throw new LabUsageError(`--policy: unknown policy "${name}" (known: ${known.join(', ')})`);
  });
}

const SESSION_FLAGS = ['session-clients', 'frame-interval', 'session-ttl'] as const;

function sessionFlags(
  values: Values,
): { clients: number; frameInterval: number; sessionTtl: number } | undefined {
  if (!values.sessions) {
    const given = SESSION_FLAGS.find((flag) => values[flag] !== undefined);
    if (given !== undefined) throw new LabUsageError(`--${given} applies only with --sessions`);
    return undefined;
  }
  const clients = parseCount('--session-clients', text(values, 'session-clients') ?? '50');
  if (clients < 1 || clients > MAX_SESSION_CLIENTS) {
    throw new LabUsageError(`--session-clients must be from 1 to ${MAX_SESSION_CLIENTS}, got ${clients}`);
  }
  const frameInterval = parseDuration('--frame-interval', text(values, 'frame-interval') ?? '1s');
  if (frameInterval <= 0) {
    throw new LabUsageError(`--frame-interval must be more than 0, got ${text(values, 'frame-interval')}`);
  }
  const sessionTtl = parseDuration('--session-ttl', text(values, 'session-ttl') ?? '60s');
  if (sessionTtl <= 0) {
    throw new LabUsageError(`--session-ttl must be more than 0, got ${text(values, 'session-ttl')}`);
  }
  return { clients, frameInterval, sessionTtl };
}

/**
 * Runs the lab's command line: returns the exit status (0, 2 for a usage error, 1 for anything
 * else) after writing the report to `io.out` and errors to `io.err`.
 * @internal
 * @example
 * ```ts
 * import { runLab } from '../lab/src/run.js';
 * const status = await runLab(['--clients', '100', '--duration', '2m'], {
 *   out: (text) => process.stdout.write(text),
 *   err: (text) => process.stderr.write(text),
 *   isTerminal: false,
 * });
 * ```
 */
export async function runLab(argv: readonly string[], io: LabIo): Promise<number> {
  try {
    const values = parse(argv);
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    if (values.color && values['no-color'])
      throw new LabUsageError('--color and --no-color contradict each other');
    const configFile = text(values, 'config');
    const config = configFile === undefined ? undefined : await loadConfig(configFile);
    const scenario = chooseScenario(text(values, 'scenario') ?? 'outage', values, config);
    const policies = choosePolicies(
      text(values, 'policy') ?? 'exponential,full-jitter,decorrelated',
      values,
      config,
    );
    const clients = parseCount('--clients', text(values, 'clients') ?? '1000');
    if (clients > MAX_CLIENTS)
      throw new LabUsageError(`--clients must be at most ${MAX_CLIENTS}, got ${clients}`);
    const duration = parseDuration('--duration', text(values, 'duration') ?? '10m');
    if (duration <= 0 || duration > MAX_DURATION) {
      throw new LabUsageError(
        `--duration must be more than 0 and at most 24h, got ${text(values, 'duration')}`,
      );
    }
    const seedText = text(values, 'seed') ?? '1';
    if (!/^\d+$/.test(seedText) || !Number.isSafeInteger(Number(seedText))) {
      throw new LabUsageError(`--seed must be an integer ≥ 0, got "${seedText}"`);
    }
    const healthyAfter = parseDuration('--healthy-after', text(values, 'healthy-after') ?? '5s');
    const svg = text(values, 'svg');
    const sessionOptions = sessionFlags(values);

    const seed = Number(seedText);
    const result = simulate({ scenario, policies, clients, duration, seed, healthyAfter });
    const sessions =
      sessionOptions &&
      simulateSessions({ scenario, policies, duration, seed, healthyAfter, ...sessionOptions });
    const color = values.color === true || (values['no-color'] !== true && io.isTerminal);
    io.out(formatReport(sessions ? { ...result, sessions } : result, { color }));
    if (svg !== undefined) {
      await writeFile(svg, svgChart(result));
      io.out(`Chart written to ${svg}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof LabUsageError) {
      io.err(`lifeline-lab: ${error.message}\n`);
      return 2;
    }
    io.err(`lifeline-lab: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}
