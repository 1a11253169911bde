// The browser side of examples/browser: a page that subscribes to the example server's live
// messages over WebSocket, with lifeline's browser-safe core bundled by esbuild (server.ts does it).
// The stream is websocket() + handshake + heartbeat + reconnectWith + resumable, so a cut costs
// nothing: the badge says "reconnecting in N s", then "connected" again, and the list carries on
// without a gap or a duplicate. The page also writes what it received into data attributes, for
// the end-to-end test (spec/examples/browser.spec.ts) to read.
import { handshake, heartbeat, policy, reconnectWith, resumable, websocket } from 'rx-lifeline';

/** A message of the example server's live feed. */
export interface Tick {
  seq: number;
  at: string;
  text: string;
}

const badge = document.querySelector<HTMLElement>('#badge')!;
const list = document.querySelector<HTMLOListElement>('#messages')!;
const stats = document.querySelector<HTMLElement>('#stats')!;
const cut = document.querySelector<HTMLButtonElement>('#cut')!;
/** The list shows the newest messages; the counters in #stats cover them all. */
const SHOWN = 500;

let received = 0;
let last: number | undefined;
let gaps = 0;
let duplicates = 0;
let reconnects = 0;
const history: string[] = [];
let countdown: number | undefined;

function setBadge(state: 'connecting' | 'connected' | 'reconnecting' | 'failed', text: string): void {
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
  stats.textContent = `${received} received, ${gaps} missing, ${duplicates} duplicated, ${reconnects} reconnects`;
}

const url = new URL('/live', window.location.href);
url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
setBadge('connecting', 'connecting…');
websocket<Tick>({ url: url.href })
  .pipe(
    // First on each connection; the server's acceptHandshake() names the same layers.
    handshake({ layers: ['heartbeat', 'resumable'] }),
    heartbeat({ interval: 2_000, timeout: 6_000 }),
    reconnectWith(
      policy.exponential({ initial: 1_000, max: 10_000 }).jitter('equal', { random: Math.random }),
    ),
    resumable<Tick>(),
  )
  .subscribe({
    next: (event) => {
      switch (event.type) {
        case 'connected':
          setBadge('connected', 'connected');
          break;
        case 'resumed':
          window.clearInterval(countdown);
          reconnects++;
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
    error: (error: unknown) => {
      window.clearInterval(countdown);
      setBadge('failed', `disconnected for good: ${String(error)}`);
    },
  });

// Fault injection for humans: the server kills this page's socket, as a crash or a proxy would.
cut.addEventListener('click', () => void fetch('/cut', { method: 'POST' }));
