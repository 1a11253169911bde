import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { SessionStoreError } from '../protocol/resumable/errors.js';
import type {
  SessionChanges,
  SessionClaim,
  SessionClaimResult,
  SessionStore,
} from '../protocol/resumable/store.js';
import { checkKnownOptions, type KnownOptions } from '../internal/validate.js';
import { describeError, describeValue } from '../internal/describe-value.js';
import { CLAIM, CREATE, REMOVE, TOUCH, WRITE } from './scripts.js';

/**
 * An argument of a Redis command, as the client takes it.
 *
 * @example
 * ```ts
 * import type { RedisArgument } from 'rx-lifeline/redis';
 * const args: RedisArgument[] = ['EVALSHA', 1, Buffer.from('x')];
 * ```
 * @category Sessions
 */
export type RedisArgument = string | Buffer | number;
type Arg = RedisArgument;

/**
 * The part of a Redis client the store uses: ioredis's `Redis` and `Cluster` have it (`pipeline()`
 * whose `callBuffer` queues a command and `exec` sends the batch in one round trip).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import type { RedisPipelineClient } from 'rx-lifeline/redis';
 * const client: RedisPipelineClient = new Redis({ lazyConnect: true });
 * ```
 * @category Sessions
 */
export interface RedisPipelineClient {
  pipeline(): {
    callBuffer(command: string, ...args: RedisArgument[]): unknown;
    exec(): Promise<[error: Error | null, result: unknown][] | null>;
  };
}

/**
 * Options of {@link redisSessionStore}.
 *
 * @example
 * ```ts
 * import type { RedisSessionStoreOptions } from 'rx-lifeline/redis';
 * const options: RedisSessionStoreOptions = { prefix: 'chat:' };
 * ```
 * @category Sessions
 */
export interface RedisSessionStoreOptions {
  /**
   * Put before every key, to share a Redis with other data. Each session has three keys,
   * `<prefix>{<id>}:s` (its record, a hash), `:log` (its replay log, a list) and `:lock` (a wrong
   * token's lockout); the `{<id>}` hash tag keeps them on one Redis Cluster slot.
   * @default 'lifeline:'
   */
  prefix?: string;
}

const OPTIONS: KnownOptions<RedisSessionStoreOptions> = { prefix: true };

/**
 * A {@link SessionStore} in Redis: every server process on the same Redis resumes every session,
 * so a deploy, a crash or a scale-out loses none. It keeps the session record (token hashes, never
 * the tokens; the epoch; the sequence numbers both ways; the identity, MessagePack-encoded) and the
 * replay log of frames the client has not acknowledged, and lets Redis expire them. Every change is
 * one Lua script, atomic on the server; the calls of one turn of the event loop go in one pipeline
 * (one round trip for all sessions' batches). Pass an ioredis client (`Redis` or `Cluster`): the
 * keys carry hash tags for Cluster. It never connects or closes the client: that is the caller's.
 *
 * Durability is Redis's: with its defaults a Redis restart loses every session, and each server
 * session then ends with a `SessionStoreError` (`'gone'`) and its client with `SessionLostError`
 * — said, never silent. For sessions that outlive Redis too, run it with `appendonly yes`
 * (and `appendfsync always` to lose nothing acknowledged). A client that cannot reach Redis
 * queues commands (ioredis's offline queue) and fails them after `maxRetriesPerRequest`: frames
 * wait meanwhile (they leave only once stored), then the sessions end with `'unavailable'`. A
 * Redis that is reachable but does not answer (stopped, swapping) holds them as long as its
 * client waits: give ioredis a `commandTimeout` to bound that (its timeouts end the sessions with
 * `'unavailable'` too).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { acceptSessions } from 'rx-lifeline';
 * import { tcpServer } from 'rx-lifeline/node';
 * import { redisSessionStore } from 'rx-lifeline/redis';
 * const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
 * const sessions = acceptSessions(tcpServer({ port: 0 }), { store: redisSessionStore(redis) });
 * ```
 * @category Sessions
 */
