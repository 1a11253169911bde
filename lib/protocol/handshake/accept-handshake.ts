import { asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscriber } from 'rxjs';
import type { ConnectedEvent, HandshakeResult, LinkInfo, TransportEvent } from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { isPromiseLike, thenOrFail } from '../../internal/promise-like.js';
import { asLayerError, layerProtocolError } from '../../internal/peer-input.js';
import { HandshakeSide, sideOperator } from './side.js';
import { checkFunction, checkKnownOptions, type KnownOptions } from '../../internal/validate.js';
import { HandshakeRefusedError, HandshakeTimeoutError, refusalError } from './errors.js';
import { checkAdmission, type Departing, type HandshakeAdmission } from './admission.js';
import { offerOf, WIRE_VERSIONS, type LayerName } from './layers.js';
import { negotiate, type ServerOffer } from './negotiate.js';
import { checkApp, checkLayers, checkTimeout } from './options.js';
import {
  isDelay,
  isRefused,
  looksLikeHello,
  parseHello,
  type Accept,
  type AppProtocol,
  type GoAway,
  type Hello,
  type Refused,
} from './wire.js';

/**
 * What {@link AcceptHandshakeConfig.authenticate} is asked about one connection.
 *
 * @example
 * ```ts
 * import type { AuthenticateRequest } from 'rx-lifeline';
 * const fromLocalhost = (request: AuthenticateRequest) => request.info.remote.startsWith('127.0.0.1:');
 * ```
 * @category Handshake
 */
export interface AuthenticateRequest {
  /** What the client's `handshake({ credentials })` sent; `undefined` when it sent none. */
  readonly credentials: unknown;
  /**
   * The connection: its transport and addresses, and for a WebSocket the upgrade request's
   * `headers` (cookies, `authorization`, `origin`).
   */
  readonly info: LinkInfo;
  /** The versions chosen, before the accept is sent. */
  readonly handshake: HandshakeResult;
}

/**
 * Options of {@link acceptHandshake}.
 *
 * @example
 * ```ts
 * import type { AcceptHandshakeConfig } from 'rx-lifeline';
 * const config: AcceptHandshakeConfig = {
 *   layers: ['heartbeat', 'resumable'],
 *   authenticate: ({ credentials }) => (credentials === 'letmein' ? { user: 'ada' } : undefined),
 * };
 * ```
 * @category Handshake
 */
export interface AcceptHandshakeConfig {
  /** The layers this server pipes after `acceptHandshake()` on each connection, by name. */
  layers: readonly LayerName[];
  /** The application protocol this server speaks: a client must name it and share a version. */
  app?: AppProtocol;
  /**
   * Decides on a client's credentials: returns the client's identity (any value but `undefined`,
   * `null` or `false`), or a Promise of it, kept as `handshake.identity` on the `connected` event
   * and on a {@link ServerSession}. `undefined`, `null` or `false` refuse with `'unauthorized'`
   * (permanent for the client); throwing or rejecting (a thenable whose `then` throws counts as
   * rejecting) refuses with `'unavailable'` (the client may try again) — an error with a numeric `retryAfterMs` (integer milliseconds, at most a day) sends
   * it along as a hint the client's retry policy honours, the way a server under load says when to
   * come back. Without it every client is accepted and `identity` is `undefined`.
   */
  authenticate?: (request: AuthenticateRequest) => unknown;
  /**
   * Milliseconds from accepting the connection to a complete handshake (hello received,
   * `authenticate` settled); past it the connection is closed with {@link HandshakeTimeoutError}.
   * Never extended.
   * @default 10_000
   */
  timeout?: number;
  /**
   * The server's admission control, one object shared by all its connections: a handshake over its
   * rate is refused `'overloaded'` with a hint of when to come back, before its hello is read.
   * @default undefined (every handshake is admitted)
   */
  admission?: HandshakeAdmission;
  /** Runs the deadline. @default asyncScheduler */
  scheduler?: SchedulerLike;
}

