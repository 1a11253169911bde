import type { Observable, SchedulerLike, Subscriber } from 'rxjs';
import { UNKNOWN_WRITE, type WriteReport } from '../../core/errors.js';
import type { Link } from '../../core/transport.js';
import { describeValue } from '../../internal/describe-value.js';
import { timerQueueOf, type TimerEntry, type TimerQueue } from '../../internal/timer-queue.js';
import {
  AmbiguousOutcomeError,
  PendingRequestsFullError,
  RemoteError,
  RequestTimeoutError,
} from './errors.js';
import type { BodyRun } from './send-buffer.js';
import { isRequestId, parseWireError, requestsError } from './wire.js';

/**
 * One checked response frame: its request's id, its part, the value (`next`, `value`) or the error
 * (`error`) it carries.
 * @internal
 */
export interface ResponsePart {
  readonly id: number;
  readonly part: 'next' | 'value' | 'complete' | 'error';
  readonly value: unknown;
  readonly error: RemoteError | undefined;
}

/**
 * One request of {@link PendingRequests}, from subscription to its last response part. It is its
 * own entry in the scheduler's {@link TimerQueue} for its deadline: a thousand requests in flight
 * hold no scheduler action each.
 * @internal
 */
export class Pending implements TimerEntry {
  /**
   * The request's id on the wire, given when its head is first handed to a link (see
   * {@link PendingRequests.idFor}); 0 before.
   */
  id = 0;
  /** `queued`: not on a link yet; `handed`: given to the current link; `done`: settled. */
  state: 'queued' | 'handed' | 'done' = 'queued';
  /**
   * The index of the request's frame (its head, for a streamed body) on the connection it was
   * handed to (the link's `framesSent` just before the send), which that connection's
   * `WriteReport.framesLeft` judges: every later frame of the request comes after it.
   */
  position = 0;
  /** The index of the request's last frame handed to that connection: its head, or a body part. */
  last = 0;
  values = 0;
  /** The body's current subscription, while its head is on a link. */
  run: BodyRun | undefined = undefined;
  // Its place in the timer queue (see TimerEntry).
  due = Infinity;
  slot = -1;
  order = 0;

  // Declared, and assigned by the constructor: a declared field emits no JavaScript.
  declare readonly payload: unknown;
  declare readonly idempotent: boolean;
  /** Milliseconds from subscription to {@link RequestTimeoutError}; `Infinity` for none. */
  declare readonly timeout: number;
  declare readonly subscriber: Subscriber<unknown>;
  /** The streamed body (v2): subscribed anew each time the request's head is handed to a link. */
  declare readonly body: Observable<unknown> | undefined;
  readonly #owner: PendingRequests;

  constructor(
    owner: PendingRequests,
    payload: unknown,
    idempotent: boolean,
    timeout: number,
    subscriber: Subscriber<unknown>,
    body: Observable<unknown> | undefined,
  ) {
    this.#owner = owner;
    this.payload = payload;
    this.idempotent = idempotent;
    this.timeout = timeout;
    this.subscriber = subscriber;
    this.body = body;
  }

  /** Its deadline passed. */
  fire(): void {
    this.#owner.timedOut(this);
  }
}

/**
 * The requests of one {@link cancelPending} stream that wait for (the end of) their response: their
 * ids, timeouts, how responses settle them, and what a broken connection does to each.
 * @internal
 */
export class PendingRequests {
  /** Every pending request, oldest first. */
  readonly #requests = new Set<Pending>();
  /** The pending requests that have an id (their head was handed to a link), by id. */
  readonly #numbered = new Map<number, Pending>();
  /** The highest id given to a request of this session. */
  #lastId = 0;
  /** Ids up to this one were given by an earlier process on the same journaled session. */
  #restoredIds = 0;
  /** The deadlines of the scheduler's requests (and heartbeats), one action for all. */
  readonly #deadlines: TimerQueue;

  readonly #maxPending: number;
  readonly #scheduler: SchedulerLike;
  readonly #cancel: (request: Pending) => void;
  readonly #release: (request: Pending) => void;

  /**
   * @param cancel Tells the server a request is over (best effort), before it is settled here.
   * @param release Stops sending a settled request's body (unsubscribes it, drops its queued parts).
   */
  constructor(
    maxPending: number,
    scheduler: SchedulerLike,
    cancel: (request: Pending) => void,
    release: (request: Pending) => void,
  ) {
    this.#maxPending = maxPending;
    this.#scheduler = scheduler;
    this.#cancel = cancel;
    this.#release = release;
    this.#deadlines = timerQueueOf(scheduler);
  }

