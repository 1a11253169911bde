// Helpers for the pool specs: scripted connections whose links can be told to hold unconfirmed
// frames, and transport events shortened to marble values.
import { catchError, EMPTY, map, type Observable } from 'rxjs';
import type { Link, Transport, TransportEvent } from 'rx-lifeline';
import { FakeLink } from '../operators/support.js';

export { newTestScheduler } from '../operators/support.js';

/** A FakeLink whose write report can say frames are still unconfirmed. */
export class ScriptedLink extends FakeLink {
  unconfirmedFrames = 0;

  override writeReport() {
    return {
      lastFrame: this.sent.length === 0 ? 'none' : this.unconfirmedFrames > 0 ? 'partial' : 'whole',
      unconfirmedFrames: this.unconfirmedFrames,
      unconfirmedBytes: this.unconfirmedFrames * 10,
      framesLeft: this.sent.length,
    } as const;
  }
}

/** Marble values for a scripted connection: `c` connected with `link`, `a`/`b` frames. */
export function connectionValues(link: Link<unknown> = new ScriptedLink()): Record<string, TransportEvent> {
  return {
    c: { type: 'connected', link },
    a: { type: 'frame', frame: 'a' },
    b: { type: 'frame', frame: 'b' },
  };
}

/** Transport events as `c` and the frame's text. */
export function short(events: Transport): Observable<string> {
  return events.pipe(map((event) => (event.type === 'connected' ? 'c' : String(event.frame))));
}

/** `source`, with its error handed to `onError` and replaced by completion (`|` in the diagram). */
export function catching<T>(source: Observable<T>, onError: (error: unknown) => void): Observable<T> {
  return source.pipe(
    catchError((error: unknown) => {
      onError(error);
      return EMPTY;
    }),
  );
}
