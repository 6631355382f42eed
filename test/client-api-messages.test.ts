// Anthropic's Messages API as a client API, driven by the official @anthropic-ai/sdk against a real gateway:
// native pass-through to anthropic/ (and to a deployment flagged `native_apis: [anthropic]`), the bridge to
// OpenAI-compatible and Ollama backends, errors as the SDK's own classes, guards, failover and aborts.

import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic, { APIError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError, RateLimitError } from '@anthropic-ai/sdk';
import { formatMessage } from '../plugins/localizer/catalogue.ts';
import { startAnthropicSim, type AnthropicSim } from './sim/anthropic-sim.ts';
import { startOllamaSim, type OllamaSim } from './sim/ollama-sim.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';
import { startGateway, until, type TestGateway } from './helpers.ts';

type Json = Record<string, unknown>;

const MASTER = 'sk-master-0000';
const LIMITED = 'sk-limited-0123456789';
const NOTICE = formatMessage('SLUICE_OUTPUT_BLOCKED', 'en', { scanner: 'ban_substrings' })!.message;

/** An OpenAI chat backend whose answer each test scripts (`reply`); an answer left open counts as aborted when cut. */
async function startScriptedChat() {
  const state = { requests: [] as Json[], aborts: 0, reply: (_body: Json, res: ServerResponse): void => void res.end('{}') };
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (data: Buffer) => (text += data));
    req.on('end', () => {
      if (req.method !== 'POST') return void res.end('{}');
      res.on('close', () => {
        if (!res.writableEnded) state.aborts++;
      });
      const body = JSON.parse(text) as Json;
      state.requests.push(body);
      state.reply(body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = (): Promise<void> => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  };
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close });
}

const chunk = (delta: Json, finish: string | null = null): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

/** Starts an SSE answer with these chunks and leaves it open. */
function holdStream(res: ServerResponse, ...chunks: string[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const c of chunks) res.write(c);
}

function completion(message: Json, finish: string): string {
  return JSON.stringify({ id: 'chatcmpl-s2', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message, finish_reason: finish }], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } });
}

const user = (content: string): Anthropic.MessageParam[] => [{ role: 'user', content }];
const textOf = (message: Anthropic.Message): string => message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');

let ant: AnthropicSim; // anthropic/ deployment, needs its own key
let flagged: AnthropicSim; // behind an openai/ deployment flagged native_apis: [anthropic]
let guarded: AnthropicSim; // anthropic/ deployment whose answer holds a banned word
let down: AnthropicSim; // overloaded, tier 1 of a failover pair
let vllm: Sim;
let failing: Sim;
let ollama: OllamaSim;
let scripted: Awaited<ReturnType<typeof startScriptedChat>>;
let gw: TestGateway;
let client: Anthropic;
/** What the SDK sent and received, as bytes: its fetch is wrapped. */
const wire: { sent: string[]; version: (string | null)[]; received: Promise<string>[] } = { sent: [], version: [], received: [] };

function sdk(options: { apiKey?: string; authToken?: string } = { apiKey: MASTER }): Anthropic {
  return new Anthropic({
    baseURL: gw.url,
    maxRetries: 0,
    ...options,
    fetch: async (url: string | URL | Request, init?: RequestInit) => {
      wire.sent.push(String(init?.body ?? ''));
      wire.version.push(new Headers(init?.headers).get('anthropic-version'));
      const res = await fetch(url, init);
      // A body the client aborts has no text: the reason stands in for it.
      wire.received.push(res.clone().text().catch((error: Error) => `<${error.name}>`));
      return res;
    },
  });
}

