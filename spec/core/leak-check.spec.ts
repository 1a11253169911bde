import { expect } from 'chai';
import { mochaHooks } from '../support/hooks.js';

describe('the leak-checking root hook', () => {
  it('fails a test that leaves a timer behind, and passes once it is cleared', async () => {
    await Promise.resolve(); // Mocha arms this test's own timer once it has the promise
    mochaHooks.beforeEach();
    const timer = setTimeout(() => undefined, 60_000);
    const fakeContext = {
      runnable: () => ({ clearTimeout: () => undefined }),
      currentTest: { fullTitle: () => 'a leaky test' },
    } as unknown as Mocha.Context;
    let message = '';
    const check = mochaHooks.afterEach.call(fakeContext);
    expect(check).to.be.an.instanceOf(Promise);
    await (check as Promise<void>).catch((error: Error) => (message = error.message));
    expect(message).to.equal('a leaky test left resources behind: 1 Timeout');
    clearTimeout(timer);
    expect(mochaHooks.afterEach.call(fakeContext)).to.equal(undefined);
  });
});
