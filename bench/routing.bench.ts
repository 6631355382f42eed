// Routing budgets: one decision of each routing strategy over 100 candidates, timed with tinybench.
//
//   node bench/routing.bench.ts       print the table; exit 1 if a strategy is over its budget
//   taskset -c 0 node bench/routing.bench.ts    (pinned to one core: steadier figures)
//
// Each task runs BATCH decisions per sample, so the per-decision figures are not swamped by timer resolution.
// The router state is set up as under load: every deployment has a latency, requests in flight and usage this
// minute, so no strategy takes an idle-pool shortcut.
//
//   node bench/routing.bench.ts --shared   the same on a SharedRouterState that also holds another replica's part
//                                          (what replicas sharing a Redis read). One state class per run, as in a
//                                          gateway: mixing both would make the strategies' call sites polymorphic.

import { MemoryStore } from '../core/state/memory-store.ts';
import { Bench } from 'tinybench';
import { budgetRows } from './budget.ts';
import type { RequestContext } from '../core/plugin/context.ts';
import { createLogger } from '../core/logger.ts';
import { buildModelGroups, type Deployment, type ModelListEntry } from '../core/config/models.ts';
import type { Plugin, PluginFactory } from '../core/plugin/api.ts';
import { MemoryRouterState, type RouterState } from '../core/state/router-state.ts';
import { SharedRouterState } from '../core/state/shared-router-state.ts';
import latencyBased from '../plugins/routing/latency-based.ts';
import leastBusy from '../plugins/routing/least-busy.ts';
import leastLoaded from '../plugins/routing/least-loaded.ts';
import prefixAffinity from '../plugins/routing/prefix-affinity.ts';
import roundRobin from '../plugins/routing/round-robin.ts';
import simpleShuffle from '../plugins/routing/simple-shuffle.ts';
import usageBased from '../plugins/routing/usage-based.ts';
import weighted from '../plugins/routing/weighted.ts';
import { englishLocalize } from '../core/plugin/localize.ts';

const BATCH = 100;
const N = 100;
/**
 * Budget per decision, microseconds: the mean, and the p99 of batch means. A quiet run measures 1.0–1.8 µs per
 * strategy alone and up to 3.1 µs when it follows the other benches in `npm run bench` (the same code), so the budget
 * is about twice the worst quiet figure: a strategy that turns O(n²) or allocates per candidate still fails it.
 */
const MEAN_US = 4;
const P99_US = 8;
/** Picked deployments are counted here so the JIT cannot drop the work as dead code. */
let sink = 0;

interface Step {
  name: string;
  fn: () => void;
}

const entries: ModelListEntry[] = Array.from({ length: N }, (_, i) => ({
  model_name: 'g',
  litellm_params: {
    model: 'openai/m',
    api_base: `http://10.0.${i >> 8}.${i & 255}:8000`,
    weight: 1 + (i % 5),
    rpm: 10_000,
    tpm: 10_000_000,
  },
  model_info: { id: `d${i}` },
}));
const { groups } = buildModelGroups(entries);
const all: readonly Deployment[] = groups.get('g')!.deployments;
/** The set without one deployment: alternating with `all`, the candidate set changes on every decision. */
const allButOne: readonly Deployment[] = all.filter((_, i) => i !== 37);

const now = Date.now();
function load(into: RouterState, shift: number): void {
  all.forEach((d, i) => {
    into.observeLatency(d.id, 80 + ((i * 37 + shift) % 50));
    for (let k = 0; k < 2 + ((i + shift) % 3); k++) into.acquire(d.id);
    into.addUsage(d.id, 10 + ((i + shift) % 40), 1000 * (1 + ((i + shift) % 7)), now);
  });
}
const SHARED = process.argv.includes('--shared');
let state: RouterState;
if (SHARED) {
  // Two replicas on one store; this one reads its own part plus the other's, exchanged once (no timers).
  const exchange = new MemoryStore({ sweepIntervalMs: 0 });
  const shared = new SharedRouterState(exchange, createLogger('silent'), { syncIntervalMs: 0, replicaId: 'bench' });
  const other = new SharedRouterState(exchange, createLogger('silent'), { syncIntervalMs: 0, replicaId: 'other' });
  load(shared, 0);
  load(other, 11);
  await other.sync();
  await shared.sync();
  state = shared;
} else {
  state = new MemoryRouterState();
  load(state, 0);
}

// Chat conversations (~1 KB each): a system prompt, a first question, then later turns the key does not read.
const system = 'You are a helpful assistant for an online shop. Answer briefly, cite the policy page you used, and never invent prices. '.repeat(2);
const bodies = Array.from({ length: 64 }, (_, n) => ({
  model: 'g',
  messages: [
    { role: 'system', content: system },
    { role: 'user', content: `Customer ${n}: my order #${100_000 + n * 7919} has not arrived yet; it was due last Tuesday. What can I do?` },
    { role: 'assistant', content: 'I am sorry to hear that. Could you confirm the delivery address on the order? '.repeat(3) },
    { role: 'user', content: 'It is the same address as always, 12 Rue de la Paix, Paris.' },
  ],
  stream: true,
}));
const contexts = bodies.map((body) => ({ model: 'g', body }) as unknown as RequestContext);

async function instance<O>(factory: PluginFactory<O>, options: O): Promise<Plugin> {
  return factory.create(options, { logger: createLogger('silent'), groups, configDir: '.', sections: {}, localize: englishLocalize, store: new MemoryStore(), state });
}

/** A step that asks `plugin` to route, rotating through the request contexts and, optionally, candidate sets. */
function step(name: string, plugin: Plugin, churn = false): Step {
  const route = plugin.route!;
  let turn = 0;
  return {
    name,
    fn: () => {
      const t = turn++;
      const candidates = churn && (t & 1) === 1 ? allButOne : all;
      sink += route(contexts[t & 63]!, candidates)!.order;
    },
  };
}

async function main(): Promise<number> {
  const steps: Step[] = [
    step('route.round_robin', await instance(roundRobin, {})),
    step('route.least_busy', await instance(leastBusy, {})),
    step('route.weighted', await instance(weighted, {})),
    step('route.weighted, candidate set changing every decision', await instance(weighted, {}), true),
    step('route.simple_shuffle', await instance(simpleShuffle, {})),
    step('route.simple_shuffle, candidate set changing every decision', await instance(simpleShuffle, {}), true),
    step('route.latency_based', await instance(latencyBased, {})),
    step('route.usage_based', await instance(usageBased, {})),
    step('route.least_loaded', await instance(leastLoaded, {})),
    step('route.prefix_affinity (1 KB chat bodies)', await instance(prefixAffinity, {})),
    step('route.prefix_affinity, candidate set changing every decision', await instance(prefixAffinity, {}), true),
  ];

  const bench = new Bench({ time: 400, warmupTime: 100 });
  for (const s of steps) {
    bench.add(s.name, () => {
      for (let i = 0; i < BATCH; i++) s.fn();
    });
  }
  await bench.run();

  const budgets = steps.map((s) => ({ name: s.name, meanUs: MEAN_US, p99Us: P99_US }));
  const { rows, failed } = budgetRows(bench, budgets, BATCH, `strategy (${N} candidates)`);
  console.log(`Sluice routing budgets (Node ${process.version}, ${BATCH} decisions per sample, ${N} candidates, ${SHARED ? 'SharedRouterState' : 'MemoryRouterState'})`);
  console.table(rows);
  if (sink < 0) console.log('');
  console.log(failed === 0 ? 'all strategies within budget' : `${failed} strateg${failed === 1 ? 'y' : 'ies'} over budget`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
