/**
 * Checks the TSDoc of lib/ (STYLE.md 8): every `@example` compiles, and every public export has a
 * one-line summary and an `@example`.
 *
 * Each ```ts block of an `@example` is written to `.examples/` as a module of its own and
 * type-checked with the options of tsconfig.json, in the same Program that walks the exports of the
 * entry files. Problems are printed at their place in lib/, not in `.examples/`.
 *
 * Usage: `npx tsx scripts/check-examples.ts [--keep]` (`--keep` leaves `.examples/` behind for an
 * editor). Exits 1 on any problem.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** One ```ts block of an `@example`, as extracted from lib/. */
export interface Example {
  /** The lib file holding the example, relative to the root, with forward slashes. */
  source: string;
  /** The documented declaration (`FrameDecoder`, `Link.send`), or `line-N` when it has no name. */
  symbol: string;
  /** The source line (1-based) of the code's first line. */
  line: number;
  /** The code lines, without their comment prefix. */
  lines: string[];
  /** For each code line, how many characters of comment prefix (` * `) were stripped. */
  prefixes: number[];
  /** Where the example is written, relative to the root, with forward slashes. */
  file: string;
}

/** Something to fix, at its place in the sources. */
export interface Problem {
  /** Relative to the root, with forward slashes. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
}

/** Where to look; every path is relative to `root`. */
export interface CheckOptions {
  /** The project folder. @default the folder above scripts/ */
  root?: string;
  /** @default 'tsconfig.json' */
  tsconfig?: string;
  /** The folders scanned for examples. @default ['lib', 'lab/src'] */
  libDir?: string | readonly string[];
  /** The files whose exports must be documented. @default lib's three entries and lab/src/index.ts */
  entries?: readonly string[];
  /** Emptied, then filled with one file per example. @default '.examples' */
  outDir?: string;
  /**
   * Leave `outDir` behind after the check. It is removed by default because tsconfig.json includes
   * it: stale examples would otherwise be type-checked by `npm run typecheck` before they are
   * regenerated.
   * @default false
   */
  keep?: boolean;
}

/** What {@link checkDocs} found. */
export interface CheckResult {
  examples: Example[];
  problems: Problem[];
}

export const DEFAULT_ENTRIES = [
  'lib/index.ts',
  'lib/node/index.ts',
  'lib/testing/index.ts',
  'lib/redis/index.ts',
  'lab/src/index.ts',
] as const;

/** The folders scanned for examples: the library and the lab's workspace package. */
export const DEFAULT_SOURCE_DIRS = ['lib', 'lab/src'] as const;

const SCRIPT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Snippets declare names to show them (`const report: WriteReport = …`); unused names are not errors.
const EXAMPLE_OVERRIDES: ts.CompilerOptions = {
  noEmit: true,
  noUnusedLocals: false,
  noUnusedParameters: false,
};

/** Extracts the examples of one source file, plus the `@example` blocks that have no code to check. */
export function extractFromSource(
  source: string,
  text: string,
): { examples: Omit<Example, 'file'>[]; problems: Problem[] } {
  const sourceFile = ts.createSourceFile(source, text, ts.ScriptTarget.Latest, true);
  const examples: Omit<Example, 'file'>[] = [];
  const problems: Problem[] = [];
  for (const { pos, end, owner } of docComments(sourceFile)) {
    const startLine = sourceFile.getLineAndCharacterOfPosition(pos).line + 1;
    const symbol = (owner && declarationName(owner)) ?? `line-${startLine}`;
    const found = parseExamples(text.slice(pos, end), startLine);
    examples.push(...found.blocks.map((block) => ({ source, symbol, ...block })));
    for (const { line, message } of found.problems) {
      problems.push({ file: source, line, column: 1, message: `${message} (in the doc of ${symbol})` });
    }
  }
  return { examples, problems };
}

/** Extracts the ```ts blocks of a Markdown file (README, guides): usage shown to users compiles too. */
export function extractFromMarkdown(
  source: string,
  text: string,
): { examples: Omit<Example, 'file'>[]; problems: Problem[] } {
  const examples: Omit<Example, 'file'>[] = [];
  const problems: Problem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    if (end === lines.length) {
      problems.push({ file: source, line: i + 1, column: 1, message: 'a ```ts block is never closed' });
      break;
    }
    const code = lines.slice(start, end);
    examples.push({
      source,
      symbol: `line-${start + 1}`,
      line: start + 1,
      lines: code,
      prefixes: code.map(() => 0),
    });
    i = end;
  }
  return { examples, problems };
}

