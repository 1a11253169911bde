/**
 * Reads the scenarios and policies a user wrote: a JSON file, or a JavaScript or TypeScript module.
 * @internal
 * @packageDocumentation
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { policyFromModule, policyFromSpec, type LabPolicy } from './policies.js';
import { scenarioFromSpec, type Scenario } from './scenarios.js';
import { LabUsageError } from './units.js';

/**
 * What a config file adds to the built-ins; an entry with a built-in's name replaces it.
 * @internal
 * @example
 * ```ts
 * import type { LabConfig } from '../lab/src/config-file.js';
 * const names = (config: LabConfig) => [...config.scenarios.keys(), ...config.policies.keys()];
 * ```
 */
export interface LabConfig {
  readonly scenarios: ReadonlyMap<string, Scenario>;
  readonly policies: ReadonlyMap<string, LabPolicy>;
}

const TYPESCRIPT = /\.(ts|mts|cts)$/;
const JAVASCRIPT = /\.(js|mjs|cjs)$/;

function entries(where: string, value: unknown): [string, unknown][] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LabUsageError(`${where} must be an object keyed by name`);
  }
  return Object.entries(value);
}

/**
 * Loads a config file: `{ "scenarios": { name: spec }, "policies": { name: spec } }` as JSON, or a
 * module (`.js`, `.mjs`, `.cjs`, `.ts`, `.mts`, `.cts`) exporting `scenarios` and `policies`.
 * A module's policies may be RetryPolicy values or factories (see `policyFromModule`).
 *
 * TypeScript modules load when the lab runs under tsx (`npm run lab`, `npx tsx …`) or on a Node
 * that strips types; otherwise the lab registers tsx's loader (`tsx/esm/api`) for the one import, if
 * tsx is installed (the module and the lab then share one copy of rx-lifeline), and says to install
 * it if not.
 * @internal
 * @throws LabUsageError when the file cannot be read or parsed, or an entry is wrong.
 * @example
 * ```ts
 * import { loadConfig } from '../lab/src/config-file.js';
 * const config = await loadConfig('lab.json').catch(() => undefined);
 * ```
 */
export async function loadConfig(file: string): Promise<LabConfig> {
  const absolute = path.resolve(file);
  let module: Record<string, unknown>;
  let fromModule = true;
  if (TYPESCRIPT.test(absolute) || JAVASCRIPT.test(absolute)) {
    module = await importModule(absolute);
  } else {
    fromModule = false;
    let text: string;
    try {
      text = await readFile(absolute, 'utf8');
    } catch (error) {
      throw new LabUsageError(`--config: cannot read ${file}: ${(error as Error).message}`);
    }
    try {
      module = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new LabUsageError(`--config: ${file} is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof module !== 'object' || module === null || Array.isArray(module)) {
      throw new LabUsageError(`--config: ${file} must hold an object with "scenarios" and/or "policies"`);
    }
    for (const key of Object.keys(module)) {
      if (key !== 'scenarios' && key !== 'policies' && key !== '$comment') {
        throw new LabUsageError(`--config: ${file}: unknown field "${key}" (known: scenarios, policies)`);
      }
    }
  }
  const scenarios = new Map<string, Scenario>();
  for (const [name, spec] of entries(`--config: ${file}: scenarios`, module.scenarios)) {
    scenarios.set(name, scenarioFromSpec(name, spec));
  }
  const policies = new Map<string, LabPolicy>();
  for (const [name, spec] of entries(`--config: ${file}: policies`, module.policies)) {
    policies.set(name, fromModule ? policyFromModule(name, spec) : policyFromSpec(name, spec));
  }
  if (scenarios.size === 0 && policies.size === 0) {
    throw new LabUsageError(`--config: ${file} defines no scenarios and no policies`);
  }
  return { scenarios, policies };
}

async function importModule(absolute: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(absolute).href;
  try {
    await access(absolute);
  } catch {
    throw new LabUsageError(`--config: no such file: ${absolute}`);
  }
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !TYPESCRIPT.test(absolute)) {
      throw new LabUsageError(`--config: cannot load ${absolute}: ${(error as Error).message}`);
    }
  }
  // A TypeScript file on a Node that cannot load it: load it through tsx, if it is installed.
  // tsx's `tsImport` would load the file and what it imports in a namespace of their own: a second
  // copy of rx-lifeline, whose RetryPolicy and CircuitBreaker are not the lab's. Registering tsx's
  // hooks for the one import shares the module cache instead: one copy.
  let register: () => () => Promise<void>;
  try {
    const specifier = 'tsx/esm/api';
    ({ register } = (await import(specifier)) as { register: typeof register });
  } catch {
    throw new LabUsageError(
      `--config: loading a TypeScript config needs tsx: install it (npm install --save-dev tsx) ` +
        `or run the lab under it (npx tsx …), or write the config as .js or .json`,
    );
  }
  const unregister = register();
  try {
    // A query string: the failed import above stays in the module cache under the bare URL.
    return (await import(`${url}?lifeline-lab`)) as Record<string, unknown>;
  } catch (error) {
    throw new LabUsageError(`--config: cannot load ${absolute}: ${(error as Error).message}`);
  } finally {
    await unregister();
  }
}
