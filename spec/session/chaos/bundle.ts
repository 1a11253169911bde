// Chaos tests start many child processes: a bundle starts under plain node in a fraction of
// tsx's time, so kills and restarts are measured in milliseconds rather than seconds.
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/** Bundles `entry` (a path from the repository's root) into `dir` as an ES module; returns its path. */
export function bundleForNode(entry: string, dir: string): string {
  const name = entry.split('/').pop()!.replace(/\.ts$/, '.mjs');
  const outfile = join(dir, name);
  buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: 'tsconfig.json',
    outfile,
    logLevel: 'error',
    // msgpackr's optional native part loads with require: give the ES module one.
    banner: {
      js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
    },
  });
  return outfile;
}
