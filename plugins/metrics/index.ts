// metrics: Prometheus metrics at `GET /metrics`, with LiteLLM's names, types and labels so its Grafana dashboards
// work unchanged, plus Sluice's own `sluice_*` gauges and counters. LiteLLM's way switches it on too:
// `litellm_settings.callbacks: [prometheus]` (settings.ts).
//
// - onRequest / onResponseHeaders: requests and streams in flight; the backend's x-ratelimit-remaining-* headers.
// - admit: runs again for each fallback group, so more than one call means the request fell back.
// - upstreamRequest: the last phase before the LLM call, so the time it runs splits gateway overhead from API time.
// - log: everything else, once per request, from the settled context.
//
// The registry belongs to the App (one per RouterState, which the App builds once), not to a generation: a reload
// builds a new plugin instance on the same registry, so nothing is registered twice and no counter restarts.

import { createSlot, definePlugin, gatherFromWorkers, provideToPeers, respond, SluiceError, type Plugin, type PluginDeps, type RequestContext, type RouterState, type UpstreamResponseHead } from '../../core/plugin/api.ts';
import { GatewayMetrics, LITELLM_LATENCY_BUCKETS, litellmModelName, type RequestLabels, type Series } from './gateway-metrics.ts';
import { OPTIONS_SCHEMA, type MetricsOptions } from './settings.ts';
import { mergeExpositions } from './aggregate.ts';

export { GatewayMetrics } from './gateway-metrics.ts';
export type { MetricsOptions } from './settings.ts';

/** What the plugin keeps for one proxied request. */
interface Tracked {
  /** `performance.now()` when upstreamRequest ran: the LLM call is about to start. 0 if it never did. */
  dispatchAt: number;
  /** Times admit ran: 1 for the requested group, one more per fallback group admitted. */
  admits: number;
  streaming: boolean;
  /** The backend's x-ratelimit-remaining-requests / -tokens; NaN when absent or not a number. */
  remainingRequests: number;
  remainingTokens: number;
}

const trackedSlot = createSlot<Tracked>('metrics.tracked');

/** One GatewayMetrics per App: the App's RouterState is built once and lives as long as it. */
const perApp = new WeakMap<RouterState, GatewayMetrics>();

/** The metrics shared by every generation of the App these deps belong to; created on first use. */
export function metricsFor(deps: PluginDeps, options: MetricsOptions = {}): GatewayMetrics {
  let metrics = perApp.get(deps.state);
  if (metrics === undefined) {
    metrics = new GatewayMetrics(
      { maxSeries: options.max_series ?? 2000, buckets: options.latency_buckets ?? LITELLM_LATENCY_BUCKETS, defaultMetrics: options.default_metrics ?? true, gcMetrics: options.gc_metrics ?? false },
      { groups: deps.groups, state: deps.state, store: deps.store, traffic: deps.traffic ?? null },
    );
    perApp.set(deps.state, metrics);
  } else if (options.latency_buckets !== undefined && options.latency_buckets.join() !== metrics.options.buckets.join()) {
    deps.logger.warn('metrics: latency_buckets changed; histograms keep the buckets they were created with until a restart');
  }
  return metrics;
}

const MAX_LABEL_CHARS = 128;

/** LiteLLM's exception class names, by the status the client got. */
function exceptionClass(status: number, error: SluiceError | null): string {
  if (error?.code === 'SLUICE_UPSTREAM_TIMEOUT' || error?.code === 'SLUICE_CLIENT_TIMEOUT') return 'Timeout';
  if (error?.code === 'SLUICE_UPSTREAM_UNREACHABLE' || error?.code === 'SLUICE_UPSTREAM_RESET') return 'APIConnectionError';
  switch (status) {
    case 400:
      return error?.type === 'invalid_request_error' && error.wireCode === 'content_filter' ? 'ContentPolicyViolationError' : 'BadRequestError';
    case 401:
      return 'AuthenticationError';
    case 403:
      return 'PermissionDeniedError';
    case 404:
      return 'NotFoundError';
    case 408:
    case 504:
      return 'Timeout';
    case 422:
      return 'UnprocessableEntityError';
    case 429:
      return 'RateLimitError';
    case 499:
      return 'ClientDisconnectedError';
    case 503:
      return 'ServiceUnavailableError';
    default:
      return status >= 500 ? 'InternalServerError' : 'APIError';
  }
}

