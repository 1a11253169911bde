// The shapes every peers section shares (the merge unifies them with common.ts).

/** What a section of the peers benchmark is run with. */
export interface PeersOptions {
  /** Seeds every PRNG of the run: the cuts, the jitter of lifeline's policies. */
  seed: number;
  /** Repetitions of the rate sections; survival and storm run once (see each section's text). */
  runs: number;
  /** A short run: fewer clients, shorter phases. */
  quick: boolean;
  /** The storm's systems to run, by name; all of them when undefined. */
  systems?: readonly string[] | undefined;
}

/** One section of the report: its title, its Markdown, and optionally a chart to write beside it. */
export interface Section {
  title: string;
  markdown: string;
  svg?: { file: string; content: string };
}
