import { expect } from 'chai';
import {
  ConnectionPool,
  ConnectionResetError,
  LinkClosedError,
  type Lease,
  type Transport,
  type TransportEvent,
} from 'rx-lifeline';
import { catchError, mergeMap, Observable, of } from 'rxjs';
import { connectionValues, newTestScheduler, ScriptedLink } from './support.js';

const HOST = 'tcp://files.example.com:7070';

/**
 * The LOCK/UNLOCK exchange of seed 002 on a lease, as letters: `l` when the lease arrives (LOCK is
 * sent), the frames, `r` when the reply `a` arrived and UNLOCK was sent and the lease released;
 * an error as `!Name`.
 */
function lockUnlock(lease$: Observable<Lease>, onLease: (lease: Lease) => void = () => undefined) {
  return lease$.pipe(
    mergeMap(
      (lease) =>
        new Observable<string>((out) => {
          onLease(lease);
          lease.link.send('LOCK');
          out.next('l');
          const frames = lease.frames$.subscribe({
            next: (frame) => {
              out.next(String(frame));
              if (frame === 'a') {
                lease.link.send('UNLOCK');
                out.next('r');
                lease.release();
              }
            },
            complete: () => out.complete(),
          });
          return frames;
        }),
    ),
    catchError((error: Error) => of(`!${error.name}`)),
  );
}

describe('ConnectionPool.lease', () => {
  it('a released lease returns its connection to the pool: the next lease reuses it', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connection = cold('-c-a-----a', connectionValues());
      const pool = new ConnectionPool({ dial: () => connection, idleTimeout: Infinity });
      // prettier-ignore
      {
        expectObservable(lockUnlock(pool.lease(HOST))).toBe('-l-(ar|)');
        expectObservable(lockUnlock(pool.lease(HOST)), '-----^').toBe('-----l---(ar|)');
        expectSubscriptions(connection.subscriptions).toBe('^ 19ms !');
      }
      testScheduler.schedule(() => pool.close(), 20);
    });
  });

  it('an interrupted lease is discarded: its connection is closed, and the retry dials a new one', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const interrupted = cold('-c-a', connectionValues());
      const fresh = cold('-c-a', connectionValues());
      const script: Transport[] = [interrupted, fresh];
      let dials = 0;
      const pool = new ConnectionPool({ dial: () => script[dials++]!, idleTimeout: Infinity });
      // The first exchange is cut at 2, after LOCK and before the reply: its connection goes with it.
      // prettier-ignore
      {
        expectObservable(lockUnlock(pool.lease(HOST)), '^-!').toBe('-l');
        expectObservable(lockUnlock(pool.lease(HOST)), '----^').toBe('-----l-(ar|)');
        expectSubscriptions(interrupted.subscriptions).toBe('^-!');
        expectSubscriptions(fresh.subscriptions).toBe('----^ 15ms !');
      }
      testScheduler.schedule(() => pool.close(), 20);
    });
  });

  it('a release with frames still unconfirmed discards the connection', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const link = new ScriptedLink();
      const connection = cold('-c-a', connectionValues(link));
      const pool = new ConnectionPool({ dial: () => connection, idleTimeout: Infinity });
      const slowWrite = (lease: Lease) => lease.frames$.subscribe(() => (link.unconfirmedFrames = 1));
      // prettier-ignore
      {
        expectObservable(lockUnlock(pool.lease(HOST), slowWrite)).toBe('-l-(ar|)');
        expectSubscriptions(connection.subscriptions).toBe('^--!');
      }
    });
  });

  it('discard() closes the connection; the lease completes and its link is revoked', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connection = cold('-c', connectionValues());
      const pool = new ConnectionPool({ dial: () => connection });
      let held: Lease | undefined;
      const lease$ = pool.lease(HOST).pipe(
        mergeMap((lease) => {
          held = lease;
          testScheduler.schedule(() => lease.discard(), 2);
          return of('l');
        }),
      );
      // prettier-ignore
      {
        expectObservable(lease$).toBe('-l-|');
        expectSubscriptions(connection.subscriptions).toBe('^--!');
      }
      testScheduler.flush();
      expect(held!.ended).to.equal(true);
      expect(() => held!.link.send('late')).to.throw(LinkClosedError);
    });
  });

  it('a connection that breaks during the lease errors the lease and completes frames$', () => {
    const testScheduler = newTestScheduler();
    const reset = new ConnectionResetError('reset', { phase: 'read', code: 'ECONNRESET' });
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connection = cold<TransportEvent>('-c-b-#', connectionValues(), reset);
      const pool = new ConnectionPool({ dial: () => connection });
      let framesEnded = -1;
      const watch = (lease: Lease) =>
        lease.frames$.subscribe({ complete: () => (framesEnded = testScheduler.now()) });
      // prettier-ignore
      {
        expectObservable(lockUnlock(pool.lease(HOST), watch)).toBe('-l-b-(e|)', { l: 'l', b: 'b', e: '!ConnectionResetError' });
        expectSubscriptions(connection.subscriptions).toBe('^----!');
      }
      testScheduler.flush();
      expect(framesEnded).to.equal(5);
      expect(pool.open).to.equal(0);
    });
  });

  it('a lease waits its turn behind openTotal, and gets the connection a released lease returns', () => {
    const testScheduler = newTestScheduler();
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const connection = cold('-c-a--a', connectionValues());
      const pool = new ConnectionPool({ dial: () => connection, openTotal: 1, idleTimeout: 0 });
      // prettier-ignore
      {
        expectObservable(lockUnlock(pool.lease(HOST))).toBe('-l-(ar|)');
        expectObservable(lockUnlock(pool.lease(HOST)), '-^').toBe('---l--(ar|)');
        expectSubscriptions(connection.subscriptions).toBe('^-----!');
      }
    });
  });
});