function text(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') return '';
  const s = String(value);
  return s.length > MAX_LABEL_CHARS ? s.slice(0, MAX_LABEL_CHARS) : s;
}

/** The request's labels. No prompt, no key: the caller is its key id (an alias, or 8 hex digits of its hash). */
export function requestLabels(ctx: RequestContext, status: number, failed: boolean, fallbackModel: string): RequestLabels {
  // A stream that failed after its 200 went out: the error's status says what went wrong.
  const failedWith = ctx.error !== null && ctx.outcome !== 'aborted' ? ctx.error.status : status;
  const auth = ctx.auth;
  const meta = auth?.metadata ?? {};
  const key = auth?.keyId ?? '';
  const d = ctx.deployment;
  return {
    end_user: text(ctx.body['user']),
    user: text(meta['user_id'] ?? meta['user']),
    user_email: text(meta['user_email']),
    hashed_api_key: key,
    api_key_alias: key,
    team: text(meta['team_id'] ?? meta['team']),
    team_alias: text(meta['team_alias']),
    requested_model: text(ctx.model),
    model: d?.upstreamModel ?? '',
    model_group: ctx.group?.name ?? '',
    litellm_model_name: d === null ? '' : litellmModelName(d),
    model_id: d?.id ?? '',
    api_base: d?.apiBase ?? '',
    api_provider: d?.provider ?? '',
    status_code: String(status),
    exception_status: failed ? String(failedWith) : '',
    exception_class: failed ? exceptionClass(failedWith, ctx.error) : '',
    route: text(ctx.path),
    client_ip: '',
    user_agent: '',
    fallback_model: fallbackModel,
  };
}

/**
 * ```yaml
 * plugins:
 *   - auth.api_key
 *   - route.simple_shuffle
 *   - metrics                      # or: litellm_settings: { callbacks: [prometheus] }
 * ```
 */
export default definePlugin<MetricsOptions>({
  id: 'metrics',
  description: "Prometheus metrics at /metrics, with LiteLLM's names and labels.",
  schema: OPTIONS_SCHEMA,
  create(options, deps): Plugin {
    const metrics = metricsFor(deps, options);
    metrics.configLoads.inc();
    const open = options.open ?? false;
    const path = options.path ?? '/metrics';
    const scrapeLive = (): Promise<string> => {
      // This plugin belongs to the live generation: its model groups are the ones to report.
      metrics.sources.groups = deps.groups;
      return metrics.scrape();
    };
    const stopProviding = provideToPeers('metrics', scrapeLive);

    return {
      close: stopProviding,

      // Token counters need `ctx.usage`: the core reads it from bodies and asks streams for their usage event.
      wantsUsage: true,

      routes: [
        {
          method: 'GET',
          path,
          auth: !open,
          handle: async (ctx) => {
            // With keys checked, a virtual key is not enough: the metrics name every key and deployment.
            if (!open && ctx.auth !== null && ctx.auth.admin !== true) {
              throw new SluiceError('SLUICE_FORBIDDEN', `${path} needs the master key.`);
            }
            // With worker processes, one scrape sums them all (aggregate.ts); each scrapes itself, as below.
            const workers = gatherFromWorkers('metrics');
            const text = workers === null ? await scrapeLive() : mergeExpositions((await workers).filter((t): t is string => typeof t === 'string'));
            return respond(200, text, { 'content-type': metrics.registry.contentType });
          },
        },
      ],

      onRequest(ctx) {
        metrics.requestsInFlight++;
        ctx.set(trackedSlot, { dispatchAt: 0, admits: 0, streaming: false, remainingRequests: NaN, remainingTokens: NaN });
      },

      admit(ctx) {
        const tracked = ctx.get(trackedSlot);
        if (tracked !== undefined) tracked.admits++;
      },

      upstreamRequest(ctx) {
        const tracked = ctx.get(trackedSlot);
        if (tracked !== undefined && tracked.dispatchAt === 0) tracked.dispatchAt = performance.now();
      },

      onResponseHeaders(ctx, head: UpstreamResponseHead) {
        const tracked = ctx.get(trackedSlot);
        if (head.isEventStream && tracked !== undefined && !tracked.streaming) {
          tracked.streaming = true;
          metrics.streamsInFlight++;
        }
        if (tracked === undefined) return;
        // Kept for log, which knows the request's label set.
        const requests = head.headers['x-ratelimit-remaining-requests'];
        const tokens = head.headers['x-ratelimit-remaining-tokens'];
        if (typeof requests === 'string') tracked.remainingRequests = Number(requests);
        if (typeof tokens === 'string') tracked.remainingTokens = Number(tokens);
      },

      log(ctx) {
        if (ctx.endpoint === 'info') return;
        const tracked = ctx.get(trackedSlot);
        if (tracked !== undefined) {
          metrics.requestsInFlight--;
          if (tracked.streaming) metrics.streamsInFlight--;
        }
        recordRequest(metrics, ctx, tracked);
      },
    };
  },
});

