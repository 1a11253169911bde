import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config-file.js';
import { policyFromModule, type PolicyContext } from '../src/policies.js';
import { lab } from './support.js';
import { simulate } from '../src/simulate.js';
import { LabUsageError } from '../src/units.js';

describe('lab: config files', () => {
  let dir: string;
  const write = (name: string, content: unknown) => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeline-lab-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('JSON: a scenario and a policy, used by name with the built-ins, with the exact figures', async () => {
    const file = write('lab.json', {
      scenarios: { blip: { description: 'down 5 s–15 s', outages: [{ at: '5s', for: 10_000 }] } },
      policies: { 'one-second': { backoff: 'constant', initial: '1s' } },
    });
    const config = await loadConfig(file);
    const result = simulate({
      scenario: config.scenarios.get('blip')!,
      policies: [config.policies.get('one-second')!],
      clients: 3,
      duration: 30_000,
      seed: 1,
    });
    // The same scenario as the hand-computed outage: dials at 6…15 s, back after 10 s.
    expect(result.results[0]).to.deep.include({ dials: 30, backMax: 10_000, notBack: 0 });

    const { code, stdout, stderr } = await lab([
      '--config',
      file,
      '--scenario',
      'blip',
      '--policy',
      'one-second,exponential',
      '--clients',
      '3',
      '--duration',
      '30s',
    ]);
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(stdout).to.contain('Scenario "blip": down 5 s–15 s. 3 clients, 30 s of virtual time, seed 1.');
    expect(stdout).to.match(/│ one-second +│ +3 │ +10\.00 s │ +10\.00 s │ +10\.00 s │ +0 │ +30 │/);
    expect(stdout).to.match(/│ exponential +│/);
  });

  it('JSON: every scenario field is read (flapping, capacity, admission, failure rate, half-open, cold start)', async () => {
    const file = write('all.json', {
      scenarios: {
        everything: {
          coldStart: true,
          flapping: { from: '1m', up: '30s', down: '10s' },
          dialFailureRate: '10%',
          capacity: 50,
          admission: 20,
          halfOpen: { at: '20s', fraction: 0.5, heartbeatTimeout: '9s', heartbeatInterval: '3s' },
        },
      },
    });
    const scenario = (await loadConfig(file)).scenarios.get('everything');
    expect(scenario).to.deep.equal({
      name: 'everything',
      description: 'from the config file',
      coldStart: true,
      outages: [],
      flapping: { from: 60_000, up: 30_000, down: 10_000 },
      dialFailureRate: 0.1,
      capacity: 50,
      admission: 20,
      halfOpen: { at: 20_000, fraction: 0.5, heartbeatTimeout: 9_000, heartbeatInterval: 3_000 },
    });
  });

  for (const [name, content, message] of [
    ['broken.json', '{ "scenarios": ', /is not valid JSON/],
    ['unknown.json', { scenario: {} }, /unknown field "scenario" \(known: scenarios, policies\)/],
    ['field.json', { scenarios: { x: { outage: [] } } }, /scenario "x": unknown field "outage"/],
    [
      'duration.json',
      { scenarios: { x: { outages: [{ at: '5 parsecs', for: '1s' }] } } },
      /outages\[0\]\.at must be a duration/,
    ],
    [
      'jitter.json',
      { policies: { p: { jitter: 'lots' } } },
      /policy "p": jitter must be one of none, full, equal, decorrelated/,
    ],
    [
      'builder.json',
      { policies: { p: { initial: '1s', max: '10ms' } } },
      /policy "p": policy\.exponential: max must be/,
    ],
    ['empty.json', {}, /defines no scenarios and no policies/],
    ['null.json', 'null', /null\.json must hold an object with "scenarios" and\/or "policies"/],
    ['array.json', '[]', /array\.json must hold an object/],
  ] as const) {
    it(`${name}: exit 2 with a message naming what is wrong`, async () => {
      const { code, stderr } = await lab(['--config', write(name, content)]);
      expect(code).to.equal(2);
      expect(stderr).to.match(message);
    });
  }

  it('a TypeScript module: policies as factories of ({ policy, random }) and as specs', async () => {
    const file = write(
      'lab.ts',
      [
        "type Context = { policy: { constant(ms: number): unknown; exponential(o?: object): { jitter(k: 'full', o: { random: () => number }): unknown } }; random: () => number };",
        'export const scenarios = { blip: { outages: [{ at: 5_000, for: 10_000 }] } };',
        'export const policies = {',
        "  'one-second': ({ policy }: Context) => policy.constant(1_000),",
        "  jittered: ({ policy, random }: Context) => policy.exponential({ initial: 1_000 }).jitter('full', { random }),",
        "  spec: { backoff: 'constant', initial: '1s' },",
        '};',
      ].join('\n'),
    );
    const config = await loadConfig(file);
    expect([...config.policies.keys()]).to.deep.equal(['one-second', 'jittered', 'spec']);
    const result = simulate({
      scenario: config.scenarios.get('blip')!,
      policies: [...config.policies.values()],
      clients: 3,
      duration: 30_000,
      seed: 1,
    });
    const [oneSecond, jittered, spec] = result.results;
    expect(oneSecond).to.deep.include({ dials: 30, backMax: 10_000 });
    expect(spec).to.deep.include({ dials: 30, backMax: 10_000 });
    expect(jittered!.notBack).to.equal(0);
  });

  it('a JavaScript module exporting a RetryPolicy value with a breaker is refused: make it in a factory', async () => {
    const lifeline = path.resolve('lib/index.ts');
    const file = write(
      'lab.mjs',
      [
        `const { policy, CircuitBreaker } = await import(${JSON.stringify(lifeline)});`,
        'export const policies = { guarded: policy.exponential().breaker(new CircuitBreaker()) };',
      ].join('\n'),
    );
    let caught: unknown;
    await loadConfig(file).catch((error: unknown) => (caught = error));
    expect(caught).to.be.instanceOf(LabUsageError);
    expect((caught as Error).message).to.match(
      /policy "guarded": a breaker or budget must be made inside a factory/,
    );
  });

  it('a module whose factory returns something else fails the run with a clear error', async () => {
    const file = write('bad.mjs', 'export const policies = { nothing: () => 42 };');
    const { code, stderr } = await lab([
      '--config',
      file,
      '--policy',
      'nothing',
      '--clients',
      '1',
      '--duration',
      '1m',
    ]);
    expect(code).to.equal(2);
    expect(stderr).to.contain('policy "nothing": the factory must return a RetryPolicy');
  });

  it('a module value counts as a RetryPolicy only with decide, jitter and config: half of one is refused', () => {
    const half = { decide: () => undefined };
    expect(() => policyFromModule('half', half)).to.throw(LabUsageError, /policy "half"/);
    const factory = policyFromModule('factory', () => half);
    expect(() => factory.make({} as PolicyContext)).to.throw(
      LabUsageError,
      'policy "factory": the factory must return a RetryPolicy',
    );
  });
});
