import { expect } from 'chai';
import { policy } from 'rx-lifeline';
import {
  builtInPolicy,
  DEFAULT_POLICY_PARAMETERS,
  type BuiltInPolicyName,
  type PolicyParameters,
} from '../src/policies.js';
import { builtInScenario, DEFAULT_SCENARIO_PARAMETERS, type ScenarioParameters } from '../src/scenarios.js';
import { simulate, type PolicyResult } from '../src/simulate.js';
import { LabUsageError } from '../src/units.js';

type Name = Parameters<typeof builtInScenario>[0];

/** One policy against one built-in scenario; the figures of that policy. */
function run(
  scenario: Name,
  scenarioParameters: Partial<ScenarioParameters>,
  policyName: BuiltInPolicyName,
  policyParameters: Partial<PolicyParameters>,
  options: { clients: number; duration: number; seed?: number },
): PolicyResult {
  const result = simulate({
    scenario: builtInScenario(scenario, { ...DEFAULT_SCENARIO_PARAMETERS, ...scenarioParameters }),
    policies: [builtInPolicy(policyName, { ...DEFAULT_POLICY_PARAMETERS, ...policyParameters })],
    clients: options.clients,
    duration: options.duration,
    seed: options.seed ?? 1,
  });
  return result.results[0]!;
}

/** Seconds `from` to `to` (exclusive) with `count` dials each, zero elsewhere. */
function perSecond(length: number, ...spans: [from: number, to: number, count: number][]): number[] {
  const counts = new Array<number>(length).fill(0);
  for (const [from, to, count] of spans) for (let k = from; k < to; k++) counts[k] = count;
  return counts;
}

