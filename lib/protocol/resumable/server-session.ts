import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import type {
  ConnectedEvent,
  FrameEvent,
  HandshakeResult,
  Link,
  TransportEvent,
} from '../../core/transport.js';
import { DirectSubscriber } from '../../internal/direct-subscriber.js';
import { Fifo } from '../../internal/fifo.js';
import { LayerLink } from '../../internal/layer-link.js';
import { SessionSide, SessionLink } from './session-side.js';
import { ReplayBufferFullError } from './errors.js';
import type { ResumedEvent } from './resumable.js';
import type { StoreWriter } from './store-writer.js';

/**
 * A server session lost its connection. The session lives on for `sessionTtl`, waiting for the
 * client to resume; frames sent meanwhile queue in its replay buffer.
 *
 * @example
 * ```ts
 * import type { SessionDisconnectedEvent } from 'rx-lifeline';
 * const why = (e: SessionDisconnectedEvent) => (e.error === undefined ? 'closed' : String(e.error));
 * ```
 * @category Sessions
 */
export interface SessionDisconnectedEvent {
  readonly type: 'disconnected';
  /** Why the connection ended; `undefined` for a clean close or a takeover by a newer connection. */
  readonly error: unknown;
}

/**
 * What a {@link ServerSession}'s `events$` emits: `connected` once (the stable link), each
 * inbound frame once and in order, `disconnected` when a connection ends, `resumed` when the
 * client came back.
 *
 * @example
 * ```ts
 * import type { ServerSessionEvent } from 'rx-lifeline';
 * const show = (e: ServerSessionEvent<string>) => (e.type === 'frame' ? e.frame : e.type);
 * ```
 * @category Sessions
 */
export type ServerSessionEvent<In = unknown, Out = In> =
  ConnectedEvent<Out> | SessionFrameEvent<In> | SessionDisconnectedEvent | ResumedEvent;

/**
 * A frame from the client, with its sequence number. `redelivered` marks a frame that may have
 * reached the application before: the session was resumed from a {@link SessionStore} after the
 * process that held it died, and the client sent this frame again because that process had not
 * stored it as received. An application that must act once per frame keeps the highest `seq` it
 * acted on and drops a `redelivered` frame at or below it. Without a store no frame is ever
 * delivered twice, and `redelivered` is never set.
 *
 * @example
 * ```ts
 * import type { SessionFrameEvent } from 'rx-lifeline';
 * let done = 0;
 * const fresh = (e: SessionFrameEvent<string>) => !(e.redelivered && e.seq <= done);
 * ```
 * @category Sessions
 */
export interface SessionFrameEvent<In = unknown> extends FrameEvent<In> {
  /** The frame's sequence number in the session, from 1. */
  readonly seq: number;
  /** Present (`true`) when the frame may have reached the application before. */
  readonly redelivered?: true;
}

/**
 * One client's session on a server, across all its connections.
 *
 * @example
 * ```ts
 * import type { ServerSession } from 'rx-lifeline';
 * const echo = (session: ServerSession<string>) =>
 *   session.events$.subscribe({
 *     next: (event) => {
 *       if (event.type !== 'frame') return;
 *       try {
 *         session.link.send(event.frame);
 *       } catch (error) {
 *         // The replay buffer is full (ReplayBufferFullError): this client reads too slowly.
 *         session.link.close();
 *       }
 *     },
 *     // The session expired, or its events were not read in time: it is over, the server is not.
 *     error: (error: unknown) => console.warn(`session ${session.id} ended`, error),
 *   });
 * ```
 * @category Sessions
 */
export interface ServerSession<In = unknown, Out = In> {
  /** The session id (128 random bits, hex). Not a secret: the token is. */
  readonly id: string;
  /**
   * The session's events. Subscribe once, at once (a second subscription errors with a
   * `TypeError`); events that arrive before are held, up to `maxFrames`. Unsubscribing ends the
   * session. It errors with {@link SessionExpiredError} after `sessionTtl` without a connection,
   * and completes when the link is closed or the server stops.
   */
  readonly events$: Observable<ServerSessionEvent<In, Out>>;
  /**
   * The stable link to the client: `send` queues while the client is away and returns `false`
   * when the sender should wait for `drain$` (the client is away, the socket is above its
   * high-water mark, or the replay buffer holds half its caps); it throws
   * {@link ReplayBufferFullError} only for a sender that went on to the caps, and the session lives
   * on. When the client stacks the requests layer (its handshake lists `'requests'`), `send` here
   * throws a `TypeError`: pipe {@link serveRequests} on `events$` and send plain frames on the link
   * of its `connected` event, which wraps them so they travel beside the requests.
   */
  readonly link: Link<Out>;
  /**
   * What `authenticate` returned for the connection that opened the session or last resumed it
   * ({@link acceptHandshake}); `undefined` without a handshake or without `authenticate`.
   */
  readonly identity: unknown;
}

