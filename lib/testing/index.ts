/**
 * lifeline/testing: helpers for testing streams built on lifeline, in virtual time.
 * @packageDocumentation
 * @module lifeline/testing
 */
export { seededRandom } from './random.js';
