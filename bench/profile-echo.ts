// A driver for profiling echo (each frame sent back by the server, at most ECHO_WINDOW unanswered)
// over TCP or WebSocket, client and server in this process as in `npm run bench:peers`. One
// warm-up run, then `runs` runs, each printed with its rate and the CPU time the process spent per echoed frame
// (user + system, both ends). With `out`, the runs are profiled (node:inspector) into a .cpuprofile.
// Usage:
//   tsx --tsconfig tsconfig.bench.json bench/profile-echo.ts RIG 64|1024 [runs] [out]
// where RIG is raw|plain|stack (TCP) or ws-raw|ws-plain|ws-stack (WebSocket).
import { profiledRuns } from './cpu-profile.js';
import { throughputRun } from './peers/throughput.js';
import { rawNetRig, rawWsRig } from './peers/raw.js';
import { lifelinePlainRig, lifelineStackRig } from './peers/lifeline-rigs.js';

const RIGS = {
  raw: rawNetRig(true),
  plain: lifelinePlainRig('tcp'),
  stack: lifelineStackRig('tcp'),
  'ws-raw': rawWsRig(true),
  'ws-plain': lifelinePlainRig('websocket'),
  'ws-stack': lifelineStackRig('websocket'),
};
const name = (process.argv[2] ?? 'stack') as keyof typeof RIGS;
const rig = RIGS[name];
if (!rig) throw new TypeError(`profile-echo: unknown rig "${name}" (${Object.keys(RIGS).join(', ')})`);
const payloadBytes = Number(process.argv[3] ?? 64);
const runs = Number(process.argv[4] ?? 3);
const out = process.argv[5];
const frames = payloadBytes <= 64 ? 100_000 : 40_000;
const c = { payloadBytes, frames, echo: true };

const once = async (label: string) => {
  const cpu = process.cpuUsage();
  const { ms } = await throughputRun(rig, c);
  const { user, system } = process.cpuUsage(cpu);
  const rate = ((frames / ms) * 1000).toFixed(0);
  const perFrame = ((user + system) / frames).toFixed(2);
  console.log(`${label} ${name} echo ${payloadBytes} B: ${rate} frames/s, ${perFrame} µs CPU/frame`);
};

await profiledRuns(runs, out, once);
