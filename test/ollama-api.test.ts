// Ollama's native API over an OpenAI-only backend: requests translated to OpenAI's, answers (JSON, SSE streams,
// errors) translated back to Ollama's, checked line by line with a fixed clock, then end to end with the real
// `ollama` client against the OpenAI layer of the Ollama simulator, compared with what the simulator's native API
// answers for the same request.

import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import type { ChatResponse, Message } from 'ollama';
import { SluiceError } from '../core/errors.ts';
import {
  JSON_TYPE,
  NDJSON_TYPE,
  OLLAMA_ROUTES,
  OLLAMA_USAGE_MARK,
  OLLAMA_VERSION_BODY,
  OllamaResponseTranslator,
  imageUrl,
  ollamaBridge,
  ollamaErrorBody,
  ollamaErrorLine,
  ollamaIsStream,
  ollamaLineText,
  ollamaPs,
  ollamaShow,
  ollamaStopLine,
  ollamaTags,
  ollamaUsageOfLine,
} from '../core/providers/ollama-api.ts';
import type { OllamaClock } from '../core/providers/ollama-api.ts';
import { UPSTREAM_PATH } from '../core/providers/openai.ts';
import type { Endpoint } from '../core/config/models.ts';
import { startOllamaSim, OLLAMA_VERSION, type OllamaSim } from './sim/ollama-sim.ts';

type Json = Record<string, unknown>;

const TS = '2025-01-02T03:04:05.123456789Z';
/** Each reading one millisecond after the last: the translator reads at its start, first token and end. */
function counterClock(): OllamaClock {
  let ms = 0;
  return { now: () => ms++, timestamp: () => TS };
}

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]).toString('base64');
const GIF = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00', 'latin1').toString('base64');
const WEBP = Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1').toString('base64');

function toOpenAI(body: Json, endpoint: Endpoint): { endpoint: Endpoint; body: Json } {
  return ollamaBridge.toOpenAI(body, endpoint);
}

function rejects(body: Json, endpoint: Endpoint, param: string): SluiceError {
  let caught: unknown;
  try {
    toOpenAI(body, endpoint);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof SluiceError, `expected a SluiceError for ${param}`);
  assert.equal(caught.status, 400);
  assert.equal(caught.param, param);
  return caught;
}

