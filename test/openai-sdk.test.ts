// The official `openai` SDK as a real client: chat, stream, embeddings, models, and errors as its own classes.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { NotFoundError, BadRequestError, InternalServerError } from 'openai';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';
import { startGateway, type TestGateway } from './helpers.ts';

describe('openai SDK against Sluice', () => {
  let sim: Sim;
  let gw: TestGateway;
  let client: OpenAI;

  before(async () => {
    sim = await startOpenAISim({ text: 'Hello from the simulator' });
    gw = await startGateway(`
model_list:
  - model_name: sim-chat
    litellm_params: { model: openai/sim-model, api_base: ${sim.url}, api_key: sk-backend }
  - model_name: mock-embed
    litellm_params: { model: mock/embed, mock_dimensions: 16 }
`);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await sim.close();
  });

  test('chat completion', async () => {
    const completion = await client.chat.completions.create({ model: 'sim-chat', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(completion.choices[0]!.message.content, 'Hello from the simulator');
    assert.equal(completion.object, 'chat.completion');
    assert.ok(completion.usage!.total_tokens > 0);
    assert.equal(sim.stats.lastRequest!.headers['authorization'], 'Bearer sk-backend');
  });

  test('streamed chat completion with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'sim-chat',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text.trim(), 'Hello from the simulator');
    assert.ok(usage !== null && usage !== undefined && usage.completion_tokens > 0);
  });

  test('legacy completions', async () => {
    const completion = await client.completions.create({ model: 'sim-chat', prompt: 'Once upon' });
    assert.equal(completion.object, 'text_completion');
    assert.equal(typeof completion.choices[0]!.text, 'string');
  });

  test('embeddings', async () => {
    const result = await client.embeddings.create({ model: 'mock-embed', input: ['a', 'b'], encoding_format: 'float' });
    assert.equal(result.data.length, 2);
    assert.equal(result.data[0]!.embedding.length, 16);
  });

  test('models list and retrieve', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.deepEqual(ids.sort(), ['mock-embed', 'sim-chat']);
    const model = await client.models.retrieve('sim-chat');
    assert.equal(model.id, 'sim-chat');
  });

  test('errors surface as the SDK error classes', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.status, 404);
      assert.equal(error.code, 'model_not_found');
      assert.equal(error.param, 'model');
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: 'sim-chat', messages: [] }), BadRequestError);
    sim.knobs.status = 500;
    try {
      await assert.rejects(client.chat.completions.create({ model: 'sim-chat', messages: [{ role: 'user', content: 'x' }] }), InternalServerError);
    } finally {
      sim.knobs.status = null;
    }
  });
});
