import { expect } from 'chai';
import { redisSessionStore } from 'rx-lifeline/redis';
import { SessionStoreError, type SessionStore } from 'rx-lifeline';
import { storeContract } from '../protocol/resumable/store-contract.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

describe('redisSessionStore on a real redis-server', function () {
  this.timeout(30_000);
  let server: RedisServer;
  before(async () => (server = await startRedis()));
  after(() => server.stop());

  describe('keeps the rules of a SessionStore', () => {
    storeContract(() => ({ store: redisSessionStore(server.redis, { prefix: 'contract:' }) }));
  });

  it('keeps a session in three keys on one hash tag, expiring after the ttl', async () => {
    const store = redisSessionStore(server.redis, { prefix: 'keys:' });
    const id = '2'.repeat(32);
    await store.create({ id, token: 'a'.repeat(32), identity: 'x', ttl: 5_000 });
    await store.write(id, 1, { frames: [{ seq: 1, frame: 'hello' }] }, 5_000);
    const keys = (await server.redis.keys('keys:*')).sort();
    expect(keys).to.deep.equal([`keys:{${id}}:log`, `keys:{${id}}:s`]);
    for (const key of keys) {
      const ttl = await server.redis.pttl(key);
      expect(ttl).to.be.within(1, 5_000);
    }
    // Tokens are kept hashed, never as given.
    expect(await server.redis.hget(`keys:{${id}}:s`, 'tok')).to.not.equal('a'.repeat(32));
  });

  it('rounds a TTL of a fraction of a millisecond up, as Redis wants whole ones', async () => {
    const store = redisSessionStore(server.redis, { prefix: 'fraction:' });
    const id = '3'.repeat(32);
    await store.create({ id, token: 'a'.repeat(32), identity: undefined, ttl: 5_000 });
    await store.write(id, 1, { frames: [{ seq: 1, frame: 'x' }] }, 2_500.5);
    for (const key of [`fraction:{${id}}:s`, `fraction:{${id}}:log`]) {
      expect(await server.redis.pttl(key), key).to.be.within(1, 2_501);
    }
  });

  it("touch extends the TTL of a session at the epoch given, and of no other epoch's", async () => {
    const store = redisSessionStore(server.redis, { prefix: 'touch:' });
    const [current, stale] = ['7', '8'].map((digit) => digit.repeat(32)) as [string, string];
    for (const id of [current, stale]) {
      await store.create({ id, token: 'a'.repeat(32), identity: undefined, ttl: 5_000 });
      await store.write(id, 1, { frames: [{ seq: 1, frame: 'x' }] }, 5_000);
    }
    await store.touch(
      [
        { id: current, epoch: 1 },
        { id: stale, epoch: 2 },
      ],
      60_000,
    );
    expect(await server.redis.pttl(`touch:{${current}}:s`)).to.be.above(5_000);
    expect(await server.redis.pttl(`touch:{${current}}:log`)).to.be.above(5_000);
    expect(await server.redis.pttl(`touch:{${stale}}:s`)).to.be.within(1, 5_000);
  });

  it('says a claim by the process that held the epoch before was held, and one by another process was not', async () => {
    const store = redisSessionStore(server.redis, { prefix: 'held:' });
    const id = '9'.repeat(32);
    await store.create({ id, token: 'a'.repeat(32), identity: undefined, ttl: 60_000 });
    const claim = (token: string, nextToken: string, heldEpoch?: number) =>
      store.claim({
        id,
        token,
        nextToken,
        received: 0,
        lockout: 0,
        ttl: 60_000,
        ...(heldEpoch === undefined ? {} : { heldEpoch }),
      });
    const byHolder = await claim('a'.repeat(32), 'b'.repeat(32), 1);
    expect(byHolder.status === 'claimed' && [byHolder.session.epoch, byHolder.held]).to.deep.equal([2, true]);
    const byAnother = await claim('b'.repeat(32), 'c'.repeat(32));
    expect(byAnother.status === 'claimed' && [byAnother.session.epoch, byAnother.held]).to.deep.equal([
      3,
      false,
    ]);
  });

  it('sends a script Redis forgot (SCRIPT FLUSH) whole again, and every call waiting on it goes through', async () => {
    const store = redisSessionStore(server.redis, { prefix: 'flush:' });
    const ids = ['5', '6'].map((digit) => digit.repeat(32));
    for (const id of ids) await store.create({ id, token: 'a'.repeat(32), identity: undefined, ttl: 60_000 });
    await store.write(ids[0]!, 1, { frames: [{ seq: 1, frame: 'before' }] }, 60_000); // WRITE loaded, then by SHA
    await server.redis.script('FLUSH');
    // One pipeline, both by SHA, both answered NOSCRIPT: both sent again.
    await Promise.all(
      ids.map((id) =>
        store.write(id, 1, { frames: [{ seq: id === ids[0] ? 2 : 1, frame: 'after' }] }, 60_000),
      ),
    );
    const claimed = await store.claim({
      id: ids[1]!,
      token: 'a'.repeat(32),
      nextToken: 'b'.repeat(32),
      received: 0,
      lockout: 0,
      ttl: 60_000,
    });
    expect(claimed.status === 'claimed' && claimed.session.frames).to.deep.equal([
      { seq: 1, frame: 'after' },
    ]);
  });

  it('a Redis that restarted without persistence lost the session: a write is refused, typed (gone)', async () => {
    const local = await startRedis();
    try {
      const store: SessionStore = redisSessionStore(local.redis);
      const id = '3'.repeat(32);
      await store.create({ id, token: 'a'.repeat(32), identity: undefined, ttl: 60_000 });
      await local.restart();
      let code = '';
      await store
        .write(id, 1, { frames: [{ seq: 1, frame: 'x' }] }, 60_000)
        .then(undefined, (error: unknown) => {
          code = SessionStoreError.is(error) ? error.code : String(error);
        });
      expect(code).to.equal('gone');
    } finally {
      await local.stop();
    }
  });

  it("a Redis that hangs fails a write at its client's commandTimeout, typed (unavailable)", async () => {
    const local = await startRedis();
    try {
      const store = redisSessionStore(local.client({ commandTimeout: 200 }));
      const id = '4'.repeat(32);
      await store.create({ id, token: 'a'.repeat(32), identity: undefined, ttl: 60_000 });
      local.freeze(true);
      let failed: unknown;
      await store
        .write(id, 1, { frames: [{ seq: 1, frame: 'x' }] }, 60_000)
        .then(undefined, (error: unknown) => {
          failed = error;
        });
      expect(SessionStoreError.is(failed) && failed.code).to.equal('unavailable');
      expect((failed as Error).message).to.match(/Command timed out/);
    } finally {
      local.freeze(false);
      await local.stop();
    }
  });

  it('with the append-only file a Redis restart keeps the session and its frames', async () => {
    const local = await startRedis({ persist: true });
    try {
      const store = redisSessionStore(local.redis);
      const id = '4'.repeat(32);
      await store.create({ id, token: 'a'.repeat(32), identity: undefined, ttl: 60_000 });
      await store.write(id, 1, { frames: [{ seq: 1, frame: 'kept' }] }, 60_000);
      await local.restart();
      const result = await store.claim({
        id,
        token: 'a'.repeat(32),
        nextToken: 'b'.repeat(32),
        received: 0,
        lockout: 0,
        ttl: 60_000,
      });
      expect(result.status === 'claimed' && result.session.frames).to.deep.equal([{ seq: 1, frame: 'kept' }]);
    } finally {
      await local.stop();
    }
  });

  it('refuses a client without pipeline() and a misspelled option, with a TypeError', () => {
    expect(() => redisSessionStore({} as never)).to.throw(TypeError, /ioredis/);
    expect(() => redisSessionStore(server.redis, { prefx: 'a' } as never)).to.throw(TypeError, /prefx/);
  });
});
