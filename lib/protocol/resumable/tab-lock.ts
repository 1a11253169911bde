/**
 * One tab per journal, with the Web Locks API: a lock held for as long as the journal is open.
 * @internal
 * @packageDocumentation
 */

/** A Web Lock this tab holds. @internal */
export interface TabLock {
  /** Lets the lock go (the journal was closed). Releasing again does nothing. */
  release(): void;
  /** Resolves if another tab took the lock (`steal`); never once `release` was called. */
  readonly stolen: Promise<void>;
}

/**
 * Takes the lock `name`: with `takeOver` from whoever holds it (`steal: true`: the holder's lock
 * is revoked at once), otherwise only if it is free (`ifAvailable`). Resolves `undefined` when
 * another context holds it and `takeOver` is false.
 * @internal
 */
export function lockTab(locks: LockManager, name: string, takeOver: boolean): Promise<TabLock | undefined> {
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const held = new Promise<void>((done) => (release = done));
    let granted = false;
    let stolen!: () => void;
    const lock: TabLock = { release, stolen: new Promise<void>((done) => (stolen = done)) };
    const options: LockOptions = takeOver ? { steal: true } : { ifAvailable: true };
    locks
      .request(name, options, (got) => {
        if (got === null) return resolve(undefined);
        granted = true;
        resolve(lock);
        return held;
      })
      // The request settles when the lock goes: fulfilled after `release`, rejected (AbortError)
      // when another tab stole it, or before it was granted when the request itself failed.
      .then(undefined, (error: unknown) => (granted ? stolen() : reject(error)));
  });
}
