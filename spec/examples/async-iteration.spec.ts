import { expect } from 'chai';
import { runScript } from '../support/run-script.js';

describe('examples/async-iteration.ts (for await over a session)', () => {
  it('iterates every quote once and in order across a server-side cut, breaks out, and exits 0', async function () {
    this.timeout(30_000);
    const { code, stdout, stderr } = await runScript('examples/async-iteration.ts');
    expect(stderr).to.equal('');
    expect(code, stdout).to.equal(0);
    const quotes = [...stdout.matchAll(/^quote\s+(\d+): LIFE \d+\.\d\d$/gm)].map((m) => Number(m[1]));
    expect(quotes).to.deep.equal(Array.from({ length: 12 }, (_, i) => i + 1));
    // The cut happened inside the loop, and the session came back without the loop noticing.
    const states = [...stdout.matchAll(/^ {2}\[(\w+)\]$/gm)].map((m) => m[1]);
    expect(states).to.deep.equal(['connected', 'reconnecting', 'connected', 'closed']);
    expect(stdout.indexOf('cutting the connection')).to.be.below(stdout.indexOf('[reconnecting]'));
    expect(stdout).to.contain('server said: watching LIFE');
    expect(stdout).to.contain('OK: 12 quotes, each once and in order, across a cut.');
  });
});
