// The plugin guide's example (docs/plugins.md), loaded from its path exactly as the guide shows.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chat, errorOf, memoryLogger, post, startGateway, type TestGateway } from '../../../test/helpers.ts';
import { startOpenAISim, type Sim } from '../../../test/sim/openai-sim.ts';

describe('examples.token_cap', () => {
  let sim: Sim;
  let gw: TestGateway;
  const { logger, lines } = memoryLogger();

  before(async () => {
    sim = await startOpenAISim({ tokens: 4 });
    gw = await startGateway(
      `
plugins:
  - route.round_robin
  - path: ./plugins/examples/token-cap/index.ts
    options: { max_tokens: 64 }
model_list:
  - model_name: m
    litellm_params: { model: openai/m, api_base: ${sim.url} }
`,
      { logger },
    );
  });
  after(async () => {
    await gw.close();
    await sim.close();
  });

  test('a request over the cap is answered by the plugin and never reaches the backend', async () => {
    const before = sim.stats.requests;
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m', { max_tokens: 1000 }));
    assert.equal(res.status, 400);
    assert.equal(errorOf(res).param, 'max_tokens');
    assert.equal(sim.stats.requests, before);
  });

  test('a request without max_tokens gets the cap filled in upstream, and the header says so', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-token-cap'], '64');
    assert.equal(JSON.parse(sim.stats.lastRequest!.body).max_tokens, 64);
  });

  test('streamed content chunks are counted by the tap and logged', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m', { stream: true, max_tokens: 10 }));
    assert.equal(res.status, 200);
    const logged = lines.find((line) => line.includes('token_cap: streamed chunks'));
    assert.ok(logged !== undefined, 'the log hook ran');
    assert.match(logged, /chunks=4/);
  });
});
