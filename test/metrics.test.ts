// /metrics on a real gateway in front of the OpenAI simulator: known traffic (successes, streams, failures, a
// fallback, cache hits), then the scrape, read with a strict parser, must count exactly that, with the labels
// LiteLLM's dashboards group by. The master key is required, and a reload keeps every counter.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../core/config/load.ts';
import { chat, post, ROOT, startGateway, type TestGateway } from './helpers.ts';
import { execFileSync } from 'node:child_process';
import { lintMetrics, parsePrometheusText, type Exposition } from './prom-text.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';

const MASTER = 'sk-master-1234';
const TEAM = 'sk-team-a-5678';

function config(good: Sim, bad: Sim, extra = ''): string {
  return `model_list:
  - model_name: g
    litellm_params: { model: openai/sim-model, api_base: ${good.url}/v1, api_key: sk-up }
    model_info: { id: good-1 }
  - model_name: bad
    litellm_params: { model: openai/sim-model, api_base: ${bad.url}/v1, api_key: sk-up }
    model_info: { id: bad-1 }
router_settings:
  num_retries: 0
  allowed_fails: 100
  fallbacks: [{ bad: [g] }]
general_settings:
  master_key: ${MASTER}
keys:
  - key: ${TEAM}
    alias: team-a
    metadata: { team_id: t1, team_alias: Team A }
litellm_settings:
  callbacks: [prometheus]
${extra}`;
}

