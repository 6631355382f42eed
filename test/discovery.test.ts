// Ollama discovery: models come from the servers' /api/tags; warm servers (/api/ps) are preferred.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startOllamaSim, type OllamaSim } from './sim/ollama-sim.ts';
import { chat, post, sleep, startGateway, type TestGateway } from './helpers.ts';

describe('Ollama discovery', () => {
  let a: OllamaSim;
  let b: OllamaSim;
  let gw: TestGateway;

  before(async () => {
    a = await startOllamaSim({ models: ['llama3.2', 'qwen2.5:7b'], loaded: ['llama3.2:latest'] });
    b = await startOllamaSim({ models: ['llama3.2'], loaded: [] });
    gw = await startGateway(`
server: { discovery_interval: 0.1 }
plugins: [route.round_robin]
model_list:
  - model_name: fleet
    litellm_params: { model: ollama/*, api_base: ${a.url} }
    model_info: { id: ollama-a }
  - model_name: fleet
    litellm_params: { model: ollama_chat/llama, models: auto, api_base: ${b.url} }
    model_info: { id: ollama-b }
  - model_name: llama3.2-pinned
    litellm_params: { model: ollama/llama3.2, api_base: ${b.url} }
`);
  });
  after(async () => {
    await gw.close();
    await a.close();
    await b.close();
  });

  async function modelIds(): Promise<string[]> {
    const list = (await (await fetch(`${gw.url}/v1/models`)).json()) as { data: { id: string }[] };
    return list.data.map((m) => m.id).sort();
  }

  async function until(check: () => Promise<boolean>): Promise<void> {
    // A deadline only for a hang; a busy machine may need much longer than a quiet one.
    for (let i = 0; i < 400; i++) {
      if (await check()) return;
      await sleep(50);
    }
    assert.fail('condition not reached within 20 s');
  }

  test('every model a server reports is served and listed, without the :latest tag', async () => {
    assert.deepEqual(await modelIds(), ['llama3.2', 'llama3.2-pinned', 'qwen2.5:7b']);
  });

  test('a model is routed only to servers that have it', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await post(`${gw.url}/v1/chat/completions`, chat('qwen2.5:7b'));
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-litellm-model-id'], 'ollama-a/qwen2.5:7b');
    }
    assert.equal(JSON.parse(a.stats.lastPost!.body).model, 'qwen2.5:7b');
  });

  test('a server where the model is already loaded is preferred over a cold one', async () => {
    for (let i = 0; i < 6; i++) {
      assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('llama3.2'))).headers['x-litellm-model-id'], 'ollama-a/llama3.2');
    }
    // Now the model is warm on both: load is shared.
    b.loaded.push('llama3.2:latest');
    await until(async () => {
      const seen = new Set<unknown>();
      for (let i = 0; i < 4; i++) seen.add((await post(`${gw.url}/v1/chat/completions`, chat('llama3.2'))).headers['x-litellm-model-id']);
      return seen.size === 2;
    });
  });

  test('a server that stops answering takes its models with it; they return with it', async () => {
    const port = a.port;
    await a.close();
    await until(async () => !(await modelIds()).includes('qwen2.5:7b'));
    const res = await post(`${gw.url}/v1/chat/completions`, chat('llama3.2'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-litellm-model-id'], 'ollama-b/llama3.2');
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('qwen2.5:7b'))).status, 404);

    a = await startOllamaSim({ port, models: ['qwen2.5:7b'] });
    await until(async () => (await modelIds()).includes('qwen2.5:7b'));
    assert.equal((await post(`${gw.url}/v1/chat/completions`, chat('qwen2.5:7b'))).status, 200);
  });
});
