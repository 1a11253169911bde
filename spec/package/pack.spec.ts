import { expect } from 'chai';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The package as a user gets it: `npm pack` (which builds first), the tarball installed into a
// fresh project from the registry, every entry imported under TypeScript's two module resolutions,
// and the README's first snippet compiled and run with plain Node.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const INSTALL_TIMEOUT_MS = 240_000;
/** The user's own dependencies beside the packages: the peer, `ws` for Node 20, the types, tsx for a lab config. */
const USER_DEPENDENCIES = ['rxjs@^7.8.0', 'ws@^8', '@types/ws@^8', '@types/node@^20', 'tsx@^4'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without what `npm test` set for this project, so npm acts on `cwd` alone. */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep =
    /^npm_config_(registry|cache|userconfig|globalconfig|proxy|https_proxy|noproxy|cafile|strict_ssl)$/;
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || keep.test(key)),
  );
}

/** Runs a command to its end; resolves with its output, whatever its exit code. */
function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a command that must succeed; fails with its output otherwise. */
async function ok(command: string, args: readonly string[], cwd: string): Promise<Run> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${result.code}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** The first ```ts block of the README, and the ```text block that says what it prints. */
export function readmeSnippet(readme: string): { code: string; prints: string } {
  const code = /```ts\n([\s\S]*?)```/.exec(readme);
  const prints = code && /```text\n([\s\S]*?)```/.exec(readme.slice(code.index + code[0].length));
  if (!code?.[1] || !prints?.[1]) throw new Error('README: no ```ts block followed by a ```text block');
  return { code: code[1], prints: prints[1] };
}

/** Relative links (`[text](target)`) of a Markdown file, without anchors. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => (match[1] ?? '').split('#')[0] ?? '')
    .filter((target) => target !== '' && !/^[a-z][a-z+.-]*:/i.test(target));
}

const IMPORT_ALL = `import * as core from 'rx-lifeline';
import * as node from 'rx-lifeline/node';
import * as testing from 'rx-lifeline/testing';
// Loads without ioredis installed: the store takes the user's client, and imports none itself.
import * as redis from 'rx-lifeline/redis';
import type { Link, Transport } from 'rx-lifeline';

const link: Link<string> | undefined = undefined;
const transport: Transport<string> = core.memory<string>().transport;
console.log([
  typeof core.reconnectWith,
  typeof node.tcp,
  typeof node.websocketServer,
  typeof testing.scriptedTransport,
  typeof testing.marbleTime,
  typeof redis.redisSessionStore,
  typeof transport.subscribe,
  link,
].join(' '));
`;

const STACK = `import { policy } from 'rx-lifeline';
try {
  policy.exponential({ initial: -5 });
} catch (error) {
  console.log((error as Error).stack);
}
`;

/** The lab config of the lab's docs: a breaker made in a factory, imported from rx-lifeline. */
const LAB_CONFIG = `import { CircuitBreaker } from 'rx-lifeline';
import type { PolicyContext } from 'rx-lifeline-lab';
export const policies = {
  guarded: ({ policy, random, scheduler }: PolicyContext) =>
    policy.exponential().jitter('full', { random }).breaker(new CircuitBreaker({ scheduler })),
};
`;

function tsconfig(options: Record<string, unknown>): string {
  const compilerOptions = {
    target: 'ES2022',
    lib: ['ES2022'],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    types: ['node'],
    ...options,
  };
  return JSON.stringify({ compilerOptions, include: ['src'] }, null, 2);
}

