import {
  asyncScheduler,
  finalize,
  map,
  Observable,
  Subscription,
  type SchedulerLike,
  type Subscriber,
} from 'rxjs';
import type { Link, ServerEvent, Transport, TransportEvent } from '../core/transport.js';
import { memory, MEMORY_OPTIONS, type MemoryPair, type MemoryOptions } from '../transports/memory.js';
import {
  checkCodec,
  checkKnownOptions,
  checkNonEmptyString,
  checkNumber,
  checkScheduler,
  describe,
  drawRandom,
  type KnownOptions,
} from '../internal/validate.js';
import { LayerLink } from '../internal/layer-link.js';
import { resolveLimits } from '../transports/link-writer.js';

/**
 * A fault the {@link SimulatedNetwork} can inject, by name in a schedule string or as a value:
 *
 * - `'cut'`: resets every open connection; both sides error with `ConnectionResetError`.
 * - `'stall'` / `{ stall: ms }`: a half-open network: nothing is delivered and nobody is told; dials
 *   hang. With a duration, it resumes by itself after `ms`.
 * - `'resume'`: ends a stall; held traffic is delivered in order.
 * - `{ outage: ms }`: the server goes away for `ms`: open connections are reset, and dials are
 *   refused (`DialError`, `ECONNREFUSED`) until it is back.
 * - `{ latency: ms }`: the one-way latency from now on.
 *
 * @example
 * ```ts
 * import type { NetworkFault } from 'rx-lifeline/testing';
 * const faults: NetworkFault[] = ['cut', { outage: 200 }, { stall: 50 }, { latency: 20 }];
 * ```
 * @category Testing
 */
export type NetworkFault =
  | 'cut'
  | 'stall'
  | 'resume'
  | { readonly stall: number }
  | { readonly outage: number }
  | { readonly latency: number };

/**
 * A fault and when it happens, in milliseconds after `schedule()` was called.
 *
 * @example
 * ```ts
 * import type { ScheduledFault } from 'rx-lifeline/testing';
 * const plan: ScheduledFault[] = [{ at: 10, fault: 'cut' }, { at: 60, fault: { outage: 200 } }];
 * ```
 * @category Testing
 */
export interface ScheduledFault {
  /** Milliseconds after the call to `schedule()`. */
  readonly at: number;
  readonly fault: NetworkFault;
}

/**
 * Packet loss for {@link virtualNetwork}: what a lost frame does to its connection.
 *
 * @example
 * ```ts
 * import { seededRandom, type NetworkLoss } from 'rx-lifeline/testing';
 * const loss: NetworkLoss = { rate: 0.05, random: seededRandom(7), effect: 'stall' };
 * ```
 * @category Testing
 */
export interface NetworkLoss {
  /** The probability, in [0, 1], that a frame is lost. */
  readonly rate: number;
  /**
   * Draws one number in [0, 1) per frame sent; a frame is lost when the draw is below `rate`. An
   * answer outside [0, 1) makes that `send` throw a `TypeError` (after the frame went), where it
   * would otherwise mean a loss rate of 0 or 1 in silence.
   */
  readonly random: () => number;
  /**
   * What a lost frame turns into: the connection is reset (`'cut'`), or goes half-open for good
   * (`'stall'`) — what a heartbeat is for.
   * @default 'cut'
   */
  readonly effect?: 'cut' | 'stall';
}

/**
 * Options of {@link virtualNetwork}. The link options (codec, frame and buffer limits) are those of
 * {@link memory}.
 *
 * @example
 * ```ts
 * import { TestScheduler } from 'rxjs/testing';
 * import { seededRandom, type VirtualNetworkOptions } from 'rx-lifeline/testing';
 * const testScheduler = new TestScheduler(() => undefined);
 * const options: VirtualNetworkOptions = {
 *   scheduler: testScheduler,
 *   latency: 5,
 *   loss: { rate: 0.01, random: seededRandom(1) },
 * };
 * ```
 * @category Testing
 */
export interface VirtualNetworkOptions extends Omit<MemoryOptions, 'scheduler' | 'latency' | 'name'> {
  /**
   * Runs every delivery, dial and scheduled fault: a `TestScheduler` makes it all virtual.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
  /**
   * One-way latency in milliseconds, for dials and deliveries.
   * @default 0
   */
  latency?: number;
  /**
   * Frame loss. Loss never corrupts a connection's byte stream: a lost frame breaks its connection
   * (see {@link NetworkLoss}). Dials are not subject to loss.
   * @default no loss
   */
  loss?: NetworkLoss;
  /**
   * A name for the links' `info`, to tell networks apart in logs.
   * @default 'virtual'
   */
  name?: string;
}

