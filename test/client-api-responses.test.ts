// OpenAI's Responses API as a client API, end to end: the official `openai` SDK against a real gateway, served
// natively (bytes forwarded), translated to chat completions (hosted_vllm/, ollama_chat/) and chained further to
// Anthropic's Messages (anthropic/); errors as the SDK's own classes, guards, token accounting and aborts.

import assert from 'node:assert/strict';
import { createServer, request, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, test } from 'node:test';
import OpenAI, { APIError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError, RateLimitError } from 'openai';
import { formatMessage } from '../plugins/localizer/catalogue.ts';
import { startAnthropicSim, type AnthropicSim } from './sim/anthropic-sim.ts';
import { startOllamaSim, type OllamaSim } from './sim/ollama-sim.ts';
import type { Sim } from './sim/openai-sim.ts';
import { closedAfterFile, post, until, type TestGateway } from './helpers.ts';

type Json = Record<string, unknown>;

const NATIVE_TEXT = 'Native words from the simulator.';
const CHAT_TEXT = 'Translated words from a chat backend.';
const NOTICE = 'The response was stopped by the content policy (scanner: ban_substrings).';
const AWS_KEY = 'AKIAZ7Q4XK2M3TRB5VWN';
/** Paced answers for guard and abort tests: the first word comes at once, then one every 100 ms for seconds. */
const SLOW_TEXT = `Alpha beta forbidden ${'word '.repeat(60).trim()}`;

const { sim, gateway, track } = closedAfterFile();

/** Bodies the SDK sent, as the exact strings it wrote. */
const sentBodies: string[] = [];
function sdk(url: string, apiKey = 'sk-client'): OpenAI {
  return new OpenAI({
    baseURL: `${url}/v1`,
    apiKey,
    maxRetries: 0,
    fetch: (input, init) => {
      if (typeof init?.body === 'string') sentBodies.push(init.body);
      return fetch(input, init);
    },
  });
}

const lastBody = (s: { stats: Sim['stats'] }): Json => JSON.parse(s.stats.lastRequest!.body) as Json;

/** Asserts that `promise` rejects with an SDK error of class `type`, then runs `check` on it. */
async function rejects<E extends APIError>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E, check: (error: E) => void = () => {}): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof type, String(error));
    check(error);
    return true;
  });
}

/** Sets knobs for one test, then puts them back. */
async function withKnobs<T>(target: Sim, knobs: Partial<Sim['knobs']>, run: () => Promise<T>): Promise<T> {
  const saved = { ...target.knobs };
  Object.assign(target.knobs, knobs);
  try {
    return await run();
  } finally {
    Object.assign(target.knobs, saved);
  }
}

type Served = { url: string; close(): Promise<void> };

