// Plugin loading: resolve each `plugins:` entry to a factory, validate its options, create the instance.

import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import type { LoadedPlugin } from './chain.ts';
import { ConfigError } from '../config/load.ts';
import type { PluginDeps, PluginFactory } from './api.ts';
import type { ModuleSet, PluginEntry } from './api.ts';

const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, coerceTypes: true });

interface Resolved {
  readonly where: string;
  readonly factory: PluginFactory<unknown>;
  readonly options: Record<string, unknown>;
}

/** What every plugin's deps share; `sections` is narrowed per plugin to what its factory declares. */
export type SharedDeps = Omit<PluginDeps, 'sections'>;

/**
 * Creates the plugin instances in chain order. Built-in ids come from `modules`; `sections` is the whole config, of
 * which each factory gets the sections it declares. Every problem in every entry is collected and thrown together
 * as a ConfigError, so `--check` reports them all at once.
 */
export async function loadPlugins(
  entries: readonly PluginEntry[],
  configFile: string,
  modules: ModuleSet,
  sections: Readonly<Record<string, unknown>>,
  deps: SharedDeps,
): Promise<LoadedPlugin[]> {
  const list = entries;
  const errors: string[] = [];
  const resolved: Resolved[] = [];
  for (let i = 0; i < list.length; i++) {
    const entry = list[i]!;
    if (typeof entry === 'object' && entry.enabled === false) continue;
    const label = typeof entry === 'string' ? entry : 'name' in entry ? entry.name : entry.path;
    const where = `plugins[${i}] (${label})`;
    let factory: PluginFactory<unknown>;
    try {
      factory = await importFactory(entry, deps.configDir, modules);
    } catch (error) {
      errors.push(`${where}: ${(error as Error).message}`);
      continue;
    }
    const options = structuredClone(typeof entry === 'string' ? {} : (entry.options ?? {}));
    if (factory.schema !== undefined) {
      const validate = ajv.compile(factory.schema);
      if (!validate(options)) {
        for (const e of validate.errors ?? []) errors.push(`${where}: options${formatPointer(e)}: ${formatMessage(e)}`);
        continue;
      }
    }
    resolved.push({ where, factory, options });
  }
  if (errors.length > 0) throw new ConfigError(configFile, errors);

  const loaded: LoadedPlugin[] = [];
  for (const { where, factory, options } of resolved) {
    try {
      loaded.push({ id: factory.id, plugin: await factory.create(options, { ...deps, sections: declaredSections(factory, sections) }) });
    } catch (error) {
      errors.push(`${where}: create() failed: ${(error as Error).message}`);
    }
  }
  if (errors.length === 0 && !loaded.some(({ plugin }) => typeof plugin.route === 'function')) {
    errors.push('plugins: the chain has no routing plugin (one with a route hook); add route.round_robin');
  }
  if (errors.length > 0) {
    await Promise.all(loaded.map(({ plugin }) => plugin.close?.()));
    throw new ConfigError(configFile, errors);
  }
  return loaded;
}

async function importFactory(entry: PluginEntry, configDir: string, modules: ModuleSet): Promise<PluginFactory<unknown>> {
  let module: { default?: unknown };
  if (typeof entry === 'object' && 'path' in entry) {
    const file = isAbsolute(entry.path) ? entry.path : resolve(configDir, entry.path);
    try {
      module = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (error) {
      throw new Error(`cannot load ${file}: ${(error as Error).message.split('\n')[0]}`);
    }
  } else {
    const name = typeof entry === 'string' ? entry : entry.name;
    const id = modules.aliases[name] ?? name;
    const load = modules.plugins[id];
    if (load === undefined) {
      throw new Error(`unknown plugin "${name}"; built-in plugins are ${Object.keys(modules.plugins).join(', ')}; load your own with "path:"`);
    }
    module = await load();
  }
  const factory = module.default as Partial<PluginFactory<unknown>> | undefined;
  if (factory === undefined || typeof factory.create !== 'function' || typeof factory.id !== 'string') {
    throw new Error('the module must export default a plugin factory ({ id, create }), e.g. with definePlugin()');
  }
  return factory as PluginFactory<unknown>;
}

/** The config sections a factory declared, and only those. */
function declaredSections(factory: PluginFactory<unknown>, sections: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of factory.sections ?? []) if (sections[name] !== undefined) out[name] = sections[name];
  return out;
}

function formatPointer(error: ErrorObject): string {
  const path = error.instancePath.replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.');
  if (error.keyword === 'additionalProperties') {
    return `${path}.${(error.params as { additionalProperty: string }).additionalProperty}`;
  }
  return path;
}

function formatMessage(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties') return 'unknown key';
  if (error.keyword === 'enum') return `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return error.message ?? 'is invalid';
}
