/**
 * The requests layer's wire: its envelopes and the error a response carries, shared by both ends.
 * @internal
 * @packageDocumentation
 */
import type { ProtocolError } from '../../core/errors.js';
import type { Link } from '../../core/transport.js';
import { layerProtocolError } from '../../internal/peer-input.js';

// The requests layer's envelopes (docs/PROTOCOL.md, "Requests layer").
/** @internal */
export const PLAIN = 0;
/** @internal */
export const REQUEST = 1;
/** @internal */
export const RESPONSE = 2;
/** @internal */
export const CANCEL = 3;
/** A part of a streamed request body, client → server (v2). @internal */
export const BODY = 4;
/** The fourth item of a request head whose body follows in {@link BODY} envelopes (v2). @internal */
export const WITH_BODY = 'body';
/** The requests layer version that brought streamed request bodies. @internal */
export const BODY_VERSION = 2;

/** What an error response carries: a name and a message, nothing else. @internal */
export interface WireError {
  readonly name: string;
  readonly message: string;
}

/** @internal */
export function isRequestId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** @internal */
export function parseWireError(value: unknown): WireError | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { name, message } = value as Record<string, unknown>;
  return typeof name === 'string' && typeof message === 'string' ? { name, message } : undefined;
}

/** Reduces anything thrown to `{ name, message }`; never a stack, never a constructor. @internal */
export function toWireError(error: unknown): WireError {
  try {
    if (typeof error === 'object' && error !== null) {
      const { name, message } = error as { name?: unknown; message?: unknown };
      return {
        name: typeof name === 'string' ? name : 'Error',
        message: typeof message === 'string' ? message : 'Unknown error',
      };
    }
    return { name: 'Error', message: String(error) };
  } catch {
    // A getter or toString that throws: say nothing more than that it failed.
    return { name: 'Error', message: 'Unknown error' };
  }
}

/** @internal */
export function requestsError(message: string, link: Link<unknown> | undefined): ProtocolError {
  return layerProtocolError('requests', message, link);
}
