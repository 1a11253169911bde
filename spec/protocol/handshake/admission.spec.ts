import { expect } from 'chai';
import fc from 'fast-check';
import type { HandshakeRefusedError } from 'rx-lifeline';
import {
  acceptHandshake,
  classifyFailure,
  handshake,
  HandshakeAdmission,
  memory,
  policy,
  reconnectWith,
} from 'rx-lifeline';
import { seededRandom } from 'rx-lifeline/testing';
import { catchError, EMPTY, mergeMap, VirtualTimeScheduler } from 'rxjs';
import { newTestScheduler } from '../../operators/support.js';

/** A clock that only moves when told. */
function clock() {
  const scheduler = new VirtualTimeScheduler();
  return { scheduler, at: (ms: number) => ((scheduler as unknown as { frame: number }).frame = ms) };
}

describe('HandshakeAdmission', () => {
  it('admits a burst, then refuses with hints that queue the refused one slot apart', () => {
    const { scheduler } = clock();
    const admission = new HandshakeAdmission({ perSecond: 10, burst: 3, scheduler });
    const answers = Array.from({ length: 7 }, () => admission.admit());
    // 3 admitted; the bucket refills one token per 100 ms: the refused come back at 100, 200, …
    expect(answers).to.deep.equal([undefined, undefined, undefined, 100, 200, 300, 400]);
    expect(admission.stats).to.deep.equal({ admitted: 3, refused: 4 });
  });

  it('admits the refused when they come back at their hint, one per slot', () => {
    const { scheduler, at } = clock();
    const admission = new HandshakeAdmission({ perSecond: 10, burst: 1, scheduler });
    expect(admission.admit()).to.equal(undefined);
    const hints = [admission.admit(), admission.admit(), admission.admit()] as number[];
    expect(hints).to.deep.equal([100, 200, 300]);
    for (const hint of hints) {
      at(hint);
      expect(admission.admit(), `back at ${hint}`).to.equal(undefined);
    }
  });

  it('never asks for more than maxWait, and forgets a queue that has passed', () => {
    const { scheduler, at } = clock();
    const admission = new HandshakeAdmission({ perSecond: 1, burst: 1, maxWait: 2_500, scheduler });
    admission.admit();
    expect([admission.admit(), admission.admit(), admission.admit(), admission.admit()]).to.deep.equal([
      1_000, 2_000, 2_500, 2_500,
    ]);
    at(60_000);
    expect(admission.admit()).to.equal(undefined);
    expect(admission.admit()).to.equal(1_000);
  });

  it('property: over any arrivals, admits at most burst + rate × time, and every hint is in [1, maxWait]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 300 }),
        (perSecond, burst, gaps) => {
          const { scheduler, at } = clock();
          const admission = new HandshakeAdmission({ perSecond, burst, maxWait: 10_000, scheduler });
          let now = 0;
          let admitted = 0;
          for (const gap of gaps) {
            at((now += gap));
            const hint = admission.admit();
            if (hint === undefined) admitted++;
            else expect(hint).to.be.within(1, 10_000);
          }
          expect(admitted).to.be.at.most(Math.floor(burst + (perSecond * now) / 1000) + 1e-9);
        },
      ),
    );
  });

  it('says what is wrong with its options', () => {
    expect(() => new HandshakeAdmission({ perSecond: 0 })).to.throw(
      TypeError,
      'perSecond must be a number > 0',
    );
    expect(() => new HandshakeAdmission({ perSecond: 5, bust: 3 } as never)).to.throw(
      TypeError,
      /did you mean 'burst'/,
    );
    expect(() => acceptHandshake({ layers: [], admission: {} as never })).to.throw(
      TypeError,
      'acceptHandshake: admission must be a HandshakeAdmission',
    );
  });

  it("refuses the excess 'overloaded' with the hint (transient), and a storm of clients all get in, spread at the rate", () => {
    const testScheduler = newTestScheduler();
    const admittedAt: number[] = [];
    let dials = 0;
    let refusal: HandshakeRefusedError | undefined;
    testScheduler.run(() => {
      const endpoint = memory({ latency: 1 });
      const admission = new HandshakeAdmission({ perSecond: 20, burst: 5 });
      endpoint.server
        .pipe(
          mergeMap((event) => {
            if (event.type !== 'connection') return EMPTY;
            dials++;
            return event.connection.pipe(
              acceptHandshake({ layers: [], admission }),
              catchError(() => EMPTY),
            );
          }),
        )
        .subscribe((event) => {
          if (event.type === 'connected') admittedAt.push(testScheduler.now());
        });
      // 100 clients at once, each with the README's policy (exponential 100 ms → 30 s, full jitter).
      const random = seededRandom(7);
      for (let i = 0; i < 100; i++) {
        const client = endpoint.transport.pipe(
          handshake({ layers: [] }),
          reconnectWith(policy.exponential({ initial: 100, max: 30_000 }).jitter('full', { random })),
        );
        const subscription = client.subscribe((event) => {
          if (event.type === 'disconnected') refusal ??= event.error as HandshakeRefusedError;
          if (event.type === 'connected') testScheduler.schedule(() => subscription.unsubscribe(), 1);
        });
      }
    });
    expect(refusal!.reason).to.equal('overloaded');
    expect(refusal!.retryAfterMs).to.be.a('number');
    expect(classifyFailure(refusal)).to.equal('transient');
    expect(admittedAt).to.have.length(100);
    // 5 at once, then 20 per second: the last one is in by 95 / 20 s (plus a slot of slack).
    const last = Math.max(...admittedAt);
    expect(last).to.be.within(4_700, 5_200);
    // The 95 refused each came back once, at its hint, and got in: told when, none dialled blindly.
    expect(dials).to.equal(100 + 95);
  });
});