async function scrape(gw: TestGateway, key: string | null = MASTER): Promise<Exposition> {
  const res = await fetch(`${gw.url}/metrics`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

const asTeam = { authorization: `Bearer ${TEAM}` };

describe('metrics on a gateway', () => {
  let good: Sim;
  let bad: Sim;
  let gw: TestGateway;

  before(async () => {
    good = await startOpenAISim({ tokens: 4 });
    // Every request to `bad` fails with a 500 the gateway does not retry (num_retries: 0), so it falls back to g.
    bad = await startOpenAISim({ status: 500 });
    gw = await startGateway(config(good, bad));
  });
  after(async () => {
    await gw.close();
    await good.close();
    await bad.close();
  });

  test('known traffic is counted exactly, with LiteLLM\'s labels', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g', { user: 'end-1' }), asTeam)).status, 200);
    for (let i = 0; i < 2; i++) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('g', { stream: true }), asTeam);
      assert.equal(res.status, 200);
      assert.match(res.body.toString(), /\[DONE\]/);
    }
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('missing'), asTeam)).status, 404);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'), { authorization: 'Bearer sk-wrong' })).status, 401);
    const fellBack = await post(`${gw.url}/v1/chat/completions`, chat('bad'), asTeam);
    assert.equal(fellBack.status, 200);
    assert.equal(fellBack.headers['x-litellm-attempted-fallbacks'], '1');

    const m = await scrape(gw);
    const team = { hashed_api_key: 'team-a', api_key_alias: 'team-a', team: 't1', team_alias: 'Team A' };
    assert.equal(m.sum('litellm_proxy_total_requests_metric_total'), 8);
    assert.equal(m.sum('litellm_proxy_total_requests_metric_total', { ...team, requested_model: 'g', status_code: '200', model_id: 'good-1' }), 5);
    assert.equal(m.sum('litellm_proxy_total_requests_metric_total', { ...team, end_user: 'end-1' }), 3);
    assert.equal(m.sum('litellm_proxy_failed_requests_metric_total'), 2);
    assert.equal(m.sum('litellm_proxy_failed_requests_metric_total', { ...team, requested_model: 'missing', exception_status: '404', exception_class: 'NotFoundError' }), 1);
    // A wrong key is refused before anyone is known.
    assert.equal(m.sum('litellm_proxy_failed_requests_metric_total', { hashed_api_key: '', exception_status: '401', exception_class: 'AuthenticationError' }), 1);

    // Every request has a total latency; the six that reached a backend have LLM API latency; streams a TTFT.
    assert.equal(m.sum('litellm_request_total_latency_metric_count'), 8);
    const inf = m.find('litellm_request_total_latency_metric_bucket', { le: '+Inf' }).reduce((n, s) => n + s.value, 0);
    assert.equal(inf, 8);
    assert.equal(m.sum('litellm_llm_api_latency_metric_count', { model: 'sim-model', model_id: 'good-1' }), 6);
    assert.equal(m.sum('litellm_llm_api_time_to_first_token_metric_count'), 2);
    assert.equal(m.sum('litellm_overhead_latency_metric_count', { model_group: 'g', litellm_model_name: 'openai/sim-model', api_provider: 'openai' }), 6);

    // The simulator's usage: 4 completion tokens per answer, in JSON bodies and in the streams' usage events.
    assert.equal(m.sum('litellm_output_tokens_metric_total', { ...team, model: 'sim-model' }), 6 * 4);
    const input = m.sum('litellm_input_tokens_metric_total');
    assert.ok(input > 0);
    assert.equal(m.sum('litellm_total_tokens_metric_total'), input + 24);

    // The deployment families see the answering deployment; the fallback is LiteLLM's successful fallback.
    assert.equal(m.sum('litellm_deployment_total_requests_total', { model_id: 'good-1', api_base: `${good.url}/v1` }), 6);
    assert.equal(m.sum('litellm_deployment_success_responses_total', { model_id: 'good-1', requested_model: 'bad' }), 1);
    assert.equal(m.sum('litellm_deployment_successful_fallbacks_total', { ...team, requested_model: 'bad', fallback_model: 'g' }), 1);
    assert.equal(m.sum('litellm_deployment_failed_fallbacks_total'), 0);
    assert.equal(m.sum('sluice_fallbacks_total', { model_group: 'g' }), 1);
    assert.equal(m.sum('sluice_retries_total'), 0);
    assert.deepEqual(
      m.find('litellm_deployment_state').map((s) => [s.labels['model_id'], s.value]),
      [['good-1', 0], ['bad-1', 0]],
    );

    assert.equal(m.sum('sluice_requests_in_flight'), 0);
    assert.equal(m.sum('sluice_streams_in_flight'), 0);
    assert.equal(m.sum('sluice_store_health', { store: 'memory', state: 'ok' }), 1);
    assert.equal(m.sum('sluice_config_loads_total'), 1);
    assert.ok(m.sum('process_cpu_seconds_total') > 0, "Node's process metrics are there");
    assert.equal(m.find('nodejs_eventloop_lag_seconds').length, 1);
    assert.ok(m.sum('nodejs_heap_size_used_bytes') > 0);
    // Only the key's id reaches the labels, never a key.
    const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } })).text();
    assert.doesNotMatch(text, new RegExp(`${TEAM}|${MASTER}|sk-up|Say hello`));
    // The GC histogram needs a GC observer, which costs CPU on every collection: only with `gc_metrics: true`.
    assert.doesNotMatch(text, /nodejs_gc_duration_seconds/);
  });

  test("every family passes promtool's lint rules, and `promtool check metrics` itself", async () => {
    const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } })).text();
    assert.deepEqual(lintMetrics(text), []);
    // promtool comes with Debian's prometheus package, which .ci/run installs; it exits non-zero on any problem.
    execFileSync('promtool', ['check', 'metrics'], { input: text });
  });

  test('the scrape itself and other gateway routes are not counted as proxy requests', async () => {
    const before = (await scrape(gw)).sum('litellm_proxy_total_requests_metric_total');
    await fetch(`${gw.url}/health/liveliness`);
    assert.equal((await scrape(gw)).sum('litellm_proxy_total_requests_metric_total'), before);
  });

  test('/metrics needs the master key: none is 401, a virtual key 403', async () => {
    assert.equal((await fetch(`${gw.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${gw.url}/metrics`, { headers: asTeam })).status, 403);
    assert.equal((await fetch(`${gw.url}/metrics`, { method: 'HEAD', headers: { authorization: `Bearer ${MASTER}` } })).status, 200);
  });

  test('a reload keeps the registry: counters go on, nothing is registered twice, the new groups are reported', async () => {
    const before = await scrape(gw);
    const total = before.sum('litellm_proxy_total_requests_metric_total');
    const next = await gw.gateway.load(
      parseConfig(`${config(good, bad)}  success_callback: [prometheus]\n`.replace('model_name: bad', 'model_name: bad2'), `${ROOT}/test-config.yaml`, {}),
    );
    const previous = gw.gateway.swap(next);
    await previous?.close();
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'), asTeam)).status, 200);
    const m = await scrape(gw);
    assert.equal(m.sum('litellm_proxy_total_requests_metric_total'), total + 1);
    assert.equal(m.sum('litellm_deployment_total_requests_total', { model_id: 'good-1' }), before.sum('litellm_deployment_total_requests_total', { model_id: 'good-1' }) + 1);
    assert.equal(m.sum('sluice_config_loads_total'), 2);
    // One TYPE line per family: nothing was registered twice.
    assert.equal(m.find('litellm_deployment_state', { model_id: 'bad-1' }).length, 1);
    assert.deepEqual(
      m.find('sluice_deployment_in_flight').map((s) => s.labels['model_group']),
      ['g', 'bad2'],
    );
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } });
    const types = (await res.text()).split('\n').filter((l) => l.startsWith('# TYPE litellm_proxy_total_requests_metric_total '));
    assert.equal(types.length, 1);
  });
});

