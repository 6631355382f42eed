// The response cache: what a lookup costs on a miss (the price every uncached request pays), what a hit costs, and
// a hit against a direct backend call through real sockets.
//
//   npm run bench:cache        exit 1 if the in-process miss is over its 50 µs budget
//
// In process, the cache plugin's own hooks are called on real RequestContexts (as the pipeline calls them): the
// miss is upstreamRequest (canonical key, SHA-256, store read, single-flight entry) plus log (the flight lands).
// With Redis, a miss is one round trip (GET-or-lock in one Lua call), timed alone; the lock release log sends
// afterwards is waited for outside the timing. The end-to-end part runs the OpenAI simulator (no delay) and a gateway with the cache in memory.

import { Bench } from 'tinybench';
import { fakeContext, fakeDeps, modelGroups } from '../core/plugin/testing.ts';
import { createCache, type CachePlugin } from '../plugins/cache/index.ts';
import { cacheKey } from '../plugins/cache/key.ts';
import { startRedis } from '../test/redis-server.ts';
import { startOpenAISim } from '../test/sim/openai-sim.ts';
import { post, startGateway } from '../test/helpers.ts';

const MISS_BUDGET_US = 50;
const groups = modelGroups([{ model_name: 'g', litellm_params: { model: 'mock/a' } }]);
const group = groups.get('g')!;
/** A typical chat request: a system prompt, a few turns, ~1.5 KB. */
const MESSAGES = [
  { role: 'system', content: 'You are a careful assistant. '.repeat(12) },
  { role: 'user', content: 'Summarise the following paragraph in two sentences. '.repeat(8) },
  { role: 'assistant', content: 'Here is the summary you asked for. '.repeat(6) },
  { role: 'user', content: 'Now list three follow-up questions.' },
];
const ANSWER = Buffer.from(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] }));

let seq = 0;
const body = (seed: number): Record<string, unknown> => ({ model: 'g', messages: MESSAGES, temperature: 0.2, seed });

async function miss(plugin: CachePlugin): Promise<void> {
  const ctx = fakeContext({ body: body(seq++), group });
  const reply = await plugin.upstreamRequest!(ctx);
  if (reply !== undefined) throw new Error('expected a miss');
  plugin.log!(ctx);
}

async function hit(plugin: CachePlugin): Promise<void> {
  const ctx = fakeContext({ body: body(-1), group });
  const reply = await plugin.upstreamRequest!(ctx);
  if (reply === undefined) throw new Error('expected a hit');
  plugin.log!(ctx);
}

/** Stores the answer for body(-1), as a completed miss does. */
async function fill(plugin: CachePlugin): Promise<void> {
  const ctx = fakeContext({ body: body(-1), group });
  if ((await plugin.upstreamRequest!(ctx)) !== undefined) return;
  ctx.upstreamStatus = 200;
  plugin.onResponseHeaders!(ctx, { status: 200, headers: { 'content-type': 'application/json' }, isEventStream: false });
  await plugin.onResponseBody!(ctx, { status: 200, raw: ANSWER, json: JSON.parse(ANSWER.toString()) });
  await plugin.onResponseEnd!(ctx);
  plugin.log!(ctx);
  await new Promise((resolve) => setTimeout(resolve, 50));
}

function row(name: string, samples: Float64Array | number[], budget: number | null): Record<string, string> {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    step: name,
    'mean µs': mean.toFixed(1),
    'p50 µs': at(0.5).toFixed(1),
    'p99 µs': at(0.99).toFixed(1),
    budget: budget === null ? '' : `${budget} µs mean`,
    verdict: budget === null ? '' : mean <= budget ? 'PASS' : 'OVER BUDGET',
  };
}

async function sample(calls: number, fn: () => Promise<void>): Promise<Float64Array> {
  for (let i = 0; i < Math.min(500, calls); i++) await fn();
  const out = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await fn();
    out[i] = (performance.now() - started) * 1000;
  }
  return out;
}

