/**
 * lifeline/testing: helpers for testing streams built on lifeline, in virtual time.
 * @packageDocumentation
 */
export { seededRandom } from './random.js';
