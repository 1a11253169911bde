import { expect } from 'chai';
import { runScript } from '../support/run-script.js';

/** Runs the demo as `npm start` does, and resolves with its exit code and output. */
const runDemo = (args: readonly string[]) => runScript('examples/demo.ts', args);

/** A number the summary printed after `label`. */
function figure(stdout: string, pattern: RegExp): number {
  const match = pattern.exec(stdout);
  expect(match, `${pattern} in:\n${stdout}`).to.not.equal(null);
  return Number(match![1]);
}

describe('examples/demo.ts (the main job: npm start)', () => {
  for (const transport of ['tcp', 'websocket']) {
    it(`${transport}: survives cuts and stalls for 3 s with nothing lost or duplicated, and exits 0`, async function () {
      this.timeout(60_000);
      const { code, stdout, stderr } = await runDemo([
        '--duration',
        '3',
        '--seed',
        '7',
        '--transport',
        transport,
      ]);
      expect(stderr).to.equal('');
      expect(code, stdout).to.equal(0);
      expect(stdout).to.contain(`summary (${transport}, seed 7,`);
      // Not a TTY: one progress line per second, not rewritten in place.
      expect(stdout).to.not.contain('\r');
      expect(stdout.match(/^\d+\.\d s {2}up \d+ sent/gm)?.length ?? 0).to.be.at.least(2);
      expect(figure(stdout, /lost (\d+), duplicated \d+/), stdout).to.equal(0);
      expect(figure(stdout, /lost \d+, duplicated (\d+)/), stdout).to.equal(0);
      expect(figure(stdout, /^ {2}reconnects\s+(\d+)/m), stdout).to.be.at.least(1);
      const sent = figure(stdout, /client → server\s+sent (\d+)/);
      expect(sent).to.be.above(0);
      expect(figure(stdout, /client → server\s+sent \d+\s+received (\d+)/)).to.equal(sent);
      expect(stdout).to.contain('OK: every frame arrived exactly once, in order.');
    });
  }

  it('rejects a nonsense flag with a usage message and exit code 2', async () => {
    const { code, stderr } = await runDemo(['--transport', 'carrier-pigeon']);
    expect(code).to.equal(2);
    expect(stderr).to.contain('--transport must be tcp or websocket');
  });
});
