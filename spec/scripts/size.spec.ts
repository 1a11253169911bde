import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CLIENT_SET,
  entrySource,
  formatReport,
  measure,
  POLICY_ONLY,
  type SizeReport,
} from '../../scripts/size.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HEADLINE = /^(.+) \((.+)\): (\d+\.\d) kB min \((\d+) B\), (\d+\.\d) kB min\+gzip \((\d+) B\)$/;
const CONTRIBUTORS = /^ {2}biggest contributors \(bytes in the minified output, (\d+) of (\d+) files\):$/;
const CONTRIBUTOR = /^ +(\d+) {2}(\S+)$/;

/** The headline and contributor lines of one printed report, checked for shape. */
function parseReport(lines: readonly string[]) {
  const [headline, header, ...rest] = lines;
  const head = HEADLINE.exec(headline ?? '');
  expect(head, `headline: ${headline}`).to.not.equal(null);
  const counts = CONTRIBUTORS.exec(header ?? '');
  expect(counts, `contributors header: ${header}`).to.not.equal(null);
  const contributors = rest.map((line) => {
    const match = CONTRIBUTOR.exec(line);
    expect(match, `contributor line: ${line}`).to.not.equal(null);
    return { bytes: Number(match![1]), file: match![2]! };
  });
  expect(contributors).to.have.length(Number(counts![1]));
  return {
    name: head![1],
    exports: head![2]!.split(', '),
    minBytes: Number(head![4]),
    gzipBytes: Number(head![6]),
    contributors,
  };
}

describe('scripts/size (`npm run size`: the browser bundle weight)', function () {
  // Two esbuild bundles of lib/ per test.
  this.timeout(60_000);

  let policyOnly: SizeReport;
  before(async () => {
    policyOnly = await measure(POLICY_ONLY);
  });

  it('prints min and min+gzip for the client set and for policy alone, with the top 10 contributors', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/size.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(run.stderr).to.equal('');
    expect(run.status).to.equal(0);
    const [preamble, ...blocks] = run.stdout.trimEnd().split('\n\n');
    expect(preamble).to.match(/rxjs and msgpackr external; gzip level 9$/);
    const reports = blocks.map((block) => parseReport(block.split('\n')));
    expect(reports.map(({ name, exports }) => [name, exports])).to.deep.equal([
      [CLIENT_SET.name, CLIENT_SET.exports],
      [POLICY_ONLY.name, POLICY_ONLY.exports],
    ]);
    for (const { minBytes, gzipBytes, contributors } of reports) {
      expect(gzipBytes).to.be.greaterThan(0).and.lessThan(minBytes);
      expect(contributors.length).to.be.within(1, 10);
      const sizes = contributors.map((contributor) => contributor.bytes);
      expect(sizes).to.deep.equal([...sizes].sort((a, b) => b - a));
      for (const { file } of contributors) expect(existsSync(path.join(ROOT, file)), file).to.equal(true);
    }
    // The client set holds what policy alone holds, and more.
    expect(reports[0]!.minBytes).to.be.greaterThan(reports[1]!.minBytes);
  });

  it('measures the bundle it prints: its bytes and the sum of what its files put in', () => {
    const printed = parseReport(formatReport(policyOnly).split('\n'));
    expect(printed.minBytes).to.equal(Buffer.byteLength(policyOnly.code));
    const fromFiles = policyOnly.contributors.reduce((sum, { bytes }) => sum + bytes, 0);
    // esbuild's own glue (the export statement) is the only code no source file claims.
    expect(fromFiles).to.be.within(policyOnly.minBytes - 200, policyOnly.minBytes);
    expect(policyOnly.code).to.match(/export\{\w+ as policy\}/);
  });

  it('keeps the circuit breaker, the retry budget and their code out of a bundle of policy alone', () => {
    const files = policyOnly.contributors.map((contributor) => contributor.file);
    expect(files).to.include('lib/policies/retry-policy.ts');
    expect(files).to.not.include.members(['lib/policies/circuit-breaker.ts']);
    expect(files).to.not.include.members(['lib/policies/retry-budget.ts']);
    expect(files).to.not.include.members(['lib/policies/breaker-strategy.ts']);
    // Strings found only in the breaker, its strategies and the budget.
    for (const text of [
      'The circuit breaker is',
      'halfOpenProbes',
      'minRetriesPerSecond',
      'strategy must be',
    ]) {
      expect(policyOnly.code, text).to.not.include(text);
    }
  });

  it('keeps error classes that classifying a failure does not need out of a bundle of policy alone', () => {
    for (const name of [
      'FrameTooLargeError',
      'MessageTooLargeError',
      'HttpError',
      'ListenError',
      'EncodeError',
    ]) {
      expect(policyOnly.code, name).to.not.include(`"${name}"`);
    }
    // …and keeps the names of those it does need, which cross-copy `is()` checks rely on.
    for (const name of [
      'LifelineError',
      'ConnectionError',
      'DialError',
      'ProtocolError',
      'PeerClosedError',
    ]) {
      expect(policyOnly.code, name).to.include(`"${name}"`);
    }
  });

  it('refuses an empty set or a name that is not an identifier, saying what it wants', async () => {
    expect(() => entrySource([])).to.throw(TypeError, 'at least one export name');
    expect(() => entrySource(['policy', 'no such'])).to.throw(TypeError, 'got no such');
    let failure: unknown;
    await measure({ name: 'missing', exports: ['noSuchExport'] }).catch((error: unknown) => {
      failure = error;
    });
    expect(failure).to.be.instanceOf(TypeError);
    expect(String(failure)).to.include('exports no value named noSuchExport');
  });
});
