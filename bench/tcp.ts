// Throughput of one TCP connection on 127.0.0.1, client → server, until the server has decoded the
// last frame: raw `node:net` with length-prefix + msgpackr framing written directly (one write per
// frame, and one buffer per tick), against lifeline's tcp()/tcpServer() and the full stack over them.
import { tcp, tcpServer } from 'rx-lifeline/node';
import { stackRun } from './stack.js';
import { lifelineRun, rawTcpRun, throughputTables } from './throughput.js';

export function benchTcp(runs: number): Promise<string[]> {
  return throughputTables('TCP', runs, {
    perFrame: ['raw net, one write per frame', (c) => rawTcpRun(c, false)],
    batched: ['raw net, one buffer per tick', (c) => rawTcpRun(c, true)],
    lifeline: [
      'lifeline tcp()',
      (c) => lifelineRun(c, tcpServer<Uint8Array>({ port: 0 }), (port) => tcp({ port })),
    ],
    more: [['lifeline full stack + requests', (c) => stackRun(c, 'tcp')]],
  });
}
