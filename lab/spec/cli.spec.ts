import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLab } from '../src/run.js';
import { lab, spawnLab } from './support.js';

describe('lab: the lifeline-lab command', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeline-lab-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs as a program: prints the table and the chart, exits 0', async () => {
    const { code, stdout, stderr } = await spawnLab([
      '--clients',
      '50',
      '--duration',
      '2m',
      '--policy',
      'exponential,full-jitter',
    ]);
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(stdout).to.contain(
      'Scenario "outage": server down from 10 s for 30 s. 50 clients, 120 s of virtual time, seed 1.',
    );
    expect(stdout).to.match(/│ exponential +│ +50 │/);
    expect(stdout).to.contain('Dials per second at the server');
    expect(stdout).to.contain('Frames lost/duplicated: not measured');
  });

  it('--help documents every flag and exits 0', async () => {
    const { code, stdout } = await spawnLab(['--help']);
    expect(code).to.equal(0);
    for (const flag of [
      '--scenario',
      '--policy',
      '--clients',
      '--duration',
      '--seed',
      '--healthy-after',
      '--svg',
      '--config',
      '--color',
      '--at',
      '--down',
      '--up',
      '--fail-rate',
      '--capacity',
      '--heartbeat-timeout',
      '--heartbeat-interval',
      '--initial',
      '--max',
      '--max-attempts',
      '--max-elapsed',
    ]) {
      expect(stdout, flag).to.contain(flag);
    }
  });

  // Three through a real process (the exit status is the process's), the rest in-process.
  for (const [args, message, how] of [
    [['--bogus'], "Unknown option '--bogus'", 'spawned'],
    [['--clients', 'zero'], '--clients must be an integer ≥ 1, got "zero"', 'spawned'],
    [
      ['--duration', '30'],
      '--duration must be a duration such as 500ms, 30s, 10m or 1h, got "30"',
      'spawned',
    ],
    [
      ['--scenario', 'meteor'],
      '--scenario: unknown scenario "meteor" (known: outage, flapping, dial-failures, capacity, pushback, half-open)',
      'in-process',
    ],
    [['--policy', 'exponential,yolo'], '--policy: unknown policy "yolo"', 'in-process'],
    [['--policy', 'exponential,,full-jitter'], '--policy must be a comma-separated list', 'in-process'],
    [['--fail-rate', '150%'], '--fail-rate must be a fraction from 0 to 1', 'in-process'],
    [['--seed=-1'], '--seed must be an integer ≥ 0', 'in-process'],
    [['--clients', '2000000'], '--clients must be at most 1000000', 'in-process'],
    [
      ['--heartbeat-interval', '20s'],
      '--heartbeat-interval must be more than 0 and at most --heartbeat-timeout',
      'in-process',
    ],
    [['--config', 'no/such/file.json'], '--config: cannot read no/such/file.json', 'in-process'],
  ] as const) {
    it(`${args.join(' ')} → exit 2 and "${message.slice(0, 40)}…" (${how})`, async () => {
      const { code, stdout, stderr } = await (how === 'spawned' ? spawnLab([...args]) : lab([...args]));
      expect(code).to.equal(2);
      expect(stdout).to.equal('');
      expect(stderr).to.contain(`lifeline-lab: ${message}`);
    });
  }

  it('exits 0 quietly when the reader of its output goes away (`lifeline-lab … | head`)', async () => {
    // The reading end closes before the lab writes: its first write fails with EPIPE.
    const { code, stdout, stderr } = await spawnLab(['--clients', '10', '--duration', '1m'], {
      closeStdout: true,
    });
    expect(stderr).to.equal('');
    expect(stdout).to.equal('');
    expect(code).to.equal(0);
  });

  it('a flag that takes a value, given none at the end, is "argument missing"', async () => {
    const { code, stderr } = await lab(['--clients']);
    expect(code).to.equal(2);
    expect(stderr).to.equal("lifeline-lab: Option '--clients <value>' argument missing (see --help)\n");
  });

  it('--color colours the report off a terminal too, --no-color not on one; the table gives each peak', async () => {
    const escape = String.fromCharCode(27);
    const coloured = await lab(['--color', '--clients', '10', '--duration', '1m']);
    expect(coloured.stdout).to.contain(`${escape}[`);
    const plain = await lab(['--clients', '10', '--duration', '1m']);
    expect(plain.stdout).not.to.contain(escape);
    // The table gives each policy's busiest second.
    expect(plain.stdout).to.match(/│ exponential .*│ +80 │ +30 at 10 s │/);
    // On a terminal the report is coloured, unless --no-color.
    const onTerminal = async (args: string[]) => {
      let out = '';
      await runLab(args, { out: (text) => (out += text), err: () => undefined, isTerminal: true });
      return out;
    };
    expect(await onTerminal(['--clients', '10', '--duration', '1m'])).to.contain(`${escape}[`);
    expect(await onTerminal(['--no-color', '--clients', '10', '--duration', '1m'])).not.to.contain(escape);
  });

  // A negative value must reach the flag's own check, not parseArgs' "argument is ambiguous".
  for (const [flag, value, message] of [
    ['--clients', '-5', '--clients must be an integer ≥ 1, got "-5"'],
    ['--duration', '-5m', '--duration must be a duration such as 500ms, 30s, 10m or 1h, got "-5m"'],
    ['--seed', '-1', '--seed must be an integer ≥ 0, got "-1"'],
    ['--healthy-after', '-5s', '--healthy-after must be a duration'],
    ['--at', '-5s', '--at must be a duration'],
    ['--down', '-5s', '--down must be a duration'],
    ['--up', '-5s', '--up must be a duration'],
    [
      '--fail-rate',
      '-0.3',
      '--fail-rate must be a fraction from 0 to 1 or a percentage (0.3, 30%), got "-0.3"',
    ],
    ['--capacity', '-5', '--capacity must be an integer ≥ 1, got "-5"'],
    ['--heartbeat-timeout', '-5s', '--heartbeat-timeout must be a duration'],
    ['--heartbeat-interval', '-5s', '--heartbeat-interval must be a duration'],
    ['--initial', '-5ms', '--initial must be a duration'],
    ['--max', '-5s', '--max must be a duration'],
    ['--max-attempts', '-5', '--max-attempts must be an integer ≥ 1, got "-5"'],
    ['--max-elapsed', '-5s', '--max-elapsed must be a duration'],
    ['--session-clients', '-5', '--session-clients must be an integer ≥ 1, got "-5"'],
    ['--frame-interval', '-5ms', '--frame-interval must be a duration'],
    ['--session-ttl', '-5s', '--session-ttl must be a duration'],
  ] as const) {
    it(`${flag} ${value} → exit 2 and what is wrong with it`, async () => {
      const sessions = /session|frame/.test(flag) ? ['--sessions'] : [];
      const { code, stderr } = await lab([...sessions, flag, value]);
      expect(stderr).to.not.contain('ambiguous');
      expect(stderr).to.contain(`lifeline-lab: ${message}`);
      expect(stderr).to.contain(value);
      expect(code).to.equal(2);
    });
  }

  it('numeric flags refuse zero where it means nothing, naming the value', async () => {
    for (const [flag, message] of [
      ['--clients', '--clients must be an integer ≥ 1, got "0"'],
      ['--capacity', '--capacity must be an integer ≥ 1, got "0"'],
      ['--max-attempts', '--max-attempts must be an integer ≥ 1, got "0"'],
    ] as const) {
      const { code, stderr } = await lab([flag, '0']);
      expect(stderr, flag).to.contain(`lifeline-lab: ${message}`);
      expect(code, flag).to.equal(2);
    }
    for (const [flag, value] of [
      ['--duration', '0s'],
      ['--frame-interval', '0ms'],
      ['--session-ttl', '0s'],
    ] as const) {
      const sessions = flag === '--duration' ? [] : ['--sessions'];
      const { code, stderr } = await lab([...sessions, flag, value]);
      expect(stderr, flag).to.contain(`lifeline-lab: ${flag} must be more than 0`);
      expect(stderr, flag).to.contain(`got ${value}`);
      expect(code, flag).to.equal(2);
    }
  });

  it('in-process, the same flags give the same exit status 2 for a bad policy parameter', async () => {
    const { code, stderr } = await lab(['--initial', '1s', '--max', '10ms']);
    expect(code).to.equal(2);
    expect(stderr).to.match(/^lifeline-lab: policy "exponential": policy\.exponential: max must be/);
  });

  it('is deterministic: the same seed gives the same text and SVG bytes; another seed does not', async () => {
    const args = (seed: string, svg: string) => [
      '--scenario',
      'capacity',
      '--clients',
      '300',
      '--duration',
      '3m',
      '--capacity',
      '50',
      '--policy',
      'exponential,full-jitter,decorrelated',
      '--seed',
      seed,
      '--svg',
      path.join(dir, svg),
    ];
    const first = await lab(args('3', 'a.svg'));
    const again = await lab(args('3', 'b.svg'));
    const other = await lab(args('4', 'c.svg'));
    expect(first.code).to.equal(0);
    const table = (output: string) => output.replace(/Chart written to .*\n$/, '');
    expect(table(again.stdout)).to.equal(table(first.stdout));
    const a = readFileSync(path.join(dir, 'a.svg'));
    expect(readFileSync(path.join(dir, 'b.svg')).equals(a)).to.equal(true);
    expect(table(other.stdout)).to.not.equal(table(first.stdout));
    expect(readFileSync(path.join(dir, 'c.svg')).equals(a)).to.equal(false);
  });

  it('writes an SVG with one panel per policy, axes and each policy named with its figures', async () => {
    const file = path.join(dir, 'chart.svg');
    const { code, stdout } = await lab(['--clients', '100', '--duration', '1m', '--svg', file]);
    expect(code).to.equal(0);
    expect(stdout).to.contain(`Chart written to ${file}`);
    const svg = readFileSync(file, 'utf8');
    expect(svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    // Per policy: a filled area and a line, each in a panel of its own (no line hides another).
    expect(svg.match(/<path d="M/g)).to.have.length(6);
    const panelTops = [...svg.matchAll(/<text x="64" y="(\d+)"><tspan font-weight="bold"/g)].map((m) => m[1]);
    expect(new Set(panelTops).size).to.equal(3);
    for (const name of ['exponential', 'full-jitter', 'decorrelated'])
      expect(svg).to.match(new RegExp(`>${name}</tspan><tspan[^>]*> — \\d+ dials, peak `));
    expect(svg).to.contain('virtual time (s)');
    expect(svg).to.contain('dials per second');
    expect(svg.trimEnd().endsWith('</svg>')).to.equal(true);
  });

  it('the SVG draws the scenario: the outage shaded and the capacity dashed, in every panel', async () => {
    const file = path.join(dir, 'capacity.svg');
    await lab(['--scenario', 'capacity', '--clients', '300', '--duration', '3m', '--svg', file]);
    const svg = readFileSync(file, 'utf8');
    // The outage (10 s to 40 s) in each of the three panels, and the 100 dials/s capacity line.
    expect(svg.match(/<rect class="outage" /g)).to.have.length(3);
    expect(svg.match(/<line class="capacity" /g)).to.have.length(3);
    expect(svg).to.contain('server down');
    expect(svg).to.contain('capacity 100 dials/s');
  });

  it('the SVG keeps every text inside its width (no legend clipped at the right edge)', async () => {
    const file = path.join(dir, 'wide.svg');
    await lab(['--scenario', 'capacity', '--clients', '1000', '--duration', '6m', '--svg', file]);
    const svg = readFileSync(file, 'utf8');
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    // Left-aligned texts: 7 px a character is a generous width for 12 px sans-serif.
    for (const match of svg.matchAll(/<text x="([\d.]+)"(?![^>]*text-anchor)[^>]*>(.*?)<\/text>/g)) {
      const chars = match[2]!.replace(/<[^>]+>/g, '').replace(/&#\d+;/g, '"').length;
      expect(Number(match[1]) + chars * 7, match[2]).to.be.at.most(width);
    }
  });

  it('the SVG time axis stops soon after the last change: a 30 s outage fills the chart, not a tenth of it', async () => {
    const file = path.join(dir, 'outage.svg');
    await lab(['--clients', '1000', '--duration', '10m', '--svg', file]);
    const svg = readFileSync(file, 'utf8');
    // Every client is back by about 60 s: the axis ends at 80 s, not 600 s, and says so.
    expect(svg).to.contain('The time axis stops at 80 s: nothing changes after.');
    const ticks = [...svg.matchAll(/<text x="[\d.]+" y="\d+">(\d+)<\/text>/g)].map((m) => Number(m[1]));
    expect(Math.max(...ticks)).to.equal(80);
    const band = /<rect class="outage" x="([\d.]+)" y="\d+" width="([\d.]+)"/.exec(svg)!;
    expect(Number(band[2])).to.be.greaterThan(250); // 30 s of 80 s on an 808 px axis
  });

  it('a scenario flag with a scenario from a config file is refused: set it in the file', async () => {
    const file = path.join(dir, 'lab.json');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(file, JSON.stringify({ scenarios: { blip: { outages: [{ at: '1s', for: '1s' }] } } })),
    );
    const { code, stderr } = await lab(['--config', file, '--scenario', 'blip', '--down', '5s']);
    expect(code).to.equal(2);
    expect(stderr).to.contain('--down applies to built-in scenarios; "blip" comes from --config');
  });
});
