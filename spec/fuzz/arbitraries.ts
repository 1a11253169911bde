// What a hostile peer can put on the wire, as fast-check arbitraries: any decodable value, the
// valid envelopes of every layer, structural mutations of them (a field replaced, twisted, dropped
// or added), and raw byte mutations of their encodings.
import fc from 'fast-check';
import { codecPackr } from '../../lib/codec/codec.js';
import { LENGTH_PREFIX_BYTES } from 'rx-lifeline';

// ---------------------------------------------------------------------------------------------
// Values

/** int64 and uint64 both: msgpackCodec decodes them as bigints. */
const bigint64 = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.constantFrom(0n, 1n, -1n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n),
);

/** Numbers that break naive checks: signs, fractions, the edges of safe integers, non-finite. */
const awkwardNumber = fc.constantFrom(
  -1,
  0.5,
  -0.5,
  1.5,
  2 ** 31,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  2 ** 64,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  NaN,
  Infinity,
  -Infinity,
);

/** 32 lowercase hex digits: the shape of a session id or token. */
export const hexId = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((bytes) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(''));

/** Strings the layers compare against, and strings shaped like ids but wrong. */
const telling = fc.constantFrom(
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'value',
  'next',
  'error',
  'complete',
  'unknown-session',
  'bad-token',
  'version',
  'overloaded',
  'TooManyRequestsError',
  '0'.repeat(32),
  'F'.repeat(32),
  'a'.repeat(33),
);

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.integer({ min: -3, max: 40 }),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  awkwardNumber,
  bigint64,
  fc.date({ noInvalidDate: true }),
  fc.string({ maxLength: 12 }),
  hexId,
  telling,
  fc.uint8Array({ maxLength: 24 }),
);

const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'v',
    'session',
    'token',
    'received',
    'name',
    'message',
    'reason',
    'lost',
  ),
);

/** Any value a peer's frame can decode to (after the encoding below). */
export const peerValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    leaf,
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

/** Arrays shaped like an envelope of some layer: a kind (or a near miss) and a few fields. */
export const envelopeLike: fc.Arbitrary<unknown> = fc
  .tuple(fc.oneof(fc.integer({ min: 0, max: 4 }), leaf), fc.array(peerValue, { maxLength: 4 }))
  .map(([kind, rest]) => [kind, ...rest]);

/** Any frame a peer may send a layer: mostly envelope-shaped, sometimes any value at all. */
export const hostileFrame = fc.oneof(
  { weight: 2, arbitrary: envelopeLike },
  { weight: 1, arbitrary: peerValue },
);

// ---------------------------------------------------------------------------------------------
// Structural mutations

