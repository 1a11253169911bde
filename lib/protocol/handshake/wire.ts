/**
 * The handshake's three messages and their total checks (docs/PROTOCOL.md, "Handshake"): a
 * peer's value is either one of them or `undefined`, never an exception.
 * @internal
 * @packageDocumentation
 */
import { describeValue } from '../../internal/describe-value.js';
import { isHandshakeFrame } from '../../internal/peer-input.js';
import { type VersionRange } from './layers.js';

/**
 * Why a server refused a handshake.
 *
 * - `'version'`: no handshake version in common, or a layer both stack with no version in common;
 *   a lifeline wire v1 peer (no handshake at all) is refused this way too.
 * - `'layers'`: one side stacks a layer the other does not.
 * - `'app'`: the application protocol's name differs, or no version of it is in common.
 * - `'unauthorized'`: the server's `authenticate` turned the credentials down.
 * - `'unavailable'`: the server's `authenticate` failed (threw or rejected): it could not decide.
 * - `'overloaded'`: the server admits no more handshakes for now ({@link HandshakeAdmission}); the
 *   refusal says when to come back.
 * - `'malformed'`: the hello was not a valid hello.
 *
 * @example
 * ```ts
 * import type { HandshakeRefusal } from 'rx-lifeline';
 * const worthRetrying = (reason: HandshakeRefusal) => reason === 'unavailable' || reason === 'overloaded';
 * ```
 * @category Handshake
 */
export type HandshakeRefusal =
  'version' | 'layers' | 'app' | 'unauthorized' | 'unavailable' | 'overloaded' | 'malformed';

const REFUSALS: readonly string[] = [
  'version',
  'layers',
  'app',
  'unauthorized',
  'unavailable',
  'overloaded',
  'malformed',
];

/**
 * An application protocol as a handshake names it: a name, and the versions a side speaks.
 *
 * @example
 * ```ts
 * import type { AppProtocol } from 'rx-lifeline';
 * const chat: AppProtocol = { name: 'chat', versions: [1, 2] };
 * ```
 * @category Handshake
 */
export interface AppProtocol {
  readonly name: string;
  readonly versions: VersionRange;
}

/** The client's first frame. */
export interface Hello {
  readonly lifeline: VersionRange;
  readonly layers: Readonly<Record<string, VersionRange>>;
  readonly app?: AppProtocol;
  readonly credentials?: unknown;
}

/** The server's answer when it accepts. */
export interface Accept {
  readonly lifeline: number;
  readonly layers: Readonly<Record<string, number>>;
  readonly app?: { readonly name: string; readonly version: number };
}

/** The server's answer when it refuses: its own stack and application protocol, to say why. */
export interface Refused {
  readonly lifeline: number;
  readonly refused: HandshakeRefusal;
  readonly layers?: Readonly<Record<string, VersionRange>>;
  readonly app?: AppProtocol;
  /** `'unavailable'` and `'overloaded'` only: when to come back, in milliseconds. */
  readonly retryAfterMs?: number;
}

/**
 * The server's graceful close of an accepted connection: it will close it, and says when to come
 * back. Sent only on a connection whose handshake settled at least one layer, whose envelopes are
 * all arrays, so a map cannot be mistaken for one of them.
 */
export interface GoAway {
  readonly lifeline: number;
  readonly goAway: { readonly retryAfterMs?: number };
}

/** Most layers a hello or an answer may name; more is malformed. */
const MAX_LAYERS = 16;
/** Longest layer or application name accepted. */
const MAX_NAME = 64;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/** True for `[lowest, highest]`, integers ≥ 1 with lowest ≤ highest. */
export function isVersionRange(value: unknown): value is VersionRange {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    isVersion(value[0]) &&
    isVersion(value[1]) &&
    value[0] <= value[1]
  );
}

/** A retry hint: an integer number of milliseconds from 0 to a day. */
export function isDelay(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= 86_400_000;
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME;
}

/** A record of at most 16 names, each mapped to what `valid` accepts. */
function isNamedRecord<T>(value: unknown, valid: (entry: unknown) => entry is T): value is Record<string, T> {
  if (!isRecord(value)) return false;
  const entries = Object.entries(value);
  return entries.length <= MAX_LAYERS && entries.every(([name, entry]) => isName(name) && valid(entry));
}

export function isAppProtocol(value: unknown): value is AppProtocol {
  return isRecord(value) && isName(value['name']) && isVersionRange(value['versions']);
}

/** A hello, or undefined for anything else. */
export function parseHello(value: unknown): Hello | undefined {
  if (!isRecord(value)) return undefined;
  const { lifeline, layers, app } = value;
  if (!isVersionRange(lifeline) || !isNamedRecord(layers, isVersionRange)) return undefined;
  if (app !== undefined && !isAppProtocol(app)) return undefined;
  return value as unknown as Hello;
}

/** True when `value` claims to be a hello (a record with a `lifeline` field), valid or not. */
export const looksLikeHello = isHandshakeFrame;

/** An accept or a refusal, or undefined for anything else. */
export function parseAnswer(value: unknown): Accept | Refused | undefined {
  if (!isRecord(value) || !isVersion(value['lifeline'])) return undefined;
  if (Object.hasOwn(value, 'refused')) {
    const { refused, layers, app } = value;
    if (typeof refused !== 'string' || !REFUSALS.includes(refused)) return undefined;
    if (layers !== undefined && !isNamedRecord(layers, isVersionRange)) return undefined;
    if (app !== undefined && !isAppProtocol(app)) return undefined;
    if (value['retryAfterMs'] !== undefined && !isDelay(value['retryAfterMs'])) return undefined;
    return value as unknown as Refused;
  }
  const { layers, app } = value;
  if (!isNamedRecord(layers, isVersion)) return undefined;
  if (app !== undefined && !(isRecord(app) && isName(app['name']) && isVersion(app['version'])))
    return undefined;
  return value as unknown as Accept;
}

/** A go-away, or undefined for anything else. */
export function parseGoAway(value: unknown): GoAway | undefined {
  if (!isRecord(value) || !isVersion(value['lifeline'])) return undefined;
  const { goAway } = value;
  if (!isRecord(goAway)) return undefined;
  if (goAway['retryAfterMs'] !== undefined && !isDelay(goAway['retryAfterMs'])) return undefined;
  return value as unknown as GoAway;
}

export function isRefused(answer: Accept | Refused): answer is Refused {
  return Object.hasOwn(answer, 'refused');
}

/** A stack for a message: `heartbeat v1, resumable v1–2`, or `no layers`. */
export function describeStack(layers: Readonly<Record<string, VersionRange>>): string {
  const names = Object.keys(layers);
  if (names.length === 0) return 'no layers';
  return names
    .map((name) => {
      const [low, high] = layers[name]!;
      return `${describeName(name)} v${low === high ? low : `${low}–${high}`}`;
    })
    .join(', ');
}

/** A peer's name as a message shows it: a known-safe word as it is, anything else described. */
export function describeName(name: string): string {
  return /^[a-z][a-z0-9-]{0,31}$/i.test(name) ? name : describeValue(name);
}
