/**
 * rx-lifeline: message streams that survive bad networks, on RxJS 7. This entry is browser-safe
 * and holds everything but the Node sockets and the test kit: the transport model and its errors,
 * the msgpackr codec and framing, the memory, WebSocket client and HTTP transports, retry policies
 * (backoff, jitter, classification, circuit breaker, retry budget), the operators `reconnectWith`,
 * `retryWith`, `shareConnection` and `heartbeat`, resumable sessions (`resumable`,
 * `acceptSessions`), requests (`cancelPending`, `serveRequests`), the `openSession()` facade, and
 * connection pools, endpoint sets and fanout.
 * @packageDocumentation
 * @module rx-lifeline
 */
export {
  LifelineError,
  ConnectionError,
  DialError,
  ConnectionResetError,
  PeerClosedError,
  ProtocolError,
  FrameTooLargeError,
  MessageTooLargeError,
  FrameTimeoutError,
  ServerCapacityError,
  LinkClosedError,
  SendBufferFullError,
  EncodeError,
  ListenError,
  UNKNOWN_WRITE,
} from './core/errors.js';
export type {
  WriteState,
  WriteReport,
  ConnectionPhase,
  ConnectionErrorOptions,
  RefusalReason,
} from './core/errors.js';
export type {
  Link,
  LinkInfo,
  ConnectedEvent,
  HandshakeResult,
  FrameEvent,
  TransportEvent,
  Transport,
  ListeningEvent,
  AcceptedEvent,
  RefusedEvent,
  ConnectionErrorEvent,
  ServerEvent,
  LinkOptions,
} from './core/transport.js';
export { msgpackCodec } from './codec/codec.js';
export type { Codec, MsgpackCodecOptions } from './codec/codec.js';
export { DecodeBudgetError } from './codec/errors.js';
export { FrameDecoder, encodeFrames, LENGTH_PREFIX_BYTES, DEFAULT_MAX_FRAME_BYTES } from './codec/framing.js';
export type { FrameDecoderOptions } from './codec/framing.js';
export { memory } from './transports/memory.js';
export type { MemoryOptions, MemoryFaults, MemoryPair, MemoryDirection } from './transports/memory.js';
export { websocket } from './transports/websocket.js';
export type {
  WebSocketOptions,
  WebSocketLike,
  WebSocketConstructor,
  WebSocketCloseEventLike,
} from './transports/websocket.js';
// Retry policies: backoff, jitter, failure classification, circuit breaker, retry budget.
export { constantBackoff, linearBackoff, exponentialBackoff } from './policies/backoff.js';
export type { Backoff, LinearBackoffOptions, ExponentialBackoffOptions } from './policies/backoff.js';
export { withJitter } from './policies/jitter.js';
export type { JitterKind, JitterOptions } from './policies/jitter.js';
export type { RecommendedPolicyOptions } from './policies/recommended.js';
export { classifyFailure } from './policies/classify.js';
export type { FailureClass, ClassifyOptions } from './policies/classify.js';
export { consecutiveFailures, failureRatio } from './policies/breaker-strategy.js';
export type {
  BreakerStrategy,
  ConsecutiveFailuresStrategy,
  FailureRatioStrategy,
  FailureRatioOptions,
  SlidingWindow,
} from './policies/breaker-strategy.js';
export { CircuitBreaker } from './policies/circuit-breaker.js';
export type {
  CircuitState,
  CircuitTransition,
  BreakerPermit,
  CircuitBreakerOptions,
} from './policies/circuit-breaker.js';
export { RetryBudget } from './policies/retry-budget.js';
export type { RetryBudgetOptions } from './policies/retry-budget.js';
export { RetryPolicy, policy } from './policies/retry-policy.js';
export { FailureRun } from './policies/failure-run.js';
export type {
  RetryFailure,
  RetryDecision,
  GiveUpReason,
  RetryPolicyConfig,
} from './policies/retry-policy.js';
export { CircuitOpenError, RetryBudgetExhaustedError } from './policies/errors.js';
// Operators: session streams that reconnect, and retries for one-shot work.
export type { DisconnectedEvent, SessionEvent, SessionStream } from './core/session.js';
export { reconnectWith } from './operators/reconnectWith.js';
export type { ReconnectConfig } from './operators/reconnectWith.js';
export { retryWith, retryDelay } from './operators/retryWith.js';
export type { RetryConfig } from './operators/retryWith.js';
export { GaveUpError } from './policies/gave-up-error.js';
export { shareConnection } from './operators/shareConnection.js';
export type { ShareConnectionConfig } from './operators/shareConnection.js';
// HTTP: one-shot requests on fetch, whose failures the retry policies classify.
export { http } from './transports/http.js';
export type { HttpRequest, HttpOptions, HttpResponse } from './transports/http.js';
export { HttpError } from './core/errors.js';
export { TooManyRedirectsError } from './transports/http-errors.js';
// Pools: connections shared by origin, with limits, and leases for exchanges of several steps.
export { originOf, DEFAULT_PORTS } from './pool/origin.js';
export type { Origin, OriginParts, OriginOptions } from './pool/origin.js';
export { ConnectionPool } from './pool/connection-pool.js';
export type {
  ConnectionPoolOptions,
  PoolAddress,
  PoolCounts,
  PoolStats,
  PoolSnapshot,
} from './pool/connection-pool.js';
export type { Lease } from './pool/lease.js';
export { PoolExhaustedError, PoolClosedError } from './pool/errors.js';
export { handshake } from './protocol/handshake/handshake.js';
export type { HandshakeConfig } from './protocol/handshake/handshake.js';
export { acceptHandshake } from './protocol/handshake/accept-handshake.js';
export type { AcceptHandshakeConfig, AuthenticateRequest } from './protocol/handshake/accept-handshake.js';
export { HandshakeRefusedError, HandshakeTimeoutError } from './protocol/handshake/errors.js';
export { HandshakeAdmission } from './protocol/handshake/admission.js';
export type { DrainOptions, HandshakeAdmissionOptions } from './protocol/handshake/admission.js';
export type { LayerName, VersionRange, LayerMismatch } from './protocol/handshake/layers.js';
export type { HandshakeRefusal, AppProtocol } from './protocol/handshake/wire.js';
export { heartbeat, HeartbeatTimeoutError } from './protocol/heartbeat/heartbeat.js';
export type { HeartbeatConfig, HeartbeatEvent } from './protocol/heartbeat/heartbeat.js';
// Endpoint sets: the cheapest admissible endpoint with failover, and fanout to many.
export { EndpointSet, AllEndpointsFailedError } from './pool/endpoint-set.js';
export type {
  Endpoint,
  EndpointSetOptions,
  PickedEndpoint,
  EndpointFailure,
  NodeClock,
} from './pool/endpoint-set.js';
export { fanout, FanoutError } from './pool/fanout.js';
export type { FanoutResult, FanoutStatus, FanoutOptions } from './pool/fanout.js';
// Resumable sessions: exactly-once, in-order delivery across reconnects, client and server.
export { resumable } from './protocol/resumable/resumable.js';
export { memoryJournal } from './protocol/resumable/journal.js';
export type { SessionJournal, JournalState, JournalFrame } from './protocol/resumable/journal.js';
export { sentOutcomes } from './protocol/resumable/sent-outcomes.js';
export type { SentOutcome, SentOutcomeReport } from './protocol/resumable/sent-outcomes.js';
export { indexedDbJournal } from './protocol/resumable/indexeddb-journal.js';
export type {
  IndexedDbJournalOptions,
  IndexedDbSessionJournal,
} from './protocol/resumable/indexeddb-journal.js';
export {
  JournalHeldError,
  JournalFullError,
  IndexedDbJournalError,
} from './protocol/resumable/journal-errors.js';
export type { JournalLockReason, IndexedDbJournalErrorReason } from './protocol/resumable/journal-errors.js';
export type {
  ResumableConfig,
  ResumableEvent,
  ResumedEvent,
  RestoredEvent,
  SessionResetEvent,
  OverflowEvent,
} from './protocol/resumable/resumable.js';
export { acceptSessions } from './protocol/resumable/sessions.js';
export type {
  AcceptSessionsConfig,
  SessionServer,
  SessionServerConnection,
} from './protocol/resumable/sessions.js';
export type {
  ServerSession,
  ServerSessionEvent,
  SessionFrameEvent,
  SessionDisconnectedEvent,
} from './protocol/resumable/server-session.js';
export type { SessionServerStats } from './protocol/resumable/server-stats.js';
export { ReplayBuffer } from './protocol/resumable/replay-buffer.js';
export type { ReplayBufferOptions } from './protocol/resumable/replay-buffer.js';
export {
  ReplayBufferFullError,
  SessionLostError,
  SessionExpiredError,
  SessionStoreError,
} from './protocol/resumable/errors.js';
export type {
  SeqRange,
  LostFrames,
  SessionLostReason,
  SessionStoreErrorCode,
} from './protocol/resumable/errors.js';
export { memorySessionStore } from './protocol/resumable/memory-store.js';
export type { MemorySessionStoreOptions } from './protocol/resumable/memory-store.js';
export type {
  SessionStore,
  StoredSession,
  SessionClaim,
  SessionClaimResult,
  SessionChanges,
} from './protocol/resumable/store.js';
// Requests: request/response with cancel over any session stream, and the openSession() facade.
export { cancelPending } from './protocol/requests/cancelPending.js';
export type {
  CancelPendingConfig,
  CancelPendingEvent,
  RequestLink,
  RequestLinkEvent,
  RequestOptions,
} from './protocol/requests/cancelPending.js';
export type {
  RequestsRestoredEvent,
  RestoredRequest,
  RecoveredResponseEvent,
} from './protocol/requests/restored-requests.js';
export { serveRequests } from './protocol/requests/serve-requests.js';
export type {
  RequestContext,
  RequestHandler,
  ServeRequestsConfig,
} from './protocol/requests/serve-requests.js';
export {
  AmbiguousOutcomeError,
  PendingRequestsFullError,
  RemoteError,
  RequestBodyOverflowError,
  RequestBodyUnsupportedError,
  RequestCancelledError,
  RequestTimeoutError,
  SendQueueFullError,
} from './protocol/requests/errors.js';
export type { CancelReason } from './protocol/requests/errors.js';
export { openSession } from './session/open-session.js';
export type { ClientSession, ClientState, SessionIn, SessionOut } from './session/open-session.js';
