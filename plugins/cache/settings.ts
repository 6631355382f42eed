// The cache's options, and how LiteLLM's settings become them: `litellm_settings.cache: true` switches the cache
// on, with `cache_params` read from `litellm_settings.cache_params`, a top-level `cache_params` (where the seed
// deployments write it) or `litellm_settings.cache_type` / `cache_kwargs`; Redis from those params, else from
// Sluice's own `redis:` section.

import type { PluginEntry } from '../../core/plugin/api.ts';

export interface RedisTarget {
  url?: string;
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  tls?: boolean;
}

export interface CacheOptions {
  /** `local` (this process, the default) or `redis` (shared by every instance). */
  type?: 'local' | 'redis';
  /** Seconds an entry is kept (default 600); a request's `cache.ttl` overrides it. */
  ttl?: number;
  /** Keys get `<namespace>:` in front. */
  namespace?: string;
  /** LiteLLM call types to cache (`completion`, `embedding`, `text_completion` and their `a…` names); default all. */
  supported_call_types?: string[];
  /** `default_off`: only requests with `cache: {"use-cache": true}` are cached. */
  mode?: 'default_on' | 'default_off';
  /** The in-memory store's bound in bytes (default 64 MiB). */
  max_bytes?: number;
  /** Where Redis is (type `redis`); absent: REDIS_URL / REDIS_HOST from the environment, else 127.0.0.1:6379. */
  redis?: RedisTarget;
  /** How long a Redis command may take before Redis counts as stalled and is skipped until it answers a PING (ms). */
  redis_timeout_ms?: number;
  /** Seconds identical requests wait for the one in flight before going upstream themselves (default 60). */
  wait_timeout?: number;
  /** Seconds the cross-instance single-flight lock lives if its holder dies (default 30). */
  lock_ttl?: number;
}

export const DEFAULT_TTL_SECONDS = 600;
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** The LiteLLM call types Sluice caches, and the endpoint each means. */
export const CALL_TYPES: Readonly<Record<string, 'chat' | 'completions' | 'embeddings'>> = {
  completion: 'chat',
  acompletion: 'chat',
  text_completion: 'completions',
  atext_completion: 'completions',
  embedding: 'embeddings',
  aembedding: 'embeddings',
};

const REDIS_TARGET_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    url: { type: 'string', pattern: '^rediss?://' },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    password: { type: 'string' },
    username: { type: 'string' },
    db: { type: 'integer', minimum: 0 },
    tls: { type: 'boolean' },
  },
} as const;

export const OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { enum: ['local', 'redis'] },
    ttl: { type: 'number', exclusiveMinimum: 0 },
    namespace: { type: 'string', minLength: 1 },
    supported_call_types: { type: 'array', items: { type: 'string' } },
    mode: { enum: ['default_on', 'default_off'] },
    max_bytes: { type: 'integer', minimum: 1024 },
    redis: REDIS_TARGET_SCHEMA,
    redis_timeout_ms: { type: 'integer', minimum: 1, maximum: 60000 },
    wait_timeout: { type: 'number', exclusiveMinimum: 0 },
    lock_ttl: { type: 'number', exclusiveMinimum: 0 },
  },
} as const;

/** cache_params keys that name where Redis is. */
const REDIS_KEYS = ['url', 'host', 'port', 'password', 'username', 'db'] as const;
const SEMANTIC_TYPES = new Set(['redis-semantic', 'qdrant-semantic', 'valkey-semantic']);
const OTHER_TYPES = new Set(['s3', 'gcs', 'disk', 'azure-blob']);
/** cache_params keys Sluice reads (the Redis ones above besides). */
const READ_KEYS = new Set(['type', 'ttl', 'namespace', 'supported_call_types', 'mode', 'max_bytes', 'ssl', 'default_in_memory_ttl', 'default_in_redis_ttl', ...REDIS_KEYS]);

/**
 * The chain entry LiteLLM's settings ask for (none unless `litellm_settings.cache` is true, or when `plugins:`
 * already lists the cache), and warnings for what is not acted on. Runs at config load, once.
 */
