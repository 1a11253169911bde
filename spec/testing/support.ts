// Helpers for the testing-kit specs.
import { expect } from 'chai';
import { catchError, defer, EMPTY, ignoreElements, mergeMap, tap, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { Link } from 'rx-lifeline';
import type { SimulatedNetwork } from 'rx-lifeline/testing';

/** A TestScheduler that compares with chai's deep equality. */
export function newTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

/** A server that answers each frame with the frame upper-cased; a failing connection ends quietly. */
export function upperCaseServer(network: SimulatedNetwork<string>): Subscription {
  return network.server
    .pipe(
      mergeMap((event) => {
        if (event.type !== 'connection') return EMPTY;
        return defer(() => {
          let link: Link<string> | undefined;
          return event.connection.pipe(
            tap((e) => {
              if (e.type === 'connected') link = e.link;
              else link?.send(e.frame.toUpperCase());
            }),
            ignoreElements(),
            catchError(() => EMPTY),
          );
        });
      }),
    )
    .subscribe();
}
