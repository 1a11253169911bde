// Helpers shared by the lab specs.
import { runLab } from '../src/run.js';
import { runScript, type ScriptRun } from '../../spec/support/run-script.js';

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

/** Runs the CLI as `npm run lab` does (under tsx), in a child process. */
export function spawnLab(args: readonly string[]): Promise<ScriptRun> {
  return runScript('lab/src/cli.ts', args);
}
