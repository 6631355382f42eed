// The metrics plugin's hooks called directly: what each kind of request adds to which family, with which labels;
// the registry surviving a reload; the route's protection; LiteLLM's settings switching it on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeDeps, modelGroups } from '../../core/plugin/testing.ts';
import { MemoryRouterState } from '../../core/state/router-state.ts';
import { SluiceError, type AuthInfo, type Plugin, type PluginDeps, type RequestContext, type Reply } from '../../core/plugin/api.ts';
import { parsePrometheusText, type Exposition } from '../../test/prom-text.ts';
import factory, { metricsFor } from './index.ts';
import { collectProcessMetrics, OVERFLOW } from './gateway-metrics.ts';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { metricsEntries } from './settings.ts';

const groups = modelGroups([
  { model_name: 'g', litellm_params: { model: 'openai/m-a', api_base: 'http://a.example/v1', api_key: 'sk-a' }, model_info: { id: 'a' } },
  { model_name: 'fb', litellm_params: { model: 'hosted_vllm/m-b', api_base: 'http://b.example/v1' }, model_info: { id: 'b' } },
]);
const G = groups.get('g')!;
const FB = groups.get('fb')!;

const TEAM_KEY: AuthInfo = {
  keyId: 'team-a',
  models: null,
  limits: { rpm: null, tpm: null, maxParallelRequests: null },
  metadata: { team_id: 't1', team_alias: 'Team A', user_id: 'u1' },
};
const MASTER: AuthInfo = { ...TEAM_KEY, keyId: 'master', metadata: {}, admin: true };

function deps(): PluginDeps {
  return fakeDeps({ groups, state: new MemoryRouterState() });
}

