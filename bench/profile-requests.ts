// A driver for profiling requests (each answered by an echo; `inFlight` outstanding at a time) over
// TCP or WebSocket, client and server in this process as in `npm run bench:peers`. One warm-up run,
// then `runs` runs, each printed with its rate and the CPU time the process spent per request (user +
// system, both ends). With `out`, the runs are profiled (node:inspector) into a .cpuprofile.
// Usage:
//   tsx --tsconfig tsconfig.bench.json bench/profile-requests.ts RIG [inFlight] [runs] [out]
// where RIG is raw|plain|stack (TCP) or ws-raw|ws-plain|ws-stack (WebSocket).
import { profiledRuns } from './cpu-profile.js';
import { latencyRun } from './peers/latency.js';
import {
  lifelinePlainRequests,
  lifelineStackRequests,
  rawNetRequests,
  rawWsRequests,
} from './peers/request-rigs.js';

const RIGS = {
  raw: rawNetRequests,
  plain: lifelinePlainRequests('tcp'),
  stack: lifelineStackRequests('tcp'),
  'ws-raw': rawWsRequests,
  'ws-plain': lifelinePlainRequests('websocket'),
  'ws-stack': lifelineStackRequests('websocket'),
};
const name = (process.argv[2] ?? 'plain') as keyof typeof RIGS;
const rig = RIGS[name];
if (!rig) throw new TypeError(`profile-requests: unknown rig "${name}" (${Object.keys(RIGS).join(', ')})`);
const inFlight = Number(process.argv[3] ?? 100);
const runs = Number(process.argv[4] ?? 3);
const out = process.argv[5];
const requests = 40_000;

const once = async (label: string) => {
  const cpu = process.cpuUsage();
  const { perSecond, p50, p99, p999 } = await latencyRun(rig, { payloadBytes: 64, inFlight, requests });
  const { user, system } = process.cpuUsage(cpu);
  const perRequest = ((user + system) / requests).toFixed(2);
  console.log(
    `${label} ${name} ${inFlight} in flight: ${perSecond.toFixed(0)} requests/s, p50/p99/p999 ${[p50, p99, p999].map((t) => t.toFixed(3)).join('/')} ms, ${perRequest} µs CPU/request`,
  );
};

await profiledRuns(runs, out, once);
