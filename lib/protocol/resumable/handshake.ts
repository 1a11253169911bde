import type { SchedulerLike } from 'rxjs';
import { describeValue } from '../../internal/describe-value.js';
import { askPromise } from '../../internal/promise-like.js';
import type { ServerConnection, Session } from './server-session.js';
import type { SessionRegistry } from './session-registry.js';
import type { ServerCounters, SessionServerStats, StoreFailure } from './server-stats.js';
import { SessionLostError, SessionStoreError } from './errors.js';
import type { SessionClaimResult, StoredSession } from './store.js';
import {
  constantTimeEqual,
  isCount,
  layerError,
  MAX_VERSION,
  MIN_VERSION,
  parseHello,
  randomId,
  REFUSAL,
  WELCOME,
  type Hello,
  type Refusal,
} from './wire.js';

type RefusedCause = keyof SessionServerStats['refused'];

/** The limits of a {@link Handshake}. @internal */
export interface HandshakeSettings {
  readonly maxSessions: number;
  readonly maxRefusedHellos: number;
  readonly badTokenLockout: number;
  readonly scheduler: SchedulerLike;
}

/**
 * The server's side of the resumable handshake: a hello opens a session, resumes one (token
 * checked in constant time, then rotated) or is refused; a welcome attaches the connection.
 * @internal
 */
export class Handshake<In, Out> {
  readonly #registry: SessionRegistry<In, Out>;
  readonly #settings: HandshakeSettings;
  readonly #settled: (connection: ServerConnection<In, Out>, error?: unknown) => void;
  readonly #counters: ServerCounters;
  readonly #opened: (session: Session<In, Out>) => void;

  /**
   * @param opened - A new session whose welcome was written: the server emits it.
   * @param settled - The store answered for `connection`: its queued frames go on, or `error`
   *   (a protocol error found by the store) closes it.
   */
  constructor(
    registry: SessionRegistry<In, Out>,
    counters: ServerCounters,
    settings: HandshakeSettings,
    opened: (session: Session<In, Out>) => void,
    settled: (connection: ServerConnection<In, Out>, error?: unknown) => void = () => {},
  ) {
    this.#opened = opened;
    this.#counters = counters;
    this.#registry = registry;
    this.#settings = settings;
    this.#settled = settled;
  }

  /** A hello on `connection`; a malformed one throws a `ProtocolError`. */
  hello(connection: ServerConnection<In, Out>, value: unknown): void {
    const hello = parseHello(value);
    if (!hello) throw layerError('malformed hello', connection.link);
    // A hello on a handshaken connection starts over (a client that reset its session).
    if (connection.session) this.#registry.detach(connection.session, undefined);
    if (hello.v[0] > MAX_VERSION || hello.v[1] < MIN_VERSION) {
      return this.#refuse(connection, { reason: 'version' }, true);
    }
    if (this.#registry.stored) return this.#stored(connection, hello);
    if (hello.session === undefined) return this.#open(connection, hello);
    const session = this.#registry.get(hello.session);
    if (!session) return this.#refuse(connection, { reason: 'unknown-session' }, false);
    // A guess right after a wrong one is not even compared: one guess per lockout, per session.
    const now = this.#settings.scheduler.now();
    if (now < (session.lockedUntil ?? -Infinity))
      return this.#refuse(connection, { reason: 'overloaded' }, true, 'locked');
    // Both compared, always: which one matched must not show in the timing.
    const current = constantTimeEqual(session.token, hello.token!);
    const previous = constantTimeEqual(session.previousToken ?? '', hello.token!);
    if (!current && !previous) {
      session.lockedUntil = now + this.#settings.badTokenLockout;
      return this.#refuse(connection, { reason: 'bad-token' }, false);
    }
    this.#resume(connection, session, hello);
  }

  /**
   * Answers a hello with a refusal. The connection is closed when `close` says so, at its
   * `maxRefusedHellos`th refusal, and after its handshake deadline.
   */
  #refuse(
    connection: ServerConnection<In, Out>,
    refusal: Refusal,
    close: boolean,
    cause: RefusedCause = refusal.reason,
  ): void {
    this.#counters.refusal(cause);
    try {
      connection.link?.send([REFUSAL, refusal]);
    } catch {
      // The connection is going anyway.
    }
    connection.refusals++;
    if (!close && connection.refusals >= this.#settings.maxRefusedHellos)
      this.#counters.closing('tooManyRefusals');
    else if (!close && connection.pastDeadline(this.#settings.scheduler.now())) {
      this.#counters.closing('handshakeTimeout');
    } else if (!close) return;
    connection.closing = true;
    connection.link?.close(refusal.reason);
  }

  #open(connection: ServerConnection<In, Out>, hello: Hello, id?: string, token = randomId()): void {
    if (this.#registry.size >= this.#settings.maxSessions) {
      return this.#refuse(connection, { reason: 'overloaded' }, true);
    }
    this.#welcomeNew(connection, this.#registry.create(id), 0, hello.v[1], token);
  }

  /** Hands a session new to this process to the application and welcomes its client. */
  #welcomeNew(
    connection: ServerConnection<In, Out>,
    session: Session<In, Out>,
    peerReceived: number,
    peerMax: number,
    token: string,
  ): void {
    const { handshake } = connection;
    session.emit({ type: 'connected', link: session.link, ...(handshake ? { handshake } : {}) });
    // A copy from the store, of a session another process held: the client is told it moved.
    const moved = session.stored !== undefined && session.stored.epoch > 1;
    try {
      const replayed = this.#attach(connection, session, peerReceived, peerMax, token, moved);
      if (session.stored && session.stored.epoch > 1)
        session.emit({ type: 'resumed', replayed, fresh: false });
    } catch (error) {
      // The welcome could not be written: a session nobody will ever see must not linger.
      this.#registry.end(session, error);
      throw error;
    }
    this.#opened(session);
  }