export function redisSessionStore(
  client: RedisPipelineClient,
  options: RedisSessionStoreOptions = {},
): SessionStore {
  checkKnownOptions('redisSessionStore', options, OPTIONS);
  if (typeof (client as { pipeline?: unknown } | null)?.pipeline !== 'function') {
    throw new TypeError(
      `redisSessionStore: client must be an ioredis Redis or Cluster (with pipeline()), got ${describeValue(client)}`,
    );
  }
  const { prefix = 'lifeline:' } = options;
  if (typeof prefix !== 'string') {
    throw new TypeError(`redisSessionStore: prefix must be a string, got ${describeValue(prefix)}`);
  }
  return new RedisSessionStore(new ScriptBatch(client), prefix);
}

/** One script call waiting for the turn's pipeline. */
interface Call {
  readonly script: Script;
  readonly keys: readonly string[];
  readonly args: readonly Arg[];
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
}

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const SCRIPTS = {
  create: new Script(CREATE),
  claim: new Script(CLAIM),
  write: new Script(WRITE),
  touch: new Script(TOUCH),
  remove: new Script(REMOVE),
};

/**
 * Script calls gathered over one turn of the event loop and sent in one pipeline, by SHA (a
 * script Redis does not know yet, after a restart or on a new node, is sent whole once).
 */
class ScriptBatch {
  #calls: Call[] = [];
  readonly #loaded = new Set<string>();
  readonly #client: RedisPipelineClient;

  constructor(client: RedisPipelineClient) {
    this.#client = client;
  }

  run(script: Script, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#calls.length === 0) setImmediate(this.#flush);
      this.#calls.push({ script, keys, args, resolve, reject });
    });
  }

  readonly #flush = (): void => {
    const calls = this.#calls;
    this.#calls = [];
    this.#send(calls).then(undefined, (error: unknown) => {
      for (const call of calls) call.reject(unavailable(error));
    });
  };

  async #send(calls: readonly Call[]): Promise<void> {
    const pipeline = this.#client.pipeline();
    for (const call of calls) this.#queue(pipeline, call);
    const replies = (await pipeline.exec()) ?? [];
    const again: Call[] = [];
    calls.forEach((call, i) => {
      const [error, result] = replies[i] ?? [new Error('no reply'), undefined];
      if (error && /NOSCRIPT/.test(error.message)) {
        this.#loaded.delete(call.script.sha);
        again.push(call);
      } else if (error) call.reject(unavailable(error));
      else call.resolve(result);
    });
    if (again.length > 0) await this.#send(again);
  }

  #queue(pipeline: ReturnType<RedisPipelineClient['pipeline']>, call: Call): void {
    const { script, keys, args } = call;
    if (this.#loaded.has(script.sha)) {
      pipeline.callBuffer('EVALSHA', script.sha, keys.length, ...keys, ...args);
    } else {
      this.#loaded.add(script.sha);
      pipeline.callBuffer('EVAL', script.source, keys.length, ...keys, ...args);
    }
  }
}

