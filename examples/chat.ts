// A chat over TCP that survives cuts. One process runs a chat server, three scripted clients
// (alice, bob and carol) and, between them, a proxy whose fault injector cuts a connection every
// 100–300 ms. Each client is an openSession() session over tcp() + handshake + heartbeat +
// reconnectWith + resumable + cancelPending; the server opens each connection with acceptHandshake,
// groups connections into sessions with acceptSessions and answers requests with serveRequests.
//
// Every connection opens with a handshake: the client's name is its credentials, and the server's
// authenticate turns it into the session's identity, which names the member (a name the server does
// not know is refused). A client joins with a request (the server answers with who is in the room),
// then posts its lines as plain messages; the server numbers every line and relays it to everyone,
// the sender included.
// Connections are cut all along, in the middle of it all; the sessions resume and replay what the
// other side missed. Every client must see every line exactly once and in the server's order, each
// author's lines in the order they were written. Exit code 0 means they did.
// Run: npx tsx examples/chat.ts  (or: npx tsx examples/chat.ts --seed 7 --lines 30)
import net from 'node:net';
import { asyncScheduler, firstValueFrom, map, type Subscription } from 'rxjs';
import {
  acceptHandshake,
  acceptSessions,
  cancelPending,
  handshake,
  heartbeat,
  openSession,
  policy,
  reconnectWith,
  resumable,
  serveRequests,
  type ClientSession,
  type Link,
} from 'rx-lifeline';
import { tcp, tcpServer } from 'rx-lifeline/node';
import { seededRandom } from 'rx-lifeline/testing';

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}
function usage(message: string): never {
  console.error(`${message}\nusage: chat.ts [--seed n] [--lines n]`);
  process.exit(2);
}
const seed = Number(flag('seed') ?? 1);
if (!Number.isSafeInteger(seed)) usage('--seed must be an integer');
const linesEach = Number(flag('lines') ?? 20);
if (!(Number.isSafeInteger(linesEach) && linesEach > 0)) usage('--lines must be a positive integer');

const NAMES = ['alice', 'bob', 'carol'] as const;
/** Each client posts a line every 60–140 ms. */
const POST_EVERY = [60, 140] as const;
/** The fault injector cuts a connection every 100–300 ms while the clients post. */
const CUT_EVERY = [100, 300] as const;
const HEARTBEAT = { interval: 200, timeout: 1_000 } as const;
/** The layers both ends stack after the handshake: each side's handshake names them all. */
const LAYERS = ['heartbeat', 'resumable', 'requests'] as const;
/** How long the whole chat may take before the run is declared failed. */
const DEADLINE_MS = 20_000;

const random = seededRandom(seed);
const between = ([low, high]: readonly [number, number]) => low + Math.floor(random() * (high - low));
const timers: Subscription[] = [];

/** A line as a client posts it. */
interface Post {
  text: string;
}
/** A line as the server relays it: numbered, with its author. */
interface ChatLine {
  seq: number;
  from: string;
  text: string;
}
/** The requests a client makes: joining the room, and leaving it. Its name came with the handshake. */
type Request = { join: true } | { leave: true };

// ---------------------------------------------------------------------------------------------
// The chat server: one session per client, across all its connections.

interface Member {
  /** The session's identity: what authenticate returned for the client's credentials. */
  name: string;
  joined: boolean;
  link: Link<ChatLine> | undefined;
}
const room = new Map<string, Member>(); // by session id
let relayed = 0;

