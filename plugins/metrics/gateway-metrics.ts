// The metric families, with LiteLLM's names, types and labels (litellm/integrations/prometheus.py and
// litellm/types/integrations/prometheus.py), plus Sluice's own `sluice_*`. One GatewayMetrics per App: it holds the
// prom-client Registry and outlives config reloads, so counters keep counting across generations.
//
// Counters are named with `_total`, as Python's prometheus_client exposes them (`litellm_proxy_total_requests_metric`
// is scraped as `litellm_proxy_total_requests_metric_total`), so LiteLLM's dashboards find the same series.
//
// The request families are counted on the hot path into plain numbers held by each distinct label set (a Series),
// and written out in the text format by this module when scraped: prom-client hashes the label object on every
// update (a microsecond per family per request) and formats each line's labels again on every scrape. The rest
// (deployment state, store health, guards, cooldowns, Node's process metrics) are prom-client's, in its registry.

import { createRequire } from 'node:module';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ClientTraffic, Deployment, ModelGroup, RouterState, SharedStore } from '../../core/plugin/api.ts';

/** LiteLLM's LATENCY_BUCKETS, in seconds (+Inf is implied). */
export const LITELLM_LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9.5, 10, 15, 20, 25, 30, 60, 120, 180,
  240, 300,
];

/** The value a client-chosen label takes once its metric holds `max_series` label sets. */
export const OVERFLOW = '_other_';

/** Every label a request metric may carry; each family takes the subset LiteLLM gives it. Unknown ones are ''. */
export interface RequestLabels {
  end_user: string;
  user: string;
  user_email: string;
  hashed_api_key: string;
  api_key_alias: string;
  team: string;
  team_alias: string;
  requested_model: string;
  model: string;
  model_group: string;
  litellm_model_name: string;
  model_id: string;
  api_base: string;
  api_provider: string;
  status_code: string;
  exception_status: string;
  exception_class: string;
  route: string;
  client_ip: string;
  user_agent: string;
  fallback_model: string;
}

type LabelName = keyof RequestLabels;

const KEY_LABELS = ['end_user', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'user'] as const satisfies readonly LabelName[];

/** LiteLLM's label lists (PrometheusMetricLabels). */
const LABELS = {
  proxyTotal: [...KEY_LABELS, 'requested_model', 'status_code', 'user_email', 'route', 'client_ip', 'user_agent', 'model_id'],
  proxyFailed: [...KEY_LABELS, 'requested_model', 'user_email', 'exception_status', 'exception_class', 'route', 'client_ip', 'user_agent', 'model_id'],
  totalLatency: [...KEY_LABELS, 'requested_model', 'model', 'model_id'],
  apiLatency: [...KEY_LABELS, 'model', 'requested_model', 'model_id'],
  perDeployment: ['model_group', 'api_provider', 'api_base', 'litellm_model_name', 'hashed_api_key', 'api_key_alias', 'model_id'],
  tokens: [...KEY_LABELS, 'model', 'user_email', 'requested_model', 'model_id'],
  deploymentRequests: ['requested_model', 'litellm_model_name', 'model_id', 'api_base', 'api_provider', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'client_ip', 'user_agent'],
  deploymentFailures: [
    'requested_model', 'litellm_model_name', 'model_id', 'api_base', 'api_provider', 'exception_status', 'exception_class', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'client_ip', 'user_agent',
  ],
  fallbacks: ['requested_model', 'fallback_model', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'exception_status', 'exception_class', 'model_id'],
  cache: ['model', 'hashed_api_key', 'api_key_alias', 'team', 'team_alias', 'end_user', 'user', 'model_id'],
  spend: [...KEY_LABELS, 'model'],
  keyBudget: ['hashed_api_key', 'api_key_alias'],
  teamBudget: ['team', 'team_alias'],
} as const satisfies Record<string, readonly LabelName[]>;

type Shape = keyof typeof LABELS;
type Labels = Record<string, string>;