function unavailable(error: unknown): SessionStoreError {
  if (SessionStoreError.is(error)) return error;
  return new SessionStoreError(`The Redis session store failed: ${describeError(error)}`, {
    code: 'unavailable',
    cause: error,
  });
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

class RedisSessionStore implements SessionStore {
  // Frames and identities as MessagePack, records (Map, Set, Date …) kept as they were sent.
  readonly #packr = new Packr({ structuredClone: true, moreTypes: true });
  readonly #batch: ScriptBatch;
  readonly #prefix: string;

  constructor(batch: ScriptBatch, prefix: string) {
    this.#batch = batch;
    this.#prefix = prefix;
  }

  #keys(id: string): string[] {
    const base = `${this.#prefix}{${id}}`;
    return [`${base}:s`, `${base}:log`, `${base}:lock`];
  }

  async create(session: { id: string; token: string; identity: unknown; ttl: number }): Promise<void> {
    const { id, token, identity, ttl } = session;
    await this.#batch.run(SCRIPTS.create, this.#keys(id), [
      hashToken(token),
      this.#packr.pack(identity),
      Math.ceil(ttl),
    ]);
  }

  async claim(claim: SessionClaim): Promise<SessionClaimResult> {
    const reply = (await this.#batch.run(SCRIPTS.claim, this.#keys(claim.id), [
      hashToken(claim.token),
      hashToken(claim.nextToken),
      claim.received,
      Math.ceil(claim.lockout),
      Math.ceil(claim.ttl),
      claim.heldEpoch ?? -1,
    ])) as unknown[];
    return this.#claimResult(claim, reply);
  }

  #claimResult(claim: SessionClaim, reply: unknown[]): SessionClaimResult {
    const status = String(reply[0]);
    if (status === 'unknown' || status === 'bad-token' || status === 'locked') return { status };
    if (status === 'ahead') return { status, lastSeq: Number(reply[1]) };
    if (status === 'gap') return { status, firstSeq: Number(reply[1]) };
    if (status !== 'claimed') throw this.#corrupt(claim.id, `an unknown claim status '${status}'`);
    const [, epoch, lastSeq, received, identity, log] = reply as [
      unknown,
      number,
      number,
      number,
      Buffer,
      Buffer[],
    ];
    const first = lastSeq - log.length + 1;
    let frames;
    try {
      frames = log.map((bytes, i) => ({ seq: first + i, frame: this.#packr.unpack(bytes) as unknown }));
    } catch (error) {
      throw this.#corrupt(claim.id, `a frame that is not MessagePack (${describeError(error)})`);
    }
    const session = {
      id: claim.id,
      epoch,
      lastSeq,
      received,
      frames,
      identity: this.#packr.unpack(identity),
    };
    return { status: 'claimed', session, held: log.length === 0 && claim.heldEpoch === epoch - 1 };
  }

  async write(id: string, epoch: number, changes: SessionChanges, ttl: number): Promise<void> {
    const { frames, acked = -1, received = -1, settled = false } = changes;
    const args: Arg[] = [epoch, Math.ceil(ttl), frames[0]?.seq ?? 0, acked, received, settled ? 1 : 0];
    for (const entry of frames) args.push(this.#packr.pack(entry.frame));
    const reply = String(await this.#batch.run(SCRIPTS.write, this.#keys(id), args));
    if (reply !== 'ok') throw refusal(id, reply, epoch);
  }

  async touch(sessions: readonly { id: string; epoch: number }[], ttl: number): Promise<void> {
    await Promise.all(
      sessions.map(({ id, epoch }) =>
        this.#batch.run(SCRIPTS.touch, this.#keys(id), [epoch, Math.ceil(ttl)]),
      ),
    );
  }

  async remove(id: string, epoch: number): Promise<void> {
    const reply = String(await this.#batch.run(SCRIPTS.remove, this.#keys(id), [epoch]));
    if (reply !== 'ok') throw refusal(id, reply, epoch);
  }

  #corrupt(id: string, what: string): SessionStoreError {
    return new SessionStoreError(`Session ${id}: the Redis store returned ${what}`, {
      code: 'corrupt',
      session: id,
    });
  }
}

function refusal(id: string, reply: string, epoch: number): SessionStoreError {
  if (reply === 'fenced') {
    return new SessionStoreError(
      `Session ${id} was resumed by another server process (this one holds epoch ${epoch}): this copy may change nothing`,
      { code: 'fenced', session: id },
    );
  }
  if (reply === 'gone') {
    return new SessionStoreError(`Session ${id} is no longer in Redis (expired, ended, or Redis lost it)`, {
      code: 'gone',
      session: id,
    });
  }
  return new SessionStoreError(
    `Session ${id}: Redis refused a batch that does not follow the stored frames`,
    {
      code: 'corrupt',
      session: id,
    },
  );
}
