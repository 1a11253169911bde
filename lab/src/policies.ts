/**
 * The retry policies the lab compares: built-ins, policies described in JSON, and policies (or
 * policy factories) exported by a JavaScript or TypeScript module.
 * @internal
 * @packageDocumentation
 */
import type { SchedulerLike } from 'rxjs';
import { policy, RetryPolicy, type JitterKind } from 'rx-lifeline';
import { LabUsageError, parseCount, parseDuration } from './units.js';

/**
 * What the lab hands a policy factory of a config module, once per simulated client.
 * @example
 * ```ts
 * // lab.config.ts, run with `lifeline-lab --config lab.config.ts --policy guarded`
 * import { CircuitBreaker } from 'rx-lifeline';
 * import type { PolicyContext } from 'rx-lifeline-lab';
 * export const policies = {
 *   guarded: ({ policy, random, scheduler }: PolicyContext) =>
 *     policy.exponential().jitter('full', { random }).breaker(new CircuitBreaker({ scheduler })),
 * };
 * ```
 */
export interface PolicyContext {
  /** lifeline's policy builder, so a config module need not import lifeline itself. */
  readonly policy: typeof policy;
  /**
   * This client's seeded random source, derived from the run's seed: use it for jitter. For a policy
   * made once for every client, it draws from the generator of whichever client is deciding.
   */
  readonly random: () => number;
  /**
   * The virtual clock: pass it as `scheduler` to a `CircuitBreaker` or `RetryBudget` made in the
   * factory. It only tells the time; its `schedule()` throws, so do not subscribe to `state$`.
   */
  readonly scheduler: SchedulerLike;
  /** The client's number, from 0; -1 when the policy is made once for every client. */
  readonly client: number;
}

/**
 * A policy factory of a config module: called with each client's {@link PolicyContext}, it
 * returns that client's policy, so that a breaker or budget made in it belongs to that one client.
 * @example
 * ```ts
 * import type { PolicyFactory } from 'rx-lifeline-lab';
 * const patient: PolicyFactory = ({ policy, random }) =>
 *   policy.exponential({ initial: 1_000, max: 60_000 }).jitter('full', { random });
 * ```
 */
export type PolicyFactory = (context: PolicyContext) => RetryPolicy;

/**
 * What a config module exports: scenarios and policies by name (docs/lab.md lists every field of a
 * scenario and of a JSON-style policy). A policy is a RetryPolicy, a {@link PolicyFactory} or a
 * JSON-style object; an entry named like a built-in replaces it. Nothing is checked at compile
 * time beyond these shapes: the lab checks each entry when it loads the module.
 * @example
 * ```ts
 * // lab.config.ts
 * import type { LabConfigModule, PolicyFactory } from 'rx-lifeline-lab';
 * const slow: PolicyFactory = ({ policy }) => policy.constant(5_000);
 * export const { scenarios, policies }: LabConfigModule = {
 *   scenarios: { deploy: { outages: [{ at: '5s', for: '45s' }], capacity: 500 } },
 *   policies: { slow, patient: { backoff: 'exponential', initial: '1s', jitter: 'full' } },
 * };
 * ```
 */
export interface LabConfigModule {
  readonly scenarios?: Readonly<Record<string, object>>;
  readonly policies?: Readonly<Record<string, RetryPolicy | PolicyFactory | object>>;
}

/**
 * A policy under test: a name for the report and a way to make one client's {@link RetryPolicy}.
 * @internal
 * @example
 * ```ts
 * import { policy } from 'rx-lifeline';
 * import type { LabPolicy } from '../lab/src/policies.js';
 * const steady: LabPolicy = {
 *   name: 'steady',
 *   description: 'the same second every time',
 *   perClient: false,
 *   make: () => policy.constant(1_000),
 * };
 * ```
 */
export interface LabPolicy {
  readonly name: string;
  /** One line for `--help` and the docs. */
  readonly description: string;
  /**
   * False: `make` is called once per run and its policy shared by every client (its jitter still
   * draws from each client's own generator). True: once per client, so that a breaker or budget
   * made in it belongs to that one client.
   */
  readonly perClient: boolean;
  make(context: PolicyContext): RetryPolicy;
}

/** The parameters of the built-in policies: the CLI's policy flags. @internal */
export interface PolicyParameters {
  /** The first delay, ms. @default 100 */
  initial: number;
  /** The cap, ms. @default 30_000 */
  max: number;
  /** @default Infinity */
  maxAttempts: number;
  /** ms. @default Infinity */
  maxElapsed: number;
}

