/**
 * rx-lifeline/node: the Node-only transports. The TCP client and server on `node:net`, and the
 * WebSocket server (the WebSocket client is browser-safe and lives in `rx-lifeline`), and
 * `fileJournal`, the session journal a client keeps in a file to resume after a crash.
 * @packageDocumentation
 * @module rx-lifeline/node
 */
export { tcp } from './tcp.js';
export type { TcpOptions } from './tcp.js';
export { tcpServer } from './tcp-server.js';
export type { TcpServerOptions } from './tcp-server.js';
export { websocketServer } from './websocket-server.js';
export type { WebSocketServerOptions } from './websocket-server.js';
export type { FrameTimeoutOptions, ServerLimitOptions } from './capacity.js';
export { fileJournal } from './file-journal.js';
export type { FileSessionJournal, FileJournalOptions } from './file-journal.js';
export type { JournalFsync } from './journal-fsync.js';
export { JournalError, JournalLockedError } from './journal-errors.js';
export type { JournalErrorReason, JournalLockHolder } from './journal-errors.js';
