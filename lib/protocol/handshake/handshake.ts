import { asyncScheduler, type OperatorFunction, type SchedulerLike, type Subscriber } from 'rxjs';
import { PeerClosedError } from '../../core/errors.js';
import type {
  ConnectedEvent,
  FrameEvent,
  HandshakeResult,
  Link,
  TransportEvent,
} from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { isPromiseLike, thenOrFail } from '../../internal/promise-like.js';
import { asLayerError, layerProtocolError } from '../../internal/peer-input.js';
import { HandshakeSide, sideOperator } from './side.js';
import { checkKnownOptions, type KnownOptions } from '../../internal/validate.js';
import { HandshakeTimeoutError, refusalError } from './errors.js';
import { offerOf, WIRE_VERSIONS, type LayerName, type VersionRange } from './layers.js';
import { checkApp, checkLayers, checkTimeout } from './options.js';
import { isRefused, parseAnswer, parseGoAway, type Accept, type AppProtocol, type Hello } from './wire.js';

/**
 * Options of {@link handshake}.
 *
 * @example
 * ```ts
 * import type { HandshakeConfig } from 'rx-lifeline';
 * const config: HandshakeConfig = {
 *   layers: ['heartbeat', 'resumable', 'requests'],
 *   app: { name: 'chat', versions: [1, 2] },
 *   credentials: () => ({ token: 'secret' }),
 * };
 * ```
 * @category Handshake
 */
export interface HandshakeConfig {
  /**
   * The layers this client pipes after the handshake, by name. The server must stack the same
   * ones: a layer on one side only is refused (`'layers'`), with a message naming it and where to
   * pipe it. Each layer piped after `handshake()` checks that it is listed here.
   */
  layers: readonly LayerName[];
  /** The application protocol this client speaks; a server that names one requires it. */
  app?: AppProtocol;
  /**
   * Sent to the server's `authenticate` in the hello: any value MessagePack encodes, or a function
   * called for each connection that returns one (or a Promise of one), for tokens that expire.
   * What the function throws, or its Promise rejects with (or a thenable's `then` throws), fails
   * that connection with it, before any hello is sent.
   * @default undefined (none)
   */
  credentials?: unknown;
  /**
   * Milliseconds from the connection opening to the server's answer; past it the connection fails
   * with {@link HandshakeTimeoutError}.
   * @default 10_000
   */
  timeout?: number;
  /** Runs the deadline. @default asyncScheduler */
  scheduler?: SchedulerLike;
}

const CONFIG: KnownOptions<HandshakeConfig> = {
  layers: true,
  app: true,
  credentials: true,
  timeout: true,
  scheduler: true,
};

interface ClientSettings {
  readonly offer: Readonly<Record<string, VersionRange>>;
  readonly app: AppProtocol | undefined;
  readonly credentials: unknown;
  readonly timeout: number;
  readonly scheduler: SchedulerLike;
}

/**
 * The client side of lifeline's handshake (wire v2, docs/PROTOCOL.md "Handshake"), piped first on a
 * transport, before every other layer: on each connection it sends a hello naming the layers this
 * client stacks, its application protocol and its credentials, and emits `connected` only once the
 * server accepted, with the {@link HandshakeResult} on the event. A refusal fails the connection
 * with {@link HandshakeRefusedError}, which says what differs and where to pipe what is missing,
 * and which a retry policy does not retry; no answer within `timeout` is a
 * {@link HandshakeTimeoutError}. After the accept, frames pass through untouched: the handshake
 * costs nothing per frame but one look at its type. The server pipes {@link acceptHandshake} on
 * each connection. When the server drains ({@link HandshakeAdmission.drain}), its go-away ends the
 * connection with a `PeerClosedError` whose `retryAfterMs` is the server's hint (code `'go-away'`),
 * so the retry policy comes back no sooner.
 *
 * @example
 * ```ts
 * import { cancelPending, handshake, heartbeat, memory, policy, reconnectWith, resumable } from 'rx-lifeline';
 * const endpoint = memory();
 * const stream = endpoint.transport.pipe(
 *   handshake({ layers: ['heartbeat', 'resumable', 'requests'], credentials: { token: 'secret' } }),
 *   heartbeat(),
 *   reconnectWith(policy.exponential({ initial: 100, max: 30_000 })),
 *   resumable(),
 *   cancelPending(),
 * );
 * ```
 * @category Handshake
 */
