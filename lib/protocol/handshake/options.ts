/**
 * The option checks both sides of the handshake share.
 * @internal
 * @packageDocumentation
 */
import { describeValue } from '../../internal/describe-value.js';
import { checkNumber } from '../../internal/validate.js';
import { isLayerName, LAYER_NAMES, type LayerName } from './layers.js';
import { isAppProtocol, type AppProtocol } from './wire.js';

/** The default deadline of a handshake on either side, in milliseconds. */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/** `layers`: an array of known layer names, each once. */
export function checkLayers(where: string, layers: unknown): readonly LayerName[] {
  const known = LAYER_NAMES.map((name) => `'${name}'`).join(', ');
  if (!Array.isArray(layers)) {
    throw new TypeError(
      `${where}: layers must list the layers this side stacks (any of ${known}, [] for none), got ${describeValue(layers)}`,
    );
  }
  const seen = new Set<string>();
  for (const name of layers as unknown[]) {
    if (!isLayerName(name)) {
      throw new TypeError(`${where}: layers: ${describeValue(name)} is not a layer; the layers are ${known}`);
    }
    if (seen.has(name)) throw new TypeError(`${where}: layers names '${name}' twice`);
    seen.add(name);
  }
  return layers as LayerName[];
}

/** `app`: undefined, or a name with a version range. */
export function checkApp(where: string, app: unknown): AppProtocol | undefined {
  if (app === undefined || isAppProtocol(app)) return app;
  throw new TypeError(
    `${where}: app must be { name, versions: [lowest, highest] } (a name of 1–64 characters, integer versions ≥ 1), got ${describeValue(app)}`,
  );
}

/** `timeout`: a positive number of milliseconds. */
export function checkTimeout(where: string, timeout: unknown): number {
  if (timeout === undefined) return DEFAULT_HANDSHAKE_TIMEOUT;
  return checkNumber(where, 'timeout', timeout, { min: 0, exclusive: true });
}
