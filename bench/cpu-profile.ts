// Runs `runs` measured rounds after a warm-up, under V8's sampling profiler when `out` names a file
// (a .cpuprofile for Chrome DevTools or speedscope): the profile then holds the measured rounds only.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** Calls `once('warm-up')`, then `once('run 1')` … `once('run N')`, profiled into `out` if given. */
export async function profiledRuns(
  runs: number,
  out: string | undefined,
  once: (label: string) => Promise<void>,
): Promise<void> {
  await once('warm-up');
  const session = new Session();
  if (out) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  for (let i = 0; i < runs; i++) await once(`run ${i + 1}`);
  if (out) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(out, JSON.stringify(profile));
    session.disconnect();
  }
}