/** One change to a value tree, at the node `at` (modulo the node count, in pre-order). */
export type Mutation =
  | { readonly at: number; readonly kind: 'replace'; readonly value: unknown }
  | { readonly at: number; readonly kind: 'twist'; readonly pick: number }
  | { readonly at: number; readonly kind: 'drop' }
  | { readonly at: number; readonly kind: 'add'; readonly value: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ at: fc.nat(), kind: fc.constant('replace' as const), value: peerValue }),
  fc.record({ at: fc.nat(), kind: fc.constant('twist' as const), pick: fc.nat() }),
  fc.record({ at: fc.nat(), kind: fc.constant('drop' as const) }),
  fc.record({ at: fc.nat(), kind: fc.constant('add' as const), value: peerValue }),
);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      Object.defineProperty(out, k, {
        value: clone(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return value;
}

/** Near misses of `value`: the same meaning with the wrong type, sign, size or shape. */
function twisted(value: unknown, pick: number): unknown {
  let options: unknown[];
  if (typeof value === 'number') {
    options = [
      -value,
      value + 0.5,
      value * 2 ** 32,
      value + 2 ** 53,
      BigInt(Math.trunc(Number.isFinite(value) ? value : 0)),
      String(value),
      -1,
      0,
      NaN,
      Infinity,
      2 ** 53,
      2 ** 64,
      [value],
      { value },
    ];
  } else if (typeof value === 'string') {
    options = ['', `${value}0`, value.slice(1), value.toUpperCase(), value.length, [value], 'x'.repeat(1000)];
  } else if (Array.isArray(value)) {
    options = [
      [],
      [...value, ...value],
      value.slice(1),
      value.slice(0, -1),
      value.slice().reverse(),
      { ...value },
      value.length,
    ];
  } else if (isPlainObject(value)) {
    options = [{}, [], Object.values(value), Object.keys(value), null];
  } else {
    options = [0, -1, '', [], {}, null, undefined, 1n, new Date(0), new Uint8Array(2)];
  }
  return options[pick % options.length];
}

/** Applies `m` to a copy of `root`. */
export function mutate(root: unknown, m: Mutation): unknown {
  const copy = clone(root);
  // Pre-order nodes with their parent and key; the root has none.
  const nodes: { parent: unknown; key: string | number | undefined; value: unknown }[] = [];
  const walk = (value: unknown, parent: unknown, key: string | number | undefined) => {
    nodes.push({ parent, key, value });
    if (Array.isArray(value)) value.forEach((child, i) => walk(child, value, i));
    else if (isPlainObject(value)) for (const [k, child] of Object.entries(value)) walk(child, value, k);
  };
  walk(copy, undefined, undefined);
  const node = nodes[m.at % nodes.length]!;
  const set = (next: unknown) => {
    if (node.key === undefined) return next;
    (node.parent as Record<string | number, unknown>)[node.key] = next;
    return copy;
  };
  switch (m.kind) {
    case 'replace':
      return set(m.value);
    case 'twist':
      return set(twisted(node.value, m.pick));
    case 'drop':
      if (node.key === undefined) return undefined;
      if (Array.isArray(node.parent)) node.parent.splice(node.key as number, 1);
      else delete (node.parent as Record<string, unknown>)[node.key];
      return copy;
    case 'add':
      if (Array.isArray(node.value)) node.value.push(m.value);
      else if (isPlainObject(node.value)) node.value[`k${m.at % 7}`] = m.value;
      else return set([node.value, m.value]);
      return copy;
  }
}

// ---------------------------------------------------------------------------------------------
// Conversations: what one peer sends on one connection, frame by frame, in virtual time.

/** A frame and the virtual milliseconds waited before sending it. */
export interface Step {
  readonly frame: unknown;
  readonly wait: number;
}

/**
 * Placeholders the harness replaces just before encoding: the control client's session id, and
 * the session and token the server last welcomed this connection with.
 */
export const CONTROL_SESSION = '<control-session>';
export const OWN_SESSION = '<own-session>';
export const OWN_TOKEN = '<own-token>';

const seq = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.nat());
const requestId = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.nat());

// Heartbeat envelopes (docs/PROTOCOL.md): [0, frame], [1, id, t0], [2, id, t0, t1, t2].
const hb = (frame: unknown): unknown => [0, frame];
const ping = fc.tuple(fc.constant(1), fc.integer({ min: 1, max: 9 }), fc.nat()).map((p) => [...p]);
const pong = fc
  .tuple(fc.constant(2), fc.integer({ min: 1, max: 9 }), fc.nat(), fc.nat(), fc.nat())
  .map((p) => [...p]);

// Requests envelopes, client → server: [0, frame], [1, id, payload], [3, id]; v2 adds a head with
// a body, [1, id, payload, 'body'], and its parts, [4, id, 'next', chunk] / 'complete' / 'error'.
const clientRequests = fc.oneof(
  fc.tuple(fc.constant(1), requestId, peerValue).map((e) => [...e]),
  fc.tuple(fc.constant(1), requestId, peerValue, fc.constant('body')).map((e) => [...e]),
  fc.tuple(fc.constant(4), requestId, fc.constant('next'), peerValue).map((e) => [...e]),
  fc.tuple(fc.constant(4), requestId, fc.constant('complete')).map((e) => [...e]),
  fc
    .tuple(
      fc.constant(4),
      requestId,
      fc.constant('error'),
      fc.record({ name: fc.string(), message: fc.string() }),
    )
    .map((e) => [...e]),
  fc.tuple(fc.constant(3), requestId).map((e) => [...e]),
  fc.tuple(fc.constant(0), peerValue).map((e) => [...e]),
);
// … and server → client: [0, frame], [2, id, part, value?].
const serverRequests = fc.oneof(
  fc.tuple(fc.constant(2), requestId, fc.constantFrom('value', 'next'), peerValue).map((e) => [...e]),
  fc.tuple(fc.constant(2), requestId, fc.constant('complete')).map((e) => [...e]),
  fc
    .tuple(
      fc.constant(2),
      requestId,
      fc.constant('error'),
      fc.record({ name: fc.string(), message: fc.string() }),
    )
    .map((e) => [...e]),
  fc.tuple(fc.constant(0), peerValue).map((e) => [...e]),
);

