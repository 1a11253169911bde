// Async iteration over a session's messages: `for await` with rxjs-for-await's eachValueFrom over
// the messages$ of an openSession() session. An embedded quote server on TCP (acceptHandshake +
// heartbeat on each connection, acceptSessions + serveRequests) answers a `watch` request, then
// streams numbered quotes as plain messages; half way through it cuts the connection. The loop
// does not notice: the session resumes, the server's replay fills the gap, and every quote arrives
// once and in order. The loop ends with `break` at the last quote, which unsubscribes; close() then
// ends the session. Exit code 0 means every quote arrived exactly once, in order.
// Run: npx tsx examples/async-iteration.ts
import { asyncScheduler, firstValueFrom, map, Subject, takeUntil } from 'rxjs';
import { eachValueFrom } from 'rxjs-for-await';
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
  type Link,
} from 'rx-lifeline';
import { tcp, tcpServer } from 'rx-lifeline/node';

interface Watch {
  watch: string;
  count: number;
}
interface Quote {
  n: number;
  symbol: string;
  price: number;
  last: boolean;
}

const COUNT = 12;
const CUT_AFTER = 5;
const HEARTBEAT = { interval: 1_000, timeout: 5_000 } as const;
/** The layers both ends stack: the client's handshake() and the server's acceptHandshake() name them. */
const LAYERS = ['heartbeat', 'resumable', 'requests'] as const;

// ---------------------------------------------------------------------------------------------
// The quote server. Completing `cut$` closes every connection open at that moment (on the server
// side), not the sessions: those wait for their clients to resume.

const cut$ = new Subject<void>();
let resolvePort!: (port: number) => void;
const listening = new Promise<number>((resolve) => (resolvePort = resolve));
const server = acceptSessions(
  tcpServer({ host: '127.0.0.1', port: 0 }).pipe(
    map((event) => {
      if (event.type === 'listening') resolvePort(event.port);
      return event.type === 'connection'
        ? {
            ...event,
            connection: event.connection.pipe(
              acceptHandshake({ layers: LAYERS }),
              heartbeat(HEARTBEAT),
              takeUntil(cut$),
            ),
          }
        : event;
    }),
  ),
).subscribe({
  next: (session) => {
    let link: Link<Quote> | undefined;
    // A `watch` request starts the stream: one quote every 30 ms, on the session's stable link.
    const watch = ({ watch: symbol, count }: Watch) => {
      let n = 0;
      let price = 100;
      asyncScheduler.schedule(function tick() {
        price = Math.round((price + Math.sin(++n) * 3) * 100) / 100;
        link?.send({ n, symbol, price, last: n === count });
        if (n === CUT_AFTER) {
          console.log(`  (server: quote ${n} sent; cutting the connection)`);
          cut$.next();
        }
        if (n < count) this.schedule(undefined, 30);
      }, 30);
      return `watching ${symbol}`;
    };
    session.events$.pipe(serveRequests<Watch, never, Quote>(watch)).subscribe({
      next: (event) => {
        if (event.type === 'connected') link = event.link;
      },
      // The session expired or its client broke the protocol: this session ends, the server goes on.
      error: (error: unknown) => console.error(`server: session ${session.id} ended`, error),
    });
  },
  error: (error: unknown) => console.error('server: cannot listen', error),
});
const port = await listening;

// ---------------------------------------------------------------------------------------------
// The client: a session, and a for-await loop over its messages.

const session = openSession(
  tcp({ host: '127.0.0.1', port }).pipe(
    handshake({ layers: LAYERS }),
    heartbeat(HEARTBEAT),
    reconnectWith(policy.exponential({ initial: 50, max: 1_000 })),
    resumable(),
    cancelPending<Quote, never>({ timeout: 5_000 }),
  ),
);
session.state$.subscribe((state) => {
  if (state.status !== 'connecting') console.log(`  [${state.status}]`);
});

// The request is sent now; its answer and the quotes arrive later, after the loop below has
// subscribed (messages$ is hot: it shows what arrives while someone listens).
const answer = firstValueFrom(session.request<string>({ watch: 'LIFE', count: COUNT } satisfies Watch));
const received: number[] = [];
for await (const quote of eachValueFrom(session.messages$)) {
  received.push(quote.n);
  console.log(`quote ${String(quote.n).padStart(2)}: ${quote.symbol} ${quote.price.toFixed(2)}`);
  if (quote.last) break; // unsubscribes from messages$
}
console.log(`server said: ${await answer}`);
session.close();
server.unsubscribe();

const ok = received.join() === Array.from({ length: COUNT }, (_, i) => i + 1).join();
console.log(
  ok
    ? `OK: ${COUNT} quotes, each once and in order, across a cut.`
    : `FAILED: received quotes ${received.join(', ')}`,
);
process.exitCode = ok ? 0 : 1;