const NO_AUTH = {};
const NO_DEPLOYMENT = {};
/** A memo's maps hold at most this many request shapes each; past it one starts again (`user` is the client's). */
const MEMO_SHAPES = 256;
/** The series of successful requests, by caller and deployment (objects that last a config generation), then the rest. */
const succeeded = new WeakMap<GatewayMetrics, WeakMap<object, WeakMap<object, Map<string, Series>>>>();

/**
 * The series a successful request counts in, without building its labels most times: the caller's and the
 * deployment's labels come from objects that outlive the request, so they are looked up by identity; the few that
 * vary are joined into a short key. Failures, rarer and with more labels, take `metrics.series` directly.
 */
function succeededSeries(metrics: GatewayMetrics, ctx: RequestContext, status: number, fallbackModel: string): Series {
  let byAuth = succeeded.get(metrics);
  if (byAuth === undefined) succeeded.set(metrics, (byAuth = new WeakMap()));
  const auth = ctx.auth ?? NO_AUTH;
  let byDeployment = byAuth.get(auth);
  if (byDeployment === undefined) byAuth.set(auth, (byDeployment = new WeakMap()));
  const deployment = ctx.deployment ?? NO_DEPLOYMENT;
  let byShape = byDeployment.get(deployment);
  if (byShape === undefined) byDeployment.set(deployment, (byShape = new Map()));
  // The client's values as their labels have them (cut to MAX_LABEL_CHARS): no key holds a long client string.
  const shape = `${status}\u0001${text(ctx.model)}\u0001${ctx.group?.name ?? ''}\u0001${text(ctx.path)}\u0001${fallbackModel}\u0001${text(ctx.body['user'])}`;
  let series = byShape.get(shape);
  if (series === undefined) {
    series = metrics.series(requestLabels(ctx, status, false, fallbackModel));
    // A collapsed series is not remembered: each request counted in one must count in seriesDropped too.
    if (!metrics.isExact(series)) return series;
    if (byShape.size >= MEMO_SHAPES) byShape.clear();
    byShape.set(shape, series);
  }
  return series;
}