before(async () => {
  [ant, flagged, guarded, down, vllm, failing, ollama, scripted] = await Promise.all([
    startAnthropicSim({ apiKey: 'sk-ant-backend', text: 'Hello from the Messages API.' }),
    startAnthropicSim({ text: 'Served natively by the flagged deployment.' }),
    startAnthropicSim({ text: 'The code word is Zanzibar today.', holdAfterText: true }),
    startAnthropicSim({ errorStatus: 529, errorType: 'overloaded_error' }),
    startOpenAISim({ text: 'Hi from vLLM here' }),
    startOpenAISim({ status: 500 }),
    startOllamaSim({ models: ['llama3.2'] }),
    startScriptedChat(),
  ]);
  gw = await startGateway(`
general_settings: { master_key: ${MASTER} }
keys: [{ key: ${LIMITED}, alias: limited, rpm: 1 }]
router_settings: { num_retries: 1, allowed_fails: 100 }
model_list:
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4, api_base: ${ant.url}, api_key: sk-ant-backend }
  - model_name: flagged
    litellm_params: { model: openai/served-model, api_base: ${flagged.url}, api_key: sk-flagged, native_apis: [anthropic] }
  - model_name: qwen
    litellm_params: { model: hosted_vllm/qwen3, api_base: ${vllm.url}/v1, api_key: sk-vllm }
  - model_name: llama
    litellm_params: { model: ollama_chat/llama3.2, api_base: ${ollama.url} }
  - model_name: scripted
    litellm_params: { model: hosted_vllm/scripted, api_base: ${scripted.url}/v1 }
  - model_name: guarded
    litellm_params: { model: anthropic/claude-guarded, api_base: ${guarded.url} }
  - model_name: broken
    litellm_params: { model: hosted_vllm/broken, api_base: ${failing.url}/v1 }
  - model_name: pair
    litellm_params: { model: anthropic/claude-down, api_base: ${down.url}, order: 1 }
    model_info: { id: native-tier }
  - model_name: pair
    litellm_params: { model: hosted_vllm/qwen3, api_base: ${vllm.url}/v1, order: 2 }
    model_info: { id: bridged-tier }
plugins:
  - auth.api_key
  - limit.key
  - route.simple_shuffle
  - name: guard.input.ban_substrings
    options: { substrings: ["project nightingale"] }
  - name: guard.output.ban_substrings
    options: { substrings: ["Zanzibar"] }
`);
  client = sdk();
});
after(async () => {
  await gw.close();
  await Promise.all([ant, flagged, guarded, down, vllm, failing, ollama, scripted].map((s) => s.close()));
});

