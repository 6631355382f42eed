// `npm run test:busy`: the whole suite while every core is kept busy by a spinning process, to show that no test
// depends on how fast the machine is. Exits with the suite's exit code; the spinners are killed either way.

import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';

const spinners: ChildProcess[] = Array.from({ length: availableParallelism() }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const stopSpinners = (): void => {
  for (const spinner of spinners) spinner.kill('SIGKILL');
};
process.on('exit', stopSpinners);

console.log(`test:busy: ${spinners.length} busy loops (pids ${spinners.map((s) => s.pid).join(', ')}), then npm test`);
// Its own process group, so an interrupt reaches npm, tsc and the test runner together.
const suite = spawn('npm', ['test'], { stdio: 'inherit', detached: true });
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (suite.pid !== undefined) process.kill(-suite.pid, signal);
    stopSpinners();
    process.exit(130);
  });
}
suite.on('exit', (code, signal) => {
  stopSpinners();
  console.log(`test:busy: npm test exited with ${signal ?? code}`);
  process.exit(code ?? 1);
});
