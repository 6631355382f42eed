// Config loading: LiteLLM configs load unchanged, Sluice's sections are strict, every error is reported at once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig, parseSize } from '../core/config/load.ts';
import { buildModelGroups } from '../core/config/models.ts';
import { resolveRouterSettings } from '../core/config/router-settings.ts';

function errorsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, '/tmp/x.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.errors];
    throw error;
  }
  assert.fail('expected a ConfigError');
}

const LITELLM_CONFIG = `
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      rpm: 100
      tpm: 100000
      timeout: 30
      stream_timeout: 10
      max_parallel_requests: 8
      drop_params: true
    model_info:
      id: gpt4o-primary
      max_input_tokens: 128000
      mode: chat
  - model_name: llama3
    litellm_params:
      model: ollama_chat/llama3
      api_base: "http://\${OLLAMA_HOST}:11434"
      weight: 2
  - model_name: vllm-qwen
    litellm_params:
      model: hosted_vllm/Qwen/Qwen2.5-7B-Instruct
      api_base: http://10.0.0.5:8000/v1
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet
      api_key: os.environ/ANTHROPIC_API_KEY
router_settings:
  routing_strategy: usage-based-routing-v2
  num_retries: 2
litellm_settings:
  drop_params: true
  success_callback: ["prometheus"]
general_settings:
  master_key: sk-1234
  database_url: postgresql://litellm@db/litellm
environment_variables:
  OLLAMA_HOST: 127.0.0.1
`;

test('a LiteLLM config.yaml loads unchanged, with a warning for each part not acted on', () => {
  const config = parseConfig(LITELLM_CONFIG, '/tmp/litellm.yaml', { OPENAI_API_KEY: 'sk-test' });
  assert.equal(config.modelList.length, 4);
  assert.equal(config.modelList[0]!.litellm_params.api_key, 'sk-test');
  // environment_variables feed ${NAME} like they feed LiteLLM's os.environ.
  assert.equal(config.modelList[1]!.litellm_params.api_base, 'http://127.0.0.1:11434');
  // master_key is acted on (auth.api_key); database_url is not.
  assert.deepEqual(config.warnings.filter((w) => w.startsWith('general_settings')), ['general_settings.database_url: not acted on yet; ignored']);
  assert.deepEqual(config.routerSettings, { routing_strategy: 'usage-based-routing-v2', num_retries: 2 });
  const routing = resolveRouterSettings(config.routerSettings, config.litellmSettings, new Set(['gpt-4o']));
  assert.deepEqual(routing.errors, []);
  assert.equal(routing.settings.retries.timeout, 2);
  // success_callback is the module set's (prometheus switches the metrics plugin on), not the router's.
  assert.deepEqual(routing.warnings, []);
  assert.equal(routing.settings.dropParams, true);
  assert.ok(config.warnings.some((w) => /ANTHROPIC_API_KEY is not set/.test(w)));

  const built = buildModelGroups(config.modelList);
  assert.deepEqual(built.errors, []);
  assert.deepEqual([...built.groups.keys()], ['gpt-4o', 'llama3', 'vllm-qwen', 'claude']);
  assert.equal(built.groups.get('claude')!.deployments[0]!.kind, 'anthropic', 'anthropic/ is served through Messages');
  const vllm = built.groups.get('vllm-qwen')!.deployments[0]!;
  assert.equal(vllm.upstreamModel, 'Qwen/Qwen2.5-7B-Instruct');
  assert.equal(vllm.basePath, '/v1');
  assert.equal(vllm.origin, 'http://10.0.0.5:8000');
  const gpt = built.groups.get('gpt-4o')!.deployments[0]!;
  assert.equal(gpt.id, 'gpt4o-primary');
  assert.equal(gpt.timeoutMs, 30_000);
  assert.equal(gpt.streamTimeoutMs, 10_000);
  assert.equal(gpt.publicParams['api_key'], undefined, 'api_key never shows in /model/info');
  const llama = built.groups.get('llama3')!.deployments[0]!;
  assert.equal(llama.weight, 2);
  assert.equal(llama.basePath, '/v1');
});

