import { expect } from 'chai';
import { builtInPolicy, DEFAULT_POLICY_PARAMETERS } from '../src/policies.js';
import { builtInScenario, DEFAULT_SCENARIO_PARAMETERS } from '../src/scenarios.js';
import { simulate, type SimulationResult } from '../src/simulate.js';
import { svgChart } from '../src/svg-chart.js';

/** A 10 s run with outages starting at 2 s and 6 s, its one policy's dials per second replaced. */
function runWithDials(dialsPerSecond: number[]): SimulationResult {
  const outage = builtInScenario('outage', DEFAULT_SCENARIO_PARAMETERS);
  const result = simulate({
    scenario: {
      ...outage,
      outages: [
        { at: 2_000, for: 1_000 },
        { at: 6_000, for: 1_000 },
      ],
    },
    policies: [builtInPolicy('constant', DEFAULT_POLICY_PARAMETERS)],
    clients: 1,
    duration: 10_000,
    seed: 1,
  });
  return { ...result, results: [{ ...result.results[0]!, dialsPerSecond }] };
}

describe('lab: svgChart()', () => {
  it('labels each run of clipped seconds with its busiest second, runs apart labelled apart', () => {
    // The reset bursts (2 s and 6 s) are left out of the y axis's top, so they are drawn clipped.
    const svg = svgChart(runWithDials([1, 1, 50, 30, 1, 1, 40, 1, 1, 1]));
    const labels = [...svg.matchAll(/<text class="clipped"[^>]*>▲ (\d+)\/s<\/text>/g)].map((m) =>
      Number(m[1]),
    );
    expect(labels).to.deep.equal([50, 40]);
  });

  it('is well-formed: every element it opens, it closes, in order', () => {
    const svg = svgChart(runWithDials([1, 1, 50, 30, 1, 1, 40, 1, 1, 1]));
    const open: string[] = [];
    for (const [, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z]+)\b[^>]*?(\/?)>/g)) {
      if (selfClosing) continue;
      if (!closing) open.push(name!);
      else expect(open.pop(), `</${name}>`).to.equal(name);
    }
    expect(open).to.deep.equal([]);
  });
});
