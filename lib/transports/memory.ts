import { asyncScheduler, Observable, Subscription, type SchedulerLike, type Subscriber } from 'rxjs';
import { msgpackCodec, type Codec } from '../codec/codec.js';
import type { FrameDecoder } from '../codec/framing.js';
import { ConnectionResetError, DialError } from '../core/errors.js';
import type { ServerEvent, Transport, TransportEvent } from '../core/transport.js';
import { Fifo } from '../internal/fifo.js';
import { deliverBytes, endOfInput, LinkFrameDecoder } from './inbound.js';
import { DueTimer } from '../internal/due-timer.js';
import {
  LINK_OPTIONS,
  LinkWriter,
  resolveLimits,
  writerSettings,
  type LinkOptions,
  type WriterLimits,
} from './link-writer.js';
import {
  checkCodec,
  checkKnownOptions,
  checkNonEmptyString,
  checkNumber,
  checkScheduler,
  COUNT,
  type KnownOptions,
} from '../internal/validate.js';

/**
 * Options of {@link memory}.
 *
 * @example
 * ```ts
 * import { memory, type MemoryOptions } from 'rx-lifeline';
 * const options: MemoryOptions = { latency: 20, maxFrameBytes: 1024 };
 * const pair = memory(options);
 * ```
 * @category Transports
 */
export interface MemoryOptions extends Omit<LinkOptions<unknown>, 'codec'> {
  /**
   * Every delay (dial, delivery, flush) runs on this scheduler, so a `TestScheduler` drives it all.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
  /**
   * One-way latency in milliseconds, for dials and each delivery. Change it later with
   * `faults.delay(ms)`.
   * @default 0
   */
  latency?: number;
  /**
   * Encodes and decodes frames in both directions; bytes really cross the pipe, so byte-level
   * faults work as on a socket.
   * @default msgpackCodec()
   */
  codec?: Codec<unknown>;
  /**
   * A name for `LinkInfo.remote`, to tell memory pairs apart in logs.
   * @default 'memory'
   */
  name?: string;
}

/** The options of {@link MemoryOptions}. @internal */
export const MEMORY_OPTIONS: KnownOptions<MemoryOptions> = {
  scheduler: true,
  latency: true,
  name: true,
  ...LINK_OPTIONS,
};

/**
 * Which way bytes flow, for {@link MemoryFaults.cutAfter}.
 *
 * @example
 * ```ts
 * import { memory, type MemoryDirection } from 'rx-lifeline';
 * const direction: MemoryDirection = 'to-client';
 * memory().faults.cutAfter(100, direction);
 * ```
 * @category Transports
 */
export type MemoryDirection = 'to-server' | 'to-client';

/**
 * Faults to inject into a {@link memory} pair's connections. They apply to every open
 * connection (and, for `stall` and `delay`, to later ones) until changed.
 *
 * @example
 * ```ts
 * import { memory } from 'rx-lifeline';
 * const pair = memory();
 * pair.faults.cutAfter(10); // the next 10 bytes towards the server arrive, then the link is cut
 * pair.faults.stall(); // a half-open link: nothing arrives, nobody is told
 * pair.faults.resume();
 * ```
 * @category Transports
 */
export interface MemoryFaults {
  /** Resets every open connection now: both sides error with `ConnectionResetError`. */
  cut(): void;
  /**
   * Lets `bytes` more bytes through in `direction`, then breaks the connection, mid-frame if that
   * is where the count ends. Applies to the connections open now. `how: 'reset'` (the default)
   * resets both sides; `how: 'end'` ends the stream as a FIN would: the receiver sees the end of
   * input (a `PeerClosedError` if it fell inside a frame), the sender a reset.
   */
  cutAfter(bytes: number, direction?: MemoryDirection, how?: 'reset' | 'end'): void;
  /**
   * Holds all traffic silently: nothing is delivered, nothing errors, writes stay unconfirmed
   * (so senders' `bufferedBytes` grow up to their cap), like a peer that vanished without a FIN.
   * Dials made during the stall hang until it ends.
   */
  stall(): void;
  /** Ends a stall: held bytes are delivered, in order. */
  resume(): void;
  /** Sets the one-way latency, in ms, for deliveries and dials from now on. */
  delay(ms: number): void;
  /** While true, dials fail with `DialError` (`ECONNREFUSED`) even when the server listens. */
  refuse(on: boolean): void;
}