describe('native: an anthropic/ deployment gets the bytes as they came', () => {
  test('create: the exact body but the model, version and beta headers, and only the deployment key', async () => {
    const message = await client.messages.create(
      { model: 'claude', max_tokens: 64, system: 'Be brief.', messages: user('Hi there'), metadata: { user_id: 'u1' }, service_tier: 'auto' },
      { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } },
    );
    const request = ant.stats.lastRequest!;
    assert.equal(request.path, '/v1/messages');
    assert.equal(request.body, wire.sent.at(-1)!.replace('"model":"claude"', '"model":"claude-sonnet-4"'));
    assert.match(wire.version.at(-1)!, /^\d{4}-\d\d-\d\d$/);
    assert.equal(request.headers['anthropic-version'], wire.version.at(-1));
    assert.equal(request.headers['anthropic-beta'], 'prompt-caching-2024-07-31');
    assert.equal(request.headers['x-api-key'], 'sk-ant-backend');
    assert.equal(request.headers['authorization'], undefined);
    assert.ok(!JSON.stringify(request.headers).includes(MASTER), 'the gateway key never goes upstream');
    assert.equal(await wire.received.at(-1), ant.lastAnswer, 'the Message comes back untouched');
    assert.equal(message.model, 'claude-sonnet-4', 'native: the backend answer is not rewritten');
    assert.equal(textOf(message), 'Hello from the Messages API.');
    assert.equal(message.stop_reason, 'end_turn');
    assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens === 5);
  });

  test('stream: the events reach the SDK byte for byte; finalMessage() assembles them', async () => {
    const stream = client.messages.stream({ model: 'claude', max_tokens: 64, messages: user('Stream please') });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const message = await stream.finalMessage();
    assert.deepEqual(deltas, ['Hello ', 'from ', 'the ', 'Messages ', 'API.']);
    assert.equal(textOf(message), 'Hello from the Messages API.');
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.output_tokens, 5);
    assert.equal(stream.request_id, 'req_sim');
    assert.equal(JSON.parse(ant.stats.lastRequest!.body).stream, true);
    assert.equal(await wire.received.at(-1), ant.lastAnswer);
  });

  test('tools: a tool_use answer, then the tool_result turn goes upstream as sent', async () => {
    ant.knobs.toolName = 'get_weather';
    ant.knobs.toolInput = { city: 'Hanoi' };
    try {
      const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
      const first = await client.messages.create({ model: 'claude', max_tokens: 64, tools, messages: user('Weather in Hanoi?') });
      assert.equal(first.stop_reason, 'tool_use');
      const call = first.content[0] as Anthropic.ToolUseBlock;
      assert.deepEqual([call.type, call.name, call.input], ['tool_use', 'get_weather', { city: 'Hanoi' }]);
      const streamed = await client.messages.stream({ model: 'claude', max_tokens: 64, tools, messages: user('Weather?') }).finalMessage();
      assert.deepEqual((streamed.content[0] as Anthropic.ToolUseBlock).input, { city: 'Hanoi' });
      assert.equal(await wire.received.at(-1), ant.lastAnswer, 'input_json_delta events untouched');
      const second = await client.messages.create({
        model: 'claude',
        max_tokens: 64,
        tools,
        messages: [...user('Weather in Hanoi?'), { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '31 C' }] }],
      });
      assert.equal(ant.stats.lastRequest!.body, wire.sent.at(-1)!.replace('"model":"claude"', '"model":"claude-sonnet-4"'));
      assert.equal(textOf(second), 'Hello from the Messages API.');
    } finally {
      ant.knobs.toolName = null;
    }
  });

  test('authToken (Authorization: Bearer) is a gateway key too, and is not forwarded', async () => {
    const message = await sdk({ authToken: MASTER }).messages.create({ model: 'claude', max_tokens: 8, messages: user('Hi') });
    assert.equal(textOf(message), 'Hello from the Messages API.');
    assert.equal(ant.stats.lastRequest!.headers['authorization'], undefined);
    assert.equal(ant.stats.lastRequest!.headers['x-api-key'], 'sk-ant-backend');
  });

  test('native_apis: [anthropic] on an openai/ deployment sends Messages to its /v1/messages untranslated', async () => {
    const stream = client.messages.stream({ model: 'flagged', max_tokens: 32, messages: user('Hello?') });
    const message = await stream.finalMessage();
    const request = flagged.stats.lastRequest!;
    assert.equal(request.path, '/v1/messages');
    assert.equal(request.body, wire.sent.at(-1)!.replace('"model":"flagged"', '"model":"served-model"'));
    assert.equal(request.headers['authorization'], 'Bearer sk-flagged', "the deployment's key in its own style");
    assert.equal(request.headers['anthropic-version'], wire.version.at(-1));
    assert.equal(await wire.received.at(-1), flagged.lastAnswer);
    assert.equal(textOf(message), 'Served natively by the flagged deployment.');
  });

  test('count_tokens is answered by the gateway for a native deployment too (an estimate, nothing sent upstream)', async () => {
    const before = ant.stats.requests;
    const count = await client.messages.countTokens({ model: 'claude', messages: user('How many tokens is this?') });
    assert.ok(count.input_tokens > 0);
    assert.equal(ant.stats.requests, before);
  });
});

