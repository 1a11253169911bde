/**
 * Which code of the browser client bundle a browser client runs (issue #14: what does the client
 * set carry that a browser never runs?).
 *
 * It bundles scripts/client-coverage-page.ts for the browser as `npm run size` bundles the client
 * set (esbuild, platform browser, ESM, minified, the package.json `browser` field honoured), with a
 * source map, but from lib/ itself (tsconfig.json's paths) rather than from the tsc output, so its
 * lib/ bytes differ from `npm run size`'s by a few hundred; rxjs and msgpackr are bundled too, so
 * the page runs, and left out of the figures. It serves the page from a real lifeline server on 127.0.0.1 (websocketServer + heartbeat +
 * acceptSessions + serveRequests, in this process) and runs it in Debian's Chromium
 * (/usr/bin/chromium) through playwright-core: connect, echoed messages, requests answered, failed,
 * streamed, with a body, timed out and cancelled, a connection the server kills (the session
 * resumes, a request in flight included), a server that stops reading (the heartbeat times out),
 * close, and a client whose every dial fails until its policy gives up. V8's block coverage of the
 * bundle is mapped back through the source map: for each file of lib/, the bytes of the minified
 * bundle that never ran, and the source lines they came from.
 *
 * Usage: `npx tsx scripts/client-coverage.ts [--lines] [--min bytes]`. Without `--lines` it prints
 * one line per file; with it, also each never-run run of source lines of at least `--min` minified
 * bytes (default 40). Exits 1 if the page fails (it prints what it saw).
 */
import { build } from 'esbuild';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { delay, map, of, range, reduce, NEVER, type Observable } from 'rxjs';
import { acceptSessions, heartbeat, serveRequests, type Link } from 'rx-lifeline';
import { websocketServer } from 'rx-lifeline/node';
import type { Ask, Note } from './client-coverage-page.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'];
const PAGE_TIMEOUT = 60_000;

/** The page's bundle and its source map. */
interface PageBundle {
  readonly code: string;
  readonly map: SourceMap;
}

interface SourceMap {
  readonly sources: readonly string[];
  readonly sourcesContent?: readonly (string | null)[];
  readonly mappings: string;
}

async function bundlePage(): Promise<PageBundle> {
  const result = await build({
    entryPoints: [path.join(ROOT, 'scripts/client-coverage-page.ts')],
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    bundle: true,
    minify: true,
    sourcemap: 'external',
    sourcesContent: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    outdir: path.join(ROOT, '.client-coverage'),
    logLevel: 'silent',
  });
  const file = (ending: string) => result.outputFiles.find((output) => output.path.endsWith(ending))!.text;
  return { code: file('.js'), map: JSON.parse(file('.js.map')) as SourceMap };
}

// ------------------------------------------------------------------------------------------------
// The server: the page, its bundle, the sessions, and /cut and /stall.

const HTML =
  '<!doctype html><meta charset="utf-8"><title>coverage</title><script type="module" src="/client.js"></script>';

function answer(ask: Ask, body$: Observable<unknown>): unknown {
  if ('echo' in ask) return ask.echo;
  if ('fail' in ask) throw new Error(ask.fail);
  if ('count' in ask) return range(1, ask.count);
  if ('sum' in ask) return body$.pipe(reduce((sum, n) => sum + (n as number), 0));
  if ('hang' in ask) return NEVER;
  return of('late').pipe(delay(ask.delay));
}

interface Served {
  readonly url: string;
  stop(): Promise<void>;
}

