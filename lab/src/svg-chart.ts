/**
 * The lab's chart as an SVG document: one panel per policy on shared axes, with the scenario drawn
 * in each (when the server is down, its capacity), the time axis cut to where something happens,
 * and bursts that would flatten the rest clipped and labelled. Pure: the same result gives the same
 * bytes.
 * @internal
 * @packageDocumentation
 */
import { scaleLinear, type ScaleLinear } from 'd3-scale';
import { area, curveStepAfter, line } from 'd3-shape';
import { outagesOf } from './scenarios.js';
import type { PolicyResult, SimulationResult } from './simulate.js';

/** Tableau 10, so that neighbouring panels are easy to tell apart. */
const COLORS = [
  '#4e79a7',
  '#e15759',
  '#59a14f',
  '#f28e2b',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

const WIDTH = 900;
const MARGIN = { top: 106, right: 28, bottom: 46, left: 64 };
const PANEL_HEIGHT = 120;
/** Room above each panel for its title. */
const PANEL_GAP = 30;

/** The seconds the chart shows and the dials-per-second level at which it clips. */
export interface ChartFrame {
  /** The last second on the time axis: the run's end, or soon after the last change. */
  readonly seconds: number;
  /** The top of the y axis; seconds above it are drawn clipped, with their count. */
  readonly top: number;
  /** Whether the time axis was cut short of the run's end. */
  readonly cut: boolean;
}

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const round = (value: number) => String(Math.round(value * 10) / 10);

/** The last second in which any policy's dials differ from its final steady level, plus one. */
function lastChange(results: readonly PolicyResult[]): number {
  let last = 0;
  for (const { dialsPerSecond: counts } of results) {
    const final = counts[counts.length - 1] ?? 0;
    for (let k = counts.length - 1; k > last; k--) {
      if (counts[k] !== final) {
        last = k + 1;
        break;
      }
    }
  }
  return last;
}

/**
 * Where the chart looks: time up to a little after the last change (and the last outage), so that a
 * 30 s outage is not a sliver of a 10-minute axis; dials up to the busiest second that is not a
 * reset burst (every client dialling in the second its connection was reset is the same for every
 * policy and would flatten the rest), but at least twice the capacity.
 * @internal
 * @example
 * ```ts
 * import { chartFrame } from '../lab/src/svg-chart.js';
 * import type { SimulationResult } from '../lab/src/simulate.js';
 * const shown = (result: SimulationResult) => `${chartFrame(result).seconds} s`;
 * ```
 */
export function chartFrame(result: SimulationResult): ChartFrame {
  const { scenario, duration, results } = result;
  const runSeconds = Math.max(1, Math.ceil(duration / 1000));
  const outages = outagesOf(scenario, duration);
  const lastOutageEnd = Math.max(0, ...outages.map((o) => Math.ceil((o.at + o.for) / 1000)));
  const busy = Math.max(lastChange(results), lastOutageEnd, 1);
  const wanted = Math.ceil((busy * 1.15) / 10) * 10;
  const seconds = wanted < runSeconds * 0.8 ? wanted : runSeconds;

  const bursts = new Set(outages.map((o) => Math.floor(o.at / 1000)));
  if (scenario.coldStart) bursts.add(0);
  let top = 1;
  for (const r of results) {
    r.dialsPerSecond.forEach((count, second) => {
      if (second < seconds && !bursts.has(second)) top = Math.max(top, count);
    });
  }
  if (Number.isFinite(scenario.capacity)) top = Math.max(top, scenario.capacity * 2);
  return { seconds, top, cut: seconds < runSeconds };
}

/** The step area and line of one policy's dials, clipped at the frame's top. */
function policyPaths(counts: readonly number[], frame: ChartFrame, x: Scale, y: Scale) {
  const points: (readonly [number, number])[] = [];
  for (let second = 0; second < Math.min(counts.length, frame.seconds); second++) {
    const count = Math.min(counts[second]!, frame.top);
    if (second === 0 || count !== points[points.length - 1]![1]) points.push([second, count]);
  }
  points.push([frame.seconds, points[points.length - 1]?.[1] ?? 0]);
  const stroke = line<readonly [number, number]>()
    .x(([s]) => x(s))
    .y(([, d]) => y(d))
    .curve(curveStepAfter)
    .digits(1);
  const fill = area<readonly [number, number]>()
    .x(([s]) => x(s))
    .y0(y(0))
    .y1(([, d]) => y(d))
    .curve(curveStepAfter)
    .digits(1);
  return { line: stroke(points) ?? '', area: fill(points) ?? '' };
}

type Scale = ScaleLinear<number, number>;

/** Labels for the clipped seconds: the busiest of each run of clipped seconds, with its count. */
function clippedLabels(counts: readonly number[], frame: ChartFrame): { second: number; count: number }[] {
  const labels: { second: number; count: number }[] = [];
  let inRun = false;
  for (let second = 0; second < Math.min(counts.length, frame.seconds); second++) {
    const count = counts[second]!;
    if (count <= frame.top) {
      inRun = false;
      continue;
    }
    const last = labels[labels.length - 1];
    if (inRun && last) {
      if (count > last.count) Object.assign(last, { second, count });
    } else labels.push({ second, count });
    inRun = true;
  }
  return labels;
}

/** When the policy's clients were all back, for the panel's title. */
function backText(r: PolicyResult): string {
  if (Number.isNaN(r.backMax)) return 'no disconnection';
  if (r.backMax === Infinity) return `${r.notBack} not back at the end`;
  return `all back within ${(r.backMax / 1000).toFixed(1)} s`;
}

function panel(
  out: string[],
  r: PolicyResult,
  i: number,
  frame: ChartFrame,
  x: Scale,
  result: SimulationResult,
) {
  const top = MARGIN.top + i * (PANEL_HEIGHT + PANEL_GAP);
  const bottom = top + PANEL_HEIGHT;
  const y = scaleLinear().domain([0, frame.top]).range([bottom, top]);
  const [left, right] = x.range() as [number, number];
  const color = COLORS[i % COLORS.length]!;
  const peak = r.dials === 0 ? 'no dials' : `peak ${r.peakDialsPerSecond}/s at ${r.peakAt / 1000} s`;
  out.push(
    `<g>`,
    `<text x="${left}" y="${top - 9}"><tspan font-weight="bold" fill="${color}">${escapeXml(r.policy)}</tspan>` +
      `<tspan fill="#333333"> — ${r.dials} dials, ${peak}, ${escapeXml(backText(r))}</tspan></text>`,
  );
  // The scenario, behind the data: when the server is down, and its capacity.
  for (const o of outagesOf(result.scenario, result.duration)) {
    const from = Math.min(o.at / 1000, frame.seconds);
    const to = Math.min((o.at + o.for) / 1000, frame.seconds);
    if (to > from) {
      out.push(
        `<rect class="outage" x="${round(x(from))}" y="${top}" width="${round(x(to) - x(from))}" height="${PANEL_HEIGHT}" fill="#d9d9d9" fill-opacity="0.6"/>`,
      );
    }
  }
  out.push(`<g stroke="#ececec">`);
  for (const tick of y.ticks(3))
    out.push(`<line x1="${left}" x2="${right}" y1="${round(y(tick))}" y2="${round(y(tick))}"/>`);
  out.push(`</g>`, `<g fill="#555555" text-anchor="end">`);
  for (const tick of y.ticks(3)) out.push(`<text x="${left - 6}" y="${round(y(tick) + 4)}">${tick}</text>`);
  out.push(`</g>`);
  const paths = policyPaths(r.dialsPerSecond, frame, x, y);
  out.push(
    `<path d="${paths.area}" fill="${color}" fill-opacity="0.25" stroke="none"/>`,
    `<path d="${paths.line}" fill="none" stroke="${color}" stroke-width="1.5"><title>${escapeXml(r.policy)}</title></path>`,
  );
  const capacity = result.scenario.capacity;
  if (Number.isFinite(capacity)) {
    out.push(
      `<line class="capacity" x1="${left}" x2="${right}" y1="${round(y(capacity))}" y2="${round(y(capacity))}" stroke="#222222" stroke-dasharray="5 4"/>`,
      `<text x="${right - 4}" y="${round(y(capacity) - 4)}" text-anchor="end" font-size="11" fill="#222222">capacity ${capacity}/s</text>`,
    );
  }
  for (const { second, count } of clippedLabels(r.dialsPerSecond, frame)) {
    const at = Math.min(x(second + 0.5) + 4, right - 60);
    out.push(
      `<text class="clipped" x="${round(at)}" y="${top + 11}" fill="${color}" font-size="11">▲ ${count}/s</text>`,
    );
  }
  out.push(
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#333333"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#333333"/>`,
    `</g>`,
  );
}

/** The key under the heading: what the grey band, the dashed line and the ▲ labels mean. */
function key(result: SimulationResult): string[] {
  let x = MARGIN.left;
  const out: string[] = [];
  if (outagesOf(result.scenario, result.duration).length > 0) {
    out.push(
      `<rect x="${x}" y="62" width="18" height="11" fill="#d9d9d9"/>`,
      `<text x="${x + 24}" y="72">server down</text>`,
    );
    x += 110;
  }
  if (Number.isFinite(result.scenario.capacity)) {
    out.push(
      `<line x1="${x}" x2="${x + 22}" y1="67" y2="67" stroke="#222222" stroke-dasharray="5 4"/>`,
      `<text x="${x + 28}" y="72">capacity ${result.scenario.capacity} dials/s</text>`,
    );
    x += 170;
  }
  out.push(`<text x="${x}" y="72" fill="#555555">▲ n/s: a second above the axis (a reset burst)</text>`);
  return out;
}

/**
 * The chart as a standalone SVG document: for each policy, a panel of the dials per second the
 * server saw (every second, not downsampled), on shared axes, with the outage windows shaded and
 * the capacity dashed; the heading and a key above.
 * @internal
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { svgChart } from '../lab/src/svg-chart.js';
 * import type { SimulationResult } from '../lab/src/simulate.js';
 * const save = (result: SimulationResult) => writeFileSync('chart.svg', svgChart(result));
 * ```
 */
export function svgChart(result: SimulationResult): string {
  const frame = chartFrame(result);
  const panels = Math.max(1, result.results.length);
  const height = MARGIN.top + panels * (PANEL_HEIGHT + PANEL_GAP) - PANEL_GAP + MARGIN.bottom;
  const x = scaleLinear()
    .domain([0, frame.seconds])
    .range([MARGIN.left, WIDTH - MARGIN.right]);
  const { scenario, clients, duration, seed } = result;
  const cut = frame.cut ? ` The time axis stops at ${frame.seconds} s: nothing changes after.` : '';
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>Dials per second at the server: ${escapeXml(scenario.name)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="20" font-size="15" font-weight="bold">Dials per second at the server, per policy</text>`,
    `<text x="${MARGIN.left}" y="38" fill="#333333">Scenario "${escapeXml(scenario.name)}": ${escapeXml(scenario.description)}.</text>`,
    `<text x="${MARGIN.left}" y="54" fill="#555555">${clients} clients, ${duration / 1000} s of virtual time, seed ${seed}.${cut}</text>`,
    ...key(result),
  ];
  result.results.forEach((r, i) => panel(out, r, i, frame, x, result));
  const plotBottom = height - MARGIN.bottom;
  out.push(`<g fill="#333333" text-anchor="middle">`);
  for (const tick of x.ticks(10)) {
    out.push(
      `<line x1="${round(x(tick))}" x2="${round(x(tick))}" y1="${plotBottom}" y2="${plotBottom + 5}" stroke="#333333"/>`,
      `<text x="${round(x(tick))}" y="${plotBottom + 18}">${tick}</text>`,
    );
  }
  out.push(
    `</g>`,
    `<text x="${round((MARGIN.left + WIDTH - MARGIN.right) / 2)}" y="${height - 8}" text-anchor="middle">virtual time (s)</text>`,
    `<text transform="translate(16 ${round(MARGIN.top + (plotBottom - MARGIN.top) / 2)}) rotate(-90)" text-anchor="middle">dials per second</text>`,
    `</svg>`,
    '',
  );
  return out.join('\n');
}
