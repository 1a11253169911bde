import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { failedNow, settledNow } from '../../internal/settled-now.js';
import { checkKnownOptions, type KnownOptions } from '../../internal/validate.js';
import { SessionStoreError } from './errors.js';
import type { JournalFrame } from './journal.js';
import type { SessionChanges, SessionClaim, SessionClaimResult, SessionStore } from './store.js';
import { constantTimeEqual } from './wire.js';

/**
 * Options of {@link memorySessionStore}.
 *
 * @example
 * ```ts
 * import { asyncScheduler } from 'rxjs';
 * import type { MemorySessionStoreOptions } from 'rx-lifeline';
 * const options: MemorySessionStoreOptions = { scheduler: asyncScheduler };
 * ```
 * @category Sessions
 */
export interface MemorySessionStoreOptions {
  /**
   * The clock of expiry and lockouts (`now()` only: the store holds no timer).
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

const OPTIONS: KnownOptions<MemorySessionStoreOptions> = { scheduler: true };

interface MemoryRecord {
  token: string;
  previousToken: string;
  epoch: number;
  lastSeq: number;
  received: number;
  frames: JournalFrame[];
  identity: unknown;
  expiresAt: number;
  lockedUntil: number;
}

/**
 * A {@link SessionStore} in this process's memory, with every rule of a shared store (token
 * rotation, epochs and fencing, expiry): several session servers in one process share sessions
 * through it, and tests run a server "restart" in virtual time with it. It does not outlive the
 * process; for that use `redisSessionStore` from `rx-lifeline/redis`. It answers at once (its
 * promises call back in the same turn), so a server on it runs in a test's virtual time. It keeps
 * frames by reference: do not change a frame after sending it. Expired sessions are dropped
 * as the store is used (each write moves its session to the back, so the oldest are checked first),
 * without a timer.
 *
 * @example
 * ```ts
 * import { acceptSessions, memory, memorySessionStore } from 'rx-lifeline';
 * const store = memorySessionStore();
 * const network = memory();
 * // Two servers, one store: a client resumes its session on either.
 * const a = acceptSessions(network.server, { store });
 * const b = acceptSessions(network.server, { store });
 * ```
 * @category Sessions
 */
export function memorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  checkKnownOptions('memorySessionStore', options, OPTIONS);
  return new MemorySessionStore(options.scheduler ?? asyncScheduler);
}

class MemorySessionStore implements SessionStore {
  // In order of last change: the front is the first to expire.
  private readonly records = new Map<string, MemoryRecord>();

  constructor(private readonly scheduler: SchedulerLike) {}

  create(session: { id: string; token: string; identity: unknown; ttl: number }): PromiseLike<void> {
    this.sweep();
    const now = this.scheduler.now();
    this.records.set(session.id, {
      token: session.token,
      previousToken: '',
      epoch: 1,
      lastSeq: 0,
      received: 0,
      frames: [],
      identity: session.identity,
      expiresAt: now + session.ttl,
      lockedUntil: -Infinity,
    });
    return settledNow(undefined);
  }

  claim(claim: SessionClaim): PromiseLike<SessionClaimResult> {
    const record = this.live(claim.id);
    if (!record) return settledNow({ status: 'unknown' });
    const now = this.scheduler.now();
    if (now < record.lockedUntil) return settledNow({ status: 'locked' });
    const current = constantTimeEqual(record.token, claim.token);
    const previous = constantTimeEqual(record.previousToken, claim.token);
    if (!current && !previous) {
      record.lockedUntil = now + claim.lockout;
      return settledNow({ status: 'bad-token' });
    }
    if (claim.received > record.lastSeq) return settledNow({ status: 'ahead', lastSeq: record.lastSeq });
    const firstSeq = record.lastSeq - record.frames.length + 1;
    if (claim.received < firstSeq - 1) {
      this.records.delete(claim.id);
      return settledNow({ status: 'gap', firstSeq });
    }
    dropThrough(record, claim.received);
    record.previousToken = claim.token;
    record.token = claim.nextToken;
    record.epoch++;
    this.keep(claim.id, record, claim.ttl);
    const { epoch, lastSeq, received, identity } = record;
    return settledNow({
      status: 'claimed',
      session: { id: claim.id, epoch, lastSeq, received, identity, frames: [...record.frames] },
    });
  }

  write(id: string, epoch: number, changes: SessionChanges, ttl: number): PromiseLike<void> {
    const record = this.live(id);
    const refused = checkEpoch(id, record, epoch);
    if (refused) return failedNow(refused);
    const target = record!;
    for (const entry of changes.frames) {
      // Kept already (the same batch written twice): as the Redis store, skipped.
      if (entry.seq <= target.lastSeq) continue;
      if (entry.seq !== target.lastSeq + 1) {
        return failedNow(
          new SessionStoreError(
            `Session ${id}: frame ${entry.seq} does not follow the stored ${target.lastSeq}`,
            { code: 'corrupt', session: id },
          ),
        );
      }
      target.frames.push(entry);
      target.lastSeq = entry.seq;
    }
    if (changes.acked !== undefined) dropThrough(target, changes.acked);
    if (changes.received !== undefined && changes.received > target.received)
      target.received = changes.received;
    if (changes.settled) target.previousToken = '';
    this.keep(id, target, ttl);
    return settledNow(undefined);
  }

  touch(sessions: readonly { id: string; epoch: number }[], ttl: number): PromiseLike<void> {
    for (const { id, epoch } of sessions) {
      const record = this.live(id);
      if (record && record.epoch === epoch) this.keep(id, record, ttl);
    }
    return settledNow(undefined);
  }

  remove(id: string, epoch: number): PromiseLike<void> {
    const record = this.live(id);
    if (record && record.epoch > epoch) return failedNow(checkEpoch(id, record, epoch));
    this.records.delete(id);
    return settledNow(undefined);
  }

  /** The record of `id`, unless it expired (then it is dropped). */
  private live(id: string): MemoryRecord | undefined {
    const record = this.records.get(id);
    if (record && record.expiresAt <= this.scheduler.now()) {
      this.records.delete(id);
      return undefined;
    }
    return record;
  }

  /** Moves the record to the back, expiring `ttl` from now. */
  private keep(id: string, record: MemoryRecord, ttl: number): void {
    record.expiresAt = this.scheduler.now() + ttl;
    this.records.delete(id);
    this.records.set(id, record);
  }

  /** Drops the expired records at the front. */
  private sweep(): void {
    const now = this.scheduler.now();
    for (const [id, record] of this.records) {
      if (record.expiresAt > now) return;
      this.records.delete(id);
    }
  }
}

function dropThrough(record: MemoryRecord, seq: number): void {
  let drop = 0;
  while (drop < record.frames.length && record.frames[drop]!.seq <= seq) drop++;
  if (drop > 0) record.frames.splice(0, drop);
}

/** The refusal of a change under `epoch`, or `undefined` when it may go ahead. */
function checkEpoch(
  id: string,
  record: MemoryRecord | undefined,
  epoch: number,
): SessionStoreError | undefined {
  if (!record) {
    return new SessionStoreError(`Session ${id} is no longer in the store (expired or ended)`, {
      code: 'gone',
      session: id,
    });
  }
  if (record.epoch === epoch) return undefined;
  return new SessionStoreError(
    `Session ${id} was resumed by another server process (epoch ${record.epoch}, this one holds ${epoch}): this copy may change nothing`,
    { code: 'fenced', session: id },
  );
}
