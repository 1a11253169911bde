#!/usr/bin/env node
/**
 * `lifeline-lab`: compares retry policies side by side in virtual time. See `lifeline-lab --help`
 * and docs/lab.md. Not part of any entry of the package: it is only a `bin`.
 * @internal
 * @packageDocumentation
 */
import { runLab } from './run.js';

process.exitCode = await runLab(process.argv.slice(2), {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTerminal: process.stdout.isTTY === true,
});