/** The defaults of {@link PolicyParameters}. @internal */
export const DEFAULT_POLICY_PARAMETERS: Readonly<PolicyParameters> = Object.freeze({
  initial: 100,
  max: 30_000,
  maxAttempts: Infinity,
  maxElapsed: Infinity,
});

/** The built-in policies, by name, with what `--help` says of them. @internal */
export const BUILT_IN_POLICIES = {
  exponential: 'exponential backoff (initial, doubling, up to max), no jitter',
  'full-jitter': 'exponential backoff, full jitter: random between 0 and the delay',
  'equal-jitter': 'exponential backoff, equal jitter: half the delay plus a random half',
  decorrelated: 'decorrelated jitter: random between initial and 3 × the previous delay, up to max',
  linear: 'linear backoff: initial, then + initial each time, up to max; no jitter',
  constant: 'the same delay (initial) every time; no jitter',
} as const;

/** A built-in policy's name. @internal */
export type BuiltInPolicyName = keyof typeof BUILT_IN_POLICIES;

/** True when `name` is a built-in policy. @internal */
export function isBuiltInPolicy(name: string): name is BuiltInPolicyName {
  return Object.hasOwn(BUILT_IN_POLICIES, name);
}

function limited(retry: RetryPolicy, p: Readonly<PolicyParameters>): RetryPolicy {
  let limitedPolicy = retry;
  if (p.maxAttempts !== Infinity) limitedPolicy = limitedPolicy.maxAttempts(p.maxAttempts);
  if (p.maxElapsed !== Infinity) limitedPolicy = limitedPolicy.maxElapsed(p.maxElapsed);
  return limitedPolicy;
}

/**
 * Makes a built-in policy from the CLI's policy flags.
 * @internal
 * @throws LabUsageError when lifeline's builder refuses the parameters (say, `max` < `initial`).
 * @example
 * ```ts
 * import { builtInPolicy, DEFAULT_POLICY_PARAMETERS } from '../lab/src/policies.js';
 * const fullJitter = builtInPolicy('full-jitter', DEFAULT_POLICY_PARAMETERS);
 * ```
 */
export function builtInPolicy(name: BuiltInPolicyName, p: Readonly<PolicyParameters>): LabPolicy {
  const { initial, max } = p;
  const jittered = (kind: JitterKind): LabPolicy['make'] => {
    const base = limited(policy.exponential({ initial, max }), p);
    return ({ random }) => base.jitter(kind, { random });
  };
  const fixed = (retry: RetryPolicy): LabPolicy['make'] => {
    const base = limited(retry, p);
    return () => base;
  };
  const make = guard(`policy "${name}"`, () => {
    switch (name) {
      case 'exponential':
        return fixed(policy.exponential({ initial, max }));
      case 'full-jitter':
        return jittered('full');
      case 'equal-jitter':
        return jittered('equal');
      case 'decorrelated':
        return jittered('decorrelated');
      case 'linear':
        return fixed(policy.linear({ initial, step: initial, max }));
      case 'constant':
        return fixed(policy.constant(initial));
    }
  });
  return { name, description: BUILT_IN_POLICIES[name], perClient: false, make };
}

/** Runs `build`, turning lifeline's TypeErrors about bad options into LabUsageErrors. */
function guard<T>(where: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof TypeError) throw new LabUsageError(`${where}: ${error.message}`);
    throw error;
  }
}

const SPEC_KEYS = new Set([
  'description',
  'backoff',
  'initial',
  'max',
  'factor',
  'step',
  'jitter',
  'maxAttempts',
  'maxElapsed',
]);
const JITTER_KINDS: ReadonlySet<string> = new Set(['none', 'full', 'equal', 'decorrelated']);

/**
 * Reads a policy from a config file's `policies` object: `backoff` (`"exponential"`, `"linear"`
 * or `"constant"`), `initial`, `max`, `factor`, `step`, `jitter` (`"none"`, `"full"`, `"equal"`,
 * `"decorrelated"`), `maxAttempts`, `maxElapsed`. Durations are milliseconds or strings with a unit.
 * @internal
 * @throws LabUsageError naming the field that is wrong.
 * @example
 * ```ts
 * import { policyFromSpec } from '../lab/src/policies.js';
 * const patient = policyFromSpec('patient', { backoff: 'exponential', initial: '1s', max: '2m', jitter: 'full' });
 * ```
 */
