// Built-in plugins by dotted id. Modules load only when a config names them.

import type { PluginFactory } from './plugin.ts';

type FactoryModule = { default: PluginFactory<never> };

export const BUILTIN_PLUGINS: Readonly<Record<string, () => Promise<FactoryModule>>> = {
  'route.round_robin': () => import('../plugins/routing/round-robin.ts'),
  'log.access': () => import('../plugins/log-access/index.ts'),
};

/** Other spellings that mean the same plugin (LiteLLM's strategy names). */
export const PLUGIN_ALIASES: Readonly<Record<string, string>> = {
  'round-robin': 'route.round_robin',
  round_robin: 'route.round_robin',
  access_log: 'log.access',
};

/** The chain used when a config has no `plugins:` section. */
export const DEFAULT_CHAIN: readonly string[] = ['route.round_robin'];
