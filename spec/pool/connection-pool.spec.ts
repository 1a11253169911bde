import { expect } from 'chai';
import {
  ConnectionPool,
  ConnectionResetError,
  DialError,
  LinkClosedError,
  memory,
  PoolClosedError,
  PoolExhaustedError,
  type Link,
  type PoolStats,
  type Transport,
  type TransportEvent,
} from 'rx-lifeline';
import { catchError, filter, map, of, type Observable } from 'rxjs';
import type { ColdObservable } from 'rxjs/internal/testing/ColdObservable';
import { connectionValues, newTestScheduler, ScriptedLink, short } from './support.js';

const HOST = 'tcp://example.com:7070';

/** Transport events as letters; an error as `!Name`. */
function outcome(events: Transport): Observable<string> {
  return short(events).pipe(catchError((error: Error) => of(`!${error.name}`)));
}

/** One key's stats as `open/idle/waiting`. */
function counts(stats$: Observable<PoolStats>, key = HOST): Observable<string> {
  return stats$.pipe(
    filter((s) => s.key === key),
    map((s) => `${s.open}/${s.idle}/${s.waiting}`),
  );
}

describe('ConnectionPool', () => {
  it('reuses an idle connection: one dial for two sequential users, closed idleTimeout after', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connection = cold('-c', connectionValues());
      const pool = new ConnectionPool({ dial: () => connection, idleTimeout: 100 });
      const transport = pool.transport(HOST);
      // The second user gets the idle connection at once (no dial latency); it closes 100 ms after
      // the second user left, and a third user dials anew.
      // prettier-ignore
      {
        expectObservable(short(transport), '^--!     ').toBe('-c      ');
        expectObservable(short(transport), '-----^-! ').toBe('-----c  ');
        expectObservable(short(transport), '200ms ^-!').toBe('200ms -c');
        expectSubscriptions(connection.subscriptions).toBe(['^ 106ms !', '200ms ^ 99ms !']);
      }
      testScheduler.schedule(() => pool.close(), 300);
    });
  });

  it('hands a returned link out again only through a new view: the old one is revoked', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold }) => {
      const pool = new ConnectionPool({ dial: () => cold('c', connectionValues()) });
      const links: Link[] = [];
      const take = () => {
        const user = pool.transport(HOST).subscribe((event) => {
          if (event.type === 'connected') links.push(event.link);
        });
        testScheduler.flush();
        user.unsubscribe();
      };
      take();
      take();
      expect(links).to.have.length(2);
      expect(links[0]).to.not.equal(links[1]);
      expect(links[0]!.closed).to.equal(true);
      expect(() => links[0]!.send('late')).to.throw(LinkClosedError);
      pool.close();
    });
  });

  it('never shares a connection between two users, two ports or two credentials', () => {
    const testScheduler = newTestScheduler();
    const dials: string[] = [];
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const connection = cold('-c', connectionValues());
      const pool = new ConnectionPool({
        dial: (origin) => {
          dials.push(origin.key);
          return connection;
        },
        idlePerKey: 4,
      });
      const addresses = [
        'tcp://alice@example.com:7070',
        'tcp://bob@example.com:7070',
        'tcp://example.com:7071',
        { scheme: 'tcp', host: 'example.com', port: 7070, user: 'alice', credentialsId: 'key-2' },
        'TCP://alice@Example.COM:7070/other/path', // the first one again
      ];
      addresses.forEach((address, i) => {
        testScheduler.schedule(() => {
          const user = pool.transport(address).subscribe();
          testScheduler.schedule(() => user.unsubscribe(), 2);
        }, i * 3);
      });
      testScheduler.schedule(() => pool.close(), 20);
      // prettier-ignore
      expectSubscriptions(connection.subscriptions).toBe([
        '^ 19ms !', '---^ 16ms !', '------^ 13ms !', '---------^ 10ms !',
      ]);
    });
    expect(dials).to.deep.equal([
      'tcp://alice@example.com:7070',
      'tcp://bob@example.com:7070',
      'tcp://example.com:7071',
      'tcp://alice@example.com:7070#key-2',
    ]);
  });

  it('evicts the least recently used idle connection beyond idleTotal, in order of last use', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connections = new Map<number, ColdObservable<unknown>>();
      for (const port of [1, 2, 3, 4]) connections.set(port, cold('-c', connectionValues()));
      const pool = new ConnectionPool({
        dial: (origin) => connections.get(origin.port) as Transport,
        idleTotal: 2,
        idleTimeout: Infinity,
      });
      const at = (port: number) => pool.transport(`tcp://example.com:${port}`);
      // A, B, C go idle in turn: C makes three, so A (the oldest) is closed at 8. B is used again at
      // 9–10, which makes C the oldest: D going idle at 13 closes C, not B.
      // prettier-ignore
      {
        expectObservable(short(at(1)), '^-!          ').toBe('-c');
        expectObservable(short(at(2)), '---^-!       ').toBe('----c');
        expectObservable(short(at(3)), '------^-!    ').toBe('-------c');
        expectObservable(short(at(2)), '---------^!  ').toBe('---------c');
        expectObservable(short(at(4)), '-----------^-!').toBe('------------c');
        expectSubscriptions(connections.get(1)!.subscriptions).toBe('^-------!');
        expectSubscriptions(connections.get(2)!.subscriptions).toBe('---^ 16ms !');
        expectSubscriptions(connections.get(3)!.subscriptions).toBe('------^------!');
        expectSubscriptions(connections.get(4)!.subscriptions).toBe('-----------^ 8ms !');
      }
      testScheduler.schedule(() => pool.close(), 20);
    });
  });

  it('keeps at most idlePerKey idle connections of one origin, closing the least recently used', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connection = cold('-c', connectionValues());
      const pool = new ConnectionPool({ dial: () => connection, idlePerKey: 1, idleTimeout: Infinity });
      // Two users at once need two connections; when both have left, only the last one stays.
      // prettier-ignore
      {
        expectObservable(short(pool.transport(HOST)), '^---!').toBe('-c');
        expectObservable(short(pool.transport(HOST)), '-^----!').toBe('--c');
        expectSubscriptions(connection.subscriptions).toBe(['^-----!', '-^ 18ms !']);
      }
      testScheduler.schedule(() => pool.close(), 20);
    });
  });

  it('queues requests beyond openTotal in order, fails one beyond maxWaiting, and says so in stats$', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connection = cold('-c', connectionValues());
      const pool = new ConnectionPool({ dial: () => connection, openTotal: 1, maxWaiting: 1 });
      const transport = pool.transport(HOST);
      // The second user waits from 2 and gets the first's connection when it leaves at 5; the third
      // finds the queue full at 3 and fails at once.
      // prettier-ignore
      {
        expectObservable(outcome(transport), '^----!   ').toBe('-c       ');
        expectObservable(outcome(transport), '--^------!').toBe('-----c   ');
        expectObservable(outcome(transport), '---^      ').toBe('---(e|)  ', { e: '!PoolExhaustedError' });
        expectObservable(counts(pool.stats$)).toBe('a-b--c---d----------(e|)', {
          a: '1/0/0', b: '1/0/1', c: '1/0/0', d: '1/1/0', e: '0/0/0',
        });
        expectSubscriptions(connection.subscriptions).toBe('^ 19ms !');
      }
      testScheduler.schedule(() => pool.close(), 20);
    });
  });

  it('gives a waiting request room by closing an idle connection of another origin', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const a = cold('-c', connectionValues());
      const b = cold('-c', connectionValues());
      const pool = new ConnectionPool({
        dial: (origin) => (origin.port === 1 ? a : b),
        openTotal: 1,
        idleTimeout: Infinity,
      });
      // prettier-ignore
      {
        expectObservable(short(pool.transport('tcp://h:1')), '^--!').toBe('-c');
        expectObservable(short(pool.transport('tcp://h:2')), '-^----!').toBe('----c');
        expectSubscriptions(a.subscriptions).toBe('^--!');
        expectSubscriptions(b.subscriptions).toBe('---^ 16ms !');
      }
      testScheduler.schedule(() => pool.close(), 20);
    });
  });

  it('the error carries what a caller needs', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold }) => {
      const pool = new ConnectionPool({
        dial: () => cold('c', connectionValues()),
        openTotal: 1,
        maxWaiting: 0,
      });
      pool.transport(HOST).subscribe({ error: () => undefined });
      testScheduler.flush();
      let error: unknown;
      pool.transport(HOST).subscribe({ error: (e: unknown) => (error = e) });
      expect(PoolExhaustedError.is(error)).to.equal(true);
      expect(error).to.include({ key: HOST, open: 1, waiting: 0, name: 'PoolExhaustedError' });
      pool.close();
    });
  });

  it('never hands out a connection that ended while idle, nor one that received a frame while idle', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const ends = cold('-c--|', connectionValues());
      const talks = cold('-c--a', connectionValues());
      const fresh = cold('-c', connectionValues());
      const script = [ends, talks, fresh];
      let dials = 0;
      const pool = new ConnectionPool({ dial: () => script[dials++]!, idleTimeout: Infinity });
      // The first connection completes at 4 while idle; the user at 6 dials the second, which
      // receives a frame at 10 after its user left; the user at 12 dials the third.
      // prettier-ignore
      {
        expectObservable(short(pool.transport(HOST)), '^-!').toBe('-c');
        expectObservable(short(pool.transport(HOST)), '------^-!').toBe('-------c');
        expectObservable(short(pool.transport(HOST)), '------------^-!').toBe('-------------c');
        expectSubscriptions(ends.subscriptions).toBe('^---!');
        expectSubscriptions(talks.subscriptions).toBe('------^---!');
        expectSubscriptions(fresh.subscriptions).toBe('------------^-------!');
      }
      testScheduler.schedule(() => pool.close(), 20);
    });
  });

  it('closes instead of keeping a connection with unconfirmed frames or a close requested', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const halfSent = new ScriptedLink();
      const closing = new ScriptedLink();
      const first = cold('-c', connectionValues(halfSent));
      const second = cold('-c', connectionValues(closing));
      const script = [first, second];
      let dials = 0;
      const pool = new ConnectionPool({ dial: () => script[dials++]! });
      const user = (act: (link: Link) => void) =>
        pool.transport(HOST).subscribe((event) => {
          if (event.type === 'connected') act(event.link);
        });
      const one = user((link) => {
        link.send('half');
        halfSent.unconfirmedFrames = 1;
      });
      testScheduler.schedule(() => one.unsubscribe(), 2);
      testScheduler.schedule(() => {
        const two = user((link) => link.close());
        testScheduler.schedule(() => two.unsubscribe(), 2);
      }, 3);
      // prettier-ignore
      {
        expectSubscriptions(first.subscriptions).toBe('^-!');
        expectSubscriptions(second.subscriptions).toBe('---^-!');
      }
    });
  });

  it('retries once, transparently, a dial that failed before anything was written', () => {
    // A refused dial, and a connection lost before it connected whose report says that nothing,
    // or nothing yet, was written.
    const writeOf = (lastFrame: 'none' | 'not-started') => ({
      lastFrame,
      unconfirmedFrames: lastFrame === 'none' ? 0 : 1,
      unconfirmedBytes: lastFrame === 'none' ? 0 : 3,
      framesLeft: 0,
    });
    const failures = [
      new DialError('refused', { code: 'ECONNREFUSED' }),
      new ConnectionResetError('reset', { phase: 'read', write: writeOf('none') }),
      new ConnectionResetError('reset', { phase: 'write', write: writeOf('not-started') }),
    ];
    for (const failure of failures) {
      const testScheduler = newTestScheduler();
      testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
        const failing = cold<TransportEvent>('-#', {}, failure);
        const working = cold('-c', connectionValues());
        const script: Transport[] = [failing, working];
        let dials = 0;
        const pool = new ConnectionPool({ dial: () => script[dials++]!, idleTimeout: 0 });
        // prettier-ignore
        {
          expectObservable(outcome(pool.transport(HOST)), '^--!').toBe('--c');
          expectSubscriptions(failing.subscriptions).toBe('^!');
          expectSubscriptions(working.subscriptions).toBe('-^-!');
        }
      });
    }
  });

  it('reports the second failure of a dial, and never retries one that may have written', () => {
    const testScheduler = newTestScheduler();
    const refused = new DialError('refused', { code: 'ECONNREFUSED' });
    const partial = new ConnectionResetError('reset', {
      phase: 'write',
      write: { lastFrame: 'partial', unconfirmedFrames: 1, unconfirmedBytes: 3, framesLeft: 1 },
    });
    const nothingSent = new ConnectionResetError('reset', {
      phase: 'read',
      write: { lastFrame: 'none', unconfirmedFrames: 0, unconfirmedBytes: 0, framesLeft: 0 },
    });
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const twice = [cold('-#', {}, refused), cold('-#', {}, refused), cold('-c', connectionValues())];
      const once = [cold('-#', {}, partial), cold('-c', connectionValues())];
      // Once the user holds the link, a failure is its to handle (reconnectWith reads the report).
      const afterConnect = [cold('-c-#', connectionValues(), nothingSent), cold('-c', connectionValues())];
      const scripted = (script: ColdObservable<unknown>[]) => {
        let dials = 0;
        return new ConnectionPool({ dial: () => script[dials++] as Transport }).transport(HOST);
      };
      // prettier-ignore
      {
        expectObservable(outcome(scripted(twice))).toBe('--(e|)', { e: '!DialError' });
        expectSubscriptions(twice[0]!.subscriptions).toBe('^!');
        expectSubscriptions(twice[1]!.subscriptions).toBe('-^!');
        expectSubscriptions(twice[2]!.subscriptions).toBe([]);
        expectObservable(outcome(scripted(once))).toBe('-(e|)', { e: '!ConnectionResetError' });
        expectSubscriptions(once[1]!.subscriptions).toBe([]);
        expectObservable(outcome(scripted(afterConnect))).toBe('-c-(e|)', { c: 'c', e: '!ConnectionResetError' });
        expectSubscriptions(afterConnect[1]!.subscriptions).toBe([]);
      }
    });
  });

  it('does not retry an error thrown by dial itself', () => {
    const pool = new ConnectionPool({
      dial: () => {
        throw new TypeError('bad origin');
      },
    });
    let error: unknown;
    pool.transport(HOST).subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.be.instanceOf(TypeError);
    expect(pool.snapshot()).to.deep.equal({ total: { open: 0, idle: 0, waiting: 0 }, keys: [] });
  });

  it('a dial that returns no transport fails that user with a TypeError saying what it returned, and frees its place', () => {
    for (const [value, shown] of [
      [undefined, 'undefined'],
      [Promise.resolve('a transport, later'), 'an object'],
    ] as const) {
      const pool = new ConnectionPool({ dial: () => value as never, openTotal: 1 });
      const errors: unknown[] = [];
      pool.transport(HOST).subscribe({ error: (e: unknown) => errors.push(e) });
      // Its place was given back: a second user is refused the same way, not left waiting for it.
      pool.transport(HOST).subscribe({ error: (e: unknown) => errors.push(e) });
      expect(errors.map(String)).to.deep.equal(
        Array(2).fill(
          `TypeError: ConnectionPool: dial must return a Transport (an Observable), it returned ${shown}`,
        ),
      );
      expect(pool.snapshot()).to.deep.equal({ total: { open: 0, idle: 0, waiting: 0 }, keys: [] });
    }
  });

  it('unsubscribing during the dial cancels it', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connection = cold('---c', connectionValues());
      const pool = new ConnectionPool({ dial: () => connection });
      // prettier-ignore
      {
        expectObservable(short(pool.transport(HOST)), '^-!').toBe('');
        expectSubscriptions(connection.subscriptions).toBe('^-!');
      }
    });
  });

  it('close() fails holders and waiters with PoolClosedError, closes everything, completes stats$', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connection = cold('-c', connectionValues());
      const pool = new ConnectionPool({ dial: () => connection, openTotal: 1 });
      const closed = { e: '!PoolClosedError' };
      // prettier-ignore
      {
        expectObservable(outcome(pool.transport(HOST))).toBe('-c--(e|)', { c: 'c', ...closed });
        expectObservable(outcome(pool.transport(HOST)), '-^').toBe('----(e|)', closed);
        expectObservable(outcome(pool.transport(HOST)), '------^').toBe('------(e|)', closed);
        expectObservable(counts(pool.stats$)).toBe('ab--(c|)', { a: '1/0/0', b: '1/0/1', c: '0/0/0' });
        expectSubscriptions(connection.subscriptions).toBe('^---!');
      }
      testScheduler.schedule(() => pool.close(), 4);
    });
  });

  it('stats$ replays every origin with connections to a late subscriber, with totals', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold }) => {
      const pool = new ConnectionPool({ dial: () => cold('c', connectionValues()) });
      pool.transport('tcp://h:1').subscribe({ error: () => undefined });
      const second = pool.transport('tcp://h:2').subscribe();
      testScheduler.flush();
      second.unsubscribe();
      const seen: PoolStats[] = [];
      pool.stats$.subscribe((s) => seen.push(s));
      expect(seen).to.deep.equal([
        { key: 'tcp://h:1', open: 1, idle: 0, waiting: 0, total: { open: 2, idle: 1, waiting: 0 } },
        { key: 'tcp://h:2', open: 1, idle: 1, waiting: 0, total: { open: 2, idle: 1, waiting: 0 } },
      ]);
      expect(pool.snapshot().total).to.deep.equal({ open: 2, idle: 1, waiting: 0 });
      pool.close();
      expect(pool.open).to.equal(0);
    });
  });

  it('adopt() keeps a connection the caller holds for the next user of its origin', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const held = cold('-c', connectionValues());
      const dialled = cold('-c', connectionValues());
      const pool = new ConnectionPool({ dial: () => dialled, idleTimeout: Infinity });
      pool.adopt(HOST, held);
      // prettier-ignore
      {
        expectObservable(short(pool.transport(HOST)), '--^-!').toBe('--c');
        expectSubscriptions(held.subscriptions).toBe('^ 9ms !');
        expectSubscriptions(dialled.subscriptions).toBe([]);
      }
      testScheduler.schedule(() => pool.close(), 10);
    });
    const closed = new ConnectionPool({ dial: () => of() });
    closed.close();
    expect(() => closed.adopt(HOST, of())).to.throw(PoolClosedError);
  });

  it('works over the memory transport, and leaves nothing open', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(() => {
      const pair = memory<string>({ scheduler: testScheduler, latency: 1 });
      let accepted = 0;
      const server = pair.server.subscribe((event) => {
        if (event.type !== 'connection') return;
        accepted++;
        event.connection.subscribe((e) => {
          if (e.type === 'frame') void e; // a silent server
        });
      });
      const pool = new ConnectionPool<string>({ dial: () => pair.transport, scheduler: testScheduler });
      const use = () =>
        pool.transport(HOST).subscribe((event) => {
          if (event.type === 'connected') event.link.send('hello');
        });
      const first = use();
      testScheduler.schedule(() => first.unsubscribe(), 5); // 'hello' arrived at 2: confirmed
      testScheduler.schedule(() => use().unsubscribe(), 6); // unconfirmed when it leaves: closed
      testScheduler.schedule(() => {
        expect(accepted).to.equal(1);
        expect(pair.openConnections).to.equal(0);
        server.unsubscribe();
      }, 10);
    });
  });

  it('rejects nonsense options with a TypeError', () => {
    const dial = () => of();
    expect(() => new ConnectionPool({ dial: 'x' as never })).to.throw(TypeError, /dial/);
    expect(() => new ConnectionPool({ dial, idlePerKey: -1 })).to.throw(TypeError, /idlePerKey/);
    expect(() => new ConnectionPool({ dial, openTotal: 0 })).to.throw(TypeError, /openTotal/);
    expect(() => new ConnectionPool({ dial, idleTimeout: NaN })).to.throw(TypeError, /idleTimeout/);
    expect(() => new ConnectionPool({ dial, maxWaiting: 1.5 })).to.throw(TypeError, /maxWaiting/);
    expect(() => new ConnectionPool({ dial, scheduler: {} as never })).to.throw(TypeError, /scheduler/);
  });
});