const CONFIG: KnownOptions<AcceptHandshakeConfig> = {
  layers: true,
  app: true,
  authenticate: true,
  admission: true,
  timeout: true,
  scheduler: true,
};

interface ServerSettings {
  readonly offer: ServerOffer;
  readonly admission: HandshakeAdmission | undefined;
  readonly authenticate: ((request: AuthenticateRequest) => unknown) | undefined;
  readonly timeout: number;
  readonly scheduler: SchedulerLike;
  readonly settled: SettledResults;
}

/** Distinct results one server keeps to share; a server offers a handful of versions at most. */
const MAX_SETTLED = 64;

/**
 * The results a server's handshakes settled, one frozen object per distinct result, shared by
 * every connection that settles the same: each session holds its connection's result for life.
 */
class SettledResults {
  private readonly known = new Map<string, HandshakeResult>();

  of(answer: Accept): HandshakeResult {
    const key = JSON.stringify([answer.layers, answer.app]);
    const known = this.known.get(key);
    if (known) return known;
    const result: HandshakeResult = Object.freeze({
      layers: Object.freeze({ ...answer.layers }),
      ...(answer.app ? { app: Object.freeze({ ...answer.app }) } : {}),
    });
    if (this.known.size < MAX_SETTLED) this.known.set(key, result);
    return result;
  }
}

/**
 * The server side of lifeline's handshake (docs/PROTOCOL.md "Handshake"), piped first on each
 * accepted connection: it waits for the client's hello, picks the highest version both sides speak
 * of each layer and of the application protocol, asks `authenticate`, and answers with an accept —
 * then emits `connected` with the {@link HandshakeResult} (the identity included) and passes
 * frames through untouched — or with a refusal, closing the connection and failing it here with a
 * {@link HandshakeRefusedError} that names what differs. A first frame that is no hello (a lifeline
 * wire v1 client, or one without {@link handshake}) is refused `'version'` in a form a v1 client
 * understands. The deadline runs from the accept and is never extended. The operator can be made
 * once and piped on every connection (each call makes its own settings, a few hundred bytes an
 * open connection keeps); the example makes it inline for brevity.
 *
 * @example
 * ```ts
 * import { acceptHandshake, acceptSessions, heartbeat, memory } from 'rx-lifeline';
 * import { map } from 'rxjs';
 * const endpoint = memory();
 * const sessions = acceptSessions(
 *   endpoint.server.pipe(
 *     map((event) =>
 *       event.type === 'connection'
 *         ? {
 *             ...event,
 *             connection: event.connection.pipe(
 *               acceptHandshake({
 *                 layers: ['heartbeat', 'resumable'],
 *                 authenticate: ({ credentials }) => (credentials === 'letmein' ? 'ada' : undefined),
 *               }),
 *               heartbeat(),
 *             ),
 *           }
 *         : event,
 *     ),
 *   ),
 * );
 * sessions.subscribe((session) => console.log('session of', session.identity));
 * ```
 * @category Handshake
 */
export function acceptHandshake<In = unknown, Out = In>(
  config: AcceptHandshakeConfig,
): OperatorFunction<TransportEvent<unknown, unknown>, TransportEvent<In, Out>> {
  const where = 'acceptHandshake';
  checkKnownOptions(where, config, CONFIG);
  if (config === undefined) throw new TypeError(`${where}: needs { layers }, the layers this server stacks`);
  const { authenticate } = config;
  const settings: ServerSettings = {
    offer: { layers: offerOf(checkLayers(where, config.layers)), app: checkApp(where, config.app) },
    admission: checkAdmission(where, config.admission),
    authenticate: authenticate === undefined ? undefined : checkFunction(where, 'authenticate', authenticate),
    timeout: checkTimeout(where, config.timeout),
    scheduler: config.scheduler ?? asyncScheduler,
    settled: new SettledResults(),
  };
  return sideOperator<In, Out>((subscriber) => new ServerHandshake(subscriber, settings));
}

