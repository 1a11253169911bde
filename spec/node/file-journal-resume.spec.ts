// resumable({ journal: fileJournal(path) }): a client that stops without a goodbye, as a crashed
// process does, and a new one that opens the same file resume one session with nothing lost.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acceptSessions,
  memory,
  policy,
  reconnectWith,
  resumable,
  sentOutcomes,
  type Link,
  type SentOutcome,
} from 'rx-lifeline';
import { fileJournal, type FileSessionJournal } from 'rx-lifeline/node';
import { newTestScheduler } from '../operators/support.js';

describe('resumable with fileJournal', () => {
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lifeline-resume-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a client reopened on the same file resumes the session: each frame once, both ways', () => {
    const path = join(dir, 'session.journal');
    const testScheduler = newTestScheduler();
    const serverGot: string[] = [];
    const sessions: string[] = [];
    const clientGot: string[][] = [[], []];
    testScheduler.run(() => {
      const pair = memory({ latency: 5 });
      const server = acceptSessions<string>(pair.server).subscribe((session) => {
        sessions.push(session.id);
        session.events$.subscribe({
          next: (event) => {
            if (event.type !== 'frame') return;
            serverGot.push(event.frame);
            session.link.send(event.frame.toUpperCase());
          },
          error: () => undefined,
        });
      });
      const run = (n: 0 | 1, sends: [at: number, frames: string[]][], stopAt: number) => {
        const journal = fileJournal(path);
        let link: Link<string> | undefined;
        const client = pair.transport
          .pipe(reconnectWith(policy.constant(10)), resumable<string>({ journal }))
          .subscribe((event) => {
            if (event.type === 'connected') link = event.link as Link<string>;
            else if (event.type === 'frame') clientGot[n]!.push(event.frame as string);
          });
        for (const [at, frames] of sends)
          testScheduler.schedule(() => frames.forEach((f) => link!.send(f)), at);
        // The process dies: no goodbye, the file closed as the kernel closes it.
        testScheduler.schedule(() => (client.unsubscribe(), journal.close()), stopAt);
      };
      run(
        0,
        [
          [20, ['a', 'b']],
          [40, ['c', 'd']],
        ],
        40,
      );
      testScheduler.schedule(() => run(1, [[50, ['e']]], 150), 100);
      testScheduler.schedule(() => server.unsubscribe(), 200);
    });
    expect(sessions).to.have.length(1);
    expect(serverGot).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(clientGot).to.deep.equal([
      ['A', 'B'],
      ['C', 'D', 'E'],
    ]);
  });
});

describe('resumable with fileJournal: the commitment point after a crash', () => {
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lifeline-commit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  type Message = { id: number; text: string };
  const idOf = (frame: unknown) => (frame as Partial<Message>).id;

  it('tells delivered, pending and unknown apart; resending only the unknown ones, the server gets each once', () => {
    const path = join(dir, 'session.journal');
    const testScheduler = newTestScheduler();
    const serverGot: number[] = [];
    const sessions: string[] = [];
    let outcomes: SentOutcome[] = [];
    testScheduler.run(() => {
      const pair = memory({ latency: 5 });
      const server = acceptSessions<Message>(pair.server).subscribe((session) => {
        sessions.push(session.id);
        session.events$.subscribe({
          next: (event) => {
            if (event.type === 'frame') serverGot.push(event.frame.id);
          },
          error: () => undefined,
        });
      });
      const start = (journal: FileSessionJournal, onLink: (link: Link<Message>) => void) =>
        pair.transport
          .pipe(reconnectWith(policy.constant(10)), resumable<Message>({ journal }))
          .subscribe((event) => {
            if (event.type === 'connected') onLink(event.link as Link<Message>);
          });
      const message = (id: number): Message => ({ id, text: `m${id}` });

      // The first process: 1 and 2 early (the server acks them within its ack interval), 3 and 4
      // later, and 5 handed over in the very turn the process dies, before the journal's commit.
      const journal = fileJournal(path);
      let link: Link<Message> | undefined;
      const client = start(journal, (l) => (link = l));
      testScheduler.schedule(() => [1, 2].forEach((id) => link!.send(message(id))), 20);
      testScheduler.schedule(() => [3, 4].forEach((id) => link!.send(message(id))), 400);
      testScheduler.schedule(() => {
        link!.send(message(5));
        // SIGKILL now: the file holds what was committed, not what the journal still held.
        const onDisk = readFileSync(path);
        client.unsubscribe();
        journal.close();
        writeFileSync(path, onDisk);
      }, 420);

      // The next process: asks what became of 1…5, resumes, and sends again only what is unknown.
      testScheduler.schedule(() => {
        const again = fileJournal(path);
        const report = sentOutcomes(again.restore(), idOf);
        outcomes = [1, 2, 3, 4, 5].map((id) => report.of(id));
        const next = start(again, (l) =>
          [1, 2, 3, 4, 5].filter((id) => report.of(id) === 'unknown').forEach((id) => l.send(message(id))),
        );
        testScheduler.schedule(() => (next.unsubscribe(), again.close()), 400);
      }, 500);
      testScheduler.schedule(() => server.unsubscribe(), 1_000);
    });
    expect(outcomes).to.deep.equal(['delivered', 'delivered', 'pending', 'pending', 'unknown']);
    expect(sessions, 'one session, resumed').to.have.length(1);
    expect(serverGot).to.deep.equal([1, 2, 3, 4, 5]);
  });
});