/** Times upstreamRequest alone: the lock release log sends is awaited outside the timing, so it never queues ahead. */
async function missesTimedAlone(plugin: CachePlugin, calls: number): Promise<Float64Array> {
  const out = new Float64Array(calls);
  for (let i = -500; i < calls; i++) {
    const ctx = fakeContext({ body: body(seq++), group });
    const started = performance.now();
    const reply = await plugin.upstreamRequest!(ctx);
    const took = (performance.now() - started) * 1000;
    if (reply !== undefined) throw new Error('expected a miss');
    if (i >= 0) out[i] = took;
    plugin.log!(ctx);
    while (plugin.flights.size > 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

async function inProcess(): Promise<number> {
  const plugin = await createCache({ type: 'local' }, fakeDeps({ groups }));
  await fill(plugin);
  const bench = new Bench({ time: 500, warmupTime: 200 });
  bench.add('key only (canonical JSON + SHA-256)', () => void cacheKey({ endpoint: 'chat', group: 'g', stream: false, body: body(seq++), namespace: null }));
  bench.add('miss in memory (upstreamRequest + log)', () => miss(plugin));
  bench.add('hit in memory (upstreamRequest + log)', () => hit(plugin));
  await bench.run();
  const rows = bench.tasks.map((task, i) => {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
    const mean = result.latency.mean * 1000;
    const budget = i === 1 ? MISS_BUDGET_US : null;
    return {
      step: task.name,
      'mean µs': mean.toFixed(2),
      'p50 µs': ((result.latency.p50 ?? 0) * 1000).toFixed(2),
      'p99 µs': (result.latency.p99 * 1000).toFixed(2),
      budget: budget === null ? '' : `${budget} µs mean`,
      verdict: budget === null ? '' : mean <= budget ? 'PASS' : 'OVER BUDGET',
    };
  });
  console.log(`Sluice response cache, in process (Node ${process.version}; a ~1.5 KB chat request)`);
  console.table(rows);
  await plugin.close!();
  return rows.filter((r) => r.verdict === 'OVER BUDGET').length;
}

async function withRedis(): Promise<void> {
  const redis = await startRedis();
  const plugin = await createCache({ type: 'redis', redis: { port: redis.port } }, fakeDeps({ groups }));
  try {
    const started = performance.now();
    while ((await plugin.store.ping()).healthy === false) {
      if (performance.now() - started > 5000) throw new Error('redis-server did not come up');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await fill(plugin);
    const rows = [
      row('PING round trip (reference)', await sample(5000, async () => void (await plugin.store.ping())), null),
      row('miss with Redis (GET-or-lock, one round trip)', await missesTimedAlone(plugin, 5000), null),
      row('hit with Redis', await sample(5000, () => hit(plugin)), null),
    ];
    console.log(`Sluice response cache, Redis on loopback (127.0.0.1:${redis.port}, one awaited lookup at a time)`);
    console.table(rows);
  } finally {
    await plugin.close!();
    await redis.stop();
  }
}

async function endToEnd(): Promise<void> {
  const sim = await startOpenAISim({ text: 'The answer is forty two' });
  const gw = await startGateway(`
model_list:
  - model_name: m
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}, api_key: sk-backend }
litellm_settings: { cache: true }
`);
  try {
    const request = JSON.stringify({ model: 'm', messages: MESSAGES });
    const direct = JSON.stringify({ model: 'sim-model', messages: MESSAGES });
    await post(`${gw.url}/v1/chat/completions`, request);
    const viaCache = async (): Promise<void> => {
      const res = await post(`${gw.url}/v1/chat/completions`, request);
      if (res.headers['x-sluice-cache'] !== 'hit') throw new Error('expected a hit');
    };
    const toBackend = async (): Promise<void> => {
      const res = await post(`${sim.url}/v1/chat/completions`, direct);
      if (res.status !== 200) throw new Error(`backend answered ${res.status}`);
    };
    const throughput = async (fn: () => Promise<void>, total: number, concurrency: number): Promise<string> => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < total) await fn();
        }),
      );
      return ((total / (performance.now() - started)) * 1000).toFixed(0);
    };
    const rows = [
      { ...row('hit through the gateway (HTTP/1.1, one at a time)', await sample(2000, viaCache), null), 'req/s at 32 in flight': await throughput(viaCache, 5000, 32) },
      { ...row('direct call to the simulator (no delay)', await sample(2000, toBackend), null), 'req/s at 32 in flight': await throughput(toBackend, 5000, 32) },
    ];
    console.log('Hit latency and throughput against a direct backend call (loopback; the simulator answers at once, so a real backend only widens the gap)');
    console.table(rows);
  } finally {
    await gw.close();
    await sim.close();
  }
}

const failed = await inProcess();
await withRedis();
await endToEnd();
if (failed > 0) {
  console.error(`${failed} step(s) over budget`);
  process.exitCode = 1;
}