const OPTIONS: KnownOptions<VirtualNetworkOptions> = { loss: true, ...MEMORY_OPTIONS };

/**
 * A network between clients and one server, with faults on a schedule; see {@link virtualNetwork}.
 *
 * @typeParam Up - frames clients send. @typeParam Down - frames the server sends.
 * @example
 * ```ts
 * import { virtualNetwork, type SimulatedNetwork } from 'rx-lifeline/testing';
 * const network: SimulatedNetwork<string> = virtualNetwork<string>();
 * console.log(network.openConnections); // 0
 * ```
 * @category Testing
 */
export interface SimulatedNetwork<Up = unknown, Down = Up> {
  /** The client side: each subscription dials the server through the network. */
  readonly transport: Transport<Down, Up>;
  /**
   * The server side: subscribing listens; unsubscribing closes every accepted connection (clients
   * see a clean close). Dials while nobody listens are refused. One listener at a time.
   */
  readonly server: Observable<ServerEvent<Up, Down>>;
  /** Connections open now, for leak checks. */
  readonly openConnections: number;
  /** Dials so far. */
  readonly dials: number;
  /** Frames lost so far (see {@link NetworkLoss}). */
  readonly lost: number;
  /** Injects a fault now. */
  inject(fault: NetworkFault): void;
  /**
   * Injects faults later. As a string, like a marble diagram: time tokens (`10ms`, `1.5s`, `2m`,
   * `-` for 1 ms) move a cursor forward and faults (`cut`, `stall`, `stall(50ms)`, `resume`,
   * `outage(200ms)`, `latency(20ms)`) happen at the cursor and take no time: `'10ms cut 50ms
   * outage(200ms)'` cuts at 10 and starts a 200 ms outage at 60. As a list, each `at` counts from
   * now. Unsubscribing cancels the faults not yet injected (a stall or outage already begun still
   * ends on time).
   *
   * @throws TypeError naming the token or entry that is not a fault or a time.
   */
  schedule(plan: string | readonly ScheduledFault[]): Subscription;
}

/**
 * A virtual network for tests: clients dial one server through it, and it delivers frames after a
 * latency, loses them with a seeded random, and stalls, cuts and takes the server down on a
 * schedule — all on the scheduler, so a marble test of a client against a failing network has one
 * exact diagram. Each connection is a {@link memory} pipe, so bytes really cross it, framed and
 * encoded, and faults behave as they do on a socket.
 *
 * **Loss, at the frame level.** Each frame sent, either way, draws one number from `loss.random`
 * (in the order frames are sent); below `loss.rate`, it is lost. A lost frame is never skipped
 * while later frames go through, as that would corrupt the stream in a way no TCP or WebSocket
 * connection does. Instead it breaks its connection at the moment it would have arrived (after the
 * latency): `effect: 'cut'` resets the connection (both sides get `ConnectionResetError`; the lost
 * frame, frames sent in the same tick — they leave as one packet — and everything after are not
 * delivered), and `effect: 'stall'` leaves it half-open for good (nothing more arrives either way,
 * nobody is told, `resume` does not revive it). That is what sustained loss does to TCP:
 * retransmissions stall the stream until something times out. Frames sent earlier arrive.
 *
 * @example
 * ```ts
 * import { expect } from 'chai';
 * import { TestScheduler } from 'rxjs/testing';
 * import { catchError, EMPTY, mergeMap } from 'rxjs';
 * import { policy, reconnectWith } from 'rx-lifeline';
 * import { marbleEvents, virtualNetwork } from 'rx-lifeline/testing';
 *
 * const testScheduler = new TestScheduler((actual, expected) => {
 *   expect(actual).to.deep.equal(expected);
 * });
 * testScheduler.run(({ expectObservable }) => {
 *   const network = virtualNetwork<string>({ scheduler: testScheduler, latency: 1 });
 *   // A server that accepts connections and ignores what they say.
 *   network.server
 *     .pipe(mergeMap((e) => (e.type === 'connection' ? e.connection.pipe(catchError(() => EMPTY)) : EMPTY)))
 *     .subscribe();
 *   network.schedule('5ms cut 20ms outage(20ms)');
 *   const session = network.transport.pipe(reconnectWith({ policy: policy.constant(10), healthyAfter: 0 }));
 *   const values = { c: 'c', x: 'd1:10:ConnectionResetError', y: 'd2:10:DialError' };
 *   // Connected at 1, cut at 5, back at 16; the outage resets it at 25 and refuses the dial at 35;
 *   // it ends at 45, and the dial at 46 is back at 47.
 *   expectObservable(marbleEvents(session), '^ 50ms !').toBe('-c---x 10ms c 8ms x 10ms y 10ms c', values);
 * });
 * ```
 * @category Testing
 */
