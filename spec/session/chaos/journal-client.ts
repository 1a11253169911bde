// The client process of the journal chaos test: tcp + reconnectWith + resumable over a file
// journal + cancelPending. It hands over items 1 … UP in order, each a plain message or (every
// REQUEST_EVERY-th) a request whose answer names it. On start, the restored event says where it
// was: sentOutcomes over the journal's state (in the application's terms) tells which items
// reached the journal (they will reach the server: not handed again) and which never did (handed
// again, a request as a new one); answers to the requests an earlier process made arrive as
// recovered-response events. It reports over IPC what it restored, its first welcome, each number
// the server sent and each answer, as delivered. The test SIGKILLs it at random and starts it
// again on the same file; on 'stop' it unsubscribes (no goodbye, the journal kept, as a crash
// leaves it), closes the journal and exits by itself.
//
// argv: <port> <journal path> [fsync mode: 'always' (the default here) or 'batch']
import type { Subscription } from 'rxjs';
import {
  cancelPending,
  policy,
  reconnectWith,
  RequestCancelledError,
  resumable,
  sentOutcomes,
  type RecoveredResponseEvent,
  type RequestLink,
  type RequestsRestoredEvent,
} from 'rx-lifeline';
import { fileJournal, tcp } from 'rx-lifeline/node';
import {
  answer,
  sendRequestsAndNumbers,
  UP,
  type ClientCommand,
  type ClientReport,
} from './journal-parts.js';

const [portArg, path, fsyncArg = 'always'] = process.argv.slice(2);
if (portArg === undefined || path === undefined || process.send === undefined) {
  throw new Error('usage: fork journal-client.ts <port> <journal path>');
}
const report = (message: ClientReport) => process.send?.(message);
const problem = (what: unknown) =>
  report({ type: 'problem', what: what instanceof Error ? `${what.name}: ${what.message}` : String(what) });

const journal = fileJournal(path, { fsync: fsyncArg === 'batch' ? 'batch' : 'always' });
/** The application's id of an item: the item itself (a plain message, or a request's payload). */
const idOf = (value: unknown) => (typeof value === 'number' ? value : undefined);
let first = 1;
let stopping = false;

/** Where this process goes on: after the newest item the journal accepted. */
const onRestored = (event: RequestsRestoredEvent) => {
  const { state } = event;
  const kept = [...state.frames, ...(state.lastAcked ? [state.lastAcked] : [])].map(
    (f) => idOf(f.frame) ?? 0,
  );
  first = Math.max(0, ...kept) + 1;
  const outcomes = sentOutcomes(state, idOf);
  // The commitment point, by the application's ids: everything before `first` reached the journal.
  if (first > 1 && outcomes.of(first - 1) === 'unknown') problem(`item ${first - 1} reads unknown`);
  if (outcomes.of(first) !== 'unknown') problem(`item ${first} reads ${outcomes.of(first)}`);
  report({
    type: 'started',
    lastSeq: state.lastSeq,
    received: state.received,
    session: state.session ?? null,
    first,
    pendingRequests: event.requests.length,
    lastRequestId: event.lastRequestId,
  });
};

let lastRequestId = 0;
const onRecovered = (event: RecoveredResponseEvent) => {
  if (event.part !== 'value') {
    problem(`recovered ${event.part} for request ${event.id}`);
    return;
  }
  if (event.id > lastRequestId) problem(`recovered request ${event.id}, above ${lastRequestId}`);
  const n = -(event.value as number);
  if ('payload' in event && event.payload !== n)
    problem(`recovered ${event.id}: payload ${String(event.payload)}, answer ${n}`);
  report({ type: 'answered', n, value: event.value, recoveredId: event.id, withPayload: 'payload' in event });
};

const subscriptions: Subscription[] = [];
let link: RequestLink<number> | undefined;
let restored = false;
subscriptions.push(
  tcp({ port: Number(portArg) })
    .pipe(
      reconnectWith(policy.constant(5)),
      resumable({ journal }),
      cancelPending<number>({ timeout: Infinity }),
    )
    .subscribe({
      next: (event) => {
        if (event.type === 'request-link') link = event.link as RequestLink<number>;
        else if (event.type === 'restored') {
          restored = true;
          lastRequestId = event.lastRequestId;
          onRestored(event);
        } else if (event.type === 'connected') {
          if (!restored) {
            restored = true;
            report({
              type: 'started',
              lastSeq: 0,
              received: 0,
              session: null,
              first,
              pendingRequests: 0,
              lastRequestId: 0,
            });
          }
          report({ type: 'connected' });
          subscriptions.push(
            sendRequestsAndNumbers(
              link!,
              first,
              UP,
              (n, value) => {
                if (value !== answer(n)) problem(`request ${n} answered ${String(value)}`);
                report({ type: 'answered', n, value });
              },
              (n, error) => {
                if (!(stopping && RequestCancelledError.is(error))) problem(`request ${n}: ${String(error)}`);
              },
            ),
          );
        } else if (event.type === 'frame') report({ type: 'got', n: event.frame as number });
        else if (event.type === 'recovered-response') onRecovered(event);
      },
      error: problem,
      complete: () => problem('the client session completed'),
    }),
);

process.on('message', (message: ClientCommand) => {
  if (message.type !== 'stop') return;
  stopping = true;
  for (const subscription of subscriptions.reverse()) subscription.unsubscribe();
  journal.close();
  process.disconnect();
});