  #resume(
    connection: ServerConnection<In, Out>,
    session: Session<In, Out>,
    hello: Hello,
    token = randomId(),
  ): void {
    const { side } = session;
    if (hello.received > side.lastSeq) {
      throw layerError(
        `hello claims frame ${hello.received}, above the last sent (${side.lastSeq})`,
        connection.link,
      );
    }
    if (!side.canResumeFrom(hello.received)) return this.#gap(connection, session, hello);
    // The newest connection wins: an older one still attached is closed.
    this.#registry.displace(session);
    // The welcome below may be lost in a cut: until the client speaks on this connection, the
    // token it just proved it holds stays valid (and the one before it, never received, does not).
    session.previousToken = hello.token;
    const replayed = this.#attach(connection, session, hello.received, hello.v[1], token);
    session.emit({ type: 'resumed', replayed, fresh: false });
  }

  /** The client missed frames the session no longer holds: refused, and the session is lost. */
  #gap(connection: ServerConnection<In, Out>, session: Session<In, Out>, hello: Hello): void {
    this.#lostGap(connection, hello, session.side.buffer.firstSeq, session);
  }

  #lostGap(
    connection: ServerConnection<In, Out>,
    hello: Hello,
    firstSeq: number,
    session: Session<In, Out> | undefined,
  ): void {
    const lost = [hello.received + 1, firstSeq - 1] as const;
    this.#refuse(connection, { reason: 'unknown-session', lost }, false);
    if (!session) return;
    this.#registry.end(
      session,
      new SessionLostError(
        `Session ${session.id} could not be resumed: frames ${lost[0]}–${lost[1]} are gone`,
        {
          reason: 'gap',
          lost: { sent: lost, missed: undefined },
        },
      ),
    );
  }

  /**
   * With a store, every hello asks it first: a new session is stored before its welcome, and a
   * resume is a claim (token checked and rotated, epoch bumped) wherever the session was held.
   * The connection's next frames wait meanwhile.
   */
  #stored(connection: ServerConnection<In, Out>, hello: Hello): void {
    if (hello.session === undefined && this.#registry.size >= this.#settings.maxSessions) {
      return this.#refuse(connection, { reason: 'overloaded' }, true);
    }
    const { store, ttl } = this.#registry.stored!;
    const token = randomId();
    connection.waiting = true;
    const answered = (then: () => void) => () => this.#answered(connection, then);
    if (hello.session === undefined) {
      const id = randomId();
      const identity = connection.handshake?.identity;
      askPromise('SessionStore.create', () => store.create({ id, token, identity, ttl })).then(
        answered(() => this.#open(connection, hello, id, token)),
        (cause: unknown) => this.#failed(connection, { what: 'to create a session', session: id, cause }),
      );
      return;
    }
    const local = this.#registry.get(hello.session);
    local?.stored!.hold();
    const claim = {
      id: hello.session,
      token: hello.token!,
      nextToken: token,
      received: hello.received,
      lockout: this.#settings.badTokenLockout,
      ttl,
      ...(local ? { heldEpoch: local.stored!.epoch } : {}),
    };
    const what = 'to claim a session';
    askPromise('SessionStore.claim', () => store.claim(claim)).then(
      (result) => {
        // A store that answers nonsense is a store that failed: the client comes back later.
        const wrong = claimProblem(result, claim.id);
        if (wrong === undefined)
          return this.#answered(connection, () => this.#claimed(connection, hello, result, token), local);
        const why = `its answer is no SessionClaimResult: ${wrong}`;
        this.#failed(connection, { what, session: claim.id, why, code: 'corrupt' }, local);
      },
      (cause: unknown) => this.#failed(connection, { what, session: claim.id, cause }, local),
    );
  }

  /**
   * The store failed a hello: `errors$` says what failed (even if the connection ended meanwhile,
   * unless its handshake deadline told already that the store did not answer), and the client is
   * refused as for a store that cannot be asked.
   */
  #failed(connection: ServerConnection<In, Out>, failure: StoreFailure, held?: Session<In, Out>): void {
    if (connection.waiting) this.#counters.storeFailed(failure);
    this.#answered(connection, () => this.#storeFailed(connection), held);
  }

  /** The store answered for `connection`: `then` runs unless the connection ended meanwhile. */
  #answered(connection: ServerConnection<In, Out>, then: () => void, held?: Session<In, Out>): void {
    connection.waiting = false;
    if (connection.ended || connection.closing) {
      held?.stored!.release();
      return;
    }
    try {
      then();
    } catch (error) {
      held?.stored!.release();
      return this.#settled(connection, error);
    }
    held?.stored!.release();
    this.#settled(connection);
  }

  /**
   * The store could not be asked: the client comes back later; the session is untouched. The
   * refusal is counted in the server's stats under `'store'`, what failed told to `errors$`.
   */
  #storeFailed(connection: ServerConnection<In, Out>): void {
    this.#refuse(connection, { reason: 'overloaded' }, true, 'store');
  }

  #claimed(
    connection: ServerConnection<In, Out>,
    hello: Hello,
    result: SessionClaimResult,
    token: string,
  ): void {
    const local = this.#registry.get(hello.session!);
    switch (result.status) {
      case 'unknown':
        if (local) this.#registry.end(local, goneError(local.id));
        return this.#refuse(connection, { reason: 'unknown-session' }, false);
      case 'bad-token':
        return this.#refuse(connection, { reason: 'bad-token' }, false);
      case 'locked':
        return this.#refuse(connection, { reason: 'overloaded' }, true, 'locked');
      case 'gap':
        return this.#lostGap(connection, hello, result.firstSeq, local);
      case 'ahead':
        throw layerError(
          `hello claims frame ${hello.received}, above the last sent (${result.lastSeq})`,
          connection.link,
        );
      case 'claimed':
        return this.#takeOver(connection, hello, result.session, token, local);
    }
  }

  /**
   * A claimed session: the copy this process holds when nobody else held it since (its epoch is
   * the one before), else a new copy from the store, handed to the application as a new session
   * whose client frames up to the hello's `sent` may come again (the process before may have
   * delivered them without storing it).
   */
  #takeOver(
    connection: ServerConnection<In, Out>,
    hello: Hello,
    stored: StoredSession,
    token: string,
    local: Session<In, Out> | undefined,
  ): void {
    if (local && local.stored!.epoch === stored.epoch - 1) {
      local.stored!.release(stored.epoch);
      return this.#resume(connection, local, hello, token);
    }
    if (local) this.#registry.end(local, fencedError(local.id, stored.epoch));
    const session = this.#registry.create(stored.id, stored.epoch);
    session.side.restore({ ...stored, session: stored.id, token });
    session.redeliveredThrough = hello.sent ?? 0;
    session.previousToken = hello.token;
    this.#welcomeNew(connection, session, hello.received, hello.v[1], token);
  }

  /** Attaches a handshaken connection; `peerMax` is the highest version the client speaks. */
  #attach(
    connection: ServerConnection<In, Out>,
    session: Session<In, Out>,
    peerReceived: number,
    peerMax: number,
    token: string,
    moved = false,
  ): number {
    const link = connection.link!;
    session.token = token;
    session.handshake = connection.handshake;
    this.#registry.attach(connection, session);
    link.send([
      WELCOME,
      {
        v: Math.min(peerMax, MAX_VERSION),
        session: session.id,
        token: session.token,
        // With a store, only what it kept: the client replays the rest.
        received: session.side.ackable,
        // The replay of the frames the dead process stored ends at `sent`: the client settles
        // what that process took once the replay is in (see resumable's 'resumed').
        ...(moved ? { moved: true, sent: session.side.lastSeq } : {}),
      },
    ]);
    return session.side.attach(link, peerReceived);
  }
}

