import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type * as lifeline from 'rx-lifeline';
import { indexedDbJournal, IndexedDbJournalError, JournalHeldError } from 'rx-lifeline';

/** What the page has as `window.lifeline`: the same exports, bundled for it. */
type Lifeline = typeof lifeline;

/** Debian's chromium package; `npm test` installs it first (scripts/system-deps.ts). */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'];
/**
 * The page's origin. Requests to it are answered by the test (page.route), so nothing listens
 * there; a loopback address makes it a secure context, which the Web Locks API needs.
 */
const ORIGIN = 'http://127.0.0.1:9';

/** lib/ bundled for the browser, exposed as `window.lifeline`. */
async function bundle(): Promise<string> {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const out = await build({
    stdin: {
      contents: "import * as lifeline from 'rx-lifeline'; window.lifeline = lifeline;",
      resolveDir: root,
    },
    tsconfig: `${root}tsconfig.json`,
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

describe('indexedDbJournal', () => {
  describe('options (in Node)', () => {
    it('refuses a misspelled option, naming it', async () => {
      const options = { maxframes: 3 } as never;
      const error = await indexedDbJournal('chat', options).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TypeError);
      expect((error as Error).message).to.equal(
        "indexedDbJournal: unknown option 'maxframes' (did you mean 'maxFrames'?); known options: maxFrames, maxBytes, takeOver, durability, commitTimeout, scheduler",
      );
    });

    it('refuses nonsense values and names, naming them', async () => {
      const cases: [string, object, RegExp][] = [
        ['', {}, /^indexedDbJournal: name must be a non-empty string, got ""$/],
        ['chat', { maxFrames: 0 }, /^indexedDbJournal: maxFrames must be an integer ≥ 1, got 0$/],
        ['chat', { maxBytes: 1.5 }, /^indexedDbJournal: maxBytes must be an integer ≥ 1, got 1.5$/],
        ['chat', { takeOver: 'yes' }, /^indexedDbJournal: takeOver must be true or false, got "yes"$/],
        [
          'chat',
          { durability: 'fast' },
          /^indexedDbJournal: durability must be 'strict' or 'relaxed', got "fast"$/,
        ],
        ['chat', { commitTimeout: 0 }, /^indexedDbJournal: commitTimeout must be a number > 0/],
        ['chat', { commitTimeout: '30s' }, /^indexedDbJournal: commitTimeout must be a number > 0/],
        ['chat', { scheduler: 'async' }, /^indexedDbJournal: scheduler must be/],
      ];
      for (const [name, options, message] of cases) {
        const error = await indexedDbJournal(name, options).catch((e: unknown) => e);
        expect(error, JSON.stringify(options)).to.be.instanceOf(TypeError);
        expect((error as Error).message).to.match(message);
      }
    });

    it('says that Node has no IndexedDB, and what to use instead', async () => {
      const error = await indexedDbJournal('chat').catch((e: unknown) => e);
      expect(IndexedDbJournalError.is(error)).to.equal(true);
      expect(error).to.include({ reason: 'unavailable', journal: 'chat' });
      expect((error as Error).message).to.contain('use memoryJournal() or fileJournal() there');
      expect(Object.hasOwn(error as object, 'cause'), 'no cause to tell').to.equal(false);
    });

    it('its errors keep the cause they are given as their cause, and have none otherwise', () => {
      const cause = new Error('QuotaExceededError');
      const error = new IndexedDbJournalError('full', { journal: 'chat', reason: 'storage', cause });
      expect(error.cause).to.equal(cause);
      expect(error).to.include({ journal: 'chat', reason: 'storage' });
      const held = new JournalHeldError('held', { journal: 'chat', reason: 'held', cause });
      expect(held.cause).to.equal(cause);
      const bare = new JournalHeldError('held', { journal: 'chat', reason: 'held' });
      expect(Object.hasOwn(bare, 'cause')).to.equal(false);
    });
  });

  describe('in Chromium', function () {
    this.timeout(30_000);
    let browser: Browser;
    let script: string;
    let context: BrowserContext;
    let page: Page;
    const html = '<!doctype html><meta charset="utf-8"><script src="/lifeline.js"></script>';

    before(async () => {
      script = await bundle();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    });
    after(() => browser?.close());

    beforeEach(async () => {
      context = await browser.newContext();
      // tsx compiles this file keeping function names, with a helper the page does not have.
      await context.addInitScript('window.__name = (f) => f;');
      await context.route(`${ORIGIN}/**`, (route) => {
        const js = route.request().url().endsWith('/lifeline.js');
        return route.fulfill({
          contentType: js ? 'text/javascript' : 'text/html',
          body: js ? script : html,
        });
      });
      page = await context.newPage();
      await page.goto(`${ORIGIN}/`);
    });
    afterEach(() => context?.close());

    it('restores what was committed when opened again, without the acknowledged frames', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal } = (window as unknown as { lifeline: Lifeline }).lifeline;
        const first = await indexedDbJournal('a');
        const empty = first.restore();
        first.session('s1', 't1');
        for (let seq = 1; seq <= 5; seq++) first.sent(seq, { n: seq, text: `frame ${seq}` });
        first.received(3);
        await first.commit();
        first.acked(2);
        const kept = { frames: first.frames, bytes: first.bytes };
        await first.commit();
        await first.close();
        const again = await indexedDbJournal('a');
        const restored = again.restore();
        again.clear();
        await again.commit();
        await again.close();
        const cleared = (await indexedDbJournal('a')).restore();
        return { empty, kept, restored, cleared };
      });
      expect(result.empty).to.equal(undefined);
      expect(result.kept.frames).to.equal(3);
      expect(result.kept.bytes).to.be.above(0);
      expect(result.restored).to.deep.equal({
        session: 's1',
        token: 't1',
        lastSeq: 5,
        received: 3,
        frames: [3, 4, 5].map((seq) => ({ seq, frame: { n: seq, text: `frame ${seq}` } })),
        lastAcked: { seq: 2, frame: { n: 2, text: 'frame 2' } },
      });
      expect(result.cleared).to.equal(undefined);
    });

    it('keeps a delivery told alone, never one older than it has, a new token for the same session with its frames, and no frame of another session', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal } = (window as unknown as { lifeline: Lifeline }).lifeline;
        const first = await indexedDbJournal('k');
        first.session('s1', 't1');
        first.sent(1, 'a');
        await first.commit();
        first.received(4); // nothing else pending: this alone is written
        const bytes = first.bytes;
        await first.close();
        const second = await indexedDbJournal('k');
        const delivered = second.restore();
        const reopenedBytes = second.bytes;
        second.received(2); // older than 4: ignored
        second.session('s1', 't2'); // the same session, a new token: its frames stay
        await second.close();
        const third = await indexedDbJournal('k');
        const renewed = third.restore();
        third.session('s2', 't3'); // another session: nothing of s1 is kept
        const other = third.restore();
        await third.close();
        return { delivered, renewed, other, bytes, reopenedBytes };
      });
      // 'a' is 2 bytes of MessagePack, counted again when the frame is read back.
      expect([result.bytes, result.reopenedBytes]).to.deep.equal([2, 2]);
      const kept = { session: 's1', lastSeq: 1, received: 4, frames: [{ seq: 1, frame: 'a' }] };
      expect(result.delivered).to.deep.equal({ ...kept, token: 't1' });
      expect(result.renewed).to.deep.equal({ ...kept, token: 't2' });
      expect(result.other).to.deep.equal({ session: 's2', token: 't3', lastSeq: 0, received: 0, frames: [] });
    });

    it('leaves out a stored frame that is not bytes (a damaged record) and opens all the same', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal } = (window as unknown as { lifeline: Lifeline }).lifeline;
        const first = await indexedDbJournal('d');
        first.session('s1', 't1');
        for (const [seq, frame] of [
          [1, 'a'],
          [2, 'b'],
          [3, 'c'],
        ] as const)
          first.sent(seq, frame);
        await first.commit();
        await first.close();
        // Something other than this library damages frames 2 and 3 in the database.
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open('rx-lifeline-journal:d', 1);
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        const damage = db.transaction('frames', 'readwrite');
        damage.objectStore('frames').put(null, 2);
        damage.objectStore('frames').put('junk', 3);
        await new Promise((resolve) => (damage.oncomplete = resolve));
        db.close();
        try {
          const again = await indexedDbJournal('d');
          const frames = again.restore()?.frames;
          await again.close();
          return frames;
        } catch (error) {
          return String(error);
        }
      });
      // resumable then refuses the state as damaged: the application clears it.
      expect(result).to.deep.equal([{ seq: 1, frame: 'a' }]);
    });

    it("keeps the last acknowledged frame of the application's, not a layer's own after it, across openings", async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal } = (window as unknown as { lifeline: Lifeline }).lifeline;
        // The mark the requests layer puts on its cancels and body parts (a symbol, not on the wire).
        const own = (frame: unknown[]) =>
          Object.defineProperty(frame, Symbol.for('rx-lifeline.layer-own-frame'), { value: true });
        const first = await indexedDbJournal('la');
        first.session('s1', 't1');
        first.sent(1, [0, 'a']);
        first.sent(2, own([3, 1]));
        first.sent(3, [0, 'b']);
        first.sent(4, own([4, 1, 'complete']));
        first.acked(2);
        await first.commit();
        await first.close();
        const second = await indexedDbJournal('la');
        const reopened = second.restore();
        second.acked(4); // frame 4 came back from the database: still a layer's own
        await second.commit();
        await second.close();
        const third = await indexedDbJournal('la');
        const allAcked = third.restore();
        await third.close();
        return { reopened, allAcked };
      });
      const base = { session: 's1', token: 't1', lastSeq: 4, received: 0 };
      expect(result).to.deep.equal({
        reopened: {
          ...base,
          frames: [
            { seq: 3, frame: [0, 'b'] },
            { seq: 4, frame: [4, 1, 'complete'] },
          ],
          lastAcked: { seq: 1, frame: [0, 'a'] },
        },
        allAcked: { ...base, frames: [], lastAcked: { seq: 3, frame: [0, 'b'] } },
      });
    });

    it('writes a session at once: the next commit resolves after it, then nothing is pending', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal } = (window as unknown as { lifeline: Lifeline }).lifeline;
        const journal = await indexedDbJournal('b');
        const idle = journal.commit();
        journal.session('s1', 't1');
        // Nothing told since: the commit is the session's own transaction, still in flight.
        const afterSession = journal.commit();
        await afterSession;
        const settled = journal.commit();
        journal.session('s2', 't2'); // another session: everything before is dropped
        await journal.close();
        const restored = (await indexedDbJournal('b')).restore();
        return {
          idle: idle === undefined,
          inFlight: afterSession !== undefined,
          settled: settled === undefined,
          restored,
        };
      });
      expect(result).to.deep.equal({
        idle: true,
        inFlight: true,
        settled: true,
        restored: { session: 's2', token: 't2', lastSeq: 0, received: 0, frames: [] },
      });
    });

    it('refuses a frame past maxFrames or maxBytes with a JournalFullError, keeping the others', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal, JournalFullError } = (window as unknown as { lifeline: Lifeline }).lifeline;
        const refusal = (call: () => void) => {
          try {
            call();
            return undefined;
          } catch (error) {
            if (!JournalFullError.is(error)) throw error;
            const { frames, bytes, frameBytes, maxFrames, maxBytes } = error;
            return { frames, bytes, frameBytes, maxFrames, maxBytes, message: error.message };
          }
        };
        const byCount = await indexedDbJournal('c', { maxFrames: 2 });
        byCount.sent(1, 'a');
        byCount.sent(2, 'b');
        const count = refusal(() => byCount.sent(3, 'c'));
        byCount.acked(1);
        const roomAgain = refusal(() => byCount.sent(3, 'c'));
        const byBytes = await indexedDbJournal('d', { maxBytes: 10 });
        byBytes.sent(1, 'abcd'); // 5 bytes of MessagePack
        const bytes = refusal(() => byBytes.sent(2, 'abcdef')); // 7 more: past 10
        const exactly = refusal(() => byBytes.sent(2, 'wxyz')); // 5 more: 10, the cap itself
        return {
          count,
          roomAgain,
          bytes,
          exactly,
          kept: byCount.restore()?.frames,
          keptBytes: byBytes.restore()?.frames,
        };
      });
      expect(result.count).to.deep.include({ frames: 2, bytes: 4, frameBytes: 2, maxFrames: 2 });
      expect(result.count?.message).to.contain('wait for the server to acknowledge, or raise the caps');
      expect(result.roomAgain).to.equal(undefined);
      expect(result.kept).to.deep.equal([
        { seq: 2, frame: 'b' },
        { seq: 3, frame: 'c' },
      ]);
      expect(result.bytes).to.deep.include({ frames: 1, bytes: 5, frameBytes: 7, maxBytes: 10 });
      expect(result.exactly).to.equal(undefined);
      expect(result.keptBytes).to.deep.equal([
        { seq: 1, frame: 'abcd' },
        { seq: 2, frame: 'wxyz' },
      ]);
    });

    it('refuses a frame MessagePack cannot carry, keeping nothing of it', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal, IndexedDbJournalError } = (window as unknown as { lifeline: Lifeline })
          .lifeline;
        const journal = await indexedDbJournal('e');
        let deep: unknown = 'bottom';
        for (let i = 0; i < 1_100; i++) deep = [deep];
        try {
          journal.sent(1, deep);
          return undefined;
        } catch (error) {
          return IndexedDbJournalError.is(error)
            ? { reason: error.reason, frames: journal.frames }
            : String(error);
        }
      });
      expect(result).to.deep.equal({ reason: 'unencodable', frames: 0 });
    });

    it('refuses a second opening while one holds it; takeOver makes the first refuse every call', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal, JournalHeldError } = (window as unknown as { lifeline: Lifeline }).lifeline;
        const reasonOf = (error: unknown) => (JournalHeldError.is(error) ? error.reason : String(error));
        const first = await indexedDbJournal('f');
        first.session('s1', 't1');
        first.sent(1, 'kept');
        await first.commit();
        const held = await indexedDbJournal('f').then(
          () => 'opened',
          (error: unknown) => reasonOf(error),
        );
        const second = await indexedDbJournal('f', { takeOver: true });
        // Whether or not the first has heard of the take-over yet, its next write is refused.
        let late: string;
        try {
          first.sent(2, 'late');
          await first.commit();
          late = 'written';
        } catch (error) {
          late = reasonOf(error);
        }
        let after: string;
        try {
          first.restore();
          after = 'restored';
        } catch (error) {
          after = reasonOf(error);
        }
        const restored = second.restore();
        await second.close();
        const third = await indexedDbJournal('f');
        const thirdRestored = third.restore()?.frames;
        await third.close();
        return { held, late, after, restored, thirdRestored };
      });
      expect(result).to.deep.equal({
        held: 'held',
        late: 'taken-over',
        after: 'taken-over',
        restored: {
          session: 's1',
          token: 't1',
          lastSeq: 1,
          received: 0,
          frames: [{ seq: 1, frame: 'kept' }],
        },
        thirdRestored: [{ seq: 1, frame: 'kept' }],
      });
    });

    it('fails the journal, typed and on failure$, when a transaction has not completed within commitTimeout', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal, IndexedDbJournalError } = (window as unknown as { lifeline: Lifeline })
          .lifeline;
        const journal = await indexedDbJournal('stall', { commitTimeout: 200 });
        // Another connection holds the database: a transaction kept alive by one request after another.
        const other = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open('rx-lifeline-journal:stall');
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        let holding = true;
        const held = other.transaction(['meta', 'frames'], 'readwrite');
        const spin = () => {
          if (holding) held.objectStore('meta').get('spin').onsuccess = spin;
        };
        spin();
        const failed = new Promise<unknown>((resolve) => journal.failure$.subscribe(resolve));
        journal.sent(1, 'a');
        journal.sent(2, 'b');
        const started = performance.now();
        void journal.commit()?.catch(() => undefined);
        const failure = await failed;
        const waited = performance.now() - started;
        let later: unknown;
        try {
          journal.sent(3, 'c');
        } catch (error) {
          later = error;
        }
        holding = false;
        other.close();
        return {
          typed: IndexedDbJournalError.is(failure) && failure.reason,
          message: (failure as Error).message,
          waited: waited >= 190,
          laterIsIt: later === failure,
        };
      });
      expect(result.typed).to.equal('storage');
      expect(result.message).to.match(
        /a transaction did not complete within 200 ms \(commitTimeout\): the 2 frames written since the last one that did may not be kept/,
      );
      expect(result.waited, 'not before the deadline').to.equal(true);
      expect(result.laterIsIt, 'every later call throws it').to.equal(true);
    });

    it('times commitTimeout (30 s by default) on its scheduler, from the frames since the last commit that completed, a later commit keeping the earlier deadline, and leaves nothing armed', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal } = (window as unknown as { lifeline: Lifeline }).lifeline;
        /** A scheduler in virtual time, moved by hand: `advance(to)` runs what is due by then. */
        let now = 0;
        const queue: { at: number; work: () => void; closed: boolean }[] = [];
        const scheduler = {
          now: () => now,
          schedule(work: () => void, delay = 0) {
            const entry = { at: now + delay, work, closed: false };
            queue.push(entry);
            return {
              get closed() {
                return entry.closed;
              },
              unsubscribe: () => void (entry.closed = true),
            };
          },
        };
        const armed = () => queue.some((entry) => !entry.closed);
        const advance = (to: number) => {
          for (;;) {
            const due = queue
              .filter((entry) => !entry.closed && entry.at <= to)
              .sort((a, b) => a.at - b.at)[0];
            if (!due) break;
            due.closed = true;
            now = due.at;
            due.work();
          }
          now = to;
        };
        const journal = await indexedDbJournal('bounded', { scheduler: scheduler as never });
        const failures: string[] = [];
        journal.failure$.subscribe((failure) => failures.push(failure.message));
        journal.sent(1, 'kept');
        await journal.commit();
        const armedAfterACommit = armed();
        // Another connection holds the database: the next commit's transaction waits.
        const other = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open('rx-lifeline-journal:bounded');
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        let holding = true;
        const held = other.transaction(['meta', 'frames'], 'readwrite');
        const spin = () => {
          if (holding) held.objectStore('meta').get('spin').onsuccess = spin;
        };
        spin();
        journal.sent(2, 'a');
        journal.sent(3, 'b');
        void journal.commit()?.catch(() => undefined);
        advance(20_000);
        // Later commits, of nothing new or of one more frame, do not push the first one's deadline back.
        void journal.commit()?.catch(() => undefined);
        journal.sent(4, 'c');
        void journal.commit()?.catch(() => undefined);
        advance(29_999);
        const failedBefore = failures.length;
        advance(30_000);
        const failedAt = failures.slice();
        const armedAfterFailing = armed();
        holding = false;
        other.close();
        // A journal closed with a commit in flight leaves no deadline behind either.
        const second = await indexedDbJournal('bounded-close', { scheduler: scheduler as never });
        second.sent(1, 'x');
        const committing = second.commit();
        const armedWhileCommitting = armed();
        const closing = second.close();
        const armedAfterClose = armed();
        await Promise.all([committing, closing]);
        // Nor one that fails otherwise (another page deletes its database) with a commit in flight.
        const third = await indexedDbJournal('bounded-deleted', { scheduler: scheduler as never });
        third.sent(1, 'y');
        void third.commit()?.catch(() => undefined);
        const deleted = new Promise<void>((resolve) => {
          indexedDB.deleteDatabase('rx-lifeline-journal:bounded-deleted').onsuccess = () => resolve();
        });
        const thirdFailed = await new Promise<unknown>((resolve) => third.failure$.subscribe(resolve));
        const armedAfterOtherFailure = armed();
        await deleted;
        return {
          armedAfterACommit,
          failedBefore,
          failedAt,
          armedAfterFailing,
          armedWhileCommitting,
          armedAfterClose,
          thirdFailed: thirdFailed !== undefined,
          armedAfterOtherFailure,
        };
      });
      expect(result.armedAfterACommit, 'a commit that completed disarms its deadline').to.equal(false);
      expect(result.failedBefore, 'not failed 1 ms before the deadline').to.equal(0);
      expect(result.failedAt).to.have.length(1);
      expect(result.failedAt[0]).to.match(
        /within 30000 ms \(commitTimeout\): the 2 frames written since the last one that did/,
      );
      expect(result.armedAfterFailing, 'a failed journal keeps no deadline').to.equal(false);
      expect(result.armedWhileCommitting, 'a commit in flight is bounded').to.equal(true);
      expect(result.armedAfterClose, 'a closed journal keeps no deadline').to.equal(false);
      expect(result.thirdFailed).to.equal(true);
      expect(result.armedAfterOtherFailure, 'a journal failed otherwise keeps no deadline').to.equal(false);
    });

    it('a tab taken over fails its idle stream at once, typed, with no call to its journal; the other tab resumes', async () => {
      // The first tab: a live session, then idle (nothing sent or received).
      await page.evaluate(async () => {
        const { acceptSessions, indexedDbJournal, memory, resumable, JournalHeldError } = (
          window as unknown as { lifeline: Lifeline }
        ).lifeline;
        const journal = await indexedDbJournal('idle');
        const calls: string[] = [];
        const counted = journal as unknown as Record<string, (...args: unknown[]) => unknown>;
        for (const call of ['sent', 'acked', 'received', 'commit', 'session']) {
          const original = counted[call]!.bind(journal);
          counted[call] = (...args: unknown[]) => (calls.push(call), original(...args));
        }
        const pair = memory();
        const server = acceptSessions(pair.server).subscribe();
        const state = window as unknown as { idle: Record<string, unknown> };
        state.idle = { calls };
        let connected!: () => void;
        const isConnected = new Promise<void>((resolve) => (connected = resolve));
        state.idle['failed'] = new Promise((resolve) => {
          pair.transport.pipe(resumable({ journal })).subscribe({
            next: (event) => {
              if (event.type !== 'connected') return;
              state.idle['connected'] = calls.length;
              connected();
            },
            error: (error: unknown) => {
              server.unsubscribe();
              resolve(JournalHeldError.is(error) ? `${error.name} ${error.reason}` : String(error));
            },
          });
        });
        await isConnected;
        await journal.commit(); // the welcome is durable: the session is in the database
      });
      // The second tab takes the journal over.
      const second = await context.newPage();
      await second.goto(`${ORIGIN}/`);
      const restored = await second.evaluate(async () => {
        const { indexedDbJournal } = (window as unknown as { lifeline: Lifeline }).lifeline;
        const journal = await indexedDbJournal('idle', { takeOver: true });
        const state = journal.restore();
        await journal.close();
        return state?.session === undefined ? 'nothing' : 'a session';
      });
      const result = await page.evaluate(async () => {
        const state = (window as unknown as { idle: Record<string, unknown> }).idle;
        const calls = state['calls'] as string[];
        const atConnected = state['connected'] as number;
        const guard = new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000));
        const failed = await Promise.race([state['failed'], guard]);
        return { failed, callsAfterConnected: calls.slice(atConnected).filter((c) => c !== 'commit') };
      });
      expect(restored).to.equal('a session');
      expect(result).to.deep.equal({ failed: 'JournalHeldError taken-over', callsAfterConnected: [] });
    });

    it('writes nothing once a later opening claimed the database, even before it hears of the lock', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal, JournalHeldError } = (window as unknown as { lifeline: Lifeline }).lifeline;
        const journal = await indexedDbJournal('h');
        journal.sent(1, 'kept');
        await journal.commit();
        // What another opening does first, here without taking the lock: claim the database.
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open('rx-lifeline-journal:h', 1);
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        const claim = db.transaction('meta', 'readwrite');
        const owner = claim.objectStore('meta').get('owner');
        owner.onsuccess = () => claim.objectStore('meta').put((owner.result as number) + 1, 'owner');
        await new Promise((resolve) => (claim.oncomplete = resolve));
        journal.sent(2, 'late');
        const refused = await journal.commit()!.then(
          () => 'written',
          (error: unknown) => (JournalHeldError.is(error) ? error.reason : String(error)),
        );
        const read = db.transaction('frames').objectStore('frames').getAllKeys();
        const keys = await new Promise((resolve) => (read.onsuccess = () => resolve(read.result)));
        db.close();
        // A subscriber after the failure gets it, and the end, as one before it did.
        const late: string[] = [];
        journal.failure$.subscribe({
          next: (error) => late.push(JournalHeldError.is(error) ? error.reason : String(error)),
          complete: () => late.push('complete'),
        });
        return { refused, keys, late };
      });
      expect(result).to.deep.equal({ refused: 'taken-over', keys: [1], late: ['taken-over', 'complete'] });
    });

    it('refuses every call once closed, and lets the next opening have the lock', async () => {
      const result = await page.evaluate(async () => {
        const { indexedDbJournal, IndexedDbJournalError } = (window as unknown as { lifeline: Lifeline })
          .lifeline;
        const journal = await indexedDbJournal('g');
        journal.sent(1, 'x');
        await journal.close();
        await journal.close(); // again: nothing
        let refused: string;
        try {
          journal.sent(2, 'y');
          refused = 'kept';
        } catch (error) {
          refused = IndexedDbJournalError.is(error) ? error.reason : String(error);
        }
        const again = await indexedDbJournal('g');
        return { refused, frames: again.restore()?.frames };
      });
      expect(result).to.deep.equal({ refused: 'closed', frames: [{ seq: 1, frame: 'x' }] });
    });
  });
});