export function virtualNetwork<Up = unknown, Down = Up>(
  options: VirtualNetworkOptions = {},
): SimulatedNetwork<Up, Down> {
  checkKnownOptions('virtualNetwork', options, OPTIONS);
  const { scheduler = asyncScheduler, latency = 0, loss, name = 'virtual', ...linkOptions } = options;
  checkDuration('latency', latency);
  checkScheduler('virtualNetwork', scheduler);
  checkNonEmptyString('virtualNetwork', 'name', name);
  if (loss !== undefined) {
    if (!(loss.rate >= 0 && loss.rate <= 1)) {
      throw new TypeError(`virtualNetwork: loss.rate must be in [0, 1], got ${describe(loss.rate)}`);
    }
    if (typeof loss.random !== 'function') {
      throw new TypeError('virtualNetwork: loss.random must be a function returning numbers in [0, 1)');
    }
    if (loss.effect !== undefined && loss.effect !== 'cut' && loss.effect !== 'stall') {
      throw new TypeError(
        `virtualNetwork: loss.effect must be 'cut' or 'stall', got ${describe(loss.effect)}`,
      );
    }
  }

  // The link options are those of memory(), checked now rather than at the first connection.
  resolveLimits('virtualNetwork', linkOptions);
  if (linkOptions.codec !== undefined) checkCodec('virtualNetwork', linkOptions.codec);
  return new VirtualNetwork<Up, Down>({ scheduler, latency, loss, name, linkOptions });
}

/** The options of {@link virtualNetwork}, checked and with their defaults. */
interface NetworkSettings {
  readonly scheduler: SchedulerLike;
  readonly latency: number;
  readonly loss: VirtualNetworkOptions['loss'];
  readonly name: string;
  readonly linkOptions: Omit<MemoryOptions, 'scheduler' | 'latency' | 'name'>;
}

/**
 * The network {@link virtualNetwork} returns: its connections, the faults in force and the timers
 * that end them. Its methods are bound (arrow fields), so they can be passed around on their own.
 */
class VirtualNetwork<Up, Down> implements SimulatedNetwork<Up, Down> {
  readonly transport: Transport<Down, Up>;
  readonly server: Observable<ServerEvent<Up, Down>>;
  #latency: number;
  #stalled = false;
  #outages = 0;
  #dials = 0;
  #lost = 0;
  #listener: Subscriber<ServerEvent<Up, Down>> | undefined;
  readonly #connections = new Set<Connection>();
  readonly #timers = new Subscription();
  readonly #settings: NetworkSettings;

