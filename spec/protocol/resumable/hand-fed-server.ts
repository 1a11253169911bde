// A session server whose connections a spec hands it one by one, each on a RecordingLink.
import {
  acceptSessions,
  type AcceptSessionsConfig,
  type ServerSession,
  type TransportEvent,
} from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';
import { Subject, VirtualTimeScheduler, type Observable } from 'rxjs';
import { fieldOf } from '../../support/private-fields.js';

/**
 * `acceptSessions` on virtual time over connections the spec makes with `connect()`: its sessions,
 * the errors their `events$` ended with, the server's subscription, and `unattached(connection)`,
 * the connections the registry holds an entry for besides its sessions' (see `#unattached`).
 */
export function handFedServer(config: AcceptSessionsConfig = {}) {
  const server$ = new Subject<{
    readonly type: 'connection';
    readonly connection: Observable<TransportEvent>;
  }>();
  const sessions: ServerSession[] = [];
  const ended: unknown[] = [];
  const running = acceptSessions(server$, { scheduler: new VirtualTimeScheduler(), ...config }).subscribe(
    (session) => {
      sessions.push(session);
      session.events$.subscribe({ error: (error: unknown) => ended.push(error) });
    },
  );
  const connect = () => {
    const connection = new Subject<TransportEvent>();
    const link = new RecordingLink();
    server$.next({ type: 'connection', connection });
    connection.next({ type: 'connected', link });
    return { connection, link };
  };
  const unattached = (connection: Subject<TransportEvent>) => {
    const attachment = (connection as unknown as { observers: unknown[] }).observers[0];
    return (fieldOf(fieldOf(fieldOf(attachment, 'owner'), 'registry'), 'unattached') as Set<unknown>).size;
  };
  return { sessions, ended, running, connect, unattached };
}
