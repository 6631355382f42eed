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