async function scrape(plugin: Plugin, auth: AuthInfo | null = MASTER): Promise<Exposition> {
  const ctx = fakeContext({ path: '/metrics', endpoint: 'info', body: {} });
  ctx.auth = auth;
  const reply = (await plugin.routes![0]!.handle(ctx)) as Reply;
  assert.equal(reply.status, 200);
  assert.match(reply.headers['content-type']!, /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(String(reply.body));
}

interface Run {
  readonly body?: Record<string, unknown>;
  readonly status?: number;
  readonly outcome?: 'ok' | 'error' | 'aborted' | 'replied';
  readonly error?: SluiceError;
  readonly stream?: boolean;
  readonly usage?: { promptTokens: number; completionTokens: number; totalTokens: number };
  readonly fallbackTo?: typeof FB;
  readonly logFields?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
  /** The request stops before the LLM call (a cache hit, a guard block). */
  readonly notDispatched?: boolean;
}

/** Runs one proxied request through the hooks in the core's order. */
function run(plugin: Plugin, r: Run = {}): RequestContext {
  const body = r.body ?? { model: 'g', messages: [{ role: 'user', content: 'hi' }], ...(r.stream === true ? { stream: true } : {}) };
  const ctx = fakeContext({ body, group: G });
  ctx.auth = TEAM_KEY;
  plugin.onRequest!(ctx);
  plugin.admit!(ctx);
  ctx.deployment = G.deployments[0]!;
  if (r.fallbackTo !== undefined) {
    ctx.group = r.fallbackTo;
    plugin.admit!(ctx);
    ctx.deployment = r.fallbackTo.deployments[0]!;
  }
  Object.assign(ctx.logFields, r.logFields ?? {});
  if (r.notDispatched !== true) {
    plugin.upstreamRequest!(ctx);
    plugin.onResponseHeaders!(ctx, { status: r.status ?? 200, headers: r.headers ?? {}, isEventStream: r.stream === true });
  }
  ctx.status = r.status ?? 200;
  ctx.usage = r.usage ?? null;
  if (ctx.stream) ctx.firstByteAt = performance.now();
  ctx.settle(r.outcome ?? (r.error === undefined ? 'ok' : 'error'), performance.now());
  if (r.error !== undefined) ctx.error = r.error;
  plugin.log!(ctx);
  return ctx;
}

test('a successful request: the request, latency, token and deployment families, labelled as LiteLLM labels them', async () => {
  const plugin = await factory.create({}, deps());
  run(plugin, { usage: { promptTokens: 7, completionTokens: 5, totalTokens: 12 }, body: { model: 'g', messages: [], user: 'end-1' } });
  run(plugin, { stream: true, usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 }, body: { model: 'g', messages: [], user: 'end-1', stream: true } });
  const m = await scrape(plugin);

  const who = { hashed_api_key: 'team-a', api_key_alias: 'team-a', team: 't1', team_alias: 'Team A', user: 'u1', end_user: 'end-1' };
  assert.deepEqual(m.find('litellm_proxy_total_requests_metric_total')[0]!.labels, {
    ...who,
    requested_model: 'g',
    status_code: '200',
    user_email: '',
    route: '/v1/chat/completions',
    client_ip: '',
    user_agent: '',
    model_id: 'a',
  });
  assert.equal(m.sum('litellm_proxy_total_requests_metric_total', { ...who, status_code: '200' }), 2);
  assert.equal(m.find('litellm_proxy_failed_requests_metric_total').length, 0);
  assert.equal(m.types.get('litellm_proxy_total_requests_metric_total'), 'counter');
  assert.equal(m.types.get('litellm_request_total_latency_metric'), 'histogram');
  assert.equal(m.sum('litellm_request_total_latency_metric_count', { model: 'm-a', requested_model: 'g', model_id: 'a' }), 2);
  assert.equal(m.sum('litellm_llm_api_latency_metric_count', { model: 'm-a' }), 2);
  // Time to first token is a stream's.
  assert.equal(m.sum('litellm_llm_api_time_to_first_token_metric_count'), 1);
  assert.equal(m.sum('litellm_overhead_latency_metric_count', { model_group: 'g', api_provider: 'openai', litellm_model_name: 'openai/m-a', api_base: 'http://a.example/v1' }), 2);
  // LiteLLM's latency buckets: 35 finite bounds and +Inf.
  assert.equal(m.find('litellm_request_total_latency_metric_bucket', { requested_model: 'g' }).length, 36);
  assert.equal(m.sum('litellm_input_tokens_metric_total', { ...who, model: 'm-a' }), 10);
  assert.equal(m.sum('litellm_output_tokens_metric_total'), 7);
  assert.equal(m.sum('litellm_total_tokens_metric_total'), 17);
  assert.equal(m.sum('litellm_deployment_total_requests_total', { model_id: 'a', requested_model: 'g' }), 2);
  assert.equal(m.sum('litellm_deployment_success_responses_total', { model_id: 'a' }), 2);
  assert.equal(m.sum('sluice_requests_in_flight'), 0);
  assert.equal(m.sum('sluice_streams_in_flight'), 0);
  assert.ok(m.sum('sluice_request_body_bytes_total') > 0);
});

test("histograms: LiteLLM's buckets, cumulative, with `le` written as Python's client writes it", async () => {
  const plugin = await factory.create({}, deps());
  // Durations off the bucket bounds: startedAt is a fractional clock reading, so start + 1000 - start may not be 1000.
  for (const ms of [3, 300, 300, 999, 400_000]) {
    const ctx = fakeContext({ group: G });
    plugin.onRequest!(ctx);
    ctx.status = 200;
    ctx.settle('ok', ctx.startedAt + ms);
    plugin.log!(ctx);
  }
  const m = await scrape(plugin);
  const bucket = (le: string): number => m.sum('litellm_request_total_latency_metric_bucket', { le });
  assert.deepEqual(['0.005', '0.1', '0.5', '1.0', '300.0', '+Inf'].map(bucket), [1, 1, 3, 4, 4, 5]);
  assert.equal(m.sum('litellm_request_total_latency_metric_count'), 5);
  assert.equal(Math.round(m.sum('litellm_request_total_latency_metric_sum') * 1000), 3 + 300 + 300 + 999 + 400_000);
  const custom = await factory.create({ latency_buckets: [0.25, 2] }, fakeDeps({ groups, state: new MemoryRouterState() }));
  const ctx = fakeContext({ group: G });
  custom.onRequest!(ctx);
  ctx.settle('ok', ctx.startedAt + 300);
  custom.log!(ctx);
  assert.deepEqual((await scrape(custom)).find('litellm_request_total_latency_metric_bucket').map((s) => [s.labels['le'], s.value]), [['0.25', 0], ['2.0', 1], ['+Inf', 1]]);
});

