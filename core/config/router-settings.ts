// Router settings: LiteLLM's retry, cooldown and fallback knobs (`router_settings`, `litellm_settings`), resolved once.

/** How an upstream failure is classified for retries and cooldowns. */
export type ErrorClass = 'timeout' | 'rate_limit' | 'server_error' | 'connection' | 'bad_request' | 'auth' | 'content_policy';

/** LiteLLM's `retry_policy` / `allowed_fails_policy` key stems, plus Sluice's `ConnectionError`. */
const LITELLM_CLASS_NAMES: Readonly<Record<string, ErrorClass>> = {
  TimeoutError: 'timeout',
  RateLimitError: 'rate_limit',
  InternalServerError: 'server_error',
  ConnectionError: 'connection',
  APIConnectionError: 'connection',
  BadRequestError: 'bad_request',
  AuthenticationError: 'auth',
  ContentPolicyViolationError: 'content_policy',
};

/** The model names a config serves: its groups, and any name a wildcard group answers for. */
export interface KnownGroups {
  has(name: string): boolean;
}

export interface RouterSettings {
  /** `routing_strategy` as written, or null. */
  readonly routingStrategy: string | null;
  /** Retries per error class (the first attempt is not a retry). */
  readonly retries: Readonly<Record<ErrorClass, number>>;
  /** Failures of a class a deployment may have in a minute before it cools down. */
  readonly allowedFails: Readonly<Record<ErrorClass, number>>;
  /** How long a deployment cools down, ms. */
  readonly cooldownMs: number;
  /** Floor of the backoff between retries when no other deployment is free, ms (LiteLLM's `retry_after`). */
  readonly retryAfterMs: number;
  /** Longest backoff Sluice will wait before a retry (a longer Retry-After means: do not retry), ms. */
  readonly maxBackoffMs: number;
  readonly fallbacks: ReadonlyMap<string, readonly string[]>;
  readonly contextWindowFallbacks: ReadonlyMap<string, readonly string[]>;
  readonly contentPolicyFallbacks: ReadonlyMap<string, readonly string[]>;
  /** Default `timeout` for deployments without their own (a whole non-streamed call), ms; null = server.timeouts. */
  readonly timeoutMs: number | null;
  /** Default `stream_timeout` for deployments without their own (a stream's first byte), ms; null = server.timeouts. */
  readonly streamTimeoutMs: number | null;
  /** `drop_params`: parameters a provider refuses are dropped from requests to it (request-defaults.ts has the lists). */
  readonly dropParams: boolean;
  /** `model_group_alias`: a requested name served by another group; hidden ones are not listed in /v1/models. */
  readonly aliases: ReadonlyMap<string, ModelGroupAlias>;
}

export interface ModelGroupAlias {
  readonly group: string;
  readonly hidden: boolean;
}

/** LiteLLM's callback name for its LLM Guard integration (turned into the llm_guard section by the config loader). */
export const LLM_GUARD_CALLBACK = 'llmguard_moderations';

/** Most fallback groups tried for one request. */
export const MAX_FALLBACKS = 5;

export interface ResolvedSettings {
  readonly settings: RouterSettings;
  readonly errors: string[];
  readonly warnings: string[];
}

/**
 * litellm_settings keys a module set reads, not the router: the response cache's switch and parameters, and the
 * callbacks (`prometheus` switches metrics on; the module set warns about the others).
 */
const LITELLM_READ_BY_PLUGINS = new Set(['cache', 'cache_params', 'cache_type', 'cache_kwargs', 'callbacks', 'success_callback', 'failure_callback', 'require_auth_for_metrics_endpoint']);

const ACTED_ON = new Set([
  'routing_strategy',
  'num_retries',
  'retry_policy',
  'allowed_fails',
  'allowed_fails_policy',
  'cooldown_time',
  'retry_after',
  'fallbacks',
  'context_window_fallbacks',
  'content_policy_fallbacks',
  'max_fallbacks',
  'timeout',
  'stream_timeout',
  'request_timeout',
  'model_group_alias',
  // Read by the health.active plugin (its interval / timeout defaults); checked here.
  'health_check_interval',
  'health_check_timeout',
  'load_balancing_config',
  'drop_params',
  // Read by the App (redisFromRouterSettings): the shared store, unless a `redis:` section says otherwise.
  'redis_url',
  'redis_host',
  'redis_port',
  'redis_password',
]);

