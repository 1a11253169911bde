import { ConnectionError, type WriteReport } from '../../core/errors.js';
import { compareLayers, isLayerName, LAYERS, type LayerMismatch, type VersionRange } from './layers.js';
import { describeName, describeStack, type AppProtocol, type HandshakeRefusal } from './wire.js';

/**
 * A handshake was refused: the two ends do not stack the same layers, share no version, speak
 * different application protocols, or the credentials were turned down. Raised on both sides —
 * by the client's {@link handshake} when the server's refusal arrives, by the server's
 * {@link acceptHandshake} for that one connection — with a message naming what differs and where
 * to pipe what is missing. Permanent for {@link classifyFailure} (a reconnect would be refused the
 * same way), except `'unavailable'` and `'overloaded'`, which may carry the server's
 * `retryAfterMs`.
 *
 * @example
 * ```ts
 * import { HandshakeRefusedError } from 'rx-lifeline';
 * const missing = (e: unknown) =>
 *   HandshakeRefusedError.is(e) && e.reason === 'layers' ? e.layers?.serverOnly : undefined;
 * ```
 * @category Handshake
 */
export class HandshakeRefusedError extends ConnectionError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'HandshakeRefusedError';

  /** Why the server refused. */
  readonly reason: HandshakeRefusal;
  /** The side this error was raised on: the refused client, or the refusing server. */
  readonly side: 'client' | 'server';
  /** How the two stacks differ, when the server said what it stacks. */
  readonly layers: LayerMismatch | undefined;
  /**
   * The server's hint of when to come back, in milliseconds (`'unavailable'`, `'overloaded'`): a retry
   * policy takes it as its next delay, above the policy's own maximum too, up to its `maxHint`.
   */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: {
      reason: HandshakeRefusal;
      side: 'client' | 'server';
      layers?: LayerMismatch;
      retryAfterMs?: number;
      write?: WriteReport;
      cause?: unknown;
    },
  ) {
    super(message, {
      phase: 'dial',
      ...(options.write ? { write: options.write } : {}),
      cause: options.cause,
    });
    this.reason = options.reason;
    this.side = options.side;
    this.layers = options.layers;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * A handshake did not complete in time: the client heard no answer within its `timeout` of the
 * connection opening, or the server no hello within its `timeout` of accepting the connection. A
 * `ConnectionError` in phase `'dial'`: transient, the next connection may answer.
 *
 * @example
 * ```ts
 * import { HandshakeTimeoutError } from 'rx-lifeline';
 * const waited = (e: unknown) => (HandshakeTimeoutError.is(e) ? e.after : 0);
 * ```
 * @category Handshake
 */
export class HandshakeTimeoutError extends ConnectionError {
  /** @internal Names the prototype; a static field, not a statement, so that bundlers drop an unused class. */
  protected static override readonly named: string = 'HandshakeTimeoutError';

  /** The deadline that passed, in milliseconds. */
  readonly after: number;

  constructor(message: string, options: { after: number; write?: WriteReport }) {
    super(message, { phase: 'dial', code: 'ETIMEDOUT', ...(options.write ? { write: options.write } : {}) });
    this.after = options.after;
  }
}

/** What each side stated, as far as it is known, to explain a refusal. @internal */
export interface Stated {
  readonly layers: Readonly<Record<string, VersionRange>> | undefined;
  readonly app: AppProtocol | undefined;
}

/**
 * The error for a refusal, on either side: the same facts, told from where it is raised.
 * @internal
 */
export function refusalError(
  reason: HandshakeRefusal,
  side: 'client' | 'server',
  stated: { client: Stated; server: Stated; remote: string },
  extra: { write?: WriteReport; cause?: unknown; retryAfterMs?: number } = {},
): HandshakeRefusedError {
  const { client, server } = stated;
  const layers = client.layers && server.layers ? compareLayers(client.layers, server.layers) : undefined;
  const head =
    side === 'client'
      ? `The server at ${stated.remote} refused the handshake`
      : `Refused the handshake of the client at ${stated.remote}`;
  const hint = extra.retryAfterMs === undefined ? '' : `; come back in ${extra.retryAfterMs} ms`;
  const why = explain(reason, side, client, server, layers) + hint;
  return new HandshakeRefusedError(`${head} (${reason}): ${why}`, {
    reason,
    side,
    ...(layers ? { layers } : {}),
    ...extra,
  });
}

function explain(
  reason: HandshakeRefusal,
  side: 'client' | 'server',
  client: Stated,
  server: Stated,
  layers: LayerMismatch | undefined,
): string {
  switch (reason) {
    case 'layers':
    case 'version':
      if (layers && (layers.clientOnly.length || layers.serverOnly.length || layers.noCommonVersion.length)) {
        return explainLayers(side, layers, client.layers!, server.layers!);
      }
      return reason === 'version'
        ? `no version of the handshake in common; the peer speaks lifeline wire v1 or a newer one: upgrade the older side`
        : 'the two sides stack different layers';
    case 'app':
      return `the application protocols differ: the client speaks ${describeApp(client.app)}, the server ${describeApp(server.app)}`;
    case 'unauthorized':
      return side === 'client'
        ? 'the server turned the credentials down'
        : 'authenticate() turned the credentials down';
    case 'overloaded':
      return side === 'client'
        ? 'the server admits no more handshakes for now'
        : 'this server admits no more handshakes for now (admission)';
    case 'unavailable':
      return side === 'client'
        ? 'the server could not check the credentials (its authenticate failed); a later try may succeed'
        : 'authenticate() failed, so the credentials could not be checked (see cause)';
    case 'malformed':
      return side === 'client'
        ? 'the server found the hello malformed'
        : 'the hello was malformed; does the client pipe handshake() from rx-lifeline?';
  }
}

/** One sentence per layer that differs, with where to pipe it. */
function explainLayers(
  side: 'client' | 'server',
  layers: LayerMismatch,
  client: Readonly<Record<string, VersionRange>>,
  server: Readonly<Record<string, VersionRange>>,
): string {
  const here = side === 'client' ? 'this client' : 'the client';
  const there = side === 'client' ? 'the server' : 'this server';
  const parts: string[] = [];
  for (const name of layers.serverOnly) {
    const fix = isLayerName(name) ? `: ${LAYERS[name].client} on the client` : '';
    parts.push(`${there} stacks ${describeName(name)} and ${here} does not${fix}`);
  }
  for (const name of layers.clientOnly) {
    const fix = isLayerName(name) ? `: ${LAYERS[name].server} on the server` : '';
    parts.push(`${here} stacks ${describeName(name)} and ${there} does not${fix}`);
  }
  for (const name of layers.noCommonVersion) {
    parts.push(
      `${describeName(name)}: the client speaks ${describeStack({ [name]: client[name]! })}, the server ${describeStack({ [name]: server[name]! })}; upgrade the older side`,
    );
  }
  return `${parts.join('; ')} (the client stacks ${describeStack(client)}; the server ${describeStack(server)})`;
}

function describeApp(app: AppProtocol | undefined): string {
  if (!app) return 'none (no app option)';
  const [low, high] = app.versions;
  return `${describeName(app.name)} v${low === high ? low : `${low}–${high}`}`;
}
