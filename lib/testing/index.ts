/**
 * rx-lifeline/testing: helpers for testing streams built on lifeline, in virtual time — scripted
 * transports, a recording link, a virtual network with faults on a schedule, marble values for
 * events, computed waits written into marble diagrams exactly, and a seeded random. Browser-safe;
 * it needs `rxjs/testing`'s `TestScheduler`.
 * @packageDocumentation
 * @module rx-lifeline/testing
 */
export { seededRandom } from './random.js';
export { RecordingLink } from './recording-link.js';
export type { SentFrame, RecordingLinkOptions } from './recording-link.js';
export { scriptedTransport } from './scripted-transport.js';
export type {
  ColdFactory,
  RecordedTransport,
  ScriptedTransportOptions,
  SubscriptionLogs,
} from './scripted-transport.js';
export { marbleEvents, marbleValue } from './marble-events.js';
export { virtualNetwork } from './virtual-network.js';
export type {
  NetworkFault,
  NetworkLoss,
  ScheduledFault,
  SimulatedNetwork,
  VirtualNetworkOptions,
} from './virtual-network.js';
export { marbleTime } from './marble-time.js';
