// A pool with leases for a LOCK / PUT / UNLOCK exchange (seed 002: git-annex's proxy, where an
// interrupted transfer left its connection open and the retry then failed). An embedded TCP server
// grants locks per connection: a lock belongs to the connection that took it, only that connection
// may release it, and it dies with the connection. The steps of one exchange therefore have to stay
// on one connection — a lease — and an exchange interrupted midway must not hand its connection,
// and the lock it holds, to the next user.
//
// Exchange 1 runs whole and returns its connection to the pool. Exchange 2 borrows that connection;
// the server never answers its PUT (a stuck disk), so the exchange times out and is interrupted:
// the lease closes its connection, which releases the lock on the server. retryWith tries again, on
// a fresh connection, and succeeds. At the end nothing is left open: the pool, the server and the
// process all close. Exit code 0 means every step went as described.
// Run: npx tsx examples/pool-lease.ts
import {
  concatMap,
  defer,
  first,
  from,
  lastValueFrom,
  map,
  Observable,
  switchMap,
  tap,
  throwError,
  timeout,
  toArray,
} from 'rxjs';
import { ConnectionPool, GaveUpError, policy, retryWith, type Lease, type Link } from 'rx-lifeline';
import { tcp, tcpServer } from 'rx-lifeline/node';

type Step = { op: 'LOCK' | 'UNLOCK'; key: string } | { op: 'PUT'; key: string; value: string };
/** A step got no answer in time: the exchange's state on the server is unknown, so it is interrupted. */
class StepTimeoutError extends Error {
  override readonly name = 'StepTimeoutError';
}

type Reply = { ok: true; detail: string } | { ok: false; error: string };

// ---------------------------------------------------------------------------------------------
// The lock server: locks per connection; the 2nd PUT it receives is never answered.

const holders = new Map<string, number>(); // key → connection number
const serverConnections = new Set<number>();
let connectionCount = 0;
let puts = 0;
let onServerIdle = (): void => undefined;

function answer(id: number, step: Step): Reply | undefined {
  const holder = holders.get(step.key);
  switch (step.op) {
    case 'LOCK':
      if (holder !== undefined)
        return { ok: false, error: `'${step.key}' is locked by connection #${holder}` };
      holders.set(step.key, id);
      return { ok: true, detail: `locked '${step.key}'` };
    case 'PUT':
      if (holder !== id) return { ok: false, error: `'${step.key}' is not locked by this connection` };
      if (++puts === 2) return undefined; // stuck: no answer, ever
      return { ok: true, detail: `stored ${step.value.length} bytes` };
    case 'UNLOCK':
      if (holder !== id) return { ok: false, error: `'${step.key}' is not locked by this connection` };
      holders.delete(step.key);
      return { ok: true, detail: `unlocked '${step.key}'` };
  }
}

let resolvePort!: (port: number) => void;
const listening = new Promise<number>((resolve) => (resolvePort = resolve));
const server = tcpServer<Step, Reply>({ host: '127.0.0.1', port: 0 }).subscribe({
  next: (event) => {
    if (event.type === 'listening') return resolvePort(event.port);
    if (event.type !== 'connection') return; // a refusal or a connection that failed unsubscribed
    const id = ++connectionCount;
    serverConnections.add(id);
    let link: Link<Reply> | undefined;
    const ended = () => {
      serverConnections.delete(id);
      for (const [key, holder] of holders) {
        if (holder !== id) continue;
        holders.delete(key);
        console.log(`  server: connection #${id} closed; its lock on '${key}' is released with it`);
      }
      if (serverConnections.size === 0) onServerIdle();
    };
    event.connection.subscribe({
      next: (e) => {
        if (e.type === 'connected') link = e.link;
        else {
          const reply = answer(id, e.frame);
          if (reply) link?.send(reply);
        }
      },
      error: ended,
      complete: ended,
    });
  },
  // Only listening can fail the server itself (a port in use).
  error: (error: unknown) => console.error('server: cannot listen', error),
});
const port = await listening;
const address = `tcp://127.0.0.1:${port}`;
console.log(`lock server listening on ${address}`);

