import { expect } from 'chai';
import { runScript } from '../support/run-script.js';

/** The milliseconds printed at the start of the first line that matches `pattern`. */
function at(stdout: string, pattern: RegExp): number {
  const line = stdout.split('\n').find((l) => pattern.test(l));
  expect(line, `${pattern} in:\n${stdout}`).to.not.equal(undefined);
  return Number(/^\s*(\d+) ms/.exec(line!)![1]);
}

describe('examples/http-retry.ts (seed 004: retry what can succeed)', () => {
  it('honours Retry-After, opens and closes the breaker, never retries a 500, and exits 0', async function () {
    this.timeout(30_000);
    const { code, stdout, stderr } = await runScript('examples/http-retry.ts');
    expect(stderr).to.equal('');
    expect(code, stdout).to.equal(0);
    // Call 1: three 503s (the first with Retry-After: 1), then a 500 that ends it.
    expect(stdout).to.contain('attempt 1 failed: HTTP 503 (Retry-After: 1000 ms)');
    const firstFailure = at(stdout, /attempt 1 failed: HTTP 503/);
    const secondAttempt = at(stdout, /^\s*\d+ ms {4}attempt 2$/);
    expect(secondAttempt - firstFailure, stdout).to.be.at.least(990);
    expect(stdout).to.match(
      /call 1: failed after 4 attempt\(s\): Gave up after 4 failed attempts \(permanent\): HttpError: GET \S+ failed: 500 Internal Server Error/,
    );
    // The breaker's state$: opened by the third 503, half-open a second later, closed by the success.
    const states = [...stdout.matchAll(/breaker: ([\w-]+)/g)].map((m) => m[1]);
    expect(states).to.deep.equal(['closed', 'open', 'half-open', 'closed']);
    expect(at(stdout, /breaker: half-open/) - at(stdout, /breaker: open/)).to.be.at.least(990);
    // Call 2: a 500 is permanent, so one attempt only.
    expect(stdout).to.match(
      /call 2: failed after 1 attempt\(s\): Gave up after 1 failed attempt \(permanent\): HttpError: GET \S+ failed: 500 Internal Server Error/,
    );
    expect(stdout).to.match(/call 3: HTTP 200 after 1 attempt\(s\)/);
    expect(stdout).to.not.contain('FAIL');
    expect(stdout).to.contain('OK: retried what could succeed, and only that.');
  });
});
