// Hot-path budgets: each step a request takes through Sluice, timed with tinybench and checked against a budget.
//
//   npm run bench            print the table; exit 1 if a step is over its budget
//
// Each task runs its step BATCH times per sample, so the per-op figures are not swamped by timer resolution.

import { englishLocalize } from '../core/plugin/localize.ts';
import { MemoryStore } from '../core/state/memory-store.ts';
import { Bench } from 'tinybench';
import { budgetRows, type Budget } from './budget.ts';
import { parseJsonObject, validateRequest } from '../core/http/body.ts';
import { Chain, type LoadedPlugin } from '../core/plugin/chain.ts';
import { RequestContext } from '../core/plugin/context.ts';
import { createLogger } from '../core/logger.ts';
import { buildModelGroups, type ModelListEntry } from '../core/config/models.ts';
import type { Plugin } from '../core/plugin/api.ts';
import { SseTap } from '../core/proxy/stream-tap.ts';
import type { SseEvent } from '../core/plugin/stream-event.ts';
import { GUARD_PLUGINS } from '../plugins/guard/index.ts';
import roundRobin from '../plugins/routing/round-robin.ts';
import { MemoryRouterState } from '../core/state/router-state.ts';

const BATCH = 100;
/** Results are stored here so the JIT cannot drop the work as dead code. */
let sink: unknown = null;

interface Step extends Budget {
  fn: () => void;
}

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
  const chain = new Chain([...tenNoops, { id: 'route.round_robin', plugin: router }], logger);
  const sharedCtx = ctx();

  // One OpenAI chunk as vLLM/Ollama send it (~230 bytes), one event per chunk.
  const chunk = Buffer.from(
    'data: {"id":"chatcmpl-8f2c","object":"chat.completion.chunk","created":1732000000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"content":" Paris"},"finish_reason":null}]}\n\n',
  );
  const observeOnly = new SseTap(sharedCtx, [() => undefined]);
  const readJson = new SseTap(sharedCtx, [(_c, e) => void e.json, (_c, e) => void e.json]);
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
    { name: 'stream tap per chunk: split only (observer hook)', meanUs: 0.5, p99Us: 1, fn: () => void observeOnly.push(chunk) },
    { name: 'stream tap per chunk: JSON parsed once, read by 2 plugins', meanUs: 3, p99Us: 5, fn: () => void readJson.push(chunk) },
    { name: 'stream tap per chunk: 4 output guards scanning a 256-char window', meanUs: 10, p99Us: 30, fn: () => void guarded.push(chunk) },
  ];

  const bench = new Bench({ time: 400, warmupTime: 100 });
  for (const step of steps) {
    bench.add(step.name, () => {
      for (let i = 0; i < BATCH; i++) step.fn();
    });
  }
  await bench.run();

  const { rows, failed } = budgetRows(bench, steps, BATCH);
  console.log(`Sluice hot-path budgets (Node ${process.version}, ${BATCH} ops per sample)`);
  console.table(rows);
  if (sink === undefined) console.log('');
  console.log(failed === 0 ? 'all steps within budget' : `${failed} step(s) over budget`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
