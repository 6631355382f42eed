// The status page's data (`GET /ui/api/status`): deployments with their health and traffic, keys with their usage
// and limits, the latest errors and the redacted config, read fresh on every call.

import { createHash } from 'node:crypto';
import type { ModelGroup, RouterState, RunningConfig } from '../../core/plugin/api.ts';
import type { Activity, KeyActivity } from './activity.ts';

/** A `keys:` entry, as config/schema.json allows it; only what the page shows is read. */
export interface KeyEntry {
  key?: string;
  key_sha256?: string;
  alias?: string;
  models?: string[];
  rpm?: number;
  tpm?: number;
  max_parallel_requests?: number;
  max_budget?: number;
  soft_budget?: number;
  budget_duration?: string;
}

export interface DeploymentStatus {
  readonly model_name: string;
  readonly id: string;
  /** `provider/model`, as /health names it. */
  readonly model: string;
  /** Origin and base path, never credentials. */
  readonly api_base: string;
  /** `healthy`, `unhealthy` (failed its probes or passive checks) or `cooldown` (taken out for a while). */
  readonly status: 'healthy' | 'unhealthy' | 'cooldown';
  readonly cooldown_remaining_s: number;
  readonly last_error: string | null;
  readonly last_error_at: string | null;
  readonly last_probe_at: string | null;
  readonly in_flight: number;
  /** Moving average (time to first token for streams, total time otherwise); null before the first request. */
  readonly latency_ms: number | null;
  readonly requests_per_minute: number;
  readonly errors_per_minute: number;
  readonly requests: number;
  readonly errors: number;
}

export interface KeyStatus {
  /** The key's alias, or `key-` and 8 hex digits of its sha256 (as every log and metric names it); `master`. */
  readonly key: string;
  /** Model groups it may use; null: all. */
  readonly models: readonly string[] | null;
  readonly rpm_limit: number | null;
  readonly tpm_limit: number | null;
  readonly max_parallel_requests: number | null;
  readonly max_budget: number | null;
  readonly soft_budget: number | null;
  readonly budget_duration: string | null;
  readonly requests_per_minute: number;
  readonly errors_per_minute: number;
  readonly tokens_per_minute: number;
  readonly requests: number;
  readonly errors: number;
  readonly tokens: number;
  /** USD this instance saw the key spend since it started (the spend plugin's figures). */
  readonly spend: number;
  /** What the spend plugin reported left of `max_budget` after the key's latest request; null when unknown. */
  readonly budget_remaining: number | null;
}

export interface ErrorStatus {
  readonly at: string;
  readonly request_id: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly code: string | null;
  readonly message: string | null;
  readonly model: string;
  readonly deployment: string | null;
  readonly key: string | null;
}

export interface Status {
  readonly generated_at: string;
  /** When this instance started counting (a reload does not restart it). */
  readonly counting_since: string;
  /** How often the page asks again, ms. */
  readonly refresh_ms: number;
  readonly totals: {
    readonly deployments: number;
    readonly healthy: number;
    readonly in_flight: number;
    readonly requests_per_minute: number;
    readonly errors_per_minute: number;
    readonly requests: number;
    readonly errors: number;
  };
  readonly deployments: readonly DeploymentStatus[];
  readonly keys: readonly KeyStatus[];
  readonly recent_errors: readonly ErrorStatus[];
  /** The running config with every credential masked; null when the plugin runs outside an App. */
  readonly config: { readonly file: string; readonly sections: Record<string, unknown> } | null;
}

export interface StatusSources {
  readonly groups: ReadonlyMap<string, ModelGroup>;
  readonly state: RouterState;
  readonly activity: Activity;
  readonly keys: readonly KeyEntry[];
  readonly config: RunningConfig | undefined;
  readonly refreshMs: number;
}

/** The id `auth.api_key` gives a key: its alias, else `key-` and the first 8 hex digits of its sha256. */
export function keyIdOf(entry: KeyEntry): string {
  if (entry.alias !== undefined) return entry.alias;
  const digest = entry.key_sha256 ?? createHash('sha256').update(entry.key ?? '').digest('hex');
  return `key-${digest.slice(0, 8)}`;
}

