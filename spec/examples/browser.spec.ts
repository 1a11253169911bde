import { expect } from 'chai';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { ProbeEvent } from '../../examples/browser/page.js';

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

/** What the page reported to `window.lifelineProbe`, in order, across reloads. */
class Probe {
  readonly events: ProbeEvent[] = [];
  private waiters: { test: () => boolean; done: () => void }[] = [];

  /** Makes `page` (and every page it navigates to) report here. */
  static async on(page: Page): Promise<Probe> {
    const probe = new Probe();
    await page.exposeFunction('lifelineProbe', (event: ProbeEvent) => probe.push(event));
    return probe;
  }

  private push(event: ProbeEvent): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((waiter) => !(waiter.test() && (waiter.done(), true)));
  }

  /** Resolves once `test` holds over the events (checked now and at each event); fails at WAIT. */
  until(what: string, test: (events: readonly ProbeEvent[]) => boolean): Promise<void> {
    if (test(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.done !== done);
        const last = JSON.stringify(this.events.slice(-5));
        reject(new Error(`the page did not report ${what} in ${WAIT.timeout} ms; last events: ${last}`));
      }, WAIT.timeout);
      const done = () => {
        clearTimeout(deadline);
        resolve();
      };
      this.waiters.push({ test: () => test(this.events), done });
    });
  }

  /** The events of each page load, split at each `opened`. */
  lives(): ProbeEvent[][] {
    const lives: ProbeEvent[][] = [];
    for (const event of this.events) {
      if (event.type === 'opened') lives.push([]);
      lives.at(-1)?.push(event);
    }
    return lives;
  }
}

/** The events of the last page load. */
function lastLife(events: readonly ProbeEvent[]): ProbeEvent[] {
  let at = events.length - 1;
  while (at >= 0 && events[at]!.type !== 'opened') at--;
  return at < 0 ? [] : events.slice(at);
}

function count(events: readonly ProbeEvent[], type: ProbeEvent['type']): number {
  return events.filter((event) => event.type === type).length;
}

function ticks(events: readonly ProbeEvent[]): number[] {
  return events.flatMap((event) => (event.type === 'tick' ? [event.seq] : []));
}

function notesSent(events: readonly ProbeEvent[]): number[] {
  return events.flatMap((event) => (event.type === 'sent' ? [event.n] : []));
}

/** The session the page reported last. */
function sessionOf(events: readonly ProbeEvent[]): string | undefined {
  let id: string | undefined;
  for (const event of events) if (event.type === 'session') id = event.id;
  return id;
}

function restoredOf(events: readonly ProbeEvent[]) {
  const opened = events.find((event) => event.type === 'opened');
  return opened?.type === 'opened' ? opened.restored : undefined;
}

/** The numbers `from, from + 1, …` up to `length` of them. */
function run(from: number, length: number): number[] {
  return Array.from({ length }, (_, i) => from + i);
}

/** Resolves once the server printed `text` (already or later); fails at WAIT. */
function printed(server: Server, text: string): Promise<void> {
  if (server.stdout.includes(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      server.child.stdout.off('data', check);
      reject(new Error(`the server did not print ${JSON.stringify(text)}; it printed:\n${server.stdout}`));
    }, WAIT.timeout);
    const check = () => {
      // The chunk reached server.stdout first: startServer's listener was added before this one.
      if (!server.stdout.includes(text)) return;
      clearTimeout(deadline);
      server.child.stdout.off('data', check);
      resolve();
    };
    server.child.stdout.on('data', check);
  });
}

interface NoteCount {
  received: number;
  last: number;
  gaps: number;
  duplicates: number;
}

/** The server's count of the notes each session sent (GET /notes). */
async function serverNotes(server: Server): Promise<Record<string, NoteCount>> {
  const response = await fetch(new URL('/notes', server.url));
  return (await response.json()) as Record<string, NoteCount>;
}

/** Runs `body` with a server and a fresh Chromium profile, and stops both whatever happens. */
async function withBrowser(body: (server: Server, context: BrowserContext) => Promise<void>): Promise<void> {
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
    await body(server, context);
  } finally {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
    server.child.kill('SIGTERM');
    code = await server.closed;
  }
  expect(code).to.equal(0);
  expect(server.stderr).to.equal('');
}

