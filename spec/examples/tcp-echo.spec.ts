import { expect } from 'chai';
import { runScript } from '../support/run-script.js';

describe('examples/tcp-echo.ts', () => {
  it('sends frames over TCP on loopback, prints each echo, and exits 0 when all came back in order', async () => {
    const { code, stdout, stderr } = await runScript('examples/tcp-echo.ts', ['--count', '5']);
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(stdout).to.match(/server listening on 127\.0\.0\.1:\d+/);
    expect(stdout.match(/^received /gm)).to.have.length(5);
    expect(stdout).to.contain('5 of 5 frames came back, in order');
  });

  it('rejects a nonsense --count', async () => {
    const { code, stderr } = await runScript('examples/tcp-echo.ts', ['--count', 'zero']);
    expect(code).to.not.equal(0);
    expect(stderr).to.contain('--count must be a positive integer');
  });
});