/** Counts one finished proxied request. */
function recordRequest(metrics: GatewayMetrics, ctx: RequestContext, tracked: Tracked | undefined): void {
  const aborted = ctx.outcome === 'aborted';
  // A client that left got nothing whole: counted as nginx logs it, 499.
  const status = aborted ? 499 : ctx.status;
  const failed = aborted || ctx.error !== null || status >= 400;
  const fellBack = tracked !== undefined && tracked.admits > 1 && ctx.group !== null;
  const fallbackModel = fellBack ? ctx.group!.name : '';
  const series = failed ? metrics.series(requestLabels(ctx, status, failed, fallbackModel)) : succeededSeries(metrics, ctx, status, fallbackModel);

  metrics.proxyTotal.add(series, 1);
  if (failed) metrics.proxyFailed.add(series, 1);
  metrics.totalLatency.observe(series, (ctx.endedAt - ctx.startedAt) / 1000);
  metrics.requestBytes += ctx.rawBody.length;

  const cache = ctx.logFields['cache'];
  if (cache === 'hit') metrics.cacheHits.add(series, 1);
  else if (cache === 'miss') metrics.cacheMisses.add(series, 1);

  // The LLM was called: upstreamRequest ran (it runs after a cache lookup only when the cache missed).
  const dispatchAt = tracked?.dispatchAt ?? 0;
  if (dispatchAt > 0 && cache !== 'hit' && ctx.deployment !== null) {
    metrics.overheadLatency.observe(series, (dispatchAt - ctx.startedAt) / 1000);
    if (!failed) metrics.apiLatency.observe(series, (ctx.endedAt - dispatchAt) / 1000);
    if (ctx.stream && ctx.firstByteAt > 0 && !failed) metrics.timeToFirstToken.observe(series, (ctx.firstByteAt - dispatchAt) / 1000);
    metrics.deploymentTotal.add(series, 1);
    if (failed) metrics.deploymentFailure.add(series, 1);
    else metrics.deploymentSuccess.add(series, 1);
    if (Number.isFinite(tracked!.remainingRequests)) metrics.remainingRequests.set(series, tracked!.remainingRequests);
    if (Number.isFinite(tracked!.remainingTokens)) metrics.remainingTokens.set(series, tracked!.remainingTokens);
  }

  const usage = ctx.usage;
  if (usage !== null) {
    if (usage.promptTokens > 0) metrics.inputTokens.add(series, usage.promptTokens);
    if (usage.completionTokens > 0) metrics.outputTokens.add(series, usage.completionTokens);
    if (usage.totalTokens > 0) metrics.totalTokens.add(series, usage.totalTokens);
  }

  if (tracked !== undefined && tracked.admits > 1) {
    if (failed) metrics.failedFallbacks.add(series, 1);
    else metrics.successfulFallbacks.add(series, 1);
  }
  if (failed && ctx.group !== null) metrics.noteCooldowns(ctx.group.deployments);
  // Rare, so prom-client's labelled counters are cheap enough here.
  if (ctx.retries > 0) metrics.retries.inc({ model_group: ctx.group?.name ?? '' }, ctx.retries);
  if (ctx.fallbacks > 0) metrics.fallbacks.inc({ model_group: ctx.group?.name ?? '' }, ctx.fallbacks);

  // The spend plugin's figures, when it runs (`spend`, `key_max_budget`, `key_budget_remaining`, `team_*`).
  const spend = ctx.logFields['spend'];
  if (typeof spend === 'number' && spend > 0) metrics.spend.add(series, spend);
  const maxBudget = ctx.logFields['key_max_budget'];
  if (typeof maxBudget === 'number') {
    metrics.keyMaxBudget.set(series, maxBudget);
    const remaining = ctx.logFields['key_budget_remaining'];
    if (typeof remaining === 'number') metrics.keyRemainingBudget.set(series, remaining);
  }
  const teamMaxBudget = ctx.logFields['team_max_budget'];
  if (typeof teamMaxBudget === 'number') {
    metrics.teamMaxBudget.set(series, teamMaxBudget);
    const remaining = ctx.logFields['team_budget_remaining'];
    if (typeof remaining === 'number') metrics.teamRemainingBudget.set(series, remaining);
  }

  const scores = ctx.logFields['guard_scores'];
  if (typeof scores === 'object' && scores !== null) recordGuards(metrics, scores as Record<string, number>, ctx.logFields['guard_fired']);
  const guardError = ctx.logFields['guard_error'];
  if (typeof guardError === 'string') metrics.guardErrors.inc({ scanner: guardError.slice(0, Math.max(0, guardError.indexOf(':'))) || guardError });
}

/** One verdict per scanner that ran: the action of one that fired (`label=action` in guard_fired), else `pass`. */
function recordGuards(metrics: GatewayMetrics, scores: Readonly<Record<string, number>>, fired: unknown): void {
  const actions = new Map<string, string>();
  if (typeof fired === 'string' && fired !== '') {
    for (const entry of fired.split(',')) {
      const eq = entry.lastIndexOf('=');
      if (eq > 0) actions.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  }
  for (const scanner of Object.keys(scores)) metrics.guardVerdicts.inc({ scanner, verdict: actions.get(scanner) ?? 'pass' });
}
