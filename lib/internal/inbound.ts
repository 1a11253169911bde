import type { Subscriber } from 'rxjs';
import type { FrameDecoder } from '../codec/framing.js';
import { PeerClosedError, ProtocolError, type ConnectionError } from '../core/errors.js';
import type { TransportEvent } from '../core/transport.js';
import type { LinkWriter } from './link-writer.js';

/**
 * Feeds inbound bytes to a connection's decoder and its subscriber. Returns the protocol error
 * that ended the connection, or undefined. Shared by every byte-stream transport.
 * @internal
 */
export function deliverBytes<In, Out>(
  decoder: FrameDecoder<In>,
  chunk: Uint8Array,
  subscriber: Subscriber<TransportEvent<In, Out>>,
): ProtocolError | undefined {
  try {
    decoder.push(chunk, (frame) => subscriber.next({ type: 'frame', frame }));
    return undefined;
  } catch (error) {
    if (ProtocolError.is(error)) return error;
    throw error;
  }
}

/**
 * The peer closed its side. A stream that stopped inside a frame is a {@link PeerClosedError}
 * (a cut, worth retrying), not a protocol error; a clean end returns undefined.
 * @internal
 */
export function endOfInput<In>(
  decoder: FrameDecoder<In>,
  writer: LinkWriter<unknown> | undefined,
  transport: string,
): ConnectionError | undefined {
  try {
    decoder.end('close');
    return undefined;
  } catch (cause) {
    if (!ProtocolError.is(cause)) throw cause;
    const options = writer ? { cause, write: writer.writeReport() } : { cause };
    return new PeerClosedError(`The ${transport} peer closed the connection inside a frame`, options);
  }
}
