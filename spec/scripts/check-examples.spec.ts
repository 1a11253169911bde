import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  checkDocs,
  extractFromMarkdown,
  extractFromSource,
  formatProblem,
  writeExamples,
} from '../../scripts/check-examples.js';

// A self-contained project: no node_modules, so only TypeScript's own lib files are needed.
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUnusedLocals: true,
    skipLibCheck: true,
    types: [],
    paths: { fixture: ['./lib/index.ts'] },
  },
  include: ['lib', '.examples'],
};

const INDEX = `export { addOne, answer, secret, untold } from './things.js';\n`;

/** `things.ts` with the given example code for `addOne` (line 5 is the code's first line). */
const things = (exampleCode: string) => `/**
 * Adds one.
 * @example
 * \`\`\`ts
 * import { addOne } from 'fixture';
 * ${exampleCode}
 * \`\`\`
 */
export function addOne(n: number): number {
  return n + 1;
}

/**
 * The answer.
 * @example
 * \`\`\`ts
 * import { answer } from 'fixture';
 * const n: number = answer;
 * \`\`\`
 */
export const answer = 42;

/** Not public API. @internal */
export const secret = 1;

export const untold = 2;
`;

describe('scripts/check-examples', () => {
  let tmp = '';
  let count = 0;

  before(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'lifeline-check-examples-'));
  });

  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  function project(files: Record<string, string>): string {
    const root = path.join(tmp, `project-${++count}`);
    const all = { 'tsconfig.json': JSON.stringify(TSCONFIG), 'package.json': '{"type":"module"}', ...files };
    for (const [file, text] of Object.entries(all)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    }
    return root;
  }

  const check = (root: string) => checkDocs({ root, entries: ['lib/index.ts'] });

  it('passes a correct example (unused names allowed), and removes .examples afterwards', () => {
    const root = project({
      'lib/index.ts': `export { addOne, answer } from './things.js';\n`,
      'lib/things.ts': things('const two: number = addOne(1);'),
    });
    const { examples, problems } = check(root);
    expect(problems.map(formatProblem)).to.deep.equal([]);
    expect(examples.map((e) => [e.file, e.symbol, e.line])).to.deep.equal([
      ['.examples/lib-things-addOne.ts', 'addOne', 5],
      ['.examples/lib-things-answer.ts', 'answer', 17],
    ]);
    expect(existsSync(path.join(root, '.examples'))).to.equal(false);
  });

  it('reports a type error at its line and column in lib/', () => {
    const root = project({
      'lib/index.ts': INDEX,
      'lib/things.ts': things('const text: string = addOne(1);'),
    });
    const problems = check(root).problems.filter((p) => p.message.includes('error TS'));
    expect(problems.map(formatProblem)).to.deep.equal([
      "lib/things.ts:6:10 - error TS2322 in the @example of addOne: Type 'number' is not assignable to type 'string'.",
    ]);
  });

  it('reports exports without an @example or a summary, skipping @internal ones', () => {
    const root = project({ 'lib/index.ts': INDEX, 'lib/things.ts': things('addOne(1);') });
    expect(check(root).problems.map(formatProblem)).to.deep.equal([
      "lib/things.ts:26:14 - export 'untold' (from lib/index.ts) has no summary and no @example",
    ]);
  });

  it('reports a missing entry file', () => {
    const root = project({ 'lib/index.ts': 'export {};\n' });
    const problems = checkDocs({ root, entries: ['lib/index.ts', 'lib/node/index.ts'] }).problems;
    expect(problems.map(formatProblem)).to.deep.equal([
      'lib/node/index.ts:1:1 - entry file lib/node/index.ts does not exist',
    ]);
  });

  it('names examples by their declaration and maps columns past the comment prefix', () => {
    const source = [
      'export class Box {',
      '  /**',
      '   * Opens it.',
      '   * @example',
      '   * ```ts',
      '   *   new Box().open();',
      '   * ```',
      '   * @example',
      '   * box.open() // no code block',
      '   */',
      '  open(): void {}',
      '}',
    ].join('\n');
    const { examples, problems } = extractFromSource('lib/box.ts', source);
    expect(examples).to.deep.equal([
      { source: 'lib/box.ts', symbol: 'Box.open', line: 6, lines: ['  new Box().open();'], prefixes: [5] },
    ]);
    expect(problems.map(formatProblem)).to.deep.equal([
      'lib/box.ts:8:1 - @example has no ```ts code block, so it is not type-checked (in the doc of Box.open)',
    ]);
  });

  it('extracts the ```ts blocks of Markdown, with their line numbers, and reports an unclosed one', () => {
    const text = [
      '# Title',
      '',
      '```ts',
      'const a: number = 1;',
      '```',
      'prose',
      '```sh',
      'npm test',
      '```',
      '```ts',
      'x',
    ].join('\n');
    const { examples, problems } = extractFromMarkdown('README.md', text);
    expect(examples).to.have.length(1);
    expect(examples[0]).to.include({ source: 'README.md', line: 4 });
    expect(examples[0]!.lines).to.deep.equal(['const a: number = 1;']);
    expect(problems.map((p) => p.line)).to.deep.equal([10]);
  });

  it('writes each example as a module, after clearing the folder', () => {
    const root = project({ '.examples/stale.ts': 'stale' });
    writeExamples(root, [
      {
        source: 'lib/a.ts',
        symbol: 'a',
        line: 3,
        lines: ['const a = 1;'],
        prefixes: [3],
        file: '.examples/lib-a-a.ts',
      },
    ]);
    expect(existsSync(path.join(root, '.examples/stale.ts'))).to.equal(false);
    expect(readFileSync(path.join(root, '.examples/lib-a-a.ts'), 'utf8')).to.equal(
      'const a = 1;\nexport {};\n',
    );
  });
});
