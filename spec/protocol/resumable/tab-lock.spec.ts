import { expect } from 'chai';
import { setImmediate as turn } from 'node:timers/promises';
import { lockTab } from '../../../lib/protocol/resumable/tab-lock.js';

/** A LockManager whose one request runs `script` with the request's callback. */
function fakeLocks(
  script: (callback: (lock: Lock | null) => Promise<void> | void) => Promise<void>,
): LockManager {
  return {
    request: (_name: string, _options: LockOptions, callback: never) => script(callback),
  } as unknown as LockManager;
}

describe('lockTab', () => {
  it('rejects with the error of a request that failed before the lock was granted', async () => {
    const failure = new DOMException('Access to the Locks API is denied', 'SecurityError');
    let outcome: unknown = 'pending';
    lockTab(
      fakeLocks(() => Promise.reject(failure)),
      'journal',
      false,
    ).then(
      () => (outcome = 'resolved'),
      (error: unknown) => (outcome = error),
    );
    await turn();
    expect(outcome).to.equal(failure);
  });

  it('a granted lock resolves; its stolen promise settles when another tab steals it', async () => {
    let steal!: () => void;
    const locks = fakeLocks(async (callback) => {
      const held = callback({ name: 'journal', mode: 'exclusive' } as Lock);
      await new Promise<void>((done) => (steal = done));
      void held;
      throw new DOMException('The lock was stolen', 'AbortError');
    });
    const lock = await lockTab(locks, 'journal', true);
    let stolen = false;
    void lock!.stolen.then(() => (stolen = true));
    await turn();
    expect(stolen).to.equal(false);
    steal();
    await turn();
    expect(stolen).to.equal(true);
  });

  it('resolves undefined when another context holds the lock and it may not take it over', async () => {
    const locks = fakeLocks(async (callback) => {
      await callback(null);
    });
    expect(await lockTab(locks, 'journal', false)).to.equal(undefined);
  });
});
