/**
 * The protocol layers a handshake can name, the versions of each this implementation speaks, and
 * where each is piped on either side: one table that the handshake, the layers' own wire checks
 * and every mismatch message read.
 * @packageDocumentation
 */

/**
 * A protocol layer named in a handshake: `'heartbeat'` ({@link heartbeat}), `'resumable'`
 * ({@link resumable} on a client, {@link acceptSessions} on a server), `'requests'`
 * ({@link cancelPending} on a client, {@link serveRequests} on a server).
 *
 * @example
 * ```ts
 * import type { LayerName } from 'rx-lifeline';
 * const stack: LayerName[] = ['heartbeat', 'resumable', 'requests'];
 * ```
 * @category Handshake
 */
export type LayerName = 'heartbeat' | 'resumable' | 'requests';

/**
 * An inclusive range of versions, `[lowest, highest]`, both integers ≥ 1.
 *
 * @example
 * ```ts
 * import type { VersionRange } from 'rx-lifeline';
 * const speaks: VersionRange = [1, 3];
 * ```
 * @category Handshake
 */
export type VersionRange = readonly [lowest: number, highest: number];

interface LayerFacts {
  /** The versions this implementation speaks. */
  readonly versions: VersionRange;
  /** Where a client pipes it. */
  readonly client: string;
  /** Where a server pipes it. */
  readonly server: string;
}

/** @internal */
export const LAYERS: Readonly<Record<LayerName, LayerFacts>> = {
  heartbeat: {
    versions: [1, 1],
    client: 'pipe heartbeat() after handshake(), before reconnectWith()',
    server: 'pipe heartbeat() after acceptHandshake() on each connection',
  },
  resumable: {
    versions: [1, 2],
    client: 'pipe resumable() after reconnectWith()',
    server: 'hand the connections to acceptSessions()',
  },
  requests: {
    versions: [1, 2],
    client: 'pipe cancelPending() last',
    server: 'pipe serveRequests() on each connection or session',
  },
};

/** The layer names in the order they stack, bottom first. @internal */
export const LAYER_NAMES: readonly LayerName[] = ['heartbeat', 'resumable', 'requests'];

/** True for a name in {@link LAYERS}. @internal */
export function isLayerName(value: unknown): value is LayerName {
  return typeof value === 'string' && Object.hasOwn(LAYERS, value);
}

/** The handshake wire version this implementation speaks (docs/PROTOCOL.md, "Handshake"). @internal */
export const WIRE_VERSIONS: VersionRange = [2, 2];

/** The highest version in both ranges, or undefined when they do not overlap. @internal */
export function highestCommon(a: VersionRange, b: VersionRange): number | undefined {
  const highest = Math.min(a[1], b[1]);
  return highest >= Math.max(a[0], b[0]) ? highest : undefined;
}

/**
 * How two stacks differ: the layers only the client pipes, those only the server pipes, and those
 * both pipe with no version in common.
 *
 * @example
 * ```ts
 * import type { LayerMismatch } from 'rx-lifeline';
 * const say = (m: LayerMismatch) => `client only: ${m.clientOnly.join()}; server only: ${m.serverOnly.join()}`;
 * ```
 * @category Handshake
 */
export interface LayerMismatch {
  readonly clientOnly: readonly string[];
  readonly serverOnly: readonly string[];
  readonly noCommonVersion: readonly string[];
}

/** Compares two stacks, each a record of layer name → version range. @internal */
export function compareLayers(
  client: Readonly<Record<string, VersionRange>>,
  server: Readonly<Record<string, VersionRange>>,
): LayerMismatch {
  const clientNames = Object.keys(client);
  const serverNames = Object.keys(server);
  return {
    clientOnly: clientNames.filter((name) => !Object.hasOwn(server, name)),
    serverOnly: serverNames.filter((name) => !Object.hasOwn(client, name)),
    noCommonVersion: clientNames.filter(
      (name) => Object.hasOwn(server, name) && highestCommon(client[name]!, server[name]!) === undefined,
    ),
  };
}

/** True when the two stacks match: the same layers, each with a version in common. @internal */
export function isMatch(mismatch: LayerMismatch): boolean {
  return (
    mismatch.clientOnly.length === 0 &&
    mismatch.serverOnly.length === 0 &&
    mismatch.noCommonVersion.length === 0
  );
}

/** The stack a side offers: each layer named with the versions this implementation speaks. @internal */
export function offerOf(layers: readonly LayerName[]): Record<string, VersionRange> {
  const offer: Record<string, VersionRange> = {};
  for (const name of layers) offer[name] = LAYERS[name].versions;
  return offer;
}

/**
 * A layer's check on each `connected` event: when a handshake ran below it and did not list the
 * layer, the two ends did not agree on it — a `TypeError` naming the fix. @internal
 */
export function unlisted(
  layer: LayerName,
  event: { readonly handshake?: { readonly layers: Readonly<Record<string, number>> } },
  operator: string,
): TypeError | undefined {
  const result = event.handshake;
  if (!result || Object.hasOwn(result.layers, layer)) return undefined;
  return new TypeError(
    `${operator} is piped, but the connection's handshake did not list '${layer}': add it to handshake({ layers }) on a client, acceptHandshake({ layers }) on a server`,
  );
}