test('requests and streams in flight count up in their hooks and down in log', async () => {
  const plugin = await factory.create({}, deps());
  const ctx = fakeContext({ body: { model: 'g', messages: [], stream: true }, group: G });
  plugin.onRequest!(ctx);
  plugin.onResponseHeaders!(ctx, { status: 200, headers: {}, isEventStream: true });
  let m = await scrape(plugin);
  assert.equal(m.sum('sluice_requests_in_flight'), 1);
  assert.equal(m.sum('sluice_streams_in_flight'), 1);
  ctx.settle('aborted', performance.now());
  plugin.log!(ctx);
  m = await scrape(plugin);
  assert.equal(m.sum('sluice_requests_in_flight'), 0);
  assert.equal(m.sum('sluice_streams_in_flight'), 0);
  // A client that left is a failure, as nginx's 499.
  assert.equal(m.sum('litellm_proxy_failed_requests_metric_total', { exception_status: '499', exception_class: 'ClientDisconnectedError' }), 1);
});

test('failures: exception_status and exception_class on the proxy and deployment families', async () => {
  const plugin = await factory.create({}, deps());
  run(plugin, { status: 429 });
  run(plugin, { status: 503, error: new SluiceError('SLUICE_NO_DEPLOYMENT', 'none left'), notDispatched: true });
  run(plugin, { status: 504, error: new SluiceError('SLUICE_UPSTREAM_TIMEOUT', 'slow') });
  run(plugin, { status: 400, error: new SluiceError('SLUICE_CONTENT_BLOCKED', 'no'), notDispatched: true });
  // A stream cut after its 200 went out: failed, with the error's status.
  run(plugin, { status: 200, stream: true, error: new SluiceError('SLUICE_UPSTREAM_RESET', 'cut') });
  const m = await scrape(plugin);
  assert.equal(m.sum('litellm_proxy_total_requests_metric_total'), 5);
  assert.equal(m.sum('litellm_proxy_failed_requests_metric_total'), 5);
  assert.equal(m.sum('litellm_proxy_failed_requests_metric_total', { exception_status: '502', exception_class: 'APIConnectionError' }), 1);
  assert.equal(m.sum('litellm_proxy_total_requests_metric_total', { status_code: '200' }), 1);
  assert.equal(m.sum('litellm_proxy_failed_requests_metric_total', { exception_status: '429', exception_class: 'RateLimitError' }), 1);
  assert.equal(m.sum('litellm_proxy_failed_requests_metric_total', { exception_status: '503', exception_class: 'ServiceUnavailableError' }), 1);
  assert.equal(m.sum('litellm_proxy_failed_requests_metric_total', { exception_status: '504', exception_class: 'Timeout' }), 1);
  assert.equal(m.sum('litellm_proxy_failed_requests_metric_total', { exception_status: '400', exception_class: 'ContentPolicyViolationError' }), 1);
  // Only the three that reached the backend count against the deployment; failures have no API latency.
  assert.equal(m.sum('litellm_deployment_total_requests_total'), 3);
  assert.equal(m.sum('litellm_deployment_failure_responses_total', { model_id: 'a', exception_status: '429', exception_class: 'RateLimitError' }), 1);
  assert.equal(m.sum('litellm_deployment_success_responses_total'), 0);
  assert.equal(m.sum('litellm_llm_api_latency_metric_count'), 0);
  assert.equal(m.sum('litellm_request_total_latency_metric_count'), 5);
});

test('fallbacks: a second admit means the request fell back; fallback_model is the group that served it', async () => {
  const plugin = await factory.create({}, deps());
  run(plugin, { fallbackTo: FB });
  run(plugin, { fallbackTo: FB, status: 500 });
  run(plugin);
  const m = await scrape(plugin);
  assert.equal(m.sum('litellm_deployment_successful_fallbacks_total', { requested_model: 'g', fallback_model: 'fb', model_id: 'b' }), 1);
  assert.equal(m.sum('litellm_deployment_failed_fallbacks_total', { requested_model: 'g', fallback_model: 'fb', exception_status: '500' }), 1);
  assert.equal(m.sum('litellm_deployment_successful_fallbacks_total'), 1);
  assert.equal(m.sum('litellm_deployment_total_requests_total', { model_id: 'b', litellm_model_name: 'hosted_vllm/m-b' }), 2);
});

