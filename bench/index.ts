// `npm run bench`: every benchmark in one process, each reported as medians and as ratios against
// a baseline measured in the same run. Not a test: nothing here fails on a slow machine.
import os from 'node:os';
import { benchTcp } from './tcp.js';
import { benchWebSocket } from './websocket.js';
import { benchBrooker } from './brooker.js';
import { benchPool } from './pool.js';
import { benchLab } from './lab.js';
import { benchSession } from './session.js';
import { benchJournal } from './journal.js';
import { benchStore } from './store.js';
import { benchDecoder } from './throughput.js';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

console.log(
  `lifeline benchmarks — Node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`,
);
if (want('decoder')) await benchDecoder(runs);
if (want('tcp')) await benchTcp(runs);
if (want('websocket')) await benchWebSocket(runs);
if (want('brooker')) await benchBrooker(); // virtual time: 11 seeds, the same table on every machine
if (want('pool')) await benchPool(runs);
if (want('session')) await benchSession(runs);
if (want('journal')) await benchJournal(runs);
if (want('store')) await benchStore(runs); // starts and stops a redis-server, forks two server processes
if (want('lab')) await benchLab(runs); // 10,000 clients × 10 min of virtual time, in wall ms
