// Helpers for operator specs: a fake Link, and session events shortened to marble values.
import { expect } from 'chai';
import { map, NEVER, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type {
  ConnectedEvent,
  DisconnectedEvent,
  Link,
  SessionEvent,
  TransportEvent,
  WriteReport,
} from 'lifeline';

/** A TestScheduler that compares with chai's deep equality. */
export function newTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

/** A Link that records what was sent; `close()` only marks it, the script decides what follows. */
export class FakeLink implements Link<unknown> {
  readonly sent: unknown[] = [];
  closeRequested = false;
  readonly info = { transport: 'fake', local: 'here', remote: 'there' };
  readonly drain$: Observable<void> = NEVER;
  bufferedBytes = 0;

  get closed(): boolean {
    return this.closeRequested;
  }

  send(frame: unknown): boolean {
    this.sent.push(frame);
    return true;
  }

  close(): void {
    this.closeRequested = true;
  }

  writeReport(): WriteReport {
    return { lastFrame: 'none', unconfirmedFrames: 0, unconfirmedBytes: 0 };
  }
}

/** The event values scripted sources use: `c` connected (with `link`), `a`/`b` frames. */
export function transportValues(link: Link<unknown> = new FakeLink()): Record<string, TransportEvent> {
  const connected: ConnectedEvent = { type: 'connected', link };
  return { c: connected, a: { type: 'frame', frame: 'a' }, b: { type: 'frame', frame: 'b' } };
}

/**
 * Session events as short strings: `c`, the frame, and `d<attempt>:<delay>:<error name>` for a
 * disconnection, so a diagram's values read at a glance.
 */
export function summarize(events: Observable<SessionEvent>): Observable<string> {
  return events.pipe(
    map((event) => {
      if (event.type === 'connected') return 'c';
      if (event.type === 'frame') return String(event.frame);
      return describeDisconnect(event);
    }),
  );
}

export function describeDisconnect(event: DisconnectedEvent): string {
  const name = (event.error as Error | undefined)?.name ?? String(event.error);
  return `d${event.attempt}:${event.delay}:${name}`;
}
