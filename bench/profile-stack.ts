// A driver for `node --cpu-prof`: the full stack (bench/stack.ts) one way over one transport and
// payload size, a few runs, nothing else in the process. Usage:
//   tsx --tsconfig tsconfig.bench.json bench/profile-stack.ts tcp|websocket 64|1024 [runs]
import { stackRun } from './stack.js';
import type { StackTransport } from './peers/stacks.js';

const kind = (process.argv[2] ?? 'tcp') as StackTransport;
const payloadBytes = Number(process.argv[3] ?? 64);
const runs = Number(process.argv[4] ?? 3);
const frames = payloadBytes <= 64 ? 200_000 : 50_000;
for (let i = 0; i < runs; i++) {
  const { ms } = await stackRun({ payloadBytes, frames }, kind);
  console.log(`${kind} ${payloadBytes} B: ${((frames / ms) * 1000).toFixed(0)} frames/s`);
}