describe('metrics as a plugin entry, open, with the cache', () => {
  let sim: Sim;
  let gw: TestGateway;

  before(async () => {
    sim = await startOpenAISim();
    gw = await startGateway(`model_list:
  - model_name: g
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}/v1, api_key: sk-up }
    model_info: { id: d1 }
general_settings:
  master_key: ${MASTER}
plugins:
  - auth.api_key
  - route.round_robin
  - name: metrics
    options: { open: true, default_metrics: false }
litellm_settings:
  cache: true
`);
  });
  after(async () => {
    await gw.close();
    await sim.close();
  });

  test('open: no key needed; cache hits and misses counted; a hit is not an LLM call', async () => {
    const auth = { authorization: `Bearer ${MASTER}` };
    for (let i = 0; i < 3; i++) assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g'), auth)).status, 200);
    assert.equal(sim.stats.requests, 1);
    const m = await scrape(gw, null);
    assert.equal(m.sum('litellm_cache_misses_metric_total', { hashed_api_key: 'master', model_id: 'd1' }), 1);
    assert.equal(m.sum('litellm_cache_hits_metric_total'), 2);
    assert.equal(m.sum('litellm_proxy_total_requests_metric_total'), 3);
    assert.equal(m.sum('litellm_deployment_total_requests_total'), 1);
    assert.equal(m.sum('litellm_llm_api_latency_metric_count'), 1);
    assert.equal(m.find('process_cpu_seconds_total').length, 0);
  });
});

describe('metrics: the GC histogram on request', () => {
  let sim: Sim;
  let gw: TestGateway;

  before(async () => {
    sim = await startOpenAISim();
    gw = await startGateway(`model_list:
  - model_name: g
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}/v1, api_key: sk-up }
plugins:
  - route.round_robin
  - name: metrics
    options: { open: true, gc_metrics: true }
`);
  });
  after(async () => {
    await gw.close();
    await sim.close();
  });

  test('gc_metrics: true adds nodejs_gc_duration_seconds beside the other process metrics', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m);
    const m = parsePrometheusText(text);
    assert.ok(m.sum('process_cpu_seconds_total') > 0);
    assert.equal(m.find('nodejs_eventloop_lag_seconds').length, 1);
  });
});
