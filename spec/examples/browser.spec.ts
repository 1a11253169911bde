import { expect } from 'chai';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium package; `npm test` installs it first (scripts/system-deps.ts). */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The longest any one wait may take: a deadline for a failing run, not a pause. */
const WAIT = { timeout: 20_000 };

interface Server {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly url: string;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code once the process exited and its pipes closed. */
  readonly closed: Promise<number | null>;
}

/** Starts `npx tsx examples/browser/server.ts --port 0` and resolves once it printed its address. */
function startServer(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/browser/server.ts', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const closed = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    let stdout = '';
    let stderr = '';
    let server: Server | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (server) server.stdout = stdout;
      const url = /open (http:\/\/127\.0\.0\.1:\d+\/) in a browser/.exec(stdout)?.[1];
      if (url && !server) {
        server = { child, url, stdout, stderr, closed };
        resolve(server);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (server) server.stderr = stderr;
    });
    child.on('error', reject);
    void closed.then((code) => {
      if (!server) reject(new Error(`the server exited (${code}) before listening:\n${stdout}\n${stderr}`));
    });
  });
}

/** A number from a data attribute of the page. */
async function attribute(page: Page, selector: string, name: string): Promise<number> {
  return Number(await page.getAttribute(selector, `data-${name}`));
}

/** Waits until the page has received at least `count` messages. */
async function received(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (n) => Number(document.querySelector<HTMLElement>('#stats')?.dataset.received ?? 0) >= n,
    count,
    WAIT,
  );
}

describe('examples/browser (a page on WebSocket, in headless Chromium)', () => {
  it('shows live messages, survives the server killing its socket, and loses nothing', async function () {
    this.timeout(60_000);
    const server = await startServer();
    const profile = await mkdtemp(path.join(tmpdir(), 'lifeline-chromium-'));
    let context: BrowserContext | undefined;
    let code: number | null;
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
        headless: true,
      });
      const page = context.pages()[0] ?? (await context.newPage());
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
      await page.goto(server.url);
      await page.waitForSelector('#badge[data-state="connected"]', WAIT).catch((error: Error) => {
        throw new Error(`${error.message}\nerrors in the page: ${pageErrors.join('\n') || 'none'}`);
      });
      await received(page, 10);

      // The server kills the page's socket (no close frame: the browser sees code 1006).
      const before = await attribute(page, '#stats', 'received');
      await page.click('#cut');
      // The badge counts down, then the session resumes and the badge is green again.
      await page.waitForSelector('#badge[data-state="connected"][data-reconnects="1"]', WAIT);
      const history = await page.getAttribute('#badge', 'data-history');
      expect(history).to.equal('connecting connected reconnecting connected');
      // Messages flow again: 15 more after the cut.
      await received(page, before + 15);

      // Every message from the first one on, exactly once and in order, the cut notwithstanding.
      // Read in one turn of the page's event loop: messages keep arriving between two reads.
      const seen = await page.evaluate(() => {
        const stats = document.querySelector<HTMLElement>('#stats')!.dataset;
        const items = Array.from(document.querySelectorAll<HTMLElement>('#messages li'));
        return {
          seqs: items.map((item) => Number(item.dataset.seq)).reverse(),
          received: Number(stats.received),
          gaps: Number(stats.gaps),
          duplicates: Number(stats.duplicates),
        };
      });
      const first = seen.seqs[0]!;
      expect(seen.seqs).to.deep.equal(Array.from({ length: seen.seqs.length }, (_, i) => first + i));
      expect(seen.received).to.equal(seen.seqs.length);
      expect(seen.gaps).to.equal(0);
      expect(seen.duplicates).to.equal(0);
      expect(pageErrors).to.deep.equal([]);
      expect(server.stdout).to.contain('cut: killed 1 WebSocket connection\n');
      expect(server.stdout).to.match(/page resumed its session; \d+ messages resent/);
    } finally {
      await context?.close();
      await rm(profile, { recursive: true, force: true });
      // SIGTERM asks the server to close everything; 'close' says it exited and its pipes closed.
      server.child.kill('SIGTERM');
      code = await server.closed;
    }
    expect(code).to.equal(0);
    expect(server.stderr).to.equal('');
    expect(server.stdout).to.contain('stopped');
  });
});