export function handshake<In = unknown, Out = In>(
  config: HandshakeConfig,
): OperatorFunction<TransportEvent<unknown, unknown>, TransportEvent<In, Out>> {
  const where = 'handshake';
  checkKnownOptions(where, config, CONFIG);
  if (config === undefined) throw new TypeError(`${where}: needs { layers }, the layers this client stacks`);
  const settings: ClientSettings = {
    offer: offerOf(checkLayers(where, config.layers)),
    app: checkApp(where, config.app),
    credentials: config.credentials,
    timeout: checkTimeout(where, config.timeout),
    scheduler: config.scheduler ?? asyncScheduler,
  };
  return sideOperator<In, Out>((subscriber) => new ClientHandshake(subscriber, settings));
}

/** One subscription of {@link handshake}: waiting for the link, then the answer, then open. */
class ClientHandshake extends HandshakeSide<'dialling' | 'waiting' | 'open', ClientSettings> {
  /** The accept settled at least one layer: a map after it is the server's go-away. */
  private layered = false;
  /** The go-away's hint, once the server said it goes away. */
  private leaving: number | undefined;

  constructor(subscriber: Subscriber<TransportEvent<unknown, unknown>>, settings: ClientSettings) {
    super(subscriber, settings, 'dialling');
  }

  protected onError(error: unknown): void {
    // A reset after a go-away is still the server leaving, as it said.
    this.end(this.leaving === undefined ? error : this.leftError());
  }

  protected onNext(event: TransportEvent<unknown, unknown> | { readonly type: string }): void {
    if (this.state === 'open' && event.type !== 'disconnected') {
      // With layers above, whose envelopes are arrays, a map is the server's go-away.
      if (this.layered && event.type === 'frame' && !Array.isArray((event as FrameEvent).frame)) {
        if (this.onGoAway((event as FrameEvent).frame)) return;
      }
      return this.subscriber.next(event as TransportEvent<unknown, unknown>);
    }
    if (event.type === 'connected') return this.onConnected((event as ConnectedEvent).link);
    if (event.type === 'frame') {
      try {
        return this.onAnswer((event as { frame: unknown }).frame);
      } catch (error) {
        return this.end(asLayerError('handshake', error, this.link));
      }
    }
    if (event.type === 'disconnected') {
      return this.end(
        new TypeError(
          "handshake: its source emitted 'disconnected', so it is piped after reconnectWith(); a handshake opens each connection: pipe handshake() first, right on the transport",
        ),
      );
    }
    this.subscriber.next(event as TransportEvent<unknown, unknown>);
  }

  private onConnected(link: Link<unknown>): void {
    this.link = link;
    this.state = 'waiting';
    this.setDeadline(this.settings.timeout, () =>
      this.end(
        new HandshakeTimeoutError(
          `handshake: no answer from the server at ${link.info.remote} within ${this.settings.timeout} ms of connecting`,
          { after: this.settings.timeout, write: link.writeReport() },
        ),
      ),
    );
    const { credentials } = this.settings;
    if (typeof credentials !== 'function') return this.sendHello(credentials);
    let value: unknown;
    try {
      value = (credentials as () => unknown)();
    } catch (error) {
      return this.end(error);
    }
    if (!isPromiseLike(value)) return this.sendHello(value);
    thenOrFail(
      value,
      (resolved) => this.link === link && this.state === 'waiting' && this.sendHello(resolved),
      (error: unknown) => this.link === link && this.state === 'waiting' && this.end(error),
    );
  }

