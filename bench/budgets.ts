// `npm run bench`: every hot-path budget bench, one after the other, each in its own process (so one's JIT state
// and garbage do not land in the next). All of them run even when one fails; the exit code is 1 if any step of any
// of them is over its budget (each names its own steps and numbers), so a regression is loud.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const BENCHES = ['bench/hot-path.bench.ts', 'bench/routing.bench.ts', 'bench/translation.bench.ts'];
const ROOT = resolve(import.meta.dirname, '..');

const failed: string[] = [];
for (const bench of BENCHES) {
  const run = spawnSync(process.execPath, [bench], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) failed.push(`${bench} (${run.status === null ? `signal ${run.signal}` : `exit ${run.status}`})`);
  process.stdout.write('\n');
}
if (failed.length === 0) {
  console.log(`npm run bench: every budget held (${BENCHES.join(', ')})`);
} else {
  console.error(`npm run bench: BUDGET BROKEN in ${failed.join(', ')}; the lines starting OVER BUDGET above name each step and its numbers`);
  process.exitCode = 1;
}
