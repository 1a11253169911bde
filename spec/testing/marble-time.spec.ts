import { expect } from 'chai';
import { concat, map, of, timer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { marbleTime, seededRandom } from 'rx-lifeline/testing';

/** `x` at once, `y` after `wait1`, `c` after `wait2` more: the scheduler adds the waits. */
const afterWaits = (wait1: number, wait2: number): Observable<string> =>
  concat(of('x'), timer(wait1).pipe(map(() => 'y')), timer(wait2).pipe(map(() => 'c')));

/** Whether `diagram` describes `afterWaits(wait1, wait2)` exactly, under `TestScheduler.run`. */
function matches(wait1: number, wait2: number, diagram: string): boolean {
  let same = false;
  const scheduler = new TestScheduler((actual, expected) => {
    same = JSON.stringify(actual) === JSON.stringify(expected);
  });
  scheduler.run(({ expectObservable }) => expectObservable(afterWaits(wait1, wait2)).toBe(diagram));
  return same;
}

describe('marbleTime (computed times written into marble diagrams)', () => {
  it('puts each event on the float the scheduler computes, where hand-written sums miss it', () => {
    // The scheduler puts `c` at 1.05 + 1.23 = 2.2800000000000002; subtracting the frames by hand
    // lands on 2.28.
    const [wait1, wait2] = [1.05, 1.23];
    expect(matches(wait1, wait2, `x ${wait1 - 1}ms y ${wait2 - 1}ms (c|)`)).to.equal(false);
    expect(matches(wait1, wait2, marbleTime`x ${wait1} y ${wait1 + wait2} (c|)`)).to.equal(true);
  });

  it('matches seeded jittered waits, including waits a fraction of a microsecond past a frame', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 200; i++) {
      const wait1 = 1 + random() * 100;
      const wait2 = 1 + random() * 2000;
      expect(
        matches(wait1, wait2, marbleTime`x ${wait1} y ${wait1 + wait2} (c|)`),
        `${wait1}, ${wait2}`,
      ).to.equal(true);
    }
    // A wait a tenth of a microsecond past a frame prints as 1.0000000005838672e-7, which the
    // parser does not read as a time.
    const tiny = 1 + 1e-7;
    expect(matches(tiny, tiny, `x ${tiny - 1}ms y ${tiny - 1}ms (c|)`)).to.equal(false);
    expect(matches(tiny, tiny, marbleTime`x ${tiny} y ${tiny + tiny} (c|)`)).to.equal(true);
    expect(marbleTime`a ${tiny} b`).to.equal('a 0.00000010000000005838672ms b');
  });

  it('counts frames as TestScheduler.run does: spaces and ! none, groups and progressions', () => {
    expect(marbleTime`(ab) ${10} c 10ms d ${30} e`).to.equal('(ab) 6ms c 10ms d 8ms e');
    expect(marbleTime`${5} ^ ${1001} !`).to.equal('5ms ^ 995ms !');
    expect(marbleTime`a ${1} b`).to.equal('a b');
    expect(marbleTime`${0} a`).to.equal(' a');
    // Inside run(), where a frame is 1 ms.
    const log = new TestScheduler(() => {}).run(() =>
      TestScheduler.parseMarblesAsSubscriptions(marbleTime`${60.1} ^ ${1001} !`, true),
    );
    expect({ ...log }).to.deep.equal({ subscribedFrame: 60.1, unsubscribedFrame: 1001 });
  });

  it('refuses a time before the frame the diagram has reached, or not a finite number', () => {
    expect(() => marbleTime`ab ${1} c`).to.throw(TypeError, 'marbleTime: time 1 must be a number ≥ 2, got 1');
    expect(() => marbleTime`a ${Number.NaN}`).to.throw(TypeError, /^marbleTime: time 1 must be a number/);
    expect(() => marbleTime`a ${Infinity}`).to.throw(
      TypeError,
      'marbleTime: time 1 must be finite, got Infinity',
    );
  });
});