const DEPLOYMENT_LABELS = ['litellm_model_name', 'model_id', 'api_base', 'api_provider'] as const;

/** One histogram's observations for one label set: per-bucket (not cumulative) counts, the last for +Inf. */
interface HistogramCell {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * One distinct request label set, with its counts, and the label object of each family built once, so a request
 * counted again under the same labels allocates nothing.
 */
export class Series {
  readonly labels: RequestLabels;
  /** Counter totals, by CounterFamily slot. */
  readonly counters: Float64Array;
  /** Histograms, by HistogramFamily slot; created on first observation. */
  readonly histograms: (HistogramCell | undefined)[] = [];
  /** Last gauge values and when they were set (a sequence number), by GaugeFamily slot. */
  readonly gauges: Float64Array;
  readonly gaugeSeq: Float64Array;
  readonly #projected: Partial<Record<Shape, Labels>> = {};
  readonly #text: Partial<Record<Shape, string>> = {};

  constructor(labels: RequestLabels, counters: number, gauges: number) {
    this.labels = labels;
    this.counters = new Float64Array(counters);
    this.gauges = new Float64Array(gauges);
    this.gaugeSeq = new Float64Array(gauges);
  }

  of(shape: Shape): Labels {
    let out = this.#projected[shape];
    if (out === undefined) {
      out = {};
      for (const name of LABELS[shape]) out[name] = this.labels[name];
      this.#projected[shape] = out;
    }
    return out;
  }

  /** The family's labels in the text format (`a="x",b="y"`), escaped once. */
  labelText(shape: Shape): string {
    let text = this.#text[shape];
    if (text === undefined) {
      text = LABELS[shape].map((name) => `${name}="${escapeLabel(this.labels[name])}"`).join(',');
      this.#text[shape] = text;
    }
    return text;
  }
}

/** A label value escaped for the text format: backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** Label sets of one family merged across series (several series may share a family's smaller label set). */
function merged<T>(series: Iterable<Series>, shape: Shape, pick: (s: Series) => T | undefined, merge: (into: T | undefined, next: T) => T): Map<string, T> {
  const out = new Map<string, T>();
  for (const s of series) {
    const value = pick(s);
    if (value === undefined) continue;
    const text = s.labelText(shape);
    out.set(text, merge(out.get(text), value));
  }
  return out;
}

/** What every request family has: a name, a help text, a label shape, a slot in the Series' cells. */
abstract class Family {
  readonly name: string;
  readonly help: string;
  protected readonly shape: Shape;
  protected readonly slot: number;
  protected readonly series: () => Iterable<Series>;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  constructor(name: string, help: string, shape: Shape, slot: number, series: () => Iterable<Series>) {
    this.name = name;
    this.help = help;
    this.shape = shape;
    this.slot = slot;
    this.series = series;
  }

  /** The family in the text format, appended to `out`, one line per entry. */
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    this.samples(out);
  }

  protected abstract samples(out: string[]): void;
}

/** A counter counted into Series cells. */
class CounterFamily extends Family {
  readonly type = 'counter';

  add(series: Series, value: number): void {
    series.counters[this.slot]! += value;
  }

  protected samples(out: string[]): void {
    const slot = this.slot;
    const rows = merged(this.series(), this.shape, (s) => (s.counters[slot] === 0 ? undefined : s.counters[slot]), (a, b) => (a ?? 0) + b);
    for (const [labels, value] of rows) out.push(`${this.name}{${labels}} ${value}`);
  }
}

/** A gauge whose label sets keep the value set last (across series). */
class GaugeFamily extends Family {
  readonly type = 'gauge';
  #seq = 0;

  set(series: Series, value: number): void {
    series.gauges[this.slot] = value;
    series.gaugeSeq[this.slot] = ++this.#seq;
  }

