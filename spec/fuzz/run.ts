// `npm run fuzz [-- --long] [-- --seed N]`: the fuzz suite alone. `--long` is the long run
// (≥ 1,000,000 inputs in process, thousands of hostile connections over sockets); the seed is
// printed at start and any run replays with FUZZ_SEED. Exits with mocha's code.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const env = { ...process.env };
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (arg === '--long') env.FUZZ_LONG = '1';
  else if (arg === '--seed' && args[i + 1] !== undefined) env.FUZZ_SEED = args[++i];
  else {
    console.error(`fuzz: unknown argument ${arg} (use --long, --seed N)`);
    process.exit(2);
  }
}
env.FUZZ_SEED ??= String(Math.floor(Math.random() * 2 ** 31));

const mocha = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
const started = performance.now();
const child = spawn(process.execPath, [mocha, 'spec/fuzz/*.spec.ts'], { env, stdio: 'inherit' });
child.on('exit', (code, signal) => {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `fuzz: ${seconds} s elapsed, seed ${env.FUZZ_SEED} (replay: FUZZ_SEED=${env.FUZZ_SEED} npm run fuzz)`,
  );
  process.exit(code ?? (signal ? 1 : 0));
});
