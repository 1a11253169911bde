import { expect } from 'chai';
import {
  builtInScenario,
  DEFAULT_SCENARIO_PARAMETERS,
  outagesOf,
  scenarioFromSpec,
  type Scenario,
} from '../src/scenarios.js';
import { LabUsageError } from '../src/units.js';

describe('lab: outagesOf()', () => {
  it('expands flapping into the outages that start within the run, none at its very end', () => {
    const scenario: Scenario = {
      ...builtInScenario('outage', DEFAULT_SCENARIO_PARAMETERS),
      outages: [],
      flapping: { from: 0, up: 10_000, down: 5_000 },
    };
    expect(outagesOf(scenario, 30_000)).to.deep.equal([
      { at: 0, for: 5_000 },
      { at: 15_000, for: 5_000 },
    ]);
    expect(outagesOf(scenario, 30_001)).to.have.length(3);
  });
});

describe('lab: scenarioFromSpec()', () => {
  it('refuses a half-open heartbeat interval of 0, or longer than its timeout', () => {
    const halfOpen = (heartbeatInterval: string) => ({
      halfOpen: { at: '1s', heartbeatTimeout: '9s', heartbeatInterval },
    });
    expect(scenarioFromSpec('x', halfOpen('9s')).halfOpen).to.deep.include({ heartbeatInterval: 9_000 });
    for (const interval of ['0s', '10s']) {
      expect(() => scenarioFromSpec('x', halfOpen(interval)), interval).to.throw(
        LabUsageError,
        /halfOpen\.heartbeatInterval must be more than 0 and at most heartbeatTimeout/,
      );
    }
  });
});