test('cache hits and misses from the cache plugin\'s log field; a hit is no LLM call', async () => {
  const plugin = await factory.create({}, deps());
  run(plugin, { logFields: { cache: 'hit' }, notDispatched: true });
  run(plugin, { logFields: { cache: 'miss' } });
  run(plugin, { logFields: { cache: 'off' } });
  const m = await scrape(plugin);
  assert.equal(m.sum('litellm_cache_hits_metric_total', { hashed_api_key: 'team-a', model_id: 'a' }), 1);
  assert.equal(m.sum('litellm_cache_misses_metric_total'), 1);
  assert.equal(m.sum('litellm_deployment_total_requests_total'), 2);
  assert.equal(m.sum('litellm_proxy_total_requests_metric_total'), 3);
});

test('guard verdicts by scanner from the guards\' log fields: pass, or the action of one that fired', async () => {
  const plugin = await factory.create({}, deps());
  run(plugin, { logFields: { guard_scores: { secrets: 0, prompt_injection: 0.1 } } });
  run(plugin, { status: 400, logFields: { guard_scores: { secrets: 1, prompt_injection: 0.2 }, guard_fired: 'secrets=block' }, notDispatched: true });
  run(plugin, { logFields: { guard_scores: { 'output.no_code': 1 }, guard_fired: 'output.no_code=log' } });
  run(plugin, { logFields: { guard_error: 'llm_guard_api: timeout' } });
  const m = await scrape(plugin);
  assert.equal(m.sum('sluice_guard_verdicts_total', { scanner: 'secrets', verdict: 'pass' }), 1);
  assert.equal(m.sum('sluice_guard_verdicts_total', { scanner: 'secrets', verdict: 'block' }), 1);
  assert.equal(m.sum('sluice_guard_verdicts_total', { scanner: 'prompt_injection', verdict: 'pass' }), 2);
  assert.equal(m.sum('sluice_guard_verdicts_total', { scanner: 'output.no_code', verdict: 'log' }), 1);
  assert.equal(m.sum('sluice_guard_errors_total', { scanner: 'llm_guard_api' }), 1);
});

test("the backend's x-ratelimit-remaining-* headers become the remaining requests and tokens gauges", async () => {
  const plugin = await factory.create({}, deps());
  run(plugin, { headers: { 'x-ratelimit-remaining-requests': '99', 'x-ratelimit-remaining-tokens': '15000' } });
  run(plugin, { headers: { 'x-ratelimit-remaining-requests': '98', 'x-ratelimit-remaining-tokens': 'lots' } });
  const m = await scrape(plugin);
  const labels = { model_group: 'g', api_provider: 'openai', api_base: 'http://a.example/v1', litellm_model_name: 'openai/m-a', hashed_api_key: 'team-a', api_key_alias: 'team-a', model_id: 'a' };
  assert.deepEqual(m.find('litellm_remaining_requests_metric').map((s) => [s.labels, s.value]), [[labels, 98]]);
  // A value that is not a number leaves the last one.
  assert.deepEqual(m.find('litellm_remaining_tokens_metric').map((s) => s.value), [15000]);
});

test('deployment state: 0 healthy, 1 cooling down, 2 unhealthy; each cooldown counted once with its status', async () => {
  const d = deps();
  const plugin = await factory.create({}, d);
  let m = await scrape(plugin);
  assert.deepEqual(
    m.find('litellm_deployment_state').map((s) => [s.labels['model_id'], s.value]),
    [['a', 0], ['b', 0]],
  );
  const now = Date.now();
  d.state.coolDown('a', now + 60_000, 'upstream answered 429 (deployment a)', now);
  d.state.setHealthy('b', false, 'probe failed', now);
  m = await scrape(plugin);
  assert.deepEqual(
    m.find('litellm_deployment_state').map((s) => [s.labels['model_id'], s.value]),
    [['a', 1], ['b', 2]],
  );
  assert.deepEqual(m.find('litellm_deployment_state', { model_id: 'a' })[0]!.labels, { litellm_model_name: 'openai/m-a', model_id: 'a', api_base: 'http://a.example/v1', api_provider: 'openai' });
  // Seen again by a failed request and another scrape: still one cooldown.
  run(plugin, { status: 429 });
  m = await scrape(plugin);
  assert.equal(m.sum('litellm_deployment_cooled_down_total', { model_id: 'a', exception_status: '429' }), 1);
  assert.equal(m.sum('litellm_deployment_cooled_down_total'), 1);
  d.state.coolDown('a', now + 120_000, 'upstream answered 503 (deployment a)', now);
  m = await scrape(plugin);
  assert.equal(m.sum('litellm_deployment_cooled_down_total', { model_id: 'a', exception_status: '503' }), 1);
  assert.equal(m.sum('sluice_store_health', { store: 'memory', state: 'ok' }), 1);
  assert.equal(m.sum('sluice_store_health', { state: 'down' }), 0);
});

