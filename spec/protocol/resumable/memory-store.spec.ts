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

  it('refuses a misspelled option with a TypeError naming it', () => {
    expect(() => memorySessionStore({ schedular: undefined } as never)).to.throw(TypeError, /schedular/);
  });
});
