// A hand-written SVG line chart: one polyline per series over a shared time axis, with axes,
// grid lines and a legend. No dependency.

/** One line: its name and its points, `[x, y]` (x in seconds, y in the chart's unit). */
export interface ChartSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
}

const COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const MARGIN = { left: 70, right: 20, top: 40, bottom: 50 } as const;

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A round step that splits `span` into about `parts` parts (1, 2 or 5 × a power of ten). */
export function niceStep(span: number, parts: number): number {
  if (!(span > 0)) return 1;
  const raw = span / parts;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
}

/** The chart, as a complete SVG document. */
export function lineChart(series: readonly ChartSeries[], options: ChartOptions): string {
  if (series.length === 0) throw new TypeError('lineChart: give at least one series');
  const { width = 800, height = 400 } = options;
  const all = series.flatMap((s) => s.points);
  const xMin = Math.min(0, ...all.map(([x]) => x));
  const xMax = Math.max(xMin + 1, ...all.map(([x]) => x));
  const yStep = niceStep(Math.max(1, ...all.map(([, y]) => y)), 5);
  const yMax = yStep * Math.ceil(Math.max(1, ...all.map(([, y]) => y)) / yStep);
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => (MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW).toFixed(1);
  const py = (y: number) => (MARGIN.top + plotH - (y / yMax) * plotH).toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escape(options.title)}</text>`,
  ];
  for (let y = 0; y <= yMax; y += yStep) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 6}" y="${py(y)}" text-anchor="end" dominant-baseline="middle">${y}</text>`,
    );
  }
  const xStep = niceStep(xMax - xMin, 10);
  for (let x = Math.ceil(xMin / xStep) * xStep; x <= xMax; x += xStep) {
    out.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${+x.toFixed(6)}</text>`,
    );
  }
  out.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="black"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escape(options.xLabel)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const points = s.points.map(([x, y]) => `${px(x)},${py(y)}`).join(' ');
    out.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}"><title>${escape(s.name)}</title></polyline>`,
      `<rect x="${width - MARGIN.right - 190}" y="${MARGIN.top + 8 + i * 18}" width="12" height="3" fill="${colour}"/>`,
      `<text x="${width - MARGIN.right - 172}" y="${MARGIN.top + 12 + i * 18}">${escape(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
