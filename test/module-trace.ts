// Loaded with `node --import ./test/module-trace.ts`: prints `SLUICE_MODULE <url>` on stderr for every module the
// process loads (import and require alike), so a test can say what a gateway loaded without measuring memory.

import { writeSync } from 'node:fs';
import { registerHooks } from 'node:module';

registerHooks({
  load(url, context, nextLoad) {
    writeSync(2, `SLUICE_MODULE ${url}\n`);
    return nextLoad(url, context);
  },
});
