// Root hooks: every test must leave no socket, server or timer behind (DESIGN.md invariant 3).
// Resources are compared by kind with what was active before the test; closing handles take a few
// turns of the event loop, so the check waits on the loop (setImmediate), never on a clock.

const WATCHED = new Set(['TCPWrap', 'TCPServerWrap', 'Timeout', 'PipeWrap', 'UDPWrap', 'HTTPParser']);
const MAX_TURNS = 2000;

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
  beforeEach() {
    baseline = activeCounts();
  },
  afterEach(this: Mocha.Context): void | Promise<void> {
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
};