test('every schema error is reported at once with its path and line', () => {
  const errors = errorsOf(`server:
  port: 99999
  timeout: 5
  timeouts:
    upstream_total: -1
plugins:
  - { name: route.round_robin, option: {} }
model_list:
  - model_name: a
  - litellm_params: { model: openai/x, rpm: many }
`);
  const text = errors.join('\n');
  assert.match(text, /line 2: server\.port: must be <= 65535/);
  assert.match(text, /line 3: server: unknown key "timeout"/);
  assert.match(text, /line 5: server\.timeouts\.upstream_total: must be >= 0/);
  assert.match(text, /plugins\[0\]: unknown key "option"/);
  assert.match(text, /model_list\[0\]: missing required key "litellm_params"/);
  assert.match(text, /model_list\[1\]: missing required key "model_name"/);
  assert.match(text, /line 10: model_list\[1\]\.litellm_params\.rpm: must be integer/);
});

test('YAML syntax errors name the line', () => {
  const errors = errorsOf('server:\n  port: 4000\n   host: x\n');
  assert.match(errors[0]!, /^line \d+: YAML syntax/);
});

test('os.environ/NAME and ${NAME} read the environment; numbers coerce where the schema wants them', () => {
  const config = parseConfig('server:\n  port: os.environ/PORT\n  host: "${HOST}"\n', '/tmp/x.yaml', { PORT: '8080', HOST: '127.0.0.2' });
  assert.equal(config.server.port, 8080);
  assert.equal(config.server.host, '127.0.0.2');
});

test('defaults: port 4000, 10 MiB body limit, default chain when plugins is absent', () => {
  const config = parseConfig('model_list: []\n', '/tmp/x.yaml', {});
  assert.equal(config.server.port, 4000);
  assert.equal(config.server.bodyLimit, 10 * 1024 * 1024);
  assert.equal(config.plugins, null);
});

test('sizes parse with binary units', () => {
  assert.equal(parseSize('512kb'), 512 * 1024);
  assert.equal(parseSize('1.5m'), 1.5 * 1024 * 1024);
  assert.equal(parseSize(100), 100);
});

test('model list problems: missing api_base, bad URL, duplicate ids', () => {
  const built = buildModelGroups([
    { model_name: 'a', litellm_params: { model: 'hosted_vllm/x' } },
    { model_name: 'b', litellm_params: { model: 'openai/x', api_base: 'not a url' } },
    { model_name: 'c', litellm_params: { model: 'mock/x' }, model_info: { id: 'dup' } },
    { model_name: 'd', litellm_params: { model: 'mock/y' }, model_info: { id: 'dup' } },
  ]);
  assert.equal(built.errors.length, 2);
  assert.ok(built.warnings.some((w) => /model_list\[0\].*no api_base.*skipped/.test(w)), 'a missing api_base skips the deployment');
  assert.match(built.errors[0]!, /model_list\[1\].*not a URL/);
  assert.match(built.errors[1]!, /model_list\[3\].*"dup" is duplicate/);
});

test('redis: and keys: are checked at load with messages that name the problem', () => {
  const errors = errorsOf(`redis: { url: "redis://x", host: h, fail_mode: maybe }
keys:
  - { key: short }
  - { alias: no-key }
  - { key: sk-long-enough-1, rpm: 0, colour: red }
`).join('\n');
  assert.match(errors, /redis: use at most one of url, host and cluster/);
  assert.match(errors, /redis\.fail_mode: must be one of "fail_open", "fail_closed"/);
  assert.match(errors, /keys\[0\]\.key: must NOT have fewer than 8 characters/);
  assert.match(errors, /keys\[1\]: missing required key "key"/);
  assert.match(errors, /keys\[2\]\.rpm: must be >= 1/);
  assert.match(errors, /keys\[2\]: unknown key "colour"/);
});

