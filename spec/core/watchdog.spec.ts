import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

describe('the watchdog root hook', () => {
  it('ends a run whose test never returns to the event loop, naming the test', async function () {
    this.timeout(30_000);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'node_modules/mocha/bin/mocha.js',
        '--timeout',
        '200',
        'spec/support/fixtures/stuck.ts',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WATCHDOG_GRACE_MS: '300' } },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).to.deep.equal({ code: null, signal: 'SIGABRT' });
    expect(stderr).to.include('watchdog: "a stuck suite spins forever" never returned to the event loop');
  });

  it('ends a run that would not end after its last test, saying what kept it alive', async function () {
    this.timeout(30_000);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'node_modules/mocha/bin/mocha.js', 'spec/support/fixtures/lingering.ts'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, END_GRACE_MS: '300' } },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).to.equal(70);
    expect(stderr).to.include('the run did not end 300 ms after its last test: still active:');
    expect(stderr).to.include('Immediate');
  });
});
