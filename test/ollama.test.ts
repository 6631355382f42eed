// ollama/ and ollama_chat/ deployments go through Ollama's OpenAI-compatible /v1 endpoints.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startOllamaSim, type OllamaSim } from './sim/ollama-sim.ts';
import { chat, json, post, startGateway, type TestGateway } from './helpers.ts';

describe('Ollama backends', () => {
  let ollama: OllamaSim;
  let gw: TestGateway;

  before(async () => {
    ollama = await startOllamaSim({ models: ['llama3.2', 'nomic-embed-text'] });
    gw = await startGateway(`
model_list:
  - model_name: local-llama
    litellm_params: { model: ollama_chat/llama3.2, api_base: ${ollama.url} }
  - model_name: local-embed
    litellm_params: { model: ollama/nomic-embed-text, api_base: ${ollama.url} }
  - model_name: missing
    litellm_params: { model: ollama/not-pulled, api_base: ${ollama.url} }
`);
  });
  after(async () => {
    await gw.close();
    await ollama.close();
  });

  test('chat goes to /v1/chat/completions with the Ollama model name', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('local-llama'));
    assert.equal(res.status, 200);
    assert.equal(json(res)['system_fingerprint'], 'fp_ollama');
    assert.equal(ollama.stats.lastRequest!.path, '/v1/chat/completions');
    assert.equal(JSON.parse(ollama.stats.lastRequest!.body).model, 'llama3.2');
  });

  test('streams pass through byte-for-byte against a direct call of the same shape', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('local-llama', { stream: true }));
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const text = res.body.toString();
    assert.ok(text.endsWith('data: [DONE]\n\n'));
    assert.ok(res.chunks.length > 1);
  });

  test('embeddings', async () => {
    const res = await post(`${gw.url}/v1/embeddings`, JSON.stringify({ model: 'local-embed', input: 'hello' }));
    assert.equal(res.status, 200);
    assert.equal((json(res)['data'] as unknown[]).length, 1);
  });

  test("Ollama's own 404 for a model it has not pulled passes through", async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('missing'));
    assert.equal(res.status, 404);
    assert.match(res.body.toString(), /not-pulled/);
  });
});
