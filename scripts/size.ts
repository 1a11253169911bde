/**
 * Measures what lifeline weighs in a browser bundle (`npm run size`).
 *
 * The package is built as `npm run build` builds it (tsc with tsconfig.build.json) into a
 * temporary `node_modules/rx-lifeline` beside its package.json, so a bundle sees what an
 * application's bundler sees: the compiled JavaScript, the `exports` map and `sideEffects: false`.
 * (Bundling lib/ itself would hide what the compiler changes: tsc drops a `@__PURE__` annotation on
 * a static field, for one.) Each set of named exports of `rx-lifeline` is then bundled by esbuild
 * the way a browser application would bundle it — platform browser, ESM, minified, rxjs and
 * msgpackr left external (an application has them anyway) — and printed as minified bytes and
 * minified+gzip bytes (node:zlib, level 9), with the source files that put the most bytes into
 * the output (esbuild's metafile, mapped back from dist/lib/x.js to lib/x.ts); then what each
 * export of the client set adds to it (the set's weight minus that of the set without it).
 *
 * Usage: `npx tsx scripts/size.ts`. Exits 1 if the package or a bundle fails to build.
 */
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { constants, gzipSync } from 'node:zlib';

/** A set of named exports of lib/index.ts to bundle together. */
export interface BundleSet {
  /** What the set is, as printed. */
  readonly name: string;
  /** Names exported by lib/index.ts. */
  readonly exports: readonly string[];
}

/** The client set of issue #14: what a browser client that reconnects, resumes and requests uses. */
export const CLIENT_SET: BundleSet = {
  name: 'client set',
  exports: ['websocket', 'heartbeat', 'reconnectWith', 'resumable', 'cancelPending', 'openSession', 'policy'],
};

/** The retry policy builder on its own. */
export const POLICY_ONLY: BundleSet = { name: 'policy alone', exports: ['policy'] };

/** One source file's share of a bundle. */
export interface Contributor {
  /** Relative to the project folder, with forward slashes. */
  readonly file: string;
  /** Bytes of the minified output that came from this file. */
  readonly bytes: number;
}

/** What one bundle weighs. */
export interface SizeReport {
  readonly set: BundleSet;
  /** Bytes of the minified bundle. */
  readonly minBytes: number;
  /** Bytes of the minified bundle once gzipped at level 9. */
  readonly gzipBytes: number;
  /** Every source file in the bundle, the biggest first. */
  readonly contributors: readonly Contributor[];
  /** The minified bundle itself. */
  readonly code: string;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The generated entry: re-exports `names` from the package, so only they are kept. */
export function entrySource(names: readonly string[]): string {
  if (names.length === 0) throw new TypeError('size: a bundle set needs at least one export name, got none');
  const bad = names.filter((name) => !IDENTIFIER.test(name));
  if (bad.length > 0) {
    throw new TypeError(
      `size: export names must be identifiers exported by lib/index.ts, got ${bad.join(', ')}`,
    );
  }
  return `export { ${names.join(', ')} } from 'rx-lifeline';\n`;
}

const builds = new Map<string, Promise<string>>();

/**
 * Builds the package in `root` the way `npm run build` does, once per process, into a temporary
 * folder removed when the process exits; resolves to the folder whose `node_modules/rx-lifeline`
 * holds package.json and dist/. Only the JavaScript is emitted: `--noCheck` and no declarations
 * leave it unchanged (the project compiles with `isolatedModules`), and `npm test` type-checks.
 */
export function buildPackage(root: string = ROOT): Promise<string> {
  let built = builds.get(root);
  if (built === undefined) {
    built = compile(root);
    builds.set(root, built);
  }
  return built;
}

async function compile(root: string): Promise<string> {
  const folder = mkdtempSync(path.join(tmpdir(), 'lifeline-size-'));
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  const packageDir = path.join(folder, 'node_modules', 'rx-lifeline');
  mkdirSync(packageDir, { recursive: true });
  copyFileSync(path.join(root, 'package.json'), path.join(packageDir, 'package.json'));
  const tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
  // tsconfig.build.json's own options, but for the ones that do not change the JavaScript.
  const flags = ['--noCheck', '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'];
  const outDir = path.join(packageDir, 'dist');
  await promisify(execFile)(process.execPath, [
    tsc,
    '-p',
    path.join(root, 'tsconfig.build.json'),
    '--outDir',
    outDir,
    ...flags,
  ]);
  return folder;
}

/** `lib/x.ts` for the compiled file `…/node_modules/rx-lifeline/dist/lib/x.js`; other paths as they are. */
export function sourceOf(file: string): string {
  const posix = file.split(path.sep).join('/');
  const at = posix.lastIndexOf('/rx-lifeline/dist/lib/');
  if (at < 0) return posix;
  return posix.slice(at + '/rx-lifeline/dist/'.length).replace(/\.js$/, '.ts');
}

/**
 * Bundles `set` for the browser and measures it. Rejects with esbuild's message if it cannot build,
 * and with a TypeError if lib/index.ts exports no value by one of the set's names.
 */
export async function measure(set: BundleSet, root: string = ROOT): Promise<SizeReport> {
  // esbuild keeps a re-export it cannot find in a TypeScript file (it might name a type) as
  // undefined, so the names are checked against the library itself.
  const library = (await import(pathToFileURL(path.join(root, 'lib/index.ts')).href)) as Record<
    string,
    unknown
  >;
  const missing = set.exports.filter((name) => library[name] === undefined);
  if (missing.length > 0) {
    throw new TypeError(`size: lib/index.ts exports no value named ${missing.join(', ')}; fix the set`);
  }
  const folder = await buildPackage(root);
  const result = await build({
    stdin: {
      contents: entrySource(set.exports),
      resolveDir: folder,
      loader: 'js',
      sourcefile: 'size-entry.js',
    },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['rxjs', 'rxjs/*', 'msgpackr'],
    metafile: true,
    write: false,
    outfile: path.join(folder, 'size-bundle.js'),
    logLevel: 'silent',
  });
  const bytes = result.outputFiles[0]!.contents;
  const output = Object.values(result.metafile.outputs)[0]!;
  const contributors = Object.entries(output.inputs)
    .map(([file, { bytesInOutput }]) => ({ file: sourceOf(file), bytes: bytesInOutput }))
    .filter((contributor) => contributor.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes || a.file.localeCompare(b.file));
  return {
    set,
    minBytes: bytes.byteLength,
    gzipBytes: gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION }).byteLength,
    contributors,
    code: Buffer.from(bytes).toString('utf8'),
  };
}

