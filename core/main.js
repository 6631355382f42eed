// Entry point: `node core/main.js --config proxy.yaml`. Node 24 runs the TypeScript sources directly.
import { enableCompileCache } from 'node:module';
import { setFlagsFromString } from 'node:v8';

// Stripping the sources' types loads a compiler into the process, about 30 MB of RSS that stays. Node's compile
// cache keeps the stripped output (and V8's code cache) on disk, in NODE_COMPILE_CACHE or the temp directory, so
// every start after the first skips it. It never fails a start: an unwritable directory only turns it off.
enableCompileCache();

// V8 doubles the young generation after busy scavenges, up to 2 × 16 MB, and keeps it. Loading the modules is
// such a burst: semi-spaces held at their first size (1 MB) until the gateway listens save ~15 MB of idle RSS.
// The flag is read at each growth decision, so setting it now takes effect. An operator's own young-generation
// flags (on the command line or in NODE_OPTIONS) win.
const operatorFlags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
const V8_YOUNG_GENERATION = /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;
const holdYoungGeneration = !V8_YOUNG_GENERATION.test(operatorFlags);
if (holdYoungGeneration) {
  setFlagsFromString('--semi-space-growth-factor=1');
}

// Start-up runs its code once, yet some of it (config checks, plugin set-up, module bodies) gets hot enough for V8's
// optimizing compilers, Maglev and TurboFan, to compile ~200 functions that never run again. Their compiled code,
// their working memory and the compilers' own machine code paged in stay in the process: ~10 MB of idle RSS.
// So they are off until the gateway listens, and on again before the first request: the request path is optimized
// under traffic exactly as before (`--trace-opt` shows the same TurboFan compilations). Both flags are read at each
// tier-up decision. An operator's own JIT flags win, and a JIT-less V8 is left as it is.
const V8_JIT = /--(?:no[-_])?(?:turbofan|opt|maglev)\b|--jitless|--lite[-_]mode/;
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

// Under traffic the young generation may grow again, to 4 MB semi-spaces: with 1 MB ones and 64 requests in
// flight a scavenge ran every 3 ms and copied every in-flight request's objects each time, 10–20% of the CPU
// (`npm run bench:load`); at 4 MB it runs every ~12 ms. V8's own cap (16 MB) is fixed when the heap is made, so
// growth is switched off again once the young generation has reached 4 MB semi-spaces, by watching its size after
// each collection. The observer hears of collections in batches, so a burst of allocation can take it one or two
// doublings further first; that costs memory only (at most V8's own 16 MB).
if (holdYoungGeneration) {
  setFlagsFromString('--semi-space-growth-factor=2');
  const { PerformanceObserver } = await import('node:perf_hooks');
  const { getHeapSpaceStatistics } = await import('node:v8');
  const YOUNG_GENERATION_CAP = 2 * 4 * 1024 * 1024; // two semi-spaces of 4 MB
  const watch = new PerformanceObserver(() => {
    const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    if (young === undefined || young.space_size >= YOUNG_GENERATION_CAP) {
      setFlagsFromString('--semi-space-growth-factor=1');
      watch.disconnect();
    }
  });
  watch.observe({ entryTypes: ['gc'] });
}
