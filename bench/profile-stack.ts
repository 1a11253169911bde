// A driver for profiling the full stack (bench/stack.ts) one way over one transport and payload
// size, nothing else in the process. One warm-up run, then `runs` runs, each printed with its rate
// and the CPU time the process spent per frame (user + system, both ends: steadier than wall time
// on a shared machine). `raw` runs the raw batched baseline instead. With `out`, the runs are
// profiled (node:inspector) into a .cpuprofile that Chrome DevTools or a script can read. Usage:
//   tsx --tsconfig tsconfig.bench.json bench/profile-stack.ts tcp|websocket 64|1024 [runs] [out|raw]
// (`node --cpu-prof` would also profile the start-up: loading tsx and the modules.)
import { profiledRuns } from './cpu-profile.js';
import { stackRun } from './stack.js';
import type { StackTransport } from './peers/stacks.js';
import { rawTcpRun } from './throughput.js';
import { rawWebSocketRun } from './websocket.js';

const kind = (process.argv[2] ?? 'tcp') as StackTransport;
const payloadBytes = Number(process.argv[3] ?? 64);
const runs = Number(process.argv[4] ?? 3);
const raw = process.argv[5] === 'raw';
const out = raw ? undefined : process.argv[5];
const frames = payloadBytes <= 64 ? 200_000 : 50_000;
const c = { payloadBytes, frames };
const run = raw
  ? kind === 'tcp'
    ? () => rawTcpRun(c, true)
    : () => rawWebSocketRun(c, true)
  : () => stackRun(c, kind);

const once = async (label: string) => {
  const cpu = process.cpuUsage();
  const { ms } = await run();
  const { user, system } = process.cpuUsage(cpu);
  const rate = ((frames / ms) * 1000).toFixed(0);
  const perFrame = ((user + system) / frames).toFixed(2);
  console.log(
    `${label} ${raw ? 'raw' : 'stack'} ${kind} ${payloadBytes} B: ${rate} frames/s, ${perFrame} µs CPU/frame`,
  );
};

await profiledRuns(runs, out, once);
