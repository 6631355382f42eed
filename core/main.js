// Entry point: `node core/main.js --config proxy.yaml`. Node 24 runs the TypeScript sources directly.
import { enableCompileCache } from 'node:module';
import { setFlagsFromString } from 'node:v8';

// Stripping the sources' types loads a compiler into the process, about 30 MB of RSS that stays. Node's compile
// cache keeps the stripped output (and V8's code cache) on disk, in NODE_COMPILE_CACHE or the temp directory, so
// every start after the first skips it. It never fails a start: an unwritable directory only turns it off.
enableCompileCache();

// V8 doubles the young generation after busy scavenges, up to 2 × 16 MB, and keeps it: loading the modules, or a
// thousand streams opening at once, leaves 30 MB of RSS that a proxy's short-lived garbage does not need.
// Semi-spaces that stay at their first size (1 MB) save ~15 MB idle and ~40 MB with 1,000 streams open
// (`npm run bench:memory`). The flag is read at each growth decision, so setting it now takes effect. An operator's
// own young-generation flags (on the command line or in NODE_OPTIONS) win.
const V8_YOUNG_GENERATION = /--(?:max|min)-semi-space-size|--semi-space-growth-factor/;
if (!V8_YOUNG_GENERATION.test([...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' '))) {
  setFlagsFromString('--semi-space-growth-factor=1');
}

await import('./cli.ts');
