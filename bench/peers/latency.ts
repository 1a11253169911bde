// Request latency of every system that has request/ack: p50, p99 and p999 with 1, 100 and 1,000
// requests in flight, 64 B and 1 KiB payloads, each answered with its payload. Client and server
// share this process, for every system alike. Systems without acks get a row that says so.
import { formatRate, interleavedRuns, markdownTable, median, now } from '../harness.js';
import { formatRatio, NO_ACKS, PAYLOAD_SIZES, type PeersOptions, type Section } from './common.js';
import {
  lifelinePlainRequests,
  lifelineStackRequests,
  rawNetRequests,
  rawWsRequests,
  socketIoRequests,
  type LatencyRig,
} from './request-rigs.js';

/** Every system, baselines first; partysocket and RxJS webSocket() have no request/ack. */
export const LATENCY_RIGS: readonly LatencyRig[] = [
  rawNetRequests,
  lifelinePlainRequests('tcp'),
  lifelineStackRequests('tcp'),
  rawWsRequests,
  socketIoRequests,
  { name: 'partysocket (reconnecting WebSocket)', wire: 'WebSocket' },
  { name: 'RxJS webSocket() (ws as WebSocketCtor)', wire: 'WebSocket' },
  lifelinePlainRequests('websocket'),
  lifelineStackRequests('websocket'),
];

export const IN_FLIGHT = [1, 100, 1_000] as const;

/** One workload. */
export interface LatencyCase {
  payloadBytes: number;
  inFlight: number;
  requests: number;
}

/** One run's figures: the rate and latency percentiles in ms, and the answers counted. */
export interface LatencySample {
  perSecond: number;
  p50: number;
  p99: number;
  p999: number;
  answered: number;
}

/** Requests per run: at least 1,000 (so p999 is a measured value), more with more in flight. */
export function requestsFor(inFlight: number, quick: boolean): number {
  if (quick) return Math.max(200, inFlight * 2);
  return inFlight === 1 ? 3_000 : Math.max(10_000, inFlight * 20);
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** One run: `requests` requests, `inFlight` outstanding at a time, each timed from send to answer. */
export async function latencyRun(rig: LatencyRig, c: LatencyCase): Promise<LatencySample> {
  const requester = await rig.open!();
  const payload = new Uint8Array(c.payloadBytes).fill(7);
  const latencies = new Float64Array(c.requests);
  let issued = 0;
  let answered = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  const issue = () => {
    const i = issued++;
    const sent = now();
    requester.request(payload, () => {
      latencies[i] = now() - sent;
      if (++answered === c.requests) resolveAll();
      else if (issued < c.requests) issue();
    });
  };
  const start = now();
  for (let i = 0; i < c.inFlight && i < c.requests; i++) issue();
  await all;
  const ms = now() - start;
  await requester.close();
  latencies.sort();
  return {
    perSecond: (c.requests / ms) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    p999: percentile(latencies, 0.999),
    answered,
  };
}

/** The medians of a rig's samples. */
export function latencyMedians(samples: readonly LatencySample[]): LatencySample {
  const of = (key: keyof LatencySample) => median(samples.map((s) => s[key]));
  return {
    perSecond: of('perSecond'),
    p50: of('p50'),
    p99: of('p99'),
    p999: of('p999'),
    answered: of('answered'),
  };
}

/** A measured row. */
export interface LatencyRow {
  rig: LatencyRig;
  sample: LatencySample | undefined;
}

const ms = (value: number) => `${value.toFixed(3)} ms`;

/** One case's table: rate and percentiles, and p50 and p99 as ratios to the raw baseline of the wire. */
export function latencyTable(rows: readonly LatencyRow[]): string {
  const baselineOf = (row: LatencyRow) =>
    rows.find((r) => r.rig.baseline && r.rig.wire === row.rig.wire)?.sample;
  const body = rows.map(({ rig, sample }) => {
    if (!sample) return [rig.name, rig.wire, NO_ACKS, NO_ACKS, NO_ACKS, NO_ACKS, NO_ACKS];
    const base = baselineOf({ rig, sample });
    return [
      rig.name,
      rig.wire,
      formatRate(sample.perSecond),
      ms(sample.p50),
      ms(sample.p99),
      ms(sample.p999),
      base ? `${formatRatio(sample.p50, base.p50)} / ${formatRatio(sample.p99, base.p99)}` : '',
    ];
  });
  return markdownTable(
    ['system', 'wire', 'requests/s', 'p50', 'p99', 'p999', 'p50 / p99 × raw (same wire)'],
    body,
  );
}

/**
 * Measures every rig with acks on one case, in interleaved rounds (see {@link interleavedRuns});
 * a rig without acks has no sample.
 */
export async function latencyRows(
  rigs: readonly LatencyRig[],
  c: LatencyCase,
  runs: number,
): Promise<LatencyRow[]> {
  const measured = rigs.filter((rig) => rig.open !== undefined);
  const samples = await interleavedRuns(
    measured.map((rig) => () => latencyRun(rig, c)),
    runs,
  );
  return rigs.map((rig) => {
    const index = measured.indexOf(rig);
    return { rig, sample: index < 0 ? undefined : latencyMedians(samples[index]!) };
  });
}

/** The latency section: one table per payload size and in-flight level. */
export async function benchLatency(
  options: PeersOptions,
  rigs: readonly LatencyRig[] = LATENCY_RIGS,
): Promise<Section> {
  const parts: string[] = [];
  for (const payloadBytes of PAYLOAD_SIZES) {
    for (const inFlight of IN_FLIGHT) {
      const c = { payloadBytes, inFlight, requests: requestsFor(inFlight, options.quick) };
      const rows = await latencyRows(rigs, c, options.runs);
      const title = `${payloadBytes}-byte payloads, ${inFlight} in flight, ${c.requests} requests, median of ${options.runs}`;
      const table = `${title}\n\n${latencyTable(rows)}`;
      console.log(`\n${table}`);
      parts.push(table);
    }
  }
  const notes = [
    'Each request carries a msgpackr-encoded `Uint8Array` and is answered with it; the latency runs from',
    'the call to the decoded answer. A new request goes out as each answer arrives, so the number in',
    'flight stays constant. The raw baselines number requests by hand and write a turn’s requests (and',
    'a chunk’s answers) in one buffer. socket.io: `emitWithAck` on the websocket transport, server with',
    '`connectionStateRecovery`. lifeline: `link.request` of `cancelPending` (maxPending 2,000), answered',
    'by `serveRequests`; “full stack” adds handshake + heartbeat + reconnectWith + resumable under it.',
  ].join(' ');
  return { title: 'Request latency', markdown: `${notes}\n\n${parts.join('\n\n')}` };
}
