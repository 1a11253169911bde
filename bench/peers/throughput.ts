// Throughput of every system over one loopback connection, one way (client → server) and echo
// (client → server → client), with 64-byte and 1 KiB payloads: frames/s and payload MB/s, each
// as a ratio to the batched raw baseline of its wire. Client and server share this process, for
// every system alike.
import { formatRate, interleavedRuns, markdownTable, now, rowOf, type Row, type Sample } from '../harness.js';
import { barChartSvg, formatRatio, PAYLOAD_SIZES, turn, type PeersOptions, type Section } from './common.js';
import type { ThroughputRig } from './channel.js';
import { rawNetRig, rawWsRig } from './raw.js';
import { partySocketRig, rxjsWebSocketRig, socketIoRig } from './peer-rigs.js';
import { lifelinePlainRig, lifelineStackRig } from './lifeline-rigs.js';

/** Frames produced per event-loop turn, for every system alike. */
export const BURST = 500;

/** Echo: frames sent and not yet echoed back, at most. */
export const ECHO_WINDOW = 2 * BURST;

/** One workload. */
export interface ThroughputCase {
  payloadBytes: number;
  frames: number;
  echo: boolean;
}

/** Every system, raw baselines first. */
export const THROUGHPUT_RIGS: readonly ThroughputRig[] = [
  rawNetRig(false),
  rawNetRig(true),
  lifelinePlainRig('tcp'),
  lifelineStackRig('tcp'),
  rawWsRig(false),
  rawWsRig(true),
  socketIoRig,
  partySocketRig,
  rxjsWebSocketRig,
  lifelinePlainRig('websocket'),
  lifelineStackRig('websocket'),
];

/** Frames per run: enough for ~0.1 s on the fastest system, a few hundred in a quick run. */
export function framesFor(payloadBytes: number, quick: boolean): number {
  if (quick) return payloadBytes > 256 ? 500 : 1_000;
  return payloadBytes > 256 ? 10_000 : 20_000;
}

/**
 * One run: opens the rig, sends the case's frames in bursts of {@link BURST} (waiting where the
 * system's backpressure says so; with echo, while {@link ECHO_WINDOW} frames are unanswered),
 * and times until the last frame (or echo) has arrived and been decoded. Rejects if more arrive.
 */
export async function throughputRun(rig: ThroughputRig, c: ThroughputCase): Promise<Sample> {
  let arrived = 0;
  let resolveDone!: () => void;
  let rejectDone!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => ((resolveDone = resolve), (rejectDone = reject)));
  const channel = await rig.open(c.echo, () => {
    if (++arrived === c.frames) resolveDone();
    else if (arrived > c.frames) rejectDone(new Error(`${rig.name}: ${arrived} frames of ${c.frames}`));
  });
  const payload = new Uint8Array(c.payloadBytes).fill(7);
  const start = now();
  for (let sent = 0; sent < c.frames;) {
    const room = c.echo ? ECHO_WINDOW - (sent - arrived) : BURST;
    const n = Math.min(BURST, room, c.frames - sent);
    let ok = true;
    for (let i = 0; i < n && ok; i++, sent++) ok = channel.send(payload);
    if (!channel.flush() || !ok) await channel.drained();
    else await turn();
  }
  await done;
  const ms = now() - start;
  await channel.close();
  if (arrived !== c.frames) throw new Error(`${rig.name}: ${arrived} frames arrived of ${c.frames}`);
  return { items: c.frames, bytes: c.frames * c.payloadBytes, ms };
}

/** A measured row with the rig it came from. */
export interface ThroughputRow extends Row {
  rig: ThroughputRig;
}

/**
 * Measures every rig on one case (a warm-up each, then `runs` rounds in which every rig runs once,
 * see {@link interleavedRuns}): the median rows.
 */
export async function throughputRows(
  rigs: readonly ThroughputRig[],
  c: ThroughputCase,
  runs: number,
): Promise<ThroughputRow[]> {
  const samples = await interleavedRuns(
    rigs.map((rig) => () => throughputRun(rig, c)),
    runs,
  );
  return rigs.map((rig, i) => ({ ...rowOf(rig.name, samples[i]!), rig }));
}

/** One case's table: frames/s, payload MB/s and the ratio to the baseline of the row's wire. */
export function throughputTable(rows: readonly ThroughputRow[]): string {
  const baselineOf = (row: ThroughputRow) =>
    rows.find((r) => r.rig.baseline && r.rig.wire === row.rig.wire)?.perSecond ?? NaN;
  const body = rows.map((row) => [
    row.rig.name,
    row.rig.wire,
    formatRate(row.perSecond),
    (row.mbPerSecond ?? 0).toFixed(1),
    formatRatio(row.perSecond, baselineOf(row)),
  ]);
  return markdownTable(['system', 'wire', 'frames/s', 'payload MB/s', '× raw batched (same wire)'], body);
}

const caseTitle = (c: ThroughputCase, runs: number) =>
  `${c.echo ? 'Echo' : 'One way'}, ${c.payloadBytes}-byte payloads, ${c.frames} frames, median of ${runs}`;

/** The throughput section: four tables (one way and echo, 64 B and 1 KiB) and a chart. */
export async function benchThroughput(
  options: PeersOptions,
  rigs: readonly ThroughputRig[] = THROUGHPUT_RIGS,
): Promise<Section> {
  const parts: string[] = [];
  let chart: ThroughputRow[] = [];
  for (const echo of [false, true]) {
    for (const payloadBytes of PAYLOAD_SIZES) {
      const c = { payloadBytes, echo, frames: framesFor(payloadBytes, options.quick) };
      const rows = await throughputRows(rigs, c, options.runs);
      if (!echo && payloadBytes === PAYLOAD_SIZES[0]) chart = rows;
      const table = `${caseTitle(c, options.runs)}\n\n${throughputTable(rows)}`;
      console.log(`\n${table}`);
      parts.push(table);
    }
  }
  const notes = [
    'Client and server in one process for every system; 127.0.0.1; payloads are `Uint8Array`s encoded',
    'as MessagePack by every system: msgpackr for the raw baselines and the peers; lifeline through its',
    'codec, which writes and reads simple values (binaries, integers, its envelopes) itself, byte for',
    'byte what msgpackr writes and faster, and checks each decoded value (socket.io then wraps each body',
    'as a binary attachment of its own packet format). MB/s counts',
    `payload bytes. Frames go out ${BURST} per event-loop turn; a sender waits where its library says`,
    'to (lifeline `send` → `drain$`, `bufferedAmount`, socket.io’s write buffer; RxJS webSocket() has',
    `no such signal). Echo keeps at most ${ECHO_WINDOW} frames unanswered and counts round trips.`,
  ].join(' ');
  return {
    title: 'Throughput',
    markdown: `${notes}\n\n${parts.join('\n\n')}`,
    svg: {
      file: 'peers-throughput.svg',
      content: barChartSvg(
        `One way, ${PAYLOAD_SIZES[0]}-byte payloads: frames/s (median)`,
        chart.map((row) => ({ label: row.rig.name, value: row.perSecond })),
        formatRate,
      ),
    },
  };
}