/**
 * Reads the routing knobs. `router_settings` wins over `litellm_settings` where both set one, as in LiteLLM.
 * Defaults: 2 retries (0 for bad requests, auth and content policy), 3 allowed fails a minute, 5 s cooldown.
 */
export function resolveRouterSettings(
  routerSettings: Readonly<Record<string, unknown>> | null,
  litellmSettings: Readonly<Record<string, unknown>> | null,
  groupNames: KnownGroups | null,
  /** The top-level `load_balancing_config` section, if any. */
  loadBalancing: unknown = null,
): ResolvedSettings {
  const errors: string[] = [];
  const warnings: string[] = [];
  const rs = routerSettings ?? {};
  const ls = litellmSettings ?? {};
  const pick = (key: string): unknown => rs[key] ?? ls[key];
  // Messages name the section the key was read from: a fallback written under litellm_settings is reported there.
  const at = (key: string): string => `${rs[key] !== undefined && rs[key] !== null ? 'router_settings' : 'litellm_settings'}.${key}`;

  for (const key of Object.keys(rs)) {
    if (!ACTED_ON.has(key)) warnings.push(`router_settings.${key}: not acted on yet; ignored`);
  }
  for (const key of Object.keys(ls)) {
    if (LITELLM_READ_BY_PLUGINS.has(key)) continue;
    if (!ACTED_ON.has(key)) warnings.push(`litellm_settings.${key}: not acted on yet; ignored`);
  }

  const numRetries = nonNegative(pick('num_retries'), at('num_retries'), 2, errors);
  const retries: Record<ErrorClass, number> = {
    timeout: numRetries,
    rate_limit: numRetries,
    server_error: numRetries,
    connection: numRetries,
    bad_request: 0,
    auth: 0,
    content_policy: 0,
  };
  applyPolicy(pick('retry_policy'), 'Retries', at('retry_policy'), retries, errors, warnings);

  const allowed = nonNegative(pick('allowed_fails'), at('allowed_fails'), 3, errors);
  const allowedFails: Record<ErrorClass, number> = {
    timeout: allowed,
    rate_limit: allowed,
    server_error: allowed,
    connection: allowed,
    bad_request: allowed,
    auth: allowed,
    content_policy: allowed,
  };
  applyPolicy(pick('allowed_fails_policy'), 'AllowedFails', at('allowed_fails_policy'), allowedFails, errors, warnings);

  seconds(rs['health_check_interval'], 'router_settings.health_check_interval', errors);
  seconds(rs['health_check_timeout'], 'router_settings.health_check_timeout', errors);

  const balancingKey = rs['load_balancing_config'] === undefined ? 'load_balancing_config' : 'router_settings.load_balancing_config';
  const balancing = balancingStrategy(rs['load_balancing_config'] ?? loadBalancing, balancingKey, errors, warnings);
  const strategy = pick('routing_strategy') ?? balancing;
  return {
    settings: {
      routingStrategy: typeof strategy === 'string' ? strategy : null,
      retries,
      allowedFails,
      cooldownMs: nonNegative(pick('cooldown_time'), at('cooldown_time'), 5, errors) * 1000,
      retryAfterMs: nonNegative(pick('retry_after'), at('retry_after'), 0, errors) * 1000,
      maxBackoffMs: 30_000,
      fallbacks: fallbackMap(pick('fallbacks'), at('fallbacks'), groupNames, errors, warnings),
      contextWindowFallbacks: fallbackMap(pick('context_window_fallbacks'), at('context_window_fallbacks'), groupNames, errors, warnings),
      contentPolicyFallbacks: fallbackMap(pick('content_policy_fallbacks'), at('content_policy_fallbacks'), groupNames, errors, warnings),
      // LiteLLM's Router(timeout=, stream_timeout=) and litellm.request_timeout: defaults for every deployment.
      timeoutMs: seconds(pick('timeout') ?? pick('request_timeout'), at(pick('timeout') === undefined ? 'request_timeout' : 'timeout'), errors),
      streamTimeoutMs: seconds(pick('stream_timeout'), at('stream_timeout'), errors),
      dropParams: pick('drop_params') === true,
      aliases: aliasMap(pick('model_group_alias'), at('model_group_alias'), groupNames, errors, warnings),
    },
    errors,
    warnings,
  };
}

