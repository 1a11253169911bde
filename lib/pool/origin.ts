import { checkKnownOptions, checkNumber, describe, type KnownOptions } from '../internal/validate.js';

/**
 * The parts of an address that decide whether two transports may share a connection:
 * scheme, host, port, user, and which credentials were used.
 *
 * @example
 * ```ts
 * import { originOf, type OriginParts } from 'rx-lifeline';
 * const parts: OriginParts = { scheme: 'tcp', host: 'Example.com', port: 7070, user: 'alice' };
 * console.log(originOf(parts).key); // 'tcp://alice@example.com:7070'
 * ```
 * @category Pools
 */
export interface OriginParts {
  /** The URL scheme, without the colon: `'tcp'`, `'ws'`, `'https'`, … Compared case-insensitively. */
  readonly scheme: string;
  /** A host name or IP address (IPv6 with or without brackets). Compared case-insensitively. */
  readonly host: string;
  /**
   * The port, from 0 to 65535.
   * @default the scheme's default port from {@link DEFAULT_PORTS}; required for other schemes
   */
  readonly port?: number;
  /**
   * The user name the connection authenticates as. Two users never share a connection.
   * @default '' (anonymous)
   */
  readonly user?: string;
  /**
   * An identifier of the credentials the connection authenticates with — a token id, a key
   * fingerprint, a version number of a rotated secret — never the secret itself. Connections made
   * with different identifiers are never shared. lifeline does not hash or store secrets: it only
   * compares this string.
   * @default '' (no credentials beyond `user`)
   */
  readonly credentialsId?: string;
}

/**
 * A normalised origin: what {@link originOf} returns and what a {@link ConnectionPool} keys its
 * connections by. Two origins with the same `key` may share a connection; two with different keys
 * never do. Frozen.
 *
 * @example
 * ```ts
 * import { originOf, type Origin } from 'rx-lifeline';
 * const home: Origin = originOf('wss://chat.example.com/rooms/7');
 * console.log(home.port, home.key); // 443 'wss://chat.example.com:443'
 * ```
 * @category Pools
 */
export interface Origin {
  /** Lower-cased scheme, without the colon. */
  readonly scheme: string;
  /** Lower-cased host; an IPv6 address without brackets. */
  readonly host: string;
  /** The port, the scheme's default when the address named none. */
  readonly port: number;
  /** The user name, decoded; `''` when none. */
  readonly user: string;
  /** The caller's identifier of the credentials; `''` when none. */
  readonly credentialsId: string;
  /**
   * The pool key: `scheme://user@host:port#credentialsId`, each part percent-encoded, the empty
   * ones left out. It never contains a password.
   */
  readonly key: string;
}

/**
 * The port an origin gets when its address names none. Schemes missing from this table need an
 * explicit port.
 *
 * @example
 * ```ts
 * import { DEFAULT_PORTS } from 'rx-lifeline';
 * console.log(DEFAULT_PORTS['wss']); // 443
 * ```
 * @category Pools
 */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = Object.freeze({
  http: 80,
  https: 443,
  ws: 80,
  wss: 443,
});

/**
 * Options of {@link originOf}.
 *
 * @example
 * ```ts
 * import { originOf, type OriginOptions } from 'rx-lifeline';
 * const options: OriginOptions = { credentialsId: 'token-2024-06' };
 * const key = originOf('https://alice:s3cret@api.example.com', options).key;
 * ```
 * @category Pools
 */
export interface OriginOptions {
  /**
   * Identifies the credentials (see {@link OriginParts.credentialsId}); overrides the one in
   * `address` when both are given. Required when a URL carries a password.
   * @default the address's own, else ''
   */
  readonly credentialsId?: string;
}

const OPTIONS: KnownOptions<OriginOptions> = { credentialsId: true };

