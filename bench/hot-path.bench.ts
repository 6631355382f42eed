// Hot-path budgets: each step a request takes through Sluice, timed with tinybench and checked against a budget.
//
//   npm run bench            print the table; exit 1 if a step is over its budget, naming it and its numbers
//
// Each task runs its step BATCH times per sample, so the per-op figures are not swamped by timer resolution. The
// verdict reads the p50 of batch means (see budget.ts), with headroom over what this machine measures
// when idle, so a busy machine does not flap it. The steps follow the full chain of bench:load (issue 16): parse,
// auth lookup, key-limit check (memory store, and a real redis-server when one is installed), route pick, metrics
// count, the usage read of a JSON answer, and the stream tap per chunk.

import { englishLocalize } from '../core/plugin/localize.ts';
import { MemoryStore } from '../core/state/memory-store.ts';
import { Bench } from 'tinybench';
import { budgetResults, budgetRow, judge, overBudgetLines, type Budget, type BudgetResult } from './budget.ts';
import { parseJsonObject, validateRequest } from '../core/http/body.ts';
import { Chain, type LoadedPlugin } from '../core/plugin/chain.ts';
import { RequestContext } from '../core/plugin/context.ts';
import { createLogger } from '../core/logger.ts';
import { buildModelGroups, type ModelListEntry } from '../core/config/models.ts';
import type { Deployment, Plugin } from '../core/plugin/api.ts';
import { SseTap } from '../core/proxy/stream-tap.ts';
import type { SseEvent } from '../core/plugin/stream-event.ts';
import { GUARD_PLUGINS } from '../plugins/guard/index.ts';
import roundRobin from '../plugins/routing/round-robin.ts';
import leastBusy from '../plugins/routing/least-busy.ts';
import apiKey from '../plugins/auth/api-key.ts';
import keyLimits from '../plugins/limits/key-limits.ts';
import metricsPlugin from '../plugins/metrics/index.ts';
import { MemoryRouterState } from '../core/state/router-state.ts';
import { RedisStore } from '../core/state/redis-store.ts';
import { wireOf } from '../core/providers/index.ts';
import { fakeDeps } from '../core/plugin/testing.ts';
import type { AuthInfo, SharedStore } from '../core/plugin/api.ts';
import { findBinary } from './load/procs.ts';
import { startRedis } from '../test/redis-server.ts';

const BATCH = 100;
/** Results are stored here so the JIT cannot drop the work as dead code. */
let sink: unknown = null;

interface Step extends Budget {
  fn: () => void;
}

/** The full chain's keys: a master key and a virtual key with rpm, tpm and concurrency limits (bench:load's). */
const MASTER_KEY = 'sk-bench-master-0123456789';
const VIRTUAL_KEY = 'sk-bench-0123456789';
const KEY_SECTIONS = {
  general_settings: { master_key: MASTER_KEY },
  keys: [{ key: VIRTUAL_KEY, alias: 'bench', rpm: 1e9, tpm: 1e12, max_parallel_requests: 100000 }],
};
/** What auth.api_key gives a request with the virtual key. */
const BENCH_AUTH: AuthInfo = { keyId: 'bench', models: null, limits: { rpm: 1e9, tpm: 1e12, maxParallelRequests: 100000 }, metadata: {} };

/** A non-streaming answer as the simulator sends it, usage last. */
const jsonAnswer = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1732000000,
    model: 'sim',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Paris is the capital of France. '.repeat(4) }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 42, completion_tokens: 28, total_tokens: 70 },
  }),
);

const logger = createLogger('silent');

// A typical chat request: a system prompt, a few turns, sampling options (~1 KB).
const chatBody = Buffer.from(
  JSON.stringify({
    model: 'llama3.2',
    messages: [
      { role: 'system', content: 'You are a helpful assistant. Answer briefly and cite sources when you can.' },
      { role: 'user', content: 'What is the capital of France? '.repeat(6) },
      { role: 'assistant', content: 'Paris is the capital of France. '.repeat(5) },
      { role: 'user', content: 'And what is its population, roughly, in the metropolitan area?' },
    ],
    temperature: 0.7,
    max_tokens: 256,
    stream: true,
  }),
);