/**
 * An in-process client/server pair created by {@link memory}.
 *
 * @typeParam Up - frames the client sends. @typeParam Down - frames the server sends.
 * @example
 * ```ts
 * import { memory, type MemoryPair } from 'rx-lifeline';
 * const pair: MemoryPair<string, number> = memory<string, number>();
 * console.log(pair.openConnections); // 0
 * ```
 * @category Transports
 */
export interface MemoryPair<Up = unknown, Down = Up> {
  /** The client side: each subscription dials the pair's server. */
  readonly transport: Transport<Down, Up>;
  /** The server side: subscribing listens; unsubscribing closes every accepted connection. */
  readonly server: Observable<ServerEvent<Up, Down>>;
  /** Fault injection for tests. */
  readonly faults: MemoryFaults;
  /** Connections open now (for leak checks). */
  readonly openConnections: number;
}

/**
 * An in-process client/server pair that behaves like a socket — frames are encoded, framed,
 * delivered as bytes after a latency, and can be cut at any byte — and runs entirely on an RxJS
 * scheduler, so marble tests drive it in virtual time. Browser-safe.
 *
 * @example
 * ```ts
 * import { memory } from 'rx-lifeline';
 * import { filter } from 'rxjs';
 * const pair = memory<string>();
 * const onError = (error: unknown) => console.error('connection failed', error);
 * const server = pair.server.subscribe((event) => {
 *   if (event.type !== 'connection') return;
 *   event.connection.subscribe({
 *     next: (e) => e.type === 'connected' && e.link.send('welcome'),
 *     error: onError, // this connection only: the server goes on
 *   });
 * });
 * const client = pair.transport
 *   .pipe(filter((e) => e.type === 'frame'))
 *   .subscribe({ next: (e) => console.log(e.frame), error: onError });
 * client.unsubscribe();
 * server.unsubscribe();
 * ```
 * @category Transports
 */
export function memory<Up = unknown, Down = Up>(options: MemoryOptions = {}): MemoryPair<Up, Down> {
  checkKnownOptions('memory', options, MEMORY_OPTIONS);
  const { scheduler = asyncScheduler, latency = 0, codec = msgpackCodec(), name = 'memory' } = options;
  checkDelay('memory', 'latency', latency);
  checkNonEmptyString('memory', 'name', name);
  checkScheduler('memory', scheduler);
  checkCodec('memory', codec);
  const limits = resolveLimits('memory', options);
  const network = new Network({ scheduler, codec, limits, name, latency });
  return {
    transport: new Observable<TransportEvent<Down, Up>>((subscriber) =>
      network.dial(subscriber as Subscriber<TransportEvent<unknown, unknown>>),
    ),
    server: new Observable<ServerEvent<Up, Down>>((subscriber) =>
      network.listen(subscriber as Subscriber<ServerEvent<unknown, unknown>>),
    ),
    faults: network.faults(),
    get openConnections() {
      return network.pipes.size;
    },
  };
}

/** What a memory pair's network is made with. */
interface NetworkSettings {
  readonly scheduler: SchedulerLike;
  readonly codec: Codec<unknown>;
  readonly limits: WriterLimits;
  readonly name: string;
  readonly latency: number;
}

/** One memory pair's network: its server, its pipes, and the faults in force. */
class Network {
  readonly scheduler: SchedulerLike;
  readonly codec: Codec<unknown>;
  readonly limits: WriterLimits;
  readonly name: string;
  latency: number;
  stalled = false;
  refusing = false;
  listener: Subscriber<ServerEvent<unknown, unknown>> | undefined;
  readonly pipes = new Set<Pipe>();
  /** Dials that arrived during a stall; they complete when it ends. */
  readonly stalledDials = new Set<() => void>();
  nextId = 1;

  constructor({ scheduler, codec, limits, name, latency }: NetworkSettings) {
    this.scheduler = scheduler;
    this.codec = codec;
    this.limits = limits;
    this.name = name;
    this.latency = latency;
  }