/**
 * What is wrong with a store's answer to the claim of session `id`, or `undefined` when it is a
 * {@link SessionClaimResult} this server can act on (a claimed session's counts and frames are
 * checked as it is restored).
 */
function claimProblem(result: unknown, id: string): string | undefined {
  const { status, session, firstSeq, lastSeq } = (result ?? {}) as Partial<Record<string, unknown>>;
  if (status === 'unknown' || status === 'bad-token' || status === 'locked') return undefined;
  if (status === 'gap') return isCount(firstSeq) ? undefined : `a gap from ${describeValue(firstSeq)}`;
  if (status === 'ahead') return isCount(lastSeq) ? undefined : `ahead of ${describeValue(lastSeq)}`;
  if (status !== 'claimed') return `status ${describeValue(status)}`;
  const { id: claimed, epoch, frames } = (session ?? {}) as Partial<StoredSession>;
  const sound = claimed === id && isCount(epoch) && epoch > 0 && Array.isArray(frames);
  return sound ? undefined : `the claimed session ${describeValue(session)}`;
}

function goneError(id: string): SessionStoreError {
  return new SessionStoreError(`Session ${id} is no longer in the store (expired or ended)`, {
    code: 'gone',
    session: id,
  });
}

function fencedError(id: string, epoch: number): SessionStoreError {
  return new SessionStoreError(
    `Session ${id} was resumed on another server process since (now epoch ${epoch}): this copy is stale`,
    { code: 'fenced', session: id },
  );
}