async function serve(handler: RequestListener): Promise<Served> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A proxy in front of a backend that keeps the exact bytes of the last answer it passed back. */
async function recordingProxy(target: string): Promise<Served & { answer: () => Buffer }> {
  let answer = Buffer.alloc(0);
  const served = await serve((req, res) => {
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      const pieces: Buffer[] = [];
      res.writeHead(up.statusCode!, up.headers);
      up.on('data', (piece: Buffer) => pieces.push(piece)).on('end', () => (answer = Buffer.concat(pieces)));
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  return { ...served, answer: () => answer };
}

/** A chat backend that calls `get_weather` when offered tools, and answers the call's result in words. */
async function toolBackend(): Promise<Served & { bodies: Json[] }> {
  const bodies: Json[] = [];
  const head = { id: 'chatcmpl-t', object: 'chat.completion.chunk', created: 1700000000, model: 'tool-model' };
  const chunk = (delta: Json, finish: string | null): string => `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const call = (args: string, first: boolean): Json => ({
    tool_calls: [{ index: 0, ...(first ? { id: 'call_w1', type: 'function' } : {}), function: { ...(first ? { name: 'get_weather' } : {}), arguments: args } }],
  });
  const usage = { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 };
  const served = await serve((req, res) => {
    let raw = '';
    req.on('data', (piece: Buffer) => (raw += piece));
    req.on('end', () => {
      const body = JSON.parse(raw) as Json;
      bodies.push(body);
      const calling = Array.isArray(body['tools']) && (body['messages'] as Json[]).at(-1)!['role'] !== 'tool';
      if (body['stream'] === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const events = calling ? [chunk(call('{"city":', true), null), chunk(call('"Oslo"}', false), null), chunk({}, 'tool_calls')] : [chunk({ content: 'Sunny.' }, null), chunk({}, 'stop')];
        return void res.end(`${events.join('')}data: ${JSON.stringify({ ...head, choices: [], usage })}\n\ndata: [DONE]\n\n`);
      }
      const message = calling
        ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] }
        : { role: 'assistant', content: 'Sunny in Oslo, 21 degrees.' };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...head, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: calling ? 'tool_calls' : 'stop' }], usage }));
    });
  });
  return { ...served, bodies };
}

const WEATHER_TOOL = { type: 'function', name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: true } as const;

let nativeSim: Sim;
let chatSim: Sim;
let brokenSim: Sim;
let anthropicSim: AnthropicSim;
let ollamaSim: OllamaSim;
let tools: Awaited<ReturnType<typeof toolBackend>>;
let tap: Awaited<ReturnType<typeof recordingProxy>>;
let gw: TestGateway;
let client: OpenAI;

before(async () => {
  nativeSim = await sim({ text: NATIVE_TEXT, responses: true });
  chatSim = await sim({ text: CHAT_TEXT });
  brokenSim = await sim({ status: 500 });
  anthropicSim = track(await startAnthropicSim({ apiKey: 'sk-ant-backend', text: 'Bonjour from Claude.' }));
  ollamaSim = track(await startOllamaSim({ models: ['llama3.2'], tokens: 4 }));
  tools = track(await toolBackend());
  tap = track(await recordingProxy(nativeSim.url));
  // Explicit plugins: no health probes, so request counts are the test's own and the broken backend stays routed.
  gw = await gateway(`
router_settings: { num_retries: 1 }
plugins: [route.round_robin]
model_list:
  - model_name: native
    litellm_params: { model: openai/sim-model, api_base: ${nativeSim.url}/v1, api_key: sk-backend, native_apis: [responses] }
  - model_name: native-tap
    litellm_params: { model: openai/sim-model, api_base: ${tap.url}/v1, native_apis: [responses] }
  - model_name: vllm
    litellm_params: { model: hosted_vllm/served-model, api_base: ${chatSim.url}/v1 }
  - model_name: tools
    litellm_params: { model: hosted_vllm/tool-model, api_base: ${tools.url}/v1 }
  - model_name: broken
    litellm_params: { model: hosted_vllm/broken, api_base: ${brokenSim.url}/v1 }
  - model_name: claude
    litellm_params: { model: anthropic/claude-sonnet-4, api_base: ${anthropicSim.url}, api_key: sk-ant-backend }
  - model_name: llama
    litellm_params: { model: ollama_chat/llama3.2, api_base: ${ollamaSim.url} }
`);
  client = sdk(gw.url);
});

describe('native pass-through (native_apis: [responses])', () => {
  test('create and stream: the backend gets the client body byte for byte but the model; unknown fields pass', async () => {
    const params = { model: 'native', input: 'Hello there', instructions: 'Be brief.', temperature: 0.2, x_vendor_knob: { depth: 3 } };
    const response = await client.responses.create(params as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    assert.equal(response.output_text, NATIVE_TEXT);
    assert.equal(response.status, 'completed');
    assert.equal(nativeSim.stats.lastRequest!.path, '/v1/responses');
    assert.equal(nativeSim.stats.lastRequest!.headers['authorization'], 'Bearer sk-backend');
    const clientBody = sentBodies.at(-1)!;
    assert.match(clientBody, /"x_vendor_knob":\{"depth":3\}/);
    assert.equal(nativeSim.stats.lastRequest!.body, clientBody.replace('"model":"native"', '"model":"sim-model"'));

    const stream = client.responses.stream({ model: 'native', input: 'Hello there', store: true, previous_response_id: 'resp_kept' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    assert.deepEqual(deltas, NATIVE_TEXT.split(/(?<= )/));
    assert.equal(final.output_text, NATIVE_TEXT);
    assert.equal(final.previous_response_id, 'resp_kept', 'stateful fields are the backend\'s business when native');
    assert.equal(nativeSim.stats.lastRequest!.body, sentBodies.at(-1)!.replace('"model":"native"', '"model":"sim-model"'));
  });

  test('the SSE bytes reach the client exactly as the backend sent them', async () => {
    const res = await post(`${gw.url}/v1/responses`, JSON.stringify({ model: 'native-tap', input: 'Hi', stream: true }));
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const upstream = tap.answer();
    assert.match(upstream.toString(), /^event: response\.created\n/);
    assert.match(upstream.toString(), /\nevent: response\.completed\ndata: [^\n]+\n\n$/);
    assert.deepEqual(res.body, upstream);
    const json = await post(`${gw.url}/v1/responses`, JSON.stringify({ model: 'native-tap', input: 'Hi' }));
    assert.deepEqual(json.body, tap.answer());
  });
});

describe('translated to chat completions (hosted_vllm/, no native Responses)', () => {
  test('create: output_text, instructions as a system message, usage, the requested model', async () => {
    const response = await client.responses.create({ model: 'vllm', input: 'Say hi', instructions: 'Be terse.', max_output_tokens: 50 });
    assert.equal(response.output_text, CHAT_TEXT);
    assert.equal(response.status, 'completed');
    assert.equal(response.model, 'vllm');
    assert.equal(response.instructions, 'Be terse.');
    assert.match(response.id, /^resp_/);
    assert.equal(chatSim.stats.lastRequest!.path, '/v1/chat/completions');
    const sent = lastBody(chatSim);
    assert.equal(sent['model'], 'served-model');
    assert.equal(sent['max_tokens'], 50);
    assert.deepEqual(sent['messages'], [
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Say hi' },
    ]);
    const usage = response.usage!;
    assert.equal(usage.output_tokens, CHAT_TEXT.split(' ').length);
    assert.ok(usage.input_tokens > 0);
    assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
  });

  test('stream: every event in OpenAI\'s order with consecutive sequence numbers, usage on response.completed', async () => {
    const stream = await client.responses.create({ model: 'vllm', input: 'Say hi', stream: true });
    const types: string[] = [];
    const sequence: number[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    const words = CHAT_TEXT.split(' ').length;
    const opening = ['created', 'in_progress', 'output_item.added', 'content_part.added'];
    const closing = ['output_text.done', 'content_part.done', 'output_item.done', 'completed'];
    assert.deepEqual(types, [...opening, ...Array<string>(words).fill('output_text.delta'), ...closing].map((t) => `response.${t}`));
    assert.deepEqual(sequence, types.map((_, i) => i));
    assert.equal(text, CHAT_TEXT);
    assert.equal(completed!.usage!.output_tokens, words);
    assert.deepEqual(lastBody(chatSim)['stream_options'], { include_usage: true });
  });

  test('stream(): finalResponse with the text and usage', async () => {
    const final = await client.responses.stream({ model: 'vllm', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Say hi' }] }] }).finalResponse();
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, CHAT_TEXT);
    assert.ok(final.usage!.total_tokens > final.usage!.output_tokens);
    assert.deepEqual((lastBody(chatSim)['messages'] as Json[])[0], { role: 'user', content: [{ type: 'text', text: 'Say hi' }] });
  });

  test('function calls round trip: a function_call item out, its function_call_output back in', async () => {
    const first = await client.responses.create({ model: 'tools', input: 'Weather in Oslo?', tools: [WEATHER_TOOL] });
    const call = first.output.find((item) => item.type === 'function_call');
    assert.ok(call !== undefined && call.type === 'function_call');
    assert.deepEqual([call.name, call.call_id, JSON.parse(call.arguments)], ['get_weather', 'call_w1', { city: 'Oslo' }]);
    assert.deepEqual(tools.bodies.at(-1)!['tools'], [
      { type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: WEATHER_TOOL.parameters, strict: true } },
    ]);

    const second = await client.responses.create({
      model: 'tools',
      tools: [WEATHER_TOOL],
      input: [{ role: 'user', content: 'Weather in Oslo?' }, call, { type: 'function_call_output', call_id: call.call_id, output: '{"temp":21,"sky":"sunny"}' }],
    });
    assert.equal(second.output_text, 'Sunny in Oslo, 21 degrees.');
    assert.deepEqual(tools.bodies.at(-1)!['messages'], [
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_w1', content: '{"temp":21,"sky":"sunny"}' },
    ]);

    const stream = client.responses.stream({ model: 'tools', input: 'Weather in Oslo?', tools: [WEATHER_TOOL] });
    const argumentDeltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (event) => argumentDeltas.push(event.delta));
    const final = await stream.finalResponse();
    assert.deepEqual(argumentDeltas, ['{"city":', '"Oslo"}']);
    const streamed = final.output.find((item) => item.type === 'function_call');
    assert.deepEqual(streamed && streamed.type === 'function_call' ? [streamed.call_id, streamed.parsed_arguments] : null, ['call_w1', { city: 'Oslo' }]);
    assert.equal(final.usage!.total_tokens, 27);
  });

  test('stateful requests and built-in tools are a 400 BadRequestError naming the param; nothing goes upstream', async () => {
    const before = chatSim.stats.requests;
    const refused = (params: Json, param: string, message: RegExp): Promise<void> =>
      rejects(client.responses.create({ model: 'vllm', input: 'Hi', ...params } as OpenAI.Responses.ResponseCreateParamsNonStreaming), BadRequestError, (error) => {
        assert.deepEqual([error.status, error.param, error.type], [400, param, 'invalid_request_error']);
        assert.match(error.message, message);
      });
    await refused({ previous_response_id: 'resp_123' }, 'previous_response_id', /statelessly/);
    await refused({ store: true }, 'store', /store: true/);
    await refused({ tools: [{ type: 'web_search' }] }, 'tools[0].type', /web_search/);
    await refused({ stream: true, tools: [WEATHER_TOOL, { type: 'file_search', vector_store_ids: ['vs_1'] }] }, 'tools[1].type', /file_search/);
    assert.equal(chatSim.stats.requests, before);
  });
});

describe('through other backends', () => {
  test('anthropic/: create and stream, chained through chat to Messages', async () => {
    const response = await client.responses.create({ model: 'claude', input: 'Hi', instructions: 'Be kind.', max_output_tokens: 64 });
    assert.equal(response.output_text, 'Bonjour from Claude.');
    assert.ok(response.usage!.output_tokens > 0);
    assert.equal(anthropicSim.stats.lastRequest!.path, '/v1/messages');
    const sent = lastBody(anthropicSim);
    assert.equal(sent['system'], 'Be kind.');
    assert.equal(sent['max_tokens'], 64);
    assert.deepEqual(sent['messages'], [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }]);

    const stream = client.responses.stream({ model: 'claude', input: 'Hi' });
    let text = '';
    stream.on('response.output_text.delta', (event) => (text += event.delta));
    const final = await stream.finalResponse();
    assert.equal(text, 'Bonjour from Claude.');
    assert.equal(final.output_text, 'Bonjour from Claude.');
    assert.equal(lastBody(anthropicSim)['stream'], true);
  });

  test('ollama_chat/: create and stream through Ollama\'s chat endpoint', async () => {
    const response = await client.responses.create({ model: 'llama', input: 'Hi' });
    assert.equal(response.output_text, 'tok0 tok1 tok2 tok3');
    assert.equal(ollamaSim.stats.lastRequest!.path, '/v1/chat/completions');
    assert.equal(lastBody(ollamaSim)['model'], 'llama3.2');
    const final = await client.responses.stream({ model: 'llama', input: 'Hi' }).finalResponse();
    assert.equal(final.output_text, 'tok0 tok1 tok2 tok3');
    assert.equal(final.status, 'completed');
  });
});

describe('errors in OpenAI\'s shape', () => {
  test('unknown model: NotFoundError; in Vietnamese with Accept-Language, or when the input is', async () => {
    await rejects(client.responses.create({ model: 'no-such-model', input: 'Hi' }), NotFoundError, (error) => {
      assert.deepEqual([error.status, error.code, error.param, error.type], [404, 'model_not_found', 'model', 'invalid_request_error']);
    });
    const vietnamese = formatMessage('SLUICE_MODEL_NOT_FOUND', 'vi', { model: 'no-such-model' })!.message;
    await rejects(client.responses.create({ model: 'no-such-model', input: 'Hi' }, { headers: { 'accept-language': 'vi' } }), NotFoundError, (error) => {
      assert.equal(error.headers.get('content-language'), 'vi');
      assert.equal((error.error as Json)['message'], vietnamese);
    });
    // Without the header, the language of the last user input item decides.
    const question = 'Bạn có thể viết giúp tôi một bài thơ ngắn về mưa mùa thu cho lớp học không?';
    await rejects(client.responses.create({ model: 'no-such-model', input: [{ role: 'user', content: question }] }), NotFoundError, (error) => {
      assert.equal((error.error as Json)['message'], vietnamese);
    });
  });

  test('a backend 500 after the retry: InternalServerError, the backend tried twice', async () => {
    const before = brokenSim.stats.requests;
    await rejects(client.responses.create({ model: 'broken', input: 'Hi' }), InternalServerError, (error) => {
      assert.deepEqual([error.status, error.type, error.headers.get('x-litellm-attempted-retries')], [500, 'server_error', '1']);
    });
    assert.equal(brokenSim.stats.requests, before + 2);
  });

  for (const [kind, model] of [['native', 'native'], ['translated', 'vllm']] as const) {
    test(`${kind}: a backend cut mid-stream ends with an error event, which the SDK throws`, async () => {
      const backend = kind === 'native' ? nativeSim : chatSim;
      await withKnobs(backend, { dropAfterChunks: 3 }, async () => {
        const stream = await client.responses.create({ model, input: 'Hi', stream: true });
        const types: string[] = [];
        const reading = (async () => {
          for await (const event of stream) types.push(event.type);
        })();
        await rejects(reading, APIError, (error) => assert.match(error.message, /closed the connection/));
        assert.equal(types[0], 'response.created');
        assert.ok(!types.includes('response.completed'), types.join());
      });
      const raw = await withKnobs(backend, { dropAfterChunks: 3 }, () => post(`${gw.url}/v1/responses`, JSON.stringify({ model, input: 'Hi', stream: true })));
      const events = raw.body.toString().trimEnd().split('\n\n');
      const error = events.at(-1)!;
      assert.match(error, /^event: error\ndata: \{"type":"error","code":"upstream_connection_reset","message":"Upstream for model group \\"[a-z]+\\" \(deployment \w+\) closed the connection/);
      // The error event continues the stream's sequence numbers, as every Responses event does.
      const sequence = events.map((e) => (JSON.parse(e.slice(e.indexOf('data: ') + 6)) as { sequence_number: number }).sequence_number);
      assert.deepEqual(sequence, sequence.map((_, i) => i), error);
    });
  }
});

describe('auth and limits', () => {
  let limited: TestGateway;
  before(async () => {
    limited = await gateway(`
general_settings: { master_key: sk-master-0000 }
plugins: [auth.api_key, limit.key, route.round_robin]
keys:
  - { key: sk-rpm-0000, alias: r, rpm: 1 }
  - { key: sk-tpm-0000, alias: t, tpm: 1000 }
model_list:
  - model_name: native
    litellm_params: { model: openai/sim-model, api_base: ${nativeSim.url}/v1, native_apis: [responses] }
  - model_name: vllm
    litellm_params: { model: hosted_vllm/served-model, api_base: ${chatSim.url}/v1 }
`);
  });

  test('a bad key is an AuthenticationError; a key over its rpm a RateLimitError', async () => {
    await rejects(sdk(limited.url, 'sk-wrong').responses.create({ model: 'vllm', input: 'Hi' }), AuthenticationError, (error) => assert.equal(error.status, 401));
    const keyed = sdk(limited.url, 'sk-rpm-0000');
    assert.equal((await keyed.responses.create({ model: 'vllm', input: 'Hi' })).output_text, CHAT_TEXT);
    await rejects(keyed.responses.create({ model: 'vllm', input: 'Hi' }), RateLimitError, (error) => {
      assert.equal(error.code, 'rate_limit_exceeded');
      assert.ok(Number(error.headers.get('retry-after')) > 0);
    });
  });

  test('tpm: the usage of response.completed (and of a JSON answer) is charged; then a large request is refused', async () => {
    const keyed = sdk(limited.url, 'sk-tpm-0000');
    // limit.key's token window of the key aliased t, read without charging it.
    const left = async (): Promise<number> => (await limited.gateway.store.windowCheck('tpm:key:t', 1000, 60_000, 0, Date.now())).remaining;
    let expected = 1000;
    for (const [model, stream] of [['native', true], ['vllm', true], ['native', false]] as const) {
      const params = { model, input: 'Count my tokens' };
      const final = stream ? await keyed.responses.stream(params).finalResponse() : await keyed.responses.create(params);
      const total = final.usage!.total_tokens;
      assert.ok(total > final.usage!.output_tokens, JSON.stringify(final.usage));
      expected -= total;
      let now = 0;
      await until(`${model} (stream: ${stream}): ${total} tokens charged`, () => {
        void left().then((n) => (now = n));
        return now === expected;
      });
    }
    await rejects(keyed.responses.create({ model: 'vllm', input: 'x'.repeat(4 * (expected + 8)) }), RateLimitError, (error) => {
      assert.match(error.message, new RegExp(`Token limit .* ${expected} of 1000 left`));
    });
  });
});

describe('guards', () => {
  let guarded: TestGateway;
  let guardedClient: OpenAI;
  before(async () => {
    guarded = await gateway(`
model_list:
  - model_name: native
    litellm_params: { model: openai/sim-model, api_base: ${nativeSim.url}/v1, native_apis: [responses] }
  - model_name: vllm
    litellm_params: { model: hosted_vllm/served-model, api_base: ${chatSim.url}/v1 }
plugins:
  - route.round_robin
  - name: guard.input.ban_substrings
    options: { substrings: ["project nightingale"], action: block, messages: all }
  - name: guard.input.secrets
    options: { action: redact }
  - name: guard.output.ban_substrings
    options: { substrings: ["forbidden"] }
`);
    guardedClient = sdk(guarded.url);
  });

  test('input guard: a 400 content_filter naming the input item or instructions; nothing goes upstream', async () => {
    const before = chatSim.stats.requests + nativeSim.stats.requests;
    const blocked = (params: Json, param: string): Promise<void> =>
      rejects(guardedClient.responses.create(params as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming), BadRequestError, (error) => {
        assert.deepEqual([error.code, error.param], ['content_filter', param]);
        assert.match(error.message, /ban_substrings/);
      });
    await blocked({ model: 'vllm', input: [{ role: 'user', content: 'Hi' }, { role: 'user', content: [{ type: 'input_text', text: 'About Project Nightingale?' }] }] }, 'input[1].content[0].text');
    await blocked({ model: 'native', input: [{ type: 'message', role: 'user', content: 'project  nightingale' }] }, 'input[0].content');
    await blocked({ model: 'vllm', instructions: 'Mention project nightingale.', input: 'Hi' }, 'instructions');
    await blocked({ model: 'native', input: 'Tell me of project nightingale', stream: true }, 'input');
    assert.equal(chatSim.stats.requests + nativeSim.stats.requests, before);
  });

  test('redaction: a secret in an input item reaches the backend redacted, native and translated', async () => {
    const input = [{ role: 'user' as const, content: `Deploy with key ${AWS_KEY} please` }];
    await guardedClient.responses.create({ model: 'native', input });
    assert.doesNotMatch(nativeSim.stats.lastRequest!.body, new RegExp(AWS_KEY));
    assert.match(((lastBody(nativeSim)['input'] as Json[])[0]!['content'] as string), /^Deploy with key \[REDACTED:aws[^\]]*\] please$/);
    await guardedClient.responses.create({ model: 'vllm', input });
    assert.doesNotMatch(chatSim.stats.lastRequest!.body, new RegExp(AWS_KEY));
    assert.match(((lastBody(chatSim)['messages'] as Json[])[0]!['content'] as string), /^Deploy with key \[REDACTED:aws[^\]]*\] please$/);
  });

  for (const [kind, model] of [['native', 'native'], ['translated', 'vllm']] as const) {
    test(`${kind}: the output guard stops a stream (incomplete, content_filter, the notice; upstream aborted) or refuses JSON`, async () => {
      const backend = kind === 'native' ? nativeSim : chatSim;
      await withKnobs(backend, { text: SLOW_TEXT, chunkIntervalMs: 100 }, async () => {
        const aborts = backend.stats.aborts;
        const stream = guardedClient.responses.stream({ model, input: 'Go on' });
        const deltas: string[] = [];
        stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
        const final = await stream.finalResponse();
        assert.equal(final.status, 'incomplete');
        assert.equal(final.incomplete_details?.reason, 'content_filter');
        assert.equal(final.output_text, `Alpha beta ${NOTICE}`);
        assert.deepEqual(deltas, ['Alpha ', 'beta ', NOTICE]);
        await until('the backend sees the abort', () => backend.stats.aborts === aborts + 1);
        // A JSON answer is held and read whole: the block is the content_filter error instead.
        await rejects(guardedClient.responses.create({ model, input: 'Go on' }), BadRequestError, (error) => {
          assert.deepEqual([error.code, (error.error as Json)['message']], ['content_filter', NOTICE]);
        });
      });
    });
  }
});

describe('client abort', () => {
  for (const [kind, model] of [['native', 'native'], ['translated', 'vllm']] as const) {
    test(`${kind}: a client that stops reading mid-stream aborts the upstream request`, async () => {
      const backend = kind === 'native' ? nativeSim : chatSim;
      await withKnobs(backend, { text: SLOW_TEXT, chunkIntervalMs: 100 }, async () => {
        const aborts = backend.stats.aborts;
        const stream = await client.responses.create({ model, input: 'Go on', stream: true });
        let first = '';
        for await (const event of stream) {
          if (event.type === 'response.output_text.delta') {
            first = event.delta;
            break; // ends the iteration: the SDK aborts its request
          }
        }
        assert.equal(first, 'Alpha ');
        await until('the backend sees the abort', () => backend.stats.aborts === aborts + 1);
      });
    });
  }
});