const iso = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);
const cents = (usd: number): number => Number(usd.toPrecision(12));

export function buildStatus(sources: StatusSources, now: number): Status {
  const { state, activity } = sources;
  const deployments: DeploymentStatus[] = [];
  let healthy = 0;
  let inFlight = 0;
  for (const group of sources.groups.values()) {
    for (const d of group.deployments) {
      const reason = state.unavailable(d.id, now);
      const health = state.health(d.id);
      const counted = activity.deployments.get(d.id);
      const latency = state.latency(d.id);
      const busy = state.inFlight(d.id);
      if (reason === null) healthy++;
      inFlight += busy;
      deployments.push({
        model_name: group.name,
        id: d.id,
        model: `${d.provider}/${d.upstreamModel}`,
        api_base: d.apiBase,
        status: reason ?? 'healthy',
        cooldown_remaining_s: health.coolingUntil > now ? Math.ceil((health.coolingUntil - now) / 1000) : 0,
        last_error: health.lastError,
        last_error_at: iso(health.lastErrorAt),
        last_probe_at: iso(health.lastProbeAt),
        in_flight: busy,
        latency_ms: latency === null ? null : Math.round(latency),
        requests_per_minute: counted?.requests.lastMinute(now) ?? 0,
        errors_per_minute: counted?.errors.lastMinute(now) ?? 0,
        requests: counted?.requests.total ?? 0,
        errors: counted?.errors.total ?? 0,
      });
    }
  }

  const keys: KeyStatus[] = [];
  const listed = new Set<string>();
  const keyStatus = (id: string, entry: KeyEntry | null): KeyStatus => {
    listed.add(id);
    const counted: KeyActivity | undefined = activity.keys.get(id);
    return {
      key: id,
      models: entry?.models ?? null,
      rpm_limit: entry?.rpm ?? null,
      tpm_limit: entry?.tpm ?? null,
      max_parallel_requests: entry?.max_parallel_requests ?? null,
      max_budget: entry?.max_budget ?? null,
      soft_budget: entry?.soft_budget ?? null,
      budget_duration: entry?.budget_duration ?? null,
      requests_per_minute: counted?.requests.lastMinute(now) ?? 0,
      errors_per_minute: counted?.errors.lastMinute(now) ?? 0,
      tokens_per_minute: counted?.tokens.lastMinute(now) ?? 0,
      requests: counted?.requests.total ?? 0,
      errors: counted?.errors.total ?? 0,
      tokens: counted?.tokens.total ?? 0,
      spend: cents(counted?.spend ?? 0),
      budget_remaining: counted?.budgetRemaining == null ? null : cents(counted.budgetRemaining),
    };
  };
  keys.push(keyStatus('master', null));
  for (const entry of sources.keys) keys.push(keyStatus(keyIdOf(entry), entry));
  // Keys another auth plugin named, or keys a reload removed that still have counts.
  for (const id of activity.keys.keys()) if (!listed.has(id)) keys.push(keyStatus(id, null));

  const config = sources.config;
  return {
    generated_at: new Date(now).toISOString(),
    counting_since: new Date(activity.since).toISOString(),
    refresh_ms: sources.refreshMs,
    totals: {
      deployments: deployments.length,
      healthy,
      in_flight: inFlight,
      requests_per_minute: activity.all.requests.lastMinute(now),
      errors_per_minute: activity.all.errors.lastMinute(now),
      requests: activity.all.requests.total,
      errors: activity.all.errors.total,
    },
    deployments,
    keys,
    recent_errors: activity.recentErrors().map((e) => ({
      at: new Date(e.at).toISOString(),
      request_id: e.requestId,
      method: e.method,
      path: e.path,
      status: e.status,
      code: e.code,
      message: e.message,
      model: e.model,
      deployment: e.deployment,
      key: e.key,
    })),
    config: config === undefined ? null : { file: config.file, sections: config.redacted() },
  };
}
