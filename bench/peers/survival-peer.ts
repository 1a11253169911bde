// One end of the survival run, in a process of its own:
//   survival-peer.ts server <system>          then `listen`: on 127.0.0.1, port 0
//   survival-peer.ts client <system> <seed>   then `connect` (a port)
// On `start` it streams numbered messages (5 every 10 ms) and, as a client, asks a request every
// 50 ms where the system has requests; `stop` ends both; `progress` and `report` say what it has.
import { seededRandom } from 'rx-lifeline/testing';
import { answerCommands } from './peer-process.js';
import { SURVIVAL_SYSTEMS, systemNamed } from './systems/registry.js';
import type { SurvivalClient, SurvivalServer } from './systems/peer.js';
import { SequenceLog } from './tally.js';

const BATCH = 5;
const EVERY_MS = 10;
const REQUEST_EVERY_MS = 50;

/** What a client's requests came to. */
export interface RequestCounts {
  issued: number;
  answered: number;
  /** Answered with another value than the request's own. */
  wrong: number;
  failed: number;
  pending: number;
}

const [role, name, seedArgument] = process.argv.slice(2);
const system = systemNamed(SURVIVAL_SYSTEMS, name);
const log = new SequenceLog();
const requests: RequestCounts = { issued: 0, answered: 0, wrong: 0, failed: 0, pending: 0 };
const timers: NodeJS.Timeout[] = [];

function stream(send: (n: number) => void): void {
  timers.push(setInterval(() => Array.from({ length: BATCH }, () => send(log.next())), EVERY_MS));
}

function ask(request: (n: number) => Promise<unknown>): void {
  timers.push(
    setInterval(() => {
      const n = ++requests.issued;
      requests.pending++;
      request(n).then(
        (answer) => (requests.pending--, requests[answer === n ? 'answered' : 'wrong']++),
        () => (requests.pending--, requests.failed++),
      );
    }, REQUEST_EVERY_MS),
  );
}

const stop = () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  return log.sent;
};
const progress = () => ({ received: log.distinct, pending: requests.pending });
const report = () => ({
  sent: log.sent,
  received: log.received,
  requests: peer?.request ? requests : undefined,
});

// Each process says it is ready once loaded, and listens or dials only when told (loading takes
// seconds: the two load at once).
let peer: Pick<SurvivalClient, 'request' | 'send' | 'close'> | undefined;
const listen = async () => {
  if (role !== 'server' || peer) throw new Error('survival-peer: only a server listens, once');
  const server: SurvivalServer = await system.survivalServer((n) => log.receive(n));
  peer = server;
  return server.port;
};
const connect = async (port: unknown) => {
  if (role !== 'client' || peer) throw new Error('survival-peer: only a client connects, once');
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0) {
    throw new TypeError(`survival-peer: port must be a port number, got ${String(port)}`);
  }
  const client = system.survivalClient(port, (n) => log.receive(n), seededRandom(Number(seedArgument ?? 1)));
  peer = client;
  await client.connected;
  return true;
};
if (role !== 'server' && role !== 'client') {
  throw new TypeError(`survival-peer: role must be server or client, got ${role}`);
}

answerCommands(
  {},
  {
    listen,
    connect,
    start: () => {
      if (!peer) throw new Error('survival-peer: listen or connect first');
      stream(peer.send);
      if (peer.request) ask(peer.request);
      return true;
    },
    stop,
    progress,
    report,
  },
  async () => {
    stop();
    await peer?.close();
  },
);
