// Empties dist/ before a build, so a pack never ships the output of a file that no longer exists.
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
