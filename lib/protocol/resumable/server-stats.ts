import { Observable, Subject } from 'rxjs';
import type { RefusalReason } from '../../core/errors.js';
import { SessionStoreError, type SessionStoreErrorCode } from './errors.js';
import { describeError } from '../../internal/describe-value.js';

/**
 * What a session server holds and what it turned away, as the `stats$` of {@link acceptSessions}'s
 * {@link SessionServer} emits it.
 * The counts of "now" (`connections`, `handshaking`, `sessions`) and the totals since the server
 * Observable was created add up every subscription of it (usually one).
 *
 * @example
 * ```ts
 * import type { SessionServerStats } from 'rx-lifeline';
 * const alarm = (s: SessionServerStats) => s.refused['bad-token'] + s.refused.locked > 100;
 * ```
 */
export interface SessionServerStats {
  /** Connections open now, with a session or not. */
  readonly connections: number;
  /** Of those, the connections without a session: handshaking, or refused and being closed. */
  readonly handshaking: number;
  /** Sessions held now, with a connection or waiting for their client to resume. */
  readonly sessions: number;
  /**
   * Hellos refused so far, by cause. `locked` counts the hellos for a session locked after a wrong
   * token: they are refused with `'overloaded'` on the wire, without their token being compared.
   */
  readonly refused: {
    readonly 'unknown-session': number;
    readonly 'bad-token': number;
    readonly version: number;
    readonly overloaded: number;
    readonly locked: number;
    /**
     * Hellos refused with `'overloaded'` because the session store could not be asked (it failed
     * or was unreachable): the client comes back by its policy, its session untouched.
     */
    readonly store: number;
  };
  /** Connections this server closed so far, by cause (clean closes and peers' closes are not counted). */
  readonly closed: {
    /** No handshake completed within `handshakeTimeout` of the connection's accept. */
    readonly handshakeTimeout: number;
    /** The connection had `maxRefusedHellos` hellos refused. */
    readonly tooManyRefusals: number;
    /** The peer broke the protocol (a `ProtocolError`). */
    readonly protocolError: number;
  };
  /**
   * Connections the underlying server refused at one of its limits (its `refused` events), by
   * reason: they never reached the session layer. To log each one, tap the server Observable before
   * handing it to `acceptSessions`.
   */
  readonly refusedConnections: Readonly<Record<RefusalReason, number>>;
  /** Connections that failed before anyone subscribed to them (the server's `connection-error` events). */
  readonly connectionErrors: number;
  /** Sessions their client ended with a goodbye (it closed its link) rather than leaving them to expire. */
  readonly goodbyes: number;
}

type RefusedCause = keyof SessionServerStats['refused'];
type ClosedCause = keyof SessionServerStats['closed'];

/**
 * The counters behind `stats$`, and the store failures behind `errors$`, shared by the
 * subscriptions of one server Observable.
 * @internal
 */
export class ServerCounters {
  #connections = 0;
  #attached = 0;
  #sessions = 0;
  readonly #refused: Record<RefusedCause, number> = {
    'unknown-session': 0,
    'bad-token': 0,
    version: 0,
    overloaded: 0,
    locked: 0,
    store: 0,
  };
  readonly #closed: Record<ClosedCause, number> = {
    handshakeTimeout: 0,
    tooManyRefusals: 0,
    protocolError: 0,
  };
  readonly #refusedConnections: Record<RefusalReason, number> = {
    'max-connections': 0,
    'max-pending-frame-bytes': 0,
  };
  #connectionErrors = 0;
  #goodbyes = 0;
  readonly #changes = new Subject<SessionServerStats>();

  readonly stats$ = new Observable<SessionServerStats>((subscriber) => {
    subscriber.next(this.#snapshot());
    return this.#changes.subscribe(subscriber);
  });

  readonly #errors = new Subject<SessionStoreError>();
  /** The store failures that reach no session's `events$`, as they happen: nothing is kept. */
  readonly errors$: Observable<SessionStoreError> = this.#errors.asObservable();

  /** The store failed where no session's `events$` hears of it: `errors$` is told, if anyone listens. */
  storeFailed(failure: StoreFailure): void {
    if (this.#errors.observed) this.#errors.next(storeError(failure));
  }

  /** A connection opened (+1) or ended (-1). */
  connection(delta: 1 | -1): void {
    this.#connections += delta;
    this.#changed();
  }

  /** A connection got a session (+1) or lost it (-1). */
  attachment(delta: 1 | -1): void {
    this.#attached += delta;
    this.#changed();
  }

  /** A session was opened (+1) or ended (-1). */
  session(delta: 1 | -1): void {
    this.#sessions += delta;
    this.#changed();
  }

  refusal(cause: RefusedCause): void {
    this.#refused[cause]++;
    this.#changed();
  }

  closing(cause: ClosedCause): void {
    this.#closed[cause]++;
    this.#changed();
  }

  /** The server below refused a connection at one of its limits. */
  refusedConnection(reason: RefusalReason): void {
    // A server of the user's making may name a reason of its own: counted, never a NaN.
    this.#refusedConnections[reason] = (this.#refusedConnections[reason] ?? 0) + 1;
    this.#changed();
  }

  /** A connection failed before anyone subscribed to it. */
  connectionError(): void {
    this.#connectionErrors++;
    this.#changed();
  }

  /** A client ended its session with a goodbye. */
  goodbye(): void {
    this.#goodbyes++;
    this.#changed();
  }

  #changed(): void {
    if (this.#changes.observed) this.#changes.next(this.#snapshot());
  }

  #snapshot(): SessionServerStats {
    return {
      connections: this.#connections,
      handshaking: this.#connections - this.#attached,
      sessions: this.#sessions,
      refused: { ...this.#refused },
      closed: { ...this.#closed },
      refusedConnections: { ...this.#refusedConnections },
      connectionErrors: this.#connectionErrors,
      goodbyes: this.#goodbyes,
    };
  }
}

/**
 * A store failure that reaches no session: the call that failed, and `cause` (what the store
 * answered) or `why` (it did not answer).
 * @internal
 */
export interface StoreFailure {
  /** What the store was asked, as in "the session store failed `what`". */
  readonly what: string;
  readonly session?: string;
  readonly cause?: unknown;
  readonly why?: string;
  /** By default the code of a `SessionStoreError` cause, else `'unavailable'`. */
  readonly code?: SessionStoreErrorCode;
}

/** `failure` typed: a `SessionStoreError` cause keeps its code and says why. */
function storeError({ what, session, cause, why, code }: StoreFailure): SessionStoreError {
  const known = SessionStoreError.is(cause) ? cause : undefined;
  const about = session === undefined ? '' : ` (session ${session})`;
  const because = why ?? (known ? known.message : describeError(cause));
  return new SessionStoreError(`The session store failed ${what}${about}: ${because}`, {
    code: code ?? known?.code ?? 'unavailable',
    ...(session === undefined ? {} : { session }),
    ...(cause === undefined ? {} : { cause }),
  });
}
