import { expect } from 'chai';
import { spawn } from 'node:child_process';

/** Runs an example as `npm start` does, and resolves with its exit code and output. */
function runExample(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    // 'close' comes after the exit and after the pipes closed: nothing is left open.
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples/tcp-echo.ts', () => {
  it('sends frames over TCP on loopback, prints each echo, and exits 0 when all came back in order', async () => {
    const { code, stdout, stderr } = await runExample(['examples/tcp-echo.ts', '--count', '5']);
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(stdout).to.match(/server listening on 127\.0\.0\.1:\d+/);
    expect(stdout.match(/^received /gm)).to.have.length(5);
    expect(stdout).to.contain('5 of 5 frames came back, in order');
  });

  it('rejects a nonsense --count', async () => {
    const { code, stderr } = await runExample(['examples/tcp-echo.ts', '--count', 'zero']);
    expect(code).to.not.equal(0);
    expect(stderr).to.contain('--count must be a positive integer');
  });
});
