// The lab config of docs/lab.md's "policy.recommended against socket.io's defaults":
//   npm run lab -- --config docs/lab-recommended.mjs --scenario outage --down 2s --clients 2000 \
//     --duration 2m --policy socket.io,recommended,former-readme
// socket.io-client 4.8's reconnection backoff, as its Manager computes it (engine.io-client's
// Backoff: reconnectionDelay 1 s, factor 2, randomizationFactor 0.5, reconnectionDelayMax 5 s).
function socketIoBackoff(random, attempts = 0) {
  let ms = 1_000 * 2 ** attempts;
  const rand = random();
  const deviation = Math.floor(rand * 0.5 * ms);
  ms = (Math.floor(rand * 10) & 1) === 0 ? ms - deviation : ms + deviation;
  return {
    duration: Math.min(ms, 5_000) | 0,
    max: 5_000,
    next: () => socketIoBackoff(random, attempts + 1),
  };
}

export const policies = {
  'socket.io': ({ policy, random }) => policy.backoff(socketIoBackoff(random)),
  recommended: ({ policy, random }) => policy.recommended({ random }),
  'former-readme': ({ policy, random }) =>
    policy.exponential({ initial: 100, max: 30_000 }).jitter('full', { random }),
};