/**
 * Seed-style `load_balancing_config: {strategy: least_busy}`: the strategy names the routing plugin, as
 * `routing_strategy` does (which wins when both are set). Other keys of it are not acted on.
 */
function balancingStrategy(value: unknown, key: string, errors: string[], warnings: string[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push(`${key}: must be a mapping like {strategy: least_busy}`);
    return undefined;
  }
  const config = value as Record<string, unknown>;
  for (const other of Object.keys(config)) if (other !== 'strategy') warnings.push(`${key}.${other}: not acted on yet; ignored`);
  const strategy = config['strategy'];
  if (strategy === undefined) return undefined;
  if (typeof strategy !== 'string' || strategy === '') {
    errors.push(`${key}.strategy: must be a routing strategy name such as least_busy`);
    return undefined;
  }
  return strategy;
}

/** A timeout in seconds → ms; null when absent. */
function seconds(value: unknown, key: string, errors: string[]): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    errors.push(`${key}: must be a number of seconds > 0`);
    return null;
  }
  return Math.round(value * 1000);
}

function nonNegative(value: unknown, key: string, fallback: number, errors: string[]): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    errors.push(`${key}: must be a number >= 0`);
    return fallback;
  }
  return value;
}

function applyPolicy(value: unknown, suffix: string, key: string, into: Record<ErrorClass, number>, errors: string[], warnings: string[]): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push(`${key}: must be a mapping such as {TimeoutError${suffix}: 2}`);
    return;
  }
  for (const [name, count] of Object.entries(value)) {
    const cls = name.endsWith(suffix) ? LITELLM_CLASS_NAMES[name.slice(0, -suffix.length)] : undefined;
    if (cls === undefined) {
      // LiteLLM has classes Sluice does not tell apart (ServiceUnavailableErrorRetries...): not a reason to refuse the file.
      const known = Object.keys(LITELLM_CLASS_NAMES).map((n) => n + suffix).join(', ');
      warnings.push(`${key}.${name}: an error class Sluice does not know; ignored (it knows ${known})`);
      continue;
    }
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
      errors.push(`${key}.${name}: must be an integer >= 0`);
      continue;
    }
    into[cls] = count;
  }
}

/**
 * LiteLLM's `model_group_alias: {alias: group}` or `{alias: {model: group, hidden: true}}`. An alias naming a group
 * with no deployment is dropped with a warning (its provider may be one Sluice skips), never a load error.
 */
function aliasMap(value: unknown, key: string, groups: KnownGroups | null, errors: string[], warnings: string[]): Map<string, ModelGroupAlias> {
  const map = new Map<string, ModelGroupAlias>();
  if (value === undefined || value === null) return map;
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push(`${key}: must be a mapping like {alias: model-group} or {alias: {model: model-group, hidden: true}}`);
    return map;
  }
  for (const [alias, target] of Object.entries(value)) {
    const entry = typeof target === 'object' && target !== null && !Array.isArray(target) ? (target as Record<string, unknown>) : null;
    const group = entry === null ? target : entry['model'];
    const hidden = entry === null ? false : entry['hidden'];
    if (typeof group !== 'string' || group === '' || (hidden !== undefined && typeof hidden !== 'boolean')) {
      errors.push(`${key}.${alias}: must be a model group name, or {model: model-group, hidden: true|false}`);
      continue;
    }
    if (groups !== null && !groups.has(group)) {
      warnings.push(`${key}.${alias}: model group "${group}" has no deployment; alias dropped`);
      continue;
    }
    // As in LiteLLM, an alias is looked up before the groups: it wins over a group of the same name.
    if (groups !== null && groups.has(alias)) warnings.push(`${key}.${alias}: also a model group; requests for it go to "${group}"`);
    map.set(alias, { group, hidden: hidden === true });
  }
  return map;
}