// Hellos: new, resuming this connection's session, or guessing at the control client's.
const versions = fc.oneof(
  fc.constant([1, 1]),
  fc.tuple(fc.nat(3), fc.nat(3)).map((v) => [...v]),
);
export const hello = fc.oneof(
  versions.map((v) => ({ v, received: 0 })),
  fc.tuple(versions, seq).map(([v, received]) => ({ v, session: OWN_SESSION, token: OWN_TOKEN, received })),
  fc
    .tuple(versions, hexId, seq)
    .map(([v, token, received]) => ({ v, session: CONTROL_SESSION, token, received })),
  fc.tuple(versions, hexId, hexId).map(([v, session, token]) => ({ v, session, token, received: 0 })),
);

/** One frame of a client speaking heartbeat → resumable → requests to a server. */
const clientFrame = fc.oneof(
  { weight: 2, arbitrary: hello.map((h) => hb([2, h])) },
  { weight: 4, arbitrary: fc.tuple(seq, clientRequests).map(([n, inner]) => hb([0, n, inner])) },
  { weight: 1, arbitrary: seq.map((n) => hb([1, n])) },
  { weight: 1, arbitrary: ping },
  { weight: 1, arbitrary: pong },
  { weight: 1, arbitrary: hostileFrame },
  { weight: 1, arbitrary: hostileFrame.map(hb) },
  { weight: 1, arbitrary: fc.tuple(seq, hostileFrame).map(([n, inner]) => hb([0, n, inner])) },
);

/** Waits between frames; their sum stays below the server's handshake deadline. */
const wait = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1_500 }));

function conversation(first: fc.Arbitrary<unknown>, frame: fc.Arbitrary<unknown>): fc.Arbitrary<Step[]> {
  return fc
    .tuple(
      first,
      fc.array(frame, { maxLength: 8 }),
      fc.array(mutation, { maxLength: 3 }),
      fc.array(wait, { minLength: 9, maxLength: 9 }),
    )
    .map(([head, rest, mutations, waits]) => {
      let frames: unknown = [head, ...rest];
      for (const m of mutations) frames = mutate(frames, m);
      const list = Array.isArray(frames) ? frames : [frames];
      return list.map((frame, i) => ({ frame, wait: waits[i % waits.length]! }));
    });
}

/**
 * A client's connection to a server stack: usually a valid hello first (so the layers above the
 * handshake are reached), then any envelopes, then up to three structural mutations anywhere.
 */
export const clientConversation = fc.oneof(
  {
    weight: 4,
    arbitrary: conversation(
      hello.map((h) => hb([2, h])),
      clientFrame,
    ),
  },
  // Token guessing: many hellos naming the control client's session.
  {
    weight: 1,
    arbitrary: fc.array(hexId, { minLength: 5, maxLength: 40 }).chain((tokens) =>
      fc
        .array(fc.integer({ min: 0, max: 400 }), { minLength: tokens.length, maxLength: tokens.length })
        .map((waits) =>
          tokens.map((token, i) => ({
            frame: hb([2, { v: [1, 1], session: CONTROL_SESSION, token, received: 0 }]),
            wait: waits[i]!,
          })),
        ),
    ),
  },
);

/** A welcome for a client's new session. */
const welcome = fc
  .tuple(fc.constantFrom(1, 0, 2), hexId, hexId, fc.oneof(fc.constant(0), seq))
  .map(([v, session, token, received]) => ({ v, session, token, received }));
const refusal = fc
  .tuple(
    fc.constantFrom('unknown-session', 'bad-token', 'version', 'overloaded', 'other'),
    fc.option(fc.tuple(seq, seq).map((l) => [...l])),
  )
  .map(([reason, lost]) => (lost === null ? { reason } : { reason, lost }));

