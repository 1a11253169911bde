// One side of the restart storm, in a process of its own:
//   storm-peer.ts server <system> <port>                     (port 0: any; the restart reuses it)
//   storm-peer.ts clients <system> <port> <count> <seed>     `count` clients of the system
// The clients answer `progress` with how many are connected and how their reconnections went.
import { seededRandom } from 'rx-lifeline/testing';
import { answerCommands } from './peer-process.js';
import { STORM_SYSTEMS, systemNamed } from './systems/registry.js';
import type { StormClient } from './systems/peer.js';

/** What the clients process reports. */
export interface StormProgress {
  connected: number;
  /** Reconnections that resumed their session, and those that started afresh. */
  recovered: number;
  fresh: number;
}

const [role, name, portArgument, countArgument, seedArgument] = process.argv.slice(2);
const system = systemNamed(STORM_SYSTEMS, name);
const port = Number(portArgument);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  throw new TypeError(`storm-peer: port must be a port number, got ${portArgument}`);
}

if (role === 'server') {
  const server = await system.stormServer(port);
  answerCommands({ port: server.port }, {}, () => server.close());
} else if (role === 'clients') {
  const count = Number(countArgument);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new TypeError(`storm-peer: count must be a whole number >= 1, got ${countArgument}`);
  }
  const random = seededRandom(Number(seedArgument ?? 1));
  const clients: StormClient[] = Array.from({ length: count }, () => system.stormClient(port, random));
  const progress = (): StormProgress => {
    const sum: StormProgress = { connected: 0, recovered: 0, fresh: 0 };
    for (const c of clients) {
      sum.connected += Number(c.connected);
      sum.recovered += c.recovered;
      sum.fresh += c.fresh;
    }
    return sum;
  };
  answerCommands({}, { progress }, () => clients.forEach((c) => c.close()));
} else {
  throw new TypeError(`storm-peer: role must be server or clients, got ${role}`);
}
