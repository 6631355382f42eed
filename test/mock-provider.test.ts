// The mock/ provider answers in OpenAI's wire format without a network.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chat, json, post, startGateway, type TestGateway } from './helpers.ts';

describe('mock provider', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway(`
model_list:
  - model_name: m
    litellm_params: { model: mock/m, mock_response: "one two three", mock_tokens: 6, mock_token_interval_ms: 10 }
`);
  });
  after(() => gw.close());

  test('chat JSON with the configured text repeated to the token count, and usage', async () => {
    const body = json(await post(`${gw.url}/v1/chat/completions`, chat('m')));
    const choice = (body['choices'] as { message: { content: string }; finish_reason: string }[])[0]!;
    assert.equal(choice.message.content, 'one two three one two three');
    assert.equal(choice.finish_reason, 'stop');
    assert.equal((body['usage'] as { completion_tokens: number }).completion_tokens, 6);
  });

  test('streams one event per token at the configured interval, with include_usage and [DONE]', async () => {
    const res = await post(`${gw.url}/v1/chat/completions`, chat('m', { stream: true, stream_options: { include_usage: true } }));
    const events = res.body.toString().split('\n\n').filter((e) => e !== '');
    // role chunk + 6 tokens + finish chunk + usage chunk + [DONE]
    assert.equal(events.length, 10);
    assert.equal(events.at(-1), 'data: [DONE]');
    const usage = JSON.parse(events.at(-2)!.slice(6));
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.completion_tokens, 6);
    const span = res.chunks.at(-1)!.at - res.chunks[0]!.at;
    assert.ok(span >= 40, `tokens were spaced out (${span.toFixed(0)} ms)`);
  });

  test('completions and embeddings', async () => {
    const completion = json(await post(`${gw.url}/v1/completions`, JSON.stringify({ model: 'm', prompt: 'x' })));
    assert.equal(completion['object'], 'text_completion');
    const embedding = json(await post(`${gw.url}/v1/embeddings`, JSON.stringify({ model: 'm', input: ['x', 'x', 'y'] })));
    const data = embedding['data'] as { embedding: number[] }[];
    assert.equal(data.length, 3);
    assert.deepEqual(data[0]!.embedding, data[1]!.embedding);
    assert.notDeepEqual(data[0]!.embedding, data[2]!.embedding);
  });

  test('/v1/models, /model/info (without api keys) and health endpoints', async () => {
    const models = (await (await fetch(`${gw.url}/v1/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(models.data.map((m) => m.id), ['m']);
    const info = (await (await fetch(`${gw.url}/model/info`)).json()) as { data: { model_name: string; model_info: { id: string } }[] };
    assert.equal(info.data[0]!.model_name, 'm');
    assert.equal((await fetch(`${gw.url}/health/liveliness`)).status, 200);
    assert.equal((await fetch(`${gw.url}/health/liveness`)).status, 200);
    const ready = (await (await fetch(`${gw.url}/health/readiness`)).json()) as { status: string };
    assert.equal(ready.status, 'healthy');
  });
});
