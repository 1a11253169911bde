// Shared types and helpers of the peer benchmark (`npm run bench:peers`): lifeline measured beside
// socket.io, partysocket, RxJS webSocket() and raw node:net / ws, in one run.

/** Options every section of the peer benchmark takes. */
export interface PeersOptions {
  /** Seed for every random choice a section makes (payload bytes, jitter, cut times). */
  seed: number;
  /** Measured runs per case; the tables show medians. */
  runs: number;
  /** A short smoke run: fewer frames, sessions and in-flight levels. */
  quick: boolean;
}

/** One section of the report: a title, its Markdown (tables and notes) and an optional chart. */
export interface Section {
  title: string;
  markdown: string;
  /** A chart written next to bench/results/peers.md; `file` is a bare file name. */
  svg?: { file: string; content: string };
}
