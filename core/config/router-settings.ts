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
}

/** Most fallback groups tried for one request. */
export const MAX_FALLBACKS = 5;

export interface ResolvedSettings {
  readonly settings: RouterSettings;
  readonly errors: string[];
  readonly warnings: string[];
}

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
]);

/**
 * Reads the routing knobs. `router_settings` wins over `litellm_settings` where both set one, as in LiteLLM.
 * Defaults: 2 retries (0 for bad requests, auth and content policy), 3 allowed fails a minute, 5 s cooldown.
 */
export function resolveRouterSettings(
  routerSettings: Readonly<Record<string, unknown>> | null,
  litellmSettings: Readonly<Record<string, unknown>> | null,
  groupNames: ReadonlySet<string> | null,
): ResolvedSettings {
  const errors: string[] = [];
  const warnings: string[] = [];
  const rs = routerSettings ?? {};
  const ls = litellmSettings ?? {};
  const pick = (key: string): unknown => rs[key] ?? ls[key];

  for (const key of Object.keys(rs)) {
    if (!ACTED_ON.has(key)) warnings.push(`router_settings.${key}: not acted on yet; ignored`);
  }
  for (const key of Object.keys(ls)) {
    if (!ACTED_ON.has(key)) warnings.push(`litellm_settings.${key}: not acted on yet; ignored`);
  }

  const numRetries = nonNegative(pick('num_retries'), 'num_retries', 2, errors);
  const retries: Record<ErrorClass, number> = {
    timeout: numRetries,
    rate_limit: numRetries,
    server_error: numRetries,
    connection: numRetries,
    bad_request: 0,
    auth: 0,
    content_policy: 0,
  };
  applyPolicy(pick('retry_policy'), 'Retries', 'retry_policy', retries, errors);

  const allowed = nonNegative(pick('allowed_fails'), 'allowed_fails', 3, errors);
  const allowedFails: Record<ErrorClass, number> = {
    timeout: allowed,
    rate_limit: allowed,
    server_error: allowed,
    connection: allowed,
    bad_request: allowed,
    auth: allowed,
    content_policy: allowed,
  };
  applyPolicy(pick('allowed_fails_policy'), 'AllowedFails', 'allowed_fails_policy', allowedFails, errors);

  const strategy = pick('routing_strategy');
  return {
    settings: {
      routingStrategy: typeof strategy === 'string' ? strategy : null,
      retries,
      allowedFails,
      cooldownMs: nonNegative(pick('cooldown_time'), 'cooldown_time', 5, errors) * 1000,
      retryAfterMs: nonNegative(pick('retry_after'), 'retry_after', 0, errors) * 1000,
      maxBackoffMs: 30_000,
      fallbacks: fallbackMap(pick('fallbacks'), 'fallbacks', groupNames, errors, warnings),
      contextWindowFallbacks: fallbackMap(pick('context_window_fallbacks'), 'context_window_fallbacks', groupNames, errors, warnings),
      contentPolicyFallbacks: fallbackMap(pick('content_policy_fallbacks'), 'content_policy_fallbacks', groupNames, errors, warnings),
    },
    errors,
    warnings,
  };
}

function nonNegative(value: unknown, key: string, fallback: number, errors: string[]): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    errors.push(`router_settings.${key}: must be a number >= 0`);
    return fallback;
  }
  return value;
}

function applyPolicy(value: unknown, suffix: string, key: string, into: Record<ErrorClass, number>, errors: string[]): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push(`router_settings.${key}: must be a mapping such as {TimeoutError${suffix}: 2}`);
    return;
  }
  for (const [name, count] of Object.entries(value)) {
    const cls = name.endsWith(suffix) ? LITELLM_CLASS_NAMES[name.slice(0, -suffix.length)] : undefined;
    if (cls === undefined) {
      const known = Object.keys(LITELLM_CLASS_NAMES).map((n) => n + suffix).join(', ');
      errors.push(`router_settings.${key}.${name}: unknown error class; use one of ${known}`);
      continue;
    }
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
      errors.push(`router_settings.${key}.${name}: must be an integer >= 0`);
      continue;
    }
    into[cls] = count;
  }
}

/**
 * LiteLLM writes fallbacks as a list of one-key mappings: `[{gpt-4: [gpt-3.5, llama]}]`. `groups` null: not checked.
 * A group with no deployment (a typo, or every deployment skipped) is dropped with a warning, as LiteLLM loads it.
 */
function fallbackMap(value: unknown, key: string, groups: ReadonlySet<string> | null, errors: string[], warnings: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  if (value === undefined || value === null) return map;
  if (!Array.isArray(value)) {
    errors.push(`router_settings.${key}: must be a list like [{model-a: [model-b]}]`);
    return map;
  }
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      errors.push(`router_settings.${key}[${i}]: must be a mapping {model: [fallback, ...]}`);
      return;
    }
    for (const [from, to] of Object.entries(item)) {
      const list = Array.isArray(to) ? to : [to];
      if (!list.every((name): name is string => typeof name === 'string')) {
        errors.push(`router_settings.${key}[${i}].${from}: must be a list of model group names`);
        continue;
      }
      const known = (name: string): boolean => groups === null || groups.has(name) || name === '*';
      if (!known(from)) {
        warnings.push(`router_settings.${key}[${i}]: model group "${from}" has no deployment; its fallbacks are dropped`);
        continue;
      }
      const kept = list.filter((name) => known(name));
      for (const name of list) {
        if (!known(name)) warnings.push(`router_settings.${key}[${i}].${from}: model group "${name}" has no deployment; dropped from the fallbacks`);
      }
      if (kept.length > 0) map.set(from, kept.slice(0, MAX_FALLBACKS));
    }
  });
  return map;
}
