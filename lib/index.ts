/**
 * lifeline: message streams that survive bad networks. The browser-safe core: the transport
 * model, the msgpackr codec and framing, and the memory and WebSocket transports.
 * @packageDocumentation
 */
export {
  LifelineError,
  ConnectionError,
  DialError,
  ConnectionResetError,
  PeerClosedError,
  ProtocolError,
  FrameTooLargeError,
  LinkClosedError,
  SendBufferFullError,
  EncodeError,
  UNKNOWN_WRITE,
} from './core/errors.js';
export type { WriteState, WriteReport, ConnectionPhase, ConnectionErrorOptions } from './core/errors.js';
export type {
  Link,
  LinkInfo,
  ConnectedEvent,
  FrameEvent,
  TransportEvent,
  Transport,
  ListeningEvent,
  AcceptedEvent,
  ServerEvent,
} from './core/transport.js';
export { msgpackCodec } from './codec/codec.js';
export type { Codec, MsgpackCodecOptions } from './codec/codec.js';
export {
  FrameDecoder,
  encodeFrames,
  LENGTH_PREFIX_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
} from './codec/framing.js';
export type { FrameDecoderOptions } from './codec/framing.js';
export type { LinkOptions } from './internal/link-writer.js';
export { memory } from './transports/memory.js';
export type { MemoryOptions, MemoryFaults, MemoryEndpoint, MemoryDirection } from './transports/memory.js';