/** One frame of a server speaking heartbeat → resumable → requests to a client. */
const serverFrame = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(seq, serverRequests).map(([n, inner]) => hb([0, n, inner])) },
  { weight: 1, arbitrary: welcome.map((w) => hb([3, w])) },
  { weight: 1, arbitrary: refusal.map((r) => hb([4, r])) },
  { weight: 1, arbitrary: seq.map((n) => hb([1, n])) },
  { weight: 1, arbitrary: ping },
  { weight: 1, arbitrary: pong },
  { weight: 1, arbitrary: hostileFrame },
  { weight: 1, arbitrary: hostileFrame.map(hb) },
  { weight: 1, arbitrary: fc.tuple(seq, hostileFrame).map(([n, inner]) => hb([0, n, inner])) },
);

/** A server's side of a connection to a client stack: usually a welcome first. */
export const serverConversation = conversation(
  welcome.map((w) => hb([3, w])),
  serverFrame,
);

/** Frames for `serveRequests()` piped on a plain connection (no other layer). */
export const plainRequestsConversation = conversation(clientRequests, fc.oneof(clientRequests, hostileFrame));

/** Frames for `heartbeat()` alone, on either side. */
export const heartbeatConversation = conversation(
  fc.oneof(ping, pong, peerValue.map(hb)),
  fc.oneof(ping, pong, peerValue.map(hb), hostileFrame),
);

// ---------------------------------------------------------------------------------------------
// Bytes

/** Encodes anything msgpackr can write, bigints (int64/uint64), Dates and `undefined` included. */
const packr = codecPackr();

export function encodeBody(value: unknown): Uint8Array {
  try {
    return Uint8Array.from(packr.pack(value));
  } catch {
    return Uint8Array.of(0xc0); // nil: a value msgpackr cannot write is not a frame a peer sends
  }
}

export function withPrefix(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, LENGTH_PREFIX_BYTES);
  return out;
}

/** One change to an encoded frame (prefix included). */
export type ByteMutation =
  | { readonly kind: 'flip'; readonly at: number; readonly xor: number }
  | { readonly kind: 'insert'; readonly at: number; readonly byte: number }
  | { readonly kind: 'delete'; readonly at: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'length'; readonly length: number };

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('length' as const),
    length: fc.oneof(fc.nat(64), fc.constantFrom(0, 0xffffffff, 16 * 1024 * 1024, 16 * 1024 * 1024 + 1)),
  }),
);

export function mutateBytes(bytes: Uint8Array, m: ByteMutation): Uint8Array {
  const out = Array.from(bytes);
  const at = out.length === 0 ? 0 : ('at' in m ? m.at : 0) % out.length;
  switch (m.kind) {
    case 'flip':
      if (out.length > 0) out[at] = out[at]! ^ m.xor;
      break;
    case 'insert':
      out.splice(at, 0, m.byte);
      break;
    case 'delete':
      out.splice(at, 1);
      break;
    case 'truncate':
      out.length = at;
      break;
    case 'length':
      if (out.length >= LENGTH_PREFIX_BYTES) {
        const view = new DataView(new ArrayBuffer(4));
        view.setUint32(0, m.length);
        for (let i = 0; i < 4; i++) out[i] = view.getUint8(i);
      }
      break;
  }
  return Uint8Array.from(out);
}

/** How a stream is cut into chunks: fractions of its length (equal cuts make empty chunks). */
export const cuts = fc.oneof(
  fc.constant<number[]>([]),
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
);

export function split(bytes: Uint8Array, at: readonly number[]): Uint8Array[] {
  const points = at.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

/**
 * Frames that decode to far more memory than their bytes: an array 32 of `count` copies of one
 * 1-byte container (empty map 0x80, empty array 0x90) or of a 9-byte timestamp / int64.
 */
export const amplifier = fc
  .tuple(
    fc.constantFrom([0x80], [0x90], [0xd6, 0xff, 0, 0, 0, 1], [0xd3, 0, 0, 0, 0, 0, 0, 0, 1]),
    fc.integer({ min: 1 << 15, max: 1 << 17 }),
  )
  .map(([item, count]) => {
    const body = new Uint8Array(5 + item.length * count);
    body[0] = 0xdd;
    new DataView(body.buffer).setUint32(1, count);
    for (let i = 0; i < count; i++) body.set(item, 5 + i * item.length);
    return body;
  });
