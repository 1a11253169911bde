// Root hooks: every test must leave no socket, server or timer behind (DESIGN.md invariant 3).
// Resources are compared by kind with what was active before the test; closing handles take a few
// turns of the event loop, so the check waits on the loop (setImmediate), never on a clock.

import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

// Node names a TCP socket's handle TCPSocketWrap (a listening one TCPServerWrap), a child process's
// ProcessWrap, and a unix socket's, listening or not, PipeWrap.
const WATCHED = new Set([
  'TCPSocketWrap',
  'TCPServerWrap',
  'ProcessWrap',
  'Timeout',
  'PipeWrap',
  'UDPWrap',
  'HTTPParser',
]);

// A watchdog for the one failure Mocha cannot time out: a test stuck in a synchronous loop never
// returns to the event loop, so its timeout timer never fires and the run hangs without a word.
// A worker thread watches the running test's deadline (its Mocha timeout plus 30 s) in shared
// memory and, past it, names the test on stderr and ends the process.
/** Past a stuck test's Mocha timeout, how long the watchdog waits (`WATCHDOG_GRACE_MS`). */
const GRACE_MS = Number(process.env.WATCHDOG_GRACE_MS ?? 30_000);
const TITLE_BYTES = 1024;
const shared = new SharedArrayBuffer(16 + TITLE_BYTES);
/** [0]: the running test's deadline in ms since the epoch (0: none); [1]: its title's length. */
const deadline = new Float64Array(shared, 0, 2);
const title = new Uint8Array(shared, 16, TITLE_BYTES);
const watchdog = new Worker(
  `
  const { workerData } = require('node:worker_threads');
  const { writeSync } = require('node:fs');
  const deadline = new Float64Array(workerData, 0, 2);
  const title = new Uint8Array(workerData, 16, ${TITLE_BYTES});
  setInterval(() => {
    const due = deadline[0];
    if (due === 0 || Date.now() < due) return;
    const name = new TextDecoder().decode(title.slice(0, deadline[1]));
    writeSync(2, '\\nwatchdog: "' + name + '" never returned to the event loop (a synchronous loop?); ending the run\\n');
    process.kill(process.pid, 'SIGABRT');
  }, 1_000);
  `,
  { eval: true, workerData: shared },
);
watchdog.unref();

function watch(test: Mocha.Test | undefined): void {
  const timeout = test?.timeout() ?? 0;
  if (!test || timeout <= 0) {
    deadline[0] = 0;
    return;
  }
  const bytes = new TextEncoder().encode(test.fullTitle()).subarray(0, TITLE_BYTES);
  title.set(bytes);
  deadline[1] = bytes.length;
  deadline[0] = Date.now() + timeout + GRACE_MS;
}
const MAX_TURNS = 2000;
/** How long the process may take to end after the last test (`END_GRACE_MS`). */
const END_GRACE_MS = Number(process.env.END_GRACE_MS ?? 20_000);
/** What the process still holds at its end without a test having left it: stdio, unref'd timers. */
const EXPECTED_AT_END = new Set(['Timeout', 'PipeWrap', 'TTYWrap']);

function activeCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (WATCHED.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

function leaks(before: Map<string, number>): string[] {
  const found: string[] = [];
  for (const [kind, count] of activeCounts()) {
    const extra = count - (before.get(kind) ?? 0);
    if (extra > 0) found.push(`${extra} ${kind}`);
  }
  return found;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

let baseline = new Map<string, number>();

export const mochaHooks = {
  // Both hooks return synchronously when nothing leaked, so Mocha sets no timer of its own for them.
  // Also called bare by the leak check's own spec: no context, no test to watch.
  beforeEach(this: unknown) {
    watch((this as Partial<Mocha.Context> | undefined)?.currentTest);
    baseline = activeCounts();
  },
  afterEach(this: Mocha.Context): void | Promise<void> {
    // The test returned: its deadline must not run on into the next suite's `before` hooks (an
    // `npm pack` and install takes minutes), which Mocha times out by itself.
    deadline[0] = 0;
    if (leaks(baseline).length === 0) return;
    const hook = this.runnable();
    const title = this.currentTest?.fullTitle() ?? 'the test';
    return (async () => {
      let found: string[] = [];
      for (let i = 0; i < MAX_TURNS; i++) {
        await turn();
        // Mocha armed this hook's own timeout timer when it got the promise: not the test's leak.
        hook.clearTimeout();
        found = leaks(baseline);
        if (found.length === 0) return;
      }
      throw new Error(`${title} left resources behind: ${found.join(', ')}`);
    })();
  },
  // After the last test the process must end by itself (Mocha's `exit: false`). If something a test
  // left keeps the event loop going, say what it is and end the run as failed, instead of a CI job
  // that never ends. The timer is unref'd: it never keeps a clean process alive.
  afterAll(): void {
    // The watchdog catches a process that never returns to its event loop (a microtask loop),
    // which no timer can; the timer says what keeps a live loop going.
    const bytes = new TextEncoder().encode('the end of the run (after its last test)');
    title.set(bytes);
    deadline[1] = bytes.length;
    deadline[0] = Date.now() + 2 * END_GRACE_MS;
    const timer = setTimeout(() => {
      const left = process.getActiveResourcesInfo().filter((kind) => !EXPECTED_AT_END.has(kind));
      writeSync(
        2,
        `\nthe run did not end ${END_GRACE_MS} ms after its last test: still active: ${left.join(', ') || 'timers only'}\n`,
      );
      // Mocha sets the exit code from its failures in an 'exit' listener: this one comes after it.
      process.on('exit', () => (process.exitCode = 70));
      process.exit(70);
    }, END_GRACE_MS);
    timer.unref();
    // Once nothing is left to do (the loop is empty: the process would end by itself), end it here.
    // Node's teardown after that has been seen to spin at full CPU for good in its cleanup of a
    // socket's request (Environment::CleanupHandles), turning a passed run into a job that never
    // ends; what is still counted then is said, so it can be found.
    process.once('beforeExit', () => {
      const left = process.getActiveResourcesInfo().filter((kind) => !EXPECTED_AT_END.has(kind));
      if (left.length > 0) writeSync(2, `\nthe run ended with these still counted: ${left.join(', ')}\n`);
      process.exit();
    });
  },
};