/**
 * Derives the {@link Origin} of an address: the scheme and host lower-cased, the port defaulted
 * per scheme ({@link DEFAULT_PORTS}), the user decoded, and the caller's `credentialsId`. The path,
 * query and fragment of a URL do not matter: they do not change which connection may be used.
 *
 * Passwords never enter a key. A URL with a password needs a `credentialsId` — an identifier of
 * those credentials chosen by the caller — or `origin` throws: lifeline will not derive one by
 * hashing the secret (a fast hash of a password in a log line is an offline guessing target, and
 * Web Crypto's hashes are asynchronous). So two users, or one user with two sets of credentials,
 * never share a connection, and nothing secret shows up in `stats$`.
 *
 * It does not resolve host names: `localhost` and `127.0.0.1` are different origins.
 *
 * @param address - a URL (string or `URL`), or its parts.
 * @throws `TypeError` for an address that is not a URL, an empty host, a port outside 0–65535, a
 * scheme with no default port and no port given, a password without `credentialsId`, or an option
 * other than `credentialsId`.
 * @example
 * ```ts
 * import { originOf } from 'rx-lifeline';
 * const a = originOf('TCP://Example.COM:7070/any/path');
 * const b = originOf({ scheme: 'tcp', host: 'example.com', port: 7070 });
 * console.log(a.key === b.key); // true
 * const alice = originOf('https://alice:pw@example.com', { credentialsId: 'alice-key-1' });
 * console.log(alice.key); // 'https://alice@example.com:443#alice-key-1'
 * ```
 * @category Pools
 */
export function originOf(address: string | URL | OriginParts, options: OriginOptions = {}): Origin {
  checkKnownOptions('originOf', options, OPTIONS);
  const parts = typeof address === 'string' || address instanceof URL ? fromUrl(address, options) : address;
  if (typeof parts !== 'object' || parts === null) {
    throw new TypeError(`originOf: expected a URL or { scheme, host, port }, got ${describe(address)}`);
  }
  const scheme = text('scheme', parts.scheme).replace(/:$/, '').toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new TypeError(`originOf: invalid scheme '${scheme}'`);
  const host = text('host', parts.host)
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (host === '') throw new TypeError(`originOf: the address has no host`);
  const port = parts.port ?? DEFAULT_PORTS[scheme];
  if (port === undefined) {
    throw new TypeError(`originOf: scheme '${scheme}' has no default port; give one`);
  }
  checkNumber('originOf', 'port', port, { min: 0, max: 65535, integer: true });
  const user = text('user', parts.user);
  const credentialsId = text('credentialsId', options.credentialsId ?? parts.credentialsId);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const userPart = user === '' ? '' : `${encodeURIComponent(user)}@`;
  const credentialsPart = credentialsId === '' ? '' : `#${encodeURIComponent(credentialsId)}`;
  return Object.freeze({
    scheme,
    host,
    port,
    user,
    credentialsId,
    key: `${scheme}://${userPart}${hostPart}:${port}${credentialsPart}`,
  });
}

/** An address part or option that is a string when given; `''` when not. */
function text(option: string, value: unknown): string {
  if (value === undefined || typeof value === 'string') return value ?? '';
  throw new TypeError(`originOf: ${option} must be a string, got ${describe(value)}`);
}

function fromUrl(address: string | URL, options: OriginOptions): OriginParts {
  let url: URL;
  try {
    url = typeof address === 'string' ? new URL(address) : address;
  } catch (cause) {
    throw new TypeError(`originOf: not a URL: ${JSON.stringify(address)}`, { cause });
  }
  if (url.password !== '' && options.credentialsId === undefined) {
    throw new TypeError(
      `originOf: the address carries a password; pass { credentialsId } (an identifier of the ` +
        `credentials, not the secret) so that different credentials never share a connection`,
    );
  }
  const scheme = url.protocol.replace(/:$/, '');
  return {
    scheme,
    host: url.hostname,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    user: decodeURIComponent(url.username),
  };
}