/** The Markdown files whose ```ts blocks are checked: the README and the guides in docs/. */
export function listMarkdown(root: string): string[] {
  const files = existsSync(path.resolve(root, 'README.md')) ? ['README.md'] : [];
  const docs = path.resolve(root, 'docs');
  if (existsSync(docs)) {
    for (const name of readdirSync(docs).sort()) if (name.endsWith('.md')) files.push(`docs/${name}`);
  }
  return files;
}

/**
 * Extracts the examples of every `.ts` file under `root/libDir` and of the Markdown files, and
 * names their output files.
 */
export function extractExamples(
  root: string,
  libDir: string | readonly string[] = DEFAULT_SOURCE_DIRS,
  outDir = '.examples',
): { examples: Example[]; problems: Problem[] } {
  const examples: Example[] = [];
  const problems: Problem[] = [];
  const taken = new Set<string>();
  const sources = [
    ...(typeof libDir === 'string' ? [libDir] : libDir).flatMap((dir) =>
      listTypeScript(path.resolve(root, dir)).map((absolute) => relative(root, absolute)),
    ),
    ...listMarkdown(root),
  ];
  for (const source of sources) {
    const text = readFileSync(path.resolve(root, source), 'utf8');
    const found = source.endsWith('.md')
      ? extractFromMarkdown(source, text)
      : extractFromSource(source, text);
    problems.push(...found.problems);
    for (const example of found.examples) {
      const base = `${source.replace(/\.(ts|md)$/, '').replaceAll('/', '-')}-${example.symbol.replace(/[^\w$.-]/g, '_')}`;
      let name = base;
      for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
      taken.add(name);
      examples.push({ ...example, file: `${outDir}/${name}.ts` });
    }
  }
  return { examples, problems };
}

/** Empties `root/outDir` and writes each example to its file, as a module. */
export function writeExamples(root: string, examples: readonly Example[], outDir = '.examples'): void {
  const folder = path.resolve(root, outDir);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  for (const example of examples) {
    // `export {}` goes last, so line N of the file is line N of the example.
    writeFileSync(path.resolve(root, example.file), `${example.lines.join('\n')}\nexport {};\n`);
  }
}

/**
 * Extracts and writes the examples, then builds one Program over them and the entry files:
 * type errors in examples and exports without a summary or `@example` are the problems.
 */
export function checkDocs(options: CheckOptions = {}): CheckResult {
  const {
    root = SCRIPT_ROOT,
    tsconfig = 'tsconfig.json',
    libDir = DEFAULT_SOURCE_DIRS,
    entries = DEFAULT_ENTRIES,
    outDir = '.examples',
    keep = false,
  } = options;
  const { examples, problems } = extractExamples(root, libDir, outDir);
  const compilerOptions = readCompilerOptions(path.resolve(root, tsconfig));
  writeExamples(root, examples, outDir);
  try {
    const present = entries.filter((entry) => existsSync(path.resolve(root, entry)));
    for (const entry of entries.filter((entry) => !present.includes(entry))) {
      problems.push({ file: entry, line: 1, column: 1, message: `entry file ${entry} does not exist` });
    }
    const rootNames = [...examples.map((e) => e.file), ...present].map((file) => path.resolve(root, file));
    const program = ts.createProgram({ rootNames, options: compilerOptions });
    problems.push(...programProblems(root, program));
    problems.push(...exampleProblems(root, program, examples));
    problems.push(...undocumentedExports(root, program, present));
  } finally {
    if (!keep) rmSync(path.resolve(root, outDir), { recursive: true, force: true });
  }
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  return { examples, problems };
}

/** `file:line:column - message`, the format editors and terminals link. */
export function formatProblem(problem: Problem): string {
  return `${problem.file}:${problem.line}:${problem.column} - ${problem.message}`;
}

interface DocComment {
  pos: number;
  end: number;
  /** The outermost node the comment leads, if any. */
  owner: ts.Node | undefined;
}