/**
 * LiteLLM writes fallbacks as a list of one-key mappings: `[{gpt-4: [gpt-3.5, llama]}]`. `groups` null: not checked.
 * A group with no deployment (its provider skipped, say) is dropped from the fallbacks with a warning, never an error.
 */
function fallbackMap(value: unknown, key: string, groups: KnownGroups | null, errors: string[], warnings: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  if (value === undefined || value === null) return map;
  if (!Array.isArray(value)) {
    errors.push(`${key}: must be a list like [{model-a: [model-b]}]`);
    return map;
  }
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.push(`${key}[${i}]: must be a mapping {model: [fallback, ...]}`);
      return;
    }
    for (const [from, to] of Object.entries(item)) {
      const list = Array.isArray(to) ? to : [to];
      if (!list.every((name): name is string => typeof name === 'string')) {
        errors.push(`${key}[${i}].${from}: must be a list of model group names`);
        continue;
      }
      const known = (name: string): boolean => groups === null || name === '*' || groups.has(name);
      if (!known(from)) {
        warnings.push(`${key}[${i}]: model group "${from}" has no deployment; its fallbacks are dropped`);
        continue;
      }
      const targets = list.filter((name) => {
        if (known(name)) return true;
        warnings.push(`${key}[${i}].${from}: model group "${name}" has no deployment; dropped from the fallbacks`);
        return false;
      });
      if (targets.length > 0) map.set(from, targets.slice(0, MAX_FALLBACKS));
    }
  });
  return map;
}

/** What LiteLLM's `router_settings.redis_*` keys ask for, in the shape of Sluice's `redis:` section. */
export interface RedisFromRouterSettings {
  /** `{url}` or `{host, port, password}`; null when none of the keys is set. */
  readonly config: { url?: string; host?: string; port?: number; password?: string } | null;
  readonly errors: string[];
}

/**
 * LiteLLM's `router_settings.redis_url` / `redis_host` / `redis_port` / `redis_password`: the Redis its replicas
 * share router state through. Sluice reads them as a `redis:` section (shared limits and shared router state); a
 * `redis:` section, when present, wins and these are ignored (the App says so). `redis_url` wins over host/port,
 * as in LiteLLM. A port may be written as a string (`os.environ/REDIS_PORT`).
 */
export function redisFromRouterSettings(routerSettings: Readonly<Record<string, unknown>> | null): RedisFromRouterSettings {
  const rs = routerSettings ?? {};
  const errors: string[] = [];
  const given = (key: string): unknown => (rs[key] === null || rs[key] === '' ? undefined : rs[key]);
  const url = given('redis_url');
  const host = given('redis_host');
  const port = given('redis_port');
  const password = given('redis_password');
  if (url === undefined && host === undefined && port === undefined && password === undefined) return { config: null, errors };
  const text = (value: unknown, key: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value === 'string') return value;
    errors.push(`router_settings.${key}: must be a string`);
    return undefined;
  };
  const config: { url?: string; host?: string; port?: number; password?: string } = {};
  const urlText = text(url, 'redis_url');
  if (urlText !== undefined) {
    if (!/^rediss?:\/\//.test(urlText)) errors.push('router_settings.redis_url: must start with redis:// or rediss://');
    config.url = urlText;
    return { config, errors };
  }
  const hostText = text(host, 'redis_host');
  if (hostText !== undefined) config.host = hostText;
  if (port !== undefined) {
    const number = typeof port === 'string' && /^\d+$/.test(port.trim()) ? Number(port) : port;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) errors.push('router_settings.redis_port: must be a port number (1-65535)');
    else config.port = number;
  }
  const passwordText = text(password, 'redis_password');
  if (passwordText !== undefined) config.password = passwordText;
  return { config, errors };
}
