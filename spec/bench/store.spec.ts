// The store benchmark's code on tiny inputs (bench/store*.ts): every figure is produced, counted
// and shaped as the tables need. No timing is asserted: only that each run finished and counted.
import { expect } from 'chai';
import { startRedis, type BenchRedis } from '../../bench/redis-server.js';
import { quantile, STORE_KINDS, throughputByStore } from '../../bench/store.js';
import { redisMemoryPerSession } from '../../bench/store-memory.js';
import { resumeOnAnotherProcess } from '../../bench/store-resume.js';

describe('bench: session stores', () => {
  let redis: BenchRedis;
  before(async () => (redis = await startRedis()));
  after(async () => redis.stop());

  it('measures frames/s for no store, the memory store and the Redis store, for each case', async () => {
    const cases = [
      { payloadBytes: 64, frames: 300 },
      { payloadBytes: 1024, frames: 100 },
    ];
    const rates = await throughputByStore(redis, 1, cases);
    expect([...rates.keys()]).to.deep.equal(cases);
    for (const byKind of rates.values()) {
      expect(Object.keys(byKind)).to.have.members([...STORE_KINDS]);
      for (const rate of Object.values(byKind)) expect(rate).to.be.greaterThan(0).and.to.be.finite;
    }
  });

  it('resumes on server B every session opened on server A after A is killed, and opens new ones on B', async () => {
    const sample = await resumeOnAnotherProcess(redis.socket, 3, 1);
    expect(sample.warmUp).to.equal(1);
    expect(sample.resumes).to.have.length(3);
    expect(sample.fresh).to.have.length(3);
    for (const ms of [...sample.resumes, ...sample.fresh]) expect(ms).to.be.greaterThan(0).and.to.be.finite;
  });

  it('leaves one record per idle, acknowledged session in Redis, and measures it', async () => {
    const sample = await redisMemoryPerSession(redis, 20);
    expect(sample).to.include({ sessions: 20, keys: 20 });
    expect(sample.bytesPerSession).to.be.greaterThan(0);
    expect(sample.recordBytes).to.be.greaterThan(0);
    expect(await redis.redis.dbsize()).to.equal(0); // emptied after
  });

  it('takes quantiles by nearest rank', () => {
    const values = [5, 1, 4, 2, 3];
    expect(quantile(values, 0.5)).to.equal(3);
    expect(quantile(values, 0.99)).to.equal(5);
    expect(quantile(values, 0)).to.equal(1);
  });
});
