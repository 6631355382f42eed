// Loaded with `node --import ./test/module-trace.ts`: prints `SLUICE_MODULE <url>` on stderr for every module the
// process loads (import and require alike), so a test can say what a gateway loaded without measuring memory. At
// exit it prints `SLUICE_BUILTIN <entry>` for each of Node's own modules and bindings loaded (process.moduleLoadList,
// undocumented but stable): the hooks do not see those.

import { writeSync } from 'node:fs';
import { registerHooks } from 'node:module';

registerHooks({
  load(url, context, nextLoad) {
    writeSync(2, `SLUICE_MODULE ${url}\n`);
    return nextLoad(url, context);
  },
});

process.on('exit', () => {
  const list = (process as unknown as { moduleLoadList?: readonly string[] }).moduleLoadList ?? [];
  // Some 300 lines at once can fill the pipe to the test, whose end is non-blocking: write on until all is taken.
  let rest = Buffer.from(list.map((entry) => `SLUICE_BUILTIN ${entry}\n`).join(''));
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(2, rest));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
});