async function serve(script: string): Promise<Served> {
  const sockets = new Set<Socket>();
  const http = createServer((request: IncomingMessage, response) => {
    request.resume();
    const where = request.url ?? '/';
    if (where === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(HTML);
    else if (where === '/client.js')
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else if (where === '/cut' || where === '/stall') {
      // /cut kills each WebSocket's socket; /stall stops reading them, so no heartbeat is answered.
      for (const socket of sockets) {
        if (where === '/cut') socket.destroy();
        else socket.pause();
      }
      response.writeHead(200).end();
    } else response.writeHead(404).end();
  });
  http.on('upgrade', (request: IncomingMessage) => {
    const socket = request.socket as Socket;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const connections = websocketServer<Note, Note>({ server: http, path: '/live' }).pipe(
    map((event) =>
      event.type === 'connection'
        ? { ...event, connection: event.connection.pipe(heartbeat({ interval: 30_000, timeout: 60_000 })) }
        : event,
    ),
  );
  const sessions = acceptSessions<Note, Note>(connections, { sessionTtl: 30_000 }).subscribe((session) => {
    let link: Link<Note> | undefined;
    session.events$.pipe(serveRequests<Ask, Note, Note>((ask, { body$ }) => answer(ask, body$))).subscribe({
      next: (event) => {
        if (event.type === 'connected') link = event.link;
        else if (event.type === 'frame') link?.send(event.frame);
      },
      error: () => undefined,
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
    stop: async () => {
      sessions.unsubscribe();
      for (const socket of sockets) socket.destroy();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Coverage: V8's ranges to a count per character, then through the source map to source lines.

interface CoverageRange {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly count: number;
}

/** How often each character of `length` ran: inner ranges (blocks) override the outer ones. */
export function countsOf(length: number, ranges: readonly CoverageRange[]): Int32Array {
  const counts = new Int32Array(length).fill(1);
  const ordered = [...ranges].sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  for (const { startOffset, endOffset, count } of ordered) counts.fill(count, startOffset, endOffset);
  return counts;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** One mapping of a source map: a generated position and the source position it came from. */
export interface Segment {
  readonly line: number;
  readonly column: number;
  readonly source: number;
  readonly sourceLine: number;
}

/** The segments of a source map's `mappings` that name a source, in generated order. */
export function decodeMappings(mappings: string): Segment[] {
  const segments: Segment[] = [];
  const state = [0, 0, 0, 0];
  let line = 0;
  for (const group of mappings.split(';')) {
    state[0] = 0;
    for (const text of group.split(',')) {
      if (text === '') continue;
      const fields = vlq(text);
      for (let i = 0; i < Math.min(fields.length, 4); i++) state[i]! += fields[i]!;
      if (fields.length >= 4)
        segments.push({ line, column: state[0]!, source: state[1]!, sourceLine: state[2]! });
    }
    line++;
  }
  return segments;
}

function vlq(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

/** What never ran of one source file. */
interface FileCoverage {
  readonly file: string;
  /** Characters of the minified bundle that came from the file. */
  bytes: number;
  /** Of those, the ones that never ran. */
  unrun: number;
  /** Never-run characters per source line (0-based). */
  readonly lines: Map<number, number>;
}

function byFile(code: string, counts: Int32Array, map: SourceMap): Map<string, FileCoverage> {
  const lineStarts = [0];
  for (let i = 0; i < code.length; i++) if (code[i] === '\n') lineStarts.push(i + 1);
  const segments = decodeMappings(map.mappings);
  const files = new Map<string, FileCoverage>();
  segments.forEach((segment, i) => {
    const start = lineStarts[segment.line]! + segment.column;
    const next = segments[i + 1];
    const lineEnd = lineStarts[segment.line + 1] ?? code.length;
    const end = next && next.line === segment.line ? lineStarts[next.line]! + next.column : lineEnd;
    const file = map.sources[segment.source]!;
    let entry = files.get(file);
    if (!entry) files.set(file, (entry = { file, bytes: 0, unrun: 0, lines: new Map() }));
    entry.bytes += end - start;
    let unrun = 0;
    for (let at = start; at < end; at++) if (counts[at] === 0) unrun++;
    entry.unrun += unrun;
    if (unrun > 0) entry.lines.set(segment.sourceLine, (entry.lines.get(segment.sourceLine) ?? 0) + unrun);
  });
  return files;
}

/** `…/lib/x.ts` as `lib/x.ts`; undefined for a file outside lib/. */
function libFile(source: string): string | undefined {
  const at = source.replaceAll('\\', '/').lastIndexOf('lib/');
  return at < 0 || source.includes('node_modules') ? undefined : source.slice(at);
}

/** Runs of never-run lines (gaps of blank or comment lines bridged), with their bytes. */
function runsOf(entry: FileCoverage, text: readonly string[]): { from: number; to: number; bytes: number }[] {
  const lines = [...entry.lines.keys()].sort((a, b) => a - b);
  const runs: { from: number; to: number; bytes: number }[] = [];
  for (const line of lines) {
    const last = runs.at(-1);
    const between = last ? text.slice(last.to + 1, line) : [];
    if (last && between.every((t) => /^\s*(\/\/.*|\/?\*.*|[{}()[\];,]*)$/.test(t))) {
      last.to = line;
      last.bytes += entry.lines.get(line)!;
    } else runs.push({ from: line, to: line, bytes: entry.lines.get(line)! });
  }
  return runs;
}

function report(files: Map<string, FileCoverage>, map: SourceMap, withLines: boolean, min: number): string {
  const lib = [...files.values()]
    .map((entry) => ({ ...entry, file: libFile(entry.file) }))
    .filter((entry): entry is FileCoverage => entry.file !== undefined)
    .sort((a, b) => b.unrun - a.unrun);
  const total = lib.reduce((sum, entry) => sum + entry.bytes, 0);
  const unrun = lib.reduce((sum, entry) => sum + entry.unrun, 0);
  const out = [
    `lib/ in the page bundle: ${total} B minified, ${unrun} B of it never ran (${Math.round((100 * unrun) / total)}%)`,
    '   never ran /  bytes  file',
  ];
  for (const entry of lib) {
    out.push(`${String(entry.unrun).padStart(12)} / ${String(entry.bytes).padStart(6)}  ${entry.file}`);
    if (!withLines) continue;
    const index = map.sources.findIndex((source) => libFile(source) === entry.file);
    const text = (map.sourcesContent?.[index] ?? '').split('\n');
    for (const run of runsOf(entry, text).filter((r) => r.bytes >= min)) {
      const where = run.from === run.to ? `${run.from + 1}` : `${run.from + 1}-${run.to + 1}`;
      out.push(
        `${' '.repeat(16)}${String(run.bytes).padStart(5)} B  ${where}: ${text[run.from]!.trim().slice(0, 90)}`,
      );
    }
  }
  return out.join('\n');
}

// ------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const withLines = process.argv.includes('--lines');
  const minAt = process.argv.indexOf('--min');
  const min = minAt > 0 ? Number(process.argv[minAt + 1]) : 40;
  const bundle = await bundlePage();
  const server = await serve(bundle.code);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage();
    const outcome = new Promise<string[]>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`the page did not finish in ${PAGE_TIMEOUT} ms`)),
        PAGE_TIMEOUT,
      );
      const settle = (done: () => void) => () => (clearTimeout(deadline), done());
      void page.exposeFunction('coverageDone', (steps: string[]) => settle(() => resolve(steps))());
      void page.exposeFunction('coverageFailed', (error: string) => settle(() => reject(new Error(error)))());
      page.on('pageerror', (error) => settle(() => reject(error))());
    });
    await page.coverage.startJSCoverage({ resetOnNavigation: false });
    await page.goto(server.url);
    const steps = await outcome;
    const entries = await page.coverage.stopJSCoverage();
    const entry = entries.find((e) => e.url.endsWith('/client.js'));
    if (!entry) throw new Error('no coverage of /client.js');
    const counts = countsOf(
      bundle.code.length,
      entry.functions.flatMap((fn) => fn.ranges),
    );
    console.log(`the page did: ${steps.join('; ')}\n`);
    console.log(report(byFile(bundle.code, counts, bundle.map), bundle.map, withLines, min));
  } finally {
    await browser?.close();
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(`client-coverage: ${error instanceof Error ? error.stack : String(error)}`);
    process.exitCode = 1;
  });
}
