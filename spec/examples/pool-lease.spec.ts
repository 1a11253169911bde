import { expect } from 'chai';
import { runScript } from '../support/run-script.js';

describe('examples/pool-lease.ts (seed 002: LOCK / UNLOCK on a lease)', () => {
  it('discards the interrupted exchange, retries on a fresh connection, leaves nothing open, and exits 0', async function () {
    this.timeout(30_000);
    const { code, stdout, stderr } = await runScript('examples/pool-lease.ts');
    expect(stderr).to.equal('');
    expect(code, stdout).to.equal(0);
    const leased = [...stdout.matchAll(/^(exchange \d): leased (.+?), (\S+) → /gm)].map((m) => ({
      name: m[1],
      how: m[2],
      local: m[3],
    }));
    expect(leased, stdout).to.have.length(3);
    // Exchange 2 reused exchange 1's connection from the pool...
    expect(leased[0]!.how).to.equal('a new connection (dial #1)');
    expect(leased[1]).to.include({
      name: 'exchange 2',
      how: 'a connection from the pool',
      local: leased[0]!.local,
    });
    // ... was interrupted at its stuck PUT, which closed the connection and released the lock ...
    expect(stdout).to.contain('interrupted (no answer to PUT within 300 ms)');
    expect(stdout).to.contain("server: connection #1 closed; its lock on 'report.pdf' is released with it");
    // ... and its retry ran on a fresh connection, where LOCK was granted, not refused.
    expect(leased[2]).to.include({ name: 'exchange 2', how: 'a new connection (dial #2)' });
    expect(leased[2]!.local).to.not.equal(leased[0]!.local);
    expect(stdout.match(/LOCK {3}→ locked 'report.pdf'/g)).to.have.length(3);
    expect(stdout.match(/UNLOCK → unlocked 'report.pdf'/g)).to.have.length(2);
    expect(stdout).to.not.contain('refused');
    expect(stdout).to.contain(
      'after pool.close(): pool: 0 open, 0 idle; server: 0 connections, 0 locks held; 2 dials in all',
    );
    expect(stdout).to.contain(
      'OK: the interrupted exchange was discarded, the retry succeeded on a fresh connection.',
    );
  });
});
