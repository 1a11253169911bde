// Helpers shared by the lab specs.
import { spawn } from 'node:child_process';
import { runLab } from '../src/run.js';
import type { ScriptRun } from '../../spec/support/run-script.js';

/** Runs the lab in this process, capturing what it prints. */
export async function lab(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runLab([...args], {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
    isTerminal: false,
  });
  return { code, stdout, stderr };
}

/**
 * Runs the CLI as `npm run lab` does (under tsx), in a child process, and resolves once it has
 * exited. With `closeStdout`, the reading end of its stdout is closed at once, as `| head` does.
 */
export function spawnLab(
  args: readonly string[],
  options: { closeStdout?: boolean } = {},
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'lab/src/cli.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    // 'close' comes after the exit and after the pipes closed: nothing is left open.
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