function deployments(n: number): ModelListEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    model_name: 'g',
    litellm_params: { model: 'openai/m', api_base: `http://10.0.${i >> 8}.${i & 255}:8000` },
  }));
}
const groups100 = buildModelGroups(deployments(100)).groups;
const group100 = groups100.get('g')!;
const group3 = buildModelGroups(deployments(3)).groups.get('g')!;

const parsedBody = parseJsonObject(chatBody);
function ctx(body: Record<string, unknown> = parsedBody): RequestContext {
  return new RequestContext('id', 'POST', '/v1/chat/completions', {}, '127.0.0.1', 'chat', 0, body, chatBody);
}

const noop: Plugin = {
  onRequest: () => undefined,
  authenticate: () => undefined,
  admit: () => undefined,
  guardRequest: () => undefined,
  upstreamRequest: () => undefined,
  log: () => undefined,
};
const tenNoops: LoadedPlugin[] = Array.from({ length: 10 }, (_, i) => ({ id: `noop.${i}`, plugin: noop }));

async function main(): Promise<number> {
  const router = await roundRobin.create({}, { logger, groups: groups100, configDir: '.', sections: {}, localize: englishLocalize, store: new MemoryStore(), state: new MemoryRouterState() });
  const group2 = buildModelGroups(deployments(2)).groups.get('g')!;
  const busyState = new MemoryRouterState();
  const leastBusyRouter = await leastBusy.create({}, fakeDeps({ state: busyState }));
  // One deployment a little busier than the other, as under load.
  busyState.acquire(group2.deployments[0]!.id);
  const auth = await apiKey.create({}, fakeDeps({ sections: KEY_SECTIONS }));
  const authCtx = ctxWith({ authorization: `Bearer ${VIRTUAL_KEY}` });
  const wrongKeyCtx = ctxWith({ authorization: 'Bearer sk-not-a-key-0123456789' });
  const limits = await keyLimits.create({}, fakeDeps({ sections: KEY_SECTIONS }));
  const metricsDeps = fakeDeps({ groups: new Map([['g', group2]]), state: new MemoryRouterState() });
  const metrics = await metricsPlugin.create({ default_metrics: false }, metricsDeps);
  const usageOf = wireOf('openai');
  const chain = new Chain([...tenNoops, { id: 'route.round_robin', plugin: router }], logger);
  const sharedCtx = ctx();

  // One OpenAI chunk as vLLM/Ollama send it (~230 bytes), one event per chunk.
  const chunk = Buffer.from(
    'data: {"id":"chatcmpl-8f2c","object":"chat.completion.chunk","created":1732000000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"content":" Paris"},"finish_reason":null}]}\n\n',
  );
  const observeOnly = new SseTap(sharedCtx, [() => undefined]);
  const readJson = new SseTap(sharedCtx, [(_c, e) => void e.json, (_c, e) => void e.json]);
  // Token limits (tpm) have the tap read each stream's usage; this is the tap of the full chain.
  const usageChunk = Buffer.from(
    'data: {"id":"chatcmpl-8f2c","object":"chat.completion.chunk","created":1732000000,"model":"llama3.2","choices":[],"usage":{"prompt_tokens":42,"completion_tokens":28,"total_tokens":70}}\n\n',
  );
  const usageTap = new SseTap(ctx(), [], { wire: usageOf, read: true, dropInjected: false });
  // The output guards a team would run on streams: each scans the newest text plus the 256 characters before it.
  const deps = { logger, groups: groups100, configDir: '.', sections: {}, localize: englishLocalize, store: new MemoryStore(), state: new MemoryRouterState() };
  const guardHooks = await Promise.all(
    ['guard.output.toxicity', 'guard.output.ban_substrings', 'guard.output.malicious_urls', 'guard.output.no_code'].map(async (id) => {
      const options = id === 'guard.output.ban_substrings' ? { substrings: ['project nightingale', 'internal only'] } : {};
      const plugin = await GUARD_PLUGINS[id]!.create(options, deps);
      return (c: RequestContext, e: SseEvent) => plugin.onResponseEvent!(c, e);
    }),
  );
  const guardCtx = ctx();
  const guarded = new SseTap(guardCtx, guardHooks);

  const steps: Step[] = [
    {
      name: 'request parse + validate (1 KB chat body)',
      meanUs: 3,
      p99Us: 6,
      fn: () => validateRequest('chat', parseJsonObject(chatBody)),
    },
    {
      name: 'auth lookup: a known virtual key (remembered)',
      meanUs: 1,
      p99Us: 3,
      fn: () => {
        authCtx.auth = null;
        auth.authenticate!(authCtx);
      },
    },
    {
      name: 'auth lookup: a wrong key (hashed and compared every time)',
      meanUs: 15,
      p99Us: 40,
      fn: () => {
        try {
          auth.authenticate!(wrongKeyCtx);
        } catch (error) {
          sink = error;
        }
      },
    },
    {
      name: 'key-limit check, memory store: admit + log (rpm, tpm, concurrency)',
      meanUs: 6,
      p99Us: 15,
      fn: () => {
        const c = ctx();
        c.auth = BENCH_AUTH;
        c.usage = { promptTokens: 42, completionTokens: 28, totalTokens: 70 };
        if (limits.admit!(c) !== undefined) throw new Error('limit.key went asynchronous on the memory store');
        limits.log!(c);
      },
    },
    { name: 'route pick: least-busy over 2 deployments', meanUs: 0.3, p99Us: 1, fn: () => void (sink = leastBusyRouter.route!(sharedCtx, group2.deployments)) },
    { name: 'route pick: round-robin over 3 deployments', meanUs: 0.2, p99Us: 0.5, fn: () => void router.route!(sharedCtx, group3.deployments) },
    { name: 'route pick: round-robin over 100 deployments', meanUs: 0.2, p99Us: 0.5, fn: () => void router.route!(sharedCtx, group100.deployments) },
    {
      name: 'chain: request phases with ten no-op plugins',
      meanUs: 1,
      p99Us: 2,
      fn: () => {
        chain.runPhase(chain.hooks.onRequest!, sharedCtx);
        chain.runPhase(chain.hooks.authenticate!, sharedCtx);
        chain.runPhase(chain.hooks.admit!, sharedCtx);
        chain.runPhase(chain.hooks.guardRequest!, sharedCtx);
        chain.runPhase(chain.hooks.upstreamRequest!, sharedCtx);
        chain.runFinal(chain.hooks.log, sharedCtx);
      },
    },
    { name: 'request context creation', meanUs: 0.5, p99Us: 1, fn: () => void (sink = ctx()) },
    {
      name: 'metrics count: one request through the metrics hooks',
      meanUs: 4,
      p99Us: 15,
      fn: () => {
        const c = ctx();
        c.auth = BENCH_AUTH;
        c.group = group2;
        countRequest(metrics, c, group2.deployments[0]!);
      },
    },
    {
      name: 'usage read: a JSON answer (token limits)',
      meanUs: 4,
      p99Us: 8,
      fn: () => {
        const reader = usageOf.bodyUsageReader();
        reader.push(jsonAnswer);
        sink = reader.read();
      },
    },
    { name: 'stream tap per chunk: split only (observer hook)', meanUs: 0.5, p99Us: 1, fn: () => void observeOnly.push(chunk) },
    { name: 'stream tap per chunk: usage read (token limits)', meanUs: 4, p99Us: 10, fn: () => void usageTap.push(usageChunk) },
    { name: 'stream tap per chunk: JSON parsed once, read by 2 plugins', meanUs: 3, p99Us: 5, fn: () => void readJson.push(chunk) },
    // 40: the refusal and code families added for issue 15 (eight languages) took a quiet run from ~20 to ~27 µs.
    { name: 'stream tap per chunk: 4 output guards scanning a 256-char window', meanUs: 40, p99Us: 80, fn: () => void guarded.push(chunk) },
  ];

  const bench = new Bench({ time: 400, warmupTime: 100 });
  for (const step of steps) {
    bench.add(step.name, () => {
      for (let i = 0; i < BATCH; i++) step.fn();
    });
  }
  await bench.run();

  const results = budgetResults(bench, steps, BATCH);
  console.log(`Sluice hot-path budgets (Node ${process.version}, ${BATCH} ops per sample; the verdict reads the p50 of batch means)`);
  console.table(results.map((r) => budgetRow(r)));
  const redis = await redisKeyLimits();
  if (redis !== null) {
    console.log('key-limit check with a real redis-server (one request at a time: admit = three EVALSHA round trips on loopback)');
    console.table([budgetRow(redis)]);
    results.push(redis);
  }
  if (sink === undefined) console.log('');
  const over = overBudgetLines(results);
  for (const line of over) console.error(line);
  console.log(over.length === 0 ? `all ${results.length} steps within budget` : `${over.length} step(s) over budget`);
  return over.length === 0 ? 0 : 1;
}