describe('bridged: an OpenAI-compatible backend gets a chat request', () => {
  const sent = (): Json => JSON.parse(vllm.stats.lastRequest!.body) as Json;

  test('create: system, multi-turn, stop_sequences and metadata become the chat request (cache_control dropped); usage comes back', async () => {
    const message = await client.messages.create({
      model: 'qwen',
      max_tokens: 100,
      system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Answer in English.' }],
      messages: [...user('Hi'), { role: 'assistant', content: 'Hello.' }, { role: 'user', content: [{ type: 'text', text: 'How are' }, { type: 'text', text: 'you?' }] }],
      stop_sequences: ['END'],
      metadata: { user_id: 'user-7' },
      cache_control: { type: 'ephemeral' },
    });
    assert.equal(vllm.stats.lastRequest!.path, '/v1/chat/completions');
    assert.equal(vllm.stats.lastRequest!.headers['authorization'], 'Bearer sk-vllm');
    assert.deepEqual(sent(), {
      model: 'qwen3',
      messages: [
        { role: 'system', content: 'Be brief.\n\nAnswer in English.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'How are\nyou?' },
      ],
      max_tokens: 100,
      stop: ['END'],
      user: 'user-7',
    });
    assert.equal(message.type, 'message');
    assert.equal(message.model, 'qwen');
    assert.match(message.id, /^msg_/);
    assert.equal(textOf(message), 'Hi from vLLM here');
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.output_tokens, 4);
    assert.ok(message.usage.input_tokens > 0);
  });

  test('stream: text deltas as they come, usage from the usage chunk, images as data URLs', async () => {
    const png = Buffer.from('fake png bytes').toString('base64');
    const stream = client.messages.stream({
      model: 'qwen',
      max_tokens: 50,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } }, { type: 'text', text: 'What is this?' }] }],
    });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const message = await stream.finalMessage();
    assert.deepEqual(deltas, ['Hi ', 'from ', 'vLLM ', 'here']);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.output_tokens, 4);
    assert.ok(message.usage.input_tokens > 0, 'input tokens arrive in message_delta');
    const body = sent();
    assert.equal(body['stream'], true);
    assert.deepEqual(body['stream_options'], { include_usage: true });
    assert.deepEqual((body['messages'] as Json[])[0], {
      role: 'user',
      content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }, { type: 'text', text: 'What is this?' }],
    });
  });

  test('tools: tool_calls become tool_use (JSON and stream), and tool_result goes back as a tool message', async () => {
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Hanoi"}' } };
    scripted.reply = (body, res) => {
      if (body['stream'] !== true) return void res.end(completion({ role: 'assistant', content: null, tool_calls: [call] }, 'tool_calls'));
      holdStream(res, chunk({ role: 'assistant', tool_calls: [{ index: 0, ...call, function: { name: 'get_weather', arguments: '{"ci' } }] }));
      res.end(chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Hanoi"}' } }] }) + chunk({}, 'tool_calls') + 'data: [DONE]\n\n');
    };
    const first = await client.messages.create({ model: 'scripted', max_tokens: 64, tools, tool_choice: { type: 'any' }, messages: user('Weather?') });
    assert.deepEqual(scripted.requests.at(-1)!['tools'], [{ type: 'function', function: { name: 'get_weather', parameters: tools[0]!.input_schema } }]);
    assert.equal(scripted.requests.at(-1)!['tool_choice'], 'required');
    assert.equal(first.stop_reason, 'tool_use');
    assert.deepEqual(first.content, [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Hanoi' } }]);
    assert.deepEqual([first.usage.input_tokens, first.usage.output_tokens], [11, 7]);

    const streamed = await client.messages.stream({ model: 'scripted', max_tokens: 64, tools, messages: user('Weather?') }).finalMessage();
    assert.equal(streamed.stop_reason, 'tool_use');
    assert.deepEqual((streamed.content[0] as Anthropic.ToolUseBlock).input, { city: 'Hanoi' });

    scripted.reply = (_body, res) => void res.end(completion({ role: 'assistant', content: 'It is 31 C.' }, 'stop'));
    const second = await client.messages.create({
      model: 'scripted',
      max_tokens: 64,
      tools,
      messages: [...user('Weather?'), { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '31 C' }] }],
    });
    assert.deepEqual((scripted.requests.at(-1)!['messages'] as Json[]).slice(1), [
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Hanoi"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '31 C' },
    ]);
    assert.equal(textOf(second), 'It is 31 C.');
  });

  test('count_tokens: an estimate that grows with the text', async () => {
    const short = await client.messages.countTokens({ model: 'qwen', messages: user('Hello') });
    const long = await client.messages.countTokens({ model: 'qwen', system: 'Be brief.', messages: user('Hello '.repeat(50)) });
    assert.ok(short.input_tokens > 0);
    assert.ok(long.input_tokens > short.input_tokens + 40, `${short.input_tokens} -> ${long.input_tokens}`);
  });

  test('Ollama: create and stream through its /v1', async () => {
    const message = await client.messages.create({ model: 'llama', max_tokens: 20, messages: user('Hi') });
    assert.equal(ollama.stats.lastRequest!.path, '/v1/chat/completions');
    assert.equal(JSON.parse(ollama.stats.lastRequest!.body).model, 'llama3.2');
    assert.equal(textOf(message), 'tok0 tok1 tok2 tok3 tok4');
    const streamed = await client.messages.stream({ model: 'llama', max_tokens: 20, messages: user('Hi') }).finalMessage();
    assert.equal(ollama.stats.lastRequest!.path, '/v1/chat/completions');
    assert.equal(JSON.parse(ollama.stats.lastRequest!.body).stream, true);
    assert.equal(textOf(streamed), 'tok0 tok1 tok2 tok3 tok4');
    assert.equal(streamed.stop_reason, 'end_turn');
  });
});

