// Marc Brooker's backoff simulation, reproduced in virtual time with lifeline's own retry policies.
//
// Source: Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 4 March 2015,
// https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/, and the simulator the
// post's graphs came from, https://github.com/aws-samples/aws-arch-backoff-simulator
// (src/backoff_simulator.py: a Python discrete-event simulation, not a Java program).
//
// The model, as in the simulator:
//
// - One server holds one row with a version number, starting at 0 (optimistic concurrency control).
// - `clients` clients start at time 0, and each wants to write the row exactly once. A client reads
//   the version, then sends a conditional write carrying the version it read. The server accepts the
//   write if the version is still the current one (and bumps it), else rejects it: another client's
//   write landed between this client's read and its write (contention).
// - Every message (read request, read reply, write request, write reply) takes its own network delay,
//   |Normal(mean 10 ms, standard deviation 2 ms)| — the post's "mean of 10ms and variance of 4ms".
// - A client whose write was rejected backs off, then starts over with a fresh read: the read is sent
//   after `backoff + one network delay`, as in the simulator's `write_rsp`.
// - Work ("total calls") is the number of writes the server processed; each one was preceded by a
//   read, which the simulator does not count either. Completion time is when the last client got the
//   reply to its successful write.
// - base 5 ms, cap 2,000 ms. The simulator numbers retries from 1, so the first retry of the
//   exponential family waits `min(cap, base * 2^1)` = 10 ms: here that is `initial: 2 * base`. Its
//   decorrelated jitter starts from `sleep = base` (first retry: random_between(5, 15)), which is what
//   lifeline's `'decorrelated'` does with `initial: base` when the cap is at least 3 × base, as here. "No backoff" retries after a delay of 0
//   (plus the network delay of the new read), as the simulator's `NoBackoff`.
//
// The backoff delays come from lifeline: each client owns a FailureRun (the decide loop every
// retrying operator shares) over a RetryPolicy built with `policy.*().jitter(kind, { random })`.
// Time is an RxJS VirtualTimeScheduler: every hop is an action scheduled `delay` virtual ms ahead.
// One `seededRandom(seed)` feeds both the network delays and the jitter (the simulator shares
// Python's global `random` the same way); each policy starts again from the same seed, so a policy's
// figures depend only on the seed and the options. Differences from the simulator: the generator
// (mulberry32 here) and the normal sampler (Box–Muller here), so single runs differ from Python's;
// and the summary is the median over seeds rather than the simulator's mean over 100 runs.
import { VirtualTimeScheduler } from 'rxjs';
import { policy, type RetryPolicy } from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import { FailureRun } from 'rx-lifeline';
import { markdownTable, median, now } from './harness.js';

/** The backoff policies of the post, in the order of its graphs. */
export const BROOKER_POLICIES = [
  'no backoff',
  'exponential',
  'equal jitter',
  'full jitter',
  'decorrelated jitter',
] as const;
export type BrookerPolicy = (typeof BROOKER_POLICIES)[number];

export interface BrookerOptions {
  /** Seed of the one generator behind the network delays and the jitter. */
  seed: number;
  /** @default 100 */
  clients?: number;
  /** Brooker's `base`, in ms. @default 5 */
  base?: number;
  /** Brooker's `cap`, in ms. @default 2_000 */
  cap?: number;
  /** Mean one-way network delay, in ms. @default 10 */
  networkMeanMs?: number;
  /** Standard deviation of the network delay, in ms. @default 2 */
  networkSdMs?: number;
  /** @default all of {@link BROOKER_POLICIES} */
  policies?: readonly BrookerPolicy[];
}

export interface BrookerResult {
  policy: BrookerPolicy;
  /** Conditional writes the server processed, successful or not. */
  totalCalls: number;
  /** Virtual ms until the last client had its write accepted (and heard so). */
  completionMs: number;
}

/** The server's answer to a write whose version is stale. */
export class WriteConflictError extends Error {
  override readonly name = 'WriteConflictError';
}

/**
 * The lifeline policy for one of the post's backoff kinds: the delays are lifeline's, the retry
 * classification accepts only write conflicts.
 */
export function brookerPolicy(
  kind: BrookerPolicy,
  base: number,
  cap: number,
  random: () => number,
): RetryPolicy {
  const exponential = policy.exponential({ initial: 2 * base, max: cap });
  const chosen: RetryPolicy = {
    'no backoff': policy.constant(0),
    exponential,
    'equal jitter': exponential.jitter('equal', { random }),
    'full jitter': exponential.jitter('full', { random }),
    'decorrelated jitter': policy.exponential({ initial: base, max: cap }).jitter('decorrelated', { random }),
  }[kind];
  return chosen.retryIf((error) => error instanceof WriteConflictError);
}