let resolvePort!: (port: number) => void;
const listening = new Promise<number>((resolve) => (resolvePort = resolve));
const server = acceptSessions(
  tcpServer({ host: '127.0.0.1', port: 0 }).pipe(
    map((event) => {
      if (event.type === 'listening') resolvePort(event.port);
      // Per connection, before the sessions: the handshake first, then heartbeat (the clients ping,
      // the server answers).
      return event.type === 'connection'
        ? {
            ...event,
            connection: event.connection.pipe(
              acceptHandshake({
                layers: LAYERS,
                // The credentials are the client's name: a member of the chat is its identity.
                authenticate: ({ credentials }) => NAMES.find((name) => name === credentials),
              }),
              heartbeat(HEARTBEAT),
            ),
          }
        : event;
    }),
  ),
  { sessionTtl: 10_000 },
).subscribe({
  next: (session) => {
    // The identity authenticate returned for the connection that opened the session.
    const member: Member = { name: String(session.identity), joined: false, link: undefined };
    room.set(session.id, member);
    // Requests: `join` answers with who is in the room; `leave` says goodbye.
    const answer = (request: Request) => {
      if ('leave' in request) return `bye, ${member.name}`;
      member.joined = true;
      return [...room.values()].flatMap((m) => (m.joined ? [m.name] : []));
    };
    const leave = () => room.delete(session.id);
    session.events$.pipe(serveRequests<Request, Post, ChatLine>(answer)).subscribe({
      next: (event) => {
        if (event.type === 'connected') member.link = event.link;
        else if (event.type === 'frame') {
          const line: ChatLine = { seq: ++relayed, from: member.name, text: event.frame.text };
          // Everyone, the sender included; a member who is away gets it when its session resumes.
          for (const other of room.values()) other.link?.send(line);
        }
      },
      error: leave,
      complete: leave,
    });
  },
  // Only listening can fail the session server (a port in use); sessions end on their own.
  error: (error: unknown) => console.error('server: cannot listen', error),
});

// ---------------------------------------------------------------------------------------------
// The bad network: a TCP proxy between the clients and the server, with a fault injector.

const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
let cuts = 0;

function startProxy(target: number): Promise<{ port: number; close(): void }> {
  const proxy = net.createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
    const upstream = net.connect({ port: target, host: '127.0.0.1', noDelay: true });
    const pair = { client, server: upstream };
    pairs.add(pair);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('error', () => undefined); // resets are what this proxy is for
      from.pipe(to);
      from.on('close', () => {
        pairs.delete(pair);
        to.destroy();
      });
    }
    upstream.once('connect', () => client.resume());
  });
  return new Promise((resolve) =>
    proxy.listen(0, '127.0.0.1', () =>
      resolve({
        port: (proxy.address() as net.AddressInfo).port,
        close: () => {
          for (const pair of pairs) {
            pair.client.destroy();
            pair.server.destroy();
          }
          proxy.close();
        },
      }),
    ),
  );
}

/** Cuts one connection like a crash does: an RST to one side (in turn), a FIN to the other. */
function cutOne(): void {
  const live = [...pairs].filter((pair) => !pair.client.destroyed && !pair.server.connecting);
  const pair = live[Math.floor(random() * live.length)];
  if (pair) {
    cuts++;
    const [reset, close] = cuts % 2 ? [pair.client, pair.server] : [pair.server, pair.client];
    // A socket shutting down already (its side ended) cannot be reset: Node would never close it.
    if (reset.writableEnded) reset.destroy();
    else reset.resetAndDestroy();
    close.destroy();
    console.log(`  ✂ cut #${cuts}: a connection was reset`);
  }
  timers.push(asyncScheduler.schedule(cutOne, between(CUT_EVERY)));
}

// ---------------------------------------------------------------------------------------------
// The clients.

interface Client {
  readonly name: string;
  readonly session: ClientSession<ChatLine, Post>;
  readonly seen: ChatLine[];
  readonly problems: string[];
  reconnects: number;
}

const port = await listening;
const proxy = await startProxy(port);
console.log(
  `chat server on 127.0.0.1:${port}; clients connect through a cutting proxy on port ${proxy.port}`,
);

