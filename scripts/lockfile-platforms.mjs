// Adds the other-platform builds of msgpackr-extract (an optional dependency of msgpackr) to
// package-lock.json. The npm registry this project installs from lacks them, so `npm install`
// leaves them out of the lock file, and `npm ci` then refuses the lock as out of sync. They are
// optional and never installed on Linux x64, so listing them with their platform is enough.
// Run after any `npm install`: `node scripts/lockfile-platforms.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const extract = lock.packages['node_modules/msgpackr-extract'];
const wanted = Object.keys(extract?.optionalDependencies ?? {});
let added = 0;
for (const name of wanted) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  const [os, cpu] = name.split('msgpackr-extract-')[1].split('-');
  lock.packages[key] = {
    version: extract.optionalDependencies[name],
    cpu: [cpu],
    license: 'MIT',
    optional: true,
    os: [os],
  };
  added++;
}
const { '': root, ...rest } = lock.packages;
lock.packages = {
  '': root,
  ...Object.fromEntries(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b))),
};
writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(`lockfile-platforms: added ${added} entr${added === 1 ? 'y' : 'ies'}`);
