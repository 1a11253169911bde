import { expect } from 'chai';
import { builtInScenario, DEFAULT_SCENARIO_PARAMETERS, outagesOf, type Scenario } from '../src/scenarios.js';

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
