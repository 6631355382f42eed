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
const operatorFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
const V8_YOUNG_GENERATION = /--(?:max|min)-semi-space-size|--semi-space-growth-factor/;
if (!V8_YOUNG_GENERATION.test(operatorFlags)) {
  setFlagsFromString('--semi-space-growth-factor=1');
}

// Start-up runs its code once, yet some of it (config checks, plugin set-up, module bodies) gets hot enough for V8's
// optimizing compilers, Maglev and TurboFan, to compile ~200 functions that never run again. Their compiled code,
// their working memory and the compilers' own machine code paged in stay in the process: ~10 MB of idle RSS.
// So they are off until the gateway listens, and on again before the first request: the request path is optimized
// under traffic exactly as before (`--trace-opt` shows the same TurboFan compilations). Both flags are read at each
// tier-up decision. An operator's own JIT flags win, and a JIT-less V8 is left as it is.
const V8_JIT = /--(?:no-)?(?:turbofan|opt|maglev)\b|--jitless|--lite-mode/;
const deferJit = !V8_JIT.test(operatorFlags);
if (deferJit) {
  setFlagsFromString('--no-turbofan');
  setFlagsFromString('--no-maglev');
}

// Returns once the gateway listens (or has failed, or is a primary that has started its workers).
await import('./cli.ts');

if (deferJit) {
  setFlagsFromString('--turbofan');
  setFlagsFromString('--maglev');
}
