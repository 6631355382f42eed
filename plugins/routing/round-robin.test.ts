import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RequestContext } from '../../core/plugin/context.ts';
import { buildModelGroups } from '../../core/config/models.ts';
import { startOpenAISim, type Sim } from '../../test/sim/openai-sim.ts';
import { chat, post, startGateway, type TestGateway } from '../../test/helpers.ts';
import { fakeContext, fakeDeps } from '../../core/plugin/testing.ts';
import factory from './round-robin.ts';

const { groups } = buildModelGroups([
  { model_name: 'g', litellm_params: { model: 'mock/a' }, model_info: { id: 'a' } },
  { model_name: 'g', litellm_params: { model: 'mock/b' }, model_info: { id: 'b' } },
  { model_name: 'g', litellm_params: { model: 'mock/c' }, model_info: { id: 'c' } },
  { model_name: 'solo', litellm_params: { model: 'mock/s' }, model_info: { id: 's' } },
]);
const fakeCtx = { model: 'g' } as RequestContext;
const soloCtx = { model: 'solo' } as RequestContext;

test('deployments take turns in config order, per group', async () => {
  const plugin = await factory.create({}, fakeDeps({ groups }));
  const picks = Array.from({ length: 7 }, () => plugin.route!(fakeCtx, groups.get('g')!.deployments)!);
  assert.deepEqual(
    picks.map((d) => d.id),
    ['a', 'b', 'c', 'a', 'b', 'c', 'a'],
  );
  assert.equal(plugin.route!(soloCtx, groups.get('solo')!.deployments)!.id, 's');
});

test('turns are kept per served group: a request that fell back to g takes the next turn of g', async () => {
  const plugin = await factory.create({}, fakeDeps({ groups }));
  const g = groups.get('g')!;
  const direct = fakeContext({ body: { model: 'g', messages: [] }, group: g });
  const fellBack = fakeContext({ body: { model: 'solo', messages: [] }, group: g });
  const picks = [direct, fellBack, direct, fellBack].map((ctx) => plugin.route!(ctx, g.deployments)!.id);
  assert.deepEqual(picks, ['a', 'b', 'c', 'a']);
});

describe('round-robin through a real listener', () => {
  const sims: Sim[] = [];
  let gw: TestGateway;
  before(async () => {
    for (let i = 0; i < 3; i++) sims.push(await startOpenAISim());
    gw = await startGateway(`
plugins: [route.round_robin]
model_list:
${sims.map((s) => `  - model_name: pool\n    litellm_params: { model: openai/m, api_base: ${s.url} }`).join('\n')}
`);
  });
  after(async () => {
    await gw.close();
    await Promise.all(sims.map((s) => s.close()));
  });

  test('30 requests are spread 10/10/10 over three backends', async () => {
    for (let i = 0; i < 30; i++) assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('pool'))).status, 200);
    assert.deepEqual(
      sims.map((s) => s.stats.requests),
      [10, 10, 10],
    );
  });

  test('a request that fell back to the pool takes the pool\'s next turn', async () => {
    const fallback = await startGateway(`
plugins: [route.round_robin]
router_settings:
  num_retries: 0
  fallbacks: [{ down: [pool] }]
model_list:
  - model_name: down
    litellm_params: { model: openai/m, api_base: http://127.0.0.1:1 }
${sims.slice(0, 2).map((s, i) => `  - model_name: pool\n    litellm_params: { model: openai/m, api_base: ${s.url} }\n    model_info: { id: p${i} }`).join('\n')}
`);
    try {
      const served: unknown[] = [];
      for (const model of ['pool', 'down', 'pool', 'down']) {
        const res = await post(`${fallback.url}/v1/chat/completions`, chat(model));
        assert.equal(res.status, 200, res.body.toString());
        served.push(res.headers['x-litellm-model-id']);
      }
      assert.deepEqual(served, ['p0', 'p1', 'p0', 'p1']);
    } finally {
      await fallback.close();
    }
  });
});