let onLine = (): void => undefined;
const jitter = seededRandom(seed ^ 0x5eed);
const clients: Client[] = NAMES.map((name) => {
  const session = openSession(
    tcp({ host: '127.0.0.1', port: proxy.port }).pipe(
      // First on every connection: the layers below, and the client's name as its credentials.
      handshake({ layers: LAYERS, credentials: name }),
      heartbeat(HEARTBEAT),
      reconnectWith(policy.exponential({ initial: 20, max: 500 }).jitter('full', { random: jitter })),
      resumable(),
      cancelPending<ChatLine, Post>({ timeout: 10_000 }),
    ),
  );
  const client: Client = { name, session, seen: [], problems: [], reconnects: 0 };
  session.state$.subscribe((state) => {
    if (state.status === 'reconnecting') client.reconnects++;
  });
  session.messages$.subscribe({
    next: (line) => {
      const last = client.seen.at(-1);
      if (line.seq !== (last?.seq ?? 0) + 1)
        client.problems.push(`got #${line.seq} after #${last?.seq ?? 0}`);
      client.seen.push(line);
      // The transcript, as alice sees it.
      if (name === 'alice') console.log(`[${String(line.seq).padStart(3)}] ${line.from}: ${line.text}`);
      onLine();
    },
    error: (error: unknown) => client.problems.push(`session failed: ${String(error)}`),
  });
  return client;
});

// Everyone joins first (a request each), so that everyone is in the room before the first line.
for (const client of clients) {
  const members = await firstValueFrom(
    client.session.request<string[]>({ join: true } satisfies Request, { idempotent: true }),
  );
  console.log(`${client.name} joined; in the room: ${members.join(', ')}`);
}

// Then they talk, and the fault injector cuts.
timers.push(asyncScheduler.schedule(cutOne, between(CUT_EVERY)));
for (const client of clients) {
  let written = 0;
  timers.push(
    asyncScheduler.schedule(function post() {
      written++;
      client.session.send({ text: `line ${written} of ${linesEach}` });
      if (written < linesEach) this.schedule(undefined, between(POST_EVERY));
    }, between(POST_EVERY)),
  );
}

const total = NAMES.length * linesEach;
const done = () => clients.every((c) => c.seen.length >= total || c.problems.length > 0);
const finished = await new Promise<boolean>((resolve) => {
  const deadline = asyncScheduler.schedule(() => resolve(false), DEADLINE_MS);
  onLine = () => {
    if (!done()) return;
    deadline.unsubscribe();
    resolve(true);
  };
});

for (const timer of timers.splice(0)) timer.unsubscribe();
// No more cuts. Each client leaves with a request: its answer proves the connection is live again
// (a cut just before would be noticed, and resumed from, first), so close() then ends it cleanly.
for (const client of clients) {
  if (!finished || client.problems.length) continue;
  await firstValueFrom(
    client.session.request<string>({ leave: true } satisfies Request, { idempotent: true }),
  );
}
for (const client of clients) client.session.close();
server.unsubscribe();
proxy.close();

// ---------------------------------------------------------------------------------------------
// The verdict: every client saw every line exactly once, in the server's order, each author's lines
// in the order written, and all clients saw the same transcript.

const transcript = (c: Client) => c.seen.map((l) => `${l.seq} ${l.from} ${l.text}`).join('\n');
console.log(`summary (seed ${seed}): ${cuts} cuts, ${relayed} lines relayed`);
let ok = finished;
if (!finished) console.log(`  error: not every line arrived within ${DEADLINE_MS / 1000} s`);
for (const client of clients) {
  for (const author of NAMES) {
    const texts = client.seen.filter((l) => l.from === author).map((l) => l.text);
    const expected = Array.from({ length: linesEach }, (_, i) => `line ${i + 1} of ${linesEach}`);
    if (texts.join('\n') !== expected.join('\n'))
      client.problems.push(`${author}'s lines are not all there, in order`);
  }
  if (transcript(client) !== transcript(clients[0]!))
    client.problems.push(`saw a different transcript than alice`);
  console.log(
    `  ${client.name.padEnd(5)}  saw ${client.seen.length} of ${total} lines, reconnected ${client.reconnects} times` +
      (client.problems.length ? `; problems: ${client.problems.join('; ')}` : ''),
  );
  if (client.problems.length || client.seen.length !== total) ok = false;
}
console.log(
  ok
    ? 'OK: every client saw every line exactly once, in order.'
    : 'FAILED: lines were lost, duplicated or reordered.',
);
// On failure a client may still be reconnecting: exit without waiting for it.
if (ok) process.exitCode = 0;
else process.exit(1);