/** Every `/** … *\/` comment of the file, with the node it documents. */
function docComments(sourceFile: ts.SourceFile): DocComment[] {
  const text = sourceFile.text;
  const found = new Map<number, DocComment>();
  const visit = (node: ts.Node): void => {
    // Parents come first, so a comment goes to the declaration, not to its `export` keyword.
    const nameable =
      node.kind !== ts.SyntaxKind.SyntaxList &&
      !ts.isSourceFile(node) &&
      !(node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode);
    for (const range of ts.getLeadingCommentRanges(text, node.pos) ?? []) {
      if (found.has(range.pos) || !isDocComment(text, range)) continue;
      if (nameable || node.kind === ts.SyntaxKind.EndOfFileToken) {
        found.set(range.pos, { pos: range.pos, end: range.end, owner: nameable ? node : undefined });
      }
    }
    for (const child of node.getChildren(sourceFile)) visit(child);
  };
  visit(sourceFile);
  return [...found.values()].sort((a, b) => a.pos - b.pos);
}

function isDocComment(text: string, range: ts.CommentRange): boolean {
  return (
    range.kind === ts.SyntaxKind.MultiLineCommentTrivia &&
    text.startsWith('/**', range.pos) &&
    !text.startsWith('/**/', range.pos)
  );
}

/** `FrameDecoder`, `Link.send`, … : the declaration's name, qualified by its named containers. */
function declarationName(node: ts.Node): string | undefined {
  const own = ownName(node);
  if (own === undefined) return undefined;
  const names = [own];
  for (let parent = node.parent; parent && !ts.isSourceFile(parent); parent = parent.parent) {
    if (
      ts.isClassLike(parent) ||
      ts.isInterfaceDeclaration(parent) ||
      ts.isEnumDeclaration(parent) ||
      ts.isModuleDeclaration(parent) ||
      ts.isTypeAliasDeclaration(parent)
    ) {
      const name = ownName(parent);
      if (name !== undefined) names.unshift(name);
    }
  }
  return names.join('.');
}

function ownName(node: ts.Node): string | undefined {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const declaration = ts.isVariableStatement(node) ? node.declarationList.declarations[0] : node;
  if (!declaration) return undefined;
  const name = ts.getNameOfDeclaration(declaration as ts.Declaration);
  return name && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name))
    ? name.text
    : undefined;
}

interface ParsedExamples {
  blocks: { line: number; lines: string[]; prefixes: number[] }[];
  problems: { line: number; message: string }[];
}

