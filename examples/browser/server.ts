// The example server of examples/browser: one node:http server that serves a page (index.html
// and page.ts, bundled for the browser with esbuild at start-up) and, on the path /live, a
// WebSocket feed: a numbered message every 100 ms to every page, through acceptSessions, so a page
// that loses its connection resumes its session and misses nothing. Each WebSocket opens with a
// handshake that admits only pages this server served (their Origin is its own address). POST /cut
// kills every WebSocket's socket on the server side, as a crash or a proxy would (the page's button
// does it). The pages send numbered notes; GET /notes says, per session, how many arrived and
// whether any was missing or came twice (a page resumes its session after a reload, from its
// IndexedDB journal, so none should).
// Run: npx tsx examples/browser/server.ts [--port 8080], then open the address it prints.
// It runs until Ctrl-C (SIGINT) or SIGTERM, then closes everything and exits 0.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { interval, map } from 'rxjs';
import { acceptHandshake, acceptSessions, heartbeat, type Link } from 'rx-lifeline';
import { websocketServer } from 'rx-lifeline/node';
import type { Note, Tick } from './page.js';

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 8080;
if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
  console.error('--port must be a port number (0 lets the system choose)\nusage: server.ts [--port n]');
  process.exit(2);
}

// The page: its HTML, and page.ts with lifeline bundled in (tsconfig.json maps 'rx-lifeline' to lib/).
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const html = await readFile(here('./index.html'));
const bundle = await build({
  entryPoints: [here('./page.ts')],
  tsconfig: here('../../tsconfig.json'),
  bundle: true,
  minify: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  logLevel: 'silent',
});
const script = bundle.outputFiles[0]!.contents;

// Every socket upgraded to a WebSocket, for /cut.
const upgraded = new Set<Socket>();
const http = createServer((request, response) => {
  request.resume();
  // The page's query (?takeover) is for the page: the server looks at the path only.
  const where = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (request.method === 'GET' && (where === '/' || where === '/index.html')) {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  } else if (request.method === 'GET' && where === '/page.js') {
    response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
  } else if (request.method === 'POST' && where === '/cut') {
    const count = upgraded.size;
    for (const socket of upgraded) socket.destroy();
    console.log(`cut: killed ${count} WebSocket connection${count === 1 ? '' : 's'}`);
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ cut: count }));
  } else if (request.method === 'GET' && where === '/notes') {
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(Object.fromEntries(notes)));
  } else if (where === '/favicon.ico') {
    response.writeHead(204).end();
  } else {
    response.writeHead(404).end();
  }
});
http.on('upgrade', (request: { socket: Socket }) => {
  const socket = request.socket;
  upgraded.add(socket);
  socket.once('close', () => upgraded.delete(socket));
});

// The feed: one session per page, one message per 100 ms to every session. Each connection opens
// with the handshake (the page's layers, and its Origin checked against the upgrade request's Host),
// then heartbeat.
const LAYERS = ['heartbeat', 'resumable'] as const; // the layers the page's handshake() names
const pages = new Map<string, Link<Tick>>();
/** Per session: the notes received, the last one's number, and how many were missing or repeated. */
interface NoteCount {
  received: number;
  last: number;
  gaps: number;
  duplicates: number;
}
const notes = new Map<string, NoteCount>();
const countNote = (count: NoteCount, note: Note) => {
  count.received++;
  if (note.n <= count.last) count.duplicates++;
  else count.gaps += note.n - count.last - 1;
  count.last = Math.max(count.last, note.n);
};
const sessions = acceptSessions<Note, Tick>(
  websocketServer<Note, Tick>({ server: http, path: '/live' }).pipe(
    map((event) =>
      event.type === 'connection'
        ? {
            ...event,
            connection: event.connection.pipe(
              acceptHandshake({
                layers: LAYERS,
                // A page from elsewhere is refused ('unauthorized'); the identity is the page's origin.
                authenticate: ({ info }) => {
                  const { origin, host } = info.headers ?? {};
                  const own =
                    typeof origin === 'string' && URL.canParse(origin) && new URL(origin).host === host;
                  return own ? origin : undefined;
                },
              }),
              heartbeat({ interval: 2_000, timeout: 6_000 }),
            ),
          }
        : event,
    ),
  ),
  { sessionTtl: 30_000 },
).subscribe((session) => {
  const forget = () => {
    pages.delete(session.id);
    console.log(`page left (${pages.size} open)`);
  };
  const count: NoteCount = { received: 0, last: 0, gaps: 0, duplicates: 0 };
  notes.set(session.id, count);
  session.events$.subscribe({
    next: (event) => {
      if (event.type === 'frame') countNote(count, event.frame);
      else if (event.type === 'connected') {
        pages.set(session.id, event.link);
        console.log(`page joined (${pages.size} open)`);
      } else if (event.type === 'resumed') {
        console.log(`page resumed its session; ${event.replayed} messages resent`);
      }
    },
    error: forget,
    complete: forget,
  });
});
const feed = interval(100).subscribe((n) => {
  const tick: Tick = { seq: n + 1, at: new Date().toISOString(), text: `message ${n + 1} from the server` };
  for (const link of pages.values()) link.send(tick);
});

await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
console.log(`open http://127.0.0.1:${(http.address() as AddressInfo).port}/ in a browser (Ctrl-C stops)`);

const stop = () => {
  feed.unsubscribe();
  sessions.unsubscribe();
  http.close(() => console.log('stopped'));
  http.closeAllConnections();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
