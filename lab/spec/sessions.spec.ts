import { expect } from 'chai';
import { builtInPolicy, DEFAULT_POLICY_PARAMETERS } from '../src/policies.js';
import { lab } from './support.js';
import { builtInScenario, DEFAULT_SCENARIO_PARAMETERS, type ScenarioParameters } from '../src/scenarios.js';
import { simulateSessions, type SessionRun } from '../src/sessions.js';

type Name = Parameters<typeof builtInScenario>[0];

/** A small session run: 4 clients, 30 s of virtual time, a frame every 100 ms, a 30 s TTL, two policies. */
function sessions(
  scenario: Name,
  parameters: Partial<ScenarioParameters>,
  options: { seed?: number; sessionTtl?: number; quiet?: number } = {},
): SessionRun {
  return simulateSessions({
    scenario: builtInScenario(scenario, { ...DEFAULT_SCENARIO_PARAMETERS, ...parameters }),
    // A 5 s cap: every client is back well within the TTL once the server is.
    policies: [
      builtInPolicy('full-jitter', { ...DEFAULT_POLICY_PARAMETERS, max: 5_000 }),
      builtInPolicy('exponential', { ...DEFAULT_POLICY_PARAMETERS, max: 5_000 }),
    ],
    clients: 4,
    duration: 30_000,
    seed: options.seed ?? 1,
    sessionTtl: options.sessionTtl ?? 30_000,
    quiet: options.quiet ?? 20_000,
    frameInterval: 100,
  });
}

describe('lab --sessions (the real session stack in virtual time)', function () {
  this.timeout(20_000);

  it('loses and duplicates nothing across an outage shorter than the session TTL', () => {
    const run = sessions('outage', { at: 5_000, down: 10_000 });
    for (const r of run.results) {
      expect(r.sent, r.policy).to.be.greaterThan(4 * 250);
      expect(r, r.policy).to.include({ lost: 0, duplicated: 0, sessionsLost: 0, sessionsExpired: 0 });
      expect(r.delivered, r.policy).to.equal(r.sent);
      expect(r.dials, r.policy).to.be.greaterThan(4);
    }
  });

  it('loses and duplicates nothing with a flapping server', () => {
    const run = sessions('flapping', { at: 3_000, down: 2_000, up: 4_000 });
    for (const r of run.results) {
      expect(r, r.policy).to.include({ lost: 0, duplicated: 0, sessionsLost: 0 });
      expect(r.delivered, r.policy).to.equal(r.sent);
      // Four outages in 30 s: every client dialled again after each.
      expect(r.dials, r.policy).to.be.at.least(4 * 5);
    }
  });

  it('loses and duplicates nothing over half-open links, noticed by heartbeat', () => {
    const run = sessions('half-open', { at: 5_000, heartbeatInterval: 1_000, heartbeatTimeout: 3_000 });
    for (const r of run.results) {
      expect(r, r.policy).to.include({ lost: 0, duplicated: 0, sessionsLost: 0 });
      expect(r.dials, r.policy).to.equal(8); // each client: its first dial, then one past the dead link
    }
  });

  it('reports the sessions an outage longer than sessionTtl lost, and their frames, explicitly', () => {
    const run = sessions('outage', { at: 5_000, down: 15_000 }, { sessionTtl: 10_000 });
    for (const r of run.results) {
      expect(r.sessionsLost, r.policy).to.equal(4);
      expect(r.sessionsExpired, r.policy).to.equal(4);
      // What the clients had not delivered when the server dropped their sessions is counted lost.
      expect(r.lost, r.policy).to.be.greaterThan(0);
      expect(r.delivered + r.lost, r.policy).to.equal(r.sent);
      expect(r.duplicated, r.policy).to.equal(0);
    }
  });

  it('gives the same figures for the same seed', () => {
    const parameters = { at: 2_000, failRate: 0.5 };
    const a = sessions('dial-failures', parameters, { seed: 7 });
    const b = sessions('dial-failures', parameters, { seed: 7 });
    expect(a).to.deep.equal(b);
    expect(sessions('dial-failures', parameters, { seed: 8 }).results).to.not.deep.equal(a.results);
  });

  it('adds the session columns to the table only with --sessions, the same for the same seed', async () => {
    const args = ['--clients', '20', '--duration', '20s', '--down', '5s', '--policy', 'full-jitter'];
    const plain = await lab(args);
    expect(plain.code).to.equal(0);
    expect(plain.stdout).to.not.contain('frames sent');
    expect(plain.stdout).to.contain('Frames lost/duplicated: not measured');

    const withSessions = [...args, '--sessions', '--session-clients', '3', '--frame-interval', '250ms'];
    const first = await lab(withSessions);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/│ frames sent │ delivered │ lost │ duplicated │ sessions lost │/);
    expect(first.stdout).to.match(/│ +240 │ +240 │ +0 │ +0 │ +0 │/);
    expect(first.stdout).to.not.contain('Frames lost/duplicated: not measured');
    expect((await lab(withSessions)).stdout).to.equal(first.stdout);
  });

  it('refuses session flags without --sessions', async () => {
    const { code, stderr } = await lab(['--session-clients', '3']);
    expect(code).to.equal(2);
    expect(stderr).to.contain('--session-clients applies only with --sessions');
  });
});
