/**
 * The IndexedDB side of {@link indexedDbJournal}: one database per journal, two object stores.
 * `meta` holds `'state'` (session, token, counters, the last acknowledged frame) and `'owner'` (a number each opening bumps, so
 * that a tab whose journal was taken over writes nothing more); `frames` holds each unacknowledged
 * frame's MessagePack bytes under its `seq`.
 * @internal
 * @packageDocumentation
 */

/** The counters and the session, as kept under `meta/'state'`. @internal */
export interface StoredCounters {
  readonly session: string | undefined;
  readonly token: string | undefined;
  readonly lastAcked?: StoredLastAcked;
  readonly lastSeq: number;
  readonly received: number;
}

/** `JournalState.lastAcked`, its frame in MessagePack. @internal */
export interface StoredLastAcked {
  readonly seq: number;
  readonly bytes: Uint8Array;
}

/**
 * A frame under `frames/seq`: its MessagePack bytes, or `{ own: bytes }` for a frame a protocol
 * layer sent for itself (see `layerOwnFrame`). @internal
 */
export type StoredFrame = Uint8Array | { readonly own: Uint8Array };

/** What an opening read. @internal */
export interface Loaded {
  /** This opening's number: every later write checks it is still the newest. */
  readonly owner: number;
  readonly counters: unknown;
  readonly seqs: readonly IDBValidKey[];
  readonly frames: readonly unknown[];
}

/** One commit's changes, applied in this order. @internal */
export interface Batch {
  /** Drop every frame kept (a cleared journal, another session). */
  readonly wipe: boolean;
  /** Drop the frames up to this `seq` (0: none). */
  readonly ackedThrough: number;
  /** Frames to keep, by `seq`. */
  readonly puts: ReadonlyMap<number, StoredFrame>;
  readonly counters: StoredCounters;
}

const META = 'meta';
const FRAMES = 'frames';

/** Opens (or creates) the database `name`. @internal */
export function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(META);
      request.result.createObjectStore(FRAMES);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('indexedDB.open failed'));
  });
}

/** Reads everything kept and claims the database for this opening (bumps `owner`). @internal */
export function loadAndClaim(db: IDBDatabase): Promise<Loaded> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction([META, FRAMES], 'readwrite');
    const meta = tx.objectStore(META);
    const frames = tx.objectStore(FRAMES);
    let owner = 0;
    const ownerRequest = meta.get('owner');
    ownerRequest.onsuccess = () => {
      owner = (typeof ownerRequest.result === 'number' ? ownerRequest.result : 0) + 1;
      meta.put(owner, 'owner');
    };
    const counters = meta.get('state');
    const seqs = frames.getAllKeys();
    const values = frames.getAll();
    tx.oncomplete = () =>
      resolve({ owner, counters: counters.result, seqs: seqs.result, frames: values.result });
    tx.onabort = () => reject(tx.error ?? new Error('the transaction that reads the journal aborted'));
  });
}

/**
 * Writes `batch` in one transaction, first checking that `owner` is still the newest opening.
 * Resolves `'done'` once the transaction completed (durable as `durability` asks), `'taken-over'`
 * when another opening claimed the database (nothing written); rejects when IndexedDB fails.
 * @internal
 */
export function writeBatch(
  db: IDBDatabase,
  owner: number,
  batch: Batch,
  durability: IDBTransactionDurability,
): Promise<'done' | 'taken-over'> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction([META, FRAMES], 'readwrite', { durability });
    const meta = tx.objectStore(META);
    const frames = tx.objectStore(FRAMES);
    let takenOver = false;
    const check = meta.get('owner');
    // The writes are queued once the check passed, in the same transaction: nothing in between.
    check.onsuccess = () => {
      if (check.result !== owner) {
        takenOver = true;
        return tx.abort();
      }
      if (batch.wipe) frames.clear();
      if (batch.ackedThrough > 0) frames.delete(IDBKeyRange.upperBound(batch.ackedThrough));
      for (const [seq, bytes] of batch.puts) frames.put(bytes, seq);
      meta.put(batch.counters, 'state');
    };
    tx.oncomplete = () => resolve('done');
    tx.onabort = () =>
      takenOver
        ? resolve('taken-over')
        : reject(tx.error ?? new Error('the transaction that writes the journal aborted'));
  });
}
