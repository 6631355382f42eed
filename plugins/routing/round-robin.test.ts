import { englishLocalize } from '../../core/plugin/localize.ts';
import { MemoryStore } from '../../core/state/memory-store.ts';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../../core/logger.ts';
import type { RequestContext } from '../../core/plugin/context.ts';
import { buildModelGroups } from '../../core/config/models.ts';
import { MemoryRouterState } from '../../core/state/router-state.ts';
import { startOpenAISim, type Sim } from '../../test/sim/openai-sim.ts';
import { chat, post, startGateway, type TestGateway } from '../../test/helpers.ts';
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
  const plugin = await factory.create({}, { logger: createLogger('silent'), groups, configDir: '.', sections: {}, localize: englishLocalize, store: new MemoryStore(), state: new MemoryRouterState() });
  const picks = Array.from({ length: 7 }, () => plugin.route!(fakeCtx, groups.get('g')!.deployments)!);
  assert.deepEqual(
    picks.map((d) => d.id),
    ['a', 'b', 'c', 'a', 'b', 'c', 'a'],
  );
  assert.equal(plugin.route!(soloCtx, groups.get('solo')!.deployments)!.id, 's');
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
});
