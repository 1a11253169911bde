// The browser side of examples/browser: a page that subscribes to the example server's live
// messages over WebSocket, with lifeline's browser-safe core bundled by esbuild (server.ts does it).
// The stream is websocket() + handshake + heartbeat + reconnectWith + resumable, so a cut costs
// nothing: the badge says "reconnecting in N s", then "connected" again, and the list carries on
// without a gap or a duplicate. The page also sends a numbered note every 50 ms, which the server
// counts. Its session lives in an IndexedDB journal: reload the page (or let the tab crash) and the
// next page resumes the same session, with every message that reached the journal, both ways. One
// tab per journal: a second tab is refused, unless opened with ?takeover, which takes the session
// over and ends the first tab's. The page also writes what it received into data attributes, and
// reports each step to window.lifelineProbe when a test defined it (spec/examples/browser.spec.ts).
import { take } from 'rxjs';
import {
  handshake,
  heartbeat,
  indexedDbJournal,
  LifelineError,
  policy,
  reconnectWith,
  resumable,
  websocket,
  type IndexedDbSessionJournal,
  type Link,
} from 'rx-lifeline';

/** A message of the example server's live feed. */
export interface Tick {
  seq: number;
  at: string;
  text: string;
}

/** A message the page sends to the server: `n` counts from 1 over the whole session. */
export interface Note {
  n: number;
  text: string;
}

/** What the page reports to a test, if one listens (window.lifelineProbe). */
export type ProbeEvent =
  | {
      type: 'opened';
      restored: { session: string | undefined; lastSeq: number; received: number } | undefined;
    }
  | { type: 'session'; id: string | undefined }
  | { type: 'tick'; seq: number }
  | { type: 'sent'; n: number }
  | { type: 'failed'; name: string; reason: string | undefined; message: string }
  | { type: 'closed' };

const probe = (event: ProbeEvent) =>
  (window as { lifelineProbe?: (event: ProbeEvent) => void }).lifelineProbe?.(event);

const badge = document.querySelector<HTMLElement>('#badge')!;
const list = document.querySelector<HTMLOListElement>('#messages')!;
const stats = document.querySelector<HTMLElement>('#stats')!;
const cut = document.querySelector<HTMLButtonElement>('#cut')!;
const close = document.querySelector<HTMLButtonElement>('#close')!;
/** The list shows the newest messages; the counters in #stats cover them all. */
const SHOWN = 500;

let received = 0;
let last: number | undefined;
let gaps = 0;
let duplicates = 0;
let reconnects = 0;
const history: string[] = [];
let countdown: number | undefined;

type BadgeState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

function setBadge(state: BadgeState, text: string): void {
  if (history.at(-1) !== state) history.push(state);
  badge.dataset.state = state;
  badge.dataset.history = history.join(' ');
  badge.dataset.reconnects = String(reconnects);
  badge.textContent = text;
}

function showCountdown(until: number): void {
  window.clearInterval(countdown);
  const show = () => {
    const left = until - performance.now();
    if (left > 0) setBadge('reconnecting', `reconnecting in ${(left / 1000).toFixed(1)} s`);
    else {
      window.clearInterval(countdown);
      setBadge('reconnecting', 'reconnecting now…');
    }
  };
  show();
  countdown = window.setInterval(show, 100);
}

function onTick(tick: Tick): void {
  probe({ type: 'tick', seq: tick.seq });
  received++;
  if (last !== undefined && tick.seq <= last) duplicates++;
  else if (last !== undefined && tick.seq > last + 1) gaps += tick.seq - last - 1;
  last = Math.max(last ?? 0, tick.seq);
  const item = document.createElement('li');
  item.dataset.seq = String(tick.seq);
  item.textContent = `#${tick.seq}  ${tick.at.slice(11, 23)}  ${tick.text}`;
  list.prepend(item);
  if (list.children.length > SHOWN) list.lastElementChild?.remove();
  stats.dataset.received = String(received);
  stats.dataset.last = String(last);
  stats.dataset.gaps = String(gaps);
  stats.dataset.duplicates = String(duplicates);
  showStats();
}

