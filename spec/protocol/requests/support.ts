// Helpers for the requests specs: a serving memory server and a requesting client.
import {
  cancelPending,
  heartbeat,
  memory,
  policy,
  reconnectWith,
  resumable,
  acceptSessions,
  serveRequests,
  type AcceptSessionsConfig,
  type CancelPendingConfig,
  type ConnectedEvent,
  type FrameEvent,
  type HeartbeatConfig,
  type MemoryPair,
  type RequestHandler,
  type RequestLink,
  type RetryPolicy,
  type ServeRequestsConfig,
  type TransportEvent,
} from 'rx-lifeline';
import { catchError, EMPTY, mergeMap, Subject, type Observable, type Subscription } from 'rxjs';

/**
 * Serves `handler` on every connection of `pair`, plain frames echoed upper-cased; each
 * connection through `heartbeat(options.heartbeat)` first when given; `options.config` goes to
 * `serveRequests`.
 */
export function serveOn(
  pair: MemoryPair,
  handler: RequestHandler,
  options: { heartbeat?: HeartbeatConfig; config?: ServeRequestsConfig } = {},
): Observable<unknown> {
  return pair.server.pipe(
    mergeMap((event) => {
      if (event.type !== 'connection') return EMPTY;
      const connection = options.heartbeat
        ? event.connection.pipe(heartbeat(options.heartbeat))
        : event.connection;
      return serveAndEcho(connection, handler, options.config);
    }),
  );
}

/**
 * Serves `handler` on one connection's or session's events and echoes plain frames upper-cased on
 * the link serveRequests hands out (it wraps them so they travel beside the requests). A stream
 * that fails (a cut connection, an expired session) ends here; the server goes on.
 */
function serveAndEcho(
  events$: Observable<{ readonly type: string }>,
  handler: RequestHandler,
  config?: ServeRequestsConfig,
): Observable<never> {
  let link: { send(frame: unknown): boolean } | undefined;
  return events$.pipe(
    serveRequests(handler, config),
    mergeMap((e) => {
      if (e.type === 'connected') link = (e as ConnectedEvent<unknown>).link;
      else if (e.type === 'frame') link?.send(String((e as FrameEvent<unknown>).frame).toUpperCase());
      return EMPTY;
    }),
    catchError(() => EMPTY),
  );
}

/**
 * Serves `handler` on every session of `pair` (resumable server), plain frames echoed
 * upper-cased; `config` goes to `acceptSessions` (acks every 5 ms unless it says otherwise).
 */
export function serveSessionsOn(
  pair: MemoryPair,
  handler: RequestHandler,
  config: AcceptSessionsConfig = {},
): Observable<unknown> {
  return acceptSessions(pair.server, { ackInterval: 5, ...config }).pipe(
    mergeMap((session) => serveAndEcho(session.events$, handler)),
  );
}

/**
 * A client: optionally `heartbeat`, `reconnectWith(constant(10))`, optionally `resumable`, then
 * `cancelPending`.
 */
export function clientOn(
  pair: MemoryPair,
  options: {
    resumable?: boolean;
    config?: CancelPendingConfig;
    events?: string[];
    policy?: RetryPolicy;
    heartbeat?: HeartbeatConfig;
  } = {},
): { link: RequestLink<string>; subscription: Subscription } {
  const transport = options.heartbeat ? pair.transport.pipe(heartbeat(options.heartbeat)) : pair.transport;
  const session = transport.pipe(reconnectWith(options.policy ?? policy.constant(10)));
  const piped = options.resumable
    ? session.pipe(resumable({ ackInterval: 5 }), cancelPending<string>(options.config))
    : session.pipe(cancelPending<string>(options.config));
  let link: RequestLink<string> | undefined;
  const subscription = piped.subscribe({
    next: (event) => {
      if (event.type === 'request-link') link = event.link as RequestLink<string>;
      else options.events?.push(event.type === 'frame' ? `frame:${String(event.frame)}` : event.type);
    },
    error: (error: Error) => options.events?.push(`error:${error.name}`),
    complete: () => options.events?.push('complete'),
  });
  return { link: link!, subscription };
}

/**
 * `cancelPending(config)` on a source driven by hand (`source.next` a connected event, a
 * disconnected one, …): its request link, which it hands out at once, and the stream's error.
 */
export function byHand(config?: CancelPendingConfig): {
  source: Subject<TransportEvent>;
  link: RequestLink;
  error: () => unknown;
  subscription: Subscription;
} {
  const source = new Subject<TransportEvent>();
  let link: RequestLink | undefined;
  let error: unknown;
  const subscription = source.pipe(cancelPending(config)).subscribe({
    next: (event) => {
      if (event.type === 'request-link') link = event.link;
    },
    error: (e: unknown) => (error = e),
  });
  return { source, link: link!, error: () => error, subscription };
}

export { memory };