test('fail closed: a secret that guards access and resolves to nothing refuses the config, naming the variable', () => {
  const yaml = `general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
keys:
  - key: "\${TEAM_KEY}"
redis:
  url: "redis://:\${REDIS_PASSWORD}@cache:6379"
  password: os.environ/REDIS_PASSWORD
plugins:
  - { name: auth.api_key, options: { master_key: os.environ/PLUGIN_MASTER_KEY } }
model_list: []
`;
  const errors = errorsOf(yaml, { REDIS_PASSWORD: '' });
  assert.equal(errors.length, 5, errors.join('\n'));
  assert.match(errors[0]!, /^line 2: general_settings\.master_key: environment variable LITELLM_MASTER_KEY is not set; refusing to start/);
  assert.match(errors[1]!, /^line 4: keys\[0\]\.key: environment variable TEAM_KEY is not set/);
  assert.match(errors[2]!, /^line 6: redis\.url: environment variable REDIS_PASSWORD is empty/);
  assert.match(errors[3]!, /^line 7: redis\.password: environment variable REDIS_PASSWORD is empty/);
  assert.match(errors[4]!, /^line 9: plugins\[0\]\.options\.master_key: environment variable PLUGIN_MASTER_KEY is not set/);
  // Set, they load; other unset variables (an upstream api_key) still only warn.
  const config = parseConfig(yaml, '/tmp/x.yaml', {
    LITELLM_MASTER_KEY: 'sk-master-1234', TEAM_KEY: 'sk-team-12345', REDIS_PASSWORD: 'pw', PLUGIN_MASTER_KEY: 'sk-plugin-1234',
  });
  assert.equal((config.generalSettings as { master_key: string }).master_key, 'sk-master-1234');
  assert.deepEqual(config.warnings, []);
  const upstream = parseConfig('model_list:\n  - model_name: m\n    litellm_params: { model: openai/m, api_key: os.environ/OPENAI_API_KEY }\n', '/tmp/x.yaml', {});
  assert.deepEqual(upstream.warnings, ['model_list[0].litellm_params.api_key: environment variable OPENAI_API_KEY is not set']);
});

test('fallbacks under litellm_settings act; messages name the section the key is in', () => {
  const groups = new Set(['a', 'b']);
  const underLitellm = resolveRouterSettings(null, { fallbacks: [{ a: ['b'] }], context_window_fallbacks: [{ a: ['b'] }] }, groups);
  assert.deepEqual(underLitellm.errors, []);
  assert.deepEqual(underLitellm.warnings, []);
  assert.deepEqual(underLitellm.settings.fallbacks.get('a'), ['b']);
  assert.deepEqual(underLitellm.settings.contextWindowFallbacks.get('a'), ['b']);
  const bad = resolveRouterSettings({ num_retries: -1 }, { fallbacks: 'b', content_policy_fallbacks: [{ a: [1] }], cooldown_time: -1 }, groups);
  assert.deepEqual(bad.errors, [
    'router_settings.num_retries: must be a number >= 0',
    'litellm_settings.cooldown_time: must be a number >= 0',
    'litellm_settings.fallbacks: must be a list like [{model-a: [model-b]}]',
    'litellm_settings.content_policy_fallbacks[0].a: must be a list of model group names',
  ]);
});

test('a fallback naming a group with no deployment is dropped with a warning, never a load error', () => {
  const resolved = resolveRouterSettings({ fallbacks: [{ a: ['claude', 'b'] }, { claude: ['a'] }, { a2: ['gone'] }] }, null, new Set(['a', 'b', 'a2']));
  assert.deepEqual(resolved.errors, []);
  assert.deepEqual([...resolved.settings.fallbacks], [['a', ['b']]]);
  assert.deepEqual(resolved.warnings, [
    'router_settings.fallbacks[0].a: model group "claude" has no deployment; dropped from the fallbacks',
    'router_settings.fallbacks[1]: model group "claude" has no deployment; its fallbacks are dropped',
    'router_settings.fallbacks[2].a2: model group "gone" has no deployment; dropped from the fallbacks',
  ]);
});