  /** One dial of the transport, answered after the latency; returns its teardown. */
  dial(subscriber: Subscriber<TransportEvent<unknown, unknown>>): () => void {
    let half: Half | undefined;
    const connect = () => {
      half = this.#connect(subscriber);
    };
    // A dial during a stall gets no answer until the stall ends, like a SYN into a dead network.
    const dial = () => (this.stalled ? this.stalledDials.add(dial) : connect());
    const timer = this.scheduler.schedule(dial, this.latency);
    return () => {
      timer.unsubscribe();
      this.stalledDials.delete(dial);
      half?.destroy();
    };
  }

  /** The server's subscription: one at a time; returns its teardown. */
  listen(subscriber: Subscriber<ServerEvent<unknown, unknown>>): (() => void) | undefined {
    const { name } = this;
    if (this.listener) {
      subscriber.error(new TypeError(`Memory pair '${name}' already has a server listening`));
      return undefined;
    }
    this.listener = subscriber;
    subscriber.next({ type: 'listening', host: name, port: 0, address: `memory://${name}` });
    return () => {
      this.listener = undefined;
      for (const pipe of [...this.pipes]) pipe.server.shutdown();
    };
  }

  /** The {@link MemoryFaults} of this network. */
  faults(): MemoryFaults {
    return {
      cut: () => {
        for (const pipe of [...this.pipes]) pipe.reset();
      },
      cutAfter: (bytes, direction = 'to-server', how = 'reset') => {
        checkNumber('memory: faults.cutAfter', 'bytes', bytes, COUNT);
        for (const pipe of [...this.pipes]) pipe.cutAfter(bytes, direction, how);
      },
      stall: () => {
        this.stalled = true;
      },
      resume: () => this.#resume(),
      delay: (ms) => {
        this.latency = checkDelay('memory: faults.delay', 'ms', ms);
      },
      refuse: (on) => {
        this.refusing = on;
      },
    };
  }

  /** A dial arrives: refused, or a new pipe handed to the server; returns the client's half. */
  #connect(subscriber: Subscriber<TransportEvent<unknown, unknown>>): Half | undefined {
    if (!this.listener || this.refusing) {
      subscriber.error(
        new DialError(`Connection refused by memory pair '${this.name}'`, { code: 'ECONNREFUSED' }),
      );
      return undefined;
    }
    const pipe = new Pipe(this);
    const half = pipe.client;
    this.listener.next({
      type: 'connection',
      connection: pipe.server.observable,
      remote: half.info.local,
    });
    half.attach(subscriber);
    return half;
  }

  #resume(): void {
    this.stalled = false;
    for (const pipe of this.pipes) pipe.pumpSoon();
    const dials = [...this.stalledDials];
    this.stalledDials.clear();
    for (const dial of dials) dial();
  }
}

/** Bytes in the network, or the end-of-stream marker. */
interface Packet {
  bytes: Uint8Array | 'eof';
  dueAt: number;
  /** The sender's confirmation, called when the bytes arrive. */
  done: () => void;
}

/** One direction of a pipe. */
class Lane {
  readonly packets = new Fifo<Packet>();
  budget = Infinity;
  how: 'reset' | 'end' = 'reset';

  constructor(
    readonly from: Half,
    readonly to: Half,
  ) {}

  /** Bytes handed to this lane and not delivered yet. */
  undeliveredBytes(): number {
    let total = 0;
    for (const packet of this.packets.drain()) if (packet.bytes !== 'eof') total += packet.bytes.length;
    return total;
  }
}

class Pipe {
  readonly client: Half;
  readonly server: Half;
  readonly toServer: Lane;
  readonly toClient: Lane;
  readonly timers = new Subscription();
  /** The next delivery: armed for the earliest packet not yet due, re-armed if it fires early. */
  private readonly wake: DueTimer;
  private pumping = false;

  constructor(readonly network: Network) {
    this.wake = new DueTimer(network.scheduler);
    const id = network.nextId++;
    this.client = new Half(this, 'client', `${network.name}#${id}/client`, `${network.name}#${id}/server`);
    this.server = new Half(this, 'server', `${network.name}#${id}/server`, `${network.name}#${id}/client`);
    this.toServer = new Lane(this.client, this.server);
    this.toClient = new Lane(this.server, this.client);
    network.pipes.add(this);
  }

