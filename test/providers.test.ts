// Providers by LiteLLM prefix: catalogue defaults, api_base rules, Azure's URL and header, unsupported providers,
// dangling fallbacks, and wildcard model groups.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildModelGroups, type ModelListEntry } from '../core/config/models.ts';
import { resolveRouterSettings } from '../core/config/router-settings.ts';
import { chat, errorOf, json, memoryLogger, post, startGateway, type TestGateway } from './helpers.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';

const entry = (model_name: string, litellm_params: ModelListEntry['litellm_params']): ModelListEntry => ({ model_name, litellm_params });

test('each hosted provider gets its default api_base and its key from its environment variable', () => {
  const built = buildModelGroups(
    [
      entry('groq', { model: 'groq/llama-3.1-8b-instant' }),
      entry('gemini', { model: 'gemini/gemini-2.0-flash' }),
      entry('together', { model: 'together_ai/meta-llama/Llama-3-8b' }),
      entry('perplexity', { model: 'perplexity/sonar' }),
      entry('deepinfra', { model: 'deepinfra/meta-llama/Llama-3-8b' }),
      entry('cohere', { model: 'cohere/command-r' }),
      entry('cloudflare', { model: 'cloudflare/@cf/meta/llama-3-8b-instruct' }),
      entry('explicit', { model: 'groq/llama', api_key: 'sk-written-in-config' }),
    ],
    { GROQ_API_KEY: 'gsk-from-env', GEMINI_API_KEY: 'gem-key', TOGETHERAI_API_KEY: 'tog-key', CLOUDFLARE_ACCOUNT_ID: 'acct42' },
  );
  assert.deepEqual(built.errors, []);
  const only = (group: string) => built.groups.get(group)!.deployments[0]!;
  assert.equal(only('groq').apiBase, 'https://api.groq.com/openai/v1');
  assert.equal(only('groq').apiKey, 'gsk-from-env');
  assert.equal(only('groq').upstreamModel, 'llama-3.1-8b-instant');
  assert.equal(only('gemini').apiBase, 'https://generativelanguage.googleapis.com/v1beta/openai');
  assert.equal(only('gemini').apiKey, 'gem-key');
  assert.equal(only('together').apiBase, 'https://api.together.xyz/v1');
  assert.equal(only('together').upstreamModel, 'meta-llama/Llama-3-8b');
  assert.equal(only('together').apiKey, 'tog-key');
  // Perplexity answers at its root, not under /v1.
  assert.equal(only('perplexity').apiBase, 'https://api.perplexity.ai');
  assert.equal(only('perplexity').apiKey, null);
  assert.equal(only('deepinfra').apiBase, 'https://api.deepinfra.com/v1/openai');
  assert.equal(only('cohere').apiBase, 'https://api.cohere.ai/compatibility/v1');
  assert.equal(only('cloudflare').apiBase, 'https://api.cloudflare.com/client/v4/accounts/acct42/ai/v1');
  assert.equal(only('explicit').apiKey, 'sk-written-in-config');
  // A key read from the environment is masked in error bodies like one written in the config.
  assert.ok(only('groq').secrets.includes('gsk-from-env'));
});

test('cloudflare without an account id, and hosted_vllm without an api_base, are skipped with warnings naming what is missing', () => {
  const built = buildModelGroups([entry('cf', { model: 'cloudflare/@cf/x' }), entry('v', { model: 'hosted_vllm/q' }), entry('ok', { model: 'mock/m' })], {});
  assert.deepEqual(built.errors, [], 'the rest of the config still loads');
  assert.deepEqual([...built.groups.keys()], ['ok']);
  assert.ok(built.warnings.some((w) => /cf.*CLOUDFLARE_ACCOUNT_ID.*skipped/.test(w)), built.warnings.join('\n'));
  assert.ok(built.warnings.some((w) => /no api_base.*HOSTED_VLLM_API_BASE.*skipped/.test(w)), built.warnings.join('\n'));
  const fromEnv = buildModelGroups([entry('v', { model: 'hosted_vllm/q' })], { HOSTED_VLLM_API_BASE: 'http://10.0.0.5:8000/v1' });
  assert.equal(fromEnv.groups.get('v')!.deployments[0]!.apiBase, 'http://10.0.0.5:8000/v1');
});

test('api_base: self-hosted servers get /v1 on a bare origin; any path, and hosted providers, are used as given', () => {
  const built = buildModelGroups([
    entry('a', { model: 'hosted_vllm/q', api_base: 'http://h:8000' }),
    entry('b', { model: 'hosted_vllm/q', api_base: 'http://h:8000/v1/' }),
    entry('c', { model: 'openai/m', api_base: 'https://gw.example/v1beta/openai' }),
    entry('d', { model: 'ollama_chat/llama3', api_base: 'http://h:11434' }),
    entry('e', { model: 'perplexity/sonar', api_base: 'https://proxy.example' }),
    entry('f', { model: 'openai/m', api_base: 'https://gw.example/api' }),
  ]);
  const base = (g: string) => built.groups.get(g)!.deployments[0]!.basePath;
  assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f'].map(base), ['/v1', '/v1', '/v1beta/openai', '/v1', '', '/api']);
});