/** `bytes` in kB (1,000 bytes), one decimal. */
export function kilobytes(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

/** The report as printed: a headline with both sizes, then the `top` biggest contributors. */
export function formatReport(report: SizeReport, top = 10): string {
  const { set, minBytes, gzipBytes, contributors } = report;
  const lines = [
    `${set.name} (${set.exports.join(', ')}): ${kilobytes(minBytes)} min (${minBytes} B), ` +
      `${kilobytes(gzipBytes)} min+gzip (${gzipBytes} B)`,
    `  biggest contributors (bytes in the minified output, ${Math.min(top, contributors.length)} of ${contributors.length} files):`,
  ];
  for (const { file, bytes } of contributors.slice(0, top))
    lines.push(`  ${String(bytes).padStart(8)}  ${file}`);
  return lines.join('\n');
}

/** What one export of a set adds to it: the set's bytes minus those of the set without it. */
export interface ExportShare {
  readonly name: string;
  readonly minBytes: number;
  readonly gzipBytes: number;
}

/**
 * What each export of `set` adds to it (the set without that export weighs that much less), the
 * largest first. An export whose code the others use too adds little: what is shared is in none.
 */
export async function exportShares(set: BundleSet, root: string = ROOT): Promise<ExportShare[]> {
  if (set.exports.length < 2) throw new TypeError('size: the shares of a set need at least two exports');
  const whole = await measure(set, root);
  const shares: ExportShare[] = [];
  for (const name of set.exports) {
    const rest = { name: `${set.name} without ${name}`, exports: set.exports.filter((n) => n !== name) };
    const without = await measure(rest, root);
    shares.push({
      name,
      minBytes: whole.minBytes - without.minBytes,
      gzipBytes: whole.gzipBytes - without.gzipBytes,
    });
  }
  return shares.sort((a, b) => b.gzipBytes - a.gzipBytes || a.name.localeCompare(b.name));
}

/** The shares as printed: a header, then one line per export. */
export function formatShares(set: BundleSet, shares: readonly ExportShare[]): string {
  return [
    `what each export adds to the ${set.name} (the set without it weighs that much less):`,
    ...shares.map(
      ({ name, minBytes, gzipBytes }) =>
        `  ${String(minBytes).padStart(8)} B min ${String(gzipBytes).padStart(7)} B min+gzip  ${name}`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const reports = await Promise.all([CLIENT_SET, POLICY_ONLY].map((set) => measure(set)));
  const shares = await exportShares(CLIENT_SET);
  console.log(
    'size: esbuild, platform browser, ESM, minified, rxjs and msgpackr external; gzip level 9\n\n' +
      [...reports.map((report) => formatReport(report)), formatShares(CLIENT_SET, shares)].join('\n\n'),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(`size: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
