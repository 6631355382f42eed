// The metrics plugin's options, and how LiteLLM's settings switch it on: `prometheus` in
// `litellm_settings.callbacks` (or `success_callback` / `failure_callback`) appends the `metrics` plugin, and
// `require_auth_for_metrics_endpoint: false` opens its route as LiteLLM's default does.

import type { PluginEntry } from '../../core/plugin/api.ts';

export interface MetricsOptions {
  /** Serve the route without a key. Default false: only the master key may scrape (when the gateway checks keys). */
  open?: boolean;
  /** The route's path. Default `/metrics`. */
  path?: string;
  /** Distinct request label sets kept before client-chosen labels collapse to `_other_`. Default 2000 (a scrape then writes ~120 lines, ~30 KB, per set). */
  max_series?: number;
  /** Histogram buckets in seconds (LiteLLM's `prometheus_latency_buckets`). Default LiteLLM's. */
  latency_buckets?: number[];
  /** Node's process metrics (`process_*`, `nodejs_*`). Default true. */
  default_metrics?: boolean;
  /**
   * With the default metrics, `nodejs_gc_duration_seconds` too. Default false: it needs a GC observer, which cost
   * 4–7% more CPU per request under load (docs/metrics.md).
   */
  gc_metrics?: boolean;
}

export const OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    open: { type: 'boolean' },
    path: { type: 'string', pattern: '^/[A-Za-z0-9/_.-]*$' },
    max_series: { type: 'integer', minimum: 1 },
    latency_buckets: { type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, minItems: 1 },
    default_metrics: { type: 'boolean' },
    gc_metrics: { type: 'boolean' },
  },
} as const;

/** The callback name that means this plugin. */
const PROMETHEUS = 'prometheus';
/** LiteLLM's LLM Guard callback: the config loader turns it into the `llm_guard:` section, so it is not warned about. */
const LLM_GUARD_CALLBACK = 'llmguard_moderations';
const CALLBACK_KEYS = ['callbacks', 'success_callback', 'failure_callback'] as const;

/**
 * The chain entry LiteLLM's settings ask for (none without `prometheus` in a callback list, or when `plugins:`
 * already lists `metrics`), and a warning for each other callback, which Sluice does not run. Runs once per load.
 */
export function metricsEntries(litellmSettings: unknown, sections: Readonly<Record<string, unknown>>): { entries: PluginEntry[]; warnings: string[] } {
  const warnings: string[] = [];
  const ls = isRecord(litellmSettings) ? litellmSettings : {};
  let named = false;
  for (const key of CALLBACK_KEYS) {
    const value = ls[key];
    if (value === undefined || value === null) continue;
    for (const callback of Array.isArray(value) ? value : [value]) {
      if (callback === PROMETHEUS) named = true;
      else if (!(key === 'callbacks' && callback === LLM_GUARD_CALLBACK)) warnings.push(`litellm_settings.${key}: ${JSON.stringify(callback)} not acted on yet; ignored`);
    }
  }
  const requireAuth = ls['require_auth_for_metrics_endpoint'];
  if (!named) {
    if (requireAuth !== undefined) warnings.push('litellm_settings.require_auth_for_metrics_endpoint: no prometheus callback, so no /metrics; ignored');
    return { entries: [], warnings };
  }
  if (listsMetrics(sections['plugins'])) {
    if (requireAuth !== undefined) warnings.push('litellm_settings.require_auth_for_metrics_endpoint: plugins: lists metrics, whose `open` option applies; ignored');
    return { entries: [], warnings };
  }
  const options: MetricsOptions = {};
  // LiteLLM's own default is an open /metrics; Sluice keeps it behind the master key unless the config says false.
  if (requireAuth === false || requireAuth === 'false' || requireAuth === 'False') options.open = true;
  return { entries: [{ name: 'metrics', options: options as Record<string, unknown> }], warnings };
}

function listsMetrics(plugins: unknown): boolean {
  if (!Array.isArray(plugins)) return false;
  const names = new Set(['metrics', 'prometheus']);
  return plugins.some((entry) => (typeof entry === 'string' && names.has(entry)) || (isRecord(entry) && names.has(String(entry['name'])) && entry['enabled'] !== false));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