test('custom_llm_provider: openai sends the model whole to an OpenAI-compatible server', () => {
  const built = buildModelGroups([entry('m', { model: 'meta-llama/Llama-3-8B', custom_llm_provider: 'openai', api_base: 'http://h:8000/v1' })]);
  assert.deepEqual(built.warnings, []);
  const d = built.groups.get('m')!.deployments[0]!;
  assert.equal(d.provider, 'openai');
  assert.equal(d.upstreamModel, 'meta-llama/Llama-3-8B');
});

test('an unsupported provider warns once however many deployments use it, and they are skipped', () => {
  const built = buildModelGroups([
    entry('claude-a', { model: 'bedrock/anthropic.claude-3' }),
    entry('claude-b', { model: 'bedrock/anthropic.claude-3-haiku' }),
    entry('claude-a', { model: 'bedrock/anthropic.claude-3-sonnet' }),
    entry('palm', { model: 'vertex_ai/gemini-pro' }),
    entry('odd', { model: 'someprovider/x' }),
    entry('ok', { model: 'mock/m' }),
  ]);
  assert.deepEqual(built.errors, []);
  assert.deepEqual([...built.groups.keys()], ['ok']);
  assert.equal(built.warnings.length, 3);
  assert.equal(built.warnings.filter((w) => w.includes('"bedrock/"')).length, 1);
  assert.match(built.warnings[0]!, /"claude-a", "claude-b"/);
  assert.ok(built.warnings.some((w) => w.includes('"vertex_ai/"')));
  assert.ok(built.warnings.some((w) => w.includes('"someprovider/"')));
});

test('a fallback naming a group with no deployment is dropped with a warning, never a load error', () => {
  const resolved = resolveRouterSettings(
    { fallbacks: [{ main: ['claude', 'backup'] }, { claude: ['main'] }], context_window_fallbacks: [{ main: ['gone'] }] },
    null,
    new Set(['main', 'backup']),
  );
  assert.deepEqual(resolved.errors, []);
  assert.deepEqual([...resolved.settings.fallbacks], [['main', ['backup']]]);
  assert.equal(resolved.settings.contextWindowFallbacks.size, 0);
  assert.equal(resolved.warnings.length, 3);
  assert.ok(resolved.warnings.some((w) => /fallbacks\[0\]\.main: model group "claude" has no deployment/.test(w)));
  assert.ok(resolved.warnings.some((w) => /fallbacks\[1\]: model group "claude" has no deployment/.test(w)));
});

test('a config whose fallback names a skipped provider starts, warning once each', async () => {
  const sim = await startOpenAISim();
  const { logger, lines } = memoryLogger();
  const gw = await startGateway(
    `model_list:
  - model_name: main
    litellm_params: { model: openai/m, api_base: "${sim.url}" }
  - model_name: claude
    litellm_params: { model: bedrock/anthropic.claude-3 }
  - model_name: claude
    litellm_params: { model: bedrock/anthropic.claude-3-haiku }
router_settings:
  fallbacks: [{ main: [claude] }]
`,
    { logger },
  );
  try {
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('main'))).status, 200);
    assert.equal(lines.filter((l) => l.includes('bedrock')).length, 1);
    assert.equal(lines.filter((l) => l.includes('has no deployment')).length, 1);
  } finally {
    await gw.close();
    await sim.close();
  }
});

test('an OpenAI-compatible provider whose path is not /v1 gets the request at its path with its key', async () => {
  const sim = await startOpenAISim({ basePath: '/v1beta/openai' });
  const gw = await startGateway(`model_list:
  - model_name: flash
    litellm_params: { model: gemini/gemini-2.0-flash, api_base: "${sim.url}/v1beta/openai", api_key: gem-key-123 }
`);
  try {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('flash'));
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(sim.stats.lastRequest!.path, '/v1beta/openai/chat/completions');
    assert.equal(sim.stats.lastRequest!.headers.authorization, 'Bearer gem-key-123');
    assert.equal(JSON.parse(sim.stats.lastRequest!.body).model, 'gemini-2.0-flash');
  } finally {
    await gw.close();
    await sim.close();
  }
});

test('a provider key read from the environment is sent as its bearer token', async () => {
  const sim = await startOpenAISim();
  const { parseConfig } = await import('../core/config/load.ts');
  const config = parseConfig(
    `model_list:\n  - model_name: fast\n    litellm_params: { model: groq/llama3, api_base: "${sim.url}/v1" }\n`,
    '/tmp/providers.yaml',
    { GROQ_API_KEY: 'gsk-env-key' },
  );
  const built = buildModelGroups(config.modelList, config.env);
  assert.equal(built.groups.get('fast')!.deployments[0]!.apiKey, 'gsk-env-key');
  await sim.close();
});

