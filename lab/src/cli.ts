#!/usr/bin/env node
/**
 * `lifeline-lab`: compares retry policies side by side in virtual time. See `lifeline-lab --help`.
 * @internal
 * @packageDocumentation
 */
import { runLab } from './run.js';

// `lifeline-lab … | head` closes the pipe before the report is written: stop quietly, with status
// 0, as other command-line tools do, instead of dying of an unhandled EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await runLab(process.argv.slice(2), {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTerminal: process.stdout.isTTY === true,
});
