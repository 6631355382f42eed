// auth.api_key through a real listener: master key, virtual keys (plain or sha256), allowed models, open paths.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { chat, errorOf, memoryLogger, post, startGateway, type TestGateway } from '../../test/helpers.ts';
import apiKey from './api-key.ts';
import { fakeContext, fakeDeps } from '../../core/plugin/testing.ts';
import type { RequestContext, SluiceError } from '../../core/plugin/api.ts';

const MASTER = 'sk-master-0123456789';
const TEAM = 'sk-team-a-0123456789';
const HASHED = 'sk-hashed-0123456789';

describe('auth.api_key', () => {
  let gw: TestGateway;
  const { logger, lines } = memoryLogger();

  before(async () => {
    // No plugins: section: a master_key alone turns key checks on, as it does in LiteLLM.
    gw = await startGateway(
      `
general_settings: { master_key: ${MASTER} }
keys:
  - { key: ${TEAM}, alias: team-a, models: [small] }
  - { key_sha256: ${createHash('sha256').update(HASHED).digest('hex')}, alias: hashed }
model_list:
  - { model_name: small, litellm_params: { model: mock/small } }
  - { model_name: large, litellm_params: { model: mock/large } }
`,
      { logger },
    );
  });
  after(() => gw.close());

  const call = (model: string, headers: Record<string, string>) => post(`${gw.url}/v1/chat/completions`, chat(model), headers);

  test('no key: 401 invalid_api_key, and nothing reaches a backend', async () => {
    const res = await call('small', {});
    assert.equal(res.status, 401);
    assert.equal(errorOf(res).code, 'invalid_api_key');
    assert.equal(errorOf(res).type, 'authentication_error');
  });

  test('a wrong key: 401', async () => {
    assert.equal((await call('small', { authorization: 'Bearer sk-wrong-0000000' })).status, 401);
    assert.equal((await call('small', { authorization: `Basic ${MASTER}` })).status, 401);
  });

  test('the master key may use every model', async () => {
    assert.equal((await call('large', { authorization: `Bearer ${MASTER}` })).status, 200);
  });

  test('keys are read from Authorization, x-api-key, x-litellm-api-key and api-key', async () => {
    for (const header of ['x-api-key', 'x-litellm-api-key', 'api-key']) {
      assert.equal((await call('small', { [header]: TEAM })).status, 200, header);
    }
    assert.equal((await call('large', { authorization: `bearer ${HASHED}` })).status, 200, 'a key stored as its sha256');
  });

  test('a model the key may not use: 403 naming the model', async () => {
    const res = await call('large', { authorization: `Bearer ${TEAM}` });
    assert.equal(res.status, 403);
    assert.equal(errorOf(res).param, 'model');
    assert.equal(errorOf(res).code, 'model_not_allowed');
  });

  test('/v1/models lists only what the key may use, and needs a key', async () => {
    const list = async (key: string): Promise<string[]> => {
      const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      return ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id).sort();
    };
    assert.deepEqual(await list(TEAM), ['small']);
    assert.deepEqual(await list(MASTER), ['large', 'small']);
    assert.equal((await fetch(`${gw.url}/v1/models`)).status, 401);
    assert.equal((await fetch(`${gw.url}/v1/models/large`, { headers: { authorization: `Bearer ${TEAM}` } })).status, 404);
  });

  test('liveness and readiness stay open; /health and /model/info need a key', async () => {
    assert.equal((await fetch(`${gw.url}/health/liveliness`)).status, 200);
    assert.equal((await fetch(`${gw.url}/health/readiness`)).status, 200);
    assert.equal((await fetch(`${gw.url}/health`)).status, 401);
    assert.equal((await fetch(`${gw.url}/model/info`)).status, 401);
  });

  test('keys never appear in logs', () => {
    const text = lines.join('');
    for (const key of [MASTER, TEAM, HASHED]) assert.ok(!text.includes(key));
  });
});

test('a chain with auth.api_key but no keys anywhere is refused at load', async () => {
  await assert.rejects(startGateway('plugins: [auth.api_key, route.round_robin]\nmodel_list: []'), /no keys to check/);
});

describe('auth.api_key remembers valid keys, never wrong ones', () => {
  test('a key seen before passes again; a near miss of it is still refused; a wrong key is never let in', async () => {
    const key = 'sk-remembered-0123456789';
    const plugin = await apiKey.create({}, fakeDeps({ sections: { general_settings: { master_key: MASTER }, keys: [{ key, alias: 'r' }] } }));
    const call = (presented: string): RequestContext => {
      const ctx = fakeContext({ headers: { authorization: `Bearer ${presented}` } });
      plugin.authenticate!(ctx);
      return ctx;
    };
    for (let i = 0; i < 3; i++) assert.equal(call(key).auth?.keyId, 'r');
    assert.equal(call(MASTER).auth?.keyId, 'master');
    for (const wrong of [`${key}x`, key.slice(0, -1), key.toUpperCase(), 'sk-wrong-0123456789']) {
      for (let i = 0; i < 2; i++) assert.throws(() => call(wrong), (error: SluiceError) => error.status === 401);
    }
    // Well over the remembered set's size of valid lookups mixed with misses: answers stay the same.
    for (let i = 0; i < 1500; i++) assert.throws(() => call(`sk-guess-${i}-0000000`), (error: SluiceError) => error.status === 401);
    assert.equal(call(key).auth?.keyId, 'r');
  });
});