/** Asserts `promise` rejects with `kind` in Anthropic's error shape, and returns the error. */
async function rejection<T extends APIError>(promise: Promise<unknown>, kind: new (...args: never[]) => T, type: string): Promise<T> {
  const error = await promise.then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof kind, `${String(error)}`);
  assert.equal(error.type, type);
  assert.equal((error.error as { type?: unknown }).type, 'error', JSON.stringify(error.error));
  return error;
}

describe('errors as the SDK error classes, in Anthropic shape', () => {
  test('unknown model: NotFoundError, localized with Accept-Language', async () => {
    const error = await rejection(client.messages.create({ model: 'nope', max_tokens: 8, messages: user('x') }), NotFoundError, 'not_found_error');
    assert.match(error.apiMessage!, /nope/);
    const vi = await rejection(client.messages.create({ model: 'nope', max_tokens: 8, messages: user('x') }, { headers: { 'accept-language': 'vi' } }), NotFoundError, 'not_found_error');
    assert.equal(vi.apiMessage, formatMessage('SLUICE_MODEL_NOT_FOUND', 'vi', { model: 'nope' })!.message);
    assert.equal(vi.headers.get('content-language'), 'vi');
    await rejection(client.messages.countTokens({ model: 'nope', messages: user('x') }), NotFoundError, 'not_found_error');
  });

  test('bad key: AuthenticationError, whether x-api-key or Bearer', async () => {
    for (const options of [{ apiKey: 'sk-wrong' }, { authToken: 'sk-wrong' }]) {
      await rejection(sdk(options).messages.create({ model: 'claude', max_tokens: 8, messages: user('x') }), AuthenticationError, 'authentication_error');
    }
  });

  test('missing max_tokens or bad messages: BadRequestError naming the field (the bridge checks; natively, the backend)', async () => {
    const before = vllm.stats.requests;
    const bad = client.messages.create as unknown as (body: Json) => Promise<unknown>;
    const missing = await rejection(bad.call(client.messages, { model: 'qwen', messages: user('x') }), BadRequestError, 'invalid_request_error');
    assert.equal(missing.apiMessage, 'max_tokens: Field required.');
    // Native bytes go as they came: Anthropic's own 400 comes back, once (a 400 is not retried).
    const nativeBefore = ant.stats.requests;
    const native = await rejection(bad.call(client.messages, { model: 'claude', messages: user('x') }), BadRequestError, 'invalid_request_error');
    assert.equal(native.apiMessage, 'max_tokens: Field required');
    assert.equal(ant.stats.requests, nativeBefore + 1);
    const turns = await rejection(bad.call(client.messages, { model: 'qwen', max_tokens: 8, messages: [{ role: 'robot', content: 'x' }] }), BadRequestError, 'invalid_request_error');
    assert.match(turns.apiMessage!, /messages\.0\.role/);
    await rejection(bad.call(client.messages, { model: 'qwen', max_tokens: 8, messages: 'hello' }), BadRequestError, 'invalid_request_error');
    assert.equal(vllm.stats.requests, before, 'nothing the bridge refused went upstream');
  });

  test("a key's rpm limit: RateLimitError with retry-after", async (t) => {
    const clock = Date.now();
    t.mock.method(Date, 'now', () => clock);
    const limited = sdk({ apiKey: LIMITED });
    await limited.messages.create({ model: 'qwen', max_tokens: 8, messages: user('one') });
    const error = await rejection(limited.messages.create({ model: 'qwen', max_tokens: 8, messages: user('two') }), RateLimitError, 'rate_limit_error');
    assert.ok(Number(error.headers.get('retry-after')) > 0, String(error.headers.get('retry-after')));
  });

  test('backend 500 after the retries: InternalServerError; a backend 429: RateLimitError with its retry-after', async () => {
    const before = failing.stats.requests;
    const error = await rejection(client.messages.create({ model: 'broken', max_tokens: 8, messages: user('x') }), InternalServerError, 'api_error');
    assert.equal(error.status, 500);
    assert.equal(failing.stats.requests - before, 2, 'tried, then retried once');
    // A backend's own 429 keeps its Retry-After, in Anthropic's shape.
    failing.knobs.status = 429;
    failing.knobs.retryAfterSec = 7;
    const limited = await rejection(client.messages.create({ model: 'broken', max_tokens: 8, messages: user('x') }), RateLimitError, 'rate_limit_error');
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.match(limited.apiMessage!, /Rate limit reached/);
  });

  test('a backend cut mid-stream: the SDK stream rejects with the error event (bridged and native)', async () => {
    vllm.knobs.dropAfterChunks = 2;
    ant.knobs.dropAfterEvents = 4;
    try {
      for (const [model, sim] of [['qwen', vllm], ['claude', ant]] as const) {
        const before = sim.stats.requests;
        const stream = client.messages.stream({ model, max_tokens: 8, messages: user('x') });
        const deltas: string[] = [];
        stream.on('text', (text) => deltas.push(text));
        const error = await stream.finalMessage().then(
          () => assert.fail(`${model}: the cut stream resolved`),
          (e: unknown) => e,
        );
        assert.ok(error instanceof APIError, `${model}: ${String(error)}`);
        assert.equal(error.type, 'api_error', model);
        assert.deepEqual(deltas, model === 'qwen' ? ['Hi '] : ['Hello '], model);
        assert.match(await wire.received.at(-1)!, /event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
        assert.equal(sim.stats.requests, before + 1, `${model}: a stream cut after its 200 is not retried`);
      }
    } finally {
      vllm.knobs.dropAfterChunks = null;
      ant.knobs.dropAfterEvents = null;
    }
  });
});

describe('guards', () => {
  test('an input guard blocks with BadRequestError in Anthropic shape before any backend is called', async () => {
    const before = vllm.stats.requests + ant.stats.requests;
    for (const model of ['claude', 'qwen']) {
      const error = await rejection(client.messages.create({ model, max_tokens: 8, messages: user('Tell me about Project Nightingale') }), BadRequestError, 'invalid_request_error');
      assert.match(error.apiMessage!, /ban_substrings/);
    }
    assert.equal(vllm.stats.requests + ant.stats.requests, before);
  });

  test('an output guard stops a native stream: clean end, stop_reason refusal with the notice, upstream aborted', async () => {
    const before = guarded.stats.aborts;
    const stream = client.messages.stream({ model: 'guarded', max_tokens: 32, messages: user('The code?') });
    const message = await stream.finalMessage();
    assert.equal(message.stop_reason, 'refusal');
    assert.deepEqual(
      message.content.map((b) => (b.type === 'text' ? b.text : b.type)),
      ['The code word is ', NOTICE],
    );
    await until('the upstream stream is aborted', () => guarded.stats.aborts === before + 1);
    const received = await wire.received.at(-1)!;
    const cut = guarded.lastAnswer.indexOf('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Zanzibar ');
    assert.ok(received.startsWith(guarded.lastAnswer.slice(0, cut)), 'the events before the cut arrive as the backend sent them');
    assert.doesNotMatch(received, /Zanzibar/);
  });

  test('an output guard stops a bridged stream the same way', async () => {
    const before = scripted.aborts;
    scripted.reply = (_body, res) => holdStream(res, chunk({ role: 'assistant', content: 'The code word is ' }), chunk({ content: 'Zanzibar' }));
    const message = await client.messages.stream({ model: 'scripted', max_tokens: 32, messages: user('The code?') }).finalMessage();
    assert.equal(message.stop_reason, 'refusal');
    assert.deepEqual(
      message.content.map((b) => (b.type === 'text' ? b.text : b.type)),
      ['The code word is ', NOTICE],
    );
    await until('the upstream stream is aborted', () => scripted.aborts === before + 1);
    assert.doesNotMatch(await wire.received.at(-1)!, /Zanzibar/);
  });

  test('a blocked JSON answer is the API error (native and bridged)', async () => {
    scripted.reply = (_body, res) => void res.end(completion({ role: 'assistant', content: 'It is Zanzibar.' }, 'stop'));
    for (const model of ['guarded', 'scripted']) {
      const error = await rejection(client.messages.create({ model, max_tokens: 32, messages: user('The code?') }), BadRequestError, 'invalid_request_error');
      assert.match(error.apiMessage!, /ban_substrings/);
      assert.doesNotMatch(await wire.received.at(-1)!, /Zanzibar/);
    }
  });
});

describe('failover and aborts', () => {
  test('tier 1 (native, overloaded) fails over to tier 2 (bridged); the client sees one Message', async () => {
    const before = down.stats.requests;
    const { data, response } = await client.messages.create({ model: 'pair', max_tokens: 16, messages: user('Hi') }).withResponse();
    assert.equal(down.stats.requests, before + 1, 'the native deployment was tried first');
    assert.equal(response.headers.get('x-litellm-model-id'), 'bridged-tier');
    assert.equal(response.headers.get('x-litellm-attempted-retries'), '1');
    assert.equal(textOf(data), 'Hi from vLLM here');
    assert.equal(data.model, 'pair');
  });

  test('a client abort mid-stream aborts the upstream request (native and bridged)', async () => {
    ant.knobs.holdAfterText = true;
    scripted.reply = (_body, res) => holdStream(res, chunk({ role: 'assistant', content: 'Still ' }), chunk({ content: 'going' }));
    try {
      for (const [model, aborts] of [['claude', () => ant.stats.aborts], ['scripted', () => scripted.aborts]] as const) {
        const before = aborts();
        const stream = client.messages.stream({ model, max_tokens: 32, messages: user('Talk') });
        let text = '';
        await assert.rejects(
          (async () => {
            for await (const event of stream) {
              if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
              if (text.length > 0) stream.abort();
            }
          })(),
          Anthropic.APIUserAbortError,
        );
        await until(`${model}: the upstream request is aborted`, () => aborts() === before + 1);
      }
    } finally {
      ant.knobs.holdAfterText = false;
    }
  });
});

describe('Messages: request ids', () => {
  test('answers and errors carry request-id, which the SDK reads; a native backend keeps its own', async () => {
    const sim = await startAnthropicSim();
    const oa = await startOpenAISim();
    const gw = await startGateway(`
model_list:
  - model_name: native
    litellm_params: { model: anthropic/claude-x, api_base: ${sim.url}, api_key: k }
  - model_name: bridged
    litellm_params: { model: hosted_vllm/m, api_base: ${oa.url}/v1 }
`);
    try {
      const client = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 });
      const bridged = await client.messages.create({ model: 'bridged', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
      assert.match(String(bridged._request_id), /\S/);
      const native = await client.messages.create({ model: 'native', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(native._request_id, 'req_sim');
      await assert.rejects(client.messages.create({ model: 'nope', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }), (error: unknown) => {
        assert.ok(error instanceof Anthropic.NotFoundError);
        assert.match(String(error.requestID), /\S/);
        return true;
      });
    } finally {
      await gw.close();
      await sim.close();
      await oa.close();
    }
  });
});