// ---------------------------------------------------------------------------------------------
// The client: a pool of connections to the server, and exchanges on leases.

let dials = 0;
const pool = new ConnectionPool<Reply, Step>({
  dial: (origin) => {
    dials++;
    return tcp<Reply, Step>({ host: origin.host, port: origin.port });
  },
  idlePerKey: 1,
});
const counts = () => {
  const { open, idle } = pool.snapshot().total;
  return `pool: ${open} open, ${idle} idle`;
};

/** Sends one step on the lease's connection and waits for its reply (frames$ is hot: subscribe first). */
function ask(lease: Lease<Reply, Step>, step: Step): Observable<Reply> {
  return new Observable<Reply>((subscriber) => {
    const reply = lease.frames$.pipe(first()).subscribe(subscriber);
    lease.link.send(step);
    return reply;
  });
}

/** LOCK, PUT, UNLOCK on one leased connection, each step within 300 ms; resolves with the replies. */
function exchange(name: string, key: string, value: string): Observable<string[]> {
  const steps: Step[] = [
    { op: 'LOCK', key },
    { op: 'PUT', key, value },
    { op: 'UNLOCK', key },
  ];
  return defer(() => {
    const dialsBefore = dials;
    return pool.lease(address).pipe(
      switchMap((lease) => {
        const how = dials > dialsBefore ? `a new connection (dial #${dials})` : 'a connection from the pool';
        console.log(`${name}: leased ${how}, ${lease.link.info.local} → ${lease.link.info.remote}`);
        return from(steps).pipe(
          concatMap((step) =>
            ask(lease, step).pipe(
              timeout({
                first: 300,
                with: () => throwError(() => new StepTimeoutError(`no answer to ${step.op} within 300 ms`)),
              }),
              map((reply) => {
                if (!reply.ok) throw new Error(`${step.op} refused: ${reply.error}`);
                console.log(`  ${step.op.padEnd(6)} → ${reply.detail}`);
                return reply.detail;
              }),
            ),
          ),
          toArray(),
          tap(() => {
            lease.release(); // the exchange is finished: the connection may serve the next one
            console.log(`  released the lease; ${counts()}`);
          }),
        );
      }),
      tap({
        error: (error: unknown) =>
          console.log(
            `  interrupted (${(error as Error).message}): the lease closes its connection, never reused`,
          ),
      }),
    );
  });
}

const retry = policy
  .constant(100)
  .maxAttempts(3)
  .retryIf((error) => error instanceof Error);
const results: string[][] = [];
let failure: unknown;
try {
  results.push(await lastValueFrom(exchange('exchange 1', 'report.pdf', 'v1 of the report')));
  results.push(
    await lastValueFrom(exchange('exchange 2', 'report.pdf', 'v2 of the report').pipe(retryWith(retry))),
  );
} catch (error) {
  failure = error instanceof GaveUpError ? error.cause : error;
  console.log(`FAILED: ${String(failure)}`);
}

// ---------------------------------------------------------------------------------------------
// Nothing left open: the pool closes its idle connection, the server sees it go, then stops.

const stats = pool.snapshot().total;
const serverGone = new Promise<void>((resolve) => {
  onServerIdle = resolve;
  if (serverConnections.size === 0) resolve();
});
pool.close();
await serverGone;
server.unsubscribe();
console.log(
  `after pool.close(): ${counts()}; server: ${serverConnections.size} connections, ${holders.size} locks held; ${dials} dials in all`,
);
const ok =
  failure === undefined &&
  results.length === 2 &&
  stats.open === 1 &&
  dials === 2 &&
  serverConnections.size === 0 &&
  holders.size === 0;
console.log(
  ok ? 'OK: the interrupted exchange was discarded, the retry succeeded on a fresh connection.' : 'FAILED',
);
process.exitCode = ok ? 0 : 1;
