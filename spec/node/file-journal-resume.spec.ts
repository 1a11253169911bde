// resumable({ journal: fileJournal(path) }): a client that stops without a goodbye, as a crashed
// process does, and a new one that opens the same file resume one session with nothing lost.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptSessions, memory, policy, reconnectWith, resumable, type Link } from 'rx-lifeline';
import { fileJournal } from 'rx-lifeline/node';
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
      const endpoint = memory({ latency: 5 });
      const server = acceptSessions<string>(endpoint.server).subscribe((session) => {
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
        const client = endpoint.transport
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
