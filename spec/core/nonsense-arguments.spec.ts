// Every function and class the package exports, called with nonsense as its first argument, either
// takes it or refuses it with a TypeError that starts with its own name: never the platform's
// "x.subscribe is not a function" or "Cannot convert object to primitive value".
import { expect } from 'chai';
import * as main from 'rx-lifeline';
import * as node from 'rx-lifeline/node';
import * as testing from 'rx-lifeline/testing';
import { NONSENSE } from '../support/nonsense.js';

/** Error classes take a message and details, like `Error` itself; everything else is checked. */
const callables = [main, node, testing].flatMap((entry) =>
  Object.entries(entry).filter(
    (pair): pair is [string, (...args: unknown[]) => unknown] =>
      typeof pair[1] === 'function' && !pair[0].endsWith('Error'),
  ),
);

function isClass(value: (...args: unknown[]) => unknown): boolean {
  return /^class\b/.test(Function.prototype.toString.call(value));
}

/** What `name(value)` (or `new name(value)`) threw or rejected with; undefined if it took it. */
async function refusal(fn: (...args: unknown[]) => unknown, value: unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = isClass(fn) ? new (fn as unknown as new (arg: unknown) => unknown)(value) : fn(value);
  } catch (error) {
    return error;
  }
  const maybe = result as { unsubscribe?: () => void; then?: unknown } | null | undefined;
  if (typeof maybe?.unsubscribe === 'function') maybe.unsubscribe();
  if (typeof maybe?.then === 'function') {
    try {
      const settled = (await result) as { close?: () => unknown } | undefined;
      await settled?.close?.();
    } catch (error) {
      return error;
    }
  }
  return undefined;
}

describe('nonsense first arguments', () => {
  it('there are exports to check', () => {
    // The functions and classes of the three entry points (49 when this was written).
    expect(callables.length).to.be.at.least(49);
  });

  for (const [name, fn] of callables) {
    it(`${name}: refuses each with a TypeError that starts '${name}: ', or takes it`, async () => {
      const unclear: string[] = [];
      for (const [what, value] of NONSENSE) {
        const error = await refusal(fn, value);
        if (error === undefined) continue;
        const message = String((error as Error).message);
        if (!(error instanceof TypeError) || !message.startsWith(`${name}: `)) {
          unclear.push(`${what}: ${(error as Error).name}: ${message}`);
        }
      }
      expect(unclear).to.deep.equal([]);
    });
  }
});
