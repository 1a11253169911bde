// The chaos tests' senders: a steady pace that honours backpressure.
import { interval, Subscription } from 'rxjs';
import type { Link } from 'rx-lifeline';

/**
 * Calls `tick` every `ms` until unsubscribed (`tick` may end it through the subscription it is
 * given). A tick returns what the link's last `send()` said: after a `false` the next ticks wait
 * for `drain$` (the peer away, or the replay buffer half full).
 */
export function paced(link: Link<never>, ms: number, tick: (all: Subscription) => boolean): Subscription {
  const all = new Subscription();
  let blocked = false;
  const onTick = () => {
    if (blocked || tick(all) || all.closed) return;
    blocked = true;
    const wait = new Subscription();
    all.add(wait);
    const release = () => {
      blocked = false;
      wait.unsubscribe();
      all.remove(wait);
    };
    // drain$ may emit at once: `blocked` is cleared either way before the next tick.
    wait.add(link.drain$.subscribe({ next: release, complete: release }));
  };
  all.add(interval(ms).subscribe(onTick));
  return all;
}
