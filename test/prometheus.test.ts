// The operator files in deploy/prometheus and deploy/grafana, checked against a real Sluice and Debian's real
// Prometheus (.ci/run installs the `prometheus` package, which brings promtool):
//
// - promtool accepts the scrape config and the alert rules, and the rules' unit tests pass;
// - every metric the dashboard and the rules name is one a Sluice scrape exports, so neither can rot silently;
// - Prometheus, run with the shipped prometheus.yml (its target, key file and interval pointed at a test gateway),
//   scrapes a Sluice under known traffic: PromQL through its HTTP API returns the request counts sent, every
//   dashboard query evaluates, and the alert rules load.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { chat, post, ROOT, sleep, startGateway, type TestGateway } from './helpers.ts';
import { parsePrometheusText } from './prom-text.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';

const PROMETHEUS_DIR = join(ROOT, 'deploy', 'prometheus');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'sluice-dashboard.json');
const MASTER = 'sk-master-prom-1234';
const KEY = 'sk-prom-team-5678';
const KEY_FILE_IN_CONFIG = '/etc/prometheus/sluice-master-key';

// A gateway with every plugin whose metrics the dashboard shows: keys, spend and budgets, the cache, a guard.
function gatewayConfig(sim: Sim, failing: Sim): string {
  return `model_list:
  - model_name: g
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}/v1, api_key: sk-up }
    model_info: { id: g-1, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 }
  - model_name: down
    litellm_params: { model: openai/sim-model, api_base: ${failing.url}/v1, api_key: sk-up }
    model_info: { id: down-1 }
router_settings: { num_retries: 0 }
general_settings:
  master_key: ${MASTER}
keys:
  - key: ${KEY}
    alias: prom-team
    max_budget: 100
    metadata: { team_id: t1 }
plugins:
  - auth.api_key
  - spend
  - route.simple_shuffle
  - name: guard.input.ban_substrings
    options: { substrings: ["blue falcon"] }
  - metrics
litellm_settings:
  cache: true
`;
}

interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly { readonly expr: string; readonly refId: string }[];
  readonly panels?: readonly DashboardPanel[];
}

function dashboardPanels(): DashboardPanel[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: DashboardPanel[]; templating: { list: { name: string }[] } };
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

