/**
 * Brands that recognise a CircuitBreaker or a RetryBudget made by any copy of the library, without
 * importing the class: `RetryPolicy` checks what it is given with them, so that a bundle of `policy`
 * alone need not carry the breaker or the budget.
 * @internal
 * @packageDocumentation
 */

/**
 * On every CircuitBreaker's prototype. `Symbol.for`, so that every copy of the library agrees.
 * @internal
 */
export const BREAKER_BRAND: unique symbol = /* @__PURE__ */ Symbol.for('rx-lifeline.CircuitBreaker');

/**
 * On every RetryBudget's prototype.
 * @internal
 */
export const BUDGET_BRAND: unique symbol = /* @__PURE__ */ Symbol.for('rx-lifeline.RetryBudget');

/**
 * Puts `key` on the prototype of `target`, not enumerable, so that an instance's own keys stay what
 * they were. Called from a pure static field initialiser, so that an unused class can be dropped.
 * @internal
 */
export function brand(target: abstract new (...args: never[]) => object, key: symbol): true {
  Object.defineProperty(target.prototype, key, { value: true });
  return true;
}

/**
 * True when `value` carries the brand `key`, on itself or a prototype.
 * @internal
 */
export function hasBrand(value: unknown, key: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[key] === true;
}
