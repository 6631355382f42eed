// anthropic/ deployments: OpenAI chat clients (the official SDK) served by Anthropic's Messages API, both ways,
// against a simulator that speaks Messages exactly: system prompts, multi-turn, tools and tool results, images,
// stop sequences, usage, errors, and streams event by event.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { BadRequestError, RateLimitError } from 'openai';
import { MessagesResponseTranslator } from '../core/providers/anthropic.ts';
import { healthProbe } from '../core/providers/probe.ts';
import { modelGroups } from '../core/plugin/testing.ts';
import { startAnthropicSim, type AnthropicSim } from './sim/anthropic-sim.ts';
import { errorOf, post, startGateway, type TestGateway } from './helpers.ts';

type Json = Record<string, unknown>;

describe('anthropic/ behind the OpenAI API', () => {
  let sim: AnthropicSim;
  let gw: TestGateway;
  let client: OpenAI;
  const sent = (): Json => JSON.parse(sim.stats.lastRequest!.body) as Json;

  before(async () => {
    sim = await startAnthropicSim({ apiKey: 'sk-ant-backend', text: 'Bonjour from Claude. The end.' });
    gw = await startGateway(`
router_settings: { num_retries: 0 }
model_list:
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4, api_base: ${sim.url}, api_key: sk-ant-backend }
`);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'sk-client', maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await sim.close();
  });

  test('a chat request becomes a Messages request: system, alternating turns, max_tokens, stop, key and version', async () => {
    const completion = await client.chat.completions.create({
      model: 'claude',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Say bonjour' },
        { role: 'user', content: [{ type: 'text', text: 'please' }] },
      ],
      stop: ['The end'],
      temperature: 0.2,
    });
    const request = sim.stats.lastRequest!;
    assert.equal(request.path, '/v1/messages');
    assert.equal(request.headers['x-api-key'], 'sk-ant-backend');
    assert.equal(request.headers['anthropic-version'], '2023-06-01');
    assert.equal(request.headers['authorization'], undefined, 'the client key never goes to Anthropic');
    const body = sent();
    assert.equal(body['model'], 'claude-sonnet-4');
    assert.equal(body['system'], 'Be brief.');
    assert.equal(body['max_tokens'], 4096);
    assert.equal(body['temperature'], 0.2);
    assert.deepEqual(body['stop_sequences'], ['The end']);
    assert.deepEqual(
      (body['messages'] as Json[]).map((m) => m['role']),
      ['user', 'assistant', 'user'],
      'consecutive user turns are merged',
    );

    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'claude');
    assert.equal(completion.choices[0]!.message.content, 'Bonjour from Claude. ');
    assert.equal(completion.choices[0]!.finish_reason, 'stop');
    assert.ok(completion.usage!.prompt_tokens > 0);
    assert.equal(completion.usage!.completion_tokens, 3);
    assert.equal(completion.usage!.total_tokens, completion.usage!.prompt_tokens + 3);
  });

  test('a stream is translated event by event into chat.completion.chunk, with usage when asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        if (choice.finish_reason !== null) finishes.push(choice.finish_reason);
      }
    }
    assert.equal(text, 'Bonjour from Claude. The end.');
    assert.deepEqual(finishes, ['stop']);
    assert.equal(usage?.completion_tokens, 5);
    assert.ok(chunks >= 5, 'a chunk per text delta, not one at the end');
    assert.equal(sent()['stream'], true);
  });

  test('tools: the call comes back as tool_calls, and a tool result goes to Anthropic as a tool_result turn', async () => {
    sim.knobs.toolName = 'get_weather';
    sim.knobs.toolInput = { city: 'Hanoi', unit: 'c' };
    try {
      const tools: OpenAI.ChatCompletionTool[] = [
        { type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      ];
      const first = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Weather in Hanoi?' }], tools, tool_choice: 'required' });
      const body = sent();
      assert.deepEqual(body['tools'], [{ name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]);
      assert.deepEqual(body['tool_choice'], { type: 'any' });
      const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
      assert.equal(first.choices[0]!.finish_reason, 'tool_calls');
      assert.equal(call.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Hanoi', unit: 'c' });

      const second = await client.chat.completions.create({
        model: 'claude',
        tools,
        messages: [
          { role: 'user', content: 'Weather in Hanoi?' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: '31 C, humid' },
        ],
      });
      const turns = sent()['messages'] as { role: string; content: Json[] }[];
      assert.deepEqual(turns[1]!.content, [{ type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'Hanoi', unit: 'c' } }]);
      assert.deepEqual(turns[2], { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '31 C, humid' }] });
      assert.equal(second.choices[0]!.message.content, 'Bonjour from Claude. The end.');

      // Streamed, the arguments arrive in pieces on one tool call index.
      const stream = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Weather?' }], tools, stream: true });
      let args = '';
      let name = '';
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
          assert.equal(delta.index, 0);
          name += delta.function?.name ?? '';
          args += delta.function?.arguments ?? '';
        }
      }
      assert.equal(name, 'get_weather');
      assert.deepEqual(JSON.parse(args), { city: 'Hanoi', unit: 'c' });
    } finally {
      sim.knobs.toolName = null;
    }
  });

  test('images: a data URL becomes a base64 image block, an https URL a url block', async () => {
    await client.chat.completions.create({
      model: 'claude',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    const content = (sent()['messages'] as { content: Json[] }[])[0]!.content;
    assert.deepEqual(content, [
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  test('an endpoint Messages has no equivalent for is a 400 naming the route to use', async () => {
    const res = await post(`${gw.url}/v1/completions`, JSON.stringify({ model: 'claude', prompt: 'Hi' }));
    assert.equal(res.status, 400);
    assert.match(errorOf(res).message, /\/v1\/chat\/completions/);
    await assert.rejects(client.embeddings.create({ model: 'claude', input: 'x' }), BadRequestError);
  });

  // Last: the 429 cools the deployment down for the rest of the file.
  test("Anthropic's errors reach the client in OpenAI's shape with their status", async () => {
    sim.knobs.errorStatus = 429;
    sim.knobs.errorType = 'rate_limit_error';
    try {
      await assert.rejects(client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] }), (error: unknown) => {
        assert.ok(error instanceof RateLimitError);
        assert.equal(error.status, 429);
        assert.match(error.message, /Simulated rate_limit_error/);
        return true;
      });
    } finally {
      sim.knobs.errorStatus = 0;
    }
  });
});

describe('MessagesResponseTranslator', () => {
  const events = [
    ['message_start', { type: 'message_start', message: { id: 'msg_1', usage: { input_tokens: 7, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['ping', { type: 'ping' }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Xin chào ' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'thế giới' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 4 } }],
    ['message_stop', { type: 'message_stop' }],
  ] as const;

  test('the same OpenAI chunks whatever the chunk boundaries and line endings (CRLF split across chunks included)', () => {
    const translate = (wire: Buffer, step: number): string => {
      const translator = new MessagesResponseTranslator('claude', true);
      translator.start(200, { 'content-type': 'text/event-stream' });
      let out = '';
      for (let at = 0; at < wire.length; at += step) out += translator.data(wire.subarray(at, at + step)).toString();
      // `created` is the clock's second when a translator starts: two translators may straddle a second.
      return (out + translator.end().body.toString()).replace(/"created":\d+/g, '"created":0');
    };
    for (const newline of ['\n', '\r\n']) {
      const wire = Buffer.from(events.map(([name, data]) => `event: ${name}${newline}data: ${JSON.stringify(data)}${newline}${newline}`).join(''));
      const whole = translate(wire, wire.length);
      for (const step of [1, 2, 3, 7, 64]) assert.equal(translate(wire, step), whole, `chunks of ${step} bytes, ${JSON.stringify(newline)}`);
      const chunks = whole.split('\n\n').filter((e) => e !== '' && e !== 'data: [DONE]').map((e) => JSON.parse(e.slice('data: '.length)) as Json);
      const text = chunks.map((c) => ((c['choices'] as Json[])[0]?.['delta'] as Json | undefined)?.['content'] ?? '').join('');
      assert.equal(text, 'Xin chào thế giới');
      assert.equal(((chunks.at(-2)!['choices'] as Json[])[0]!)['finish_reason'], 'length');
      assert.deepEqual(chunks.at(-1)!['usage'], { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
      assert.ok(whole.endsWith('data: [DONE]\n\n'));
    }
  });

  test('an answer that is not JSON, or an event held past the bound, is a bad upstream response', () => {
    const held = new MessagesResponseTranslator('claude', false);
    held.start(200, { 'content-type': 'application/json' });
    held.data(Buffer.from('<html>'));
    assert.throws(() => held.end(), { code: 'SLUICE_UPSTREAM_BAD_RESPONSE' });
    const endless = new MessagesResponseTranslator('claude', false);
    endless.start(200, { 'content-type': 'text/event-stream' });
    assert.throws(() => endless.data(Buffer.alloc(9 * 1024 * 1024, 'a')), { code: 'SLUICE_UPSTREAM_BAD_RESPONSE' });
  });
});

describe('health probes speak each provider', () => {
  test("anthropic/ is probed at its model list with x-api-key, which the Messages simulator answers 200", async () => {
    const sim = await startAnthropicSim({ apiKey: 'sk-ant-probe' });
    try {
      const groups = modelGroups([{ model_name: 'c', litellm_params: { model: 'anthropic/claude-sonnet-4', api_base: sim.url, api_key: 'sk-ant-probe' } }]);
      const probe = healthProbe(groups.get('c')!.deployments[0]!);
      assert.equal(probe.path, '/v1/models');
      assert.equal(probe.headers['authorization'], undefined);
      const res = await fetch(`${sim.url}${probe.path}`, { headers: probe.headers });
      assert.equal(res.status, 200);
    } finally {
      await sim.close();
    }
  });

  test('azure/ is probed beside its deployments with api-version and api-key; openai-compatible ones with a bearer key', () => {
    const groups = modelGroups([
      { model_name: 'az', litellm_params: { model: 'azure/gpt4o', api_base: 'https://res.openai.azure.com', api_key: 'az-key', api_version: '2024-10-21' } },
      { model_name: 'oa', litellm_params: { model: 'openai/m', api_base: 'http://127.0.0.1:9/v1', api_key: 'sk-x' } },
    ]);
    const azure = healthProbe(groups.get('az')!.deployments[0]!);
    assert.equal(azure.path, '/openai/models?api-version=2024-10-21');
    assert.equal(azure.headers['api-key'], 'az-key');
    assert.equal(azure.headers['authorization'], undefined);
    const openai = healthProbe(groups.get('oa')!.deployments[0]!);
    assert.equal(openai.path, '/v1/models');
    assert.equal(openai.headers['authorization'], 'Bearer sk-x');
  });
});
