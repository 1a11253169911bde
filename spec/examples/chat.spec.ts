import { expect } from 'chai';
import { runScript } from '../support/run-script.js';

describe('examples/chat.ts (a chat over TCP with resume across cuts)', () => {
  it('three clients through a cutting proxy each see every line exactly once, in order, and it exits 0', async function () {
    this.timeout(60_000);
    const { code, stdout, stderr } = await runScript('examples/chat.ts', ['--seed', '7', '--lines', '15']);
    expect(stderr).to.equal('');
    expect(code, stdout).to.equal(0);
    expect(stdout).to.match(/^carol joined; in the room: alice, bob, carol$/m);
    // The fault injector cut connections while the clients talked, and they came back.
    const cuts = Number(/summary \(seed 7\): (\d+) cuts, 45 lines relayed/.exec(stdout)?.[1]);
    expect(cuts, stdout).to.be.at.least(3);
    const reconnects = [...stdout.matchAll(/saw 45 of 45 lines, reconnected (\d+) times$/gm)].map((m) =>
      Number(m[1]),
    );
    expect(reconnects, stdout).to.have.length(3);
    expect(reconnects.reduce((a, b) => a + b)).to.be.at.least(1);
    // alice's transcript: lines 1..45, each once, in order, each author's lines in the order written.
    const transcript = [...stdout.matchAll(/^\[\s*(\d+)\] (\w+): line (\d+) of 15$/gm)];
    expect(transcript.map((m) => Number(m[1]))).to.deep.equal(Array.from({ length: 45 }, (_, i) => i + 1));
    for (const author of ['alice', 'bob', 'carol']) {
      const lines = transcript.filter((m) => m[2] === author).map((m) => Number(m[3]));
      expect(lines, author).to.deep.equal(Array.from({ length: 15 }, (_, i) => i + 1));
    }
    expect(stdout).to.not.contain('problems:');
    expect(stdout).to.contain('OK: every client saw every line exactly once, in order.');
  });

  it('rejects a nonsense flag with a usage message and exit code 2', async () => {
    const { code, stderr } = await runScript('examples/chat.ts', ['--lines', 'many']);
    expect(code).to.equal(2);
    expect(stderr).to.contain('--lines must be a positive integer');
  });
});
