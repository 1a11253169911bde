// Records the flushes (fdatasync, fsync) and renames the library makes, in order, by replacing
// node:fs's functions and syncing the bindings that `import { fsyncSync } from 'node:fs'` reads
// (node:module's syncBuiltinESMExports). A flush cannot be seen on the disk without crashing the
// machine; its call can. `fail` may throw instead of one call, for the file system's refusals.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

export type FsCall = 'fdatasync' | 'fsync' | 'rename';

export interface FsCalls {
  /** The calls made since, in order. */
  readonly log: FsCall[];
  /** Resolves at the next call of `kind`. */
  next(kind: FsCall): Promise<void>;
  /** Puts node:fs back. */
  restore(): void;
}

export function recordFsCalls(fail?: (call: FsCall) => void): FsCalls {
  const { fdatasyncSync, fsyncSync, renameSync } = fs;
  const log: FsCall[] = [];
  const waiting: { kind: FsCall; resolve: () => void }[] = [];
  const seen = (call: FsCall) => {
    fail?.(call);
    log.push(call);
    for (const waiter of waiting.filter(({ kind }) => kind === call)) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  fs.fdatasyncSync = (fd) => {
    seen('fdatasync');
    fdatasyncSync(fd);
  };
  fs.fsyncSync = (fd) => {
    seen('fsync');
    fsyncSync(fd);
  };
  fs.renameSync = (from, to) => {
    seen('rename');
    renameSync(from, to);
  };
  syncBuiltinESMExports();
  return {
    log,
    next: (kind) => new Promise((resolve) => waiting.push({ kind, resolve })),
    restore() {
      Object.assign(fs, { fdatasyncSync, fsyncSync, renameSync });
      syncBuiltinESMExports();
    },
  };
}