/** A context for the authenticate phase, with the key in `headers`. */
function ctxWith(headers: Record<string, string>): RequestContext {
  return new RequestContext('id', 'POST', '/v1/chat/completions', headers, '127.0.0.1', 'chat', 0, parsedBody, chatBody);
}

/** The metrics plugin's hooks as the pipeline calls them for one JSON request. */
function countRequest(plugin: Plugin, c: RequestContext, deployment: Deployment): void {
  plugin.onRequest!(c);
  plugin.admit!(c);
  c.deployment = deployment;
  plugin.upstreamRequest!(c);
  plugin.onResponseHeaders!(c, { status: 200, headers: { 'content-type': 'application/json' }, isEventStream: false });
  c.status = 200;
  c.usage = { promptTokens: 42, completionTokens: 28, totalTokens: 70 };
  c.settle('ok', performance.now());
  plugin.log!(c);
}

/** Redis round trips on loopback depend on the machine more than on the code: a generous budget, on the p50. */
const REDIS_KEY_LIMIT_BUDGET: Budget = { name: 'key-limit check, Redis: admit + log (rpm, tpm, concurrency)', meanUs: 2000, p99Us: 10_000 };
const REDIS_CALLS = 2000;

/**
 * limit.key over a real redis-server, one request at a time (admit awaited, log's writes awaited too so requests
 * do not queue behind each other). null, said loudly, when no redis-server is installed.
 */
