// Entry point: `node core/main.js --config proxy.yaml`. Node 24 runs the TypeScript sources directly.
import { enableCompileCache } from 'node:module';

// Stripping the sources' types loads a compiler into the process, about 50 MB of RSS that stays. Node's compile
// cache keeps the stripped output (and V8's code cache) on disk, in NODE_COMPILE_CACHE or the temp directory, so
// every start after the first skips it. It never fails a start: an unwritable directory only turns it off.
enableCompileCache();
await import('./cli.ts');
