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
  type HeartbeatConfig,
  type MemoryEndpoint,
  type RequestHandler,
  type RequestLink,
  type RetryPolicy,
} from 'rx-lifeline';
import { catchError, EMPTY, mergeMap, type Observable, type Subscription } from 'rxjs';

/**
 * Serves `handler` on every connection of `endpoint`, plain frames echoed upper-cased; each
 * connection through `heartbeat(options.heartbeat)` first when given.
 */
export function serveOn(
  endpoint: MemoryEndpoint,
  handler: RequestHandler,
  options: { heartbeat?: HeartbeatConfig } = {},
): Observable<unknown> {
  return endpoint.server.pipe(
    mergeMap((event) => {
      if (event.type !== 'connection') return EMPTY;
      let link: { send(frame: unknown): boolean } | undefined;
      const connection = options.heartbeat
        ? event.connection.pipe(heartbeat(options.heartbeat))
        : event.connection;
      return connection.pipe(
        serveRequests(handler),
        mergeMap((e) => {
          if (e.type === 'connected') link = e.link;
          else if (e.type === 'frame') link?.send(String(e.frame).toUpperCase());
          return EMPTY;
        }),
        // A cut connection ends here; the server listens on.
        catchError(() => EMPTY),
      );
    }),
  );
}

/**
 * Serves `handler` on every session of `endpoint` (resumable server), plain frames echoed
 * upper-cased; `config` goes to `acceptSessions` (acks every 5 ms unless it says otherwise).
 */
export function serveSessionsOn(
  endpoint: MemoryEndpoint,
  handler: RequestHandler,
  config: AcceptSessionsConfig = {},
): Observable<unknown> {
  return acceptSessions(endpoint.server, { ackInterval: 5, ...config }).pipe(
    mergeMap((session) => {
      // serveRequests' link wraps plain frames so they travel beside the requests.
      let link: { send(frame: unknown): boolean } | undefined;
      return session.events$.pipe(
        serveRequests(handler),
        mergeMap((e) => {
          if (e.type === 'connected') link = e.link;
          else if (e.type === 'frame') link?.send(String(e.frame).toUpperCase());
          return EMPTY;
        }),
        // An expired session ends here; the server accepts on.
        catchError(() => EMPTY),
      );
    }),
  );
}

/**
 * A client: optionally `heartbeat`, `reconnectWith(constant(10))`, optionally `resumable`, then
 * `cancelPending`.
 */
export function clientOn(
  endpoint: MemoryEndpoint,
  options: {
    resumable?: boolean;
    config?: CancelPendingConfig;
    events?: string[];
    policy?: RetryPolicy;
    heartbeat?: HeartbeatConfig;
  } = {},
): { link: RequestLink<string>; subscription: Subscription } {
  const transport = options.heartbeat
    ? endpoint.transport.pipe(heartbeat(options.heartbeat))
    : endpoint.transport;
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

export { memory };
