// What the metrics plugin adds to a request: its hooks as the pipeline calls them (onRequest, admit,
// upstreamRequest, onResponseHeaders, log) on real RequestContexts, timed without building the contexts. What a
// scrape costs with many label sets. And end to end, through real sockets: a gateway in front of the OpenAI
// simulator with and without the plugin (which also has the core read `usage` from every answer), interleaved.
// With the plugin off nothing here runs: the chain has no such hooks.
//
//   npm run bench:metrics        exit 1 if counting a request is over its budget

import { Bench } from 'tinybench';
import { fakeContext, fakeDeps, modelGroups } from '../core/plugin/testing.ts';
import type { AuthInfo, Plugin, RequestContext } from '../core/plugin/api.ts';
import { MemoryRouterState } from '../core/state/router-state.ts';
import { ClientConnections } from '../core/server/client-traffic.ts';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import factory from '../plugins/metrics/index.ts';
import { budgetRows, type Budget } from './budget.ts';
import { startOpenAISim } from '../test/sim/openai-sim.ts';
import { chat, post, startGateway } from '../test/helpers.ts';

const BATCH = 200;
const groups = modelGroups([
  { model_name: 'g', litellm_params: { model: 'openai/m', api_base: 'http://a.example/v1', api_key: 'sk-a' }, model_info: { id: 'a' } },
  { model_name: 'g', litellm_params: { model: 'openai/m', api_base: 'http://b.example/v1', api_key: 'sk-b' }, model_info: { id: 'b' } },
]);
const group = groups.get('g')!;
const KEYS: AuthInfo[] = Array.from({ length: 20 }, (_, i) => ({
  keyId: `key-${i}`,
  models: null,
  limits: { rpm: null, tpm: null, maxParallelRequests: null },
  metadata: { team_id: `team-${i % 4}` },
}));
const HEADERS = { 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '99', 'x-ratelimit-remaining-tokens': '12000' };

/** BATCH settled-to-be contexts: 20 keys, 2 deployments, 1 in 10 a stream, 1 in 20 a 429. */
function contexts(): RequestContext[] {
  const out: RequestContext[] = [];
  for (let i = 0; i < BATCH; i++) {
    const stream = i % 10 === 0;
    const ctx = fakeContext({ body: { model: 'g', messages: [{ role: 'user', content: 'hi' }], stream }, group });
    ctx.auth = KEYS[i % KEYS.length]!;
    out.push(ctx);
  }
  return out;
}

function count(plugin: Plugin, ctx: RequestContext, i: number): void {
  plugin.onRequest!(ctx);
  plugin.admit!(ctx);
  ctx.deployment = group.deployments[i & 1]!;
  plugin.upstreamRequest!(ctx);
  const failed = i % 20 === 0;
  plugin.onResponseHeaders!(ctx, { status: failed ? 429 : 200, headers: HEADERS, isEventStream: ctx.stream });
  ctx.status = failed ? 429 : 200;
  ctx.usage = failed ? null : { promptTokens: 20, completionTokens: 50, totalTokens: 70 };
  if (ctx.stream) ctx.firstByteAt = performance.now();
  ctx.settle('ok', performance.now());
  plugin.log!(ctx);
}

async function main(): Promise<number> {
  const plugin = await factory.create({ default_metrics: false }, fakeDeps({ groups, state: new MemoryRouterState() }));
  const budgets: Budget[] = [
    { name: 'count one request (all hooks)', meanUs: 3, p99Us: 15 },
    { name: "track a request's connection (core)", meanUs: 0.2, p99Us: 2 },
  ];
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  bench.add(budgets[0]!.name, () => {
    const batch = contexts();
    const start = bench.now();
    for (let i = 0; i < BATCH; i++) count(plugin, batch[i]!, i);
    return { overriddenDuration: bench.now() - start };
  });
  // What the App does for every request, metrics or not: one Map lookup once the connection is known (50 keep-alive
  // connections here). The byte counts cost nothing per request: they are the sockets' own, read when scraped.
  const connections = new ClientConnections();
  const requests = Array.from({ length: 50 }, () => {
    const socket = Object.assign(new EventEmitter(), { bytesRead: 0, bytesWritten: 0 });
    return { httpVersionMajor: 1, socket } as unknown as IncomingMessage;
  });
  bench.add(budgets[1]!.name, () => {
    const start = bench.now();
    for (let i = 0; i < BATCH; i++) connections.track(requests[i % requests.length]!);
    return { overriddenDuration: bench.now() - start };
  });
  await bench.run();
  const { rows, failed } = budgetRows(bench, budgets, BATCH, 'metrics');
  console.table(rows);

  // A scrape: every family rendered, with the label sets the traffic above made (20 keys × 2 deployments × ...).
  const route = plugin.routes![0]!;
  const scrapes = new Bench({ time: 500, warmupTime: 100 });
  scrapes.add('scrape /metrics', async () => {
    const ctx = fakeContext({ path: '/metrics', endpoint: 'info', body: {} });
    await route.handle(ctx);
  });
  await scrapes.run();
  const s = scrapes.tasks[0]!.result;
  if (s.state === 'completed') console.log(`scrape /metrics: mean ${(s.latency.mean * 1000).toFixed(0)} µs, p99 ${(s.latency.p99 * 1000).toFixed(0)} µs`);
  await endToEnd();
  return failed === 0 ? 0 : 1;
}

/** Mean time of sequential requests (JSON and streams), with and without the plugin, in alternating rounds. */
async function endToEnd(): Promise<void> {
  const sim = await startOpenAISim();
  const models = `model_list:\n  - model_name: g\n    litellm_params: { model: openai/sim-model, api_base: ${sim.url}/v1, api_key: sk-x }\n`;
  const off = await startGateway(models);
  const on = await startGateway(`${models}litellm_settings: { callbacks: [prometheus] }\n`);
  const json = chat('g');
  const stream = chat('g', { stream: true });
  const round = async (url: string, n: number): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const res = await post(`${url}/v1/chat/completions`, i % 4 === 0 ? stream : json);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
    }
    return ((performance.now() - start) * 1000) / n;
  };
  await round(off.url, 300);
  await round(on.url, 300);
  const times = { off: [] as number[], on: [] as number[] };
  for (let r = 0; r < 6; r++) {
    times.off.push(await round(off.url, 500));
    times.on.push(await round(on.url, 500));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const [a, b] = [median(times.off), median(times.on)];
  console.log(`end to end, sequential, 1 in 4 a stream: without metrics ${a.toFixed(0)} µs/request, with ${b.toFixed(0)} µs/request (${(b - a).toFixed(0)} µs, median of 6 rounds of 500)`);
  await on.close();
  await off.close();
  await sim.close();
}

process.exitCode = await main();
