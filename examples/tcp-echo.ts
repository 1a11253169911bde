// The main job for now: a TCP server and client on loopback. The client sends frames, the server
// echoes each one back with a timestamp, and the client prints what arrives.
// Run: npm start  (or: npx tsx examples/tcp-echo.ts --count 5)
import { filter, firstValueFrom, map, take, tap, toArray } from 'rxjs';
import type { Link } from 'rx-lifeline';
import { tcp, tcpServer } from 'rx-lifeline/node';

interface Ping {
  seq: number;
  text: string;
}
interface Echo extends Ping {
  echoedAt: string;
}

const countArg = process.argv.indexOf('--count');
const count = countArg > 0 ? Number(process.argv[countArg + 1]) : 10;
if (!Number.isInteger(count) || count < 1) throw new TypeError('--count must be a positive integer');

let resolvePort!: (port: number) => void;
const listening = new Promise<number>((resolve) => (resolvePort = resolve));
const server = tcpServer<Ping, Echo>({ host: '127.0.0.1', port: 0 }).subscribe({
  next: (event) => {
    if (event.type === 'listening') return resolvePort(event.port);
    if (event.type !== 'connection') return; // a refusal or a connection that failed unsubscribed
    // Each accepted connection: echo every frame.
    let link: Link<Echo> | undefined;
    event.connection.subscribe({
      next: (e) => {
        if (e.type === 'connected') link = e.link;
        else link?.send({ ...e.frame, echoedAt: new Date().toISOString() });
      },
      // A garbled frame or a reset ends this connection only.
      error: (error: unknown) => console.error('server: a connection failed', error),
    });
  },
  // Only listening can fail the server itself (a port in use).
  error: (error: unknown) => console.error('server: cannot listen', error),
});

const port = await listening;
console.log(`server listening on 127.0.0.1:${port}`);

const replies = await firstValueFrom(
  tcp<Echo, Ping>({ host: '127.0.0.1', port }).pipe(
    tap((event) => {
      if (event.type !== 'connected') return;
      console.log(`client connected ${event.link.info.local} -> ${event.link.info.remote}`);
      for (let seq = 1; seq <= count; seq++) event.link.send({ seq, text: `hello #${seq}` });
    }),
    filter((event) => event.type === 'frame'),
    map((event) => event.frame),
    tap((echo) => console.log(`received ${JSON.stringify(echo)}`)),
    take(count),
    toArray(),
  ),
);

server.unsubscribe();
const inOrder = replies.every((echo, i) => echo.seq === i + 1);
console.log(`${replies.length} of ${count} frames came back${inOrder ? ', in order' : ', OUT OF ORDER'}`);
process.exitCode = inOrder && replies.length === count ? 0 : 1;
