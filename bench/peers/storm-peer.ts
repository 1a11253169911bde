// One side of the restart storm, in a process of its own:
//   storm-peer.ts server <system>     then `listen` (a port; 0: any, and the restart reuses it)
//   storm-peer.ts clients <system>    then `start` ({ port, count, seed }): `count` clients
// The clients answer `progress` with how many are connected and how their reconnections went.
import { seededRandom } from 'rx-lifeline/testing';
import { answerCommands } from './peer-process.js';
import { STORM_SYSTEMS, systemNamed } from './systems/registry.js';
import type { StormClient, StormServer } from './systems/peer.js';

/** What the clients process reports. */
export interface StormProgress {
  connected: number;
  /** Reconnections that resumed their session, and those that started afresh. */
  recovered: number;
  fresh: number;
}

const [role, name] = process.argv.slice(2);
const system = systemNamed(STORM_SYSTEMS, name);

function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new TypeError(`storm-peer: port must be a port number, got ${String(port)}`);
  }
  return port;
}

// Each process says it is ready once loaded, and listens or dials only when told: loading takes
// seconds, so the restarted server is loaded before the kill, and only has to listen after it.
if (role === 'server') {
  let server: StormServer | undefined;
  const listen = async (port: unknown) => {
    if (server) throw new Error('storm-peer: listening already');
    server = await system.stormServer(checkPort(port));
    return server.port;
  };
  answerCommands({}, { listen }, () => server?.close());
} else if (role === 'clients') {
  const clients: StormClient[] = [];
  const start = async (argument: unknown) => {
    const { port, count, seed } = argument as { port: unknown; count: unknown; seed: unknown };
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
      throw new TypeError(`storm-peer: count must be a whole number >= 1, got ${String(count)}`);
    }
    const random = seededRandom(Number(seed ?? 1));
    // Started 100 at a time, a batch per 20 ms: the first connections are not what is measured, and
    // thousands of dials in one tick overflow the listen backlog and send every system into backoff.
    while (clients.length < count) {
      const batch = Math.min(100, count - clients.length);
      for (let i = 0; i < batch; i++) clients.push(system.stormClient(checkPort(port), random));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return clients.length;
  };
  const progress = (): StormProgress => {
    const sum: StormProgress = { connected: 0, recovered: 0, fresh: 0 };
    for (const c of clients) {
      sum.connected += Number(c.connected);
      sum.recovered += c.recovered;
      sum.fresh += c.fresh;
    }
    return sum;
  };
  answerCommands({}, { start, progress }, () => clients.forEach((c) => c.close()));
} else {
  throw new TypeError(`storm-peer: role must be server or clients, got ${role}`);
}