describe('Ollama requests as OpenAI requests', () => {
  test('routes, and streaming unless stream is false (embeddings never)', () => {
    assert.deepEqual([...OLLAMA_ROUTES], [
      ['/api/chat', 'chat'],
      ['/api/generate', 'completions'],
      ['/api/embed', 'embeddings'],
      ['/api/embeddings', 'embeddings'],
    ]);
    assert.equal(ollamaIsStream({}, 'chat'), true);
    assert.equal(ollamaIsStream({ stream: true }, 'completions'), true);
    assert.equal(ollamaIsStream({ stream: false }, 'chat'), false);
    assert.equal(ollamaIsStream({ stream: null }, 'chat'), true);
    assert.equal(ollamaIsStream({ stream: true }, 'embeddings'), false);
  });

  test('a chat: roles, images as data URLs by their magic bytes, tool calls with ids, tool results by name', () => {
    const { endpoint, body } = toOpenAI(
      {
        model: 'llama3.2',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is this?', images: [PNG, JPEG] },
          { role: 'user', content: '', images: [GIF, WEBP, 'data:image/png;base64,AAAA'] },
          {
            role: 'assistant',
            content: '',
            thinking: 'the user wants weather',
            tool_calls: [
              { function: { name: 'get_weather', arguments: { city: 'Tokyo' } } },
              { id: 'call_given', function: { index: 1, name: 'get_time', arguments: {} } },
            ],
          },
          { role: 'tool', content: '{"time":"noon"}', tool_name: 'get_time' },
          { role: 'tool', content: '11 degrees', tool_name: 'get_weather' },
          { role: 'assistant', content: 'Sunny.', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
          { role: 'tool', content: '20 degrees', tool_call_id: 'own-id' },
          { role: 'USER', content: 'Thanks' },
        ],
        keep_alive: '5m',
      },
      'chat',
    );
    assert.equal(endpoint, 'chat');
    assert.deepEqual(body, {
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG}` } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: `data:image/gif;base64,${GIF}` } },
            { type: 'image_url', image_url: { url: `data:image/webp;base64,${WEBP}` } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_3_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } },
            { id: 'call_given', type: 'function', function: { name: 'get_time', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_given', content: '{"time":"noon"}' },
        { role: 'tool', tool_call_id: 'call_3_0', content: '11 degrees' },
        { role: 'assistant', content: 'Sunny.', tool_calls: [{ id: 'call_6_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'own-id', content: '20 degrees' },
        { role: 'user', content: 'Thanks' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  test('a tool result without a name answers the first open call', () => {
    const { body } = toOpenAI(
      {
        messages: [
          { role: 'assistant', content: '', tool_calls: [{ function: { name: 'a', arguments: {} } }, { function: { name: 'b', arguments: {} } }] },
          { role: 'tool', content: 'A' },
          { role: 'tool', content: 'B', tool_name: 'unknown' },
          { role: 'tool', content: 'C' },
        ],
      },
      'chat',
    );
    const ids = (body['messages'] as Json[]).slice(1).map((m) => m['tool_call_id']);
    assert.deepEqual(ids, ['call_0_0', 'call_0_1', 'call_3']);
  });

  test('tools, format, options and think', () => {
    const tool = { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
    const schema = { type: 'object', properties: { age: { type: 'integer' } }, required: ['age'] };
    const { body } = toOpenAI(
      {
        model: 'm',
        messages: [{ role: 'user', content: 'Hi' }],
        tools: [tool, { function: { name: 'untyped' } }],
        format: schema,
        think: 'max',
        stream: false,
        options: {
          temperature: 0.2,
          top_p: 0.9,
          top_k: 20,
          seed: 42,
          stop: ['\n', 'user:'],
          num_predict: 100,
          presence_penalty: 1.5,
          frequency_penalty: 1,
          repeat_penalty: 1.2,
          num_ctx: 4096,
          mirostat: 1,
          min_p: 0.05,
        },
      },
      'chat',
    );
    assert.deepEqual(body, {
      messages: [{ role: 'user', content: 'Hi' }],
      tools: [tool, { function: { name: 'untyped' }, type: 'function' }],
      temperature: 0.2,
      top_p: 0.9,
      top_k: 20,
      seed: 42,
      presence_penalty: 1.5,
      frequency_penalty: 1,
      max_tokens: 100,
      stop: ['\n', 'user:'],
      response_format: { type: 'json_schema', json_schema: { name: 'response', schema } },
      reasoning_effort: 'high',
      stream: false,
    });
    const json = toOpenAI({ messages: [{ role: 'user', content: 'x' }], format: 'json', think: 'low', options: { num_predict: -1, stop: 'END' } }, 'chat').body;
    assert.deepEqual(json['response_format'], { type: 'json_object' });
    assert.equal(json['reasoning_effort'], 'low');
    assert.equal(json['max_tokens'], undefined, 'num_predict -1 is no limit');
    assert.deepEqual(json['stop'], ['END']);
    for (const think of [true, false]) {
      assert.equal(toOpenAI({ messages: [{ role: 'user', content: 'x' }], think }, 'chat').body['reasoning_effort'], undefined);
    }
  });

  test('bad chat requests are refused naming the field', () => {
    rejects({}, 'chat', 'messages');
    rejects({ messages: 'hi' }, 'chat', 'messages');
    const load = rejects({ messages: [] }, 'chat', 'messages');
    assert.match(load.message, /load or unload the model/);
    rejects({ messages: [{ content: 'x' }] }, 'chat', 'messages[0].role');
    rejects({ messages: [{ role: 'user', content: 5 }] }, 'chat', 'messages[0].content');
    rejects({ messages: [{ role: 'user', content: 'x', images: [7] }] }, 'chat', 'messages[0].images[0]');
    rejects({ messages: [{ role: 'user', content: 'x' }], format: 'yaml' }, 'chat', 'format');
    rejects({ messages: [{ role: 'user', content: 'x' }], think: 'extreme' }, 'chat', 'think');
    rejects({ messages: [{ role: 'user', content: 'x' }], options: { temperature: '0.5' } }, 'chat', 'options.temperature');
    rejects({ messages: [{ role: 'user', content: 'x' }], options: { stop: [1] } }, 'chat', 'options.stop');
    rejects({ messages: [{ role: 'user', content: 'x' }], tools: {} }, 'chat', 'tools');
  });

  test('a generate request is a chat of its system and prompt, with its images', () => {
    const translated = toOpenAI({ model: 'llava', prompt: 'Describe', system: 'You see.', images: [PNG], format: 'json', think: 'medium', options: { num_predict: 5 }, context: [1, 2], template: '{{ .Prompt }}' }, 'completions');
    assert.equal(translated.endpoint, 'chat');
    assert.deepEqual(translated.body, {
      messages: [
        { role: 'system', content: 'You see.' },
        { role: 'user', content: [{ type: 'text', text: 'Describe' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] },
      ],
      max_tokens: 5,
      response_format: { type: 'json_object' },
      reasoning_effort: 'medium',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  test('a raw prompt or a suffix is a legacy completion; an empty prompt (a load call) is refused', () => {
    assert.deepEqual(toOpenAI({ prompt: '[INST] hi [/INST]', raw: true, system: 'ignored in raw mode', stream: false, options: { temperature: 0 } }, 'completions'), {
      endpoint: 'completions',
      body: { prompt: '[INST] hi [/INST]', temperature: 0, stream: false },
    });
    assert.deepEqual(toOpenAI({ prompt: 'def gcd(a, b):', suffix: '    return result', think: true }, 'completions'), {
      endpoint: 'completions',
      body: { prompt: 'def gcd(a, b):', suffix: '    return result', stream: true, stream_options: { include_usage: true } },
    });
    assert.match(rejects({ model: 'llama3.2' }, 'completions', 'prompt').message, /'prompt' is empty/);
    rejects({ prompt: '', keep_alive: 0 }, 'completions', 'prompt');
    rejects({ prompt: 42 }, 'completions', 'prompt');
    rejects({ prompt: 'x', raw: true, images: [PNG] }, 'completions', 'images');
    rejects({ prompt: 'x', suffix: 'y', format: 'json' }, 'completions', 'format');
  });

  test('embed and the legacy embeddings become an embeddings request', () => {
    assert.deepEqual(toOpenAI({ model: 'e', input: ['a', 'b'], truncate: false, dimensions: 256, keep_alive: 0 }, 'embeddings'), {
      endpoint: 'embeddings',
      body: { input: ['a', 'b'], dimensions: 256 },
    });
    assert.deepEqual(toOpenAI({ model: 'e', input: 'one' }, 'embeddings').body, { input: 'one' });
    assert.deepEqual(toOpenAI({ model: 'e', prompt: 'legacy', options: { temperature: 1 } }, 'embeddings').body, { input: 'legacy' });
    rejects({ model: 'e' }, 'embeddings', 'input');
    rejects({ model: 'e', input: [] }, 'embeddings', 'input');
    rejects({ model: 'e', input: [1, 2] }, 'embeddings', 'input');
    rejects({ model: 'e', input: '' }, 'embeddings', 'input');
    rejects({ model: 'e', prompt: '' }, 'embeddings', 'prompt');
    rejects({ model: 'e', input: 'x', dimensions: 0 }, 'embeddings', 'dimensions');
  });

  test('image types are read from the first bytes; unknown ones default to PNG', () => {
    assert.equal(imageUrl(JPEG), `data:image/jpeg;base64,${JPEG}`);
    assert.equal(imageUrl('AAAAAAAA'), 'data:image/png;base64,AAAAAAAA');
  });
});

/** Runs a translator over `chunks` of one answer: what the client gets, head and body. */
function run(translator: OllamaResponseTranslator, status: number, contentType: string, chunks: readonly Buffer[]): { status: number; headers: Json; deferred: boolean; body: string } {
  const head = translator.start(status, { 'content-type': contentType, 'content-length': '999', 'x-request-id': 'r1' });
  const out: Buffer[] = [];
  for (const chunk of chunks) out.push(translator.data(chunk));
  const end = translator.end();
  out.push(end.body);
  return head.deferred
    ? { status: end.status, headers: end.headers, deferred: true, body: Buffer.concat(out).toString('utf8') }
    : { status: head.status, headers: head.headers, deferred: false, body: Buffer.concat(out).toString('utf8') };
}

function translator(body: Json, endpoint: Endpoint, model = 'llama3.2'): OllamaResponseTranslator {
  return new OllamaResponseTranslator(model, body, endpoint, { clock: counterClock() });
}

function everyBytes(buffer: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) out.push(buffer.subarray(i, i + size));
  return out;
}

/** Cuts at pseudo-random points (a fixed seed), so splits land inside lines, JSON and UTF-8 characters. */
function oddSplits(buffer: Buffer, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let state = seed;
  let at = 0;
  while (at < buffer.length) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const size = 1 + (state % 23);
    out.push(buffer.subarray(at, at + size));
    at += size;
  }
  return out;
}

function sse(events: readonly (Json | string)[], lineEnd = '\n'): Buffer {
  return Buffer.from(events.map((event) => `data: ${typeof event === 'string' ? event : JSON.stringify(event)}${lineEnd}${lineEnd}`).join(''));
}

const chunk = (delta: Json, finish: string | null = null): Json => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'backend-model',
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
});

const STREAM_EVENTS: readonly (Json | string)[] = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ reasoning_content: 'Think é' }),
  chunk({ content: 'Héllo 👋' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Tōkyō"}' } }] }),
  chunk({}, 'tool_calls'),
  { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'backend-model', choices: [], usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 } },
  '[DONE]',
];

const STREAM_LINES = [
  `{"model":"llama3.2","created_at":"${TS}","message":{"role":"assistant","content":"","thinking":"Think é"},"done":false}`,
  `{"model":"llama3.2","created_at":"${TS}","message":{"role":"assistant","content":"Héllo 👋"},"done":false}`,
  `{"model":"llama3.2","created_at":"${TS}","message":{"role":"assistant","content":"","tool_calls":[` +
    `{"id":"call_a","function":{"index":0,"name":"get_weather","arguments":{"city":"Tōkyō"}}},` +
    `{"id":"call_b","function":{"index":1,"name":"get_time","arguments":{}}}]},"done":false}`,
  `{"model":"llama3.2","created_at":"${TS}","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",` +
    `"total_duration":2000000,"load_duration":0,"prompt_eval_count":12,"prompt_eval_duration":1000000,"eval_count":7,"eval_duration":1000000}`,
];

describe('OpenAI streams as Ollama NDJSON', () => {
  const cases: [string, (b: Buffer) => Buffer[], string][] = [
    ['whole', (b) => [b], '\n'],
    ['one byte at a time', (b) => everyBytes(b, 1), '\n'],
    ['odd splits', (b) => oddSplits(b, 7), '\n'],
    ['CRLF, one byte at a time', (b) => everyBytes(b, 1), '\r\n'],
    ['CRLF, odd splits', (b) => oddSplits(b, 99), '\r\n'],
  ];
  for (const [name, split, lineEnd] of cases) {
    test(`a chat stream with thinking, text, tool call fragments and a trailing usage chunk (${name})`, () => {
      const result = run(translator({ model: 'llama3.2', messages: [] }, 'chat'), 200, 'text/event-stream; charset=utf-8', split(sse(STREAM_EVENTS, lineEnd)));
      assert.equal(result.deferred, false);
      assert.deepEqual(result.headers, { 'x-request-id': 'r1', 'content-type': NDJSON_TYPE });
      assert.deepEqual(result.body.split('\n'), [...STREAM_LINES, '']);
    });
  }

  test('each line is sent as soon as its event is complete; the final line waits for [DONE]', () => {
    const t = translator({ messages: [] }, 'chat');
    t.start(200, { 'content-type': 'text/event-stream' });
    const events = STREAM_EVENTS.map((event) => sse([event]));
    assert.equal(t.data(events[0]!).toString(), '', 'the role-only chunk adds no line');
    assert.equal(t.data(events[1]!).toString(), `${STREAM_LINES[0]}\n`);
    assert.equal(t.data(events[2]!.subarray(0, 10)).toString(), '');
    assert.equal(t.data(events[2]!.subarray(10)).toString(), `${STREAM_LINES[1]}\n`);
    for (let i = 3; i < 7; i++) assert.equal(t.data(events[i]!).toString(), '', 'tool call fragments are held');
    assert.equal(t.data(events[7]!).toString(), `${STREAM_LINES[2]}\n`, 'calls go out whole at the finish');
    assert.equal(t.data(events[8]!).toString(), '', 'the usage chunk waits for the end');
    assert.equal(t.data(events[9]!).toString(), `${STREAM_LINES[3]}\n`);
    assert.equal(t.data(Buffer.from('data: {"choices":[]}\n\n')).toString(), '', 'nothing after [DONE]');
    assert.equal(t.end().body.length, 0);
  });

  test('think: false leaves reasoning out; `reasoning` is read like `reasoning_content`', () => {
    const events = [chunk({ reasoning: 'hidden' }), chunk({ content: 'Hi' }, 'stop'), '[DONE]'];
    const hidden = run(translator({ think: false }, 'chat'), 200, 'text/event-stream', [sse(events)]);
    assert.equal(hidden.body.split('\n')[0], `{"model":"llama3.2","created_at":"${TS}","message":{"role":"assistant","content":"Hi"},"done":false}`);
    const shown = run(translator({}, 'chat'), 200, 'text/event-stream', [sse(events)]);
    assert.equal(shown.body.split('\n')[0], `{"model":"llama3.2","created_at":"${TS}","message":{"role":"assistant","content":"","thinking":"hidden"},"done":false}`);
  });

  test('a generate stream (from chat chunks or legacy completion chunks) carries text in `response`', () => {
    const expected = [
      `{"model":"codellama","created_at":"${TS}","response":"def","done":false}`,
      `{"model":"codellama","created_at":"${TS}","response":" f()","done":false}`,
      `{"model":"codellama","created_at":"${TS}","response":"","done":true,"done_reason":"length","total_duration":2000000,"load_duration":0,"prompt_eval_count":3,"prompt_eval_duration":1000000,"eval_count":2,"eval_duration":1000000}`,
      '',
    ];
    const usage = { choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } };
    const chat = [chunk({ role: 'assistant', content: 'def' }), chunk({ content: ' f()' }), chunk({}, 'length'), usage, '[DONE]'];
    assert.deepEqual(run(translator({ prompt: 'x' }, 'completions', 'codellama'), 200, 'text/event-stream', oddSplits(sse(chat), 3)).body.split('\n'), expected);
    const text = (t: string, finish: string | null): Json => ({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'm', choices: [{ index: 0, text: t, finish_reason: finish }] });
    const legacy = [text('def', null), text(' f()', null), text('', 'length'), usage, '[DONE]'];
    assert.deepEqual(run(translator({ prompt: 'x', raw: true }, 'completions', 'codellama'), 200, 'text/event-stream', everyBytes(sse(legacy), 1)).body.split('\n'), expected);
  });

  test('a stream cut before any finish ends in an error line; one cut after the finish still ends done', () => {
    const cut = run(translator({}, 'chat'), 200, 'text/event-stream', [sse([chunk({ content: 'Hal' })]), Buffer.from('data: {"choi')]);
    const cutLines = cut.body.split('\n');
    assert.equal(cutLines.length, 3);
    assert.deepEqual(JSON.parse(cutLines[1]!), { error: 'The backend ended the stream before the answer was complete.' });
    const noDone = run(translator({}, 'chat'), 200, 'text/event-stream', [sse([chunk({ content: 'Hi' }, 'stop')])]);
    const last = JSON.parse(noDone.body.split('\n')[1]!) as Json;
    assert.equal(last['done'], true);
    assert.equal(last['done_reason'], 'stop');
    assert.equal(last['eval_count'], undefined, 'no usage chunk: no counts');
    assert.equal(ollamaUsageOfLine(last), null);
    // A last event without its blank line still counts at the end of the body.
    const unterminated = run(translator({}, 'chat'), 200, 'text/event-stream', [Buffer.from(`data: ${JSON.stringify(chunk({ content: 'Hi' }, 'stop'))}\r\n\r\ndata: [DONE]`)]);
    assert.equal((JSON.parse(unterminated.body.split('\n')[1]!) as Json)['done'], true);
  });

  test('an error event mid-stream becomes the error line Ollama writes, and ends the stream', () => {
    const events = [chunk({ content: 'Hi' }), { error: { message: 'CUDA out of memory', type: 'server_error' } }, chunk({ content: 'late' }), '[DONE]'];
    const result = run(translator({}, 'chat'), 200, 'text/event-stream', everyBytes(sse(events), 5));
    assert.deepEqual(result.body.split('\n').slice(1), ['{"error":"CUDA out of memory"}', '']);
  });

  test('[DONE] without a finishing chunk is a normal end', () => {
    const result = run(translator({}, 'chat'), 200, 'text/event-stream', [sse([chunk({ content: 'Hi' }), '[DONE]'])]);
    assert.equal((JSON.parse(result.body.split('\n')[1]!) as Json)['done_reason'], 'stop');
  });

  test('tool arguments that are not a JSON object become {}', () => {
    const events = [chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{"a":' } }] }), chunk({}, 'tool_calls'), '[DONE]'];
    const line = JSON.parse(run(translator({}, 'chat'), 200, 'text/event-stream', [sse(events)]).body.split('\n')[0]!) as ChatResponse;
    assert.deepEqual(line.message.tool_calls, [{ id: 'c', function: { index: 0, name: 'f', arguments: {} } }]);
  });

  test('an event that is not JSON is a bad upstream response', () => {
    const t = translator({}, 'chat');
    t.start(200, { 'content-type': 'text/event-stream' });
    assert.throws(() => t.data(Buffer.from('data: {nope\n\n')), (error: unknown) => error instanceof SluiceError && error.code === 'SLUICE_UPSTREAM_BAD_RESPONSE');
  });
});

describe('OpenAI JSON answers and errors as Ollama JSON', () => {
  const completion = {
    id: 'chatcmpl-9',
    object: 'chat.completion',
    created: 1,
    model: 'backend-model',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          reasoning_content: 'Let me check.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } }],
        },
        finish_reason: 'tool_calls',
      },
    ],
    usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 },
  };

  test('a chat.completion is one Ollama object, with thinking, tool calls, counts and timings', () => {
    const result = run(translator({ stream: false }, 'chat'), 200, 'application/json', everyBytes(Buffer.from(JSON.stringify(completion)), 7));
    assert.equal(result.status, 200);
    assert.deepEqual(result.headers, { 'x-request-id': 'r1', 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(result.body)) });
    assert.equal(
      result.body,
      `{"model":"llama3.2","created_at":"${TS}","message":{"role":"assistant","content":"","thinking":"Let me check.",` +
        `"tool_calls":[{"id":"call_1","function":{"index":0,"name":"get_weather","arguments":{"city":"Tokyo"}}}]},` +
        `"done":true,"done_reason":"stop","total_duration":1000000,"load_duration":0,"prompt_eval_count":20,"prompt_eval_duration":0,"eval_count":9,"eval_duration":1000000}`,
    );
    assert.deepEqual(ollamaUsageOfLine(JSON.parse(result.body)), { promptTokens: 20, completionTokens: 9, totalTokens: 29 });
  });

  test('a generate answer (from a chat or a legacy completion) carries its text in `response`', () => {
    const chat = { choices: [{ index: 0, message: { role: 'assistant', content: 'Blue.' }, finish_reason: 'length' }], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } };
    const legacy = { object: 'text_completion', choices: [{ index: 0, text: 'Blue.', finish_reason: 'length' }], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } };
    const expected = {
      model: 'llama3.2',
      created_at: TS,
      response: 'Blue.',
      done: true,
      done_reason: 'length',
      total_duration: 1000000,
      load_duration: 0,
      prompt_eval_count: 4,
      prompt_eval_duration: 0,
      eval_count: 2,
      eval_duration: 1000000,
    };
    for (const answer of [chat, legacy]) {
      const result = run(translator({ prompt: 'Sky?', stream: false }, 'completions'), 200, 'application/json', [Buffer.from(JSON.stringify(answer))]);
      assert.deepEqual(JSON.parse(result.body), expected);
      assert.equal(ollamaLineText(JSON.parse(result.body)), 'Blue.');
    }
  });

  test('a JSON answer to a streamed request is sent as its one final line', () => {
    const answer = { choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }] };
    const result = run(translator({}, 'chat'), 200, 'application/json', [Buffer.from(JSON.stringify(answer))]);
    assert.equal(result.headers['content-type'], NDJSON_TYPE);
    assert.ok(result.body.endsWith('}\n'));
    assert.equal((JSON.parse(result.body) as ChatResponse).message.content, 'Hi');
  });

  test('embeddings: a list for /api/embed (by index), one vector for the legacy /api/embeddings', () => {
    const base64 = Buffer.from(new Float32Array([0.5, -0.25]).buffer).toString('base64');
    const answer = {
      object: 'list',
      data: [
        { object: 'embedding', index: 1, embedding: [0.3, 0.4] },
        { object: 'embedding', index: 0, embedding: base64 },
      ],
      model: 'backend',
      usage: { prompt_tokens: 6, total_tokens: 6 },
    };
    const embed = run(translator({ model: 'nomic', input: ['a', 'b'] }, 'embeddings', 'nomic'), 200, 'application/json', everyBytes(Buffer.from(JSON.stringify(answer)), 3));
    assert.equal(embed.headers['content-type'], JSON_TYPE);
    assert.deepEqual(JSON.parse(embed.body), { model: 'nomic', embeddings: [[0.5, -0.25], [0.3, 0.4]], total_duration: 1000000, load_duration: 0, prompt_eval_count: 6 });
    assert.deepEqual(ollamaUsageOfLine(JSON.parse(embed.body)), { promptTokens: 6, completionTokens: 0, totalTokens: 6 });
    assert.ok(Buffer.from(embed.body).includes(OLLAMA_USAGE_MARK));
    const legacy = run(translator({ model: 'nomic', prompt: 'a' }, 'embeddings', 'nomic'), 200, 'application/json', [Buffer.from(JSON.stringify(answer))]);
    assert.deepEqual(JSON.parse(legacy.body), { embedding: [0.5, -0.25] });
  });

  test('errors keep their status and become {"error": message}', () => {
    const cases: [number, string, string][] = [
      [404, JSON.stringify({ error: { message: 'The model `x` does not exist.', type: 'invalid_request_error', param: null, code: 'model_not_found' } }), 'The model `x` does not exist.'],
      [400, JSON.stringify({ object: 'error', message: 'max_tokens is too large', type: 'BadRequestError', code: 400 }), 'max_tokens is too large'],
      [429, JSON.stringify({ error: 'slow down' }), 'slow down'],
      [502, '<html>Bad Gateway</html>', '<html>Bad Gateway</html>'],
      [500, '', 'The backend answered 500.'],
    ];
    for (const [status, body, message] of cases) {
      for (const request of [{ stream: false }, {}]) {
        const result = run(translator(request, 'chat'), status, 'application/json', everyBytes(Buffer.from(body), 4));
        assert.equal(result.deferred, true);
        assert.equal(result.status, status);
        assert.equal(result.headers['content-type'], JSON_TYPE);
        assert.deepEqual(JSON.parse(result.body), { error: message });
      }
    }
    assert.deepEqual(ollamaErrorBody('boom'), { error: 'boom' });
  });

  test('a 200 that is not JSON is a bad upstream response', () => {
    const t = translator({ stream: false }, 'chat');
    t.start(200, { 'content-type': 'application/json' });
    t.data(Buffer.from('<html>'));
    assert.throws(() => t.end(), (error: unknown) => error instanceof SluiceError && error.code === 'SLUICE_UPSTREAM_BAD_RESPONSE');
  });
});

describe('lines the gateway writes itself, and usage', () => {
  test('the stop line ends a stream: done, the notice as text, the reason given', () => {
    const line = ollamaStopLine('llama3.2', 'Blocked by policy.', 'content_filter');
    assert.ok(line.endsWith('}\n'));
    const json = JSON.parse(line) as ChatResponse;
    assert.equal(json.done, true);
    assert.equal(json.done_reason, 'content_filter');
    assert.equal(json.model, 'llama3.2');
    assert.deepEqual(json.message, { role: 'assistant', content: 'Blocked by policy.' });
    assert.match(String(json.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(ollamaLineText(json), 'Blocked by policy.');
    const generate = JSON.parse(ollamaStopLine('m', null, 'stop', 'completions')) as Json;
    assert.equal(generate['response'], '');
    assert.equal(generate['done'], true);
  });

  test('the error line, line text and usage', () => {
    assert.equal(ollamaErrorLine('it "broke"'), '{"error":"it \\"broke\\""}\n');
    assert.equal(ollamaLineText({ message: { content: 'a' } }), 'a');
    assert.equal(ollamaLineText({ response: 'b' }), 'b');
    assert.equal(ollamaLineText({ error: 'x' }), '');
    assert.equal(ollamaLineText(null), '');
    assert.equal(ollamaUsageOfLine({ done: false, eval_count: 3 }), null);
    assert.equal(ollamaUsageOfLine({ done: true }), null);
    assert.deepEqual(ollamaUsageOfLine({ done: true, prompt_eval_count: 26, eval_count: 259 }), { promptTokens: 26, completionTokens: 259, totalTokens: 285 });
    assert.ok(Buffer.from(STREAM_LINES[3]!).includes(OLLAMA_USAGE_MARK));
    assert.ok(!Buffer.from(STREAM_LINES[1]!).includes(OLLAMA_USAGE_MARK));
  });
});

describe('GET route bodies', () => {
  test('/api/tags lists model group names as they are, with defaults', () => {
    const tags = ollamaTags([
      { name: 'gpt-4o' },
      { name: 'llama3.2:latest', modifiedAt: '2025-05-04T17:37:44.706015396-07:00', size: 2019393189, digest: 'abc', details: { family: 'llama', parameter_size: '3.2B' } },
    ]);
    const [plain, tagged] = tags.models as Json[];
    assert.equal(plain!['name'], 'gpt-4o', 'no :latest added');
    assert.equal(plain!['model'], 'gpt-4o');
    assert.match(String(plain!['digest']), /^[0-9a-f]{64}$/);
    assert.equal(plain!['size'], 0);
    assert.deepEqual(plain!['details'], { parent_model: '', format: '', family: '', families: [], parameter_size: '', quantization_level: '' });
    assert.ok(!Number.isNaN(Date.parse(String(plain!['modified_at']))));
    assert.deepEqual(tagged, {
      name: 'llama3.2:latest',
      model: 'llama3.2:latest',
      modified_at: '2025-05-04T17:37:44.706015396-07:00',
      size: 2019393189,
      digest: 'abc',
      details: { parent_model: '', format: '', family: 'llama', families: ['llama'], parameter_size: '3.2B', quantization_level: '' },
    });
  });

  test('/api/ps, /api/show and /api/version', () => {
    const [running] = ollamaPs([{ name: 'gpt-4o', size: 10, contextLength: 128000 }]).models as Json[];
    assert.equal(running!['name'], 'gpt-4o');
    assert.equal(running!['size_vram'], 10);
    assert.equal(running!['context_length'], 128000);
    assert.ok(Date.parse(String(running!['expires_at'])) > Date.now() + 100 * 365 * 86_400_000, 'never unloads');
    assert.equal(running!['modified_at'], undefined);
    const show = ollamaShow('gpt-4o', { details: { family: 'gpt' }, contextLength: 128000, capabilities: ['completion', 'tools', 'vision'] });
    assert.equal(show['template'], '{{ .Prompt }}');
    assert.match(String(show['modelfile']), /FROM gpt-4o/);
    assert.deepEqual(show['capabilities'], ['completion', 'tools', 'vision']);
    assert.deepEqual(show['model_info'], { 'general.architecture': 'gpt', 'general.basename': 'gpt-4o', 'gpt.context_length': 128000 });
    assert.deepEqual((show['details'] as Json)['families'], ['gpt']);
    assert.deepEqual(ollamaShow('x')['capabilities'], ['completion']);
    assert.deepEqual(OLLAMA_VERSION_BODY, { version: OLLAMA_VERSION }, 'the version the simulator reports');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// End to end with the `ollama` client: a tiny server translates each request with the bridge, sends it to a
// backend (the simulator's OpenAI layer, or canned bytes), and replays the translated answer as it arrives.

interface Upstream {
  status: number;
  headers: IncomingHttpHeaders;
  body: AsyncIterable<Buffer> | Iterable<Buffer>;
}
type Backend = (path: string, body: Json) => Promise<Upstream>;

function simBackend(sim: OllamaSim): Backend {
  return (path, body) =>
    new Promise((resolve, reject) => {
      const req = httpRequest(`${sim.url}/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
}

function cannedBackend(status: number, contentType: string, bytes: Buffer): Backend {
  return () => Promise.resolve({ status, headers: { 'content-type': contentType }, body: everyBytes(bytes, 3) });
}

interface Bridge {
  url: string;
  backend: Backend;
  /** The last OpenAI request sent to the backend. */
  sent: { path: string; body: Json } | null;
  close(): Promise<void>;
}

async function startBridge(backend: Backend): Promise<Bridge> {
  const bridge: Bridge = { url: '', backend, sent: null, close: () => Promise.resolve() };
  const server: Server = createServer(async (req, res) => {
    let raw = '';
    for await (const part of req) raw += String(part);
    const path = req.url ?? '/';
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': JSON_TYPE });
      res.end(JSON.stringify(value));
    };
    if (req.method === 'GET' && path === '/api/tags') return json(200, ollamaTags([{ name: 'llama3.2', details: { family: 'llama' } }]));
    if (req.method === 'GET' && path === '/api/ps') return json(200, ollamaPs([{ name: 'llama3.2' }]));
    if (req.method === 'GET' && path === '/api/version') return json(200, OLLAMA_VERSION_BODY);
    if (path === '/api/show') return json(200, ollamaShow((JSON.parse(raw) as Json)['model'] as string, { capabilities: ['completion', 'tools'] }));
    const endpoint = OLLAMA_ROUTES.get(path);
    if (endpoint === undefined) return json(404, ollamaErrorBody('not found'));
    const client = JSON.parse(raw) as Json;
    let translated: { endpoint: Endpoint; body: Json };
    try {
      translated = ollamaBridge.toOpenAI(client, endpoint);
    } catch (error) {
      const e = error as SluiceError;
      return json(e.status, ollamaErrorBody(e.message));
    }
    bridge.sent = { path: UPSTREAM_PATH[translated.endpoint], body: { model: client['model'], ...translated.body } };
    const upstream = await bridge.backend(bridge.sent.path, bridge.sent.body);
    const translator = ollamaBridge.fromOpenAI(client['model'] as string, client, endpoint);
    const head = translator.start(upstream.status, upstream.headers);
    if (!head.deferred) res.writeHead(head.status, head.headers);
    for await (const part of upstream.body) {
      const out = translator.data(part);
      if (out.length > 0) res.write(out);
    }
    const end = translator.end();
    if (head.deferred) res.writeHead(end.status, end.headers);
    res.end(end.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  bridge.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  bridge.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return bridge;
}

describe("the ollama client against the bridge (the simulator's OpenAI layer behind it)", () => {
  let sim: OllamaSim;
  let bridge: Bridge;
  let bridged: Ollama;
  let native: Ollama;
  const messages: Message[] = [{ role: 'user', content: 'Why is the sky blue?' }];

  before(async () => {
    sim = await startOllamaSim({ tokens: 6 });
    bridge = await startBridge(simBackend(sim));
    bridged = new Ollama({ host: bridge.url });
    native = new Ollama({ host: sim.url });
  });
  after(async () => {
    await bridge.close();
    await sim.close();
  });

  test('chat, not streamed: the same answer and counts as the native API', async () => {
    const want = await native.chat({ model: 'llama3.2', messages, stream: false });
    const got = await bridged.chat({ model: 'llama3.2', messages, stream: false, options: { temperature: 0.1 } });
    assert.deepEqual(bridge.sent, { path: '/chat/completions', body: { model: 'llama3.2', messages, temperature: 0.1, stream: false } });
    assert.equal(got.model, 'llama3.2');
    assert.deepEqual(got.message, want.message);
    assert.equal(got.done, true);
    assert.equal(got.done_reason, 'stop');
    assert.equal(got.prompt_eval_count, want.prompt_eval_count);
    assert.equal(got.eval_count, want.eval_count);
    assert.ok(got.eval_duration > 0 && got.total_duration >= got.eval_duration);
  });

  test('chat, streamed: the same text line by line, ending in a done line with the counts', async () => {
    const want = await native.chat({ model: 'llama3.2', messages, stream: false });
    const parts: ChatResponse[] = [];
    for await (const part of await bridged.chat({ model: 'llama3.2', messages, stream: true })) parts.push(part);
    assert.deepEqual(bridge.sent?.body['stream_options'], { include_usage: true });
    assert.ok(parts.length > 2, 'several lines');
    assert.equal(parts.map((part) => part.message.content).join(''), want.message.content);
    assert.ok(parts.slice(0, -1).every((part) => !part.done));
    const last = parts.at(-1)!;
    assert.equal(last.done, true);
    assert.equal(last.done_reason, 'stop');
    assert.equal(last.prompt_eval_count, want.prompt_eval_count);
    assert.equal(last.eval_count, want.eval_count);
  });

  test('generate, streamed and not: the same text as the native API', async () => {
    const want = await native.generate({ model: 'llama3.2', prompt: 'Why is the sky blue?', stream: false });
    const whole = await bridged.generate({ model: 'llama3.2', prompt: 'Why is the sky blue?', stream: false });
    assert.equal(bridge.sent?.path, '/chat/completions');
    assert.equal(whole.response, want.response);
    assert.equal(whole.eval_count, want.eval_count);
    assert.equal(whole.prompt_eval_count, want.prompt_eval_count);
    let text = '';
    let last = null;
    for await (const part of await bridged.generate({ model: 'llama3.2', prompt: 'Why is the sky blue?', stream: true })) {
      text += part.response;
      last = part;
    }
    assert.equal(text, want.response);
    assert.equal(last?.done, true);
    assert.equal(last?.eval_count, want.eval_count);
    const raw = await bridged.generate({ model: 'llama3.2', prompt: '[INST] hi [/INST]', raw: true, stream: false });
    assert.equal(bridge.sent?.path, '/completions');
    assert.equal(raw.response, want.response);
  });

  test('embed and the legacy embeddings: the same vectors as the native API', async () => {
    const want = await native.embed({ model: 'nomic-embed-text', input: ['Why is the sky blue?', 'Why is the grass green?'] });
    const got = await bridged.embed({ model: 'nomic-embed-text', input: ['Why is the sky blue?', 'Why is the grass green?'] });
    assert.equal(got.model, 'nomic-embed-text');
    assert.deepEqual(got.embeddings, want.embeddings);
    assert.equal(got.prompt_eval_count, want.prompt_eval_count);
    const legacy = await bridged.embeddings({ model: 'nomic-embed-text', prompt: 'Why is the sky blue?' });
    assert.deepEqual(legacy.embedding, want.embeddings[0]);
  });

  test('errors: a backend error keeps its status and message; a load call is refused with 400', async () => {
    const nativeError = await native.chat({ model: 'nope', messages, stream: false }).catch((error: unknown) => error as Error & { status_code?: number });
    await assert.rejects(bridged.chat({ model: 'nope', messages, stream: false }), (error: Error & { status_code?: number }) => {
      assert.equal(error.name, 'ResponseError');
      assert.equal(error.status_code, 404);
      assert.equal(error.message, nativeError.message);
      return true;
    });
    await assert.rejects(bridged.generate({ model: 'llama3.2', prompt: '', stream: false }), (error: Error & { status_code?: number }) => {
      assert.equal(error.status_code, 400);
      assert.match(error.message, /'prompt' is empty/);
      return true;
    });
  });

  test('list, ps, show and version', async () => {
    const list = await bridged.list();
    assert.equal(list.models[0]?.name, 'llama3.2');
    assert.equal(list.models[0]?.details.family, 'llama');
    const ps = await bridged.ps();
    assert.equal(ps.models[0]?.model, 'llama3.2');
    const show = await bridged.show({ model: 'llama3.2' });
    assert.deepEqual(show.capabilities, ['completion', 'tools']);
    assert.equal((await bridged.version()).version, OLLAMA_VERSION);
  });
});

describe('the ollama client against canned OpenAI answers', () => {
  let bridge: Bridge;
  let client: Ollama;
  before(async () => {
    bridge = await startBridge(cannedBackend(200, 'text/event-stream', sse(STREAM_EVENTS)));
    client = new Ollama({ host: bridge.url });
  });
  after(() => bridge.close());

  test('a streamed chat with thinking and tool calls', async () => {
    bridge.backend = cannedBackend(200, 'text/event-stream', sse(STREAM_EVENTS));
    const parts: ChatResponse[] = [];
    for await (const part of await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'Weather?' }], stream: true, think: true })) parts.push(part);
    assert.equal(parts.map((part) => part.message.thinking ?? '').join(''), 'Think é');
    assert.equal(parts.map((part) => part.message.content).join(''), 'Héllo 👋');
    assert.deepEqual(
      parts.flatMap((part) => part.message.tool_calls ?? []).map((call) => [call.function.name, call.function.arguments]),
      [
        ['get_weather', { city: 'Tōkyō' }],
        ['get_time', {}],
      ],
    );
    assert.equal(parts.at(-1)?.eval_count, 7);
  });

  test('a non-streamed backend error and a mid-stream error reach the client as Ollama errors', async () => {
    bridge.backend = cannedBackend(404, 'application/json', Buffer.from(JSON.stringify({ error: { message: 'model "x" not found', type: 'not_found_error' } })));
    await assert.rejects(client.chat({ model: 'x', messages: [{ role: 'user', content: 'Hi' }], stream: false }), (error: Error & { status_code?: number }) => {
      assert.equal(error.status_code, 404);
      assert.equal(error.message, 'model "x" not found');
      return true;
    });
    bridge.backend = cannedBackend(200, 'text/event-stream', sse([chunk({ content: 'Hi' }), { error: { message: 'the model crashed' } }]));
    const stream = await client.chat({ model: 'x', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    await assert.rejects(
      (async () => {
        for await (const part of stream) void part;
      })(),
      /the model crashed/,
    );
  });
});
