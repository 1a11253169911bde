import { expect } from 'chai';
import {
  ConnectionResetError,
  LinkClosedError,
  policy,
  ProtocolError,
  reconnectWith,
  type Link,
  type TransportEvent,
} from 'rx-lifeline';
import { marbleEvents, marbleValue, RecordingLink, scriptedTransport } from 'rx-lifeline/testing';
import { catchError, map, of, tap, type Observable } from 'rxjs';
import { newTestScheduler } from './support.js';

/** Events as marble values, and the error as `E:<name>:<code>` so its kind shows in the diagram. */
function shown(events: Observable<TransportEvent<unknown, unknown>>): Observable<string> {
  return events.pipe(
    map(marbleValue),
    catchError((error: Error & { code?: unknown }) => of(`E:${error.name}:${String(error.code)}`)),
  );
}

describe('scriptedTransport', () => {
  it('plays the script: c connects with a recording link, letters are frames from values, | closes', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const transport = scriptedTransport<{ n: number }>(cold, '-c-a 3ms b|', { values: { a: { n: 1 } } });
      // A letter without a value is delivered as itself.
      expectObservable(shown(transport)).toBe('-c-a 3ms b|', { c: 'c', a: '{"n":1}', b: 'b' });
      expectSubscriptions(transport.subscriptions).toBe('^ 7ms !');
      testScheduler.schedule(() => {
        expect(transport.links).to.have.length(1);
        const link = transport.links[0]!;
        expect(link).to.be.instanceOf(RecordingLink);
        expect(link.info).to.deep.equal({
          transport: 'scripted',
          local: 'scripted#1/client',
          remote: 'scripted#1/server',
        });
        // The connection completed: the link is over.
        expect(link.closed).to.equal(true);
      }, 10);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('# after c is a ConnectionResetError with the write report; before c a DialError', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const reset = scriptedTransport(cold, 'c--#');
      const refused = scriptedTransport(cold, '--#');
      expectObservable(shown(reset)).toBe('c--(x|)', { c: 'c', x: 'E:ConnectionResetError:ECONNRESET' });
      expectObservable(shown(refused)).toBe('--(x|)', { x: 'E:DialError:ECONNREFUSED' });
      const errors: unknown[] = [];
      reset.subscribe({
        next: (e) => e.type === 'connected' && e.link.send('hi'),
        error: (error) => errors.push(error),
      });
      testScheduler.schedule(() => {
        const [error] = errors as ConnectionResetError[];
        expect(error).to.be.instanceOf(ConnectionResetError);
        expect(error!.write.lastFrame).to.equal('whole');
        expect(error!.phase).to.equal('read');
      }, 5);
    });
  });

  it('# errors with the error option when one is given', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const garbage = new ProtocolError('garbage', { offset: 0 });
      const transport = scriptedTransport(cold, 'c-#', { error: garbage });
      expectObservable(marbleEvents(transport)).toBe('c-#', { c: 'c' }, garbage);
    });
  });

  it('each subscription is a new connection with its own link, so reconnect tests just work', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const transport = scriptedTransport(cold, 'c-a-#');
      const session = transport.pipe(reconnectWith(policy.exponential({ initial: 10, max: 20 })));
      const values = { c: 'c', a: 'a', x: 'd1:10:ConnectionResetError', y: 'd2:20:ConnectionResetError' };
      // prettier-ignore
      expectObservable(marbleEvents(session), '^ 40ms !').toBe('c-a-x 9ms c-a-y 19ms c-a', values);
      // prettier-ignore
      expectSubscriptions(transport.subscriptions).toBe(['^---!', '14ms ^---!', '38ms ^ 2ms !']);
      testScheduler.schedule(() => {
        expect(transport.links).to.have.length(3);
        expect(new Set(transport.links).size).to.equal(3);
        expect(transport.links.every((link) => link.closed)).to.equal(true);
      }, 45);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('given a list, dial n plays script n, and dials past the end play the last one again', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const transport = scriptedTransport(cold, ['#', '--#', 'c-a|']);
      const session = transport.pipe(
        reconnectWith({ policy: policy.constant(5), healthyAfter: 'first-frame' }),
      );
      const values = {
        c: 'c',
        a: 'a',
        x: 'd1:5:DialError',
        y: 'd2:5:DialError',
        z: 'd1:5:PeerClosedError',
      };
      // prettier-ignore
      expectObservable(marbleEvents(session), '^ 30ms !').toBe('x 6ms y 4ms c-az 4ms c-az 4ms c-a', values);
      // prettier-ignore
      expectSubscriptions(transport.subscriptions).toBe([
        '(^!)',
        '5ms ^-!',
        '12ms ^--!',
        '20ms ^--!',
        '28ms ^--!',
      ]);
    });
  });

  it('link.close() completes the connection in the same frame; sends after it throw', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const transport = scriptedTransport<string, string>(cold, 'c-a 10ms b');
      let link: Link<string> | undefined;
      const session = transport.pipe(
        reconnectWith(policy.constant(5)),
        tap((event) => {
          if (event.type === 'connected') link = event.link;
          if (event.type !== 'frame') return;
          link!.send(event.frame.toUpperCase());
          link!.close('done');
          expect(() => link!.send('late')).to.throw(LinkClosedError);
        }),
      );
      expectObservable(marbleEvents(session)).toBe('c-(a|)', { c: 'c', a: 'a' });
      expectObservable(transport.sent$).toBe('--A');
      testScheduler.schedule(() => expect(transport.links[0]!.closeReason).to.equal('done'), 5);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('sent$ shows what was sent on every connection, with times', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const transport = scriptedTransport<string, string>(cold, 'c-a--#');
      const session = transport.pipe(reconnectWith(policy.constant(4)));
      const subscription = session.subscribe((event) => {
        if (event.type === 'frame') transport.links.at(-1)!.send(`${event.frame}${transport.links.length}`);
      });
      testScheduler.schedule(() => subscription.unsubscribe(), 21);
      expectObservable(transport.sent$, '^ 20ms !').toBe('--x 8ms y 8ms z', { x: 'a1', y: 'a2', z: 'a3' });
      testScheduler.schedule(() => {
        expect(transport.links.map((link) => link.sends)).to.deep.equal([
          [{ frame: 'a1', time: 2 }],
          [{ frame: 'a2', time: 11 }],
          [{ frame: 'a3', time: 20 }],
        ]);
      }, 21);
    });
  });

  it('unsubscribing early ends the connection and its link, and leaves no action behind', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const transport = scriptedTransport(cold, 'c-a-b-#');
      expectObservable(marbleEvents(transport), '^--!').toBe('c-a', { c: 'c', a: 'a' });
      expectSubscriptions(transport.subscriptions).toBe('^--!');
      testScheduler.schedule(() => expect(transport.links[0]!.closed).to.equal(true), 4);
    });
    expect(testScheduler.actions).to.have.length(0);
  });

  it('an empty script never connects; a script that never ends stays connected', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(marbleEvents(scriptedTransport(cold, '')), '^ 10ms !').toBe('-');
      expectObservable(marbleEvents(scriptedTransport(cold, 'c')), '^ 10ms !').toBe('c');
      expectObservable(marbleEvents(scriptedTransport(cold, '|'))).toBe('|');
    });
  });

  it('a frame before c, or a second c, errors with a TypeError; bad arguments throw one', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const early = shown(scriptedTransport(cold, '-a'));
      expectObservable(early).toBe('-(x|)', { x: 'E:TypeError:undefined' });
      const twice = shown(scriptedTransport(cold, 'cc'));
      expectObservable(twice).toBe('c(x|)', { c: 'c', x: 'E:TypeError:undefined' });
    });
    const testScheduler2 = newTestScheduler();
    const cold = testScheduler2.createColdObservable.bind(testScheduler2);
    expect(() => scriptedTransport(cold, [])).to.throw(TypeError, /non-empty/);
    expect(() => scriptedTransport(cold, 'c-c', { values: { c: 'x' } })).to.throw(TypeError, /connected/);
  });
});
