// What the gateway's own GET routes show: /model/info without backend credentials, deployment ids that say nothing
// about a backend key, and /health's backend details for the master key only.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildModelGroups, type ModelListEntry } from '../core/config/models.ts';
import { startGateway, type TestGateway } from './helpers.ts';

const MASTER = 'sk-master-0123456789';
const TEAM = 'sk-team-a-0123456789';
const SECRETS = ['sk-backend-key-42', 'hunter2-pass', 'backend-user', 'Bearer sk-header-secret', 'AKIA-SECRET-ACCESS-KEY', 'tok-session-9'];

describe('/model/info and /health exposure', () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startGateway(`
general_settings: { master_key: ${MASTER} }
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
      aws_session_token: tok-session-9
      rpm: 60
    model_info: { max_input_tokens: 4096, input_cost_per_token: 0.000001 }
  - model_name: large
    litellm_params: { model: openai/large, api_base: http://127.0.0.2:9 }
`);
  });
  after(() => gw.close());

  const get = async (path: string, key: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, text: await res.text() };
  };

  test('/model/info shows no credential, masks secret fields and keeps the rest', async () => {
    for (const key of [TEAM, MASTER]) {
      const { status, text } = await get('/model/info', key);
      assert.equal(status, 200);
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} leaked to ${key === MASTER ? 'master' : 'team'}: ${text}`);
    }
    const info = JSON.parse((await get('/model/info', TEAM)).text) as { data: { model_name: string; litellm_params: Record<string, unknown>; model_info: Record<string, unknown> }[] };
    assert.deepEqual(info.data.map((d) => d.model_name), ['small'], 'a limited key sees its own groups only');
    const params = info.data[0]!.litellm_params;
    assert.equal(params['api_key'], undefined);
    assert.equal(params['api_base'], 'http://********@127.0.0.1:9/v1');
    assert.deepEqual(params['extra_headers'], { 'x-backend-auth': '********' });
    assert.equal(params['aws_secret_access_key'], '********');
    assert.equal(params['aws_session_token'], '********');
    assert.equal(params['model'], 'openai/small');
    assert.equal(params['rpm'], 60);
    assert.equal(info.data[0]!.model_info['input_cost_per_token'], 0.000001, 'a price is not a secret');
    assert.equal(info.data[0]!.model_info['max_input_tokens'], 4096);
  });

  test('/health: the master key sees every backend with its address; a limited key its groups, no addresses', async () => {
    const small = gw.gateway.generation.groups.get('small')!.deployments[0]!;
    gw.gateway.state.coolDown(small.id, Date.now() + 60_000, 'upstream answered 503 (deployment at http://127.0.0.1:9/v1)', Date.now());
    type Report = { healthy_endpoints: Record<string, unknown>[]; unhealthy_endpoints: Record<string, unknown>[] };
    const master = JSON.parse((await get('/health', MASTER)).text) as Report;
    assert.deepEqual(master.healthy_endpoints.map((e) => [e['model_name'], e['api_base']]), [['large', 'http://127.0.0.2:9/v1']]);
    assert.deepEqual(master.unhealthy_endpoints.map((e) => [e['model_name'], e['api_base'], e['reason']]), [['small', 'http://127.0.0.1:9/v1', 'cooldown']]);
    assert.match(String(master.unhealthy_endpoints[0]!['error']), /127\.0\.0\.1:9/);

    const team = await get('/health', TEAM);
    assert.equal(team.status, 200);
    const limited = JSON.parse(team.text) as Report;
    assert.deepEqual(limited.healthy_endpoints, [], 'the group the key may not use is not listed');
    assert.deepEqual(limited.unhealthy_endpoints.map((e) => [e['model_name'], e['model_id'], e['reason']]), [['small', small.id, 'cooldown']]);
    assert.ok(!team.text.includes('127.0.0'), `no backend address for a limited key: ${team.text}`);
    assert.equal(limited.unhealthy_endpoints[0]!['error'], undefined);
  });
});

describe('default deployment ids', () => {
  const entry = (apiKey: string, extra: Record<string, unknown> = {}): ModelListEntry => ({
    model_name: 'g',
    litellm_params: { model: 'openai/m', api_base: 'http://10.0.0.1:8000', api_key: apiKey, ...extra },
  });
  const ids = (entries: ModelListEntry[]): string[] => buildModelGroups(entries).groups.get('g')!.deployments.map((d) => d.id);

  test('do not change when only a secret changes, so they say nothing about it', () => {
    const [first] = ids([entry('sk-one')]);
    assert.equal(ids([entry('sk-two')])[0], first);
    assert.equal(ids([entry('sk-one', { aws_secret_access_key: 'a' })])[0], ids([entry('sk-one', { aws_secret_access_key: 'b' })])[0]);
    assert.notEqual(ids([entry('sk-one', { rpm: 5 })])[0], first, 'a visible field still changes the id');
  });

  test('two deployments that differ only in their key get distinct ids, stable by position', () => {
    const built = buildModelGroups([entry('sk-one'), entry('sk-two')]);
    assert.deepEqual(built.errors, []);
    const [a, b] = ids([entry('sk-one'), entry('sk-two')]);
    assert.notEqual(a, b);
    assert.deepEqual(ids([entry('sk-three'), entry('sk-four')]), [a, b]);
  });
});