  protected samples(out: string[]): void {
    const slot = this.slot;
    const rows = merged(
      this.series(),
      this.shape,
      (s) => (s.gaugeSeq[slot] === 0 ? undefined : { seq: s.gaugeSeq[slot]!, value: s.gauges[slot]! }),
      (a, b) => (a === undefined || b.seq > a.seq ? b : a),
    );
    for (const [labels, { value }] of rows) out.push(`${this.name}{${labels}} ${value}`);
  }
}

/** `le` as Python's prometheus_client writes it (`1.0`, `0.005`, `+Inf`), so a dashboard's `le="1.0"` matches. */
function goFloat(n: number): string {
  if (n === Infinity) return '+Inf';
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

class HistogramFamily extends Family {
  readonly type = 'histogram';
  readonly #buckets: Float64Array;
  readonly #le: string[];

  constructor(name: string, help: string, shape: Shape, slot: number, buckets: readonly number[], series: () => Iterable<Series>) {
    super(name, help, shape, slot, series);
    this.#buckets = Float64Array.from([...buckets].sort((a, b) => a - b));
    this.#le = [...this.#buckets].map(goFloat).concat('+Inf');
  }

  observe(series: Series, seconds: number): void {
    let cell = series.histograms[this.slot];
    if (cell === undefined) {
      cell = { counts: new Float64Array(this.#buckets.length + 1), sum: 0, count: 0 };
      series.histograms[this.slot] = cell;
    }
    // The first bound >= the value (binary search); past the last, +Inf.
    const bounds = this.#buckets;
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bounds[mid]! < seconds) lo = mid + 1;
      else hi = mid;
    }
    cell.counts[lo]!++;
    cell.sum += seconds;
    cell.count++;
  }

  protected samples(out: string[]): void {
    const slot = this.slot;
    const rows = merged(
      this.series(),
      this.shape,
      (s) => s.histograms[slot],
      (a, b) => {
        if (a === undefined) return { counts: Float64Array.from(b.counts), sum: b.sum, count: b.count };
        for (let i = 0; i < a.counts.length; i++) a.counts[i]! += b.counts[i]!;
        a.sum += b.sum;
        a.count += b.count;
        return a;
      },
    );
    const name = this.name;
    for (const [labels, cell] of rows) {
      let cumulative = 0;
      for (let i = 0; i < cell.counts.length; i++) {
        cumulative += cell.counts[i]!;
        out.push(`${name}_bucket{${labels},le="${this.#le[i]}"} ${cumulative}`);
      }
      out.push(`${name}_sum{${labels}} ${cell.sum}`, `${name}_count{${labels}} ${cell.count}`);
    }
  }
}

export interface GatewayMetricsOptions {
  readonly maxSeries: number;
  readonly buckets: readonly number[];
  readonly defaultMetrics: boolean;
  /** `nodejs_gc_duration_seconds`, with the default metrics: it needs a GC observer, see collectProcessMetrics. */
  readonly gcMetrics: boolean;
}

/** What the scrape-time collectors read: the live config's model groups and the App's state, store and connections. */
export interface LiveSources {
  groups: ReadonlyMap<string, ModelGroup>;
  readonly state: RouterState;
  readonly store: SharedStore;
  /** The client connections; null outside a running gateway (then their metrics are not registered). */
  readonly traffic: ClientTraffic | null;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly options: GatewayMetricsOptions;
  readonly sources: LiveSources;

  // LiteLLM's request families, counted into Series.
  readonly proxyTotal: CounterFamily;
  readonly proxyFailed: CounterFamily;
  readonly totalLatency: HistogramFamily;
  readonly apiLatency: HistogramFamily;
  readonly timeToFirstToken: HistogramFamily;
  readonly overheadLatency: HistogramFamily;
  readonly inputTokens: CounterFamily;
  readonly outputTokens: CounterFamily;
  readonly totalTokens: CounterFamily;
  readonly remainingRequests: GaugeFamily;
  readonly remainingTokens: GaugeFamily;
  readonly deploymentSuccess: CounterFamily;
  readonly deploymentFailure: CounterFamily;
  readonly deploymentTotal: CounterFamily;
  readonly successfulFallbacks: CounterFamily;
  readonly failedFallbacks: CounterFamily;
  readonly cacheHits: CounterFamily;
  readonly cacheMisses: CounterFamily;
  readonly spend: CounterFamily;
  readonly keyMaxBudget: GaugeFamily;
  readonly keyRemainingBudget: GaugeFamily;
  readonly teamMaxBudget: GaugeFamily;
  readonly teamRemainingBudget: GaugeFamily;
  // Rare, or not per label set: prom-client's own.
  readonly deploymentCooledDown: Counter;
  readonly guardVerdicts: Counter;
  readonly guardErrors: Counter;
  readonly configLoads: Counter;
  readonly seriesDropped: Counter;
  readonly retries: Counter;
  readonly fallbacks: Counter;

  /** Plain numbers on the hot path; the gauges and counter below read them when scraped. */
  requestsInFlight = 0;
  streamsInFlight = 0;
  requestBytes = 0;

  /** Request label sets by key, up to `maxSeries`; overflowed sets are kept apart (their labels are bounded). */
  readonly #series = new Map<string, Series>();
  readonly #overflow = new Map<string, Series>();
  /** Per deployment: the cooldown end last seen, to count each new cooldown once. */
  readonly #coolingSeen = new Map<string, number>();
  /** The request families, rendered by this class; the registry renders the rest. */
  readonly #families: Family[] = [];
  #counterSlots = 0;
  #gaugeSlots = 0;
  #histogramSlots = 0;

  constructor(options: GatewayMetricsOptions, sources: LiveSources) {
    this.options = options;
    this.sources = sources;
    const registers = [this.registry];
    const all = (): Iterable<Series> => this.#allSeries();
    const register = <F extends Family>(family: F): F => {
      this.#families.push(family);
      return family;
    };
    const counter = (name: string, help: string, shape: Shape): CounterFamily => register(new CounterFamily(name, help, shape, this.#counterSlots++, all));
    const histogram = (name: string, help: string, shape: Shape): HistogramFamily => register(new HistogramFamily(name, help, shape, this.#histogramSlots++, options.buckets, all));
    const gauge = (name: string, help: string, shape: Shape): GaugeFamily => register(new GaugeFamily(name, help, shape, this.#gaugeSlots++, all));

    this.proxyFailed = counter(
      'litellm_proxy_failed_requests_metric_total',
      'Total number of failed responses from proxy - the client did not get a success response from litellm proxy',
      'proxyFailed',
    );
    this.proxyTotal = counter('litellm_proxy_total_requests_metric_total', 'Total number of requests made to the proxy server - track number of client side requests', 'proxyTotal');
    this.totalLatency = histogram('litellm_request_total_latency_metric', 'Total latency (seconds) for a request to LiteLLM', 'totalLatency');
    this.apiLatency = histogram('litellm_llm_api_latency_metric', 'Total latency (seconds) for a models LLM API call', 'apiLatency');
    this.timeToFirstToken = histogram('litellm_llm_api_time_to_first_token_metric', 'Time to first token for a models LLM API call', 'apiLatency');
    this.overheadLatency = histogram('litellm_overhead_latency_metric', 'Latency overhead (seconds) added by the gateway before the LLM API call', 'perDeployment');
    this.totalTokens = counter('litellm_total_tokens_metric_total', 'Total number of input + output tokens from LLM requests', 'tokens');
    this.inputTokens = counter('litellm_input_tokens_metric_total', 'Total number of input tokens from LLM requests', 'tokens');
    this.outputTokens = counter('litellm_output_tokens_metric_total', 'Total number of output tokens from LLM requests', 'tokens');
    this.remainingRequests = gauge('litellm_remaining_requests_metric', 'LLM Deployment Analytics - remaining requests for model, returned from LLM API Provider', 'perDeployment');
    this.remainingTokens = gauge('litellm_remaining_tokens_metric', 'remaining tokens for model, returned from LLM API Provider', 'perDeployment');
    const metrics = this;
    new Gauge({
      name: 'litellm_deployment_state',
      help: 'LLM Deployment Analytics - The state of the deployment: 0 = healthy, 1 = partial outage, 2 = complete outage',
      labelNames: DEPLOYMENT_LABELS,
      registers,
      collect() {
        metrics.#collectDeployments(this);
      },
    });
    this.deploymentSuccess = counter('litellm_deployment_success_responses_total', 'LLM Deployment Analytics - Total number of successful LLM API calls via litellm', 'deploymentRequests');
    this.deploymentFailure = counter('litellm_deployment_failure_responses_total', 'LLM Deployment Analytics - Total number of failed LLM API calls for a specific LLM deploymeny', 'deploymentFailures');
    this.deploymentTotal = counter('litellm_deployment_total_requests_total', 'LLM Deployment Analytics - Total number of LLM API calls via litellm - success + failure', 'deploymentRequests');
    this.deploymentCooledDown = new Counter({
      name: 'litellm_deployment_cooled_down_total',
      help: 'LLM Deployment Analytics - Number of times a deployment has been cooled down by LiteLLM load balancing logic. exception_status is the status of the exception that caused the deployment to be cooled down',
      labelNames: [...DEPLOYMENT_LABELS, 'exception_status'],
      registers,
    });
    this.successfulFallbacks = counter('litellm_deployment_successful_fallbacks_total', 'LLM Deployment Analytics - Number of successful fallback requests from primary model -> fallback model', 'fallbacks');
    this.failedFallbacks = counter('litellm_deployment_failed_fallbacks_total', 'LLM Deployment Analytics - Number of failed fallback requests from primary model -> fallback model', 'fallbacks');
    this.cacheHits = counter('litellm_cache_hits_metric_total', 'Total number of LiteLLM cache hits', 'cache');
    this.cacheMisses = counter('litellm_cache_misses_metric_total', 'Total number of LiteLLM cache misses', 'cache');
    // Filled from the spend plugin's access-log fields (`spend`, `key_max_budget`, `key_budget_remaining`, `team_max_budget`, `team_budget_remaining`).
    this.spend = counter('litellm_spend_metric_total', 'Total spend on LLM requests', 'spend');
    this.keyMaxBudget = gauge('litellm_api_key_max_budget_metric', 'Maximum budget set for api key', 'keyBudget');
    this.keyRemainingBudget = gauge('litellm_remaining_api_key_budget_metric', 'Remaining budget for api key', 'keyBudget');
    this.teamMaxBudget = gauge('litellm_team_max_budget_metric', 'Maximum budget set for team', 'teamBudget');
    this.teamRemainingBudget = gauge('litellm_remaining_team_budget_metric', 'Remaining budget for team', 'teamBudget');

    new Gauge({
      name: 'sluice_requests_in_flight',
      help: 'Proxied requests being served now (this process)',
      registers,
      collect() {
        this.set(metrics.requestsInFlight);
      },
    });
    new Gauge({
      name: 'sluice_streams_in_flight',
      help: 'Event streams being sent to clients now (this process)',
      registers,
      collect() {
        this.set(metrics.streamsInFlight);
      },
    });
    new Gauge({
      name: 'sluice_deployment_in_flight',
      help: 'Requests in flight to each deployment (this process)',
      labelNames: ['model_group', 'model_id', 'api_base'],
      registers,
      collect() {
        this.reset();
        for (const group of metrics.sources.groups.values()) {
          for (const d of group.deployments) this.set({ model_group: group.name, model_id: d.id, api_base: d.apiBase }, metrics.sources.state.localInFlight(d.id));
        }
      },
    });
    new Counter({
      name: 'sluice_request_body_bytes_total',
      help: 'Bytes of proxied request bodies received from clients',
      registers,
      collect() {
        this.reset();
        this.inc(metrics.requestBytes);
      },
    });
    const plain = (name: string, help: string, labelNames: readonly string[]): Counter => new Counter({ name, help, labelNames, registers });
    this.guardVerdicts = plain('sluice_guard_verdicts_total', 'Guard scanner verdicts: pass, or the action taken (block, redact, log)', ['scanner', 'verdict']);
    this.guardErrors = plain('sluice_guard_errors_total', 'Requests a guard could not check (its engine unreachable or failing)', ['scanner']);
    this.configLoads = plain('sluice_config_loads_total', 'Configurations loaded by this process (the first, then each reload)', []);
    this.seriesDropped = plain('sluice_metrics_series_overflow_total', 'Requests counted with client-chosen labels collapsed to _other_ because max_series was reached', []);
    this.retries = plain('sluice_retries_total', 'Upstream attempts that failed and were tried again, by the model group that finally served the request', ['model_group']);
    this.fallbacks = plain('sluice_fallbacks_total', 'Fallback groups that took a request over, by the model group that finally served it', ['model_group']);
    const traffic = sources.traffic;
    if (traffic !== null) {
      new Gauge({
        name: 'sluice_open_connections',
        help: 'Client connections open now that carried at least one request (this process)',
        registers,
        collect() {
          this.set(traffic.openConnections);
        },
      });
      new Counter({
        name: 'sluice_client_bytes_received_total',
        help: 'Bytes read from client connections: request heads and bodies (decrypted under TLS)',
        registers,
        collect() {
          this.reset();
          this.inc(traffic.bytesIn);
        },
      });
      new Counter({
        name: 'sluice_client_bytes_sent_total',
        help: 'Bytes written to client connections: response heads and bodies (before encryption under TLS)',
        registers,
        collect() {
          this.reset();
          this.inc(traffic.bytesOut);
        },
      });
    }
    new Gauge({
      name: 'sluice_store_health',
      help: 'The shared store (memory, or Redis across replicas): 1 for its current state (ok, degraded: Redis unreachable and local limits stand in, down)',
      labelNames: ['store', 'state'],
      registers,
      collect() {
        const store = metrics.sources.store;
        const now = store.health();
        for (const state of ['ok', 'degraded', 'down'] as const) this.set({ store: store.kind, state }, state === now ? 1 : 0);
      },
    });
    if (options.defaultMetrics) {
      collectProcessMetrics(this.registry, options.gcMetrics);
      // Gauges named like counters, which `promtool check metrics` refuses; each is the sum of the by-type gauge of
      // the same name without `_total` (`sum(nodejs_active_handles)`).
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    }
  }

  *#allSeries(): Iterable<Series> {
    yield* this.#series.values();
    yield* this.#overflow.values();
  }

  #newSeries(labels: RequestLabels): Series {
    return new Series(labels, this.#counterSlots, this.#gaugeSlots);
  }

  /** The series for a request's labels: a cached one, or a new one while fewer than `maxSeries` exist. */
  series(labels: RequestLabels): Series {
    const key = seriesKey(labels);
    const known = this.#series.get(key);
    if (known !== undefined) return known;
    if (this.#series.size < this.options.maxSeries) {
      const series = this.#newSeries(labels);
      this.#series.set(key, series);
      return series;
    }
    // Full: the labels a client chooses collapse, so what is left is bounded by the config (keys, deployments).
    this.seriesDropped.inc();
    labels.end_user = labels.end_user === '' ? '' : OVERFLOW;
    labels.requested_model = OVERFLOW;
    labels.route = OVERFLOW;
    labels.fallback_model = labels.fallback_model === '' ? '' : OVERFLOW;
    const overflowKey = seriesKey(labels);
    let series = this.#overflow.get(overflowKey);
    if (series === undefined) {
      series = this.#newSeries(labels);
      this.#overflow.set(overflowKey, series);
    }
    return series;
  }

  /** Whether `series` is one of its own label set (not one that collapsed labels because `maxSeries` was reached). */
  isExact(series: Series): boolean {
    return this.#series.get(seriesKey(series.labels)) === series;
  }

  get seriesCount(): number {
    return this.#series.size;
  }

  /** Counts the cooldowns started since the last look at these deployments (each extension counts, as in LiteLLM). */
  noteCooldowns(deployments: readonly Deployment[]): void {
    const state = this.sources.state;
    for (const d of deployments) {
      const until = state.health(d.id).coolingUntil;
      if (until === 0) continue;
      const seen = this.#coolingSeen.get(d.id) ?? 0;
      if (until <= seen) continue;
      this.#coolingSeen.set(d.id, until);
      const status = /answered (\d{3})/.exec(state.health(d.id).lastError ?? '')?.[1] ?? '';
      this.deploymentCooledDown.inc({ ...deploymentLabels(d), exception_status: status });
    }
  }

  /** The Prometheus text exposition (0.0.4): the request families, then the registry's metrics. */
  async scrape(): Promise<string> {
    const out: string[] = [];
    for (const family of this.#families) {
      family.render(out);
      out.push('');
    }
    return out.join('\n') + (await this.registry.metrics());
  }

  #collectDeployments(gauge: Gauge): void {
    gauge.reset();
    const state = this.sources.state;
    const now = Date.now();
    for (const group of this.sources.groups.values()) {
      this.noteCooldowns(group.deployments);
      for (const d of group.deployments) {
        const reason = state.unavailable(d.id, now);
        gauge.set(deploymentLabels(d), reason === null ? 0 : reason === 'cooldown' ? 1 : 2);
      }
    }
  }
}

/** LiteLLM's deployment labels: `litellm_model_name` is `litellm_params.model` as written (provider/model). */
export function deploymentLabels(d: Deployment): Labels {
  return { litellm_model_name: litellmModelName(d), model_id: d.id, api_base: d.apiBase, api_provider: d.provider };
}

export function litellmModelName(d: Deployment): string {
  return d.provider === '' ? d.upstreamModel : `${d.provider}/${d.upstreamModel}`;
}

const requireFromHere = createRequire(import.meta.url);
type DefaultCollector = (registry: Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/**
 * prom-client's default process and Node metrics, without its GC histogram unless asked for. That histogram needs a
 * `PerformanceObserver` for 'gc', and Node then hands every collection to JavaScript: under load (a scavenge every
 * ~15 ms) the full chain spent 4–7% more CPU per request with it (docs/metrics.md), and an empty 'gc' observer
 * alone made an allocation-bound loop 17% slower. prom-client has no switch for one collector, so each of
 * its default collectors (its own `metricsList`) is loaded from its module, as `collectDefaultMetrics` itself does.
 */
export function collectProcessMetrics(registry: Registry, withGc: boolean): void {
  if (withGc) {
    collectDefaultMetrics({ register: registry });
    return;
  }
  const config = { eventLoopMonitoringPrecision: 10 };
  for (const name of collectDefaultMetrics.metricsList) {
    if (name === 'gc') continue;
    (requireFromHere(`prom-client/lib/metrics/${name}`) as DefaultCollector)(registry, config);
  }
}

function seriesKey(labels: RequestLabels): string {
  // \u0001 cannot appear in a header-derived value worth keeping apart; it only separates fields.
  return `${labels.end_user}\u0001${labels.user}\u0001${labels.hashed_api_key}\u0001${labels.team}\u0001${labels.team_alias}\u0001${labels.requested_model}\u0001${labels.model_group}\u0001${labels.model_id}\u0001${labels.api_base}\u0001${labels.status_code}\u0001${labels.exception_class}\u0001${labels.route}\u0001${labels.fallback_model}\u0001${labels.user_email}`;
}