export function cacheEntries(litellmSettings: unknown, sections: Readonly<Record<string, unknown>>): { entries: PluginEntry[]; warnings: string[] } {
  const warnings: string[] = [];
  const ls = isRecord(litellmSettings) ? litellmSettings : {};
  const top = sections['cache_params'];
  const sources: [string, Record<string, unknown>][] = [];
  if (isRecord(top)) sources.push(['cache_params', top]);
  if (isRecord(ls['cache_kwargs'])) sources.push(['litellm_settings.cache_kwargs', ls['cache_kwargs']]);
  if (typeof ls['cache_type'] === 'string') sources.push(['litellm_settings.cache_type', { type: ls['cache_type'] }]);
  if (isRecord(ls['cache_params'])) sources.push(['litellm_settings.cache_params', ls['cache_params']]);
  const on = ls['cache'] === true || ls['cache'] === 'true' || ls['cache'] === 'True';
  if (!on) {
    if (sources.length > 0) warnings.push(`${sources[0]![0]}: litellm_settings.cache is not true, so no answers are cached; set it to true to switch the cache on`);
    return { entries: [], warnings };
  }
  if (listsCache(sections['plugins'])) {
    if (sources.length > 0) warnings.push(`${sources[0]![0]}: plugins: lists cache, whose options there apply; these parameters are ignored`);
    return { entries: [], warnings };
  }

  // Later sources win: litellm_settings.cache_params is where LiteLLM itself reads them.
  const params: Record<string, unknown> = {};
  const where: Record<string, string> = {};
  for (const [name, source] of sources) {
    for (const [key, value] of Object.entries(source)) {
      params[key] = value;
      where[key] = name === 'litellm_settings.cache_type' ? name : `${name}.${key}`;
    }
  }
  const options: CacheOptions = {};
  // LiteLLM's default is Redis; Sluice's is memory unless a Redis is named (here, or in its `redis:` section).
  const type = params['type'] ?? (redisFromParams(params) !== null || isRecord(sections['redis']) ? 'redis' : 'local');
  if (type === 'local' || type === 'redis') options.type = type;
  else if (typeof type === 'string' && SEMANTIC_TYPES.has(type)) {
    options.type = type === 'qdrant-semantic' ? 'local' : 'redis';
    warnings.push(
      `${where['type']}: ${type} is a semantic cache, which Sluice does not build; an exact-match cache ${options.type === 'redis' ? 'in Redis' : 'in memory'} runs instead (only identical requests hit)`,
    );
  } else {
    options.type = 'local';
    const known = typeof type === 'string' && OTHER_TYPES.has(type);
    warnings.push(`${where['type']}: ${known ? `the ${String(type)} cache is not built in Sluice` : `unknown cache type ${JSON.stringify(type)}`}; an in-memory cache runs instead`);
  }
  const ttl = params['ttl'] ?? (options.type === 'redis' ? params['default_in_redis_ttl'] : params['default_in_memory_ttl']);
  if (ttl !== undefined) {
    const seconds = Number(ttl);
    if (Number.isFinite(seconds) && seconds > 0) options.ttl = seconds;
    else warnings.push(`${where['ttl'] ?? 'cache_params.ttl'}: ${JSON.stringify(ttl)} is not a positive number of seconds; the default ${DEFAULT_TTL_SECONDS} s applies`);
  }
  if (typeof params['namespace'] === 'string' && params['namespace'] !== '') options.namespace = params['namespace'];
  const types = params['supported_call_types'];
  if (Array.isArray(types)) {
    options.supported_call_types = types.filter((t): t is string => typeof t === 'string');
    const others = options.supported_call_types.filter((t) => CALL_TYPES[t] === undefined);
    if (others.length > 0) warnings.push(`${where['supported_call_types']}: ${others.join(', ')} not cached yet (Sluice caches completion, text_completion and embedding); ignored`);
  }
  if (params['mode'] === 'default_on' || params['mode'] === 'default_off') options.mode = params['mode'];
  if (typeof params['max_bytes'] === 'number' && Number.isInteger(params['max_bytes'])) options.max_bytes = params['max_bytes'];

  if (options.type === 'redis') {
    const target = redisFromParams(params);
    const own = sections['redis'];
    if (target !== null) options.redis = target;
    else if (isRecord(own)) options.redis = redisFromSection(own, warnings);
  }
  for (const key of Object.keys(params)) {
    if (!READ_KEYS.has(key)) warnings.push(`${where[key]}: not acted on yet; ignored`);
  }
  return { entries: [{ name: 'cache', options: options as Record<string, unknown> }], warnings };
}

/** Redis from cache_params' host/port/password/url; null when they name no server. */
function redisFromParams(params: Record<string, unknown>): RedisTarget | null {
  if (params['url'] === undefined && params['host'] === undefined) return null;
  const target: RedisTarget = {};
  if (typeof params['url'] === 'string') target.url = params['url'];
  if (typeof params['host'] === 'string') target.host = params['host'];
  if (params['port'] !== undefined && Number.isInteger(Number(params['port']))) target.port = Number(params['port']);
  if (typeof params['password'] === 'string' && params['password'] !== '') target.password = params['password'];
  if (typeof params['username'] === 'string') target.username = params['username'];
  if (params['db'] !== undefined && Number.isInteger(Number(params['db']))) target.db = Number(params['db']);
  if (params['ssl'] === true || params['ssl'] === 'True' || params['ssl'] === 'true') target.tls = true;
  return target;
}

/** Sluice's `redis:` section (already validated); a cluster is not used by the cache. */
function redisFromSection(section: Record<string, unknown>, warnings: string[]): RedisTarget {
  if (Array.isArray(section['cluster'])) {
    warnings.push('redis.cluster: the response cache does not use a Redis Cluster yet; set cache_params.host/port (or url) to a standalone Redis');
  }
  const target: RedisTarget = {};
  for (const key of ['url', 'host', 'password', 'username'] as const) {
    if (typeof section[key] === 'string') target[key] = section[key];
  }
  if (typeof section['port'] === 'number') target.port = section['port'];
  if (typeof section['db'] === 'number') target.db = section['db'];
  if (section['tls'] === true || isRecord(section['tls'])) target.tls = true;
  return target;
}

function listsCache(plugins: unknown): boolean {
  if (!Array.isArray(plugins)) return false;
  return plugins.some((entry) => entry === 'cache' || (isRecord(entry) && entry['name'] === 'cache' && entry['enabled'] !== false));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
