/**
 * One subscription of {@link resumable}: the client side of a session across connections.
 * @internal
 * @packageDocumentation
 */
import { Subscription, type Observable, type Observer, type Subscriber } from 'rxjs';
import { ConnectionError } from '../../core/errors.js';
import type { DisconnectedEvent } from '../../core/session.js';
import type { ConnectedEvent, FrameEvent, HandshakeResult, Link } from '../../core/transport.js';
import { asLayerError, notAnEnvelope, notASessionEvent } from '../../internal/peer-input.js';
import { unlisted } from '../handshake/layers.js';
import {
  SessionSide,
  SessionLink,
  type SideOptions,
  type SideOwner,
  type SessionLinkHooks,
} from './session-side.js';
import {
  ReplayBufferFullError,
  SessionLostError,
  type LostFrames,
  type SessionLostReason,
} from './errors.js';
import type { JournalState, SessionJournal } from './journal.js';
import type { ResumableEvent, ResumedEvent } from './resumable.js';
import {
  ACK,
  DATA,
  GOODBYE,
  GOODBYE_VERSION,
  HELLO,
  isCount,
  layerError,
  MAX_VERSION,
  MIN_VERSION,
  parseRefusal,
  parseWelcome,
  REFUSAL,
  WELCOME,
  type Refusal,
  type Welcome,
} from './wire.js';

/** The options of {@link resumable}, checked and with their defaults: shared by its subscriptions. */
export interface ResumableSettings<Out> {
  readonly journal: SessionJournal | undefined;
  readonly onOverflow: 'error' | 'event';
  readonly onSessionLost: 'error' | 'reset';
  readonly side: SideOptions<Out>;
}

/** What a {@link ResumableRun} emits: its own events and those it passes through. */
export type ResumableEmitted<In, Out> =
  ResumableEvent<In, Out> | DisconnectedEvent | { readonly type: string };

/** Where the run is: between connections, waiting for the server's answer to its hello, or live. */
type Phase = 'offline' | 'handshake' | 'live';

/**
 * The client side of one resumable session: its handshake on each connection, the session link it
 * hands out, and how it ends. It is the hooks of its link, the owner of its side and the
 * observer of its source, so that a session holds this one object for them, and no closures.
 */
