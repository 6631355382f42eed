// OpenAI's Responses API on a chat-only backend: the request translation rules (and the 400s for what a stateless
// translation cannot do), chat answers (JSON, SSE in odd splits, errors) as response objects and response.* event
// streams, the gateway's own stop and error events, and all of it replayed to the real `openai` SDK.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError, BadRequestError, RateLimitError } from 'openai';
import { SluiceError } from '../core/errors.ts';
import {
  RESPONSES_ROUTES,
  RESPONSES_USAGE_MARK,
  ResponsesResponseTranslator,
  ResponsesStreamPosition,
  ResponsesStreamTranslator,
  responsesBridge,
  responsesErrorEvent,
  responsesEventText,
  responsesIsStream,
  responsesStopEvents,
  responsesUsageOfBody,
  responsesUsageOfEvent,
  toChatRequest,
} from '../core/providers/openai-responses.ts';
import { startOpenAISim, type Sim } from './sim/openai-sim.ts';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: chat answers as a backend sends them

const CREATED = 1_700_000_000;

function chunk(delta: Json, finishReason: string | null = null): Json {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: CREATED, model: 'backend-model', choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
}

const USAGE = { prompt_tokens: 20, completion_tokens: 30, total_tokens: 50, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 3 } };

/** Reasoning, text with multi-byte characters, two function calls with fragmented arguments, then usage. */
const RICH_STREAM: readonly Json[] = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ reasoning_content: 'Think ' }),
  chunk({ reasoning_content: 'hard.' }),
  chunk({ content: 'Héllo ' }),
  chunk({ content: 'wörld 🌍' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"tz":' } }] }),
  chunk({ tool_calls: [{ index: 1, function: { arguments: '"CET"}' } }] }),
  chunk({}, 'tool_calls'),
  { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: CREATED, model: 'backend-model', choices: [], usage: USAGE },
];

function sseBody(chunks: readonly Json[], eol = '\n', done = true): string {
  let text = '';
  for (const c of chunks) text += `data: ${JSON.stringify(c)}${eol}${eol}`;
  return done ? `${text}data: [DONE]${eol}${eol}` : text;
}

const TEXT_STREAM: readonly Json[] = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ content: 'Hello ' }),
  chunk({ content: 'there.' }),
  chunk({}, 'stop'),
  { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: CREATED, model: 'backend-model', choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } },
];