async function redisKeyLimits(): Promise<BudgetResult | null> {
  if (findBinary('redis-server', ['/usr/sbin']) === null) {
    console.error('SKIPPED: redis-server is not installed, so the key-limit budget with Redis was NOT checked (apt-get install redis-server)');
    return null;
  }
  const server = await startRedis();
  const store = new RedisStore({ port: server.port }, createLogger('warn'));
  try {
    if (!(await store.connected(5000))) throw new Error('redis-server did not come up');
    // log's writes run in the background; counting them here keeps one request's work inside its own sample.
    const pending: Promise<unknown>[] = [];
    const tracked: SharedStore = {
      kind: store.kind,
      gcra: (...args) => store.gcra(...args),
      windowCheck: (...args) => store.windowCheck(...args),
      windowAdd: (...args) => track(pending, store.windowAdd(...args)),
      acquireLease: (...args) => store.acquireLease(...args),
      releaseLease: (...args) => track(pending, store.releaseLease(...args)),
      checkLimits: (...args) => store.checkLimits(...args),
      counterAdd: (...args) => store.counterAdd(...args),
      counterGet: (...args) => store.counterGet(...args),
      exchangeEntry: (...args) => store.exchangeEntry(...args),
      withdrawEntry: (...args) => store.withdrawEntry(...args),
      health: () => store.health(),
      close: () => store.close(),
    };
    const plugin = await keyLimits.create({}, fakeDeps({ sections: KEY_SECTIONS, store: tracked }));
    const one = async (): Promise<void> => {
      const c = ctx();
      c.auth = BENCH_AUTH;
      c.usage = { promptTokens: 42, completionTokens: 28, totalTokens: 70 };
      await plugin.admit!(c);
      plugin.log!(c);
      await Promise.all(pending.splice(0));
    };
    for (let n = 0; n < 300; n++) await one(); // warm-up: script cache, JIT, socket buffers
    const samples = new Float64Array(REDIS_CALLS);
    for (let n = 0; n < REDIS_CALLS; n++) {
      const started = performance.now();
      await one();
      samples[n] = (performance.now() - started) * 1000;
    }
    if (store.health() !== 'ok') throw new Error('the Redis store fell back to local limits during the run');
    samples.sort();
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
    return judge(REDIS_KEY_LIMIT_BUDGET, mean, at(0.5), at(0.99));
  } finally {
    await store.close();
    await server.stop();
  }
}

function track<T>(pending: Promise<unknown>[], work: Promise<T>): Promise<T> {
  pending.push(work);
  return work;
}

process.exitCode = await main();