test('azure/: the deployment URL, api-version and the api-key header', async () => {
  const sim = await startOpenAISim({ azure: true });
  const gw = await startGateway(`model_list:
  - model_name: gpt4o
    litellm_params: { model: azure/my-gpt4o, api_base: "${sim.url}/", api_key: az-key-123, api_version: "2024-10-21" }
  - model_name: gpt4o-default-version
    litellm_params: { model: azure/other, api_base: "${sim.url}", api_key: az-key-123 }
`);
  try {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('gpt4o'));
    assert.equal(res.status, 200, res.body.toString());
    const seen = sim.stats.lastRequest!;
    assert.equal(seen.path, '/openai/deployments/my-gpt4o/chat/completions');
    assert.equal(seen.query, 'api-version=2024-10-21');
    assert.equal(seen.headers['api-key'], 'az-key-123');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(json(res)['model'], 'my-gpt4o');
    const streamed = await post(`${gw.url}/v1/chat/completions`, chat('gpt4o-default-version', { stream: true }));
    assert.equal(streamed.status, 200);
    assert.equal(sim.stats.lastRequest!.path, '/openai/deployments/other/chat/completions');
    assert.match(sim.stats.lastRequest!.query, /^api-version=\d{4}-\d{2}-\d{2}/);
  } finally {
    await gw.close();
    await sim.close();
  }
});

describe('wildcard model groups', () => {
  let simA: Sim;
  let simB: Sim;
  let gw: TestGateway;
  before(async () => {
    simA = await startOpenAISim();
    simB = await startOpenAISim();
    gw = await startGateway(`model_list:
  - model_name: explicit
    litellm_params: { model: openai/explicit-upstream, api_base: "${simA.url}" }
  - model_name: "*"
    litellm_params: { model: "openai/*", api_base: "${simB.url}", api_key: sk-wild }
  - model_name: "groq/*"
    litellm_params: { model: "groq/*", api_base: "${simA.url}/v1", api_key: gsk-wild }
keys:
  - key: sk-all-models
  - key: sk-limited-models
    models: [explicit]
`);
  });
  after(async () => {
    await gw.close();
    await simA.close();
    await simB.close();
  });

  const auth = (key: string) => ({ authorization: `Bearer ${key}` });

  test('wildcard: an explicit group wins over "*"', async () => {
    const before = simB.stats.requests;
    const res = await post(`${gw.url}/v1/chat/completions`, chat('explicit'), auth('sk-all-models'));
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(JSON.parse(simA.stats.lastRequest!.body).model, 'explicit-upstream');
    assert.equal(simB.stats.requests, before);
  });

  test('wildcard: a model no group has goes to the "*" provider under the requested name', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('gpt-4.1-mini'), auth('sk-all-models'));
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(JSON.parse(simB.stats.lastRequest!.body).model, 'gpt-4.1-mini');
    assert.equal(simB.stats.lastRequest!.headers.authorization, 'Bearer sk-wild');
    assert.equal(json(res)['model'], 'gpt-4.1-mini');
  });

  test('wildcard: "groq/*" is more specific than "*" and sends the part the star matched', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('groq/llama-3.1-8b'), auth('sk-all-models'));
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(JSON.parse(simA.stats.lastRequest!.body).model, 'llama-3.1-8b');
    assert.equal(simA.stats.lastRequest!.headers.authorization, 'Bearer gsk-wild');
  });

  test('wildcard: a key limited to some models cannot reach others through it', async () => {
    const before = simB.stats.requests;
    const res = await post(`${gw.url}/v1/chat/completions`, chat('gpt-4.1-mini'), auth('sk-limited-models'));
    assert.notEqual(res.status, 200);
    assert.equal(errorOf(res).param, 'model');
    assert.equal(simB.stats.requests, before);
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('explicit'), auth('sk-limited-models'))).status, 200);
  });

  test('wildcard: /v1/models/{id} finds a name only a pattern serves; an unmatched one stays 404', async () => {
    const found = await fetch(`${gw.url}/v1/models/groq%2Fllama-3.1-8b`, { headers: auth('sk-all-models') });
    assert.equal(found.status, 200);
    assert.equal(((await found.json()) as { id: string }).id, 'groq/llama-3.1-8b');
    assert.equal((await fetch(`${gw.url}/v1/models/groq%2Fx`, { headers: auth('sk-limited-models') })).status, 404, 'not for a key limited to other models');
  });

  test('wildcard: a fallback may name a model only a pattern serves', async () => {
    const fallback = await startGateway(`router_settings:
  num_retries: 0
  fallbacks: [{ down: [groq/llama-3.1-8b] }]
model_list:
  - model_name: down
    litellm_params: { model: openai/m, api_base: "http://127.0.0.1:1" }
  - model_name: "groq/*"
    litellm_params: { model: "groq/*", api_base: "${simA.url}/v1", api_key: gsk-wild }
`);
    try {
      const res = await post(`${fallback.url}/v1/chat/completions`, chat('down'));
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.headers['x-litellm-attempted-fallbacks'], '1');
      assert.equal(JSON.parse(simA.stats.lastRequest!.body).model, 'llama-3.1-8b');
    } finally {
      await fallback.close();
    }
  });

  test('wildcard: /v1/models lists the explicit groups, not the patterns', async () => {
    const res = await fetch(`${gw.url}/v1/models`, { headers: auth('sk-all-models') });
    const ids = ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
    assert.deepEqual(ids, ['explicit']);
  });
});