/** What a session server's connection emits: the transport's events, and its layers' own. */
type ConnectionEvent = TransportEvent<unknown, unknown> | { readonly type: string };

/**
 * What a session server does with the events of an accepted connection ({@link Attachment}).
 * @internal
 */
export interface AttachmentOwner<S> {
  /** The connection's `connected` event. */
  connected(connection: Attachment<S>, event: ConnectedEvent<unknown>): void;
  /** One inbound frame. */
  frame(connection: Attachment<S>, frame: unknown): void;
  /** The connection completed (`error` undefined) or failed. */
  ended(connection: Attachment<S>, error: unknown): void;
}

/** The flags of an {@link Attachment}, and of a {@link Session} (`CLOSING`, `ENDED`). */
const CLOSING = 1;
const WAITING = 2;
const ENDED = 4;
/** An {@link Attachment}'s refusals are counted in its flags, above these bits. */
const REFUSAL = 8;

/** `flags` with `bit` set (`on`) or cleared. */
function withFlag(flags: number, bit: number, on: boolean): number {
  return on ? flags | bit : flags & ~bit;
}

/**
 * One accepted connection: its handshake deadline and refusals, and the session it carries. It is
 * its connection's subscriber too, so that an open connection costs the server this one object.
 * @internal
 */
export class Attachment<S> extends DirectSubscriber<ConnectionEvent> {
  link: Link<unknown> | undefined;
  session: S | undefined;
  /** What the connection's handshake settled, when one ran below the sessions. */
  handshake: HandshakeResult | undefined;
  queued: unknown[] | undefined;
  /**
   * `CLOSING`, `WAITING`, `ENDED`, and the refusals in units of `REFUSAL`, in one field: an open
   * connection holds one number for them (refusals are at most `maxRefusedHellos`, 10^6).
   */
  #flags = 0;
  /**
   * When the handshake must be complete: the accept plus `handshakeTimeout`. Forgotten once the
   * sweep found it passed (see {@link pastDeadline}): a number such as `Date.now()` gives would
   * take an object of its own for the connection's life.
   */
  deadline: number | undefined;
  readonly #owner: AttachmentOwner<S>;

  /**
   * @param deadline - when the handshake must be complete: the accept plus `handshakeTimeout`.
   * @param owner - the server that hears this connection's events.
   */
  constructor(deadline: number, owner: AttachmentOwner<S>) {
    super();
    this.deadline = deadline;
    this.#owner = owner;
  }