  private sendHello(credentials: unknown): void {
    const { offer, app } = this.settings;
    const hello: Hello = {
      lifeline: WIRE_VERSIONS,
      layers: offer,
      ...(app ? { app } : {}),
      ...(credentials === undefined ? {} : { credentials }),
    };
    try {
      this.link!.send(hello);
    } catch (error) {
      this.end(error);
    }
  }

  private onAnswer(frame: unknown): void {
    const link = this.link;
    const answer = parseAnswer(frame);
    if (!answer) {
      throw layerProtocolError(
        'handshake',
        `expected the server's answer to the hello, got ${describeValue(frame)}; does the server pipe acceptHandshake() first on each connection?`,
        link,
      );
    }
    if (isRefused(answer)) {
      const client = { layers: this.settings.offer, app: this.settings.app };
      const server = { layers: answer.layers, app: answer.app };
      return this.end(
        refusalError(
          answer.refused,
          'client',
          { client, server, remote: link?.info.remote ?? '?' },
          {
            ...(link ? { write: link.writeReport() } : {}),
            ...(answer.retryAfterMs === undefined ? {} : { retryAfterMs: answer.retryAfterMs }),
          },
        ),
      );
    }
    const result = this.checkAccept(answer);
    this.state = 'open';
    this.layered = Object.keys(result.layers).length > 0;
    this.cancelDeadline();
    this.subscriber.next({ type: 'connected', link: link!, handshake: result });
  }

  /** An accept must choose, for exactly the layers offered, a version in each offered range. */
  private checkAccept(answer: Accept): HandshakeResult {
    const { offer, app } = this.settings;
    const offered = Object.keys(offer);
    const chosen = Object.keys(answer.layers);
    const fits =
      answer.lifeline >= WIRE_VERSIONS[0] &&
      answer.lifeline <= WIRE_VERSIONS[1] &&
      chosen.length === offered.length &&
      chosen.every((name) => inRange(answer.layers[name]!, offer[name])) &&
      (answer.app === undefined ||
        (app !== undefined && answer.app.name === app.name && inRange(answer.app.version, app.versions)));
    if (!fits) {
      throw layerProtocolError(
        'handshake',
        `the server accepted with versions this client never offered (${describeValue(answer.layers)})`,
        this.link,
      );
    }
    return { layers: answer.layers, ...(answer.app ? { app: answer.app } : {}) };
  }

  /** True when `frame` was a go-away: the server will close; the error then carries its hint. */
  private onGoAway(frame: unknown): boolean {
    const goAway = parseGoAway(frame);
    if (!goAway) return false;
    const { retryAfterMs } = goAway.goAway;
    this.leaving = retryAfterMs ?? 0;
    return true;
  }

  /** After a go-away, the end of the connection is the server leaving, with its hint. */
  private leftError(): PeerClosedError {
    const remote = this.link?.info.remote ?? '?';
    return new PeerClosedError(`handshake: the server at ${remote} went away; retry in ${this.leaving} ms`, {
      code: 'go-away',
      reason: `retry in ${this.leaving} ms`,
      ...(this.link ? { write: this.link.writeReport() } : {}),
    });
  }

  protected onComplete(): void {
    if (this.state === 'open' && this.leaving !== undefined) return this.end(this.leftError());
    if (this.state === 'open') return this.subscriber.complete();
    const remote = this.link?.info.remote ?? '?';
    this.end(
      new PeerClosedError(
        `handshake: the server at ${remote} closed the connection before answering the hello; a server that does not pipe acceptHandshake() (lifeline wire v1) does so`,
        this.link ? { write: this.link.writeReport() } : {},
      ),
    );
  }
}

function inRange(version: number, range: VersionRange | undefined): boolean {
  return range !== undefined && version >= range[0] && version <= range[1];
}
