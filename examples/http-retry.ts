// An HTTP client that retries a flaky API (seed 004: tell transient failures from permanent ones,
// retry only what can succeed). A local server plays the API: busy (503, with Retry-After) at
// first, then failing with 500s for a while, then healthy. The client calls it with http() and
// retryWith(policy ... .breaker(...)) and prints every attempt and every change of the breaker:
//
// - a 503 is transient: retried, and its Retry-After (1 s) overrides the policy's shorter delay;
// - three transient failures in a row open the breaker, which holds the next attempt back until it
//   half-opens; that attempt is the probe;
// - a 500 is permanent (a bug behind it fails the same way again): never retried, the caller is
//   told at once;
// - once the API recovers, the probe succeeds and the breaker closes.
//
// Exit code 0 means every step went as described.
// Run: npx tsx examples/http-retry.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastValueFrom, tap } from 'rxjs';
import {
  CircuitBreaker,
  consecutiveFailures,
  GaveUpError,
  HttpError,
  http,
  policy,
  retryWith,
  type HttpResponse,
} from 'rx-lifeline';

// ---------------------------------------------------------------------------------------------
// The flaky API: its answer depends on how many requests it has seen.

/** What the API answers to its n-th request (1-based). */
function behaviour(n: number): { status: number; headers?: Record<string, string>; body: unknown } {
  if (n === 1)
    return { status: 503, headers: { 'retry-after': '1' }, body: { error: 'busy, come back in 1 s' } };
  if (n <= 3) return { status: 503, body: { error: 'busy' } };
  if (n <= 5) return { status: 500, body: { error: 'TypeError: cannot read properties of undefined' } };
  return { status: 200, body: { quote: 'The network is reliable. (fallacy #1)', served: n } };
}

let requests = 0;
const server = createServer((request, response) => {
  const answer = behaviour(++requests);
  response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  response.end(JSON.stringify(answer.body));
  request.resume();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/quote`;

// ---------------------------------------------------------------------------------------------
// The client: one breaker for the API, shared by every call to it; one policy per call.

const started = performance.now();
const clock = () => `${String(Math.round(performance.now() - started)).padStart(5)} ms`;
const breaker = new CircuitBreaker({ strategy: consecutiveFailures(3), openFor: 1_000 });
const transitions: string[] = [];
const watch = breaker.state$.subscribe(({ state }) => {
  transitions.push(state);
  console.log(`${clock()}  breaker: ${state}`);
});
const retry = policy.exponential({ initial: 100, max: 2_000 }).maxAttempts(6).breaker(breaker);

interface Quote {
  quote: string;
  served: number;
}

/** When each attempt of the latest call started. */
let attemptTimes: number[] = [];

/** One call: GET the quote, retried per `retry`; prints each attempt and how it ended. */
async function call(name: string): Promise<HttpResponse<Quote> | Error> {
  let attempt = 0;
  attemptTimes = [];
  console.log(`${clock()}  ${name}: GET ${url}`);
  try {
    // lastValueFrom, not firstValueFrom: retryWith reports a success to the breaker when the attempt
    // completes, and firstValueFrom would unsubscribe at the value, before the completion.
    const response = await lastValueFrom(
      http<Quote>(url).pipe(
        tap({
          subscribe: () => {
            attemptTimes.push(performance.now());
            console.log(`${clock()}    attempt ${++attempt}`);
          },
          error: (error: unknown) => {
            if (!HttpError.is(error)) return;
            const hint = error.retryAfterMs === undefined ? '' : ` (Retry-After: ${error.retryAfterMs} ms)`;
            console.log(`${clock()}    attempt ${attempt} failed: HTTP ${error.status}${hint}`);
          },
        }),
        retryWith(retry),
      ),
    );
    console.log(
      `${clock()}  ${name}: HTTP ${response.status} after ${attempt} attempt(s): "${response.body.quote}"`,
    );
    return response;
  } catch (error) {
    // A GaveUpError's message names its cause (here the HttpError with the status).
    console.log(
      `${clock()}  ${name}: failed after ${attempt} attempt(s): ${String((error as Error).message)}`,
    );
    return error as Error;
  }
}

const first = await call('call 1');
const [a1 = 0, a2 = 0, a3 = 0] = attemptTimes;
const second = await call('call 2');
const third = await call('call 3');

watch.unsubscribe();
server.close();
server.closeAllConnections();

// ---------------------------------------------------------------------------------------------
// What the run showed.

const checks: [string, boolean][] = [
  ['the 503 said Retry-After: 1, so the retry waited 1 s (the policy alone says 100 ms)', a2 - a1 >= 1_000],
  [
    "the next 503 had no Retry-After: the policy's backoff (200 ms) applied",
    a3 - a2 >= 200 && a3 - a2 < 1_000,
  ],
  [
    'call 1 was retried after the 503s and gave up on the 500 without retrying it',
    first instanceof GaveUpError && first.reason === 'permanent' && requests >= 4,
  ],
  [
    'the breaker opened after three 503s and let a probe through after 1 s',
    transitions.slice(0, 3).join(' ') === 'closed open half-open',
  ],
  ['call 2 hit a 500 once and was not retried', second instanceof GaveUpError && second.attempts === 1],
  [
    'call 3 succeeded once the API recovered, and the breaker closed',
    !(third instanceof Error) && transitions.at(-1) === 'closed',
  ],
];
for (const [what, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'}  ${what}`);
const ok = checks.every(([, passed]) => passed);
console.log(ok ? 'OK: retried what could succeed, and only that.' : 'FAILED');
process.exitCode = ok ? 0 : 1;