/** Collects the page's uncaught errors, to show with a failure and to check there were none. */
function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.stack ?? error.message));
  return errors;
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

  it('is reloaded mid-stream and resumes its session from IndexedDB, nothing lost either way', async function () {
    this.timeout(60_000);
    await withBrowser(async (server, context) => {
      const page = context.pages()[0] ?? (await context.newPage());
      const errors = pageErrors(page);
      const probe = await Probe.on(page);
      await page.goto(server.url);
      // Both ways streaming: 20 ticks in, 20 notes out, then the reload cuts into them.
      await probe.until('20 ticks and 20 notes', (e) => count(e, 'tick') >= 20 && count(e, 'sent') >= 20);
      await page.reload();
      await probe.until('a resumed session after the reload', (e) => {
        const life = lastLife(e);
        return probe.lives().length === 2 && sessionOf(life) !== undefined;
      });
      await probe.until('20 more ticks and notes', (e) => {
        const life = lastLife(e);
        return count(life, 'tick') >= 20 && count(life, 'sent') >= 20;
      });
      // Ends the session cleanly: the server has every note sent, and its session ends.
      await page.click('#close');
      await probe.until('the session closed', (e) => count(e, 'closed') === 1);
      await printed(server, 'page left (0 open)');

      const [before, after] = probe.lives() as [ProbeEvent[], ProbeEvent[]];
      expect(restoredOf(before), 'a fresh profile starts with an empty journal').to.equal(undefined);
      const session = sessionOf(before)!;
      const restored = restoredOf(after)!;
      expect(restored.session, 'the journal kept the session').to.equal(session);
      expect(sessionOf(after), 'the reloaded page resumed that same session').to.equal(session);

      // Server to page: the reloaded page goes on right after the last tick its journal recorded as
      // received (those after it, delivered but not yet committed at the reload, come again).
      const ticksBefore = ticks(before);
      const ticksAfter = ticks(after);
      const first = ticksBefore[0]!;
      expect(ticksBefore).to.deep.equal(run(first, ticksBefore.length));
      // The reload drops the probe's calls still in flight (Playwright's exposed function), so the
      // journal may have recorded a tick or note the probe never heard of: at least one, no bound above.
      expect(restored.received).to.be.at.least(1);
      expect(ticksAfter).to.deep.equal(run(first + restored.received, ticksAfter.length));

      // Page to server: notes numbered on from what the journal accepted; the server has each once.
      const sentBefore = notesSent(before);
      const sentAfter = notesSent(after);
      expect(sentBefore).to.deep.equal(run(1, sentBefore.length));
      expect(restored.lastSeq).to.be.at.least(1);
      expect(sentAfter).to.deep.equal(run(restored.lastSeq + 1, sentAfter.length));
      const last = sentAfter.at(-1)!;
      expect(await serverNotes(server)).to.deep.equal({
        [session]: { received: last, last, gaps: 0, duplicates: 0 },
      });
      expect(errors).to.deep.equal([]);
      console.log(
        `      reload: the journal had ${restored.received} of ${ticksBefore.length} ticks as received ` +
          `(${ticksBefore.length - restored.received} delivered again) and ${restored.lastSeq} of ` +
          `${sentBefore.length} notes (${sentBefore.length - restored.lastSeq} sent again); the server got notes 1..${last} once each`,
      );
    });
  });

  it('refuses a second tab on the same journal, and lets one with ?takeover take the session over', async function () {
    this.timeout(60_000);
    await withBrowser(async (server, context) => {
      const first = context.pages()[0] ?? (await context.newPage());
      const firstErrors = pageErrors(first);
      const firstProbe = await Probe.on(first);
      await first.goto(server.url);
      await firstProbe.until('5 ticks', (e) => count(e, 'tick') >= 5);
      const session = sessionOf(firstProbe.events)!;

      // A second tab: refused, the first one goes on.
      const second = await context.newPage();
      const secondProbe = await Probe.on(second);
      await second.goto(server.url);
      await secondProbe.until('a failure', (e) => count(e, 'failed') === 1);
      expect(secondProbe.events.find((e) => e.type === 'failed')).to.include({
        name: 'JournalHeldError',
        reason: 'held',
      });
      expect(await second.textContent('#badge')).to.contain('another tab holds this journal');
      const ticksSoFar = count(firstProbe.events, 'tick');
      await firstProbe.until('more ticks', (e) => count(e, 'tick') >= ticksSoFar + 3);
      expect(count(firstProbe.events, 'failed')).to.equal(0);
      await second.close();

      // A third tab with ?takeover: it resumes the session; the first tab's stream fails.
      const third = await context.newPage();
      const thirdErrors = pageErrors(third);
      const thirdProbe = await Probe.on(third);
      await third.goto(new URL('/?takeover', server.url).href);
      await firstProbe.until('a failure', (e) => count(e, 'failed') === 1);
      expect(firstProbe.events.find((e) => e.type === 'failed')).to.include({
        name: 'JournalHeldError',
        reason: 'taken-over',
      });
      await thirdProbe.until('its session and 10 ticks and notes', (e) => {
        return sessionOf(e) !== undefined && count(e, 'tick') >= 10 && count(e, 'sent') >= 10;
      });
      expect(restoredOf(thirdProbe.events)?.session).to.equal(session);
      expect(sessionOf(thirdProbe.events)).to.equal(session);

      await third.click('#close');
      await thirdProbe.until('the session closed', (e) => count(e, 'closed') === 1);
      await printed(server, 'page left (0 open)');
      // The notes go on from what the first tab's journal accepted: each reached the server once.
      const restored = restoredOf(thirdProbe.events)!;
      const sent = notesSent(thirdProbe.events);
      expect(sent).to.deep.equal(run(restored.lastSeq + 1, sent.length));
      const last = sent.at(-1)!;
      expect(await serverNotes(server)).to.deep.equal({
        [session]: { received: last, last, gaps: 0, duplicates: 0 },
      });
      expect(firstErrors).to.deep.equal([]);
      expect(thirdErrors).to.deep.equal([]);
    });
  });
});