  constructor(settings: NetworkSettings) {
    this.#settings = settings;
    this.#latency = settings.latency;
    this.transport = new Observable((subscriber) => this.#dial(subscriber));
    this.server = new Observable((subscriber) => this.#listen(subscriber));
  }

  get openConnections(): number {
    let open = 0;
    for (const connection of this.#connections) open += connection.pair.openConnections;
    return open;
  }

  get dials(): number {
    return this.#dials;
  }

  get lost(): number {
    return this.#lost;
  }

  readonly inject = (fault: NetworkFault): void => {
    if (fault === 'cut') {
      for (const pair of this.#pairs()) pair.faults.cut();
    } else if (fault === 'stall' || (typeof fault === 'object' && 'stall' in fault)) {
      this.#stall(fault);
    } else if (fault === 'resume') {
      this.#stalled = false;
      for (const connection of this.#connections) {
        if (!connection.lossStalled) connection.pair.faults.resume();
      }
    } else if (typeof fault === 'object' && 'outage' in fault) {
      this.#outage(checkDuration('outage', fault.outage));
    } else if (typeof fault === 'object' && 'latency' in fault) {
      this.#latency = checkDuration('latency', fault.latency);
      for (const pair of this.#pairs()) pair.faults.delay(this.#latency);
    } else {
      throw new TypeError(`virtualNetwork: not a fault: ${JSON.stringify(fault)}`);
    }
  };

  readonly schedule = (plan: string | readonly ScheduledFault[]): Subscription => {
    const entries = typeof plan === 'string' ? parsePlan(plan) : [...plan];
    for (const entry of entries) {
      checkDuration('at', entry.at);
      checkFault(entry.fault);
    }
    const pending = new Subscription();
    this.#timers.add(pending);
    for (const { at, fault } of entries) this.#later(() => this.inject(fault), at, pending);
    return pending;
  };

  #pairs(): MemoryPair<unknown, unknown>[] {
    return [...this.#connections].map((c) => c.pair);
  }

  #stall(fault: 'stall' | { readonly stall: number }): void {
    this.#stalled = true;
    for (const pair of this.#pairs()) pair.faults.stall();
    if (typeof fault === 'object')
      this.#later(() => this.inject('resume'), checkDuration('stall', fault.stall));
  }

  #outage(duration: number): void {
    this.#outages++;
    for (const pair of this.#pairs()) {
      pair.faults.refuse(true);
      pair.faults.cut();
    }
    this.#later(() => {
      if (--this.#outages > 0) return;
      for (const pair of this.#pairs()) pair.faults.refuse(false);
    }, duration);
  }

  /** One dial: a memory pipe of its own, with the faults in force, attached to the server if any. */
  #dial(subscriber: Subscriber<TransportEvent<Down, Up>>): () => void {
    const { scheduler, name, linkOptions } = this.#settings;
    const dial = ++this.#dials;
    const pair = memory<Up, Down>({
      ...linkOptions,
      scheduler,
      latency: this.#latency,
      name: `${name}#${dial}`,
    });
    if (this.#stalled) pair.faults.stall();
    if (this.#outages > 0) pair.faults.refuse(true);
    const connection: Connection = {
      pair: pair as MemoryPair<unknown, unknown>,
      serverSide: undefined,
      timers: new Subscription(),
      accepted: false,
      clientDone: false,
      serverDone: false,
      broken: false,
      lossStalled: false,
    };
    this.#connections.add(connection);
    if (this.#listener) this.#attachServer(connection, this.#listener);
    const client = pair.transport
      .pipe(
        map((e): TransportEvent<Down, Up> =>
          e.type === 'connected' ? { type: 'connected', link: this.#lossy(e.link, connection) } : e,
        ),
      )
      .subscribe(subscriber);
    return () => {
      client.unsubscribe();
      connection.clientDone = true;
      this.#retireIfDone(connection);
    };
  }

  #listen(subscriber: Subscriber<ServerEvent<Up, Down>>): (() => void) | undefined {
    const { name } = this.#settings;
    if (this.#listener) {
      subscriber.error(new TypeError(`Virtual network '${name}' already has a server listening`));
      return undefined;
    }
    this.#listener = subscriber;
    subscriber.next({ type: 'listening', host: name, port: 0, address: `memory://${name}` });
    // Dials still on their way find the server listening when they arrive.
    for (const connection of this.#connections) {
      if (!connection.serverSide && !connection.clientDone) this.#attachServer(connection, subscriber);
    }
    return () => {
      this.#listener = undefined;
      for (const connection of [...this.#connections]) {
        connection.serverSide?.unsubscribe();
        connection.serverSide = undefined;
        connection.serverDone = true;
        this.#retireIfDone(connection);
      }
    };
  }

  #attachServer(connection: Connection, listener: Subscriber<ServerEvent<Up, Down>>): void {
    const pair = connection.pair as MemoryPair<Up, Down>;
    connection.serverSide = pair.server.subscribe((event) => {
      if (event.type !== 'connection') return;
      connection.accepted = true;
      listener.next({
        type: 'connection',
        remote: event.remote,
        connection: event.connection.pipe(
          map((e): TransportEvent<Up, Down> =>
            e.type === 'connected' ? { type: 'connected', link: this.#lossy(e.link, connection) } : e,
          ),
          finalize(() => {
            connection.serverDone = true;
            this.#retireIfDone(connection);
          }),
        ),
      });
    });
  }

  #retireIfDone(connection: Connection): void {
    if (!connection.clientDone || !(connection.serverDone || !connection.accepted)) return;
    connection.serverSide?.unsubscribe();
    connection.timers.unsubscribe();
    this.#connections.delete(connection);
  }

  #lossy<Out>(link: Link<Out>, connection: Connection): Link<Out> {
    return this.#settings.loss ? new LossyLink(link, () => this.#lose(connection)) : link;
  }

  /** A lost frame breaks its connection once it would have arrived. */
  #lose(connection: Connection): void {
    const { loss } = this.#settings;
    if (!loss || connection.broken) return;
    if (!(drawRandom('virtualNetwork', 'loss.random', loss.random) < loss.rate)) return;
    connection.broken = true;
    this.#lost++;
    this.#later(
      () => {
        if (loss.effect === 'stall') {
          connection.lossStalled = true;
          connection.pair.faults.stall();
        } else {
          connection.pair.faults.cut();
        }
      },
      this.#latency,
      connection.timers,
    );
  }

  /** Runs `work` after `delay` on the scheduler, held by `owner` until then. */
  #later(work: () => void, delay: number, owner: Subscription = this.#timers): void {
    const action = this.#settings.scheduler.schedule(() => {
      owner.remove(action);
      work();
    }, delay);
    if (!action.closed) owner.add(action);
  }
}