/** |Normal(mean, sd)| by Box–Muller, drawing two numbers from `random` per delay. */
function networkDelay(random: () => number, mean: number, sd: number): () => number {
  return () => {
    const u1 = 1 - random(); // (0, 1]: log(0) never happens
    const u2 = random();
    return Math.abs(mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
  };
}

/** One run of the model for one policy: returns the server's write count and the completion time. */
function runOnce(
  retry: RetryPolicy,
  clients: number,
  delay: () => number,
  scheduler: VirtualTimeScheduler,
): { totalCalls: number; completionMs: number } {
  let version = 0;
  let totalCalls = 0;
  let completionMs = 0;
  const send = (arrive: () => void, after: number) => void scheduler.schedule(arrive, after);
  // One instance for every rejection: it only tells the policy what failed, and capturing a stack
  // trace per rejection would cost more than the rest of the simulation.
  const conflict = new WriteConflictError('the row changed since it was read');

  for (let i = 0; i < clients; i++) {
    const failures = new FailureRun(retry, scheduler);
    // Each step runs when a message arrives; it sends the next one with a fresh network delay.
    const serverRead = () => {
      const seen = version;
      send(() => clientReadReply(seen), delay());
    };
    const clientReadReply = (seen: number) => send(() => serverWrite(seen), delay());
    const serverWrite = (seen: number) => {
      totalCalls++;
      const accepted = seen === version;
      if (accepted) version++;
      send(() => clientWriteReply(accepted), delay());
    };
    const clientWriteReply = (accepted: boolean) => {
      if (accepted) {
        completionMs = Math.max(completionMs, scheduler.now());
        return;
      }
      const decision = failures.decide(conflict);
      if (!decision.retry) throw failures.gaveUp(decision); // never: these policies retry forever
      send(serverRead, decision.delay + delay());
    };
    send(serverRead, delay());
  }
  scheduler.flush();
  if (version !== clients) throw new Error(`simulateBrooker: ${version} of ${clients} writes landed`);
  return { totalCalls, completionMs };
}

/** Runs the model once per policy, each from the same seed. Pure: no real timer, no real clock. */
export function simulateBrooker(options: BrookerOptions): BrookerResult[] {
  const {
    seed,
    clients = 100,
    base = 5,
    cap = 2_000,
    networkMeanMs = 10,
    networkSdMs = 2,
    policies = BROOKER_POLICIES,
  } = options;
  return policies.map((kind) => {
    const random = seededRandom(seed);
    const retry = brookerPolicy(kind, base, cap, random);
    const result = runOnce(
      retry,
      clients,
      networkDelay(random, networkMeanMs, networkSdMs),
      new VirtualTimeScheduler(),
    );
    return { policy: kind, ...result };
  });
}

export interface BrookerRow {
  policy: BrookerPolicy;
  calls: number[];
  completionMs: number[];
}

/**
 * Prints the post's comparison: for each policy, the median over `seeds` seeds (1…seeds) of the total
 * calls and of the completion time in virtual ms, with the range, and both as ratios against
 * un-jittered exponential backoff. The figures are virtual: the same on every machine.
 */
export async function benchBrooker(seeds = 11, options: Omit<BrookerOptions, 'seed'> = {}): Promise<string> {
  const started = now();
  const rows = new Map<BrookerPolicy, BrookerRow>();
  for (let seed = 1; seed <= seeds; seed++) {
    for (const result of simulateBrooker({ ...options, seed })) {
      const row = rows.get(result.policy) ?? { policy: result.policy, calls: [], completionMs: [] };
      row.calls.push(result.totalCalls);
      row.completionMs.push(result.completionMs);
      rows.set(result.policy, row);
    }
  }
  const wallMs = now() - started;

  const baseline = rows.get('exponential');
  const ratio = (value: number, of: number[] | undefined) => (of ? (value / median(of)).toFixed(2) : '');
  const range = (values: number[]) => `${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))}`;
  const header = [
    'policy',
    'total calls',
    'calls range',
    'completion (virtual ms)',
    'completion range',
    'calls × exponential',
    'time × exponential',
  ];
  const body = [...rows.values()].map((row) => [
    row.policy,
    String(Math.round(median(row.calls))),
    range(row.calls),
    String(Math.round(median(row.completionMs))),
    range(row.completionMs),
    ratio(median(row.calls), baseline?.calls),
    ratio(median(row.completionMs), baseline?.completionMs),
  ]);
  const { clients = 100, base = 5, cap = 2_000, networkMeanMs = 10, networkSdMs = 2 } = options;
  const out = [
    `\nBrooker's OCC contention simulation (virtual time): ${clients} clients, base ${base} ms, cap ${cap} ms, ` +
      `network ${networkMeanMs} ± ${networkSdMs} ms; median of seeds 1–${seeds}`,
    markdownTable(header, body),
    `(${seeds} seeds × ${rows.size} policies simulated in ${Math.round(wallMs)} ms of wall time)`,
  ].join('\n');
  console.log(out);
  return out;
}
