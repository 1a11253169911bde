// A benchmark peer in a process of its own (node:child_process fork, run through tsx), driven over
// IPC: the parent asks a named command, the child answers it. The child side is `answerCommands`.
import { fork, type ChildProcess } from 'node:child_process';

interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

/** The parent's handle on one peer process. */
export class PeerProcess {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  /** Resolves with the exit code (or the signal) once the process has ended. */
  readonly exited: Promise<number | string>;

  private constructor(
    private readonly child: ChildProcess,
    readonly ready: unknown,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        for (const w of this.waiting.values()) w.reject(new Error(`peer exited (${code ?? signal})`));
        this.waiting.clear();
        resolve(code ?? signal ?? 'unknown');
      }),
    );
    child.on('message', (message: Answer) => {
      const w = this.waiting.get(message.id);
      if (!w) return;
      this.waiting.delete(message.id);
      if (message.ok) w.resolve(message.value);
      else w.reject(new Error(message.error));
    });
  }

  /**
   * Forks `file` with `args` (and `env` added to this process's environment) and resolves once it
   * says it is ready (with what it said).
   */
  static start(
    file: string,
    args: readonly string[],
    env: Record<string, string> = {},
  ): Promise<PeerProcess> {
    const child = fork(file, args, {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const failed = (code: number | null, signal: string | null) =>
        reject(new Error(`peer ${file} ${args.join(' ')} ended before it was ready (${code ?? signal})`));
      child.once('exit', failed);
      child.once('message', (message: { ready?: unknown }) => {
        child.off('exit', failed);
        resolve(new PeerProcess(child, message.ready));
      });
    });
  }

  /** Asks the child to run `command` and resolves with its answer. */
  ask<T>(command: string, argument?: unknown): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, command, argument });
    });
  }

  /** Ends it with `signal` at once (SIGKILL: the crash the storm is about). */
  kill(signal: NodeJS.Signals): Promise<number | string> {
    this.child.kill(signal);
    return this.exited;
  }

  /** Asks it to close what it holds and exit; kills it if it has not within `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.ask('exit').catch(() => undefined);
    await this.exited;
    clearTimeout(timer);
  }
}

/** A child's commands: each answers with a value that IPC can carry. `exit` is built in. */
export type Commands = Record<string, (argument: unknown) => unknown>;

/**
 * The child side: says it is ready with `ready`, then answers the parent's commands. On `exit`
 * (or when the parent goes away) it runs `close` and exits.
 */
export function answerCommands(ready: unknown, commands: Commands, close: () => Promise<void> | void): void {
  const send = (answer: Answer) => process.send?.(answer);
  let closing = false;
  const shutDown = async () => {
    if (closing) return;
    closing = true;
    await close();
    process.disconnect?.();
    process.exit(0);
  };
  process.on('message', async (message: { id: number; command: string; argument: unknown }) => {
    if (message.command === 'exit') {
      send({ id: message.id, ok: true });
      await shutDown();
      return;
    }
    const command = commands[message.command];
    try {
      if (!command) throw new Error(`unknown command ${message.command}`);
      send({ id: message.id, ok: true, value: await command(message.argument) });
    } catch (error) {
      send({ id: message.id, ok: false, error: String(error) });
    }
  });
  process.once('disconnect', () => void shutDown());
  process.send?.({ ready });
}
