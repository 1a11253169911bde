// SessionDrain on its own: the part a session server plays in its admission's drain, over a
// registry of hand-made sessions whose store writes become durable when the test says.
import { expect } from 'chai';
import { SessionDrain } from '../../../lib/protocol/resumable/session-drain.js';
import type { SessionRegistry } from '../../../lib/protocol/resumable/session-registry.js';

/** A session as the drain reads it: attached or not, its store writes durable when `durable()` says. */
interface FakeSession {
  readonly name: string;
  connection: object | undefined;
  /** Who asked it for durability, in order. */
  readonly asked: string[];
  /** Calls back those waiting for it to be durable. */
  durable(): void;
  readonly side: { whenDurable(then: () => void): void };
}

/** A registry of `sessions`, as the drain uses one: it lists them, hands over, and ends them. */
function registryOf(...sessions: FakeSession[]) {
  const log: string[] = [];
  const held = new Set(sessions);
  const registry = {
    onEnded: undefined as ((session: FakeSession) => void) | undefined,
    all: () => held.values(),
    handOver: () => log.push('handed over'),
    end(session: FakeSession) {
      if (!held.delete(session)) return;
      log.push(`ended ${session.name}`);
      registry.onEnded?.(session);
    },
  };
  const drain = new SessionDrain(registry as unknown as SessionRegistry<unknown, unknown>);
  return { registry, drain, log };
}

function session(name: string, attached: boolean, durableNow = false): FakeSession {
  const waiting: (() => void)[] = [];
  const fake: FakeSession = {
    name,
    connection: attached ? {} : undefined,
    asked: [],
    durable: () => waiting.splice(0).forEach((then) => then()),
    side: {
      whenDurable: (then) => {
        fake.asked.push('whenDurable');
        if (durableNow) then();
        else waiting.push(then);
      },
    },
  };
  return fake;
}

describe('SessionDrain', () => {
  it('before the go-aways, waits only for the sessions with a connection', () => {
    const attached = session('attached', true);
    const away = session('away', false);
    const { drain, log } = registryOf(attached, away);
    drain.beforeGoAway(() => log.push('ready'));
    expect(away.asked, 'a session without a connection writes nothing to one').to.deep.equal([]);
    expect(log).to.deep.equal([]);
    attached.durable();
    expect(log).to.deep.equal(['ready']);
  });

  it('answers at once, and once, when it has no session to wait for', () => {
    const { drain, log } = registryOf(session('away', false));
    drain.beforeGoAway(() => log.push('ready'));
    expect(log).to.deep.equal(['ready']);
    const { drain: empty, log: emptyLog } = registryOf();
    empty.afterClose(() => emptyLog.push('done'));
    expect(emptyLog).to.deep.equal(['handed over', 'done']);
  });

  it('answers once when every session is durable at once', () => {
    const { drain, log } = registryOf(session('a', true, true), session('b', true, true));
    drain.beforeGoAway(() => log.push('ready'));
    drain.afterClose(() => log.push('done'));
    expect(log).to.deep.equal(['ready', 'handed over', 'ended a', 'ended b', 'done']);
  });

  it('after the close, ends each session once durable, and is done once all ended (or ended otherwise)', () => {
    const a = session('a', false);
    const b = session('b', false);
    const { drain, registry, log } = registryOf(a, b);
    drain.afterClose(() => log.push('done'));
    a.durable();
    expect(log).to.deep.equal(['handed over', 'ended a']);
    // b's store refused a write: it ended on its own, and holds nothing back.
    registry.end(b);
    expect(log).to.deep.equal(['handed over', 'ended a', 'ended b', 'done']);
  });

  it('asks nothing more of the sessions once its step is over, and a late answer of the step before changes nothing', () => {
    const a = session('a', true);
    const b = session('b', true);
    const { drain, registry, log } = registryOf(a, b);
    // a's answer ends b (its store failed meanwhile): the step is over before b's turn.
    a.side.whenDurable = (then) => {
      a.asked.push('whenDurable');
      registry.end(b);
      then();
    };
    drain.beforeGoAway(() => log.push('ready'));
    expect(log).to.deep.equal(['ended b', 'ready']);
    expect(b.asked).to.deep.equal([]);
  });

  it('a step begun in the answer of the one before (no connection left to close) waits for its own sessions', () => {
    const a = session('a', true);
    const { drain, log } = registryOf(a);
    // Durable at once for the go-away; its next writes are not stored yet when every connection closed.
    a.side.whenDurable = (then) => {
      a.asked.push('whenDurable');
      a.side.whenDurable = (later) => (a.asked.push('whenDurable'), (a.durable = later));
      then();
    };
    drain.beforeGoAway(() => {
      log.push('ready');
      drain.afterClose(() => log.push('done'));
    });
    expect(log).to.deep.equal(['ready', 'handed over']);
    a.durable();
    expect(log).to.deep.equal(['ready', 'handed over', 'ended a', 'done']);
  });
});
