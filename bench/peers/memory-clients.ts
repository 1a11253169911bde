// Child process of the memory run: `count` idle clients of the system named in argv[2], dialling
// 127.0.0.1:port (argv[3]) in waves of 500 so no listen backlog overflows. Reports when every one
// is connected; closes them all and exits when told to.
import { WebSocket } from 'ws';
import { dialSocketIo } from './peer-rigs.js';
import { sessionClient } from './stacks.js';
import { isMemorySystem, type ConnectedMessage, type MemorySystem } from './memory-protocol.js';

const WAVE = 500;

/** Opens one client; resolves with its close once it is connected. */
function openClient(system: MemorySystem, port: number): Promise<() => void> {
  if (system === 'lifeline') {
    return new Promise((resolve, reject) => {
      const sub = sessionClient('websocket', port, false).subscribe({
        next: (e) => e.type === 'connected' && resolve(() => sub.unsubscribe()),
        error: reject,
      });
    });
  }
  if (system === 'socket.io') return dialSocketIo(port).then((socket) => () => void socket.disconnect());
  const socket = new WebSocket(`ws://127.0.0.1:${port}`);
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(() => socket.terminate()));
    socket.once('error', reject);
  });
}

const [system, portText, countText] = process.argv.slice(2);
if (!isMemorySystem(system)) throw new TypeError(`memory-clients: unknown system ${system}`);
const port = Number(portText);
const count = Number(countText);
const closes: (() => void)[] = [];
for (let opened = 0; opened < count; opened += WAVE) {
  const wave = Math.min(WAVE, count - opened);
  closes.push(...(await Promise.all(Array.from({ length: wave }, () => openClient(system, port)))));
}
process.send!({ type: 'connected', clients: closes.length } satisfies ConnectedMessage);
process.once('message', () => {
  for (const close of closes) close();
  process.disconnect();
  setTimeout(() => process.exit(0), 200);
});
