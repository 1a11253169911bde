/**
 * The server's decision on a hello, apart from credentials: a pure function of the hello and the
 * server's own stack, so every pair of stacks can be checked without a connection.
 * @internal
 * @packageDocumentation
 */
import { compareLayers, highestCommon, isMatch, WIRE_VERSIONS, type VersionRange } from './layers.js';
import type { Accept, AppProtocol, Hello, Refused } from './wire.js';

/** What a server stacks and speaks. */
export interface ServerOffer {
  readonly layers: Readonly<Record<string, VersionRange>>;
  readonly app: AppProtocol | undefined;
}

/** The server's answer to `hello`: the highest common version of everything, or a refusal. */
export function negotiate(hello: Hello, offer: ServerOffer): Accept | Refused {
  const lifeline = WIRE_VERSIONS[1];
  const refuse = (refused: Refused['refused']): Refused => ({
    lifeline,
    refused,
    layers: offer.layers,
    ...(offer.app ? { app: offer.app } : {}),
  });
  if (highestCommon(hello.lifeline, WIRE_VERSIONS) === undefined) return refuse('version');
  const mismatch = compareLayers(hello.layers, offer.layers);
  if (mismatch.clientOnly.length > 0 || mismatch.serverOnly.length > 0) return refuse('layers');
  if (!isMatch(mismatch)) return refuse('version');
  const layers: Record<string, number> = {};
  for (const name of Object.keys(offer.layers)) {
    layers[name] = highestCommon(hello.layers[name]!, offer.layers[name]!)!;
  }
  if (!offer.app) return { lifeline, layers };
  const app = hello.app;
  if (app?.name !== offer.app.name) return refuse('app');
  const version = highestCommon(app.versions, offer.app.versions);
  if (version === undefined) return refuse('app');
  return { lifeline, layers, app: { name: app.name, version } };
}