  get size(): number {
    return this.#requests.size;
  }

  /** The pending requests, oldest first. */
  all(): Pending[] {
    return [...this.#requests];
  }

  /**
   * Opens a request with the next id and starts its timeout; when `maxPending` are pending
   * already, fails `subscriber` with {@link PendingRequestsFullError} and returns `undefined`.
   */
  open(
    payload: unknown,
    idempotent: boolean,
    timeout: number,
    subscriber: Subscriber<unknown>,
    body: Observable<unknown> | undefined,
  ) {
    if (this.#requests.size >= this.#maxPending) {
      subscriber.error(
        new PendingRequestsFullError(`${this.#maxPending} requests are pending already`, {
          limit: this.#maxPending,
        }),
      );
      return undefined;
    }
    const entry = new Pending(this, payload, idempotent, timeout, subscriber, body);
    this.#requests.add(entry);
    if (timeout !== Infinity) this.#deadlines.set(entry, this.#scheduler.now() + timeout);
    return entry;
  }

  /**
   * The id `request`'s head goes out with: its own once it has one, else the next of the session.
   * It is the request's only once {@link handed} (a head the link refused leaves it unused), so
   * the ids of a session are given in the order heads reach the link, one per head: an id is never
   * above its head's sequence number in a resumable session, which is what keeps the ids of a
   * restarted process (above the journal's `lastSeq`, see {@link restored}) clear of every id an
   * earlier one sent.
   */
  idFor(request: Pending): number {
    return request.id || this.#lastId + 1;
  }

  /**
   * The link took `request`'s head, numbered `id` (from {@link idFor}), as the connection's frame
   * `position`.
   */
  handed(request: Pending, id: number, position: number): void {
    request.state = 'handed';
    request.position = request.last = position;
    if (request.id === id) return;
    request.id = id;
    this.#lastId = id;
    this.#numbered.set(id, request);
  }

  /**
   * A journal restored a session whose frames were numbered up to `lastSeq`: every request an
   * earlier process sent on it has an id at most that, so this one numbers its own above it, and a
   * response to one of those is {@link recovered}, not an error. Returns the highest id an earlier
   * process gave.
   */
  restored(lastSeq: number): number {
    this.#restoredIds = Math.max(this.#restoredIds, lastSeq);
    this.#lastId = Math.max(this.#lastId, lastSeq);
    return this.#restoredIds;
  }

  /**
   * A fresh session replaced a lost one (its sequence numbers start again at 1), and every request
   * of the old one was queued again or failed (see {@link connectionLost}): ids start again too,
   * and the queued requests are numbered anew when handed. Nothing of the old session answers.
   */
  renumber(): void {
    for (const request of this.#requests) request.id = 0;
    this.#numbered.clear();
    this.#lastId = 0;
    this.#restoredIds = 0;
  }

  /** Done with `request`: it is no longer pending, its timeout stops, and so does its body. */
  settle(request: Pending): void {
    request.state = 'done';
    this.#requests.delete(request);
    if (this.#numbered.get(request.id) === request) this.#numbered.delete(request.id);
    this.#deadlines.remove(request);
    this.#release(request);
  }

  /** `request` fails with `error`: a cancel goes to the server if it has the request. */
  fail(request: Pending, error: unknown): void {
    if (request.state === 'done') return;
    this.abandon(request);
    request.subscriber.error(error);
  }

  /** Settles every pending request and returns them, for the caller to fail. */
  settleAll(): Pending[] {
    const all = this.all();
    for (const request of all) this.settle(request);
    return all;
  }

  /** Unsubscribing a request before its end: a cancel goes to the server. */
  abandon(request: Pending): void {
    if (request.state === 'done') return;
    this.#cancel(request);
    this.settle(request);
  }

  /** `entry`'s deadline passed: it fails with {@link RequestTimeoutError}. */
  timedOut(entry: Pending): void {
    const { id, timeout } = entry;
    const which = id ? `Request ${id}` : 'A request never sent';
    this.fail(
      entry,
      new RequestTimeoutError(`${which} got no complete response within ${timeout} ms`, { id, timeout }),
    );
  }

  /**
   * A response frame `[RESPONSE, id, part, value?]` from `link`; a malformed one, or one for an id
   * never sent, throws a `ProtocolError`. One for a request an earlier process on the same
   * journaled session sent is returned, checked, for the caller to hand to the application.
   */
  respond(frame: unknown[], link: Link<unknown> | undefined): ResponsePart | undefined {
    const id = frame[1];
    const part = frame[2];
    if (!isRequestId(id)) throw requestsError('malformed response', link);
    const valid =
      ((part === 'next' || part === 'value' || part === 'error') && frame.length === 4) ||
      (part === 'complete' && frame.length === 3);
    if (!valid) throw requestsError(`malformed response part ${describeValue(part)}`, link);
    const wire = part === 'error' ? parseWireError(frame[3]) : undefined;
    if (part === 'error' && !wire) throw requestsError('malformed error response', link);
    const error = wire && new RemoteError(wire.message, { id, remoteName: wire.name });
    const request = this.#numbered.get(id);
    if (!request) {
      if (id <= this.#restoredIds) return { id, part, value: frame[3], error };
      if (id > this.#lastId) throw requestsError(`response for request ${id}, which was never sent`, link);
      return undefined; // settled here already: the response crossed a cancel or a timeout
    }
    if (part === 'next') {
      request.values++;
      request.subscriber.next(frame[3]);
      return undefined;
    }
    this.settle(request);
    if (part === 'value') {
      request.subscriber.next(frame[3]);
      request.subscriber.complete();
    } else if (part === 'complete') request.subscriber.complete();
    else request.subscriber.error(error);
    return undefined;
  }

  /**
   * The connection under the requests broke. `report` is what its link knew when it broke,
   * `linkFrames` how many frames the link had accepted by then (every layer's). A handed request
   * whose frame certainly never reached the peer (its head is at or above `framesLeft`; a body's
   * parts follow its head), or an idempotent one without response values, is queued again and
   * returned (oldest first) to be sent first; any other fails with {@link AmbiguousOutcomeError}.
   */
  connectionLost(report: WriteReport, linkFrames: number, cause: unknown): Pending[] {
    const known = report.lastFrame !== 'none' && report.lastFrame !== 'unknown';
    // The unconfirmed frames are a tail of the connection's outbound stream: a frame before
    // that tail was confirmed whole (for a streamed body, every part handed so far).
    const confirmedBelow = known ? linkFrames - report.unconfirmedFrames : 0;
    const sent = (request: Pending) =>
      `the connection broke after it was sent${request.body ? ' (and maybe part of its body)' : ''}`;
    return this.#afterBreak(report.framesLeft, true, (request) =>
      ambiguous(request, sent(request), { confirmed: request.last < confirmedBelow, write: report, cause }),
    );
  }

  /**
   * The session moved to another server process, which has this side's frames up to
   * `peerReceived`: a handed request whose head it has reached the process before, which may have
   * run it and died before its response was stored. It is queued again when idempotent (the new
   * process never saw its id) and fails with {@link AmbiguousOutcomeError} otherwise, as does one
   * whose response had begun. A request whose head came later is replayed to the new process by
   * the session: it goes on waiting.
   */
  moved(peerReceived: number, cause: unknown): Pending[] {
    const gone = 'the server process that took it is gone (the session moved to another one)';
    return this.#afterBreak(peerReceived, false, (request) =>
      ambiguous(request, gone, { confirmed: false, write: UNKNOWN_WRITE, cause }),
    );
  }

  /**
   * What a break does to the handed requests: one whose head is below `reached` may have reached
   * the server, so it is queued again only when idempotent and without response values, and fails
   * with `ambiguousError(request)` otherwise; one at or above it certainly did not, so it is
   * queued again when `requeueTheRest` (its connection is gone) and left as it is otherwise.
   * Returns the requests queued again, oldest first.
   */
  #afterBreak(
    reached: number,
    requeueTheRest: boolean,
    ambiguousError: (request: Pending) => AmbiguousOutcomeError,
  ): Pending[] {
    const resend: Pending[] = [];
    for (const request of this.all()) {
      if (request.state !== 'handed') continue;
      const mayHaveReached = request.position < reached;
      if (!mayHaveReached && !requeueTheRest) continue;
      if (request.values === 0 && (!mayHaveReached || request.idempotent)) {
        request.state = 'queued';
        resend.push(request);
      } else {
        this.settle(request);
        request.subscriber.error(ambiguousError(request));
      }
    }
    return resend;
  }
}

/**
 * The error of a request that may or may not have been executed: `what` happened to it, and what
 * became of its response when part of it had come.
 */
function ambiguous(
  request: Pending,
  what: string,
  options: { confirmed: boolean; write: WriteReport; cause: unknown },
): AmbiguousOutcomeError {
  const { id, values } = request;
  const outcome =
    values > 0
      ? `${values} response values had come, the rest is lost`
      : 'it may or may not have been executed';
  return new AmbiguousOutcomeError(`Request ${id}: ${what}; ${outcome}`, {
    id,
    valuesReceived: values,
    ...options,
  });
}
