// Helpers for the specs that feed protocol layers what a hostile peer's bytes can decode to: every
// layer must turn any value into frames or a typed ProtocolError, and never throw out of `next`.
import fc from 'fast-check';
import { config, Subject, type Observable } from 'rxjs';
import type { TransportEvent } from 'rx-lifeline';
import { RecordingLink } from 'rx-lifeline/testing';

/**
 * The 14-byte frame of the bug report: a length prefix of 10, then `91 d3 00 00 00 00 00 00 00 01`,
 * an array holding one MessagePack int64, which the default codec decodes as `[1n]`.
 */
export const INT64_FRAME_BYTES = Uint8Array.of(0, 0, 0, 10, 0x91, 0xd3, 0, 0, 0, 0, 0, 0, 0, 1);

/** What {@link INT64_FRAME_BYTES} decodes to. */
export const INT64_FRAME: unknown = [1n];

/** Keys that trip code reading objects carelessly. */
const oddKey = fc.constantFrom(
  '__proto__',
  '__proto_',
  'constructor',
  'toString',
  'valueOf',
  'toJSON',
  'then',
  'length',
  'v',
);

/** Numbers and near-numbers where a count, an id or a time is expected. */
const oddNumber = fc.constantFrom<unknown>(
  NaN,
  Infinity,
  -Infinity,
  -0,
  -1,
  0.5,
  2 ** 53,
  -(2 ** 53),
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  '1',
  '',
  1n,
  2n ** 63n - 1n,
  null,
  undefined,
  true,
);

/**
 * Values a decoder may produce and then some: fc.anything with bigints, dates (invalid ones too),
 * typed arrays, null-prototype objects, boxed values and sparse arrays; Uint8Arrays; odd numbers;
 * objects with prototype-ish keys.
 */
export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 3,
    withBigInt: true,
    withDate: true,
    withTypedArray: true,
    withNullPrototype: true,
    withBoxedValues: true,
    withSparseArray: true,
    withObjectString: true,
  }),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 8 }),
  oddNumber,
  fc.dictionary(oddKey, fc.oneof(oddNumber, fc.anything({ maxDepth: 1 })), { maxKeys: 4 }),
);

/**
 * A layer's valid envelopes, whole or bent: one item replaced by an odd value, the last dropped,
 * an odd value appended; and odd values on their own.
 */
export function peerFrame(envelopes: fc.Arbitrary<unknown[]>): fc.Arbitrary<unknown> {
  const bent = fc
    .tuple(envelopes, fc.nat(), oddValue, fc.constantFrom('replace', 'drop', 'append'))
    .map(([envelope, index, value, how]) => {
      const copy = [...envelope];
      if (how === 'replace') copy[index % copy.length] = value;
      else if (how === 'drop') copy.pop();
      else copy.push(value);
      return copy;
    });
  return fc.oneof(oddValue, envelopes, bent);
}

/** An object envelope (a hello, a welcome) with one field replaced by an odd value, or added. */
export function bentRecord(records: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof(
    records,
    fc
      .tuple(
        records,
        fc.oneof(oddKey, fc.constantFrom('session', 'token', 'received', 'reason', 'lost')),
        oddValue,
      )
      .map(([record, key, value]) => Object.assign({ ...record }, { [key]: value })),
  );
}

/**
 * Runs `body` and returns what RxJS reported as unhandled meanwhile: an exception thrown out of an
 * Observer, which RxJS rethrows on a 0 ms timer, where it would end the process. It waits for that
 * one timer turn (a timer set later fires later), not for any length of time.
 */
export async function unhandledDuring(body: () => void | Promise<void>): Promise<unknown[]> {
  const reported: unknown[] = [];
  const previous = config.onUnhandledError;
  config.onUnhandledError = (error: unknown) => reported.push(error);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    config.onUnhandledError = previous;
  }
  return reported;
}

/** What a layer did with one connection's frames. */
export interface Fed {
  /** The types of the events it emitted, in order. */
  readonly types: string[];
  /** The error it failed with, if it did. */
  readonly error: unknown;
  /** The connection's link: what the layer sent, whether it closed it. */
  readonly link: RecordingLink;
}

/**
 * Feeds `layer` one connection: `connected` with a RecordingLink, then one `frame` event per item of
 * `frames`, then unsubscribes. `onEvent` sees each emitted event (to make a request, say).
 */
export function feedLayer(
  layer: (source: Observable<TransportEvent>) => Observable<{ readonly type: string }>,
  frames: readonly unknown[],
  onEvent: (event: { readonly type: string }) => void = () => undefined,
): Fed {
  const source = new Subject<TransportEvent>();
  const link = new RecordingLink();
  const fed = { types: [] as string[], error: undefined as unknown, link };
  const subscription = layer(source).subscribe({
    next: (event) => {
      fed.types.push(event.type);
      onEvent(event);
    },
    error: (error: unknown) => (fed.error = error),
  });
  source.next({ type: 'connected', link });
  for (const frame of frames) source.next({ type: 'frame', frame });
  subscription.unsubscribe();
  return fed;
}
