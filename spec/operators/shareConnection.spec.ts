import { expect } from 'chai';
import {
  ConnectionResetError,
  memory,
  shareConnection,
  type SessionEvent,
  type TransportEvent,
} from 'rx-lifeline';
import { catchError, EMPTY, first, mergeMap, Observable, switchMap } from 'rxjs';
import { newTestScheduler, summarize, transportValues } from './support.js';

const reset = new ConnectionResetError('reset', { phase: 'read', code: 'ECONNRESET' });

/** Scripted session events: `c` connected, `a`/`b` frames, `d` disconnected. */
function sessionValues(): Record<string, SessionEvent> {
  return { ...transportValues(), d: { type: 'disconnected', error: reset, attempt: 1, delay: 10 } };
}

const shown = { c: 'c', a: 'a', b: 'b', d: 'd1:10:ConnectionResetError' };

describe('shareConnection', () => {
  it('two subscribers share one source subscription', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('c-a-b-a', transportValues());
      const shared = source.pipe(shareConnection());
      // prettier-ignore
      {
        expectObservable(summarize(shared), '^------!').toBe('c-a-b-a', shown);
        expectObservable(summarize(shared), '^---!   ').toBe('c-a-    ', shown);
        expectSubscriptions(source.subscriptions).toBe('^------!');
      }
    });
  });

  it('a late joiner gets the current connected event first, then live frames only', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('c-ab-b-a', transportValues());
      const shared = source.pipe(shareConnection());
      // The frames a (2) and b (3) came before the joiner: it sees c at once, then b (5) and a (7).
      // prettier-ignore
      {
        expectObservable(summarize(shared), '^-------!').toBe('c-ab-b-a', shown);
        expectObservable(summarize(shared), '----^---!').toBe('----cb-a', shown);
        expectSubscriptions(source.subscriptions).toBe('^-------!');
      }
    });
  });

  it('after the last subscriber leaves, the source is unsubscribed exactly idleTimeout later', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('c-a-b', transportValues());
      const shared = source.pipe(shareConnection({ idleTimeout: 10, scheduler: testScheduler }));
      // The last subscriber leaves at 3: the source stays up until 13.
      // prettier-ignore
      {
        expectObservable(summarize(shared), '^--!').toBe('c-a', shown);
        expectSubscriptions(source.subscriptions).toBe('^ 12ms !');
      }
    });
  });

  it('a subscriber joining during the idle window reuses the connection; one after it dials again', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('-c-a-b-a-b', transportValues());
      const shared = source.pipe(shareConnection({ idleTimeout: 10 }));
      // The first leaves at 3; the second joins at 8, inside the window (3 to 13): no dial, the
      // current connected at once, then live frames. It leaves at 12; the window ends at 22; the
      // third, at 30, dials a new connection that connects one frame later.
      // prettier-ignore
      {
        expectObservable(summarize(shared), '^--!                    ').toBe('-c-                 ', shown);
        expectObservable(summarize(shared), '--------^---!           ').toBe('--------cb-         ', shown);
        expectObservable(summarize(shared), '30ms ^--!').toBe('30ms -c-', shown);
        expectSubscriptions(source.subscriptions).toBe(['^ 21ms !', '30ms ^ 12ms !']);
      }
    });
  });

  it('idleTimeout 0 (the default) closes the source in the same call as the last unsubscription', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('c-a-b', transportValues());
      const shared = source.pipe(shareConnection({ idleTimeout: 0 }));
      // prettier-ignore
      {
        expectObservable(summarize(shared), '^--!    ').toBe('c-a     ', shown);
        expectObservable(summarize(shared), '-----^-!').toBe('-----c-', shown);
        expectSubscriptions(source.subscriptions).toBe(['^--!', '5ms ^-!']);
      }
    });
    // Synchronously: no timer, not even one of 0 ms, stands between the unsubscription and the close.
    let closed = false;
    const socket = new Observable<TransportEvent>(() => () => (closed = true));
    const subscription = socket.pipe(shareConnection()).subscribe();
    subscription.unsubscribe();
    expect(closed).to.equal(true);
  });

  it('a source error reaches every subscriber at once, and the next subscriber dials again', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('--c-a-#', transportValues(), reset);
      const shared = source.pipe(shareConnection({ idleTimeout: 50 }));
      // The idle window does not keep a failed connection: the joiner at 8 dials (it connects at
      // 10) and is not handed the dead connection's connected event. That second connection fails
      // at 14, inside its idle window, and is released then, not at the window's end.
      // prettier-ignore
      {
        expectObservable(summarize(shared)).toBe('--c-a-#', shown, reset);
        expectObservable(summarize(shared), '---^').toBe('---ca-#', shown, reset);
        expectObservable(summarize(shared), '--------^--!').toBe('----------c', shown);
        expectSubscriptions(source.subscriptions).toBe(['^-----!', '--------^-----!']);
      }
    });
  });

  it('a source completion reaches every subscriber, and the next subscriber dials again', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('c-a|', transportValues());
      const shared = source.pipe(shareConnection({ idleTimeout: 50 }));
      // prettier-ignore
      {
        expectObservable(summarize(shared)).toBe('c-a|', shown);
        expectObservable(summarize(shared), '-^').toBe('-ca|', shown);
        expectObservable(summarize(shared), '-----^').toBe('-----c-a|', shown);
        expectSubscriptions(source.subscriptions).toBe(['^--!', '-----^--!']);
      }
    });
  });

  it('after a disconnected event, a late joiner gets it and not the stale connected', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<SessionEvent>('c-a-d---c-b', sessionValues());
      const shared = source.pipe(shareConnection({ idleTimeout: 5 }));
      // The joiner at 6 sees d (the state since 4), then the new connection; the one at 10 sees the
      // new connected. The last one joins at 20 during the idle window, after nothing changed.
      // prettier-ignore
      {
        expectObservable(summarize(shared), '^----------!').toBe('c-a-d---c-b', shown);
        expectObservable(summarize(shared), '------^----!').toBe('------d-c-b', shown);
        expectObservable(summarize(shared), '----------^!').toBe('----------(cb)', shown);
        expectObservable(summarize(shared), '14ms ^!').toBe('14ms c', shown);
        expectSubscriptions(source.subscriptions).toBe('^ 19ms !');
      }
    });
  });

  it('a state event during the idle window is what the next joiner gets; frames then are not kept', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<SessionEvent>('c-a--b-d-a-b-c', sessionValues());
      const shared = source.pipe(shareConnection({ idleTimeout: 20 }));
      // Nobody listens from 3 to 10: d (7) is remembered, the frames b (5) and a (9) are not.
      // prettier-ignore
      {
        expectObservable(summarize(shared), '^--!').toBe('c-a', shown);
        expectObservable(summarize(shared), '----------^----!').toBe('----------db-c', shown);
        expectSubscriptions(source.subscriptions).toBe('^ 34ms !');
      }
    });
  });

  it('a joiner that wants only the link takes the replayed connected and leaves, without a new dial', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<TransportEvent>('c-a-b-a', transportValues());
      const shared = source.pipe(shareConnection());
      const link$ = shared.pipe(first((event) => event.type === 'connected'));
      // prettier-ignore
      {
        expectObservable(summarize(shared), '^------!').toBe('c-a-b-a', shown);
        expectObservable(summarize(link$), '---^').toBe('---(c|)', shown);
        expectSubscriptions(source.subscriptions).toBe('^------!');
      }
    });
  });

  it('an empty source completes each subscriber, and a never source is closed after the idle window', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const empty = cold<TransportEvent>('|');
      const shared = empty.pipe(shareConnection({ idleTimeout: 10 }));
      // prettier-ignore
      {
        expectObservable(summarize(shared)).toBe('|');
        expectObservable(summarize(shared), '--^').toBe('--|');
        expectSubscriptions(empty.subscriptions).toBe(['(^!)', '--(^!)']);
      }

      const never = cold<TransportEvent>('-');
      const idle = never.pipe(shareConnection({ idleTimeout: 10 }));
      // prettier-ignore
      {
        expectObservable(summarize(idle), '^----!').toBe('-');
        expectSubscriptions(never.subscriptions).toBe('^ 14ms !');
      }
    });
  });

  it('rejects nonsense options with a TypeError', () => {
    expect(() => shareConnection({ idleTimeout: -1 })).to.throw(TypeError, /idleTimeout/);
    expect(() => shareConnection({ idleTimeout: NaN })).to.throw(TypeError, /idleTimeout.*NaN/);
    expect(() => shareConnection({ idleTimeout: Infinity })).to.throw(TypeError, /idleTimeout/);
    expect(() => shareConnection({ idleTimeout: '5' as never })).to.throw(TypeError, /idleTimeout/);
    expect(() => shareConnection(-5)).to.throw(TypeError, /idleTimeout/);
    expect(() => shareConnection('soon' as never)).to.throw(TypeError, /shareConnection/);
    expect(() => shareConnection({ scheduler: {} as never })).to.throw(TypeError, /scheduler/);
    expect(() => shareConnection(250)).not.to.throw();
  });

  it('shares one real memory connection between two subscribers and closes it after the idle timeout', () => {
    const testScheduler = newTestScheduler();
    const counts: string[] = [];
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const pair = memory<string>({ latency: 1 });
      let dials = 0;
      const server = pair.server
        .pipe(
          mergeMap((event) => {
            if (event.type !== 'connection') return EMPTY;
            dials++;
            return event.connection.pipe(catchError(() => EMPTY));
          }),
        )
        .subscribe();
      // `dial` logs when the shared operator subscribes to the transport and when it lets go.
      const dial = cold('x');
      const source = dial.pipe(switchMap(() => pair.transport));
      const shared = source.pipe(shareConnection({ idleTimeout: 50 }));
      const record = (label: string) => () => counts.push(`${label}:${pair.openConnections}:${dials}`);
      // The dial takes 1 ms; the second subscriber joins at 5 and gets the connected event at once.
      // Both have left by 25; the idle window ends at 75, and the end reaches the server at 76.
      // prettier-ignore
      {
        expectObservable(summarize(shared), '^ 19ms !    ').toBe('-c', shown);
        expectObservable(summarize(shared), '5ms ^ 19ms !').toBe('5ms c', shown);
        expectSubscriptions(dial.subscriptions).toBe('^ 74ms !');
      }
      testScheduler.schedule(record('both'), 10);
      testScheduler.schedule(record('idle'), 74);
      testScheduler.schedule(record('closed'), 77);
      testScheduler.schedule(() => server.unsubscribe(), 80);
    });
    expect(counts).to.deep.equal(['both:1:1', 'idle:1:1', 'closed:0:1']);
  });
});
