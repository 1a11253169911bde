import { expect } from 'chai';
import { formatChart } from '../src/report.js';
import type { PolicyResult, SimulationResult } from '../src/simulate.js';

/** A run of one policy with these dials per second (formatChart reads only these fields). */
function runOf(dialsPerSecond: number[]): SimulationResult {
  const result = { policy: 'p', dialsPerSecond } as unknown as PolicyResult;
  return { duration: dialsPerSecond.length * 1000, results: [result] } as unknown as SimulationResult;
}

describe('lab: formatChart()', () => {
  it('draws one point per span of seconds, and none past the run', () => {
    // 8 s at 4 columns: 4 points of 2 s each, all at 3 dials per second.
    const chart = formatChart(runOf([3, 3, 3, 3, 3, 3, 3, 3]), { color: false, columns: 4, height: 3 });
    expect(chart).to.contain('the busiest second of 2 s');
    const rows = chart.split('\n');
    expect(rows.find((row) => /^\s+3 /.test(row))).to.match(/┼───\s*$/);
    expect(rows.find((row) => /^\s+0 /.test(row))).to.match(/┤\s*$/);
  });
});
