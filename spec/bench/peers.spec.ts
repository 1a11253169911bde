import { expect } from 'chai';
import { NO_ACKS } from '../../bench/peers/common.js';
import type { ThroughputRig } from '../../bench/peers/channel.js';
import {
  THROUGHPUT_RIGS,
  throughputRows,
  throughputTable,
  type ThroughputCase,
} from '../../bench/peers/throughput.js';
import { LATENCY_RIGS, latencyRows, latencyTable, type LatencyCase } from '../../bench/peers/latency.js';
import { interleavedRuns, rowOf } from '../../bench/harness.js';

// The peer benchmark's throughput and latency code on tiny inputs, every system over real loopback
// sockets: every counted frame and answer arrives, and the tables have one row per system. No
// timing is asserted.

/** The rig, counting the frames its measuring end reports. */
function counting(rig: ThroughputRig, counter: { arrived: number }): ThroughputRig {
  return { ...rig, open: (echo, onArrive) => rig.open(echo, () => (counter.arrived++, onArrive())) };
}

/** Cells of each body row of a Markdown table. */
const bodyCells = (table: string) =>
  table
    .split('\n')
    .slice(2)
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );

describe('bench: peers', function () {
  this.timeout(120_000);

  for (const echo of [false, true]) {
    it(`throughput ${echo ? 'echo' : 'one way'}: every system delivers every frame, one row each`, async () => {
      const c: ThroughputCase = { payloadBytes: 64, frames: 200, echo };
      const counters = THROUGHPUT_RIGS.map(() => ({ arrived: 0 }));
      const rigs = THROUGHPUT_RIGS.map((rig, i) => counting(rig, counters[i]!));
      const rows = await throughputRows(rigs, c, 1);
      // A warm-up and one measured run per system.
      expect(counters.map((n) => n.arrived)).to.deep.equal(THROUGHPUT_RIGS.map(() => 2 * c.frames));
      const cells = bodyCells(throughputTable(rows));
      expect(cells.map((row) => row[0])).to.deep.equal(THROUGHPUT_RIGS.map((rig) => rig.name));
      for (const row of cells) expect(row).to.have.length(5);
      const baselines = cells.filter((row) => row[4] === '1.00×').map((row) => row[0]);
      expect(baselines).to.include.members(['raw net, one buffer per turn', 'raw ws, one message per turn']);
    });
  }

  it('latency: every system with acks answers every request; the others say "no acks"', async () => {
    const c: LatencyCase = { payloadBytes: 64, inFlight: 10, requests: 200 };
    const rows = await latencyRows(LATENCY_RIGS, c, 1);
    for (const { rig, sample } of rows) {
      if (rig.open) expect(sample?.answered, rig.name).to.equal(c.requests);
      else expect(sample, rig.name).to.equal(undefined);
    }
    const cells = bodyCells(latencyTable(rows));
    expect(cells.map((row) => row[0])).to.deep.equal(LATENCY_RIGS.map((rig) => rig.name));
    for (const row of cells) expect(row).to.have.length(7);
    const noAcks = cells.filter((row) => row[2] === NO_ACKS).map((row) => row[0]);
    expect(noAcks).to.deep.equal([
      'partysocket (reconnecting WebSocket)',
      'RxJS webSocket() (ws as WebSocketCtor)',
    ]);
  });
});

describe('interleavedRuns (how bench:peers takes its medians)', () => {
  it('warms each case up once, then runs every case once per round, each round starting one case later', async () => {
    const order: string[] = [];
    const cases = ['a', 'b', 'c'].map((name) => () => {
      order.push(name);
      return Promise.resolve(`${name}${order.filter((n) => n === name).length}`);
    });
    const samples = await interleavedRuns(cases, 3);
    expect(order.join('')).to.equal('abc' + 'abc' + 'bca' + 'cab');
    // Each case's samples, in its own order: the warm-up (1) is not among them.
    expect(samples).to.deep.equal([
      ['a2', 'a3', 'a4'],
      ['b2', 'b3', 'b4'],
      ['c2', 'c3', 'c4'],
    ]);
  });

  it('the rows are the medians of each case', () => {
    const row = rowOf('x', [
      { items: 100, ms: 1_000, bytes: 1e6 },
      { items: 300, ms: 1_000, bytes: 3e6 },
      { items: 200, ms: 1_000, bytes: 2e6 },
    ]);
    expect(row).to.deep.include({ name: 'x', perSecond: 200, mbPerSecond: 2 });
  });
});
