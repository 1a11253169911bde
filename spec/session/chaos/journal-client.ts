// The client process of the journal chaos test: tcp + reconnectWith + resumable over a file
// journal (fsync 'always'). On start it reads the journal to learn where it was: the numbers it
// sends equal the resumable seq, so it goes on from the journal's `lastSeq + 1` (everything up to
// `lastSeq` was accepted by the journal and will reach the server). It reports over IPC what it
// restored, its first welcome, and each number the server sent, as delivered. The test SIGKILLs
// it at random and starts it again on the same file; on 'stop' it unsubscribes (no goodbye, the
// journal kept, as a crash leaves it), closes the journal and exits by itself.
//
// argv: <port> <journal path> [fsync mode: 'always' (the default here) or 'batch']
import type { Subscription } from 'rxjs';
import { policy, reconnectWith, resumable, type Link } from 'rx-lifeline';
import { fileJournal, tcp } from 'rx-lifeline/node';
import { sendNumbers, UP, type ClientCommand, type ClientReport } from './journal-parts.js';

const [portArg, path, fsyncArg = 'always'] = process.argv.slice(2);
if (portArg === undefined || path === undefined || process.send === undefined) {
  throw new Error('usage: fork journal-client.ts <port> <journal path>');
}
const report = (message: ClientReport) => process.send?.(message);

const journal = fileJournal(path, { fsync: fsyncArg === 'batch' ? 'batch' : 'always' });
const saved = journal.restore();
const first = (saved?.lastSeq ?? 0) + 1;
report({
  type: 'started',
  lastSeq: saved?.lastSeq ?? 0,
  received: saved?.received ?? 0,
  session: saved?.session ?? null,
});

const subscriptions: Subscription[] = [];
subscriptions.push(
  tcp({ port: Number(portArg) })
    .pipe(reconnectWith(policy.constant(5)), resumable<number>({ journal }))
    .subscribe({
      next: (event) => {
        if (event.type === 'connected') {
          report({ type: 'connected' });
          subscriptions.push(sendNumbers(event.link as Link<number>, first, UP));
        } else if (event.type === 'frame') report({ type: 'got', n: event.frame as number });
      },
      error: (error: unknown) =>
        report({
          type: 'problem',
          what: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        }),
      complete: () => report({ type: 'problem', what: 'the client session completed' }),
    }),
);

process.on('message', (message: ClientCommand) => {
  if (message.type !== 'stop') return;
  for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
  journal.close();
  process.disconnect();
});
