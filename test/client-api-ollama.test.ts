// The real `ollama` client against the gateway's Ollama API: native Ollama backends (bytes forwarded as they came,
// NDJSON lines passed on one write each), an OpenAI-only backend and an Anthropic one through the bridge, the
// gateway's own errors in Ollama's shape, guards, failover, limits and client aborts.

import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ollama, type ChatRequest, type ChatResponse, type Tool } from 'ollama';
import { App } from '../core/app.ts';
import { parseConfig } from '../core/config/load.ts';
import { createLogger } from '../core/logger.ts';
import { definePlugin, type ModuleSet, type PluginModule, type Usage } from '../core/plugin/api.ts';
import { listen } from '../core/server/listener.ts';
import { STANDARD_MODULES } from '../plugins/standard.ts';
import { post, ROOT, until } from './helpers.ts';
import { startAnthropicSim, type AnthropicSim } from './sim/anthropic-sim.ts';
import { OLLAMA_VERSION, startOllamaSim, type OllamaSim } from './sim/ollama-sim.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';

const MASTER = 'sk-master-ollama-0001';
const TPM_KEY = 'sk-tpm-ollama-0001';
const RPM_KEY = 'sk-rpm-ollama-0001';
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const TOOLS: Tool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
];
const NOTICE = 'The response was stopped by the content policy (scanner: ban_substrings).';

/** What the test plugin saw of each request when the gateway closed its books on it. */
const seen: { api: string; outcome: string; usage: Usage | null }[] = [];
const recorder = definePlugin({
  id: 'test.usage',
  create: () => ({ wantsUsage: true, log: (ctx) => void seen.push({ api: ctx.api, outcome: ctx.outcome, usage: ctx.usage }) }),
});
const MODULES: ModuleSet = { ...STANDARD_MODULES, plugins: { ...STANDARD_MODULES.plugins, 'test.usage': async (): Promise<PluginModule> => ({ default: recorder as PluginModule['default'] }) } };

const closers: (() => Promise<void>)[] = [];
after(() => Promise.all(closers.map((close) => close())));

async function gateway(yaml: string): Promise<string> {
  const app = await App.create(parseConfig(yaml, resolve(ROOT, 'test-config.yaml'), {}), MODULES, createLogger('silent'));
  const listening = await listen(app, 0, '127.0.0.1');
  closers.push(() => listening.close(1000));
  return `http://127.0.0.1:${listening.port}`;
}

/** One HTTP exchange as the client's fetch saw it: the body it sent and the body chunks as they arrived. */
interface Seen {
  sent: string;
  status: number;
  headers: Headers;
  chunks: string[];
}

/** An `ollama` client whose fetch keeps the last exchange; `disconnect` drops it, even before its headers came. */
function client(host: string, headers: Record<string, string> = {}): { ollama: Ollama; last(): Seen; disconnect(): void } {
  let last: Seen | null = null;
  let cut = new AbortController();
  const tap: typeof fetch = async (input, init) => {
    cut = new AbortController();
    const res = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal });
    const exchange: Seen = { sent: typeof init?.body === 'string' ? init.body : '', status: res.status, headers: res.headers, chunks: [] };
    last = exchange;
    if (res.body === null) return res;
    const decoder = new TextDecoder();
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          exchange.chunks.push(decoder.decode(chunk, { stream: true }));
          out.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { ollama: new Ollama({ host, headers, fetch: tap }), last: () => last!, disconnect: () => cut.abort() };
}

