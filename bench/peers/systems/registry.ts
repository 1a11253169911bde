// The systems each section runs, by name, with the settings the report states.
import { policy } from 'rx-lifeline';
import { lifeline } from './lifeline.js';
import { partysocket } from './partysocket.js';
import type { System } from './peer.js';
import { socketIo } from './socketio.js';

/** Survival: every client reconnects after 50 ms at first, at most 500 ms (a cut every 50–200 ms). */
const fastPolicy = (random: () => number) =>
  policy.exponential({ initial: 50, max: 500 }).jitter('full', { random });

/** The README's former reconnect policy: exponential from 100 ms to 30 s with full jitter. */
const readmePolicy = (random: () => number) =>
  policy.exponential({ initial: 100, max: 30_000 }).jitter('full', { random });

/**
 * The recommended server's admission control, as the README sizes it: well above the rate at which
 * a restart brings clients back (2,000 in under 5 s is over 400 a second) and within what the
 * server can take, so it is never the bottleneck; each refused client is told when to come back,
 * and the policy honours the hint (`maxHint`, a day by default).
 */
export const ADMISSION = { perSecond: 1_000, burst: 200 } as const;

/** The README's recommended reconnect policy: decorrelated jitter from 2 s to 5 s. */
const recommendedPolicy = (random: () => number) => policy.recommended({ random });

export const SURVIVAL_SYSTEMS = {
  'socket.io': socketIo({ reconnectionDelay: 50, reconnectionDelayMax: 500 }),
  partysocket: partysocket({ minReconnectionDelay: 50, maxReconnectionDelay: 500 }),
  'lifeline tcp': lifeline({ kind: 'tcp', policy: fastPolicy }),
  'lifeline websocket': lifeline({ kind: 'websocket', policy: fastPolicy }),
} satisfies Record<string, System>;

export const STORM_SYSTEMS = {
  'socket.io': socketIo({ reconnectionDelay: 1_000, reconnectionDelayMax: 5_000 }),
  partysocket: partysocket({ minReconnectionDelay: 3_000, maxReconnectionDelay: 10_000 }),
  'lifeline recommended': lifeline({
    kind: 'tcp',
    policy: recommendedPolicy,
    admission: ADMISSION,
    store: 'redis',
  }),
  'lifeline old README': lifeline({ kind: 'tcp', policy: readmePolicy, store: 'redis' }),
} satisfies Record<string, System>;

export type SurvivalSystem = keyof typeof SURVIVAL_SYSTEMS;
export type StormSystem = keyof typeof STORM_SYSTEMS;

/** The named system, or a TypeError naming the ones there are. */
export function systemNamed(table: Record<string, System>, name: string | undefined): System {
  const system = name === undefined ? undefined : table[name];
  if (!system) {
    throw new TypeError(
      `unknown system ${JSON.stringify(name)}: use one of ${Object.keys(table).join(', ')}`,
    );
  }
  return system;
}