export function policyFromSpec(name: string, spec: unknown): LabPolicy {
  const where = `policy "${name}"`;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new LabUsageError(`${where} must be an object, a RetryPolicy, or a function returning one`);
  }
  const fields = spec as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!SPEC_KEYS.has(key)) {
      throw new LabUsageError(`${where}: unknown field "${key}" (known: ${[...SPEC_KEYS].join(', ')})`);
    }
  }
  const { backoff = 'exponential', jitter = 'none', description } = fields;
  if (typeof jitter !== 'string' || !JITTER_KINDS.has(jitter)) {
    throw new LabUsageError(`${where}: jitter must be one of ${[...JITTER_KINDS].join(', ')}`);
  }
  if (description !== undefined && typeof description !== 'string') {
    throw new LabUsageError(`${where}: description must be a string`);
  }
  const duration = (key: string) =>
    fields[key] === undefined ? undefined : parseDuration(`${where}: ${key}`, fields[key]);
  const initial = duration('initial');
  const max = duration('max');
  const base = guard(where, () => {
    switch (backoff) {
      case 'exponential': {
        const factor = fields.factor;
        if (factor !== undefined && typeof factor !== 'number') {
          throw new LabUsageError(`${where}: factor must be a number`);
        }
        return policy.exponential({ initial, max, factor });
      }
      case 'linear':
        return policy.linear({ initial, step: duration('step'), max });
      case 'constant':
        if (initial === undefined) throw new LabUsageError(`${where}: a constant backoff needs "initial"`);
        return policy.constant(initial);
      default:
        throw new LabUsageError(`${where}: backoff must be "exponential", "linear" or "constant"`);
    }
  });
  const limits: PolicyParameters = {
    ...DEFAULT_POLICY_PARAMETERS,
    maxAttempts:
      fields.maxAttempts === undefined ? Infinity : parseCount(`${where}: maxAttempts`, fields.maxAttempts),
    maxElapsed: duration('maxElapsed') ?? Infinity,
  };
  const limitedPolicy = guard(where, () => limited(base, limits));
  const kind = jitter as JitterKind;
  return {
    name,
    description: description ?? `${backoff} backoff, jitter ${kind}`,
    perClient: false,
    make:
      kind === 'none'
        ? () => limitedPolicy
        : ({ random }) => limitedPolicy.jitter(kind as Exclude<JitterKind, 'none'>, { random }),
  };
}

/** A RetryPolicy, recognised by shape, so that one built by another copy of lifeline is accepted. */
function isRetryPolicy(value: unknown): value is RetryPolicy {
  if (value instanceof RetryPolicy) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<RetryPolicy>;
  return (
    typeof candidate.decide === 'function' &&
    typeof candidate.jitter === 'function' &&
    typeof candidate.config === 'object'
  );
}

/**
 * Reads one entry of a config module's `policies`: a {@link RetryPolicy} (its jitter then draws
 * from each client's seeded random instead of its own), a function of {@link PolicyContext}
 * returning one, or a JSON-style spec (see {@link policyFromSpec}).
 * @internal
 * @throws LabUsageError for anything else, and for a RetryPolicy value holding a breaker or a
 * budget: their clocks are not the lab's virtual clock, so they must be made in a factory.
 * @example
 * ```ts
 * import { policy } from 'rx-lifeline';
 * import { policyFromModule, type PolicyContext } from '../lab/src/policies.js';
 * const fromValue = policyFromModule('slow', policy.exponential({ initial: 1_000 }));
 * const fromFactory = policyFromModule('jittered', ({ policy, random }: PolicyContext) =>
 *   policy.exponential().jitter('full', { random }),
 * );
 * ```
 */
export function policyFromModule(name: string, entry: unknown): LabPolicy {
  const where = `policy "${name}"`;
  if (typeof entry === 'function') {
    return {
      name,
      description: 'a factory from the config module',
      perClient: true,
      make: (context) => {
        const made: unknown = (entry as (context: PolicyContext) => unknown)(context);
        if (!isRetryPolicy(made)) {
          throw new LabUsageError(`${where}: the factory must return a RetryPolicy (from \`policy.*\`)`);
        }
        return made;
      },
    };
  }
  if (isRetryPolicy(entry)) {
    const { jitter, breaker, budget } = entry.config;
    if (breaker !== undefined || budget !== undefined) {
      throw new LabUsageError(
        `${where}: a breaker or budget must be made inside a factory, ({ policy, scheduler }) => …, ` +
          `with the lab's virtual clock as its scheduler`,
      );
    }
    return {
      name,
      description: `a RetryPolicy from the config module (jitter ${jitter})`,
      perClient: false,
      make:
        jitter === 'none'
          ? () => entry
          : ({ random }) => entry.jitter(jitter as Exclude<JitterKind, 'none'>, { random }),
    };
  }
  return policyFromSpec(name, entry);
}