test('retry classes Sluice does not know warn and are ignored; known ones still act', () => {
  const resolved = resolveRouterSettings(
    { retry_policy: { ServiceUnavailableErrorRetries: 3, TimeoutErrorRetries: 4 } },
    { allowed_fails_policy: { BudgetExceededErrorAllowedFails: 1 } },
    null,
  );
  assert.deepEqual(resolved.errors, []);
  assert.equal(resolved.settings.retries.timeout, 4);
  assert.equal(resolved.warnings.length, 2);
  assert.match(resolved.warnings[0]!, /^router_settings\.retry_policy\.ServiceUnavailableErrorRetries: an error class Sluice does not know; ignored/);
  assert.match(resolved.warnings[1]!, /^litellm_settings\.allowed_fails_policy\.BudgetExceededErrorAllowedFails: an error class Sluice does not know/);
});

test('timeout / stream_timeout / request_timeout in router_settings or litellm_settings are the deployments\' defaults', () => {
  assert.equal(resolveRouterSettings({ timeout: 30 }, { timeout: 60, request_timeout: 90 }, null).settings.timeoutMs, 30_000);
  assert.equal(resolveRouterSettings(null, { request_timeout: 90 }, null).settings.timeoutMs, 90_000);
  assert.equal(resolveRouterSettings(null, { stream_timeout: 1.5 }, null).settings.streamTimeoutMs, 1500);
  const none = resolveRouterSettings(null, null, null).settings;
  assert.deepEqual([none.timeoutMs, none.streamTimeoutMs], [null, null]);
  assert.deepEqual(resolveRouterSettings(null, { request_timeout: 0 }, null).errors, ['litellm_settings.request_timeout: must be a number of seconds > 0']);
});

test('callbacks: [llmguard_moderations] becomes the llm_guard section: the server at LLM_GUARD_API_BASE, else built-in guards with a warning', () => {
  const yaml = 'litellm_settings:\n  callbacks: [llmguard_moderations, prometheus]\n';
  const remote = parseConfig(yaml, '/tmp/x.yaml', { LLM_GUARD_API_BASE: 'http://llm-guard:8192' });
  assert.deepEqual(remote.sections['llm_guard'], { api_base: 'http://llm-guard:8192', output_scanning: { enabled: false } });
  assert.deepEqual(remote.warnings, []);
  // The router leaves callbacks to the module set: prometheus is the metrics plugin (plugins/metrics/settings.ts).
  assert.deepEqual(resolveRouterSettings(null, remote.litellmSettings, null).warnings, []);

  const local = parseConfig(yaml, '/tmp/x.yaml', {});
  assert.deepEqual(local.sections['llm_guard'], { input_scanning: { scanners: ['PromptInjection', 'Toxicity', 'Secrets'] } });
  assert.equal(local.warnings.length, 1);
  assert.match(local.warnings[0]!, /llmguard_moderations without LLM_GUARD_API_BASE .*PromptInjection, Toxicity, Secrets run instead/);

  // A section of its own is kept; the server is added when it names none.
  const own = parseConfig(`${yaml}llm_guard:\n  input_scanning: { scanners: [Secrets] }\n`, '/tmp/x.yaml', { LLM_GUARD_API_BASE: 'http://llm-guard:8192' });
  assert.deepEqual(own.sections['llm_guard'], { input_scanning: { scanners: ['Secrets'] }, api_base: 'http://llm-guard:8192' });
  assert.deepEqual(parseConfig('litellm_settings: { callbacks: [prometheus] }\n', '/tmp/x.yaml', {}).sections['llm_guard'], undefined);
});

test('duplicate YAML keys: the last one wins with a warning naming both lines, as LiteLLM\'s parser does', () => {
  const config = parseConfig(
    'server:\n  port: 4001\nmodel_list:\n  - model_name: a\n    litellm_params: { model: mock/a, model: mock/b }\nserver:\n  port: 4002\n',
    '/tmp/x.yaml',
    {},
  );
  assert.equal(config.server.port, 4002);
  assert.equal(config.modelList[0]!.litellm_params.model, 'mock/b');
  assert.deepEqual(config.warnings, [
    'line 6: duplicate key "server" (first on line 1); the last one wins, as in LiteLLM',
    'line 5: duplicate key "model" (first on line 5); the last one wins, as in LiteLLM',
  ]);
});