/** Finds the ```ts blocks of the `@example` sections of one doc comment starting on `startLine`. */
function parseExamples(comment: string, startLine: number): ParsedExamples {
  const result: ParsedExamples = { blocks: [], problems: [] };
  const raw = comment.split(/\r?\n/);
  let inExample = false;
  let exampleLine = 0;
  let exampleHasCode = false;
  let fence: { line: number; lang: string; lines: string[]; prefixes: number[] } | undefined;

  const closeExample = (): void => {
    if (inExample && !exampleHasCode) {
      result.problems.push({
        line: exampleLine,
        message: '@example has no ```ts code block, so it is not type-checked',
      });
    }
    inExample = false;
  };

  raw.forEach((rawLine, index) => {
    const line = startLine + index;
    let body = index === raw.length - 1 ? rawLine.replace(/\s*\*\/\s*$/, '') : rawLine;
    let prefix: number;
    if (index === 0) {
      prefix = /^\s*\/\*\* ?/.exec(body)?.[0].length ?? 0;
    } else {
      prefix = /^\s*\*(?!\/) ?/.exec(body)?.[0].length ?? 0;
    }
    body = body.slice(prefix);

    if (fence) {
      if (/^\s*```\s*$/.test(body)) {
        if (/^(ts|typescript)$/i.test(fence.lang)) {
          result.blocks.push({ line: fence.line + 1, lines: fence.lines, prefixes: fence.prefixes });
        }
        fence = undefined;
      } else {
        fence.lines.push(body);
        fence.prefixes.push(prefix);
      }
      return;
    }
    const opening = /^\s*```\s*([\w-]*)/.exec(body);
    if (opening) {
      fence = { line, lang: opening[1] ?? '', lines: [], prefixes: [] };
      if (inExample) exampleHasCode = true;
      return;
    }
    const tag = /^\s*@(\w+)/.exec(body);
    if (tag) {
      closeExample();
      if (tag[1] === 'example') {
        inExample = true;
        exampleLine = line;
        exampleHasCode = false;
      }
    }
  });
  if (fence) result.problems.push({ line: fence.line, message: 'code block is never closed with ```' });
  closeExample();
  return result;
}

function readCompilerOptions(configPath: string): ts.CompilerOptions {
  const read = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  if (read.error) throw new Error(flatten(read.error));
  const parsed = ts.parseJsonConfigFileContent(
    read.config,
    ts.sys,
    path.dirname(configPath),
    undefined,
    configPath,
  );
  // 18003: "No inputs were found", irrelevant since the files are given explicitly.
  const errors = parsed.errors.filter((error) => error.code !== 18003);
  if (errors.length > 0) throw new Error(errors.map(flatten).join('\n'));
  return { ...parsed.options, ...EXAMPLE_OVERRIDES };
}

/** Diagnostics about the setup itself (a bad option, a missing `types` package). */
function programProblems(root: string, program: ts.Program): Problem[] {
  return [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map((diagnostic) =>
    fromDiagnostic(root, diagnostic),
  );
}

function exampleProblems(root: string, program: ts.Program, examples: readonly Example[]): Problem[] {
  const problems: Problem[] = [];
  for (const example of examples) {
    const sourceFile = program.getSourceFile(path.resolve(root, example.file));
    if (!sourceFile) throw new Error(`${example.file} is missing from the Program`);
    const diagnostics = [
      ...program.getSyntacticDiagnostics(sourceFile),
      ...program.getSemanticDiagnostics(sourceFile),
    ];
    for (const diagnostic of diagnostics) {
      const at = sourceFile.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      problems.push({
        file: example.source,
        line: example.line + at.line,
        column: at.character + (example.prefixes[at.line] ?? 0) + 1,
        message: `error TS${diagnostic.code} in the @example of ${example.symbol}: ${flatten(diagnostic)}`,
      });
    }
  }
  return problems;
}

/** Exports of the entry files that lack a summary or an `@example`; `@internal` ones are skipped. */
function undocumentedExports(root: string, program: ts.Program, entries: readonly string[]): Problem[] {
  const checker = program.getTypeChecker();
  const seen = new Set<ts.Symbol>();
  const problems: Problem[] = [];
  for (const entry of entries) {
    const sourceFile = program.getSourceFile(path.resolve(root, entry));
    const moduleSymbol = sourceFile && checker.getSymbolAtLocation(sourceFile);
    if (!moduleSymbol) {
      problems.push({ file: entry, line: 1, column: 1, message: `entry file ${entry} exports nothing` });
      continue;
    }
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declaration = symbol.declarations?.[0];
      // No declaration: an unresolved re-export, which the type check reports.
      if (seen.has(symbol) || !declaration) continue;
      seen.add(symbol);
      const tags = symbol.getJsDocTags(checker);
      if (tags.some((tag) => tag.name === 'internal')) continue;
      const missing: string[] = [];
      if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() === '')
        missing.push('summary');
      if (!tags.some((tag) => tag.name === 'example')) missing.push('@example');
      if (missing.length === 0) continue;
      const at = declaration.getSourceFile();
      const { line, character } = at.getLineAndCharacterOfPosition(
        (ts.getNameOfDeclaration(declaration) ?? declaration).getStart(at),
      );
      problems.push({
        file: relative(root, at.fileName),
        line: line + 1,
        column: character + 1,
        message: `export '${exported.name}' (from ${entry}) has no ${missing.join(' and no ')}`,
      });
    }
  }
  return problems;
}

function fromDiagnostic(root: string, diagnostic: ts.Diagnostic): Problem {
  const message = `error TS${diagnostic.code}: ${flatten(diagnostic)}`;
  if (!diagnostic.file) return { file: 'tsconfig.json', line: 1, column: 1, message };
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  return { file: relative(root, diagnostic.file.fileName), line: line + 1, column: character + 1, message };
}

function flatten(diagnostic: ts.Diagnostic): string {
  return ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
}

function listTypeScript(folder: string): string[] {
  if (!existsSync(folder)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const absolute = path.join(folder, entry.name);
    if (entry.isDirectory()) files.push(...listTypeScript(absolute));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(absolute);
  }
  return files.sort();
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

function main(): void {
  const keep = process.argv.includes('--keep');
  const { examples, problems } = checkDocs({ keep });
  for (const problem of problems) console.error(formatProblem(problem));
  const files = new Set(examples.map((example) => example.source)).size;
  const summary = `check-examples: ${examples.length} examples from ${files} files type-checked`;
  if (problems.length > 0) {
    console.error(`${summary}; ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    process.exitCode = 1;
  } else {
    console.log(`${summary}; every public export has a summary and an @example`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
