// The resumable layer's envelopes and handshake messages (docs/PROTOCOL.md, "Resumable layer").
import type { ProtocolError } from '../../core/errors.js';
import type { Link } from '../../core/transport.js';
import { layerProtocolError } from '../../internal/peer-input.js';

export const DATA = 0;
export const ACK = 1;
export const HELLO = 2;
export const WELCOME = 3;
export const REFUSAL = 4;
/** Client → server, version 2 on: the client closed; the session ends now. */
export const GOODBYE = 5;

/** The resumable layer versions this implementation speaks. */
export const MIN_VERSION = 1;
export const MAX_VERSION = 2;
/** The first version with the goodbye envelope. */
export const GOODBYE_VERSION = 2;

export interface Hello {
  readonly v: readonly [number, number];
  readonly session?: string;
  readonly token?: string;
  readonly received: number;
  /** Version 2 on, optional: the highest `seq` the client sent, for the server's redelivery flags. */
  readonly sent?: number;
}

export interface Welcome {
  readonly v: number;
  readonly session: string;
  readonly token: string;
  readonly received: number;
  /** Version 2 on, optional: the session was resumed from a store on another server process. */
  readonly moved?: true;
  /** With `moved`, optional: the highest `seq` that process has for the client (its replay ends there). */
  readonly sent?: number;
}

export type RefusalReason = 'unknown-session' | 'bad-token' | 'version' | 'overloaded';

export interface Refusal {
  readonly reason: RefusalReason;
  readonly lost?: readonly [number, number];
}

/** A frame number or a count on the wire: a safe integer ≥ 0. @internal */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ID = /^[0-9a-f]{32}$/;

/** A session id or token as the wire carries it: 32 lowercase hex digits. */
export function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

export function parseHello(value: unknown): Hello | undefined {
  if (!isRecord(value)) return undefined;
  const { v, session, token, received, sent } = value;
  if (sent !== undefined && !isCount(sent)) return undefined;
  if (!Array.isArray(v) || v.length !== 2 || !isCount(v[0]) || !isCount(v[1]) || v[0] > v[1])
    return undefined;
  if (!isCount(received)) return undefined;
  if (session !== undefined && !isId(session)) return undefined;
  if (token !== undefined && !isId(token)) return undefined;
  if ((session === undefined) !== (token === undefined)) return undefined;
  if (session === undefined && received !== 0) return undefined;
  return value as unknown as Hello;
}

export function parseWelcome(value: unknown): Welcome | undefined {
  if (!isRecord(value)) return undefined;
  const { v, session, token, received, moved, sent } = value;
  if (!isCount(v) || !isId(session) || !isId(token) || !isCount(received)) return undefined;
  if (moved !== undefined && moved !== true) return undefined;
  if (sent !== undefined && !isCount(sent)) return undefined;
  return value as unknown as Welcome;
}

const REASONS: readonly string[] = ['unknown-session', 'bad-token', 'version', 'overloaded'];

export function parseRefusal(value: unknown): Refusal | undefined {
  if (!isRecord(value)) return undefined;
  const { reason, lost } = value;
  if (typeof reason !== 'string' || !REASONS.includes(reason)) return undefined;
  if (lost !== undefined) {
    if (!Array.isArray(lost) || lost.length !== 2 || !isCount(lost[0]) || !isCount(lost[1])) return undefined;
    if (lost[0] > lost[1]) return undefined;
  }
  return value as unknown as Refusal;
}

/** 128 bits from the platform's cryptographic random (Web Crypto: browsers and Node ≥ 20), as hex. */
export function randomId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  // One flat string: built with +=, V8 would keep a tree of the 16 pieces for the session's life.
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Compares two strings in time that depends on their length only, not on where they differ, so a
 * guesser learns nothing from how fast a wrong token is refused.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function layerError(message: string, link: Link<unknown> | undefined): ProtocolError {
  return layerProtocolError('resumable', message, link);
}
