/**
 * The lab's output: the comparison table (cli-table3), the terminal chart of dials per second
 * (asciichart); the SVG chart is in svg-chart.ts.
 * Every function is pure: the same result gives the same text, byte for byte.
 * @internal
 * @packageDocumentation
 */
import asciichart from 'asciichart';
import Table from 'cli-table3';
import type { SessionRun } from './sessions.js';
import type { SimulationResult } from './simulate.js';
import { formatSeconds } from './units.js';

/** What the table cannot show because the lab does not simulate it. @internal */
export const NOT_SIMULATED =
  'Frames lost/duplicated: not measured. The lab simulates connections, not sessions: no frames flow, ' +
  'so it has nothing to count (resumable is tested with real frames in spec/protocol/resumable/resumable.spec.ts).';

/**
 * A simulation's result, with the session run when the lab ran with `--sessions`.
 * @internal
 * @example
 * ```ts
 * import type { LabReport } from '../lab/src/report.js';
 * const hasSessions = (report: LabReport) => report.sessions !== undefined;
 * ```
 */
export type LabReport = SimulationResult & { readonly sessions?: SessionRun };

function recovery(ms: number): string {
  if (Number.isNaN(ms)) return '—';
  return ms === Infinity ? 'not back' : formatSeconds(ms);
}

/**
 * The one-line heading of a report: scenario, clients, virtual duration, seed.
 * @internal
 * @example
 * ```ts
 * import { heading } from '../lab/src/report.js';
 * import type { SimulationResult } from '../lab/src/simulate.js';
 * const print = (result: SimulationResult) => console.log(heading(result));
 * ```
 */
export function heading(result: SimulationResult): string {
  const { scenario, clients, duration, seed } = result;
  return (
    `Scenario "${scenario.name}": ${scenario.description}. ` +
    `${clients} clients, ${duration / 1000} s of virtual time, seed ${seed}.`
  );
}

/**
 * The comparison table, one row per policy, as cli-table3 draws it (no colours).
 * @internal
 * @example
 * ```ts
 * import { formatTable } from '../lab/src/report.js';
 * import type { SimulationResult } from '../lab/src/simulate.js';
 * const print = (result: SimulationResult) => console.log(formatTable(result));
 * ```
 */
export function formatTable(result: LabReport): string {
  const { sessions } = result;
  const sessionHead = sessions ? ['frames sent', 'delivered', 'lost', 'duplicated', 'sessions lost'] : [];
  const table = new Table({
    head: [
      'policy',
      'disconnections',
      'back p50',
      'back p99',
      'back max',
      'not back',
      'dials',
      'peak dials/s',
      'give-ups',
      ...sessionHead,
    ],
    colAligns: [
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      ...sessionHead.map(() => 'right' as const),
    ],
    style: { head: [], border: [] },
  });
  result.results.forEach((r, i) => {
    const s = sessions?.results[i];
    const sessionCells = s
      ? [String(s.sent), String(s.delivered), String(s.lost), String(s.duplicated), String(s.sessionsLost)]
      : [];
    table.push([
      r.policy,
      String(r.disconnections),
      recovery(r.backP50),
      recovery(r.backP99),
      recovery(r.backMax),
      String(r.notBack),
      String(r.dials),
      r.dials === 0 ? '0' : `${r.peakDialsPerSecond} at ${r.peakAt / 1000} s`,
      String(r.giveUps),
      ...sessionCells,
    ]);
  });
  return table.toString();
}

/** What the session columns mean, for `--sessions` runs. */
function sessionNotes(run: SessionRun): string[] {
  return [
    `frames, sessions: a second run, ${run.clients} clients per policy through the real stack (memory transport,`,
    `  heartbeat, reconnectWith, resumable; acceptSessions, sessionTtl ${formatSeconds(run.sessionTtl)}), each sending`,
    `  a numbered frame every ${run.frameInterval} ms to the end, then ${formatSeconds(run.quiet)} without faults or frames.`,
    '  lost: sent, never delivered; duplicated: delivered twice or more; sessions lost: sessions a',
    '  client could not resume (SessionLostError): what they had not delivered counts as lost.',
  ];
}

