// LiteLLM keys that act rather than warn: model_group_alias, health-check intervals, load balancing, callbacks.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chat, closedAfterFile, post } from './helpers.ts';
import { parseConfig } from '../core/config/load.ts';
import { resolveRouterSettings } from '../core/config/router-settings.ts';

const { sim, gateway } = closedAfterFile();

test('model_group_alias: an alias is served by its group; hidden aliases are not listed; one naming no group is dropped with a warning', async () => {
  const backend = await sim();
  const other = await sim();
  const gw = await gateway(`
plugins: [route.round_robin]
router_settings:
  model_group_alias:
    gpt-4: llama
    internal: { model: llama, hidden: true }
    ghost: no-such-group
model_list:
  - model_name: llama
    litellm_params: { model: openai/llama-3, api_base: "${backend.url}/v1" }
  - model_name: other
    litellm_params: { model: openai/other, api_base: "${other.url}/v1" }
`);
  for (const model of ['gpt-4', 'internal']) {
    const res = await post(`${gw.url}/v1/chat/completions`, chat(model));
    assert.equal(res.status, 200, res.body.toString());
    assert.equal((JSON.parse(backend.stats.lastRequest!.body) as { model: string }).model, 'llama-3');
  }
  assert.equal(backend.stats.requests, 2);
  assert.equal(other.stats.requests, 0);
  assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('ghost'))).status, 404);

  const listed = (await (await fetch(`${gw.url}/v1/models`)).json()) as { data: { id: string }[] };
  assert.deepEqual(listed.data.map((m) => m.id), ['llama', 'other', 'gpt-4']);
  assert.equal((await fetch(`${gw.url}/v1/models/gpt-4`)).status, 200);

  const resolved = resolveRouterSettings(
    { model_group_alias: { a: 'llama', b: { model: 'gone' }, c: { model: 'llama', hidden: 'yes' } } },
    null,
    new Set(['llama']),
  );
  assert.deepEqual([...resolved.settings.aliases.keys()], ['a']);
  assert.deepEqual(resolved.warnings, ['router_settings.model_group_alias.b: model group "gone" has no deployment; alias dropped']);
  assert.deepEqual(resolved.errors, ['router_settings.model_group_alias.c: must be a model group name, or {model: model-group, hidden: true|false}']);
  assert.ok(parseConfig('router_settings: { model_group_alias: { x: y } }\n', '/tmp/x.yaml', {}));
});

test('litellm_params defaults (temperature, max_tokens, stop, extra_body, extra_headers) are merged into requests; the request\'s values win', async () => {
  const tuned = await sim();
  const plain = await sim();
  const gw = await gateway(`
plugins: [route.round_robin]
model_list:
  - model_name: tuned
    litellm_params:
      model: openai/m
      api_base: "${tuned.url}/v1"
      api_key: sk-deployment-key
      temperature: 0.2
      max_tokens: 64
      stop: ["###"]
      extra_body: { top_k: 20, temperature: 0.9 }
      extra_headers: { X-Tenant: acme, X-Client: deployment }
  - model_name: plain
    litellm_params: { model: openai/m, api_base: "${plain.url}/v1" }
`);
  const sent = (s: typeof tuned): Record<string, unknown> => JSON.parse(s.stats.lastRequest!.body) as Record<string, unknown>;
  const res = await post(`${gw.url}/v1/chat/completions`, JSON.stringify({ model: 'tuned', messages: [{ role: 'user', content: 'hi' }], temperature: 1 }), { 'x-client': 'caller' });
  assert.equal(res.status, 200);
  const body = sent(tuned);
  assert.deepEqual(
    { temperature: body['temperature'], max_tokens: body['max_tokens'], stop: body['stop'], top_k: body['top_k'], model: body['model'] },
    { temperature: 1, max_tokens: 64, stop: ['###'], top_k: 20, model: 'm' },
  );
  const headers = tuned.stats.lastRequest!.headers;
  assert.equal(headers['x-tenant'], 'acme');
  assert.equal(headers['x-client'], 'deployment');
  assert.equal(headers['authorization'], 'Bearer sk-deployment-key');

  // Without the request's temperature, litellm_params' wins over extra_body's.
  await post(`${gw.url}/v1/chat/completions`, JSON.stringify({ model: 'tuned', messages: [{ role: 'user', content: 'hi' }] }));
  assert.equal(sent(tuned)['temperature'], 0.2);

  // Embeddings get extra_body as written, never litellm_params' sampling parameters.
  assert.equal((await post(`${gw.url}/v1/embeddings`, JSON.stringify({ model: 'tuned', input: 'hi' }))).status, 200);
  assert.deepEqual(sent(tuned), { model: 'm', input: 'hi', top_k: 20, temperature: 0.9 });

  // A deployment without defaults gets the client's bytes.
  const raw = '{"model":"plain",  "messages":[{"role":"user","content":"hi"}]}';
  assert.equal((await post(`${gw.url}/v1/chat/completions`, raw)).status, 200);
  assert.equal(plain.stats.lastRequest!.body, raw.replace('"plain"', '"m"'));
});

test('drop_params: parameters the provider refuses are dropped (litellm_settings, or the deployment\'s own); additional_drop_params always', async () => {
  const ollama = await sim();
  const kept = await sim();
  const openai = await sim();
  const gw = await gateway(`
plugins: [route.round_robin]
litellm_settings: { drop_params: true }
model_list:
  - model_name: local
    litellm_params: { model: ollama_chat/llama3, api_base: "${ollama.url}" }
  - model_name: local-strict
    litellm_params: { model: ollama_chat/llama3, api_base: "${kept.url}", drop_params: false }
  - model_name: cloud
    litellm_params: { model: openai/gpt, api_base: "${openai.url}/v1", additional_drop_params: [user] }
`);
  const request = (model: string): string =>
    JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], temperature: 0.5, logit_bias: { '50256': -100 }, n: 1, user: 'u1' });
  const sent = (s: typeof ollama): Record<string, unknown> => JSON.parse(s.stats.lastRequest!.body) as Record<string, unknown>;
  for (const model of ['local', 'local-strict', 'cloud']) assert.equal((await post(`${gw.url}/v1/chat/completions`, request(model))).status, 200);
  assert.deepEqual(Object.keys(sent(ollama)).sort(), ['messages', 'model', 'temperature', 'user']);
  assert.deepEqual(Object.keys(sent(kept)).sort(), ['logit_bias', 'messages', 'model', 'n', 'temperature', 'user']);
  assert.deepEqual(Object.keys(sent(openai)).sort(), ['logit_bias', 'messages', 'model', 'n', 'temperature']);
});