const bearer = (key: string): Record<string, string> => ({ Authorization: `Bearer ${key}` });

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const parts: T[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** The client's ResponseError: its status and message (a string, never "[object Object]"). */
async function responseError(promise: Promise<unknown>, status: number): Promise<string> {
  const error = (await promise.then(() => assert.fail('expected a ResponseError'), (e: unknown) => e)) as Error & { status_code?: number; error?: unknown };
  assert.equal(error.name, 'ResponseError', String(error));
  assert.equal(error.status_code, status, error.message);
  assert.equal(typeof error.error, 'string');
  assert.doesNotMatch(error.message, /\[object Object\]/);
  return error.message;
}

/** The body of an error answer is exactly Ollama's `{"error": "<message>"}`. */
function assertOllamaError(exchange: Seen, message: string): void {
  assert.deepEqual(JSON.parse(exchange.chunks.join('')), { error: message });
}

let ollama: OllamaSim;
let broken: OllamaSim;
let dropping: OllamaSim;
let openai: Sim;
let anthropic: AnthropicSim;
let url: string;

before(async () => {
  [ollama, broken, dropping, openai, anthropic] = await Promise.all([
    startOllamaSim({ models: ['llama3.2', 'nomic-embed-text'], loaded: ['llama3.2'], record: true }),
    startOllamaSim(),
    startOllamaSim(),
    startOpenAISim({ text: 'Hello from vLLM' }),
    startAnthropicSim({ apiKey: 'sk-ant-backend', text: 'Hello from Claude.' }),
  ]);
  broken.knobs.status = 500;
  dropping.knobs.dropAfterLines = 0;
  for (const sim of [ollama, broken, dropping, openai, anthropic]) closers.push(() => sim.close());
  url = await gateway(`
general_settings: { master_key: ${MASTER} }
keys:
  - { key: ${TPM_KEY}, alias: tpm, tpm: 1000000 }
  - { key: ${RPM_KEY}, alias: rpm, rpm: 2 }
plugins: [auth.api_key, limit.key, route.round_robin, test.usage]
router_settings: { num_retries: 1, retry_after: 0 }
localizer:
  messages:
    fr: { SLUICE_MODEL_NOT_FOUND: "Le modèle « {model} » n'existe pas." }
model_list:
  - { model_name: llama, litellm_params: { model: ollama_chat/llama3.2, api_base: "${ollama.url}" } }
  - { model_name: nomic, litellm_params: { model: ollama/nomic-embed-text, api_base: "${ollama.url}" } }
  - { model_name: vllm, litellm_params: { model: hosted_vllm/sim-model, api_base: "${openai.url}/v1" } }
  - { model_name: claude, litellm_params: { model: anthropic/claude-sonnet-4, api_base: "${anthropic.url}", api_key: sk-ant-backend } }
  - { model_name: broken, litellm_params: { model: ollama_chat/llama3.2, api_base: "${broken.url}" } }
  - { model_name: failover, litellm_params: { model: ollama_chat/llama3.2, api_base: "${broken.url}", order: 1 } }
  - { model_name: failover, litellm_params: { model: ollama_chat/llama3.2, api_base: "${ollama.url}", order: 2 } }
  - { model_name: cut, litellm_params: { model: ollama_chat/llama3.2, api_base: "${dropping.url}" } }
  - { model_name: dropover, litellm_params: { model: ollama_chat/llama3.2, api_base: "${dropping.url}", order: 1 } }
  - { model_name: dropover, litellm_params: { model: ollama_chat/llama3.2, api_base: "${ollama.url}", order: 2 } }
`);
});

const ANSWER = 'tok0 tok1 tok2 tok3 tok4';
const user = (content: string): ChatRequest['messages'] => [{ role: 'user', content }];

describe('an Ollama backend: the API passes through', () => {
  test('GET / and HEAD / without a key; version, list, ps and show with one; list without a key is a 401', async () => {
    const root = await fetch(`${url}/`);
    assert.equal(root.status, 200);
    assert.equal(await root.text(), 'Ollama is running');
    const head = await fetch(`${url}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    const { ollama: master } = client(url, bearer(MASTER));
    assert.deepEqual(await master.version(), { version: OLLAMA_VERSION });
    const groups = ['llama', 'nomic', 'vllm', 'claude', 'broken', 'failover', 'cut', 'dropover'];
    assert.deepEqual((await master.list()).models.map((m) => m.name).sort(), [...groups].sort());
    assert.deepEqual((await master.ps()).models.map((m) => m.model).sort(), [...groups].sort());
    const show = await master.show({ model: 'vllm' });
    assert.deepEqual(show.capabilities, ['completion']);
    assert.match(show.modelfile, /FROM vllm/);
    const anonymous = client(url);
    const unauthorized = await responseError(anonymous.ollama.list(), 401);
    assertOllamaError(anonymous.last(), unauthorized);
    assert.equal(ollama.stats.requests, 0, 'the listings are the gateway\'s own');
  });

  test('chat: the client\'s bytes reach the sim with only the model replaced; the answer comes back byte for byte', async () => {
    const { ollama: c, last } = client(url, bearer(MASTER));
    const request = {
      model: 'llama',
      messages: [{ role: 'user', content: 'What is in this picture?', images: [PNG] }],
      keep_alive: '10m',
      options: { num_ctx: 8192, temperature: 0.2 },
      format: { type: 'object', properties: { answer: { type: 'string' } } },
      tools: TOOLS,
      think: true,
      x_unknown_field: { kept: [1, 2] },
    };
    seen.length = 0;
    for (const stream of [false, true] as const) {
      const answer = stream ? await collect(await c.chat({ ...request, stream })) : [await c.chat({ ...request, stream })];
      const sent = last().sent;
      assert.match(sent, /"model":"llama",/);
      assert.equal(ollama.stats.lastRequest!.path, '/api/chat');
      assert.equal(ollama.stats.lastRequest!.body, sent.replace('"model":"llama",', '"model":"llama3.2",'));
      for (const field of ['keep_alive', 'num_ctx', 'format', 'images', 'tools', 'think', 'x_unknown_field']) assert.ok(sent.includes(`"${field}"`), field);
      assert.equal(last().chunks.join(''), ollama.lastAnswer);
      assert.equal(answer.map((part) => part.message.content).join(''), ANSWER);
      assert.equal(answer.at(-1)!.model, 'llama3.2', 'the backend\'s own answer, untouched');
      assert.equal(answer.at(-1)!.done, true);
      await until('the request is logged', () => seen.length === 1);
      assert.deepEqual(seen[0]!.usage, { promptTokens: answer.at(-1)!.prompt_eval_count, completionTokens: 5, totalTokens: answer.at(-1)!.prompt_eval_count + 5 });
      seen.length = 0;
    }
  });

  test('a paced stream reaches the client one line per chunk, as the sim sent each', async () => {
    const { ollama: c, last } = client(url, bearer(MASTER));
    ollama.knobs.holdAfterLines = 1;
    try {
      // The sim writes the next line only once the client has the previous one, so no two can arrive together.
      const parts: ChatResponse[] = [];
      for await (const part of await c.chat({ model: 'llama', messages: user('Count'), stream: true })) {
        parts.push(part);
        ollama.release(1);
      }
      assert.equal(parts.length, 6);
      const lines = ollama.lastAnswer.split(/(?<=\n)/);
      assert.equal(lines.length, 6);
      assert.deepEqual(last().chunks, lines);
    } finally {
      ollama.knobs.holdAfterLines = null;
    }
  });

  test('generate, embed and the legacy embeddings go to the same native routes', async () => {
    const { ollama: c, last } = client(url, bearer(MASTER));
    const whole = await c.generate({ model: 'llama', prompt: 'Why is the sky blue?', system: 'Be brief.', stream: false, keep_alive: 0 });
    assert.equal(whole.response, ANSWER);
    assert.equal(ollama.stats.lastRequest!.path, '/api/generate');
    assert.equal(ollama.stats.lastRequest!.body, last().sent.replace('"model":"llama"', '"model":"llama3.2"'));
    const streamed = await collect(await c.generate({ model: 'llama', prompt: 'Why is the sky blue?', stream: true }));
    assert.equal(streamed.map((part) => part.response).join(''), ANSWER);
    assert.equal(last().chunks.join(''), ollama.lastAnswer);
    const embed = await c.embed({ model: 'nomic', input: ['sky', 'grass'], truncate: true });
    assert.equal(ollama.stats.lastRequest!.path, '/api/embed');
    assert.equal(JSON.parse(ollama.stats.lastRequest!.body).model, 'nomic-embed-text');
    assert.equal(last().chunks.join(''), ollama.lastAnswer);
    assert.equal(embed.embeddings.length, 2);
    const legacy = await c.embeddings({ model: 'nomic', prompt: 'sky' });
    assert.equal(ollama.stats.lastRequest!.path, '/api/embeddings');
    assert.deepEqual(legacy.embedding, embed.embeddings[0]);
  });
});

describe('an OpenAI-only backend, through the bridge', () => {
  test('chat streamed and not, generate and embed, translated; usage is counted against the key\'s tpm', async (t) => {
    // The limiter reads Date.now(): held still, so its minute window cannot roll over between requests.
    const clock = Date.now();
    t.mock.method(Date, 'now', () => clock);
    const { ollama: c, last } = client(url, bearer(TPM_KEY));
    let remaining: number | null = null;
    /** Each answer's usage, as the test plugin saw it, is what the next request finds gone from the key's minute. */
    const charged = async (prompt: number | undefined, completion: number | undefined): Promise<void> => {
      const left = Number(last().headers.get('x-ratelimit-remaining-tokens'));
      if (remaining !== null) assert.equal(left, remaining);
      await until('the request is logged', () => seen.length === 1);
      const entry = seen.pop()!;
      assert.equal(entry.api, 'ollama');
      assert.deepEqual(entry.usage, { promptTokens: prompt, completionTokens: completion, totalTokens: prompt! + completion! });
      remaining = left - entry.usage!.totalTokens;
    };
    seen.length = 0;
    const request = { model: 'vllm', messages: user('Hi there'), tools: TOOLS, format: 'json', options: { temperature: 0.5, num_ctx: 4096 }, keep_alive: '5m', think: 'high' as const };
    const whole = await c.chat({ ...request, stream: false });
    assert.equal(whole.message.content, 'Hello from vLLM');
    assert.equal(whole.model, 'vllm');
    assert.deepEqual(JSON.parse(openai.stats.lastRequest!.body), {
      messages: [{ role: 'user', content: 'Hi there' }],
      tools: TOOLS,
      temperature: 0.5,
      response_format: { type: 'json_object' },
      reasoning_effort: 'high',
      stream: false,
      model: 'sim-model',
    });
    await charged(whole.prompt_eval_count, whole.eval_count);

    const parts = await collect(await c.chat({ ...request, stream: true }));
    assert.equal(parts.map((p) => p.message.content).join(''), 'Hello from vLLM');
    assert.match(last().headers.get('content-type')!, /^application\/x-ndjson/);
    assert.equal(last().chunks.join('').split('\n').filter((l) => l !== '').length, parts.length);
    const done = parts.at(-1)!;
    assert.equal(done.done_reason, 'stop');
    assert.deepEqual(JSON.parse(openai.stats.lastRequest!.body).stream_options, { include_usage: true });
    await charged(done.prompt_eval_count, done.eval_count);

    const generated = await c.generate({ model: 'vllm', prompt: 'Why?', system: 'Be brief.', stream: false });
    assert.equal(generated.response, 'Hello from vLLM');
    assert.equal(openai.stats.lastRequest!.path, '/v1/chat/completions');
    assert.deepEqual(JSON.parse(openai.stats.lastRequest!.body).messages, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Why?' }]);
    await charged(generated.prompt_eval_count, generated.eval_count);

    const embedded = await c.embed({ model: 'vllm', input: ['sky', 'grass'] });
    assert.equal(openai.stats.lastRequest!.path, '/v1/embeddings');
    await charged(embedded.prompt_eval_count, 0);
    // Both simulators embed by the same hash: the bridged vectors are the native ones.
    const native = await client(url, bearer(MASTER)).ollama.embed({ model: 'nomic', input: ['sky', 'grass'] });
    assert.deepEqual(embedded.embeddings, native.embeddings);
  });
});

describe('an anthropic/ backend: Ollama to OpenAI to Messages', () => {
  test('chat streamed and not, and a tool call each way', async () => {
    const { ollama: c } = client(url, bearer(MASTER));
    const whole = await c.chat({ model: 'claude', messages: user('Hello'), stream: false, options: { num_predict: 64 } });
    assert.equal(whole.message.content, 'Hello from Claude.');
    assert.equal(whole.eval_count, 3);
    const sent = JSON.parse(anthropic.stats.lastRequest!.body) as Record<string, unknown>;
    assert.equal(anthropic.stats.lastRequest!.path, '/v1/messages');
    assert.equal(sent['model'], 'claude-sonnet-4');
    assert.equal(sent['max_tokens'], 64);
    const parts = await collect(await c.chat({ model: 'claude', messages: user('Hello'), stream: true }));
    assert.equal(parts.map((p) => p.message.content).join(''), 'Hello from Claude.');
    assert.equal(parts.at(-1)!.done, true);
    assert.equal(parts.at(-1)!.eval_count, 3);

    anthropic.knobs.toolName = 'get_weather';
    anthropic.knobs.toolInput = { city: 'Paris' };
    try {
      const call = await c.chat({ model: 'claude', messages: user('Weather in Paris?'), tools: TOOLS, stream: false });
      assert.deepEqual(call.message.tool_calls?.map((tc) => tc.function), [{ index: 0, name: 'get_weather', arguments: { city: 'Paris' } }]);
      assert.equal((JSON.parse(anthropic.stats.lastRequest!.body) as { tools: { name: string }[] }).tools[0]!.name, 'get_weather');
      const streamed = await collect(await c.chat({ model: 'claude', messages: user('Weather in Paris?'), tools: TOOLS, stream: true }));
      assert.deepEqual(streamed.flatMap((p) => p.message.tool_calls ?? []).map((tc) => tc.function.arguments), [{ city: 'Paris' }]);
    } finally {
      anthropic.knobs.toolName = null;
    }
  });
});

describe("the gateway's errors, in Ollama's shape", () => {
  test('unknown model 404, missing key 401, bad body 400, each {"error": message}', async () => {
    const { ollama: c, last } = client(url, bearer(MASTER));
    const notFound = await responseError(c.chat({ model: 'nope', messages: user('Hi') }), 404);
    assert.equal(notFound, 'The model `nope` does not exist or you do not have access to it.');
    assertOllamaError(last(), notFound);
    for (const caller of [client(url), client(url, bearer('sk-not-a-key'))]) {
      const unauthorized = await responseError(caller.ollama.chat({ model: 'llama', messages: user('Hi'), stream: false }), 401);
      assertOllamaError(caller.last(), unauthorized);
    }
    const loadCall = await responseError(c.generate({ model: 'vllm', prompt: '', stream: false }), 400);
    assert.match(loadCall, /'prompt' is empty/);
    const badMessages = await responseError(c.chat({ model: 'vllm', messages: 'Hi' as never, stream: false }), 400);
    assert.equal(badMessages, "Invalid value for 'messages': expected an array of messages.");
    const before = ollama.stats.requests;
    for (const [body, message] of [
      ['{"model":"llama","messages":', 'The request body is not valid JSON: Unexpected end of JSON input'],
      ['{"model":"llama","stream":"yes"}', "Invalid value for 'stream': must be a boolean."],
      ['{"messages":[]}', "Missing required parameter: 'model'."],
    ]) {
      const bad = await post(`${url}/api/chat`, body!, { authorization: `Bearer ${MASTER}` });
      assert.equal(bad.status, 400);
      assert.deepEqual(JSON.parse(bad.body.toString()), { error: message });
    }
    assert.equal(ollama.stats.requests, before, 'bad bodies stay at the gateway');
  });

  test('a backend 500 after the retries reaches the client as a ResponseError with the message', async () => {
    const before = broken.stats.requests;
    const { ollama: c, last } = client(url, bearer(MASTER));
    const message = await responseError(c.chat({ model: 'broken', messages: user('Hi'), stream: false }), 500);
    assert.equal(broken.stats.requests - before, 2, 'tried, then retried once');
    assert.equal(message, 'simulated error 500');
    assertOllamaError(last(), message);
    openai.knobs.status = 500;
    try {
      const requests = openai.stats.requests;
      const bridged = await responseError(c.chat({ model: 'vllm', messages: user('Hi'), stream: true }), 500);
      assert.equal(bridged, 'The server had an error while processing your request. Sorry about that!');
      assertOllamaError(last(), bridged);
      assert.equal(openai.stats.requests - requests, 2);
    } finally {
      openai.knobs.status = null;
    }
  });

  test("a key's rpm: the third request in the minute is a 429", async (t) => {
    const clock = Date.now();
    t.mock.method(Date, 'now', () => clock);
    const { ollama: c, last } = client(url, bearer(RPM_KEY));
    for (let i = 0; i < 2; i++) assert.equal((await c.chat({ model: 'llama', messages: user('Hi'), stream: false })).done, true);
    const message = await responseError(c.chat({ model: 'llama', messages: user('Hi'), stream: false }), 429);
    assert.match(message, /Request limit for key:.* reached: 2 requests a minute/);
    assertOllamaError(last(), message);
    assert.ok(Number(last().headers.get('retry-after')) > 0);
  });

  test('Accept-Language: fr gives the French message, still {"error": message}', async () => {
    const { ollama: c, last } = client(url, { ...bearer(MASTER), 'Accept-Language': 'fr' });
    const message = await responseError(c.chat({ model: 'nope', messages: user('?'), stream: false }), 404);
    assert.equal(message, "Le modèle « nope » n'existe pas.");
    assert.equal(last().headers.get('content-language'), 'fr');
    assertOllamaError(last(), message);
  });
});

describe('guards', () => {
  let guardedOllama: OllamaSim;
  let guardedOpenAI: Sim;
  let guarded: string;
  before(async () => {
    guardedOllama = await startOllamaSim({ text: 'alpha beta gamma delta epsilon', record: true });
    // A long tail at a steady pace: the stream is still running when the guard stops it.
    guardedOpenAI = await startOpenAISim({ text: `alpha beta gamma${' more'.repeat(1000)}`, chunkIntervalMs: 20 });
    closers.push(() => guardedOllama.close(), () => guardedOpenAI.close());
    guarded = await gateway(`
plugins:
  - route.round_robin
  - { name: guard.input.ban_substrings, options: { substrings: ["project nightingale"] } }
  - { name: guard.output.ban_substrings, options: { substrings: ["gamma"] } }
model_list:
  - { model_name: llama, litellm_params: { model: ollama_chat/llama3.2, api_base: "${guardedOllama.url}" } }
  - { model_name: vllm, litellm_params: { model: hosted_vllm/sim-model, api_base: "${guardedOpenAI.url}/v1" } }
`);
  });

  test('an output guard stops a native NDJSON stream (chat, generate): the lines before the match, a done line with the notice; upstream aborted', async () => {
    guardedOllama.knobs.holdAfterLines = 4;
    const { ollama: c, last } = client(guarded);
    const chat = await collect(await c.chat({ model: 'llama', messages: user('Say it'), stream: true }));
    assert.deepEqual(chat.map((p) => p.message.content), ['alpha ', 'beta ', NOTICE]);
    const lines = last().chunks.join('').split(/(?<=\n)/);
    assert.deepEqual(lines.slice(0, 2), guardedOllama.lastAnswer.split(/(?<=\n)/).slice(0, 2), 'the lines before the match as the sim sent them');
    assert.equal(lines.length, 3);
    await until('the sim saw the upstream request aborted', () => guardedOllama.stats.aborts === 1);
    const generate = await collect(await c.generate({ model: 'llama', prompt: 'Say it', stream: true }));
    assert.deepEqual(generate.map((p) => p.response), ['alpha ', 'beta ', NOTICE]);
    await until('the sim saw the upstream request aborted', () => guardedOllama.stats.aborts === 2);
    for (const last of [chat.at(-1)!, generate.at(-1)!]) assert.deepEqual([last.done, last.done_reason], [true, 'content_filter']);
    assert.equal(guardedOllama.held, 0);
  });

  test('an output guard stops a bridged stream the same way, and aborts the OpenAI backend', async () => {
    const { ollama: c } = client(guarded);
    const parts = await collect(await c.chat({ model: 'vllm', messages: user('Say it'), stream: true }));
    assert.equal(parts.slice(0, -1).map((p) => p.message.content).join(''), 'alpha beta ');
    assert.ok(parts.slice(0, -1).every((p) => !p.done));
    assert.equal(parts.at(-1)!.message.content, NOTICE);
    assert.equal(parts.at(-1)!.done_reason, 'content_filter');
    await until('the OpenAI sim saw the upstream request aborted', () => guardedOpenAI.stats.aborts === 1);
  });

  test('a blocked JSON answer is a 400 in Ollama\'s shape, native or bridged', async () => {
    const { ollama: c, last } = client(guarded);
    for (const model of ['llama', 'vllm']) {
      const message = await responseError(c.chat({ model, messages: user('Say it'), stream: false }), 400);
      assert.match(message, /ban_substrings/);
      assertOllamaError(last(), message);
    }
  });

  test('an input guard blocks /api/chat with a 400 in Ollama\'s shape; nothing goes upstream', async () => {
    const { ollama: c, last } = client(guarded);
    for (const model of ['llama', 'vllm']) {
      const before = [guardedOllama.stats.requests, guardedOpenAI.stats.requests];
      const message = await responseError(c.chat({ model, messages: user('Tell me about Project Nightingale.'), stream: true }), 400);
      assert.match(message, /ban_substrings/);
      assertOllamaError(last(), message);
      assert.deepEqual([guardedOllama.stats.requests, guardedOpenAI.stats.requests], before);
    }
  });
});

describe('failover and aborts', () => {
  test('the first deployment answers 500 or drops the connection: the client still gets the answer', async () => {
    const { ollama: c } = client(url, bearer(MASTER));
    const [failed, dropped] = [broken.stats.requests, dropping.stats.requests];
    const whole = await c.chat({ model: 'failover', messages: user('Hi'), stream: false });
    assert.equal(whole.message.content, ANSWER);
    assert.equal(broken.stats.requests, failed + 1);
    const parts = await collect(await c.chat({ model: 'dropover', messages: user('Hi'), stream: true }));
    assert.equal(parts.map((p) => p.message.content).join(''), ANSWER);
    assert.equal(dropping.stats.requests, dropped + 1);
    // Once a line has reached the client there is no retry: the stream ends in Ollama's error line.
    dropping.knobs.dropAfterLines = 2;
    try {
      const cut = await c.chat({ model: 'cut', messages: user('Hi'), stream: true });
      const contents: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const part of cut) contents.push(part.message.content);
        })(),
        /^Error: Upstream for model group "cut" \(deployment \w+\) closed the connection/,
      );
      assert.deepEqual(contents, ['tok0 ', 'tok1 ']);
    } finally {
      dropping.knobs.dropAfterLines = 0;
    }
  });

  test('a client that leaves mid-stream aborts the upstream request, native or bridged', async () => {
    const { ollama: c, disconnect } = client(url, bearer(MASTER));
    seen.length = 0;
    ollama.knobs.holdAfterLines = 1;
    const aborts = ollama.stats.aborts;
    try {
      const stream = await c.chat({ model: 'llama', messages: user('Hi'), stream: true });
      const lines = stream[Symbol.asyncIterator]();
      assert.equal(((await lines.next()).value as ChatResponse).message.content, 'tok0 ');
      stream.abort();
      await assert.rejects(lines.next(), { name: 'AbortError' });
    } finally {
      ollama.knobs.holdAfterLines = null;
    }
    await until('the Ollama sim saw the abort', () => ollama.stats.aborts === aborts + 1);
    // A bridged stream sends its headers with its first line (as Ollama does): the client leaves before that.
    openai.knobs.chunkIntervalMs = 60_000;
    try {
      const [openaiAborts, requests] = [openai.stats.aborts, openai.stats.requests];
      const pending = c.chat({ model: 'vllm', messages: user('Hi'), stream: true });
      await until('the stream is under way upstream', () => openai.stats.requests === requests + 1);
      disconnect();
      await assert.rejects(pending, { name: 'AbortError' });
      await until('the OpenAI sim saw the abort', () => openai.stats.aborts === openaiAborts + 1);
    } finally {
      openai.knobs.chunkIntervalMs = 0;
    }
    await until('both requests are logged', () => seen.length === 2);
    assert.deepEqual(seen.map((s) => [s.api, s.outcome]), [['ollama', 'aborted'], ['ollama', 'aborted']]);
  });
});