describe('lab: simulate()', () => {
  describe('outage', () => {
    it('3 clients, constant 1 s, down 5 s–15 s: dials at 6…15 s, all back after 10 s', () => {
      // Reset at 5 s; retries at 6, 7, …, 14 s are refused (the server is down in [5 s, 15 s)); the
      // one at 15 s is accepted. 10 dials per client.
      const r = run(
        'outage',
        { at: 5_000, down: 10_000 },
        'constant',
        { initial: 1_000 },
        {
          clients: 3,
          duration: 30_000,
        },
      );
      expect(r).to.deep.include({
        disconnections: 3,
        dials: 30,
        backP50: 10_000,
        backP99: 10_000,
        backMax: 10_000,
        notBack: 0,
        peakDialsPerSecond: 3,
        peakAt: 6_000,
        giveUps: 0,
      });
      expect(r.dialsPerSecond).to.deep.equal(perSecond(30, [6, 16, 3]));
    });

    it('3 clients, exponential 1 s doubling: dials at 6, 8, 12, 20 s, back after 15 s', () => {
      const r = run(
        'outage',
        { at: 5_000, down: 10_000 },
        'exponential',
        { initial: 1_000 },
        {
          clients: 3,
          duration: 30_000,
        },
      );
      expect(r).to.deep.include({ dials: 12, backP50: 15_000, backMax: 15_000, notBack: 0 });
      expect(r.dialsPerSecond).to.deep.equal(perSecond(30, [6, 7, 3], [8, 9, 3], [12, 13, 3], [20, 21, 3]));
    });

    it('gives up at maxAttempts: the reset is attempt 1, two refused dials, then no more', () => {
      const r = run(
        'outage',
        { at: 5_000, down: 10_000 },
        'exponential',
        { initial: 1_000, maxAttempts: 3 },
        {
          clients: 3,
          duration: 30_000,
        },
      );
      expect(r).to.deep.include({ dials: 6, giveUps: 3, notBack: 3, backMax: Infinity, backP50: Infinity });
    });

    it('nothing happens before the outage, and a run that ends during it leaves everyone down', () => {
      const r = run(
        'outage',
        { at: 5_000, down: 10_000 },
        'constant',
        { initial: 1_000 },
        {
          clients: 2,
          duration: 10_000,
        },
      );
      // Dials at 6, 7, 8, 9 s; the run ends at 10 s.
      expect(r).to.deep.include({ dials: 8, notBack: 2, backMax: Infinity, disconnections: 2 });
    });
  });

  it('flapping: down 5 s / up 5 s from 10 s; each outage resets the client again', () => {
    const r = run(
      'flapping',
      { at: 10_000, down: 5_000, up: 5_000 },
      'constant',
      { initial: 1_000 },
      {
        clients: 1,
        duration: 40_000,
      },
    );
    // Down [10, 15), [20, 25), [30, 35): five dials per outage (11…15 s and so on), back after 5 s.
    expect(r).to.deep.include({ disconnections: 3, dials: 15, backP50: 5_000, backMax: 5_000, notBack: 0 });
  });

  it('dial-failures: a cold start at 0 s; at 0% everyone is back at once, at 100% nobody is', () => {
    const none = run(
      'dial-failures',
      { failRate: 0 },
      'constant',
      { initial: 1_000 },
      {
        clients: 3,
        duration: 10_500,
      },
    );
    expect(none).to.deep.include({ disconnections: 3, dials: 3, backMax: 0, notBack: 0, peakAt: 0 });
    const all = run(
      'dial-failures',
      { failRate: 1 },
      'constant',
      { initial: 1_000 },
      {
        clients: 3,
        duration: 10_500,
      },
    );
    // Dials at 0, 1, …, 10 s: 11 per client, all refused.
    expect(all).to.deep.include({ dials: 33, notBack: 3, backMax: Infinity });
  });

  it('capacity: 1 dial/s after an outage lets one client in per second, in the order they failed', () => {
    const r = run(
      'capacity',
      { at: 5_000, down: 10_000, capacity: 1 },
      'constant',
      { initial: 1_000 },
      {
        clients: 3,
        duration: 30_000,
      },
    );
    // 6…14 s refused (down); at 15 s three dials, one accepted; at 16 s two, one accepted; 17 s one.
    expect(r).to.deep.include({
      dials: 9 * 3 + 3 + 2 + 1,
      backP50: 11_000,
      backP99: 12_000,
      backMax: 12_000,
      notBack: 0,
    });
    expect(r.dialsPerSecond.slice(14, 19)).to.deep.equal([3, 3, 2, 1, 0]);
  });

  it('half-open: links die at 12 s, pings every 5 s from 0 s, timeout 15 s → noticed at 25 s, back at 26 s', () => {
    const r = run(
      'half-open',
      { at: 12_000, heartbeatTimeout: 15_000, heartbeatInterval: 5_000 },
      'constant',
      { initial: 1_000 },
      { clients: 3, duration: 30_000 },
    );
    // The last ping heard was at 10 s; the clients give up at 25 s and redial 1 s later.
    expect(r).to.deep.include({
      disconnections: 3,
      dials: 3,
      backP50: 14_000,
      backMax: 14_000,
      peakAt: 26_000,
    });
  });

  it('pushback: the same restart, each refused client told when to come back, gets everyone back in turn', () => {
    const options = { clients: 1_000, duration: 120_000 };
    const scenario = { at: 10_000, down: 2_000, capacity: 100 };
    const hard = run('capacity', scenario, 'exponential', {}, options);
    const told = run('pushback', scenario, 'exponential', {}, options);
    // Without hints, un-jittered clients come back together, second after second: most never get in.
    expect(hard.notBack).to.be.above(0);
    // Told when, they come back one admission slot apart: all are in once 1,000 / 100 per s = 10 s
    // have passed after their first dial to the restarted server, which the 2 s outage and the
    // backoff step they were waiting out (1.6 s at most by then) put within 3.6 s of the cut.
    expect(told.notBack).to.equal(0);
    expect(told.backMax).to.be.at.most(2_000 + 1_600 + 10_000 + 1_000);
    expect(told.dials).to.be.below(hard.dials);
    // The herd that meets the restarted server (13 s) is told when to return; without hints, 900
    // come back together at 16 s and 800 at 22 s, and are refused again.
    // Each comes back at its slot (the hint is its delay, not a floor under its backoff), so once
    // the herd is told, the server sees exactly its rate until the last is in, and then nothing.
    expect(told.dialsPerSecond.slice(14, 24)).to.deep.equal([100, 100, 100, 100, 100, 100, 100, 100, 11, 0]);
    expect(hard.dialsPerSecond.slice(16, 23)).to.deep.equal([900, 0, 0, 0, 0, 0, 800]);
  });

  it('capacity: exponential backoff without jitter storms the server; full jitter dials less and recovers sooner', () => {
    const options = { clients: 1_000, duration: 600_000 };
    const scenario = { at: 10_000, down: 30_000, capacity: 100 };
    const exponential = run('capacity', scenario, 'exponential', {}, options);
    const fullJitter = run('capacity', scenario, 'full-jitter', {}, options);
    // The herd when the server is back (from 40 s): every un-jittered client dials in the same instant.
    const herd = (r: PolicyResult) => Math.max(...r.dialsPerSecond.slice(40));
    expect(herd(exponential)).to.equal(1_000);
    expect(herd(exponential)).to.be.greaterThan(herd(fullJitter));
    expect(exponential.dials).to.be.greaterThan(fullJitter.dials);
    expect(exponential.backMax).to.be.greaterThan(fullJitter.backMax);
    expect(exponential.notBack).to.equal(0);
    expect(fullJitter.notBack).to.equal(0);
  });

  it('the same seed gives the same figures; another seed, other jitter', () => {
    const once = () => run('outage', {}, 'full-jitter', {}, { clients: 200, duration: 120_000, seed: 7 });
    expect(once()).to.deep.equal(once());
    const other = run('outage', {}, 'full-jitter', {}, { clients: 200, duration: 120_000, seed: 8 });
    expect(other.dialsPerSecond).to.not.deep.equal(once().dialsPerSecond);
  });

  it('a policy that retries without delay against a dead server is stopped with a clear error', () => {
    expect(() =>
      simulate({
        scenario: builtInScenario('outage', DEFAULT_SCENARIO_PARAMETERS),
        policies: [{ name: 'hammer', description: '', perClient: false, make: () => policy.constant(0) }],
        clients: 10,
        duration: 60_000,
        seed: 1,
        maxEvents: 10_000,
      }),
    ).to.throw(LabUsageError, /policy "hammer" needed more than 10000 events/);
  });

  it('a per-client factory gets each client its own generator and the virtual clock', () => {
    const seen: number[] = [];
    simulate({
      scenario: builtInScenario('outage', { ...DEFAULT_SCENARIO_PARAMETERS, at: 1_000, down: 1_000 }),
      policies: [
        {
          name: 'probe',
          description: '',
          perClient: true,
          make: ({ client, scheduler, random }) => {
            seen.push(client, scheduler.now());
            return policy.exponential().jitter('full', { random });
          },
        },
      ],
      clients: 2,
      duration: 5_000,
      seed: 1,
    });
    expect(seen).to.deep.equal([0, 0, 1, 0]);
  });
});