/** One accepted connection's handshake: hello, authenticate, then open or refused. */
class ServerHandshake
  extends HandshakeSide<'hello' | 'authenticating' | 'open' | 'refused', ServerSettings>
  implements Departing
{
  /** The error to end with once a refused connection has closed. */
  private refusal: HandshakeRefusedError | undefined;
  /** The accept settled at least one layer: a go-away can be told from their envelopes. */
  private layered = false;
  /** Takes the connection off the admission's list of open ones, once it has ended. */
  private leave: (() => void) | undefined;

  constructor(subscriber: Subscriber<TransportEvent<unknown, unknown>>, settings: ServerSettings) {
    super(subscriber, settings, 'hello');
  }

  /** The deadline runs from the accept: from the subscription. */
  protected override onStart(): void {
    const { timeout } = this.settings;
    this.setDeadline(timeout, () =>
      this.end(
        this.refusal ??
          new HandshakeTimeoutError(
            `acceptHandshake: no complete handshake from ${this.remote} within ${timeout} ms of the accept`,
            { after: timeout, ...(this.link ? { write: this.link.writeReport() } : {}) },
          ),
      ),
    );
  }

  protected override onStop(): void {
    this.leave?.();
    this.leave = undefined;
  }

  protected onError(error: unknown): void {
    this.end(this.refusal ?? error);
  }

  private get remote(): string {
    return this.link?.info.remote ?? 'a client';
  }

  protected onNext(event: TransportEvent<unknown, unknown> | { readonly type: string }): void {
    if (this.state === 'open') return this.subscriber.next(event as TransportEvent<unknown, unknown>);
    if (event.type === 'connected') {
      this.link = (event as ConnectedEvent).link;
      return;
    }
    if (event.type !== 'frame') return this.subscriber.next(event as TransportEvent<unknown, unknown>);
    if (this.state === 'refused') return; // the connection is closing; nothing more is read
    try {
      if (this.state === 'authenticating') {
        throw layerProtocolError(
          'handshake',
          'the client sent a frame before its hello was answered',
          this.link,
        );
      }
      this.onHello((event as { frame: unknown }).frame);
    } catch (error) {
      this.end(asLayerError('handshake', error, this.link));
    }
  }

  private onHello(frame: unknown): void {
    const wait = this.settings.admission?.admit();
    if (wait !== undefined) {
      return this.refuse(
        { lifeline: WIRE_VERSIONS[1], refused: 'overloaded', retryAfterMs: wait },
        undefined,
      );
    }
    if (!looksLikeHello(frame)) return this.refuseOlder(frame);
    const hello = parseHello(frame);
    const { offer } = this.settings;
    if (!hello) return this.refuse({ lifeline: 2, refused: 'malformed', layers: offer.layers }, undefined);
    const answer = negotiate(hello, offer);
    if (isRefused(answer)) return this.refuse(answer, hello);
    const result = this.settings.settled.of(answer);
    const { authenticate } = this.settings;
    if (!authenticate) return this.accept(answer, result, hello);
    this.state = 'authenticating';
    const link = this.link!;
    const decide = (identity: unknown) => {
      if (this.state !== 'authenticating') return;
      if (identity === undefined || identity === null || identity === false) {
        return this.refuse({ lifeline: answer.lifeline, refused: 'unauthorized' }, hello);
      }
      this.accept(answer, { ...result, identity }, hello);
    };
    const failed = (error: unknown) => {
      if (this.state !== 'authenticating') return;
      const hint = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
      const retry = isDelay(hint) ? { retryAfterMs: hint } : {};
      this.refuse({ lifeline: answer.lifeline, refused: 'unavailable', ...retry }, hello, error);
    };
    let verdict: unknown;
    try {
      verdict = authenticate({ credentials: hello.credentials, info: link.info, handshake: result });
    } catch (error) {
      return failed(error);
    }
    if (isPromiseLike(verdict)) thenOrFail(verdict, decide, failed);
    else decide(verdict);
  }

  private accept(answer: Accept, result: HandshakeResult, hello: Hello): void {
    // Checked last, when the connection is about to open: nothing can open one in between.
    const full = this.settings.admission?.admitConnection();
    if (full !== undefined) {
      return this.refuse({ lifeline: answer.lifeline, refused: 'overloaded', retryAfterMs: full }, hello);
    }
    const link = this.link!;
    link.send(answer);
    this.state = 'open';
    this.layered = Object.keys(result.layers).length > 0;
    this.cancelDeadline();
    this.subscriber.next({ type: 'connected', link, handshake: result });
    if (this.state === 'open') this.leave = this.settings.admission?.enter(this);
  }

  /**
   * The server drains: says go-away with the hint (on a connection with layers, whose envelopes
   * are arrays, so the map cannot be taken for one of them), then closes once the queue is written.
   */
  goAway(retryAfterMs: number): void {
    const link = this.link;
    if (this.state !== 'open' || !link || link.closeRequested) return;
    try {
      if (this.layered) link.send({ lifeline: WIRE_VERSIONS[1], goAway: { retryAfterMs } } satisfies GoAway);
      link.close(`going away; retry in ${retryAfterMs} ms`);
    } catch {
      // The connection is already going.
    }
  }

  /**
   * Answers a refusal and closes the connection; this side fails once it has closed (or at the
   * deadline, if the client holds it open), so the refusal is written before the socket goes.
   */
  private refuse(refused: Refused, hello: Hello | undefined, cause?: unknown): void {
    const { offer } = this.settings;
    const client = { layers: hello?.layers, app: hello?.app };
    const server = { layers: offer.layers, app: offer.app };
    this.closeWith(
      refused,
      refusalError(
        refused.refused,
        'server',
        { client, server, remote: this.remote },
        {
          ...(this.link ? { write: this.link.writeReport() } : {}),
          ...(cause === undefined ? {} : { cause }),
          ...(refused.retryAfterMs === undefined ? {} : { retryAfterMs: refused.retryAfterMs }),
        },
      ),
    );
  }

  /**
   * A first frame that is no hello: a client of lifeline wire v1 (no handshake), which gets the
   * refusal its own resumable layer understands when its frame is a v1 session hello, or a client
   * without {@link handshake}.
   */
  private refuseOlder(frame: unknown): void {
    const { offer } = this.settings;
    const error = new HandshakeRefusedError(
      `Refused the handshake of the client at ${this.remote} (version): its first frame, ${describeValue(frame)}, is not a handshake hello: the client speaks lifeline wire v1, or does not pipe handshake() first; upgrade it to rx-lifeline with handshake({ layers })`,
      { reason: 'version', side: 'server', ...(this.link ? { write: this.link.writeReport() } : {}) },
    );
    this.closeWith(v1Refusal(frame) ?? { lifeline: 2, refused: 'version', layers: offer.layers }, error);
  }

  private closeWith(answer: unknown, error: HandshakeRefusedError): void {
    this.state = 'refused';
    this.refusal = error;
    try {
      this.link?.send(answer);
      this.link?.close(`handshake refused: ${error.reason}`);
    } catch {
      // The connection is already going; the error says why it was refused.
    }
  }

  protected onComplete(): void {
    if (this.refusal) return this.end(this.refusal);
    if (this.state === 'open') return this.subscriber.complete();
    // The client left before finishing its handshake: nothing was accepted, nothing is owed.
    this.state = 'ended';
    this.cancelDeadline();
    this.subscriber.complete();
  }
}

/** Resumable v1's hello, `[2, { v, … }]`, alone or inside a heartbeat's `[0, …]`. */
function v1Refusal(frame: unknown): unknown {
  const isV1Hello = (value: unknown) =>
    Array.isArray(value) &&
    value.length === 2 &&
    value[0] === 2 &&
    typeof value[1] === 'object' &&
    value[1] !== null &&
    Object.hasOwn(value[1], 'v');
  const refusal = [4, { reason: 'version' }];
  if (isV1Hello(frame)) return refusal;
  if (Array.isArray(frame) && frame.length === 2 && frame[0] === 0 && isV1Hello(frame[1]))
    return [0, refusal];
  return undefined;
}