  laneFrom(half: Half): Lane {
    return half === this.client ? this.toServer : this.toClient;
  }

  transmit(from: Half, bytes: Uint8Array | 'eof', done: () => void): void {
    const dueAt = this.network.scheduler.now() + this.network.latency;
    this.laneFrom(from).packets.push({ bytes, dueAt, done });
    this.pumpAt(this.network.latency);
  }

  pumpSoon(): void {
    this.pumpAt(0);
  }

  cutAfter(bytes: number, direction: MemoryDirection, how: 'reset' | 'end'): void {
    const lane = direction === 'to-server' ? this.toServer : this.toClient;
    lane.budget = bytes;
    lane.how = how;
    if (bytes === 0) this.breakLane(lane);
    else this.pumpSoon();
  }

  /** The lane's budget ran out: reset, or end the receiver's input as a FIN would. */
  private breakLane(lane: Lane): void {
    if (lane.how === 'reset') return this.reset();
    if (!this.network.pipes.has(this)) return;
    const undelivered = lane.undeliveredBytes();
    lane.from.abort(undelivered);
    lane.to.receiveEnd();
  }

  /** Abortive close: both sides error, undelivered bytes are lost. */
  reset(): void {
    if (!this.network.pipes.delete(this)) return;
    this.timers.unsubscribe();
    this.wake.cancel();
    const lost = [this.toServer.undeliveredBytes(), this.toClient.undeliveredBytes()] as const;
    this.client.abort(lost[0]);
    this.server.abort(lost[1]);
  }

  /** Removes the pipe once neither side can do anything more. */
  retireIfDone(): void {
    if (this.client.finished && this.server.finished && this.network.pipes.delete(this)) {
      this.timers.unsubscribe();
      this.wake.cancel();
      this.toServer.packets.clear();
      this.toClient.packets.clear();
    }
  }

  private pumpAt(delay: number): void {
    if (!this.network.pipes.has(this)) return;
    this.wake.setEarliest(this.network.scheduler.now() + delay, () => this.pump());
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      let moved = true;
      while (moved && this.network.pipes.has(this)) {
        moved = this.pumpLane(this.toServer) || this.pumpLane(this.toClient);
      }
    } finally {
      this.pumping = false;
    }
    // A packet not due yet gets its own wake-up: nothing else is sure to come and deliver it.
    const next = Math.min(this.notYetDue(this.toServer), this.notYetDue(this.toClient));
    if (next !== Infinity && this.network.pipes.has(this)) this.wake.setEarliest(next, () => this.pump());
  }

  /** When the lane's head packet is due, if it is waiting only for time to pass; else Infinity. */
  private notYetDue(lane: Lane): number {
    const packet = lane.packets.peek();
    return packet && packet.dueAt > this.network.scheduler.now() ? packet.dueAt : Infinity;
  }

  private pumpLane(lane: Lane): boolean {
    const packet = lane.packets.peek();
    if (!packet || this.network.stalled || !lane.to.accepting) return false;
    if (packet.dueAt > this.network.scheduler.now()) return false;
    if (packet.bytes === 'eof') {
      lane.packets.shift();
      packet.done();
      lane.to.receiveEnd();
      return true;
    }
    if (packet.bytes.length >= lane.budget) {
      // The fault fires inside this packet: deliver the part before the cut, then reset.
      const head = packet.bytes.subarray(0, lane.budget);
      packet.bytes = packet.bytes.subarray(lane.budget);
      lane.budget = 0;
      if (head.length > 0) lane.to.receive(head);
      this.breakLane(lane);
      return false;
    }
    lane.packets.shift();
    lane.budget -= packet.bytes.length;
    packet.done();
    lane.to.receive(packet.bytes);
    return true;
  }
}