interface Connection {
  readonly pair: MemoryPair<unknown, unknown>;
  serverSide: Subscription | undefined;
  /** The loss effect waiting to happen. */
  readonly timers: Subscription;
  accepted: boolean;
  clientDone: boolean;
  serverDone: boolean;
  /** A frame was lost: the connection is being cut or stalled. */
  broken: boolean;
  /** Stalled by loss: a network-wide resume does not revive it. */
  lossStalled: boolean;
}

/** A link whose every send may be lost; the frame is still written, so write reports stay true. */
class LossyLink<Out> extends LayerLink<Out> {
  constructor(
    inner: Link<Out>,
    private readonly onSent: () => void,
  ) {
    super(inner as Link<unknown>, (frame) => frame);
  }

  override send(frame: Out): boolean {
    const result = super.send(frame);
    this.onSent();
    return result;
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };
const TIME = /^(\d+(?:\.\d+)?)(ms|s|m)$/;
const FAULT = /^(cut|stall|resume)$|^(stall|outage|latency)\((\d+(?:\.\d+)?)(ms|s|m)\)$/;

/** Reads `'10ms cut 50ms outage(200ms)'` into a list of faults at times from now. */
function parsePlan(plan: string): ScheduledFault[] {
  const entries: ScheduledFault[] = [];
  let cursor = 0;
  for (const token of plan.trim().split(/\s+/).filter(Boolean)) {
    const time = TIME.exec(token);
    if (time) {
      cursor += Number(time[1]) * UNITS[time[2]!]!;
      continue;
    }
    if (/^-+$/.test(token)) {
      cursor += token.length;
      continue;
    }
    const fault = FAULT.exec(token);
    if (!fault) {
      throw new TypeError(
        `virtualNetwork.schedule: '${token}' is neither a time (10ms, 2s, -) nor a fault (cut, stall, stall(50ms), resume, outage(200ms), latency(20ms))`,
      );
    }
    if (fault[1]) {
      entries.push({ at: cursor, fault: fault[1] as 'cut' | 'stall' | 'resume' });
    } else {
      const ms = Number(fault[3]) * UNITS[fault[4]!]!;
      const kind = fault[2] as 'stall' | 'outage' | 'latency';
      entries.push({ at: cursor, fault: { [kind]: ms } as NetworkFault });
    }
  }
  return entries;
}

function checkFault(fault: NetworkFault): void {
  if (fault === 'cut' || fault === 'stall' || fault === 'resume') return;
  if (typeof fault === 'object' && fault !== null) {
    const keys = Object.keys(fault);
    const key = keys[0];
    if (keys.length === 1 && (key === 'stall' || key === 'outage' || key === 'latency')) {
      checkDuration(key, (fault as Record<string, number>)[key]!);
      return;
    }
  }
  throw new TypeError(`virtualNetwork.schedule: not a fault: ${JSON.stringify(fault)}`);
}

/** A duration in milliseconds: ≥ 0, and no longer than a timer can wait. */
function checkDuration(what: string, ms: number): number {
  return checkNumber('virtualNetwork', what, ms, { min: 0 });
}
