// GET /config: the running config for the master key only, every credential masked.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../core/config/load.ts';
import { ROOT, startGateway, type TestGateway } from './helpers.ts';

const MASTER = 'sk-master-0123456789';
const TEAM = 'sk-team-a-0123456789';
/** Every credential in the config below, under secret-named fields and elsewhere. */
const SECRETS = [MASTER, TEAM, 'sk-backend-key-42', 'hunter2-pass', 'backend-user', 'Bearer sk-header-secret', 'AKIA-SECRET-ACCESS-KEY', 'redis-pass-77', 'env-secret-value-9'];

describe('GET /config', () => {
  let gw: TestGateway;
  let open: TestGateway;

  before(async () => {
    gw = await startGateway(`
general_settings: { master_key: ${MASTER} }
environment_variables: { SOME_SETTING: env-secret-value-9 }
keys:
  - { key: ${TEAM}, alias: team-a, models: [small] }
plugins: [auth.api_key, route.round_robin]
model_list:
  - model_name: small
    litellm_params:
      model: openai/small
      api_base: http://backend-user:hunter2-pass@127.0.0.1:9/v1
      api_key: sk-backend-key-42
      extra_headers: { x-backend-auth: Bearer sk-header-secret }
      aws_secret_access_key: AKIA-SECRET-ACCESS-KEY
      rpm: 60
    model_info: { description: "the key is sk-backend-key-42", input_cost_per_token: 0.000001 }
router_settings: { routing_strategy: simple-shuffle, redis_password: redis-pass-77 }
`);
    open = await startGateway('plugins: [route.round_robin]\nmodel_list:\n  - { model_name: m, litellm_params: { model: mock/m } }\n');
  });
  after(async () => {
    await gw.close();
    await open.close();
  });

  const get = async (base: TestGateway, key: string | null): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${base.url}/config`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
    return { status: res.status, text: await res.text() };
  };

  test('the master key gets the config as loaded, with every credential masked and the rest as written', async () => {
    const { status, text } = await get(gw, MASTER);
    assert.equal(status, 200);
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    const body = JSON.parse(text) as { file: string; config: Record<string, Record<string, unknown>> };
    assert.match(body.file, /test-config\.yaml$/);
    const { config } = body;
    assert.equal(config['general_settings']!['master_key'], '********');
    assert.deepEqual(config['environment_variables'], { SOME_SETTING: '********' });
    assert.equal((config['keys'] as unknown as Record<string, unknown>[])[0]!['key'], '********');
    assert.equal((config['keys'] as unknown as Record<string, unknown>[])[0]!['alias'], 'team-a');
    assert.equal(config['router_settings']!['redis_password'], '********');
    assert.equal(config['router_settings']!['routing_strategy'], 'simple-shuffle');
    const entry = (config['model_list'] as unknown as { litellm_params: Record<string, unknown>; model_info: Record<string, unknown> }[])[0]!;
    assert.equal(entry.litellm_params['api_key'], '********');
    assert.equal(entry.litellm_params['api_base'], 'http://********@127.0.0.1:9/v1');
    assert.deepEqual(entry.litellm_params['extra_headers'], { 'x-backend-auth': '********' });
    assert.equal(entry.litellm_params['rpm'], 60);
    assert.equal(entry.model_info['description'], 'the key is ********', 'a backend key quoted in another field is masked too');
    assert.equal(entry.model_info['input_cost_per_token'], 0.000001);
    assert.deepEqual(config['plugins'], ['auth.api_key', 'route.round_robin']);
  });

  test('a virtual key, no key, and a gateway without key checking (no master key) are refused', async () => {
    assert.equal((await get(gw, TEAM)).status, 403);
    assert.equal((await get(gw, null)).status, 401);
    const unchecked = await get(open, null);
    assert.equal(unchecked.status, 403);
    assert.match(unchecked.text, /needs the master key/);
  });

  test('after a reload it shows the new config', async () => {
    const next = await gw.gateway.load(
      parseConfig(`general_settings: { master_key: ${MASTER} }\nplugins: [auth.api_key, route.round_robin]\nmodel_list:\n  - { model_name: other, litellm_params: { model: mock/o } }\n`, `${ROOT}/test-config.yaml`, {}),
    );
    const previous = gw.gateway.swap(next);
    await previous?.retire();
    const body = JSON.parse((await get(gw, MASTER)).text) as { config: { model_list: { model_name: string }[] } };
    assert.deepEqual(body.config.model_list.map((e) => e.model_name), ['other']);
  });
});
