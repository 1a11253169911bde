import { expect } from 'chai';
import { build, type Metafile } from 'esbuild';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as node from 'rx-lifeline';
import { VirtualTimeScheduler } from 'rxjs';
import { framed, msgpackValue, simpleValue, typedMsgpackValue } from './arbitraries.js';

// A browser bundle takes one-pass.browser.ts in place of one-pass.ts (the "browser" field of
// package.json): msgpackr does all the work there. Its codec must read and write exactly what the
// Node codec does, since a browser client talks to a Node server, and refuse the same frames.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** lib/ bundled as a browser application bundles it (rxjs and msgpackr included, their browser builds). */
async function browserBundle(
  folder: string,
): Promise<{ lifeline: typeof node; inputs: string[]; code: string }> {
  const outfile = path.join(folder, 'browser-lifeline.mjs');
  const result = await build({
    stdin: {
      contents: "export { msgpackCodec, FrameDecoder, ProtocolError, memory } from 'rx-lifeline';",
      resolveDir: ROOT,
    },
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    metafile: true,
    outfile,
    logLevel: 'silent',
  });
  const lifeline = (await import(pathToFileURL(outfile).href)) as typeof node;
  const code = readFileSync(outfile, 'utf8');
  return { lifeline, inputs: Object.keys((result.metafile as Metafile).inputs), code };
}

/** `value` with every Uint8Array (a Node Buffer too) as a plain Uint8Array, for comparison. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]));
  }
  return value;
}

/** What decoding `bytes` gives: the value, or the kind and message of the error. */
function outcome(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array): unknown {
  try {
    return { value: plain(decode(bytes)) };
  } catch (error) {
    return { error: (error as Error).name, message: (error as Error).message };
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('msgpackCodec in a browser bundle', function () {
  this.timeout(30_000);
  let folder: string;
  let browser: typeof node;
  let inputs: string[];
  let code: string;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'lifeline-browser-codec-'));
    ({ lifeline: browser, inputs, code } = await browserBundle(folder));
  });

  after(() => rmSync(folder, { recursive: true, force: true }));

  it('leaves the one-pass paths and binary slabs out', () => {
    expect(inputs).to.include('lib/codec/one-pass.browser.ts');
    for (const file of ['one-pass.ts', 'msgpack-simple.ts', 'msgpack-simple-decode.ts', 'binary-slab.ts']) {
      expect(inputs, file).to.not.include(`lib/codec/${file}`);
    }
  });

  it('keeps no registry of direct encoders or slab decoders: no codec has one there', () => {
    // esbuild marks where each module's code starts in an unminified bundle.
    const modules = code.split(/^\/\/ (?=\S+\.ts$)/m);
    const codec = modules.find((module) => module.startsWith('lib/codec/codec.ts'));
    expect(codec, 'lib/codec/codec.ts in the bundle').to.not.equal(undefined);
    for (const module of modules.filter((m) => m.startsWith('lib/codec/'))) {
      expect(module, module.split('\n')[0]).to.not.include('WeakMap');
    }
  });

  it('writes the bytes the Node codec writes', () => {
    const [inBrowser, inNode] = [browser.msgpackCodec(), node.msgpackCodec()];
    fc.assert(
      fc.property(fc.oneof(simpleValue, msgpackValue, typedMsgpackValue), (value) => {
        expect(hex(inBrowser.encode(value))).to.equal(hex(inNode.encode(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('reads what the Node codec writes as the Node codec reads it', () => {
    const [inBrowser, inNode] = [browser.msgpackCodec(), node.msgpackCodec()];
    fc.assert(
      fc.property(fc.oneof(simpleValue, msgpackValue, typedMsgpackValue), (value) => {
        const bytes = inNode.encode(value);
        expect(plain(inBrowser.decode(bytes))).to.deep.equal(plain(inNode.decode(bytes)));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses the frames the Node codec refuses, with the same error', () => {
    const limits = { maxDepth: 4, maxInflation: 4, minDecodeBudget: 64 };
    const [inBrowser, inNode] = [browser.msgpackCodec(limits), node.msgpackCodec(limits)];
    // Mutated and truncated encodings of simple values (the one-pass reader's ground), and noise.
    const damaged = fc
      .tuple(
        simpleValue,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat(),
      )
      .map(([value, edits, cut]) => {
        const bytes = Uint8Array.from(node.msgpackCodec().encode(value));
        for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        return bytes.subarray(0, bytes.length - (cut % 3));
      });
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(damaged, fc.uint8Array({ minLength: 1, maxLength: 64 })), (bytes) => {
        const expected = outcome((b) => inNode.decode(b), bytes);
        expect(outcome((b) => inBrowser.decode(b), bytes)).to.deep.equal(expected);
        if ((expected as { error?: string }).error) refused++;
      }),
      { numRuns: 2000 },
    );
    expect(refused, 'frames refused').to.be.greaterThan(100);
  });

  it('gives each binary a buffer of its own (no slabs)', () => {
    const binaries = [new Uint8Array(100).fill(1), new Uint8Array(200).fill(2)];
    const got: unknown[] = [];
    const decoder = new browser.FrameDecoder({ codec: browser.msgpackCodec() });
    decoder.push(framed(node.msgpackCodec().encode(binaries)), (frame) => got.push(frame));
    const [first, second] = got[0] as Uint8Array[];
    expect(plain([first, second])).to.deep.equal(binaries);
    expect(first!.buffer.byteLength).to.equal(100);
    expect(second!.buffer.byteLength).to.equal(200);
  });

  it("writes a link's frames as its codec encodes them: a memory pair carries them as sent", () => {
    const scheduler = new VirtualTimeScheduler();
    const pair = browser.memory({ scheduler });
    const sent: unknown[] = [['data', 7], new Uint8Array(100).fill(3), { a: [1, 'b'] }];
    const got: unknown[] = [];
    const server = pair.server.subscribe((event) => {
      if (event.type === 'connection')
        event.connection.subscribe((e) => e.type === 'frame' && got.push(e.frame));
    });
    const client = pair.transport.subscribe((event) => {
      if (event.type === 'connected') for (const frame of sent) event.link.send(frame);
    });
    scheduler.flush();
    expect(plain(got)).to.deep.equal(plain(sent));
    client.unsubscribe();
    server.unsubscribe();
    scheduler.flush();
  });
});
