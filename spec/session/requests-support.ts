// Helpers for the requests specs: a serving memory server and a requesting client.
import {
  cancelPending,
  memory,
  policy,
  reconnectWith,
  resumable,
  acceptSessions,
  serveRequests,
  type CancelPendingConfig,
  type MemoryEndpoint,
  type RequestHandler,
  type RequestLink,
  type RetryPolicy,
} from 'lifeline';
import { catchError, EMPTY, mergeMap, type Observable, type Subscription } from 'rxjs';

/** Serves `handler` on every connection of `endpoint`, plain frames echoed upper-cased. */
export function serveOn(endpoint: MemoryEndpoint, handler: RequestHandler): Observable<unknown> {
  return endpoint.server.pipe(
    mergeMap((event) => {
      if (event.type !== 'connection') return EMPTY;
      let link: { send(frame: unknown): boolean } | undefined;
      return event.connection.pipe(
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

/** Serves `handler` on every session of `endpoint` (resumable server). */
export function serveSessionsOn(endpoint: MemoryEndpoint, handler: RequestHandler): Observable<unknown> {
  return acceptSessions(endpoint.server, { ackInterval: 5 }).pipe(
    mergeMap((session) =>
      session.events$.pipe(
        serveRequests(handler),
        mergeMap(() => EMPTY),
      ),
    ),
  );
}

/** A client: `reconnectWith(constant(10))`, optionally `resumable`, then `cancelPending`. */
export function clientOn(
  endpoint: MemoryEndpoint,
  options: {
    resumable?: boolean;
    config?: CancelPendingConfig;
    events?: string[];
    policy?: RetryPolicy;
  } = {},
): { link: RequestLink<string>; subscription: Subscription } {
  const session = endpoint.transport.pipe(reconnectWith(options.policy ?? policy.constant(10)));
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