function dashboardExprs(): { panel: string; expr: string }[] {
  return dashboardPanels().flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

function ruleExprs(): { alert: string; expr: string }[] {
  const rules = parseYaml(readFileSync(join(PROMETHEUS_DIR, 'sluice-alerts.rules.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert, expr: r.expr })));
}

/** Grafana's interval variables, as a query through the API needs them. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m');
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/** The metric names a PromQL expression selects (not its functions, label names, keywords or numbers). */
export function metricNames(expr: string): string[] {
  const bare = withoutGrafanaVariables(expr)
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = bare[match.index - 1] ?? ' ';
    if (/[0-9.]/.test(before)) continue; // 1e3, 0.95
    if (bare.slice(match.index + match[0].length).trimStart().startsWith('(')) continue; // a function or aggregation
    if (PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/** A free TCP port on 127.0.0.1 (closed again, for a child process to bind). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value (not undefined). The bound only catches a hang. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = performance.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what} (last error: ${String(last)})`);
    await sleep(100);
  }
}

test('promtool accepts the alert rules, and their unit tests pass', () => {
  const checked = execFileSync('promtool', ['check', 'rules', join(PROMETHEUS_DIR, 'sluice-alerts.rules.yml')], { encoding: 'utf8' });
  assert.match(checked, /SUCCESS: 7 rules found/);
  const tested = execFileSync('promtool', ['test', 'rules', join(PROMETHEUS_DIR, 'sluice-alerts.test.yml')], { encoding: 'utf8', cwd: PROMETHEUS_DIR });
  assert.match(tested, /SUCCESS/);
});

test('promtool accepts the scrape config (with its key file in place)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-promcfg-'));
  try {
    const keyFile = join(dir, 'sluice-master-key');
    writeFileSync(keyFile, MASTER, { mode: 0o400 });
    const config = readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8');
    assert.ok(config.includes(KEY_FILE_IN_CONFIG));
    writeFileSync(join(dir, 'prometheus.yml'), config.replace(KEY_FILE_IN_CONFIG, keyFile));
    copyFileSync(join(PROMETHEUS_DIR, 'sluice-alerts.rules.yml'), join(dir, 'sluice-alerts.rules.yml'));
    const out = execFileSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    assert.match(out, /SUCCESS: 1 rule files found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("compose's Prometheus loads the same alert rules, and promtool accepts its config", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-promcompose-'));
  try {
    const compose = parseYaml(readFileSync(join(ROOT, 'deploy', 'compose', 'compose.yaml'), 'utf8')) as { services: { prometheus: { volumes: string[] } } };
    assert.ok(compose.services.prometheus.volumes.includes('../prometheus/sluice-alerts.rules.yml:/etc/prometheus/sluice-alerts.rules.yml:ro'));
    copyFileSync(join(ROOT, 'deploy', 'compose', 'prometheus.yml'), join(dir, 'prometheus.yml'));
    copyFileSync(join(PROMETHEUS_DIR, 'sluice-alerts.rules.yml'), join(dir, 'sluice-alerts.rules.yml'));
    assert.match(execFileSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' }), /SUCCESS: 1 rule files found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the dashboard is a Grafana dashboard with a query on every panel, each on the datasource variable', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Record<string, unknown>;
  assert.equal(dashboard['uid'], 'sluice-gateway');
  assert.equal(typeof dashboard['schemaVersion'], 'number');
  const panels = dashboardPanels();
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const panel of panels) {
    if (panel.type === 'row') continue;
    assert.ok((panel.targets ?? []).length > 0, `${panel.title}: has a query`);
    assert.equal((panel as unknown as { datasource: { uid: string } }).datasource.uid, '${datasource}', `${panel.title}: on the datasource variable`);
  }
  // What the issue asks the dashboard to show.
  const titles = panels.map((p) => p.title).join('\n');
  for (const want of [/Request rate/, /Error rate/, /p95 latency/, /Tokens by model/, /Tokens by key/, /Cost by model/, /Cost by key/, /Deployment state/, /Cache hit rate/, /Guard blocks/]) {
    assert.match(titles, want);
  }
});

test('metricNames reads the metrics out of PromQL, not its functions, labels or numbers', () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.95, sum by (le, model) (rate(a_bucket{x="y(z)"}[$__rate_interval]))) / on (le) group_left b_total > 1e3 and bool c'),
    ['a_bucket', 'b_total', 'c'],
  );
});

describe('a real Prometheus scraping a Sluice under traffic', () => {
  let sim: Sim;
  let failing: Sim;
  let gw: TestGateway;
  let dir: string;
  let prometheus: ChildProcess | null = null;
  let promUrl = '';
  let promLog = '';

  const query = async (promql: string): Promise<{ status: string; data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } }> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    return (await res.json()) as { status: string; data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
  };
  const scalar = async (promql: string): Promise<number | undefined> => {
    const answer = await query(promql);
    assert.equal(answer.status, 'success', promql);
    const first = answer.data.result[0];
    return first === undefined ? undefined : Number(first.value[1]);
  };

  before(async () => {
    sim = await startOpenAISim({ tokens: 3 });
    failing = await startOpenAISim({ status: 503 });
    gw = await startGateway(gatewayConfig(sim, failing));
    dir = mkdtempSync(join(tmpdir(), 'sluice-prometheus-'));
    const keyFile = join(dir, 'sluice-master-key');
    writeFileSync(keyFile, MASTER, { mode: 0o400 });
    // The shipped config, pointed at this gateway, scraping every second.
    const config = readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')
      .replace(KEY_FILE_IN_CONFIG, keyFile)
      .replace("targets: ['127.0.0.1:4000']", `targets: ['127.0.0.1:${gw.port}']`)
      .replaceAll('15s', '1s');
    assert.ok(config.includes(`127.0.0.1:${gw.port}`) && config.includes(keyFile));
    writeFileSync(join(dir, 'prometheus.yml'), config);
    copyFileSync(join(PROMETHEUS_DIR, 'sluice-alerts.rules.yml'), join(dir, 'sluice-alerts.rules.yml'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // Never outlives the test run, whatever happens to it.
    const child = prometheus;
    process.once('exit', () => child.kill('SIGKILL'));
    prometheus.stderr!.on('data', (chunk: Buffer) => (promLog = (promLog + chunk.toString()).slice(-4000)));
    await eventually('Prometheus is ready', async () => ((await fetch(`${promUrl}/-/ready`)).status === 200 ? true : undefined));
  });

  after(async () => {
    if (prometheus !== null && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await gw.close();
    await sim.close();
    await failing.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('PromQL through the HTTP API returns the requests sent; every dashboard query evaluates; the rules load', async () => {
    const auth = { authorization: `Bearer ${KEY}` };
    // 9 requests: 4 answered, 2 streams, 1 cache hit (the same question again), 1 guard block, 1 failing backend.
    const question = (i: number): Record<string, unknown> => ({ messages: [{ role: 'user', content: `Question ${i}?` }] });
    for (let i = 0; i < 4; i++) assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g', question(i)), auth)).status, 200);
    for (let i = 4; i < 6; i++) assert.match((await post(`${gw.url}/v1/chat/completions`, chat('g', { ...question(i), stream: true }), auth)).body.toString(), /\[DONE\]/);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g', question(0)), auth)).status, 200);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('g', { messages: [{ role: 'user', content: 'the blue falcon' }] }), auth)).status, 400);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('down'), auth)).status, 503);
    const sent = 9;

    const total = await eventually('Prometheus has scraped every request', async () => {
      const n = await scalar('sum(litellm_proxy_total_requests_metric_total)');
      return n === sent ? n : undefined;
    });
    assert.equal(total, sent, promLog);
    assert.equal(await scalar('up{job="sluice"}'), 1);
    assert.equal(await scalar('sum(litellm_proxy_failed_requests_metric_total)'), 2);
    assert.equal(await scalar('sum(litellm_proxy_failed_requests_metric_total{exception_status="503"})'), 1);
    assert.equal(await scalar('sum(litellm_cache_hits_metric_total)'), 1);
    assert.equal(await scalar('sum(sluice_guard_verdicts_total{verdict="block"})'), 1);
    assert.equal(await scalar('sum(litellm_llm_api_time_to_first_token_metric_count)'), 2);
    assert.ok(((await scalar('sum(litellm_spend_metric_total{api_key_alias="prom-team"})')) ?? 0) > 0, 'spend was counted');

    // Every dashboard query is valid PromQL on this Prometheus; the ones on request traffic have data.
    for (const { panel, expr } of dashboardExprs()) {
      const answer = await query(withoutGrafanaVariables(expr));
      assert.equal(answer.status, 'success', `${panel}: ${expr}`);
    }
    for (const expr of ['sum(rate(litellm_proxy_total_requests_metric_total[1m]))', 'max by (model_id, api_base) (litellm_deployment_state)', 'sum(sluice_open_connections)']) {
      // rate() needs two scrapes of a series: polled until the next one came.
      await eventually(`${expr} has data`, async () => ((await query(expr)).data.result.length > 0 ? true : undefined));
    }

    // The alert rules are loaded and evaluate without errors.
    const rules = await eventually('the rules were evaluated', async () => {
      const res = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
      const all = res.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health === 'ok') ? all : undefined;
    });
    assert.deepEqual(rules.map((r) => r.name).sort(), ruleExprs().map((r) => r.alert).sort());
  });

  test('every metric the dashboard and the alert rules name is one Sluice exports', async () => {
    const res = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER}` } });
    const types = parsePrometheusText(await res.text()).types;
    const exported = (name: string): boolean => {
      if (types.has(name)) return true;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return base !== name && (types.get(base) === 'histogram' || types.get(base) === 'summary');
    };
    const named = [...dashboardExprs().map((e) => ({ where: e.panel, expr: e.expr })), ...ruleExprs().map((r) => ({ where: r.alert, expr: r.expr }))];
    let count = 0;
    for (const { where, expr } of named) {
      for (const name of metricNames(expr)) {
        count++;
        // `up` is Prometheus's own, for every target.
        if (name !== 'up') assert.ok(exported(name), `${where}: ${name} is not exported by Sluice`);
      }
    }
    assert.ok(count > 40);
  });
});