class Half {
  readonly writer: LinkWriter<unknown>;
  readonly decoder: FrameDecoder<unknown>;
  readonly info: { transport: string; local: string; remote: string };
  readonly observable: Observable<TransportEvent<unknown, unknown>>;
  subscriber: Subscriber<TransportEvent<unknown, unknown>> | undefined;
  /** Subscribed and not yet finished: deliveries may proceed. */
  accepting = false;
  /** Nothing more will happen on this side. */
  finished = false;
  private wasSubscribed = false;

  constructor(
    readonly pipe: Pipe,
    readonly role: 'client' | 'server',
    local: string,
    remote: string,
  ) {
    const { network } = pipe;
    this.info = { transport: 'memory', local, remote };
    this.writer = new LinkWriter(
      // The flush is on the pipe's timers: settings of this end's own.
      writerSettings(network.codec, network.limits, (flush) => {
        const timer = network.scheduler.schedule(() => {
          pipe.timers.remove(timer);
          flush();
        });
        pipe.timers.add(timer);
      }),
      {
        write: (batch, done) => pipe.transmit(this, batch, done),
        end: () => pipe.transmit(this, 'eof', () => this.finish()),
      },
      this.info,
    );
    this.decoder = new LinkFrameDecoder(network.codec, network.limits.maxFrameBytes, this.writer);
    this.observable = new Observable((subscriber) => {
      if (this.wasSubscribed) {
        subscriber.error(new TypeError('An accepted connection can be subscribed only once'));
        return undefined;
      }
      this.attach(subscriber);
      return () => this.destroy();
    });
  }

  attach(subscriber: Subscriber<TransportEvent<unknown, unknown>>): void {
    this.wasSubscribed = true;
    if (this.finished) {
      subscriber.complete();
      return;
    }
    this.subscriber = subscriber;
    this.accepting = true;
    subscriber.next({ type: 'connected', link: this.writer });
    this.pipe.pumpSoon();
  }

  receive(bytes: Uint8Array): void {
    const subscriber = this.subscriber;
    if (!subscriber || this.finished) return;
    const error = deliverBytes(this.decoder, bytes, subscriber);
    if (error && !this.finished) {
      // A receiver that cannot parse its input drops the connection; the sender sees a reset.
      this.finishWith();
      subscriber.error(error);
      this.pipe.reset();
    }
  }

  receiveEnd(): void {
    const error = endOfInput(this.decoder, this.writer, 'memory');
    const subscriber = this.subscriber;
    this.finishWith();
    // The side that received the end is done too: a memory link has no half-open state.
    this.pipe.laneFrom(this).packets.clear();
    this.pipe.retireIfDone();
    if (!subscriber) return;
    if (error) subscriber.error(error);
    else subscriber.complete();
  }

  /** The connection was reset under this side. */
  abort(undelivered: number): void {
    if (this.finished) return;
    const subscriber = this.subscriber;
    const write = this.writer.writeReport();
    this.writer.fail(undelivered);
    const report = this.writer.writeReport();
    this.finishWith();
    subscriber?.error(
      new ConnectionResetError(`Memory connection ${this.info.local} was reset`, {
        phase: write.unconfirmedFrames > 0 ? 'write' : 'read',
        code: 'ECONNRESET',
        write: report,
      }),
    );
  }

  /** Unsubscribed: like destroying a socket, queued bytes are dropped and the peer gets an end. */
  destroy(): void {
    if (this.finished) return;
    this.finishWith();
    this.pipe.transmit(this, 'eof', () => undefined);
    this.pipe.retireIfDone();
  }

  /** The server stopped listening: this side completes and the peer gets an end. */
  shutdown(): void {
    const subscriber = this.subscriber;
    this.destroy();
    subscriber?.complete();
  }

  /** The end marker this side sent after `close()` arrived. */
  private finish(): void {
    const subscriber = this.subscriber;
    this.finishWith();
    this.pipe.retireIfDone();
    subscriber?.complete();
  }

  private finishWith(): void {
    this.finished = true;
    this.accepting = false;
    this.subscriber = undefined;
    this.writer.dispose();
    this.decoder.dispose();
  }
}

/** A latency in milliseconds: ≥ 0, and no longer than a timer can wait. */
function checkDelay(where: string, option: string, ms: number): number {
  return checkNumber(where, option, ms, { min: 0 });
}