describe('the package as a user installs it (npm pack, then npm install of the tarball)', function () {
  this.timeout(INSTALL_TIMEOUT_MS + 120_000);
  let work = '';
  let installed = '';
  let tarball = '';
  let listing: string[] = [];

  before(async function () {
    work = mkdtempSync(path.join(tmpdir(), 'lifeline-pack-'));
    await ok('npm', ['pack', '--pack-destination', work, '--silent'], ROOT);
    const found = readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (found === undefined) throw new Error('npm pack made no tarball');
    tarball = path.join(work, found);
    // The lab workspace after the library: its build type-checks against the library's new build.
    await ok('npm', ['pack', '--workspace', 'lab', '--pack-destination', work, '--silent'], ROOT);
    const labTarball = readdirSync(work).find((name) => name.startsWith('rx-lifeline-lab-'));
    if (labTarball === undefined) throw new Error('npm pack --workspace lab made no tarball');
    listing = (await ok('tar', ['-tzf', tarball], work)).stdout.split('\n').filter(Boolean);

    const project = path.join(work, 'project');
    const src = path.join(project, 'src');
    mkdirSync(src, { recursive: true });
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'user-project', private: true, type: 'module' }, null, 2),
    );
    await ok(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        tarball,
        path.join(work, labTarball),
        ...USER_DEPENDENCIES,
      ],
      project,
    );
    installed = path.join(project, 'node_modules', 'rx-lifeline');
  });

  after(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  const project = () => path.dirname(path.dirname(installed));

  it('ships the build, the sources its maps name, README, LICENSE and the guides; no specs', () => {
    for (const file of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'lib/index.ts', 'README.md', 'LICENSE']) {
      expect(listing, file).to.include(`package/${file}`);
    }
    expect(listing).to.include('package/docs/PROTOCOL.md');
    expect(
      listing.filter((file) => /^package\/(spec|scripts|bench|examples|\.ci)\//.test(file)),
    ).to.deep.equal([]);
    expect(readFileSync(path.join(installed, 'LICENSE'), 'utf8')).to.include(
      'Copyright (c) 2026 the lifeline authors',
    );
    // What every user installs: the codec, nothing the lab or the docs use (the WebSocket server
    // speaks the protocol itself; a Node 20 client brings its own ws).
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies).sort()).to.deep.equal(['msgpackr']);
    const lab = path.join(project(), 'node_modules', 'rx-lifeline-lab');
    expect(readdirSync(lab).sort()).to.deep.equal(['LICENSE', 'README.md', 'dist', 'package.json']);
  });

  it('ships both sides of every file its browser field swaps', () => {
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      browser: Record<string, string>;
    };
    const swaps = Object.entries(manifest.browser);
    expect(swaps.map(([from]) => from)).to.include('./dist/lib/codec/one-pass.js');
    for (const [from, to] of swaps) {
      // The sources' entries name the .js a relative import names; the file is the .ts.
      for (const file of [from, to].map((name) => name.replace(/^\.\/(lib\/.*)\.js$/, './$1.ts'))) {
        expect(listing, file).to.include(`package/${file.slice(2)}`);
      }
    }
  });

  it('resolves every source map and declaration map to a shipped file', () => {
    const maps = listing.filter((file) => file.endsWith('.map')).map((file) => file.slice('package/'.length));
    expect(maps.length).to.be.greaterThan(10);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(path.join(installed, map), 'utf8')) as {
        sources: string[];
      };
      for (const source of sources) {
        const file = path.resolve(installed, path.dirname(map), source);
        if (!existsSync(file)) missing.push(`${map} -> ${source}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });

  it('links only to documents it ships (relative links of every shipped Markdown file)', () => {
    const broken: string[] = [];
    for (const doc of listing
      .filter((file) => file.endsWith('.md'))
      .map((file) => file.slice('package/'.length))) {
      for (const target of relativeLinks(readFileSync(path.join(installed, doc), 'utf8'))) {
        if (!existsSync(path.resolve(installed, path.dirname(doc), target)))
          broken.push(`${doc} -> ${target}`);
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it("type-checks every entry and the README's first snippet under module nodenext and moduleResolution bundler", async () => {
    const { code } = readmeSnippet(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    writeFileSync(path.join(project(), 'src', 'readme.ts'), code);
    writeFileSync(path.join(project(), 'src', 'import-all.ts'), IMPORT_ALL);
    writeFileSync(path.join(project(), 'src', 'stack.ts'), STACK);
    writeFileSync(
      path.join(project(), 'tsconfig.json'),
      tsconfig({ module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out', rootDir: 'src' }),
    );
    writeFileSync(
      path.join(project(), 'tsconfig.bundler.json'),
      tsconfig({ module: 'esnext', moduleResolution: 'bundler', noEmit: true }),
    );
    await ok(process.execPath, [TSC, '-p', 'tsconfig.bundler.json'], project());
    await ok(process.execPath, [TSC, '-p', 'tsconfig.json'], project());
    const imported = await ok(process.execPath, ['out/import-all.js'], project());
    expect(imported.stdout).to.equal('function function function function function function function \n');
  });

  it('runs the README snippet, which prints what the README says', async () => {
    const { prints } = readmeSnippet(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    const result = await ok(process.execPath, ['out/readme.js'], project());
    expect(result.stdout).to.equal(prints);
    expect(result.stderr).to.equal('');
  });

  it('names files that exist in the installed package in a stack trace with --enable-source-maps', async () => {
    const { stdout } = await ok(process.execPath, ['--enable-source-maps', 'out/stack.js'], project());
    const named = [...stdout.matchAll(/\((\/[^)]+?):\d+:\d+\)|at (\/\S+?):\d+:\d+/g)]
      .map((match) => match[1] ?? match[2] ?? '')
      .filter((file) => file.includes(`${path.sep}node_modules${path.sep}rx-lifeline${path.sep}`));
    expect(stdout).to.match(/policy\.exponential: initial must be/);
    expect(named.length).to.be.greaterThan(0);
    expect(named.every((file) => file.endsWith('.ts'))).to.equal(true);
    expect(named.filter((file) => !existsSync(file))).to.deep.equal([]);
  });

  it('runs the installed lab on a TypeScript config that makes a CircuitBreaker, and exits quietly into a closed pipe', async () => {
    writeFileSync(path.join(project(), 'lab.config.ts'), LAB_CONFIG);
    const lab =
      'node_modules/.bin/lifeline-lab --config lab.config.ts --policy guarded --clients 20 --duration 1m --no-color';
    const table = await ok(lab.split(' ')[0]!, lab.split(' ').slice(1), project());
    expect(table.stdout).to.match(/│ guarded │\s+20 │/);
    expect(table.stderr).to.equal('');
    // `| head -1` closes the pipe after one line: the lab stops writing without an EPIPE error.
    const piped = await run('bash', ['-o', 'pipefail', '-c', `${lab} | head -1`], project());
    expect(piped).to.deep.include({ code: 0, stderr: '' });
    expect(piped.stdout).to.match(/^Scenario "outage"/);
  });
});
