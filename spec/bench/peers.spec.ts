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