  /** Hellos refused on this connection. */
  get refusals(): number {
    return Math.floor(this.#flags / REFUSAL);
  }

  set refusals(count: number) {
    this.#flags = (this.#flags % REFUSAL) + count * REFUSAL;
  }

  /** Closed by this side after a refusal: its frames are ignored until it ends. */
  get closing(): boolean {
    return (this.#flags & CLOSING) !== 0;
  }

  set closing(on: boolean) {
    this.#flags = withFlag(this.#flags, CLOSING, on);
  }

  /** A session store is being asked about its hello: its frames wait in `queued`. */
  get waiting(): boolean {
    return (this.#flags & WAITING) !== 0;
  }

  set waiting(on: boolean) {
    this.#flags = withFlag(this.#flags, WAITING, on);
  }

  /** The connection ended (completed, failed or dropped). */
  get ended(): boolean {
    return (this.#flags & ENDED) !== 0;
  }

  set ended(on: boolean) {
    this.#flags = withFlag(this.#flags, ENDED, on);
  }

  /** Whether the handshake deadline has passed at `now`. */
  pastDeadline(now: number): boolean {
    return this.deadline === undefined || now >= this.deadline;
  }

  /** Subscribes to the connection's transport; unsubscribing this closes it. */
  listen(transport: Observable<ConnectionEvent>): void {
    this.subscribeTo(transport);
  }

  // Events of per-connection layers (heartbeat samples) are not the session's business.
  protected onNext(event: ConnectionEvent): void {
    if (event.type === 'connected') this.#owner.connected(this, event as ConnectedEvent<unknown>);
    else if (event.type === 'frame') this.#owner.frame(this, (event as FrameEvent<unknown>).frame);
  }

  protected onError(error: unknown): void {
    this.#owner.ended(this, error);
  }

  protected onComplete(): void {
    this.#owner.ended(this, undefined);
  }
}

/**
 * One session's state. Its events are held until `events$` is subscribed.
 * @internal
 */
export class Session<In, Out> {
  readonly side: SessionSide<Out>;
  token = '';
  /** The token of the last resume, valid until the client speaks after its welcome. */
  previousToken: string | undefined;
  connection: Attachment<Session<In, Out>> | undefined;
  idleSince: number | undefined;
  /**
   * Until when hellos naming this session are refused unchecked, after a wrong token. None before
   * one (not -Infinity, which V8 would box in a number object per session).
   */
  lockedUntil: number | undefined;
  /** What the handshake of the connection attached last settled, when one ran. */
  handshake: HandshakeResult | undefined;
  /** Restored from a store after its process died: client frames up to it may come again. */
  redeliveredThrough = 0;
  /** `CLOSING` and `ENDED`, in one field. */
  #flags = 0;
  /**
   * The events until `events$` is subscribed, then its subscriber (one field for both); undefined
   * once unsubscribed or finished. It can be subscribed once.
   */
  #events: Fifo<ServerSessionEvent<In, Out>> | Subscriber<ServerSessionEvent<In, Out>> | undefined =
    new Fifo();
  #outcome: { error: unknown } | undefined;
  /** Its server's sessions: they end it, and say how many events it holds unsubscribed. */
  readonly #owner: SessionOwner<In, Out>;

  constructor(
    readonly id: string,
    owner: SessionOwner<In, Out>,
    options: ConstructorParameters<typeof SessionSide<Out>>[0],
    /** Where the session is kept beyond this process, when the server has a store. */
    readonly stored?: StoreWriter,
  ) {
    this.#owner = owner;
    // The session is its side's owner: a fatal error ends it through `endNow`.
    this.side = new SessionSide<Out>(options, this, stored);
  }

  /** The application closed it; with a store it ends once its frames are written. */
  get closing(): boolean {
    return (this.#flags & CLOSING) !== 0;
  }

  set closing(on: boolean) {
    this.#flags = withFlag(this.#flags, CLOSING, on);
  }

  get ended(): boolean {
    return (this.#flags & ENDED) !== 0;
  }

  set ended(on: boolean) {
    this.#flags = withFlag(this.#flags, ENDED, on);
  }

  /**
   * The session's stable link, for its `connected` event and the application's link: made for each
   * of them and not kept, since it holds nothing but the side and the session, which is its hooks
   * (send, close, isClosed, isCloseRequested). An idle session holds no link object.
   */
  get link(): SessionLink<Out> {
    return new SessionLink<Out>(this.side, this);
  }

  /**
   * The session as the application holds it: made when the session is handed out, once. The
   * session does not keep it (the application does, if it wants to).
   */
  handOut(): ServerSession<In, Out> {
    return Object.freeze(new PublicSession<In, Out>(this));
  }

  /** The link's send: numbered, kept and written by the side. */
  send(frame: Out): boolean {
    return this.side.send(frame);
  }

  /** The link's close: the application ends the session. */
  close(): void {
    this.#owner.close(this);
  }

  isClosed(): boolean {
    return this.ended || this.closing;
  }

  isCloseRequested(): boolean {
    return this.ended || this.closing;
  }

  /** The one subscription of `events$`: the events held so far, then each as it comes. */
  subscribeEvents(subscriber: Subscriber<ServerSessionEvent<In, Out>>): TeardownLogic {
    const held = this.#events;
    if (!(held instanceof Fifo)) {
      subscriber.error(new TypeError(`The events of session ${this.id} can be subscribed only once`));
      return undefined;
    }
    this.#events = undefined;
    for (let event = held.shift(); event; event = held.shift()) subscriber.next(event);
    if (this.#outcome) {
      if (this.#outcome.error === undefined) subscriber.complete();
      else subscriber.error(this.#outcome.error);
      return undefined;
    }
    this.#events = subscriber;
    return this;
  }

  /** The teardown of `events$`' subscription: the application stopped listening, so it ends. */
  unsubscribe(): void {
    this.#events = undefined;
    this.#owner.end(this, undefined);
  }

  /**
   * Throws when the client stacks the requests layer: a plain frame sent on the public link would
   * reach its `cancelPending()` unwrapped and end its session.
   */
  checkPlainSend(): void {
    if (this.handshake?.layers['requests'] === undefined) return;
    throw new TypeError(
      `Session ${this.id}: its client stacks the requests layer, so a frame sent on session.link would reach it without a requests envelope and end its session; send on the link of the 'connected' event that serveRequests() emits instead`,
    );
  }

  /** A client frame, flagged when it may have been delivered before (see SessionFrameEvent). */
  deliver(seq: number, frame: In): void {
    this.emit(
      seq <= this.redeliveredThrough
        ? { type: 'frame', frame, seq, redelivered: true }
        : { type: 'frame', frame, seq },
    );
  }

  emit(event: ServerSessionEvent<In, Out>): void {
    const held = this.#events;
    if (!(held instanceof Fifo)) return held?.next(event);
    if (this.ended) return;
    const { maxHeld } = this.#owner;
    if (held.length >= maxHeld) {
      const { id } = this;
      this.#owner.end(
        this,
        new ReplayBufferFullError(`Session ${id}: ${maxHeld} events held and events$ not subscribed`, {
          frames: maxHeld,
          bytes: 0,
          size: 0,
          limit: { frames: maxHeld, bytes: Infinity },
        }),
      );
      return;
    }
    held.push(event);
  }

  /** Ends the session through the server's `end`. */
  endNow(error: unknown): void {
    this.#owner.end(this, error);
  }

  finish(error: unknown): void {
    const subscriber = this.#events;
    if (subscriber === undefined || subscriber instanceof Fifo) {
      this.#outcome ??= { error };
      return;
    }
    this.#events = undefined;
    if (error === undefined) subscriber.complete();
    else subscriber.error(error);
  }
}

/**
 * What a {@link Session} asks of its server's sessions: its methods are called on the object, so a
 * session holds one reference for them, no closures. @internal
 */
export interface SessionOwner<In, Out> {
  /** Ends `session` for good: its events complete, or error with `error`. */
  end(session: Session<In, Out>, error: unknown): void;
  /** The application closed `session`'s link. */
  close(session: Session<In, Out>): void;
  /** How many events a session holds while its `events$` is not subscribed. */
  readonly maxHeld: number;
}

/** A connection of a session server, with the session it may carry. @internal */
export type ServerConnection<In, Out> = Attachment<Session<In, Out>>;

const unchanged = <T>(frame: T): T => frame;

/** The session link as the application holds it: every send checked first (see checkPlainSend). */
class PublicLink<Out> extends LayerLink<Out> {
  readonly #session: Session<unknown, Out>;

  constructor(session: Session<unknown, Out>) {
    super(session.link, unchanged);
    this.#session = session;
  }

  override send(frame: Out): boolean {
    this.#session.checkPlainSend();
    return super.send(frame);
  }
}

/** What the server hands the application: fields read through to the session's state. */
class PublicSession<In, Out> implements ServerSession<In, Out> {
  readonly id: string;
  readonly #session: Session<In, Out>;
  /** Made on first use: an idle session whose application never sends costs no link object. */
  #link: PublicLink<Out> | undefined;
  /**
   * Made on first read, forgotten once subscribed: it can be subscribed once (a later read gives
   * one whose subscription errors, as this one's would), so an idle session holds neither it nor
   * its subscribe function.
   */
  #events: Observable<ServerSessionEvent<In, Out>> | undefined;

  constructor(session: Session<In, Out>) {
    this.id = session.id;
    this.#session = session;
  }

  get events$(): Observable<ServerSessionEvent<In, Out>> {
    return (this.#events ??= new Observable<ServerSessionEvent<In, Out>>((subscriber) => {
      this.#events = undefined;
      return this.#session.subscribeEvents(subscriber);
    }));
  }

  get link(): Link<Out> {
    return (this.#link ??= new PublicLink<Out>(this.#session as Session<unknown, Out>));
  }

  get identity(): unknown {
    return this.#session.handshake?.identity;
  }
}
