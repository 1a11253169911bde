// How the chaos tests wait: on conditions, re-checked whenever something happened, never on a
// clock; the first problem reported fails every wait.

/** `until(condition)` resolves once it holds; `changed()` re-checks; `fail(what)` rejects them all. */
export interface Conditions {
  until(condition: () => boolean): Promise<void>;
  changed(): void;
  fail(what: string): void;
  /** The first problem reported, if any. */
  problem(): Error | undefined;
}

export function conditions(): Conditions {
  let problem: Error | undefined;
  const waiters = new Set<() => void>();
  const changed = () => [...waiters].forEach((check) => check());
  return {
    changed,
    problem: () => problem,
    fail(what) {
      problem ??= new Error(what);
      changed();
    },
    until: (condition) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (problem) reject(problem);
          else if (condition()) resolve();
          else return;
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}