test('a reload (a second create on the same App) reuses the registry: nothing registered twice, counters go on', async () => {
  const d = deps();
  const first = await factory.create({}, d);
  run(first);
  run(first);
  const second = await factory.create({}, d);
  run(second);
  await first.close?.();
  const m = await scrape(second);
  assert.equal(m.sum('litellm_proxy_total_requests_metric_total'), 3);
  assert.equal(m.sum('sluice_config_loads_total'), 2);
  // The old generation's route reads the same registry.
  assert.equal((await scrape(first)).sum('litellm_proxy_total_requests_metric_total'), 3);
  // Another App (another RouterState) has its own.
  const other = await factory.create({}, deps());
  assert.equal((await scrape(other)).sum('litellm_proxy_total_requests_metric_total'), 0);
  assert.equal(metricsFor(d), metricsFor(d));
});

test('max_series: past the cap, client-chosen labels collapse to _other_ and the overflow is counted', async () => {
  const plugin = await factory.create({ max_series: 2, default_metrics: false }, deps());
  for (const user of ['u1', 'u2', 'u3', 'u4']) run(plugin, { body: { model: 'g', messages: [], user } });
  const m = await scrape(plugin);
  assert.deepEqual(
    m.find('litellm_proxy_total_requests_metric_total').map((s) => [s.labels['end_user'], s.labels['requested_model'], s.value]),
    [['u1', 'g', 1], ['u2', 'g', 1], [OVERFLOW, OVERFLOW, 2]],
  );
  assert.equal(m.sum('sluice_metrics_series_overflow_total'), 2);
  assert.equal(m.find('process_cpu_seconds_total').length, 0);
});

test('requests counted again under known labels land in the same series; collapsed ones count as overflow every time', async () => {
  const plugin = await factory.create({ max_series: 2, default_metrics: false }, deps());
  // u1 and u2 fill the table; u3 and u4 collapse. Each shape is sent three times, so the later ones find a memo.
  for (let round = 0; round < 3; round++) for (const user of ['u1', 'u2', 'u3', 'u4']) run(plugin, { body: { model: 'g', messages: [], user } });
  const m = await scrape(plugin);
  assert.deepEqual(
    m.find('litellm_proxy_total_requests_metric_total').map((s) => [s.labels['end_user'], s.value]),
    [['u1', 3], ['u2', 3], [OVERFLOW, 6]],
  );
  assert.equal(m.sum('sluice_metrics_series_overflow_total'), 6);
});

test('labels never carry a prompt or a key; long client values are cut to 128 characters', async () => {
  const plugin = await factory.create({}, deps());
  run(plugin, { body: { model: 'g'.repeat(500), messages: [{ role: 'user', content: 'secret prompt' }], user: 'x'.repeat(300) } });
  const text = String(((await plugin.routes![0]!.handle(Object.assign(fakeContext({ path: '/metrics', endpoint: 'info' }), { auth: MASTER }))) as Reply).body);
  assert.doesNotMatch(text, /secret prompt|sk-a/);
  const m = parsePrometheusText(text);
  assert.equal(m.find('litellm_proxy_total_requests_metric_total')[0]!.labels['requested_model']!.length, 128);
  assert.equal(m.find('litellm_proxy_total_requests_metric_total')[0]!.labels['end_user']!.length, 128);
});

