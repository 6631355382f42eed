// Shared-state store budgets: the in-memory limit checks per call, the IPC store's round trip to another process
// (what a worker pays with `server.workers`), and the Redis check's round trip on loopback.
//
//   node bench/store.bench.ts                 print the tables; exit 1 if a step is over its budget
//   taskset -c 0 node bench/store.bench.ts    pinned to one core, for steadier figures
//
// The in-memory steps are timed with tinybench, BATCH awaited calls per sample, over 1000 keys whose windows
// hold ~100 live entries each (so trimming and appending are both exercised). The Redis step starts a real
// redis-server (test/redis-server.ts) and times single awaited windowCheck calls one after another. The IPC step
// forks a child that serves a MemoryStore over its channel, as the primary does for its workers, and times single
// awaited calls (one message each way per call) and bursts of concurrent calls (one message per burst).

import { fork, type ChildProcess } from 'node:child_process';
import { Bench } from 'tinybench';
import { budgetRows, type Budget } from './budget.ts';
import { createLogger } from '../core/logger.ts';
import { MemoryStore } from '../core/state/memory-store.ts';
import { RedisStore } from '../core/state/redis-store.ts';
import { IpcStore, parentEnd, serveStore, type IpcEnd } from '../core/state/ipc-store.ts';
import type { LimitDecision } from '../core/state/store.ts';
import { startRedis } from '../test/redis-server.ts';

const BATCH = 100;
const KEYS = Array.from({ length: 1000 }, (_, i) => `key:${i}`);
/** Results are stored here so the JIT cannot drop the work as dead code. */
let sink: LimitDecision | null = null;

interface Step extends Budget {
  fn: () => Promise<void>;
}

function memorySteps(): { steps: Step[]; stores: MemoryStore[] } {
  const windows = new MemoryStore({ sweepIntervalMs: 0 });
  const full = new MemoryStore({ sweepIntervalMs: 0 });
  const gcra = new MemoryStore({ sweepIntervalMs: 0 });
  // A synthetic clock: 10 µs per call, so each key is hit every 10 ms and a 1 s window holds ~100 entries.
  let now = 1_000_000;
  let i = 0;
  const next = (): string => KEYS[i++ % KEYS.length]!;
  return {
    stores: [windows, full, gcra],
    steps: [
      {
        name: 'memory windowCheck, admitted (1 s window, ~100 live entries/key)',
        meanUs: 5,
        p99Us: 10,
        fn: async () => {
          for (let n = 0; n < BATCH; n++) sink = await windows.windowCheck(next(), 1e9, 1000, 1, (now += 0.01));
        },
      },
      {
        name: 'memory windowCheck, refused at the limit (computes retryAfter)',
        meanUs: 5,
        p99Us: 10,
        fn: async () => {
          for (let n = 0; n < BATCH; n++) sink = await full.windowCheck(next(), 50, 1000, 1, (now += 0.01));
        },
      },
      {
        name: 'memory gcra (100 r/s, burst 20)',
        meanUs: 5,
        p99Us: 10,
        fn: async () => {
          for (let n = 0; n < BATCH; n++) sink = await gcra.gcra(next(), 100, 20, (now += 0.01));
        },
      },
    ],
  };
}

async function benchMemory(): Promise<number> {
  const { steps, stores } = memorySteps();
  const bench = new Bench({ time: 500, warmupTime: 200 });
  for (const step of steps) bench.add(step.name, step.fn);
  await bench.run();
  const { rows, failed } = budgetRows(bench, steps, BATCH);
  console.log(`Sluice shared-state store, in memory (Node ${process.version}, ${BATCH} awaited calls per sample)`);
  console.table(rows);
  await Promise.all(stores.map((s) => s.close()));
  return failed;
}

/** Round-trip budget on loopback, µs: generous, since it depends on the machine far more than on the script. */
const REDIS_BUDGET = { p50Us: 500, p99Us: 2000 };

async function benchRedis(): Promise<number> {
  const redis = await startRedis();
  const store = new RedisStore({ port: redis.port }, createLogger('warn'));
  try {
    if (!(await store.connected(5000))) throw new Error('redis-server did not come up');
    const measure = async (label: string, calls: number, fn: (n: number) => Promise<LimitDecision>): Promise<Record<string, string>> => {
      for (let n = 0; n < 500; n++) sink = await fn(n); // warm-up: script cache, JIT, socket buffers
      const samples = new Float64Array(calls);
      for (let n = 0; n < calls; n++) {
        const started = performance.now();
        sink = await fn(n);
        samples[n] = (performance.now() - started) * 1000;
      }
      if (store.health() !== 'ok') throw new Error(`${label}: the store fell back to local limits during the run`);
      samples.sort();
      const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
      const ok = at(0.5) <= REDIS_BUDGET.p50Us && at(0.99) <= REDIS_BUDGET.p99Us;
      return {
        step: label,
        calls: String(calls),
        'p50 µs': at(0.5).toFixed(1),
        'p99 µs': at(0.99).toFixed(1),
        'max µs': samples[samples.length - 1]!.toFixed(1),
        'budget p50/p99 µs': `${REDIS_BUDGET.p50Us} / ${REDIS_BUDGET.p99Us}`,
        verdict: ok ? 'PASS' : 'OVER BUDGET',
      };
    };
    const rows = [
      // ~100 live entries per key, as in memory: 100 keys, each hit every ~100 calls within a 60 s window.
      await measure('redis windowCheck, admitted (EVALSHA round trip)', 10_000, (n) => store.windowCheck(KEYS[n % 100]!, 1e9, 60_000, 1, Date.now())),
      await measure('redis windowCheck, refused at the limit', 5_000, (n) => store.windowCheck(`full:${n % 100}`, 50, 60_000, 1, Date.now())),
      await measure('redis gcra', 5_000, (n) => store.gcra(KEYS[n % 100]!, 100, 20, Date.now())),
    ];
    console.log(`Sluice shared-state store, Redis on loopback (redis-server on 127.0.0.1:${redis.port}, one awaited call at a time)`);
    console.table(rows);
    return rows.filter((r) => r.verdict !== 'PASS').length;
  } finally {
    await store.close();
    await redis.stop();
  }
}