const COMPLETION: Json = {
  id: 'chatcmpl-2',
  object: 'chat.completion',
  created: CREATED,
  model: 'backend-model',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'Calling tools.',
        reasoning_content: 'Plan.',
        tool_calls: [
          { id: 'call_x', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { id: 'call_y', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
        ],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: USAGE,
};

const TOOLS = [
  { type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true },
  { type: 'function', name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'], additionalProperties: false }, strict: true },
] as const;

// ---------------------------------------------------------------------------------------------------------------
// Helpers

interface WireEvent {
  readonly event: string;
  readonly data: Json;
}

/** Parses the translator's SSE output strictly: every block is `event: <type>` then one `data:` line naming it. */
function parseEvents(text: string): WireEvent[] {
  assert.ok(text === '' || text.endsWith('\n\n'), 'the output ends at an event boundary');
  const events: WireEvent[] = [];
  for (const block of text.split('\n\n')) {
    if (block === '') continue;
    const lines = block.split('\n');
    assert.equal(lines.length, 2, `one event line and one data line: ${block}`);
    assert.ok(lines[0]!.startsWith('event: ') && lines[1]!.startsWith('data: '), block);
    const data = JSON.parse(lines[1]!.slice(6)) as Json;
    const event = lines[0]!.slice(7);
    assert.equal(data['type'], event, 'the SSE event name is the event type');
    events.push({ event, data });
  }
  return events;
}

/** Feeds a body to a fresh translator in pieces of the given sizes (cycled), returning all output. */
function translate(body: string | Buffer, sizes: readonly number[], options: { status?: number; type?: string; client?: Json; stem?: string } = {}): { text: string; status: number; headers: Json } {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const translator = new ResponsesResponseTranslator('my-model', options.client ?? { model: 'my-model', input: 'Hi', stream: true }, options.stem ?? 'S');
  const started = translator.start(options.status ?? 200, { 'content-type': options.type ?? 'text/event-stream', 'content-length': '999', 'x-request-id': 'req-1' });
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(translator.data(bytes.subarray(at, at + size)));
    at += size;
  }
  const ended = translator.end();
  out.push(ended.body);
  return { text: Buffer.concat(out).toString('utf8'), status: started.deferred ? ended.status : started.status, headers: started.deferred ? ended.headers : started.headers };
}

function sluiceError(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SluiceError, `a SluiceError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a SluiceError');
}

// ---------------------------------------------------------------------------------------------------------------
// Request

describe('Responses request -> chat request', () => {
  test('routes and stream detection', () => {
    assert.equal(RESPONSES_ROUTES.get('/v1/responses'), 'chat');
    assert.equal(RESPONSES_ROUTES.get('/responses'), 'chat');
    assert.equal(RESPONSES_ROUTES.size, 2);
    assert.equal(responsesIsStream({ stream: true }), true);
    assert.equal(responsesIsStream({ stream: 'true' }), false);
    assert.equal(responsesIsStream({}), false);
  });

  test('instructions become a system message, a string input one user message; sampling and limits carry over', () => {
    const { endpoint, body } = responsesBridge.toOpenAI(
      {
        model: 'm',
        instructions: 'Be brief.',
        input: 'Hi',
        temperature: 0.3,
        top_p: 0.9,
        max_output_tokens: 100,
        parallel_tool_calls: false,
        user: 'u-1',
        metadata: { trace: 'x' },
        store: false,
        reasoning: { effort: 'low', summary: 'auto' },
        text: { format: { type: 'json_object' }, verbosity: 'low' },
      },
      'chat',
    );
    assert.equal(endpoint, 'chat');
    assert.deepEqual(body, {
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 100,
      parallel_tool_calls: false,
      user: 'u-1',
      response_format: { type: 'json_object' },
      verbosity: 'low',
      reasoning_effort: 'low',
    });
  });

  test('a stream asks for usage; json_schema becomes response_format', () => {
    const body = toChatRequest({
      model: 'm',
      input: 'Hi',
      stream: true,
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true, description: 'd' } },
    });
    assert.equal(body['stream'], true);
    assert.deepEqual(body['stream_options'], { include_usage: true });
    assert.deepEqual(body['response_format'], { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, description: 'd', strict: true } });
    assert.equal(toChatRequest({ input: 'Hi', text: { format: { type: 'text' } } })['response_format'], undefined);
  });

  test('items: roles, images, consecutive function calls merged into one assistant message, outputs as tool messages', () => {
    const body = toChatRequest({
      model: 'm',
      input: [
        { role: 'developer', content: 'Use tools.' },
        { role: 'user', content: [{ type: 'input_text', text: 'Weather?' }, { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' }] },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { type: 'message', role: 'assistant', id: 'msg_1', status: 'completed', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
        { type: 'function_call', id: 'fc_2', call_id: 'call_2', name: 'get_time', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'Sunny' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: '12:00' }] },
        { type: 'function_call', call_id: 'call_3', name: 'get_time', arguments: '{"tz":"UTC"}' },
        { type: 'function_call_output', call_id: 'call_3', output: '11:00' },
        { role: 'user', content: 'Thanks' },
      ],
    });
    assert.deepEqual(body['messages'], [
      { role: 'system', content: 'Use tools.' },
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } }] },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
      { role: 'tool', tool_call_id: 'call_2', content: '12:00' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_3', type: 'function', function: { name: 'get_time', arguments: '{"tz":"UTC"}' } }] },
      { role: 'tool', tool_call_id: 'call_3', content: '11:00' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  test('function tools flatten into chat\'s nested shape; tool_choice translates; allowed_tools narrows the tools', () => {
    const body = toChatRequest({ input: 'Hi', tools: TOOLS, tool_choice: { type: 'function', name: 'get_time' } });
    assert.deepEqual(body['tools'], [
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: TOOLS[0].parameters, strict: true } },
      { type: 'function', function: { name: 'get_time', parameters: TOOLS[1].parameters, strict: true } },
    ]);
    assert.deepEqual(body['tool_choice'], { type: 'function', function: { name: 'get_time' } });
    assert.equal(toChatRequest({ input: 'Hi', tools: TOOLS, tool_choice: 'required' })['tool_choice'], 'required');
    const allowed = toChatRequest({ input: 'Hi', tools: TOOLS, tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'get_weather' }] } });
    assert.deepEqual((allowed['tools'] as Json[]).map((t) => (t['function'] as Json)['name']), ['get_weather']);
    assert.equal(allowed['tool_choice'], 'required');
    assert.equal(toChatRequest({ input: 'Hi', tool_choice: 'auto' })['tool_choice'], undefined, 'no tool_choice without tools');
    const bare = toChatRequest({ input: 'Hi', tools: [{ type: 'function', name: 'noop' }] });
    assert.deepEqual(bare['tools'], [{ type: 'function', function: { name: 'noop', parameters: { type: 'object', properties: {} } } }]);
  });

  test('400s: stored state, built-in tools, file ids, references, unknown items, each naming its param', () => {
    const cases: [Json, string, RegExp][] = [
      [{ input: 'Hi', previous_response_id: 'resp_1' }, 'previous_response_id', /statelessly/],
      [{ input: 'Hi', store: true }, 'store', /statelessly/],
      [{ input: 'Hi', conversation: 'conv_1' }, 'conversation', /statelessly/],
      [{ input: 'Hi', background: true }, 'background', /statelessly/],
      [{ input: 'Hi', tools: [TOOLS[0], { type: 'web_search' }] }, 'tools[1].type', /`web_search`/],
      [{ input: 'Hi', tools: [{ type: 'file_search', vector_store_ids: ['vs'] }] }, 'tools[0].type', /`file_search`/],
      [{ input: 'Hi', tools: [{ type: 'computer_use_preview' }] }, 'tools[0].type', /`computer_use_preview`/],
      [{ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] }, 'input[0].content[0].file_id', /file_id/],
      [{ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] }, 'input[0].content[0].file_id', /file_id/],
      [{ input: [{ role: 'user', content: 'Hi' }, { type: 'item_reference', id: 'msg_1' }] }, 'input[1]', /store: false/],
      [{ input: [{ type: 'web_search_call', id: 'ws_1' }] }, 'input[0].type', /web_search_call/],
      [{ input: 'Hi', tools: TOOLS, tool_choice: { type: 'web_search_preview' } }, 'tool_choice', /web_search_preview/],
      [{ input: 'Hi', text: { format: { type: 'grammar' } } }, 'text.format.type', /grammar/],
      [{ input: 42 }, 'input', /string or an array/],
    ];
    for (const [body, param, message] of cases) {
      const error = sluiceError(() => responsesBridge.toOpenAI(body, 'chat'));
      assert.equal(error.status, 400, param);
      assert.equal(error.param, param);
      assert.match(error.message, message);
    }
    const missing = sluiceError(() => toChatRequest({ model: 'm' }));
    assert.equal(missing.param, 'input');
    assert.equal(missing.code, 'SLUICE_MISSING_PARAM');
    // What the SDK sends by default is fine: store unset or false, previous_response_id null.
    assert.doesNotThrow(() => toChatRequest({ input: 'Hi', store: false, previous_response_id: null }));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// JSON answers

describe('chat.completion -> response object', () => {
  const client = { model: 'my-model', input: 'Hi', instructions: 'Be brief.', tools: TOOLS, metadata: { k: 'v' }, temperature: 0.5 };

  test('reasoning, text and function calls become output items; usage and echo fields', () => {
    const { text, status, headers } = translate(JSON.stringify(COMPLETION), [7], { type: 'application/json', client });
    assert.equal(status, 200);
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['content-length'], String(Buffer.byteLength(text)));
    assert.equal(headers['x-request-id'], 'req-1');
    const response = JSON.parse(text) as Json;
    assert.deepEqual(response, {
      id: 'resp_S',
      object: 'response',
      created_at: CREATED,
      status: 'completed',
      background: false,
      error: null,
      incomplete_details: null,
      instructions: 'Be brief.',
      max_output_tokens: null,
      metadata: { k: 'v' },
      model: 'my-model',
      output: [
        { id: 'rs_S0', type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Plan.' }] },
        { id: 'msg_S1', type: 'message', status: 'completed', content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'Calling tools.' }], role: 'assistant' },
        { id: 'fc_S2', type: 'function_call', status: 'completed', arguments: '{"city":"Oslo"}', call_id: 'call_x', name: 'get_weather' },
        { id: 'fc_S3', type: 'function_call', status: 'completed', arguments: '{"tz":"CET"}', call_id: 'call_y', name: 'get_time' },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: 0.5,
      text: { format: { type: 'text' } },
      tool_choice: 'auto',
      tools: TOOLS,
      top_p: null,
      truncation: 'disabled',
      usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 4 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 3 }, total_tokens: 50 },
      user: null,
    });
    assert.deepEqual(responsesUsageOfBody(response), { promptTokens: 20, completionTokens: 30, totalTokens: 50 });
  });

  test('finish_reason length is an incomplete response (max_output_tokens); content_filter too', () => {
    const truncated = { ...COMPLETION, choices: [{ index: 0, message: { role: 'assistant', content: 'Cut' }, finish_reason: 'length' }] };
    const response = JSON.parse(translate(JSON.stringify(truncated), [1 << 20], { type: 'application/json' }).text) as Json;
    assert.equal(response['status'], 'incomplete');
    assert.deepEqual(response['incomplete_details'], { reason: 'max_output_tokens' });
    assert.equal((response['output'] as Json[])[0]!['status'], 'incomplete');
    const filtered = { ...COMPLETION, choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }] };
    assert.deepEqual((JSON.parse(translate(JSON.stringify(filtered), [64], { type: 'application/json' }).text) as Json)['incomplete_details'], { reason: 'content_filter' });
  });

  test('OpenAI error bodies pass through untouched with their status; a non-JSON 200 is a bad upstream answer', () => {
    const error = JSON.stringify({ error: { message: 'Rate limit reached.', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    const out = translate(error, [3], { status: 429, type: 'application/json' });
    assert.equal(out.status, 429);
    assert.equal(out.text, error);
    assert.equal(out.headers['content-length'], '999', 'untouched bytes keep their length');
    const bad = sluiceError(() => translate('<html>', [100], { type: 'text/html' }));
    assert.equal(bad.code, 'SLUICE_UPSTREAM_BAD_RESPONSE');
    assert.equal(sluiceError(() => translate('{"object":"list"}', [100], { type: 'application/json' })).code, 'SLUICE_UPSTREAM_BAD_RESPONSE');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Streams

/** The expected events of RICH_STREAM, by type and routing fields. */
const RICH_EXPECTED: readonly Json[] = [
  { type: 'response.created' },
  { type: 'response.in_progress' },
  { type: 'response.output_item.added', output_index: 0, item: { id: 'rs_S0', type: 'reasoning', summary: [], content: [] } },
  { type: 'response.content_part.added', item_id: 'rs_S0', output_index: 0, content_index: 0, part: { type: 'reasoning_text', text: '' } },
  { type: 'response.reasoning_text.delta', item_id: 'rs_S0', output_index: 0, content_index: 0, delta: 'Think ' },
  { type: 'response.reasoning_text.delta', item_id: 'rs_S0', output_index: 0, content_index: 0, delta: 'hard.' },
  { type: 'response.reasoning_text.done', item_id: 'rs_S0', output_index: 0, content_index: 0, text: 'Think hard.' },
  { type: 'response.content_part.done', item_id: 'rs_S0', output_index: 0, content_index: 0, part: { type: 'reasoning_text', text: 'Think hard.' } },
  { type: 'response.output_item.done', output_index: 0, item: { id: 'rs_S0', type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Think hard.' }] } },
  { type: 'response.output_item.added', output_index: 1, item: { id: 'msg_S1', type: 'message', status: 'in_progress', content: [], role: 'assistant' } },
  { type: 'response.content_part.added', item_id: 'msg_S1', output_index: 1, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } },
  { type: 'response.output_text.delta', item_id: 'msg_S1', output_index: 1, content_index: 0, delta: 'Héllo ', logprobs: [] },
  { type: 'response.output_text.delta', item_id: 'msg_S1', output_index: 1, content_index: 0, delta: 'wörld 🌍', logprobs: [] },
  { type: 'response.output_text.done', item_id: 'msg_S1', output_index: 1, content_index: 0, text: 'Héllo wörld 🌍', logprobs: [] },
  { type: 'response.content_part.done', item_id: 'msg_S1', output_index: 1, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: 'Héllo wörld 🌍' } },
  {
    type: 'response.output_item.done',
    output_index: 1,
    item: { id: 'msg_S1', type: 'message', status: 'completed', content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'Héllo wörld 🌍' }], role: 'assistant' },
  },
  { type: 'response.output_item.added', output_index: 2, item: { id: 'fc_S2', type: 'function_call', status: 'in_progress', arguments: '', call_id: 'call_a', name: 'get_weather' } },
  { type: 'response.function_call_arguments.delta', item_id: 'fc_S2', output_index: 2, delta: '{"city":' },
  { type: 'response.function_call_arguments.delta', item_id: 'fc_S2', output_index: 2, delta: '"Paris"}' },
  { type: 'response.output_item.added', output_index: 3, item: { id: 'fc_S3', type: 'function_call', status: 'in_progress', arguments: '', call_id: 'call_b', name: 'get_time' } },
  { type: 'response.function_call_arguments.delta', item_id: 'fc_S3', output_index: 3, delta: '{"tz":' },
  { type: 'response.function_call_arguments.delta', item_id: 'fc_S3', output_index: 3, delta: '"CET"}' },
  { type: 'response.function_call_arguments.done', item_id: 'fc_S2', output_index: 2, arguments: '{"city":"Paris"}' },
  { type: 'response.output_item.done', output_index: 2, item: { id: 'fc_S2', type: 'function_call', status: 'completed', arguments: '{"city":"Paris"}', call_id: 'call_a', name: 'get_weather' } },
  { type: 'response.function_call_arguments.done', item_id: 'fc_S3', output_index: 3, arguments: '{"tz":"CET"}' },
  { type: 'response.output_item.done', output_index: 3, item: { id: 'fc_S3', type: 'function_call', status: 'completed', arguments: '{"tz":"CET"}', call_id: 'call_b', name: 'get_time' } },
  { type: 'response.completed' },
];

describe('chat SSE -> response.* events', () => {
  const whole = translate(sseBody(RICH_STREAM), [1 << 20]);

  test('the exact event sequence: reasoning, text, two function calls, then response.completed with usage', () => {
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(whole.headers['content-length'], undefined);
    assert.equal(whole.headers['x-request-id'], 'req-1');
    const events = parseEvents(whole.text);
    assert.equal(events.length, RICH_EXPECTED.length);
    events.forEach(({ data }, i) => {
      assert.equal(data['sequence_number'], i, 'sequence numbers count up from 0');
      const { sequence_number: _, response: __, ...fields } = data;
      assert.deepEqual(fields, RICH_EXPECTED[i], `event ${i}`);
    });
    const created = events[0]!.data['response'] as Json;
    assert.equal(created['id'], 'resp_S');
    assert.equal(created['status'], 'in_progress');
    assert.equal(created['created_at'], CREATED);
    assert.deepEqual(created['output'], []);
    assert.equal(created['usage'], null);
    const completed = events.at(-1)!.data['response'] as Json;
    assert.equal(completed['id'], 'resp_S');
    assert.equal(completed['status'], 'completed');
    assert.equal(completed['model'], 'my-model');
    assert.deepEqual(completed['output'], [0, 1, 2, 3].map((i) => events.findLast((e) => e.event === 'response.output_item.done' && e.data['output_index'] === i)!.data['item']));
    assert.deepEqual(completed['usage'], { input_tokens: 20, input_tokens_details: { cached_tokens: 4 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 3 }, total_tokens: 50 });
    assert.deepEqual(responsesUsageOfEvent(events.at(-1)!.data), { promptTokens: 20, completionTokens: 30, totalTokens: 50 });
    assert.equal(responsesUsageOfEvent(events[0]!.data), null, 'response.created carries no usage');
  });

  test('odd splits give the same bytes: 1 byte, mid UTF-8 character, 5 and 13 bytes, CRLF and CR line ends', () => {
    const body = sseBody(RICH_STREAM);
    for (const sizes of [[1], [2, 3], [5], [13, 1, 7]]) {
      assert.equal(translate(body, sizes).text, whole.text, `sizes ${sizes.join(',')}`);
    }
    const bytes = Buffer.from(body);
    const midChar = bytes.indexOf(Buffer.from('ö')) + 1;
    assert.equal(translate(body, [midChar, 1, 1 << 20]).text, whole.text, 'split inside ö');
    const emoji = bytes.indexOf(Buffer.from('🌍')) + 2;
    assert.equal(translate(body, [emoji, 1 << 20]).text, whole.text, 'split inside 🌍');
    const crlf = sseBody(RICH_STREAM, '\r\n');
    for (const sizes of [[1], [3], [1 << 20]]) assert.equal(translate(crlf, sizes).text, whole.text, `CRLF, sizes ${sizes.join(',')}`);
    const cr = sseBody(RICH_STREAM, '\r');
    assert.equal(translate(cr, [1]).text, whole.text, 'CR line ends');
    // Comments, retry and id fields are ignored; a stream without [DONE] still completes after its finish_reason.
    const noisy = `: keep-alive\n\nretry: 100\n\n${sseBody(RICH_STREAM, '\n', false)}`;
    assert.equal(translate(noisy, [4]).text, whole.text);
  });

  test('finish_reason length: open items close incomplete, then response.incomplete', () => {
    const events = parseEvents(translate(sseBody([chunk({ content: 'Cut' }), chunk({}, 'length')]), [9]).text);
    assert.deepEqual(
      events.map((e) => e.event),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.incomplete',
      ],
    );
    assert.equal((events[7]!.data['item'] as Json)['status'], 'incomplete');
    const response = events.at(-1)!.data['response'] as Json;
    assert.equal(response['status'], 'incomplete');
    assert.deepEqual(response['incomplete_details'], { reason: 'max_output_tokens' });
    assert.deepEqual(response['usage'], { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 });
  });

  test('an error mid-stream becomes an error event; a stream cut before its finish ends with one too', () => {
    const failed = parseEvents(translate(`${sseBody([chunk({ content: 'Hi' })], '\n', false)}data: {"error":{"message":"Boom.","type":"server_error","param":null,"code":"server_error"}}\n\n`, [6]).text);
    assert.deepEqual(failed.at(-1)!.data, { type: 'error', code: 'server_error', message: 'Boom.', param: null, sequence_number: 5 });
    assert.equal(failed.filter((e) => e.event === 'error').length, 1);
    const cut = parseEvents(translate(sseBody([chunk({ content: 'Hi' })], '\n', false), [6]).text);
    assert.equal(cut.at(-1)!.event, 'error');
    assert.equal(cut.at(-1)!.data['code'], 'upstream_bad_response');
  });

  test('a malformed event is a bad upstream answer', () => {
    assert.equal(sluiceError(() => translate('data: {not json\n\n', [100])).code, 'SLUICE_UPSTREAM_BAD_RESPONSE');
  });

  test('the stream translator drives from parsed chunks, for benchmarks', () => {
    const stream = new ResponsesStreamTranslator('my-model', { input: 'Hi' }, 'B');
    let out = '';
    for (const c of TEXT_STREAM) out += stream.push(c);
    assert.equal(stream.finished, false);
    out += stream.finish();
    assert.equal(stream.finished, true);
    assert.equal(stream.finish(), '');
    const events = parseEvents(out);
    assert.equal(events.at(-1)!.event, 'response.completed');
    assert.equal(events.map((e) => responsesEventText(e.data)).join(''), 'Hello there.');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Usage, text and the gateway's own events

describe('usage, event text, stop and error events', () => {
  test('usage mark and readers', () => {
    assert.equal(RESPONSES_USAGE_MARK.toString(), '"usage":{');
    const text = translate(sseBody(TEXT_STREAM), [1 << 20]).text;
    const blocks = text.split('\n\n').filter((b) => b !== '');
    assert.deepEqual(
      blocks.filter((b) => b.includes(RESPONSES_USAGE_MARK.toString())).map((b) => b.split('\n')[0]),
      ['event: response.completed'],
      'only the completing event carries usage',
    );
    assert.equal(responsesUsageOfBody({ object: 'response', usage: null }), null);
    assert.deepEqual(responsesUsageOfBody({ usage: { input_tokens: 2, output_tokens: 3 } }), { promptTokens: 2, completionTokens: 3, totalTokens: 5 });
    assert.deepEqual(responsesUsageOfEvent({ type: 'response.incomplete', response: { usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 } } }), { promptTokens: 1, completionTokens: 1, totalTokens: 2 });
    assert.equal(responsesUsageOfEvent({ type: 'response.output_text.delta', delta: 'x' }), null);
  });

  test('event text is the output_text delta only', () => {
    assert.equal(responsesEventText({ type: 'response.output_text.delta', delta: 'abc' }), 'abc');
    assert.equal(responsesEventText({ type: 'response.reasoning_text.delta', delta: 'abc' }), '');
    assert.equal(responsesEventText({ type: 'response.function_call_arguments.delta', delta: '{}' }), '');
    assert.equal(responsesEventText(null), '');
  });

  test('stop events continue the stream they end: same response id, next sequence numbers and output index', () => {
    const position = new ResponsesStreamPosition();
    for (const e of parseEvents(translate(sseBody(TEXT_STREAM.slice(0, 2), '\n', false), [1 << 20]).text.replace(/event: error\n.*\n\n$/, ''))) position.observe(e.data);
    assert.equal(position.responseId, 'resp_S');
    assert.equal(position.nextOutputIndex, 1);
    const events = parseEvents(responsesStopEvents('Blocked by policy.', 'my-model', position));
    assert.deepEqual(
      events.map((e) => [e.event, e.data['sequence_number'], e.data['output_index']]),
      [
        ['response.output_item.added', position.nextSequence, 1],
        ['response.content_part.added', position.nextSequence + 1, 1],
        ['response.output_text.delta', position.nextSequence + 2, 1],
        ['response.output_text.done', position.nextSequence + 3, 1],
        ['response.content_part.done', position.nextSequence + 4, 1],
        ['response.output_item.done', position.nextSequence + 5, 1],
        ['response.incomplete', position.nextSequence + 6, undefined],
      ],
    );
    assert.equal(responsesEventText(events[2]!.data), 'Blocked by policy.');
    const response = events.at(-1)!.data['response'] as Json;
    assert.equal(response['id'], 'resp_S');
    assert.equal(response['status'], 'incomplete');
    assert.deepEqual(response['incomplete_details'], { reason: 'content_filter' });
    assert.equal(response['model'], 'my-model');
    const bare = parseEvents(responsesStopEvents(null, 'm'));
    assert.deepEqual(bare.map((e) => [e.event, e.data['sequence_number']]), [['response.incomplete', 0]]);
    assert.match(String((bare[0]!.data['response'] as Json)['id']), /^resp_/);
  });

  test('the error event', () => {
    const events = parseEvents(responsesErrorEvent('Upstream reset.', 'upstream_connection_reset'));
    assert.deepEqual(events[0]!.data, { type: 'error', code: 'upstream_connection_reset', message: 'Upstream reset.', param: null, sequence_number: 0 });
    const position = new ResponsesStreamPosition();
    position.observe({ type: 'response.output_text.delta', sequence_number: 41 });
    assert.equal(parseEvents(responsesErrorEvent('x', 'y', position))[0]!.data['sequence_number'], 42);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real openai SDK, against a server that replays this module's output

/** What the replay server answers next, as the backend would have: a chat answer, or raw Responses SSE text. */
type Replay =
  | { readonly kind: 'chat'; readonly status: number; readonly type: string; readonly body: string }
  | { readonly kind: 'raw'; readonly text: string };

describe('the openai SDK reads the translation', () => {
  let server: Server;
  let client: OpenAI;
  let replay: Replay = { kind: 'chat', status: 200, type: 'application/json', body: JSON.stringify(COMPLETION) };
  const received: Json[] = [];
  const sentToBackend: Json[] = [];

  before(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (piece: string) => (raw += piece));
      req.on('end', () => {
        const body = JSON.parse(raw) as Json;
        received.push(body);
        if (replay.kind === 'raw') {
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
          return void res.end(replay.text);
        }
        let chat: Json;
        try {
          chat = responsesBridge.toOpenAI(body, 'chat').body;
        } catch (error) {
          const sluice = error as SluiceError;
          res.writeHead(sluice.status, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify(sluice.toJSON()));
        }
        sentToBackend.push(chat);
        const translator = responsesBridge.fromOpenAI('my-model', body, 'chat');
        const started = translator.start(replay.status, { 'content-type': replay.type });
        if (!started.deferred) res.writeHead(started.status, started.headers);
        // Seven-byte pieces: events reach the SDK split at odd places.
        const bytes = Buffer.from(replay.body);
        for (let at = 0; at < bytes.length; at += 7) {
          const out = translator.data(bytes.subarray(at, at + 7));
          if (out.length > 0) res.write(out);
        }
        const ended = translator.end();
        if (started.deferred) res.writeHead(ended.status, ended.headers);
        res.end(ended.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('responses.create: output_text and function calls from a JSON answer', async () => {
    replay = { kind: 'chat', status: 200, type: 'application/json', body: JSON.stringify({ ...COMPLETION, choices: [{ index: 0, message: { role: 'assistant', content: 'Héllo!' }, finish_reason: 'stop' }] }) };
    const response = await client.responses.create({ model: 'my-model', input: 'Hi', instructions: 'Be brief.' });
    assert.equal(response.output_text, 'Héllo!');
    assert.equal(response.status, 'completed');
    assert.equal(response.usage!.total_tokens, 50);
    assert.deepEqual(sentToBackend.at(-1)!['messages'], [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);

    replay = { kind: 'chat', status: 200, type: 'application/json', body: JSON.stringify(COMPLETION) };
    const withTools = await client.responses.create({ model: 'my-model', input: 'Weather?', tools: [...TOOLS] });
    const calls = withTools.output.filter((item) => item.type === 'function_call');
    assert.deepEqual(calls.map((c) => [c.name, c.call_id, JSON.parse(c.arguments)]), [
      ['get_weather', 'call_x', { city: 'Oslo' }],
      ['get_time', 'call_y', { tz: 'CET' }],
    ]);
    assert.equal(withTools.output_text, 'Calling tools.');
  });

  test('responses.create with stream: true yields every event, in order, ending in response.completed', async () => {
    replay = { kind: 'chat', status: 200, type: 'text/event-stream', body: sseBody(RICH_STREAM) };
    const stream = await client.responses.create({ model: 'my-model', input: 'Hi', tools: [...TOOLS], stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    assert.deepEqual(types, RICH_EXPECTED.map((e) => e['type']));
    assert.equal(text, 'Héllo wörld 🌍');
    assert.deepEqual(sentToBackend.at(-1)!['stream_options'], { include_usage: true });
  });

  test('responses.stream: helper events, finalResponse with text, reasoning and parsed function calls', async () => {
    replay = { kind: 'chat', status: 200, type: 'text/event-stream', body: sseBody(RICH_STREAM) };
    const stream = client.responses.stream({ model: 'my-model', input: 'Hi', tools: [...TOOLS] });
    const snapshots: string[] = [];
    stream.on('response.output_text.delta', (event) => snapshots.push(event.snapshot));
    const argumentSnapshots: string[] = [];
    stream.on('response.function_call_arguments.delta', (event) => argumentSnapshots.push(event.snapshot));
    const final = await stream.finalResponse();
    assert.deepEqual(snapshots, ['Héllo ', 'Héllo wörld 🌍']);
    assert.deepEqual(argumentSnapshots, ['{"city":', '{"city":"Paris"}', '{"tz":', '{"tz":"CET"}']);
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, 'Héllo wörld 🌍');
    assert.equal(final.usage!.output_tokens_details.reasoning_tokens, 3);
    const reasoning = final.output.find((item) => item.type === 'reasoning');
    assert.equal(reasoning?.content?.[0]?.text, 'Think hard.');
    const calls = final.output.filter((item) => item.type === 'function_call');
    assert.deepEqual(calls.map((c) => [c.name, c.call_id, c.parsed_arguments]), [
      ['get_weather', 'call_a', { city: 'Paris' }],
      ['get_time', 'call_b', { tz: 'CET' }],
    ]);
  });

  test('responses.parse: a json_schema text format reaches the backend and the answer parses', async () => {
    replay = { kind: 'chat', status: 200, type: 'application/json', body: JSON.stringify({ ...COMPLETION, choices: [{ index: 0, message: { role: 'assistant', content: '{"city":"Rome"}' }, finish_reason: 'stop' }] }) };
    const parsed = await client.responses.parse({
      model: 'my-model',
      input: 'Where?',
      text: { format: { type: 'json_schema', name: 'place', strict: true, schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } } },
    });
    assert.deepEqual(parsed.output_parsed, { city: 'Rome' });
    assert.equal((sentToBackend.at(-1)!['response_format'] as Json)['type'], 'json_schema');
  });

  test('a truncated answer finishes the helper as incomplete (max_output_tokens)', async () => {
    replay = { kind: 'chat', status: 200, type: 'text/event-stream', body: sseBody([chunk({ content: 'Cut sh' }), chunk({}, 'length')]) };
    const final = await client.responses.stream({ model: 'my-model', input: 'Hi', max_output_tokens: 2 }).finalResponse();
    assert.equal(final.status, 'incomplete');
    assert.equal(final.incomplete_details?.reason, 'max_output_tokens');
    assert.equal(final.output_text, 'Cut sh');
    assert.equal(sentToBackend.at(-1)!['max_tokens'], 2);
  });

  /** The first events of a translated stream, as the gateway forwards them before a guard stops it. */
  function stoppedStream(withPosition: boolean): string {
    const partial = new ResponsesStreamTranslator('my-model', { input: 'Hi', stream: true }, 'G');
    let text = '';
    for (const c of TEXT_STREAM.slice(0, 2)) text += partial.push(c);
    const position = new ResponsesStreamPosition();
    for (const e of parseEvents(text)) position.observe(e.data);
    return text + responsesStopEvents('This answer was blocked.', 'my-model', withPosition ? position : undefined);
  }

  test('stop events: the helper ends incomplete with reason content_filter, the partial text and the notice', async () => {
    replay = { kind: 'raw', text: stoppedStream(true) };
    const stream = client.responses.stream({ model: 'my-model', input: 'Hi' });
    const done: string[] = [];
    stream.on('response.output_item.done', (event) => done.push(event.item.id!));
    const final = await stream.finalResponse();
    assert.equal(final.id, 'resp_G');
    assert.equal(final.status, 'incomplete');
    assert.equal(final.incomplete_details?.reason, 'content_filter');
    assert.equal(final.output_text, 'Hello This answer was blocked.');
    assert.equal(final.output.length, 2);
    assert.equal(done.length, 1, 'only the notice item completed');

    const raw = await client.responses.create({ model: 'my-model', input: 'Hi', stream: true });
    const types: string[] = [];
    for await (const event of raw) types.push(event.type);
    assert.equal(types.at(-1), 'response.incomplete');
  });

  test('stop events without a position: raw readers accept them, the helper rejects the new response id', async () => {
    replay = { kind: 'raw', text: stoppedStream(false) };
    const raw = await client.responses.create({ model: 'my-model', input: 'Hi', stream: true });
    let reason: string | undefined;
    const types: string[] = [];
    for await (const event of raw) {
      types.push(event.type);
      if (event.type === 'response.incomplete') reason = event.response.incomplete_details?.reason;
    }
    assert.equal(types.at(-1), 'response.incomplete');
    assert.equal(reason, 'content_filter');
    // Its output index repeats one already used, and its response id is new: the helper's checks refuse both.
    await assert.rejects(client.responses.stream({ model: 'my-model', input: 'Hi' }).finalResponse(), /Duplicate response output index|identity changed/);
  });

  test('an error event mid-stream surfaces as an APIError with its message', async () => {
    const partial = new ResponsesStreamTranslator('my-model', { input: 'Hi' }, 'E');
    const text = partial.push(TEXT_STREAM[1]!);
    const position = new ResponsesStreamPosition();
    for (const e of parseEvents(text)) position.observe(e.data);
    replay = { kind: 'raw', text: text + responsesErrorEvent('The backend connection was reset.', 'upstream_connection_reset', position) };
    await assert.rejects(client.responses.stream({ model: 'my-model', input: 'Hi' }).finalResponse(), (error: unknown) => {
      assert.ok(error instanceof APIError);
      assert.match(error.message, /connection was reset/);
      return true;
    });
  });

  test('errors: an OpenAI error body keeps its status; a stateless refusal is a 400 naming the param', async () => {
    replay = { kind: 'chat', status: 429, type: 'application/json', body: JSON.stringify({ error: { message: 'Slow down.', type: 'requests', param: null, code: 'rate_limit_exceeded' } }) };
    await assert.rejects(client.responses.create({ model: 'my-model', input: 'Hi' }), (error: unknown) => {
      assert.ok(error instanceof RateLimitError);
      assert.match(error.message, /Slow down/);
      return true;
    });
    await assert.rejects(client.responses.create({ model: 'my-model', input: 'Hi', previous_response_id: 'resp_1' }), (error: unknown) => {
      assert.ok(error instanceof BadRequestError);
      assert.equal(error.param, 'previous_response_id');
      assert.match(error.message, /statelessly/);
      return true;
    });
    const sent = received.at(-1)!;
    assert.equal(sent['store'], undefined, 'the SDK sends no store unless asked');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The simulator's native /v1/responses (a knob, for pass-through tests)

describe('the OpenAI simulator serves /v1/responses when asked', () => {
  let sim: Sim;
  let client: OpenAI;

  before(async () => {
    sim = await startOpenAISim({ text: 'Native answer here.', responses: true });
    client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  });
  after(() => sim.close());

  test('JSON and the event stream, as the SDK reads them; usage on response.completed', async () => {
    const response = await client.responses.create({ model: 'sim-model', input: 'Hello there', instructions: 'Be brief.' });
    assert.equal(response.output_text, 'Native answer here.');
    assert.equal(response.status, 'completed');
    assert.equal(response.usage!.output_tokens, 3);
    assert.ok(response.usage!.input_tokens > 0);
    assert.equal(sim.stats.lastRequest!.path, '/v1/responses');

    const stream = client.responses.stream({ model: 'sim-model', input: 'Hello there' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    assert.deepEqual(deltas, ['Native ', 'answer ', 'here.']);
    assert.equal(final.output_text, 'Native answer here.');

    const raw = await fetch(`${sim.url}/v1/responses`, { method: 'POST', body: JSON.stringify({ model: 'sim-model', input: 'Hi', stream: true }) });
    const events = parseEvents(await raw.text());
    assert.deepEqual(events.map((e) => e.data['sequence_number']), events.map((_, i) => i));
    assert.equal(events.at(-1)!.event, 'response.completed');
    assert.deepEqual(responsesUsageOfEvent(events.at(-1)!.data), { promptTokens: 1, completionTokens: 3, totalTokens: 4 });
  });

  test('off by default: a chat-only server answers 404 there', async () => {
    sim.knobs.responses = false;
    try {
      await assert.rejects(client.responses.create({ model: 'sim-model', input: 'Hi' }), (error: unknown) => error instanceof APIError && error.status === 404);
    } finally {
      sim.knobs.responses = true;
    }
    const plain = await startOpenAISim();
    try {
      assert.equal(plain.knobs.responses, false);
      assert.equal((await fetch(`${plain.url}/v1/responses`, { method: 'POST', body: '{"input":"Hi"}' })).status, 404);
    } finally {
      await plain.close();
    }
  });
});