export class ResumableRun<In, Out>
  implements SessionLinkHooks<Out>, SideOwner, Observer<{ readonly type: string }>
{
  #inner: Link<unknown> | undefined;
  #phase: Phase = 'offline';
  #sessionId: string | undefined;
  #token: string | undefined;
  /** `connected` was emitted: later welcomes are resumes. */
  #announced = false;
  /**
   * A move the application has not been told of yet: the 'resumed' event waits until the new
   * process's replay is in (up to the welcome's `sent`), so that the answers the process before
   * stored reach the layer above before it settles what that process took.
   */
  #move: { readonly through: number; readonly event: ResumedEvent } | undefined;
  /** What the current connection's handshake settled, passed on with `connected`. */
  #handshake: HandshakeResult | undefined;
  /** The version the server chose in its last welcome. */
  #version = MIN_VERSION;
  #closeRequested = false;
  #ended = false;
  readonly #upstream = new Subscription();
  readonly #side: SessionSide<Out>;
  readonly #link: SessionLink<Out>;
  readonly #subscriber: Subscriber<ResumableEmitted<In, Out>>;
  readonly #settings: ResumableSettings<Out>;

  constructor(subscriber: Subscriber<ResumableEmitted<In, Out>>, settings: ResumableSettings<Out>) {
    this.#subscriber = subscriber;
    this.#settings = settings;
    this.#side = new SessionSide<Out>(settings.side, this, settings.journal);
    this.#link = new SessionLink<Out>(this.#side, this);
  }

  /**
   * Restores what the journal holds (emitting `restored`), then listens to `source`; returns the
   * subscription's teardown.
   */
  start(source: Observable<{ readonly type: string }>): () => void {
    if (this.#restore()) {
      // A journal that fails on its own (taken over by another tab) ends the stream now.
      const failure$ = this.#settings.journal?.failure$;
      // One that errors instead of emitting says the same: an error nobody heard would be uncaught.
      const fail = (error: unknown) => this.endNow(error);
      if (failure$) this.#upstream.add(failure$.subscribe({ next: fail, error: fail }));
      if (!this.#ended) this.#upstream.add(source.subscribe(this));
    }
    return () => void this.#stop();
  }

  /** Ends the stream with `error`, once (the side's owner hook, and every fatal path). */
  endNow(error: unknown): void {
    if (this.#stop()) this.#subscriber.error(error);
  }

  // The source's observer. Nothing throws out of `next`, whatever the peer sent: RxJS would report
  // it as uncaught.
  next(event: { readonly type: string }): void {
    try {
      this.#onEvent(event);
    } catch (error) {
      this.endNow(asLayerError('resumable', error, this.#inner));
    }
  }

  error(error: unknown): void {
    this.endNow(
      ConnectionError.is(error)
        ? new TypeError(
            'resumable: its source failed with a connection error, which a session stream never does; pipe resumable() after reconnectWith()',
            { cause: error },
          )
        : error,
    );
  }

  complete(): void {
    if (this.#stop()) this.#subscriber.complete();
  }

  // The session link's hooks.
  send(frame: Out): boolean {
    try {
      return this.#side.send(frame);
    } catch (error) {
      if (this.#settings.onOverflow === 'error' || !ReplayBufferFullError.is(error)) throw error;
      this.#subscriber.next({ type: 'overflow', frame, error });
      return false;
    }
  }

  close(reason?: string): void {
    if (this.#closeRequested || this.#ended) return;
    this.#closeRequested = true;
    const inner = this.#inner;
    // reconnectWith completes when the link it handed out was closed by this side.
    if (inner && this.#phase === 'live') this.#side.whenAllWritten(() => this.#sayGoodbye(reason));
    else if (inner) inner.close(reason);
    else if (this.#journalDid((journal) => journal.clear())) this.complete();
  }

  isClosed(): boolean {
    return this.#ended || this.#closeRequested;
  }

  isCloseRequested(): boolean {
    return this.#closeRequested;
  }

  /**
   * Makes a call of the journal's, if there is one. What it throws (a refusal of its own, or a bug)
   * ends the stream with that very error (not a ProtocolError blaming the frame being handled, and
   * never out of the caller: `close()` or a drain of the link): then it returns `false`.
   */
  #journalDid(call: (journal: SessionJournal) => void): boolean {
    const journal = this.#settings.journal;
    try {
      if (journal) call(journal);
      return true;
    } catch (error) {
      this.endNow(error);
      return false;
    }
  }

  /** Stops everything once: `false` when it had stopped already. */
  #stop(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    this.#upstream.unsubscribe();
    this.#side.dispose();
    return true;
  }

  /** A session a journal kept: resumed on the first connection, its frames replayed. */
  #restore(): boolean {
    let saved: JournalState | undefined;
    const restored = this.#journalDid((journal) => {
      saved = journal.restore();
      if (!saved) return;
      this.#side.restore(saved);
      this.#sessionId = saved.session;
      this.#token = saved.token;
    });
    if (restored && saved) this.#subscriber.next({ type: 'restored', state: saved });
    return restored;
  }

  #onEvent(event: { readonly type: string }): void {
    const notAnEvent = notASessionEvent('resumable', event);
    if (notAnEvent) return this.endNow(notAnEvent);
    switch (event.type) {
      case 'connected':
        return this.#onConnected(event as ConnectedEvent<unknown>);
      case 'frame':
        return this.#onFrame((event as FrameEvent<unknown>).frame);
      case 'disconnected':
        this.#side.detach();
        this.#inner = undefined;
        this.#phase = 'offline';
        this.#subscriber.next(event);
        return;
      default:
        this.#subscriber.next(event);
    }
  }

  #onConnected(event: ConnectedEvent<unknown>): void {
    const wrong = unlisted('resumable', event, 'resumable()');
    if (wrong) return this.endNow(wrong);
    this.#inner = event.link;
    this.#handshake = event.handshake;
    if (this.#closeRequested) return event.link.close();
    this.#sendHello();
  }

  #sendHello(): void {
    this.#phase = 'handshake';
    const versions = [MIN_VERSION, MAX_VERSION];
    const side = this.#side;
    const hello =
      this.#sessionId === undefined
        ? { v: versions, received: 0 }
        : {
            v: versions,
            session: this.#sessionId,
            token: this.#token,
            received: side.ackable,
            sent: side.lastSeq,
          };
    this.#inner?.send([HELLO, hello]);
  }

  #onFrame(frame: unknown): void {
    if (!Array.isArray(frame)) return this.#notAnEnvelope(frame);
    const kind: unknown = frame[0];
    if (this.#phase === 'live') return this.#onLiveFrame(frame, kind);
    if (this.#phase === 'handshake' && kind === WELCOME && frame.length === 2) {
      const welcome = parseWelcome(frame[1]);
      if (welcome) this.#onWelcome(welcome);
      else this.endNow(layerError('malformed welcome', this.#inner));
    } else if (this.#phase === 'handshake' && kind === REFUSAL && frame.length === 2) {
      const refusal = parseRefusal(frame[1]);
      if (refusal) this.#onRefusal(refusal);
      else this.endNow(layerError('malformed refusal', this.#inner));
    } else this.#notAnEnvelope(frame);
  }

  #onLiveFrame(frame: unknown[], kind: unknown): void {
    const side = this.#side;
    if (kind === DATA && frame.length === 3 && isCount(frame[1]) && frame[1] > 0) {
      if (side.receiveData(frame[1])) {
        this.#subscriber.next({ type: 'frame', frame: frame[2] as In });
        side.delivered(frame[1]);
        this.#replayedThrough(frame[1]);
      }
    } else if (kind === ACK && frame.length === 2 && isCount(frame[1])) {
      side.receiveAck(frame[1]);
    } else this.#notAnEnvelope(frame);
  }

  #notAnEnvelope(frame: unknown): void {
    const doing = this.#phase === 'live' ? 'resumed' : 'handshaking';
    this.endNow(
      notAnEnvelope(
        'resumable',
        frame,
        `this client is ${doing}; does the server use acceptSessions()?`,
        this.#inner,
      ),
    );
  }

  /** The welcome's version, session and counters, checked; a layer error or a lost session if wrong. */
  #refuseWelcome(welcome: Welcome): boolean {
    const { lastSeq } = this.#side;
    let problem: string | undefined;
    if (welcome.v < MIN_VERSION || welcome.v > MAX_VERSION) {
      problem = `the server chose version ${welcome.v}, outside [${MIN_VERSION}, ${MAX_VERSION}]`;
    } else if (this.#sessionId !== undefined && welcome.session !== this.#sessionId) {
      problem = 'the server welcomed another session than the one asked for';
    } else if (welcome.received > lastSeq) {
      problem = `the server claims frame ${welcome.received}, above the last sent (${lastSeq})`;
    }
    if (problem !== undefined) {
      this.endNow(layerError(problem, this.#inner));
      return true;
    }
    if (this.#side.canResumeFrom(welcome.received)) return false;
    this.#sessionLost('gap', { sent: [welcome.received + 1, lastSeq], missed: undefined });
    return true;
  }

  #onWelcome(welcome: Welcome): void {
    if (this.#refuseWelcome(welcome)) return;
    const resuming = this.#sessionId !== undefined;
    this.#version = welcome.v;
    this.#sessionId = welcome.session;
    this.#token = welcome.token;
    this.#phase = 'live';
    // Kept before this side speaks: its first frame (the ack, or a replayed frame) retires the
    // token the hello presented (see PROTOCOL.md), so the journal must hold the new one first.
    if (!this.#journalDid((journal) => journal.session(welcome.session, welcome.token))) return;
    const connection = this.#inner!;
    const side = this.#side;
    side.whenCommitted(() => {
      if (this.#inner !== connection || this.#phase !== 'live') return;
      const replayed = side.attach(connection, welcome.received);
      // Tells the server the welcome arrived, so it retires the token this hello presented.
      side.acknowledge();
      this.#announce(welcome, resuming, replayed);
    });
  }

  #announce(welcome: Welcome, resuming: boolean, replayed: number): void {
    if (!this.#announced) {
      this.#announced = true;
      const handshake = this.#handshake;
      this.#subscriber.next({ type: 'connected', link: this.#link, ...(handshake ? { handshake } : {}) });
      return;
    }
    // Not resuming: this is the fresh session that replaced a lost one (`session-reset`).
    const moved = welcome.moved || this.#move !== undefined;
    const extra = moved ? { moved: true as const, peerReceived: welcome.received } : {};
    const event: ResumedEvent = { type: 'resumed', replayed, fresh: !resuming, ...extra };
    const through = welcome.sent ?? 0;
    this.#move = moved && through > this.#side.received ? { through, event } : undefined;
    if (!this.#move) this.#subscriber.next(event);
  }

  /** Frame `seq` was delivered: a move waiting for the replay through it is said now. */
  #replayedThrough(seq: number): void {
    const move = this.#move;
    if (!move || seq < move.through) return;
    this.#move = undefined;
    this.#subscriber.next(move.event);
  }

  #onRefusal(refusal: Refusal): void {
    if (refusal.reason === 'version') {
      return this.endNow(
        layerError(
          `the server speaks no version in [${MIN_VERSION}, ${MAX_VERSION}] (refused: version); if it pipes acceptHandshake(), pipe handshake() first on this transport`,
          this.#inner,
        ),
      );
    }
    // The server closes the connection; the reconnect policy decides when to come back.
    if (refusal.reason === 'overloaded') return;
    if (this.#sessionId === undefined) {
      return this.endNow(
        layerError(`the server refused a new session with '${refusal.reason}'`, this.#inner),
      );
    }
    const { lastSeq, buffer } = this.#side;
    const { firstSeq } = buffer;
    this.#sessionLost(refusal.reason, {
      sent: lastSeq >= firstSeq ? [firstSeq, lastSeq] : undefined,
      missed: refusal.lost,
    });
  }

  #sessionLost(reason: SessionLostReason, lost: LostFrames): void {
    const side = this.#side;
    const unsent = side.buffer.held();
    if (!this.#journalDid((journal) => journal.clear())) return;
    if (this.#settings.onSessionLost === 'error') {
      return this.endNow(
        new SessionLostError(`The session could not be resumed (${reason}); frames may be lost`, {
          reason,
          lost,
          unsent,
        }),
      );
    }
    side.reset();
    this.#sessionId = undefined;
    this.#token = undefined;
    this.#move = undefined; // the reset settles everything the session held
    this.#subscriber.next({ type: 'session-reset', reason, lost, unsent, requests: 0 });
    this.#sendHello();
  }

  /**
   * Ends a live connection after every frame left: with a goodbye first (version 2 on), so the
   * server ends the session now instead of keeping it for its TTL.
   */
  #sayGoodbye(reason: string | undefined): void {
    const link = this.#inner;
    if (!link) return;
    // Everything left: the session ends here, nothing is left to resume after a restart. The
    // goodbye waits until the journal has that too: a crash in between must not find a
    // session the server already ended.
    if (!this.#journalDid((journal) => journal.clear())) return;
    this.#side.whenCommitted(() => {
      if (this.#version >= GOODBYE_VERSION) {
        try {
          link.send([GOODBYE]);
        } catch {
          // A full or closed link: the server's TTL ends the session instead.
        }
      }
      link.close(reason);
    });
  }
}
