/**
 * rx-lifeline-lab: the types a lab config module is written against. The lab itself is the
 * `lifeline-lab` command; see its `--help`.
 * @packageDocumentation
 * @module rx-lifeline-lab
 */
export type { PolicyContext, PolicyFactory, LabConfigModule } from './policies.js';