function showStats(): void {
  stats.dataset.sent = String(nextNote - 1);
  stats.textContent =
    `${received} received, ${gaps} missing, ${duplicates} duplicated, ${reconnects} reconnects; ` +
    `notes sent up to #${nextNote - 1}`;
}

function failed(error: unknown): void {
  window.clearInterval(countdown);
  window.clearInterval(sending);
  const name = error instanceof Error ? error.name : 'Error';
  const reason = LifelineError.is(error) ? (error as { reason?: string }).reason : undefined;
  badge.dataset.error = name;
  if (reason !== undefined) badge.dataset.reason = reason;
  setBadge('failed', `disconnected for good: ${String(error)}`);
  probe({ type: 'failed', name, reason, message: String(error) });
}

// The notes: numbered on from what the journal accepted before a reload (resent from there).
let nextNote = 1;
let link: Link<Note> | undefined;
let paused = false;
let sending: number | undefined;

function sendNote(): void {
  if (!link || paused) return;
  const n = nextNote;
  let ready: boolean;
  try {
    ready = link.send({ n, text: `note ${n} from the page` });
  } catch (error) {
    // The journal refused it (taken over by another tab, or full): the stream ends too.
    return failed(error);
  }
  nextNote++;
  probe({ type: 'sent', n });
  showStats();
  if (ready) return;
  paused = true;
  link.drain$.pipe(take(1)).subscribe(() => (paused = false));
}

async function main(): Promise<void> {
  setBadge('connecting', 'opening the journal…');
  let journal: IndexedDbSessionJournal;
  try {
    journal = await indexedDbJournal('live', {
      takeOver: new URLSearchParams(location.search).has('takeover'),
    });
  } catch (error) {
    // Another tab holds it (JournalHeldError), or no IndexedDB here.
    return failed(error);
  }
  const restored = journal.restore();
  probe({
    type: 'opened',
    restored: restored && {
      session: restored.session,
      lastSeq: restored.lastSeq,
      received: restored.received,
    },
  });
  nextNote = (restored?.lastSeq ?? 0) + 1;
  // Leaving (a reload, a navigation): commit what is pending and let the lock go now, so that the
  // next page finds the journal free instead of racing this one's teardown.
  window.addEventListener('pagehide', () => void journal.close(), { once: true });
  stats.dataset.restored = String(restored?.lastSeq ?? 0);

  const url = new URL('/live', window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  setBadge('connecting', 'connecting…');
  const onSession = () => {
    const id = journal.restore()?.session;
    if (id !== undefined) stats.dataset.session = id;
    probe({ type: 'session', id });
  };
  websocket<Tick, Note>({ url: url.href })
    .pipe(
      // First on each connection; the server's acceptHandshake() names the same layers.
      handshake({ layers: ['heartbeat', 'resumable'] }),
      heartbeat({ interval: 2_000, timeout: 6_000 }),
      reconnectWith(
        policy.exponential({ initial: 1_000, max: 10_000 }).jitter('equal', { random: Math.random }),
      ),
      resumable<Tick, Note>({ journal }),
    )
    .subscribe({
      next: (event) => {
        switch (event.type) {
          case 'connected':
            link = event.link;
            sending = window.setInterval(sendNote, 50);
            onSession();
            setBadge('connected', 'connected');
            break;
          case 'resumed':
            window.clearInterval(countdown);
            reconnects++;
            onSession();
            setBadge('connected', 'connected');
            break;
          case 'disconnected':
            showCountdown(performance.now() + event.delay);
            break;
          case 'frame':
            onTick(event.frame);
            break;
          default:
        }
      },
      error: failed,
      complete: () => {
        window.clearInterval(sending);
        setBadge('closed', 'session closed');
        probe({ type: 'closed' });
      },
    });
}

// Fault injection for humans: the server kills this page's socket, as a crash or a proxy would.
cut.addEventListener('click', () => void fetch('/cut', { method: 'POST' }));
// Ends the session for good: what is left is sent, the server is told, the journal cleared.
close.addEventListener('click', () => link?.close('closed by the page'));
void main();