test('the route: master key only by default (a virtual key gets 403), open with `open: true`, path configurable', async () => {
  const closed = await factory.create({}, deps());
  const route = closed.routes![0]!;
  assert.deepEqual([route.method, route.path, route.auth], ['GET', '/metrics', true]);
  await assert.rejects(scrape(closed, TEAM_KEY), (error: SluiceError) => error.status === 403);
  // No authenticate phase in the chain: the gateway checks no keys, and neither does the route.
  await scrape(closed, null);
  const open = await factory.create({ open: true, path: '/prom' }, deps());
  assert.deepEqual([open.routes![0]!.path, open.routes![0]!.auth], ['/prom', false]);
  await scrape(open, TEAM_KEY);
});

test('route requests (endpoint info) are not counted as proxy requests', async () => {
  const plugin = await factory.create({}, deps());
  const ctx = fakeContext({ path: '/health', endpoint: 'info', body: {} });
  ctx.status = 200;
  ctx.settle('ok', performance.now());
  plugin.log!(ctx);
  assert.equal((await scrape(plugin)).sum('litellm_proxy_total_requests_metric_total'), 0);
});

test("LiteLLM's settings: prometheus in callbacks, success_callback or failure_callback adds the plugin", () => {
  const entry = [{ name: 'metrics', options: {} }];
  assert.deepEqual(metricsEntries({ callbacks: ['prometheus'] }, {}), { entries: entry, warnings: [] });
  assert.deepEqual(metricsEntries({ success_callback: ['prometheus'], failure_callback: ['prometheus'] }, {}), { entries: entry, warnings: [] });
  assert.deepEqual(metricsEntries({ callbacks: 'prometheus' }, {}).entries, entry);
  // The others are named, except LLM Guard's, which the config loader acts on.
  assert.deepEqual(metricsEntries({ callbacks: ['llmguard_moderations', 'langfuse'], success_callback: ['prometheus', 'datadog'] }, {}), {
    entries: entry,
    warnings: ['litellm_settings.callbacks: "langfuse" not acted on yet; ignored', 'litellm_settings.success_callback: "datadog" not acted on yet; ignored'],
  });
  assert.deepEqual(metricsEntries({ success_callback: ['langfuse'] }, {}).entries, []);
  assert.deepEqual(metricsEntries(undefined, {}), { entries: [], warnings: [] });
  // require_auth_for_metrics_endpoint: false opens the route, as LiteLLM's default is.
  assert.deepEqual(metricsEntries({ callbacks: ['prometheus'], require_auth_for_metrics_endpoint: false }, {}).entries, [{ name: 'metrics', options: { open: true } }]);
  assert.deepEqual(metricsEntries({ callbacks: ['prometheus'], require_auth_for_metrics_endpoint: true }, {}).entries, entry);
  // plugins: listing it (by id or by LiteLLM's name) wins.
  assert.deepEqual(metricsEntries({ callbacks: ['prometheus'] }, { plugins: ['route.round_robin', { name: 'metrics', options: { open: true } }] }).entries, []);
  assert.deepEqual(metricsEntries({ callbacks: ['prometheus'] }, { plugins: ['prometheus'] }).entries, []);
  assert.match(metricsEntries({ callbacks: ['prometheus'], require_auth_for_metrics_endpoint: false }, { plugins: ['metrics'] }).warnings[0]!, /lists metrics/);
});

// The default metrics are loaded one prom-client collector at a time (to leave the GC histogram out): they must be
// exactly prom-client's own set, so a prom-client that adds, renames or drops a collector fails here.
test("process metrics: prom-client's default families, without nodejs_gc_duration_seconds unless asked for", async () => {
  const names = async (registry: Registry): Promise<string[]> => (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
  const theirs = new Registry();
  collectDefaultMetrics({ register: theirs });
  const withGc = new Registry();
  collectProcessMetrics(withGc, true);
  const withoutGc = new Registry();
  collectProcessMetrics(withoutGc, false);
  const all = await names(theirs);
  assert.ok(all.includes('nodejs_gc_duration_seconds') && all.length > 20, all.join());
  assert.deepEqual(await names(withGc), all);
  assert.deepEqual(await names(withoutGc), all.filter((n) => n !== 'nodejs_gc_duration_seconds'));
});
