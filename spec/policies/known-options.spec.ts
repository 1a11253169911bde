// Every entry point that takes an options object refuses a key it does not know: a misspelled option
// must fail loudly, with the closest known key, instead of being ignored.
import { expect } from 'chai';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { NEVER, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { WebSocket } from 'ws';
import {
  acceptSessions,
  cancelPending,
  CircuitBreaker,
  classifyFailure,
  openSession,
  ConnectionPool,
  constantBackoff,
  EndpointSet,
  exponentialBackoff,
  failureRatio,
  fanout,
  FrameDecoder,
  heartbeat,
  http,
  linearBackoff,
  memory,
  msgpackCodec,
  originOf,
  policy,
  reconnectWith,
  ReplayBuffer,
  resumable,
  RetryBudget,
  retryDelay,
  RetryPolicy,
  retryWith,
  serveRequests,
  shareConnection,
  websocket,
  withJitter,
  type RequestLink,
  type RequestLinkEvent,
} from 'rx-lifeline';
import { tcp, tcpServer, websocketServer } from 'rx-lifeline/node';
import { RecordingLink, scriptedTransport, seededRandom, virtualNetwork } from 'rx-lifeline/testing';
import { NONSENSE } from '../support/nonsense.js';

/** One entry point: `call` passes it `options`, which hold everything it requires. */
interface Row {
  /** The name its messages start with. */
  readonly name: string;
  readonly call: (options: object) => unknown;
  /** Valid options, to which the misspelled key is added. */
  readonly valid: object;
  readonly wrong: string;
  readonly suggestion: string;
}

const random = seededRandom(1);
const retry = policy.constant(10);
const endpoints = [{ id: 'a', cost: 1, value: 'a' }];

/** Calls `use` with the stable link of a cancelPending stream (on a source that never connects). */
function withRequestLink<T>(use: (link: RequestLink) => T): T {
  let link: RequestLink | undefined;
  const subscription = (NEVER as Observable<{ readonly type: string }>)
    .pipe(cancelPending())
    .subscribe((event) => {
      if (event.type === 'request-link') link = (event as RequestLinkEvent).link;
    });
  try {
    return use(link!);
  } finally {
    subscription.unsubscribe();
  }
}

function withConnect<T>(use: (request: (options: object) => unknown) => T): T {
  const session = openSession((NEVER as Observable<{ readonly type: string }>).pipe(cancelPending()));
  try {
    return use((options) => session.request('payload', options));
  } finally {
    session.close();
  }
}

function withCold<T>(use: (cold: Parameters<typeof scriptedTransport>[0]) => T): T {
  return new TestScheduler(() => undefined).run(({ cold }) => use(cold));
}

const rows: readonly Row[] = [
  // Codec and framing.
  {
    name: 'msgpackCodec',
    call: (o) => msgpackCodec(o),
    valid: {},
    wrong: 'maxDepht',
    suggestion: 'maxDepth',
  },
  {
    name: 'FrameDecoder',
    call: (o) => new FrameDecoder(o as never),
    valid: { codec: msgpackCodec() },
    wrong: 'maxFrameByte',
    suggestion: 'maxFrameBytes',
  },
  // Transports.
  { name: 'tcp', call: (o) => tcp(o as never), valid: { port: 7070 }, wrong: 'hots', suggestion: 'host' },
  {
    name: 'tcp',
    call: (o) => tcp(o as never),
    valid: { port: 7070 },
    wrong: 'frameTimout',
    suggestion: 'frameTimeout',
  },
  { name: 'tcpServer', call: (o) => tcpServer(o), valid: {}, wrong: 'prot', suggestion: 'port' },
  {
    name: 'tcpServer',
    call: (o) => tcpServer(o),
    valid: {},
    wrong: 'maxConnection',
    suggestion: 'maxConnections',
  },
  { name: 'websocketServer', call: (o) => websocketServer(o), valid: {}, wrong: 'paht', suggestion: 'path' },
  {
    name: 'websocket',
    call: (o) => websocket(o as never),
    valid: { url: 'ws://127.0.0.1:7070', WebSocket },
    wrong: 'protocol',
    suggestion: 'protocols',
  },
  { name: 'memory', call: (o) => memory(o), valid: {}, wrong: 'latancy', suggestion: 'latency' },
  {
    name: 'memory',
    call: (o) => memory(o),
    valid: {},
    wrong: 'highWatermark',
    suggestion: 'highWaterMark',
  },
  {
    name: 'http',
    call: (o) => http('http://127.0.0.1:8080/', o),
    valid: {},
    wrong: 'responsType',
    suggestion: 'responseType',
  },
  {
    name: 'http',
    call: (o) => http(o as never),
    valid: { url: 'http://127.0.0.1:8080/' },
    wrong: 'idempotencyKy',
    suggestion: 'idempotencyKey',
  },
  // Policies.
  { name: 'linearBackoff', call: (o) => linearBackoff(o), valid: {}, wrong: 'stpe', suggestion: 'step' },
  {
    name: 'exponentialBackoff',
    call: (o) => exponentialBackoff(o),
    valid: {},
    wrong: 'initail',
    suggestion: 'initial',
  },
  {
    name: 'policy.exponential',
    call: (o) => policy.exponential(o),
    valid: {},
    wrong: 'initail',
    suggestion: 'initial',
  },
  { name: 'policy.linear', call: (o) => policy.linear(o), valid: {}, wrong: 'mx', suggestion: 'max' },
  {
    name: 'policy.recommended',
    call: (o) => policy.recommended(o as { random: () => number }),
    valid: { random },
    wrong: 'inital',
    suggestion: 'initial',
  },
  {
    name: 'withJitter',
    call: (o) => withJitter(constantBackoff(10), 'full', o as never),
    valid: { random },
    wrong: 'randm',
    suggestion: 'random',
  },
  {
    name: 'RetryPolicy.jitter',
    call: (o) => retry.jitter('equal', o as never),
    valid: { random },
    wrong: 'Random',
    suggestion: 'random',
  },
  {
    name: 'failureRatio',
    call: (o) => failureRatio(o),
    valid: {},
    wrong: 'treshold',
    suggestion: 'threshold',
  },
  { name: 'RetryBudget', call: (o) => new RetryBudget(o), valid: {}, wrong: 'ration', suggestion: 'ratio' },
  {
    name: 'classifyFailure',
    call: (o) => classifyFailure(new Error('?'), o),
    valid: {},
    wrong: 'transiant',
    suggestion: 'transient',
  },
  {
    name: 'RetryPolicy.classify',
    call: (o) => retry.classify(o),
    valid: {},
    wrong: 'retryHttp50',
    suggestion: 'retryHttp500',
  },
  {
    name: 'RetryPolicy',
    call: (o) => new RetryPolicy(o as never),
    valid: retry.config,
    wrong: 'maxAttempt',
    suggestion: 'maxAttempts',
  },
  {
    name: 'CircuitBreaker',
    call: (o) => new CircuitBreaker(o),
    valid: {},
    wrong: 'openfor',
    suggestion: 'openFor',
  },
  // Operators.
  { name: 'heartbeat', call: (o) => heartbeat(o), valid: {}, wrong: 'intervall', suggestion: 'interval' },
  {
    name: 'reconnectWith',
    call: (o) => reconnectWith(o as never),
    valid: { policy: retry },
    wrong: 'helthyAfter',
    suggestion: 'healthyAfter',
  },
  {
    name: 'retryWith',
    call: (o) => retryWith(o as never),
    valid: { policy: retry },
    wrong: 'sheduler',
    suggestion: 'scheduler',
  },
  {
    name: 'retryDelay',
    call: (o) => retryDelay(o as never),
    valid: { policy: retry },
    wrong: 'polcy',
    suggestion: 'policy',
  },
  {
    name: 'shareConnection',
    call: (o) => shareConnection(o),
    valid: {},
    wrong: 'idleTimout',
    suggestion: 'idleTimeout',
  },
  // Sessions and requests.
  { name: 'resumable', call: (o) => resumable(o), valid: {}, wrong: 'maxByte', suggestion: 'maxBytes' },
  {
    name: 'acceptSessions',
    call: (o) => acceptSessions(NEVER, o),
    valid: {},
    wrong: 'sesionTtl',
    suggestion: 'sessionTtl',
  },
  {
    name: 'ReplayBuffer',
    call: (o) => new ReplayBuffer(o),
    valid: {},
    wrong: 'maxFrame',
    suggestion: 'maxFrames',
  },
  {
    name: 'cancelPending',
    call: (o) => cancelPending(o),
    valid: {},
    wrong: 'maxPendng',
    suggestion: 'maxPending',
  },
  {
    name: 'request',
    call: (o) => withRequestLink((link) => link.request('payload', o)),
    valid: {},
    wrong: 'timeot',
    suggestion: 'timeout',
  },
  {
    name: 'request',
    call: (o) => withConnect((request) => request(o)),
    valid: { timeout: 1_000 },
    wrong: 'idempotnet',
    suggestion: 'idempotent',
  },
  {
    name: 'serveRequests',
    call: (o) => serveRequests(() => 1, o),
    valid: {},
    wrong: 'maxConcurent',
    suggestion: 'maxConcurrent',
  },
  // Pools.
  {
    name: 'originOf',
    call: (o) => originOf('http://a.example', o),
    valid: {},
    wrong: 'credentialId',
    suggestion: 'credentialsId',
  },
  {
    name: 'ConnectionPool',
    call: (o) => new ConnectionPool(o as never),
    valid: { dial: () => NEVER },
    wrong: 'idleTimout',
    suggestion: 'idleTimeout',
  },
  {
    name: 'EndpointSet',
    call: (o) => new EndpointSet(o as never),
    valid: { endpoints, random },
    wrong: 'clasify',
    suggestion: 'classify',
  },
  {
    name: 'CircuitBreaker',
    call: (o) => new EndpointSet({ endpoints, random, breaker: o }),
    valid: {},
    wrong: 'halfOpenProbe',
    suggestion: 'halfOpenProbes',
  },
  {
    name: 'fanout',
    call: (o) => fanout(endpoints, () => NEVER, o),
    valid: {},
    wrong: 'failwhen',
    suggestion: 'failWhen',
  },
  // Testing.
  {
    name: 'RecordingLink',
    call: (o) => new RecordingLink(o),
    valid: {},
    wrong: 'onclose',
    suggestion: 'onClose',
  },
  {
    name: 'scriptedTransport',
    call: (o) => withCold((cold) => scriptedTransport(cold, 'c', o)),
    valid: {},
    wrong: 'value',
    suggestion: 'values',
  },
  { name: 'virtualNetwork', call: (o) => virtualNetwork(o), valid: {}, wrong: 'los', suggestion: 'loss' },
  {
    name: 'virtualNetwork',
    call: (o) => virtualNetwork(o),
    valid: {},
    wrong: 'maxBufferBytes',
    suggestion: 'maxBufferedBytes',
  },
];

/** The TypeError `call` throws, or a failed expectation if it throws nothing or something else. */
function thrown(call: () => unknown): TypeError {
  try {
    call();
  } catch (error) {
    expect(error, String(error)).to.be.an.instanceOf(TypeError);
    return error as TypeError;
  }
  return expect.fail('expected a TypeError, nothing was thrown');
}

describe('known options', () => {
  describe('a misspelled option is refused with the closest known one', () => {
    for (const { name, call, valid, wrong, suggestion } of rows) {
      it(`${name}: '${wrong}'`, () => {
        // The valid options alone are accepted: the misspelled key is what is refused.
        expect(() => call({ ...valid })).not.to.throw();
        const error = thrown(() => call({ ...valid, [wrong]: 1 }));
        expect(error.message).to.contain(
          `${name}: unknown option '${wrong}' (did you mean '${suggestion}'?); known options: `,
        );
        expect(error.message).to.match(new RegExp(`known options: .*\\b${suggestion}\\b`));
      });
    }
  });

  it('the message: function, key, suggestion, then every known option', () => {
    expect(thrown(() => heartbeat({ intervall: 5_000 } as never)).message).to.equal(
      "heartbeat: unknown option 'intervall' (did you mean 'interval'?); known options: interval, timeout, scheduler",
    );
  });

  it('gives no suggestion when no known option is close', () => {
    expect(thrown(() => heartbeat({ period: 5_000 } as never)).message).to.equal(
      "heartbeat: unknown option 'period'; known options: interval, timeout, scheduler",
    );
    // One letter is not a misspelling of a three-letter name.
    expect(thrown(() => linearBackoff({ x: 1 } as never)).message).to.match(
      /^linearBackoff: unknown option 'x'; known options: /,
    );
  });

  it('suggests a name at most 2 edits away, however long the key', () => {
    // 'timeout' is 2 edits from 'timexxt', 3 from 'timxxxt': a long key is not allowed more.
    expect(thrown(() => heartbeat({ timexxt: 5_000 } as never)).message).to.contain(
      "(did you mean 'timeout'?)",
    );
    expect(thrown(() => heartbeat({ timxxxt: 5_000 } as never)).message).to.equal(
      "heartbeat: unknown option 'timxxxt'; known options: interval, timeout, scheduler",
    );
  });

  it('suggests a known option that differs only in case, however long', () => {
    expect(thrown(() => resumable({ ONSESSIONLOST: 'reset' } as never)).message).to.contain(
      "unknown option 'ONSESSIONLOST' (did you mean 'onSessionLost'?)",
    );
  });

  it('checks only own enumerable string keys', () => {
    const inherited = Object.create({ intervall: 1 }) as object;
    const hidden = Object.defineProperty({}, 'intervall', { value: 1, enumerable: false });
    const symbol = { [Symbol('intervall')]: 1 };
    for (const options of [inherited, hidden, symbol]) expect(() => heartbeat(options)).not.to.throw();
  });

  it('refuses options that are not an object', () => {
    const cases: [unknown, string][] = [
      [null, 'null'],
      [5_000, '5000'],
      ['fast', '"fast"'],
      [[5_000], 'an array of 1 starting 5000'],
      [() => 1, 'a function'],
    ];
    for (const [options, shown] of cases) {
      expect(thrown(() => heartbeat(options as never)).message).to.equal(
        `heartbeat: options must be an object, got ${shown}`,
      );
    }
    expect(thrown(() => memory(null as never)).message).to.equal(
      'memory: options must be an object, got null',
    );
    expect(thrown(() => new CircuitBreaker([] as never)).message).to.equal(
      'CircuitBreaker: options must be an object, got an empty array',
    );
    expect(thrown(() => cancelPending(null as never)).message).to.equal(
      'cancelPending: options must be an object, got null',
    );
    expect(thrown(() => withRequestLink((link) => link.request('p', null as never))).message).to.equal(
      'request: options must be an object, got null',
    );
    // Left out, optional options take their defaults.
    expect(() => heartbeat(undefined)).not.to.throw();
    expect(() => withRequestLink((link) => link.request('p', undefined))).not.to.throw();
  });

  it('keeps the forms that are not an options object', () => {
    expect(() => reconnectWith(retry)).not.to.throw();
    expect(() => retryWith(retry)).not.to.throw();
    expect(() => shareConnection(1_000)).not.to.throw();
    expect(() => new CircuitBreaker({ openFor: exponentialBackoff() })).not.to.throw();
    expect(() => new CircuitBreaker({ strategy: failureRatio({ window: { count: 20 } }) })).not.to.throw();
    expect(() => retry.classify(() => 'transient')).not.to.throw();
    expect(() => http('http://127.0.0.1:8080/')).not.to.throw();
  });

  it('an EndpointSet takes a breaker made by another copy of the library as a breaker, not as options', async () => {
    // A query string makes the module loader evaluate the library a second time: another copy.
    const url = `${pathToFileURL(path.resolve('lib/index.ts')).href}?known-options-copy`;
    const other = (await import(url)) as { CircuitBreaker: typeof CircuitBreaker };
    const breaker = new other.CircuitBreaker();
    const set = new EndpointSet({ endpoints, random, breaker: () => breaker });
    expect(set.breakerOf('a')).to.equal(breaker);
  });

  describe('required options, missing', () => {
    it('tcp() says it needs the server', () => {
      const needed = 'tcp: options must name the server, as { host, port } (or { port })';
      expect(thrown(() => tcp(undefined as never)).message).to.equal(`${needed}, got undefined`);
      expect(thrown(() => tcp(null as never)).message).to.equal(`${needed}, got null`);
      expect(thrown(() => tcp({} as never)).message).to.equal(`${needed}, got no port`);
      expect(thrown(() => tcp({ host: 'example.com' } as never)).message).to.equal(`${needed}, got no port`);
    });

    it('websocket() says it needs the url', () => {
      const needed = 'websocket: options must name the server, as { url }';
      expect(thrown(() => websocket(undefined as never)).message).to.equal(`${needed}, got undefined`);
      expect(thrown(() => websocket({ WebSocket } as never)).message).to.equal(`${needed}, got no url`);
    });

    it('new FrameDecoder() says it needs the codec', () => {
      const needed = 'FrameDecoder: options must give the codec, as { codec }';
      expect(thrown(() => new FrameDecoder(undefined as never)).message).to.equal(`${needed}, got undefined`);
      expect(thrown(() => new FrameDecoder({} as never)).message).to.equal(`${needed}, got no codec`);
    });
  });
});

/** The options `row` knows, as its message for a misspelled key lists them. */
function knownOptions(row: Row): string[] {
  const message = thrown(() => row.call({ ...row.valid, [row.wrong]: 1 })).message;
  return message.slice(message.indexOf('known options: ') + 'known options: '.length).split(', ');
}

/**
 * Where an entry point hands its options to another, whose name its messages then start with:
 * `policy.exponential` builds an `exponentialBackoff`, `breaker` options make a `CircuitBreaker`.
 */
const DELEGATES: Readonly<Record<string, readonly string[]>> = {
  'policy.exponential': ['exponentialBackoff'],
  'policy.linear': ['linearBackoff'],
  EndpointSet: ['CircuitBreaker'],
};

/**
 * Options whose value may be anything: an error to emit; and the config of `new RetryPolicy`, an
 * internal constructor whose values the `policy.*` builders check one by one.
 */
const ANYTHING: Readonly<Record<string, readonly string[]>> = {
  scriptedTransport: ['error'],
  RetryPolicy: [
    'backoff',
    'jitter',
    'random',
    'maxAttempts',
    'maxElapsed',
    'maxHint',
    'attemptTimeout',
    'classify',
    'breaker',
    'budget',
  ],
};

/** What `row.call` says of a nonsense value for each of its options that it refuses unclearly. */
function unclearRefusals(row: Row): string[] {
  const names = [row.name, ...(DELEGATES[row.name] ?? [])].map((name) => name.replace('.', '\\.'));
  const clear = new RegExp(`^(${names.join('|')}): `);
  const unclear: string[] = [];
  for (const option of knownOptions(row)) {
    for (const [what, value] of NONSENSE) {
      let error: unknown;
      try {
        row.call({ ...row.valid, [option]: value });
      } catch (caught) {
        error = caught;
      }
      if (error === undefined) {
        // No option takes a symbol, but an error to emit, which may be anything.
        if (typeof value === 'symbol' && !ANYTHING[row.name]?.includes(option)) {
          unclear.push(`{ ${option}: ${what} }: taken`);
        }
        continue;
      }
      const message = String((error as Error).message);
      // A delegate's message names its own option (CircuitBreaker's, for a breaker's options).
      const named = message.startsWith(`${row.name}: `) ? message.includes(option) : true;
      if (!(error instanceof TypeError) || !clear.test(message) || !named) {
        unclear.push(`{ ${option}: ${what} }: ${(error as Error).name}: ${message}`);
      }
    }
  }
  return unclear;
}

describe('nonsense option values', () => {
  it('a scheduler that is not one is refused when the options are given, by every entry point that takes one', () => {
    const takers = rows.filter((row) => knownOptions(row).includes('scheduler'));
    expect(takers.length).to.be.at.least(15);
    const taken: string[] = [];
    for (const row of takers) {
      for (const [what, value] of [...NONSENSE, ['a Date', new Date(0)] as const]) {
        const names = [row.name, ...(DELEGATES[row.name] ?? [])].join('|').replace('.', '\\.');
        try {
          row.call({ ...row.valid, scheduler: value });
          taken.push(`${row.name}: ${what}`);
        } catch (error) {
          expect(error, `${row.name}: ${what}`).to.be.instanceOf(TypeError);
          expect((error as Error).message).to.match(
            new RegExp(`^(${names}): scheduler must be a SchedulerLike, got `),
          );
        }
      }
    }
    expect(taken).to.deep.equal([]);
  });

  for (const row of rows) {
    it(`${row.name}: each option refuses nonsense with a TypeError that starts '${row.name}: ' and names it, or takes it (never a symbol)`, () => {
      expect(unclearRefusals(row)).to.deep.equal([]);
    });
  }
});