/** The notes printed under the table: what the columns mean and what is not measured. @internal */
export function tableNotes(sessions?: SessionRun): string {
  return [
    'back: time from losing a connection (a half-open link: from the moment it died) to being connected',
    '  again, per disconnection (nearest-rank percentiles); "not back" = still down at the end of the run.',
    'dials: every dial that reached the server, accepted or refused. peak: the busiest second.',
    ...(sessions ? sessionNotes(sessions) : [NOT_SIMULATED]),
  ].join('\n');
}

/** An ANSI colour sequence (ESC [ … m), as asciichart writes them. */
const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

const TERMINAL_COLORS = [
  asciichart.blue,
  asciichart.red,
  asciichart.green,
  asciichart.magenta,
  asciichart.yellow,
  asciichart.cyan,
  asciichart.lightred,
  asciichart.lightblue,
];

/** Dials per second, each point the busiest second of its `span` seconds. */
function downsample(perSecond: readonly number[], columns: number): { values: number[]; span: number } {
  const span = Math.max(1, Math.ceil(perSecond.length / columns));
  const values: number[] = [];
  for (let k = 0; k < perSecond.length; k += span) {
    let peak = 0;
    for (let i = k; i < Math.min(k + span, perSecond.length); i++) peak = Math.max(peak, perSecond[i]!);
    values.push(peak);
  }
  return { values, span };
}

/**
 * The terminal chart: dials per second over the run, one line per policy (asciichart). With
 * `color`, each line has its colour, named in the legend; without, the lines share one look, so
 * the legend says so (the SVG tells them apart).
 * @internal
 * @example
 * ```ts
 * import { formatChart } from '../lab/src/report.js';
 * import type { SimulationResult } from '../lab/src/simulate.js';
 * const print = (result: SimulationResult) => console.log(formatChart(result, { color: true }));
 * ```
 */
export function formatChart(
  result: SimulationResult,
  options: { color: boolean; columns?: number; height?: number },
): string {
  const { color, columns = 100, height = 12 } = options;
  if (result.results.length === 0) return '';
  const series = result.results.map((r) => downsample(r.dialsPerSecond, columns));
  const span = series[0]!.span;
  const values = series.map((s) => s.values);
  const top = Math.max(1, ...values.flat());
  const plot = asciichart.plot(values, {
    height,
    min: 0,
    max: top,
    format: (x: number) => x.toFixed(0).padStart(7),
    ...(color ? { colors: result.results.map((_, i) => TERMINAL_COLORS[i % TERMINAL_COLORS.length]) } : {}),
  });
  const firstLine = plot.split('\n')[0] ?? '';
  // asciichart's lines hold only the characters it drew (plus colour codes): measure a plain one.
  const width = color ? firstLine.replace(ANSI_ESCAPE, '').length : firstLine.length;
  const margin = Math.max(0, width - values[0]!.length);
  const end = `${result.duration / 1000} s`;
  const axis = `${' '.repeat(Math.max(0, margin - 1))}0 s`.padEnd(Math.max(0, width - end.length)) + end;
  const legend = result.results
    .map((r, i) => {
      const swatch = color ? `${TERMINAL_COLORS[i % TERMINAL_COLORS.length]}───${asciichart.reset}` : '───';
      return `${swatch} ${r.policy}`;
    })
    .join('   ');
  const title =
    `Dials per second at the server` +
    (span > 1 ? ` (each point: the busiest second of ${span} s)` : '') +
    (color ? '' : ' — all lines look alike without colour; see --svg or --color');
  return [title, plot, axis, legend].join('\n');
}

/**
 * The whole terminal report: heading, table, notes and chart.
 * @internal
 * @example
 * ```ts
 * import { formatReport } from '../lab/src/report.js';
 * import type { SimulationResult } from '../lab/src/simulate.js';
 * const print = (result: SimulationResult) => console.log(formatReport(result, { color: false }));
 * ```
 */
export function formatReport(result: LabReport, options: { color: boolean }): string {
  return [
    heading(result),
    formatTable(result),
    tableNotes(result.sessions),
    '',
    formatChart(result, options),
    '',
  ].join('\n');
}
