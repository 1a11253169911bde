import { expect } from 'chai';
import { encodeFrames, msgpackCodec, type Link, type TransportEvent } from 'rx-lifeline';
import { Observable } from 'rxjs';
import { MessageDecoders, type WriteReporter } from '../../lib/transports/inbound.js';
import {
  runWebSocket,
  webSocketWriterSettings,
  type RunningWebSocket,
} from '../../lib/transports/websocket-connection.js';
import type { FrameReader } from '../../lib/codec/framing.js';
import type { WebSocketLike } from '../../lib/transports/websocket.js';

const codec = msgpackCodec<unknown>();
const limits = { maxFrameBytes: 1 << 20, highWaterMark: 1 << 20, maxBufferedBytes: 4 << 20 };

/** MessageDecoders that remember every decoder they lent. */
class WatchedDecoders extends MessageDecoders<unknown> {
  readonly lent = new Set<FrameReader<unknown>>();

  override lend(link: WriteReporter, offset: number): FrameReader<unknown> {
    const decoder = super.lend(link, offset);
    this.lent.add(decoder);
    return decoder;
  }
}

/** An open socket that a run hears through `handleEvent` (as a server's socket is heard). */
function openSocket(): WebSocketLike {
  return {
    readyState: 1,
    bufferedAmount: 0,
    binaryType: 'blob',
    send: () => undefined,
    close: () => undefined,
    addEventListener: () => undefined,
  };
}

describe('runWebSocket and its shared decoders', () => {
  it("a connection's messages, read one after another, all borrow the one decoder its settings share", () => {
    const decoders = new WatchedDecoders(codec, limits.maxFrameBytes);
    const settings = {
      writer: webSocketWriterSettings(codec, limits),
      decoders,
      info: () => ({ transport: 'websocket', remote: 'r', local: 'l' }) as const,
    };
    const frames: unknown[] = [];
    let run: RunningWebSocket | undefined;
    const subscription = new Observable<TransportEvent<unknown, unknown>>((subscriber) => {
      run = runWebSocket(openSocket(), subscriber, settings, false);
    }).subscribe((event) => event.type === 'frame' && frames.push(event.frame));
    for (const message of [['a'], ['b', 'c'], ['d']]) {
      run!.handleEvent({ type: 'message', data: encodeFrames(codec, message) });
    }
    expect(frames).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(decoders.lent.size).to.equal(1);
    subscription.unsubscribe();
  });

  it("a batch sent on a ws socket as several messages is confirmed by the last one's callback, not the first's", async () => {
    const callbacks: ((error?: Error | null) => void)[] = [];
    const socket = {
      ...openSocket(),
      terminate: () => undefined,
      send: (_data: Uint8Array, done?: (error?: Error | null) => void) => void callbacks.push(done!),
    };
    const settings = {
      writer: webSocketWriterSettings(codec, limits),
      decoders: new MessageDecoders(codec, limits.maxFrameBytes),
      info: () => ({ transport: 'websocket', remote: 'r', local: 'l' }) as const,
    };
    let link: Link<unknown> | undefined;
    const subscription = new Observable<TransportEvent<unknown, unknown>>((subscriber) => {
      runWebSocket(socket, subscriber, settings, false);
    }).subscribe((event) => {
      if (event.type === 'connected') link = event.link;
    });
    // Two frames of 40,000 bytes: over 64 KiB together, so two messages.
    link!.send('a'.repeat(40_000));
    link!.send('b'.repeat(40_000));
    await Promise.resolve();
    expect(callbacks).to.have.length(2);
    callbacks[0]!();
    expect(link!.writeReport().unconfirmedFrames).to.equal(2);
    callbacks[1]!();
    expect(link!.writeReport().unconfirmedFrames).to.equal(0);
    subscription.unsubscribe();
  });
});
