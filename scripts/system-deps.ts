// Makes sure the programs the test suite needs beyond Node and npm are installed (`npm test` runs
// this first, as `pretest`). What is missing is installed with the system's package manager when
// this process may do so (root, with apt-get); otherwise it stops and says what to install.
// The list is data: a program the suite comes to need is one more entry in SYSTEM_PACKAGES.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A program the suite needs: `path` is checked as it is, `command` is looked up on PATH (one of
 * the two); `apt` is the Debian/Ubuntu package that provides it.
 */
export interface SystemPackage {
  apt: string;
  path?: string;
  command?: string;
  neededBy: string;
}

/** What the suite needs from the system. */
export const SYSTEM_PACKAGES: readonly SystemPackage[] = [
  {
    apt: 'chromium',
    path: '/usr/bin/chromium',
    neededBy: 'the browser example test, spec/examples/browser.spec.ts',
  },
  {
    apt: 'redis-server',
    command: 'redis-server',
    neededBy: 'the Redis session store tests, which start their own redis-server',
  },
];

/** True when `file` exists and may be executed. */
export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when `command` is an executable file in one of the folders of `searchPath`. */
export function onPath(command: string, searchPath = process.env.PATH ?? '', exists = isExecutable): boolean {
  return searchPath
    .split(path.delimiter)
    .filter((folder) => folder !== '')
    .some((folder) => exists(path.join(folder, command)));
}

/** The entries of `packages` whose program is not there. */
export function missingPackages(
  packages: readonly SystemPackage[],
  {
    exists = isExecutable,
    searchPath = process.env.PATH ?? '',
  }: { exists?: (file: string) => boolean; searchPath?: string } = {},
): SystemPackage[] {
  return packages.filter((entry) =>
    entry.path !== undefined ? !exists(entry.path) : !onPath(entry.command ?? entry.apt, searchPath, exists),
  );
}

/** What to do about the missing programs. */
export type Decision =
  { action: 'none' } | { action: 'install'; commands: string[][] } | { action: 'stop'; message: string };

/**
 * What to do about `missing`: nothing; install with apt-get (root, and apt-get is there); or stop
 * with a message naming what to install, because this process cannot install it.
 */
export function decide(
  missing: readonly SystemPackage[],
  { isRoot, hasAptGet }: { isRoot: boolean; hasAptGet: boolean },
): Decision {
  if (missing.length === 0) return { action: 'none' };
  const names = missing.map((entry) => entry.apt);
  if (isRoot && hasAptGet) {
    return {
      action: 'install',
      commands: [
        ['apt-get', 'update'],
        ['apt-get', 'install', '-y', ...names],
      ],
    };
  }
  const lines = missing.map((entry) => `  ${entry.path ?? entry.command} (for ${entry.neededBy})`);
  const how = hasAptGet
    ? `Install them as root: sudo apt-get update && sudo apt-get install -y ${names.join(' ')}`
    : `Install them with your system's package manager (Debian/Ubuntu packages: ${names.join(' ')})`;
  return {
    action: 'stop',
    message: ['The test suite needs programs that are not installed:', ...lines, how].join('\n'),
  };
}

/** Runs the check and acts on it; returns the exit code. */
export function main({
  packages = SYSTEM_PACKAGES,
  run = runCommand,
  log = console.error,
  isRoot = process.getuid?.() === 0,
  hasAptGet = onPath('apt-get'),
  exists = isExecutable,
}: {
  packages?: readonly SystemPackage[];
  isRoot?: boolean;
  hasAptGet?: boolean;
  exists?: (file: string) => boolean;
  run?: (command: string[]) => number;
  log?: (line: string) => void;
} = {}): number {
  const missing = missingPackages(packages, { exists });
  const decision = decide(missing, { isRoot, hasAptGet });
  if (decision.action === 'none') return 0;
  if (decision.action === 'stop') {
    log(decision.message);
    return 1;
  }
  log(`system-deps: installing ${missing.map((entry) => entry.apt).join(' ')} with apt-get`);
  for (const command of decision.commands) {
    const code = run(command);
    if (code !== 0) {
      log(`system-deps: \`${command.join(' ')}\` exited with ${code}`);
      return 1;
    }
  }
  const still = missingPackages(packages, { exists });
  if (still.length === 0) return 0;
  log(`system-deps: still missing after the install: ${still.map((e) => e.path ?? e.command).join(', ')}`);
  return 1;
}

function runCommand([command = '', ...args]: string[]): number {
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status ?? 1;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
