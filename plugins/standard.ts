// Sluice's standard module set: the built-in plugins by dotted id, LiteLLM's names for them, the default chain, the
// `llm_guard:` section and the error localizer. Only the entry point (core/cli.ts) imports this file; modules load
// only when a config names them.

import type { ModuleSet, PluginEntry, PluginFactory, PluginModule } from '../core/plugin/api.ts';
import { llmGuardEntries } from './guard/llm-guard-config.ts';
import { cacheEntries } from './cache/settings.ts';
import { metricsEntries } from './metrics/settings.ts';

type FactoryModule = PluginModule;

/** The guard plugins share one module; each id picks its factory from it. */
const guard = (id: string) => (): Promise<FactoryModule> =>
  import('./guard/index.ts').then((m) => ({ default: m.GUARD_PLUGINS[id]! as PluginFactory<never> }));

export const BUILTIN_PLUGINS: Readonly<Record<string, () => Promise<FactoryModule>>> = {
  'route.round_robin': () => import('./routing/round-robin.ts'),
  'route.least_busy': () => import('./routing/least-busy.ts'),
  'route.weighted': () => import('./routing/weighted.ts'),
  'route.simple_shuffle': () => import('./routing/simple-shuffle.ts'),
  'route.latency_based': () => import('./routing/latency-based.ts'),
  'route.usage_based': () => import('./routing/usage-based.ts'),
  'route.least_loaded': () => import('./routing/least-loaded.ts'),
  'route.prefix_affinity': () => import('./routing/prefix-affinity.ts'),
  'log.access': () => import('./log-access/index.ts'),
  'health.active': () => import('./health/active.ts'),
  'auth.api_key': () => import('./auth/api-key.ts'),
  'limit.key': () => import('./limits/key-limits.ts'),
  'limit.client': () => import('./limits/client-rate.ts'),
  'guard.input.ban_substrings': guard('guard.input.ban_substrings'),
  'guard.input.prompt_injection': guard('guard.input.prompt_injection'),
  'guard.input.toxicity': guard('guard.input.toxicity'),
  'guard.input.secrets': guard('guard.input.secrets'),
  'guard.input.token_limit': guard('guard.input.token_limit'),
  'guard.output.ban_substrings': guard('guard.output.ban_substrings'),
  'guard.output.toxicity': guard('guard.output.toxicity'),
  'guard.output.malicious_urls': guard('guard.output.malicious_urls'),
  'guard.output.no_refusal': guard('guard.output.no_refusal'),
  'guard.output.no_code': guard('guard.output.no_code'),
  'guard.llm_guard_api': () => import('./guard/llm-guard-plugin.ts'),
  cache: () => import('./cache/index.ts'),
  metrics: () => import('./metrics/index.ts'),
  spend: () => import('./spend/index.ts'),
  status_page: () => import('./status-page/index.ts'),
};

/** Other spellings that mean the same plugin (LiteLLM's strategy names). */
export const PLUGIN_ALIASES: Readonly<Record<string, string>> = {
  'round-robin': 'route.round_robin',
  round_robin: 'route.round_robin',
  'simple-shuffle': 'route.simple_shuffle',
  'least-busy': 'route.least_busy',
  'latency-based-routing': 'route.latency_based',
  'usage-based-routing': 'route.usage_based',
  'usage-based-routing-v2': 'route.usage_based',
  weighted: 'route.weighted',
  'least-loaded': 'route.least_loaded',
  'prefix-affinity': 'route.prefix_affinity',
  // Seed-style spellings (load_balancing_config: {strategy: least_busy}).
  least_busy: 'route.least_busy',
  simple_shuffle: 'route.simple_shuffle',
  latency_based_routing: 'route.latency_based',
  usage_based_routing: 'route.usage_based',
  usage_based_routing_v2: 'route.usage_based',
  least_loaded: 'route.least_loaded',
  prefix_affinity: 'route.prefix_affinity',
  // LiteLLM's callback name.
  prometheus: 'metrics',
  access_log: 'log.access',
  health_check: 'health.active',
  api_key: 'auth.api_key',
  limit_req: 'limit.client',
};

/** LiteLLM's default routing strategy. */
export const DEFAULT_ROUTER = 'route.simple_shuffle';

/**
 * The chain used when a config has no `plugins:` section: key checks and limits when the config has keys (LiteLLM's
 * `general_settings.master_key` or a `keys:` list), a router (`routing_strategy`, else LiteLLM's default), active
 * health checks, and the status page at `/ui` when there is a master key to sign in with (LiteLLM's `/ui` is there
 * by default too).
 */
export function defaultChain(routingStrategy: string | null, sections: Readonly<Record<string, unknown>>): PluginEntry[] {
  const general = sections['general_settings'] as { master_key?: unknown } | null | undefined;
  const keys = sections['keys'];
  const hasKeys = typeof general?.master_key === 'string' || (Array.isArray(keys) && keys.length > 0);
  // A key or team with a budget needs its spend counted and checked.
  const withBudget = (list: unknown): boolean => Array.isArray(list) && list.some((e: unknown) => typeof e === 'object' && e !== null && ('max_budget' in e || 'soft_budget' in e));
  const budgets = withBudget(keys) || withBudget(sections['teams']);
  const master = typeof general?.master_key === 'string' && general.master_key !== '';
  return [
    ...(hasKeys ? ['auth.api_key', 'limit.key'] : []),
    ...(budgets ? ['spend'] : []),
    routingStrategy ?? DEFAULT_ROUTER,
    'health.active',
    ...(master ? ['status_page'] : []),
  ];
}

export const STANDARD_MODULES: ModuleSet = {
  plugins: BUILTIN_PLUGINS,
  aliases: PLUGIN_ALIASES,
  defaultChain,
  // The cache goes last, after the guards: it looks up only prompts the input guards let through, and stores only
  // answers the output guards passed.
  sectionExpanders: [
    { section: 'llm_guard', expand: llmGuardEntries },
    { section: 'litellm_settings', expand: cacheEntries },
    // `callbacks: [prometheus]`; it warns about the callbacks Sluice does not run.
    { section: 'litellm_settings', expand: metricsEntries },
  ],
  localizer: {
    section: 'localizer',
    // Imported on first use: language detection carries large tables.
    create: async (value) => (await import('./localizer/index.ts')).createErrorLocalizer(value as never),
  },
};
