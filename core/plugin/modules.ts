// The module set an entry point hands the engine, as Caddy's standard modules are: the engine itself imports nothing
// from plugins/. `plugins/standard.ts` is Sluice's set; an embedder may hand in a larger or smaller one.

import type { ErrorLocalizer } from './localize.ts';
import type { PluginFactory } from './api.ts';

/** One entry of `plugins:` as written: a built-in id, a built-in with options, or a module of your own by path. */
export type PluginEntry =
  | string
  | { name: string; enabled?: boolean; options?: Record<string, unknown> }
  | { path: string; enabled?: boolean; options?: Record<string, unknown> };

/** A module whose default export is a plugin factory. */
export interface PluginModule {
  readonly default: PluginFactory<never>;
}

/** A config section that adds plugins to the chain (LiteLLM's `llm_guard:` adds guard plugins). */
export interface SectionExpander {
  /** The top-level section it reads. */
  readonly section: string;
  /** The entries to append to the chain, and warnings about keys it does not act on. */
  expand(value: unknown): { readonly entries: readonly PluginEntry[]; readonly warnings: readonly string[] };
}

export interface ModuleSet {
  /** Plugin factories by dotted id; a module is imported only when a config names it. */
  readonly plugins: Readonly<Record<string, () => Promise<PluginModule>>>;
  /** Other names for the same plugins (LiteLLM's routing strategy names). */
  readonly aliases: Readonly<Record<string, string>>;
  /**
   * The chain for a config without a `plugins:` section, from LiteLLM's `routing_strategy` (null when unset) and the
   * config's sections.
   */
  defaultChain(routingStrategy: string | null, sections: Readonly<Record<string, unknown>>): PluginEntry[];
  /** Sections that expand into chain entries, appended after the chain in this order. */
  readonly sectionExpanders: readonly SectionExpander[];
  /** Puts the gateway's own error messages in the caller's language; built from its section (null when absent). */
  readonly localizer: { readonly section: string; create(value: unknown): ErrorLocalizer | Promise<ErrorLocalizer> } | null;
}

/** No plugins at all: the engine on its own (tests of the core). */
export const NO_MODULES: ModuleSet = {
  plugins: {},
  aliases: {},
  defaultChain: () => [],
  sectionExpanders: [],
  localizer: null,
};
