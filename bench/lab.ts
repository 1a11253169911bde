// The policy lab's speed: 10,000 simulated clients × 10 minutes of virtual time, the size the
// lab promises to simulate in under 10 s of wall time. Timed per scenario, for the CLI's default
// three policies (exponential, full-jitter, decorrelated), as the median of `runs` runs after one
// warm-up. The figures the simulation prints are virtual and the same on every machine; only the
// wall times depend on it. Not a test: nothing here fails on a slow machine.
import { builtInPolicy, DEFAULT_POLICY_PARAMETERS, type BuiltInPolicyName } from '../lab/src/policies.js';
import { BUILT_IN_SCENARIOS, builtInScenario, DEFAULT_SCENARIO_PARAMETERS } from '../lab/src/scenarios.js';
import { simulateSessions } from '../lab/src/sessions.js';
import { simulate } from '../lab/src/simulate.js';
import { markdownTable, median, now } from './harness.js';

const CLIENTS = 10_000;
const DURATION = 10 * 60_000;
const POLICIES: readonly BuiltInPolicyName[] = ['exponential', 'full-jitter', 'decorrelated'];

export async function benchLab(runs: number): Promise<string> {
  const policies = POLICIES.map((name) => builtInPolicy(name, DEFAULT_POLICY_PARAMETERS));
  // Warm-up: the JIT sees every scenario and policy once, at a tenth of the size.
  for (const name of BUILT_IN_SCENARIOS) {
    simulate({
      scenario: builtInScenario(name, DEFAULT_SCENARIO_PARAMETERS),
      policies,
      clients: CLIENTS / 10,
      duration: DURATION,
      seed: 1,
    });
  }
  const body: string[][] = [];
  for (const name of BUILT_IN_SCENARIOS) {
    const scenario = builtInScenario(name, DEFAULT_SCENARIO_PARAMETERS);
    const totals: number[] = [];
    const perPolicy = policies.map(() => [] as number[]);
    let dials: number[] = [];
    for (let run = 0; run < runs; run++) {
      let total = 0;
      dials = [];
      policies.forEach((labPolicy, i) => {
        const started = now();
        const result = simulate({
          scenario,
          policies: [labPolicy],
          clients: CLIENTS,
          duration: DURATION,
          seed: 1,
        });
        const ms = now() - started;
        perPolicy[i]!.push(ms);
        total += ms;
        dials.push(result.results[0]!.dials);
      });
      totals.push(total);
    }
    body.push([
      name,
      dials.map((d) => d.toLocaleString('en-US')).join(' / '),
      perPolicy.map((times) => String(Math.round(median(times)))).join(' / '),
      String(Math.round(median(totals))),
      `${Math.round(Math.min(...totals))}–${Math.round(Math.max(...totals))}`,
    ]);
  }
  const out = [
    `\nPolicy lab (bench/lab.ts): ${CLIENTS.toLocaleString('en-US')} clients × ${DURATION / 60_000} min of virtual time, ` +
      `policies ${POLICIES.join(' / ')}, default scenario flags, seed 1; median of ${runs} runs`,
    markdownTable(
      ['scenario', 'dials (per policy)', 'wall ms (per policy)', 'wall ms (all three)', 'range (all three)'],
      body,
    ),
  ].join('\n');
  const sessions = benchSessions();
  console.log(out);
  console.log(sessions);
  return `${out}\n${sessions}`;
}

const SESSION_CLIENTS = 1_000;
const SESSION_DURATION = 2 * 60_000;

/**
 * The session run (`--sessions`): 1,000 clients × 2 minutes through the real stack, per policy,
 * once each (a run takes seconds), in wall and CPU time: CPU time says more on a shared machine.
 */
function benchSessions(): string {
  const scenario = builtInScenario('outage', DEFAULT_SCENARIO_PARAMETERS);
  const body = POLICIES.map((name) => {
    const started = now();
    const cpu = process.cpuUsage();
    const run = simulateSessions({
      scenario,
      policies: [builtInPolicy(name, DEFAULT_POLICY_PARAMETERS)],
      clients: SESSION_CLIENTS,
      duration: SESSION_DURATION,
      seed: 1,
    });
    const used = process.cpuUsage(cpu);
    const r = run.results[0]!;
    return [
      name,
      r.sent.toLocaleString('en-US'),
      `${r.lost} / ${r.duplicated}`,
      String(Math.round(now() - started)),
      String(Math.round((used.user + used.system) / 1000)),
    ];
  });
  return [
    `\nPolicy lab --sessions (bench/lab.ts): ${SESSION_CLIENTS.toLocaleString('en-US')} clients × ${SESSION_DURATION / 60_000} min, ` +
      `outage scenario, a frame a second per client, then 60 s quiet; seed 1; one run per policy`,
    markdownTable(['policy', 'frames sent', 'lost / duplicated', 'wall ms', 'CPU ms'], body),
  ].join('\n');
}
