import { expect } from 'chai';
import { memorySessionStore } from 'rx-lifeline';
import { VirtualTimeScheduler } from 'rxjs';
import { storeContract } from './store-contract.js';

describe('memorySessionStore', () => {
  describe('keeps the rules of a SessionStore', () => {
    storeContract(() => ({ store: memorySessionStore() }));
  });

  it('forgets a session after its ttl without a write or touch, by its scheduler clock', async () => {
    const clock = new VirtualTimeScheduler();
    const store = memorySessionStore({ scheduler: clock });
    const id = '1'.repeat(32);
    await store.create({ id, token: 'a'.repeat(32), identity: undefined, ttl: 100 });
    clock.schedule(() => undefined, 60);
    clock.flush();
    await store.touch([{ id, epoch: 1 }], 100); // kept until 160
    clock.schedule(() => undefined, 90);
    clock.flush();
    const claim = { id, token: 'a'.repeat(32), nextToken: 'b'.repeat(32), received: 0, lockout: 0, ttl: 100 };
    expect((await store.claim(claim)).status).to.equal('claimed'); // at 150, kept until 250
    clock.schedule(() => undefined, 100);
    clock.flush();
    expect((await store.claim({ ...claim, token: 'b'.repeat(32) })).status).to.equal('unknown');
  });

  it('drops expired sessions, behind one kept alive too, and one asked about after it expired (no leak)', async () => {
    const clock = new VirtualTimeScheduler();
    const store = memorySessionStore({ scheduler: clock });
    /** The records it holds, expired ones included: a private field. */
    const held = () => (store as unknown as { records: Map<string, unknown> }).records.size;
    const until = (time: number) => {
      clock.schedule(() => undefined, time - clock.now());
      clock.flush();
    };
    const create = (n: number) =>
      store.create({ id: String(n).repeat(32), token: 'a'.repeat(32), identity: undefined, ttl: 100 });
    await create(1);
    await create(2);
    until(50);
    await store.touch([{ id: '1'.repeat(32), epoch: 1 }], 100); // 1 kept until 150; 2 expires at 100
    until(120);
    await create(3);
    expect(held(), 'the live 1 and 3').to.equal(2);
    // One asked about after it expired is dropped then, wherever it is.
    until(200);
    const claim = { id: '1'.repeat(32), token: 'a'.repeat(32), nextToken: 'b'.repeat(32), received: 0 };
    expect((await store.claim({ ...claim, lockout: 0, ttl: 100 })).status).to.equal('unknown');
    expect(held(), 'the live 3').to.equal(1);
  });

  it('refuses a misspelled option with a TypeError naming it', () => {
    expect(() => memorySessionStore({ schedular: undefined } as never)).to.throw(TypeError, /schedular/);
  });
});