/** Round trip over a local IPC channel, µs; per call in a burst of IPC_BURST concurrent calls. */
const IPC_BUDGET = { p50Us: 150, p99Us: 2000, burstUs: 20 };
const IPC_BURST = 100;

/** The child's side: serve a MemoryStore over the channel until it closes. */
function serveInChild(): void {
  const store = new MemoryStore({ sweepIntervalMs: 0 });
  serveStore(store, parentEnd());
  process.on('disconnect', () => void store.close());
}

function childEnd(child: ChildProcess): IpcEnd {
  return {
    send: (message) => child.send(message),
    on: (event: 'message' | 'disconnect', listener: (message: unknown) => void) => child.on(event, listener),
    off: (event: 'message' | 'disconnect', listener: (message: unknown) => void) => child.off(event, listener),
  };
}

async function benchIpc(serialization: 'json' | 'advanced'): Promise<number> {
  const child = fork(import.meta.filename, ['--serve-store'], { serialization, stdio: 'inherit' });
  const store = new IpcStore(childEnd(child));
  try {
    const sequential = async (label: string, calls: number, fn: (n: number) => Promise<LimitDecision>): Promise<Record<string, string>> => {
      for (let n = 0; n < 2000; n++) sink = await fn(n);
      const samples = new Float64Array(calls);
      for (let n = 0; n < calls; n++) {
        const started = performance.now();
        sink = await fn(n);
        samples[n] = (performance.now() - started) * 1000;
      }
      samples.sort();
      const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
      const ok = at(0.5) <= IPC_BUDGET.p50Us && at(0.99) <= IPC_BUDGET.p99Us;
      return { step: label, calls: String(calls), 'p50 µs': at(0.5).toFixed(1), 'p99 µs': at(0.99).toFixed(1), budget: `p50 ${IPC_BUDGET.p50Us} / p99 ${IPC_BUDGET.p99Us}`, verdict: ok ? 'PASS' : 'OVER BUDGET' };
    };
    const burst = async (label: string, bursts: number): Promise<Record<string, string>> => {
      const run = async (b: number): Promise<void> => {
        const calls: Promise<LimitDecision>[] = [];
        for (let n = 0; n < IPC_BURST; n++) calls.push(store.windowCheck(KEYS[(b * IPC_BURST + n) % KEYS.length]!, 1e9, 60_000, 1, Date.now()));
        sink = (await Promise.all(calls))[0]!;
      };
      for (let b = 0; b < 50; b++) await run(b);
      const samples = new Float64Array(bursts);
      for (let b = 0; b < bursts; b++) {
        const started = performance.now();
        await run(b);
        samples[b] = ((performance.now() - started) * 1000) / IPC_BURST;
      }
      samples.sort();
      const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
      const ok = at(0.5) <= IPC_BUDGET.burstUs;
      return { step: label, calls: String(bursts * IPC_BURST), 'p50 µs': at(0.5).toFixed(2), 'p99 µs': at(0.99).toFixed(2), budget: `p50 ${IPC_BUDGET.burstUs} per call`, verdict: ok ? 'PASS' : 'OVER BUDGET' };
    };
    const rows = [
      await sequential('ipc windowCheck, admitted (one awaited call: a message each way)', 10_000, (n) => store.windowCheck(KEYS[n % 100]!, 1e9, 60_000, 1, Date.now())),
      await sequential('ipc gcra', 5_000, (n) => store.gcra(KEYS[n % 100]!, 100, 20, Date.now())),
      await burst(`ipc windowCheck, ${IPC_BURST} concurrent calls (one message each way), per call`, 500),
    ];
    console.log(`Sluice shared-state store over IPC to another process (node:child_process channel, serialization ${serialization})`);
    console.table(rows);
    return rows.filter((r) => r.verdict !== 'PASS').length;
  } finally {
    await store.close();
    child.disconnect();
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

if (process.argv.includes('--serve-store')) {
  serveInChild();
} else {
  const failed = (await benchMemory()) + (await benchIpc('json')) + (await benchIpc('advanced')) + (await benchRedis());
  if (sink === null) console.log('');
  console.log(failed === 0 ? 'all steps within budget' : `${failed} step(s) over budget`);
  process.exitCode = failed === 0 ? 0 : 1;
}
