import { spawn } from 'node:child_process';

/** What a finished script printed, and how it exited. */
export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script as its README line does (`npx tsx <file>`), and resolves once it has exited. */
export function runScript(file: string, args: readonly string[] = []): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    // 'close' comes after the exit and after the pipes closed: nothing is left open. A script
    // that left a socket or a timer behind would not exit, and the test would time out.
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
