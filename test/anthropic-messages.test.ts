// Anthropic's Messages API as a client API on OpenAI chat backends: the request rules one by one, JSON answers,
// streams fed in odd splits, errors, usage, and the official @anthropic-ai/sdk reading what the translator writes.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { SluiceError } from '../core/errors.ts';
import {
  ChatChunkTranslator,
  MESSAGES_ROUTES,
  MESSAGES_USAGE_MARK,
  MessagesAnswerTranslator,
  MessagesStreamPosition,
  MessagesUsageReader,
  answerContext,
  anthropicErrorBody,
  countTokens,
  messagesBridge,
  messagesErrorEvent,
  messagesEventText,
  messagesIsStream,
  messagesStopEvents,
  messagesUsageOfBody,
  messagesUsageOfEvent,
  toChatRequest,
} from '../core/providers/anthropic-messages.ts';

type Json = Record<string, unknown>;

const base = { model: 'claude-x', max_tokens: 100 };
const chatOf = (body: Json): Json => messagesBridge.toOpenAI({ ...base, ...body }, 'chat').body;
const messagesOf = (body: Json): Json[] => chatOf(body)['messages'] as Json[];

function refused(body: Json, param: string): void {
  assert.throws(
    () => toChatRequest(body),
    (error: unknown) => error instanceof SluiceError && error.status === 400 && error.param === param && error.message.startsWith(`${param}: `),
    `refused naming ${param}`,
  );
}

describe('Messages request -> OpenAI chat request', () => {
  test('routes, stream flag', () => {
    assert.equal(MESSAGES_ROUTES.get('/v1/messages'), 'chat');
    assert.equal(MESSAGES_ROUTES.has('/v1/messages/count_tokens'), false);
    assert.equal(messagesIsStream({ stream: true }), true);
    assert.equal(messagesIsStream({ stream: 'true' }), false);
    assert.equal(messagesIsStream({}), false);
  });

  test('system (string or text blocks), plain turns, sampling, stop sequences, user id', () => {
    const chat = chatOf({
      system: [
        { type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Answer in French.' },
      ],
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Salut.' },
        { role: 'user', content: 'Again' },
      ],
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['END', '###'],
      metadata: { user_id: 'user-42' },
    });
    assert.deepEqual(chat, {
      model: 'claude-x',
      messages: [
        { role: 'system', content: 'You are terse.\n\nAnswer in French.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Salut.' },
        { role: 'user', content: 'Again' },
      ],
      max_tokens: 100,
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      stop: ['END', '###'],
      user: 'user-42',
    });
    assert.deepEqual(messagesOf({ system: 'Be kind.', messages: [{ role: 'user', content: 'x' }] })[0], { role: 'system', content: 'Be kind.' });
  });

  test('a system-role message stays where it is', () => {
    assert.deepEqual(
      messagesOf({
        messages: [
          { role: 'user', content: 'a' },
          { role: 'system', content: [{ type: 'text', text: 'Now be formal.' }] },
        ],
      }),
      [
        { role: 'user', content: 'a' },
        { role: 'system', content: 'Now be formal.' },
      ],
    );
  });

  test('text blocks become one string; images (base64 and url) make content parts', () => {
    const [textOnly, withImages] = messagesOf({
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two', cache_control: { type: 'ephemeral' } }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare:' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    assert.deepEqual(textOnly, { role: 'user', content: 'one\ntwo' });
    assert.deepEqual(withImages, {
      role: 'user',
      content: [
        { type: 'text', text: 'Compare:' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
      ],
    });
  });

  test('documents: plain text becomes text, a base64 PDF a file part', () => {
    const [message] = messagesOf({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', title: 'Notes', source: { type: 'text', media_type: 'text/plain', data: 'Line one.' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
          ],
        },
      ],
    });
    assert.deepEqual(message!['content'], [
      { type: 'text', text: 'Notes\nLine one.' },
      { type: 'file', file: { filename: 'document.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
    ]);
  });

  test('assistant tool_use becomes tool_calls with JSON-string arguments; thinking blocks are dropped', () => {
    const [withText, toolsOnly] = messagesOf({
      messages: [
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Let me think', signature: 'sig' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris', days: 2 } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'redacted_thinking', data: 'xyz' },
            { type: 'tool_use', id: 'toolu_2', name: 'now', input: {} },
          ],
        },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'only thoughts', signature: 's' }] },
      ],
    });
    assert.deepEqual(withText, {
      role: 'assistant',
      content: 'Checking.',
      tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","days":2}' } }],
    });
    assert.deepEqual(toolsOnly, { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_2', type: 'function', function: { name: 'now', arguments: '{}' } }] });
    assert.equal(messagesOf({ messages: [{ role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: 's' }] }] }).length, 0, 'a turn of only thinking is left out');
  });

  test('tool_result blocks become tool messages before the rest of the user turn', () => {
    const messages = messagesOf({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Here you go.' },
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny, 24C' },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_2',
              content: [
                { type: 'text', text: 'Screenshot:' },
                { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/' } },
              ],
            },
            { type: 'tool_result', tool_use_id: 'toolu_3', content: 'command not found', is_error: true },
            { type: 'tool_result', tool_use_id: 'toolu_4' },
          ],
        },
      ],
    });
    assert.deepEqual(messages, [
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Sunny, 24C' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Screenshot:' },
      { role: 'tool', tool_call_id: 'toolu_3', content: 'Error: command not found' },
      { role: 'tool', tool_call_id: 'toolu_4', content: '' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Here you go.' },
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/' } },
        ],
      },
    ]);
  });

  test('tools become function tools; server tools are dropped', () => {
    const chat = chatOf({
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [
        { name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } } }, cache_control: { type: 'ephemeral' } },
        { type: 'custom', name: 'now', input_schema: { type: 'object' } },
        { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
      ],
    });
    assert.deepEqual(chat['tools'], [
      { type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'now', parameters: { type: 'object' } } },
    ]);
    assert.equal(chat['tool_choice'], undefined);
    assert.equal(chat['parallel_tool_calls'], undefined);
  });

  test('tool_choice auto/any/tool/none and disable_parallel_tool_use', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    const choice = (tool_choice: Json): Json => chatOf({ messages: [{ role: 'user', content: 'x' }], tools, tool_choice });
    assert.equal(choice({ type: 'auto' })['tool_choice'], 'auto');
    assert.equal(choice({ type: 'any' })['tool_choice'], 'required');
    assert.equal(choice({ type: 'none' })['tool_choice'], 'none');
    assert.deepEqual(choice({ type: 'tool', name: 'f' })['tool_choice'], { type: 'function', function: { name: 'f' } });
    assert.equal(choice({ type: 'auto' })['parallel_tool_calls'], undefined);
    assert.equal(choice({ type: 'any', disable_parallel_tool_use: true })['parallel_tool_calls'], false);
    const noTools = chatOf({ messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'auto', disable_parallel_tool_use: true } });
    assert.equal(noTools['tool_choice'], undefined, 'OpenAI refuses tool_choice without tools');
    assert.equal(noTools['parallel_tool_calls'], undefined);
  });

  test('stream asks for usage; thinking, caching and Anthropic-only fields are dropped; output format becomes response_format', () => {
    const chat = chatOf({
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      output_config: { effort: 'high', format: { type: 'json_schema', schema: { type: 'object' } } },
      cache_control: { type: 'ephemeral' },
      service_tier: 'auto',
      container: 'c1',
      inference_geo: 'us',
      speed: 'fast',
    });
    assert.deepEqual(chat, {
      model: 'claude-x',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 100,
      response_format: { type: 'json_schema', json_schema: { name: 'response', schema: { type: 'object' } } },
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  test('max_tokens 0 (cache warming) asks for one token, and the answer leaves it out', () => {
    const client = { ...base, max_tokens: 0, messages: [{ role: 'user', content: 'long prompt' }] };
    assert.equal(toChatRequest(client)['max_tokens'], 1);
    const message = jsonAnswer(client, completion({ content: 'The' }, 'length'));
    assert.deepEqual([message['content'], message['stop_reason']], [[], 'max_tokens']);
    const stream = chunk({ content: 'The' }) + chunk({}, 'length') + 'data: [DONE]\n\n';
    const events = parseEvents(translate({ ...client, stream: true }, 200, 'text/event-stream', [Buffer.from(stream)]).body);
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'ping', 'message_delta', 'message_stop'],
    );
  });

  test('invalid requests are refused as Anthropic would, naming the field', () => {
    const ok = { role: 'user', content: 'hi' };
    refused({ model: 'm', messages: [ok] }, 'max_tokens');
    refused({ ...base, max_tokens: -1, messages: [ok] }, 'max_tokens');
    refused({ ...base, max_tokens: 1.5, messages: [ok] }, 'max_tokens');
    refused({ ...base, max_tokens: '10', messages: [ok] }, 'max_tokens');
    refused({ ...base }, 'messages');
    refused({ ...base, messages: { role: 'user' } }, 'messages');
    refused({ ...base, messages: [] }, 'messages');
    refused({ ...base, messages: ['hi'] }, 'messages.0');
    refused({ ...base, messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.role');
    refused({ ...base, messages: [{ role: 'user', content: 5 }] }, 'messages.0.content');
    refused({ ...base, messages: [{ role: 'user', content: [{ text: 'no type' }] }] }, 'messages.0.content.0.type');
    refused({ ...base, messages: [ok, { role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }, 'messages.1.content.0.type');
    refused({ ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'a', input: {} }] }] }, 'messages.0.content.0.name');
    refused({ ...base, messages: [{ role: 'user', content: [{ type: 'tool_result' }] }] }, 'messages.0.content.0.tool_use_id');
    refused({ ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f1' } }] }] }, 'messages.0.content.0.source.type');
    refused({ ...base, messages: [ok], system: [{ type: 'image' }] }, 'system.0.type');
    refused({ ...base, messages: [ok], tools: [{ name: 'f' }] }, 'tools.0.input_schema');
    refused({ ...base, messages: [ok], tool_choice: { type: 'sometimes' } }, 'tool_choice.type');
    refused({ ...base, messages: [ok], stop_sequences: 'END' }, 'stop_sequences');
    refused({ ...base, messages: [ok], temperature: 'hot' }, 'temperature');
    assert.throws(() => messagesBridge.toOpenAI({ ...base, messages: [ok] }, 'embeddings'), SluiceError);
  });
});

// ------------------------------------------------------------------------------------------------------------

/** Runs an OpenAI answer (status, content type, body pieces) through the translator, as the upstream handler would. */
function translate(
  clientBody: Json,
  status: number,
  contentType: string,
  pieces: readonly Buffer[],
  headers: Json = {},
): { status: number; headers: Record<string, unknown>; body: string; deferred: boolean } {
  const translator = messagesBridge.fromOpenAI('claude-x', clientBody, 'chat');
  const head = translator.start(status, { 'content-type': contentType, 'content-length': '999', ...(headers as Record<string, string>) });
  const out: Buffer[] = [];
  for (const piece of pieces) out.push(translator.data(piece));
  const end = translator.end();
  out.push(end.body);
  const body = Buffer.concat(out).toString('utf8');
  return head.deferred ? { status: end.status, headers: end.headers, body, deferred: true } : { status: head.status, headers: head.headers, body, deferred: false };
}

const completion = (message: Json, finish: string, extra: Json = {}): Json => ({
  id: 'chatcmpl-123',
  object: 'chat.completion',
  created: 1,
  model: 'backend-model',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish, ...extra }],
  usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42, prompt_tokens_details: { cached_tokens: 8 } },
});

function jsonAnswer(clientBody: Json, answer: Json): Json {
  const out = translate(clientBody, 200, 'application/json', [Buffer.from(JSON.stringify(answer))]);
  assert.equal(out.status, 200);
  assert.equal(out.headers['content-type'], 'application/json');
  assert.equal(out.headers['content-length'], String(Buffer.byteLength(out.body)));
  return JSON.parse(out.body) as Json;
}

describe('OpenAI JSON answer -> Message', () => {
  test('text and tool calls become content blocks; usage counts the cached prompt apart', () => {
    const message = jsonAnswer(
      { ...base, messages: [] },
      completion(
        {
          content: 'Let me look.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'now', arguments: '' } },
          ],
        },
        'tool_calls',
      ),
    );
    assert.deepEqual(message, {
      id: 'msg_123',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_2', name: 'now', input: {} },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 22, output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 8 },
    });
    assert.deepEqual(messagesUsageOfBody(message), { promptTokens: 30, completionTokens: 12, totalTokens: 42 });
  });

  test('stop reasons: end_turn, max_tokens, refusal, a tool call finished with "stop", and a stop sequence vLLM names', () => {
    const client = { ...base, messages: [], stop_sequences: ['END'] };
    assert.equal(jsonAnswer(client, completion({ content: 'a' }, 'stop'))['stop_reason'], 'end_turn');
    assert.equal(jsonAnswer(client, completion({ content: 'a' }, 'length'))['stop_reason'], 'max_tokens');
    assert.equal(jsonAnswer(client, completion({ content: 'a' }, 'content_filter'))['stop_reason'], 'refusal');
    const ollama = completion({ content: '', tool_calls: [{ id: 'c', function: { name: 'f', arguments: { a: 1 } } }] }, 'stop');
    const asked = jsonAnswer(client, ollama);
    assert.equal(asked['stop_reason'], 'tool_use');
    assert.deepEqual(asked['content'], [{ type: 'tool_use', id: 'c', name: 'f', input: { a: 1 } }]);
    const vllm = jsonAnswer(client, completion({ content: 'a' }, 'stop', { stop_reason: 'END' }));
    assert.equal(vllm['stop_reason'], 'stop_sequence');
    assert.equal(vllm['stop_sequence'], 'END');
    assert.equal(jsonAnswer(client, completion({ content: 'a' }, 'stop', { stop_reason: 128001 }))['stop_reason'], 'end_turn');
  });

  test('reasoning becomes a thinking block only when the client asked for thinking', () => {
    const answer = completion({ content: '42', reasoning_content: 'Six times seven.' }, 'stop');
    assert.deepEqual(jsonAnswer({ ...base, messages: [], thinking: { type: 'enabled', budget_tokens: 1024 } }, answer)['content'], [
      { type: 'thinking', thinking: 'Six times seven.', signature: '' },
      { type: 'text', text: '42' },
    ]);
    assert.deepEqual(jsonAnswer({ ...base, messages: [] }, answer)['content'], [{ type: 'text', text: '42' }]);
  });

  test('a JSON answer to a client that asked for a stream is sent as the events of that message', () => {
    const out = translate({ ...base, messages: [], stream: true }, 200, 'application/json', [
      Buffer.from(JSON.stringify(completion({ content: 'Hi', tool_calls: [{ id: 'call_9', function: { name: 'f', arguments: '{"x":1}' } }] }, 'tool_calls'))),
    ]);
    assert.equal(out.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.deepEqual(
      parseEvents(out.body).map((e) => e.event),
      ['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_stop', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    assert.deepEqual(parseEvents(out.body)[6]!.data, { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"x":1}' } });
  });

  test('a 2xx body that is not JSON is a bad upstream answer', () => {
    assert.throws(() => translate({ ...base, messages: [] }, 200, 'text/html', [Buffer.from('<html>')]), (e: unknown) => e instanceof SluiceError && e.code === 'SLUICE_UPSTREAM_BAD_RESPONSE');
  });
});

// ------------------------------------------------------------------------------------------------------------

interface ParsedEvent {
  event: string;
  data: Json;
}

function parseEvents(text: string): ParsedEvent[] {
  assert.ok(text === '' || text.endsWith('\n\n'), 'the output ends at an event boundary');
  return text
    .split('\n\n')
    .filter((block) => block !== '')
    .map((block) => {
      const [eventLine, dataLine, ...rest] = block.split('\n');
      assert.equal(rest.length, 0, `one event and one data line: ${block}`);
      assert.ok(eventLine!.startsWith('event: ') && dataLine!.startsWith('data: '), block);
      const data = JSON.parse(dataLine!.slice(6)) as Json;
      const event = eventLine!.slice(7);
      assert.equal(data['type'], event, 'the event name is the data type, as Anthropic sends them');
      return { event, data };
    });
}

const chunk = (delta: Json, finish: string | null = null): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-abc', object: 'chat.completion.chunk', created: 1, model: 'backend', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;

/** Text, reasoning, two tool calls with fragmented arguments, the finish chunk, then the usage chunk. */
const STREAM = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ reasoning_content: 'Think ' }),
  chunk({ reasoning_content: 'hard.' }),
  chunk({ content: 'Héllo ' }),
  chunk({ content: 'wörld 👋' }),
  chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  chunk({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"tz"' } }] }),
  chunk({ tool_calls: [{ index: 1, function: { arguments: ':"CET"}' } }] }),
  chunk({}, 'tool_calls'),
  `data: ${JSON.stringify({ id: 'chatcmpl-abc', object: 'chat.completion.chunk', created: 1, model: 'backend', choices: [], usage: { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70, prompt_tokens_details: { cached_tokens: 10 } } })}\n\n`,
  'data: [DONE]\n\n',
].join('');

const THINKING_CLIENT = { ...base, messages: [], stream: true, thinking: { type: 'enabled', budget_tokens: 1024 } };

const EXPECTED: ParsedEvent[] = [
  {
    event: 'message_start',
    data: {
      type: 'message_start',
      message: { id: 'msg_abc', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } },
    },
  },
  { event: 'ping', data: { type: 'ping' } },
  { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Think ' } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hard.' } } },
  { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
  { event: 'content_block_start', data: { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Héllo ' } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'wörld 👋' } } },
  { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
  { event: 'content_block_start', data: { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":' } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } } },
  { event: 'content_block_stop', data: { type: 'content_block_stop', index: 2 } },
  { event: 'content_block_start', data: { type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '{"tz"' } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: ':"CET"}' } } },
  { event: 'content_block_stop', data: { type: 'content_block_stop', index: 3 } },
  {
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 40, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 10 },
    },
  },
  { event: 'message_stop', data: { type: 'message_stop' } },
];

function splitEvery(bytes: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return pieces;
}

describe('OpenAI SSE chunks -> Messages events', () => {
  const whole = Buffer.from(STREAM);
  const emoji = whole.indexOf(Buffer.from('👋'));
  const splits: Record<string, Buffer[]> = {
    'one piece': [whole],
    'one byte at a time': splitEvery(whole, 1),
    'seven bytes at a time': splitEvery(whole, 7),
    'split inside a UTF-8 character': [whole.subarray(0, emoji + 2), whole.subarray(emoji + 2)],
    'CRLF line endings, split between CR and LF': splitEvery(Buffer.from(STREAM.replaceAll('\n', '\r\n')), 3),
  };
  let reference: string | null = null;
  for (const [name, pieces] of Object.entries(splits)) {
    test(`text, reasoning, two fragmented tool calls and a trailing usage chunk, fed ${name}`, () => {
      const out = translate(THINKING_CLIENT, 200, 'text/event-stream', pieces, { 'x-request-id': 'req-7' });
      assert.equal(out.deferred, false);
      assert.equal(out.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(out.headers['content-length'], undefined);
      assert.equal(out.headers['request-id'], 'req-7');
      assert.deepEqual(parseEvents(out.body), EXPECTED);
      reference ??= out.body;
      assert.equal(out.body, reference, 'the same bytes whatever the split');
    });
  }

  test('message_delta waits for the usage chunk that follows finish_reason', () => {
    const translator = new MessagesAnswerTranslator('claude-x', THINKING_CLIENT);
    translator.start(200, { 'content-type': 'text/event-stream' });
    const upToFinish = STREAM.slice(0, STREAM.lastIndexOf('data: ', STREAM.indexOf('"choices":[]')));
    const first = translator.data(Buffer.from(upToFinish)).toString();
    assert.ok(first.includes('event: content_block_stop') && !first.includes('message_delta'), 'blocks close at the finish chunk; the message waits');
    const second = translator.data(Buffer.from(STREAM.slice(upToFinish.length))).toString() + translator.end().body.toString();
    assert.deepEqual(
      parseEvents(second).map((e) => e.event),
      ['message_delta', 'message_stop'],
    );
  });

  test('reasoning is dropped when the client did not ask for thinking', () => {
    const out = translate({ ...base, messages: [], stream: true }, 200, 'text/event-stream', [Buffer.from(STREAM)]);
    const events = parseEvents(out.body);
    assert.equal(events.some((e) => JSON.stringify(e.data).includes('thinking')), false);
    assert.deepEqual(events[2], { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } });
  });

  test('a backend that numbers every tool call 0 (new ids) still gets one block per call', () => {
    const stream =
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{}' } }] }) +
      chunk({ tool_calls: [{ index: 0, id: 'b', function: { name: 'g', arguments: '{"k":2}' } }] }) +
      chunk({}, 'stop') +
      'data: [DONE]\n\n';
    const events = parseEvents(translate({ ...base, messages: [], stream: true }, 200, 'text/event-stream', [Buffer.from(stream)]).body);
    assert.deepEqual(
      events.filter((e) => e.event === 'content_block_start').map((e) => e.data['content_block']),
      [
        { type: 'tool_use', id: 'a', name: 'f', input: {} },
        { type: 'tool_use', id: 'b', name: 'g', input: {} },
      ],
    );
    assert.deepEqual(events.at(-2)!.data['delta'], { stop_reason: 'tool_use', stop_sequence: null }, 'a tool call finished with "stop" is tool_use');
  });

  test('a stream with no usage chunk and no [DONE] still ends properly after its finish_reason', () => {
    const events = parseEvents(translate({ ...base, messages: [], stream: true }, 200, 'text/event-stream', [Buffer.from(chunk({ content: 'ok' }) + chunk({}, 'length'))]).body);
    assert.deepEqual(events.at(-2), { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 0 } } });
    assert.equal(events.at(-1)!.event, 'message_stop');
  });

  test('a stream cut before any finish ends with an error event', () => {
    const events = parseEvents(translate({ ...base, messages: [], stream: true }, 200, 'text/event-stream', [Buffer.from(chunk({ content: 'partial' }))]).body);
    assert.deepEqual(events.at(-1), { event: 'error', data: { type: 'error', error: { type: 'api_error', message: 'The model backend ended the stream before the answer was complete.' } } });
  });

  test('an error chunk mid-stream becomes the error event, and nothing follows it', () => {
    const stream = chunk({ content: 'Hel' }) + `data: ${JSON.stringify({ error: { object: 'error', message: 'Engine overloaded', type: 'ServiceUnavailableError', code: 503 } })}\n\n` + chunk({ content: 'lo' }) + 'data: [DONE]\n\n';
    const events = parseEvents(translate({ ...base, messages: [], stream: true }, 200, 'text/event-stream', [Buffer.from(stream)]).body);
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'ping', 'content_block_start', 'content_block_delta', 'error'],
    );
    assert.deepEqual(events.at(-1)!.data, { type: 'error', error: { type: 'overloaded_error', message: 'Engine overloaded' } });
  });

  test('the chunk translator is usable on parsed chunks alone', () => {
    const translator = new ChatChunkTranslator(answerContext('m', { stop_sequences: ['STOP'] }));
    let out = translator.push({ id: 'x', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }] });
    out += translator.push({ id: 'x', choices: [{ index: 0, delta: {}, finish_reason: 'stop', stop_reason: 'STOP' }] });
    out += translator.finish(true);
    assert.equal(translator.done, true);
    assert.deepEqual(parseEvents(out).at(-2)!.data['delta'], { stop_reason: 'stop_sequence', stop_sequence: 'STOP' });
    assert.equal(translator.push({ choices: [{ index: 0, delta: { content: 'late' } }] }), '', 'nothing after the end');
  });
});

// ------------------------------------------------------------------------------------------------------------

describe('errors', () => {
  test('OpenAI error bodies become Anthropic error bodies with the same status', () => {
    const cases: [number, Json | string, string, string][] = [
      [400, { error: { message: 'bad stop', type: 'invalid_request_error', param: 'stop', code: null } }, 'invalid_request_error', 'bad stop'],
      [401, { error: { message: 'no key', type: 'invalid_request_error' } }, 'authentication_error', 'no key'],
      [403, { error: { message: 'denied' } }, 'permission_error', 'denied'],
      [404, { object: 'error', message: 'The model `x` does not exist.', type: 'NotFoundError', code: 404 }, 'not_found_error', 'The model `x` does not exist.'],
      [413, { detail: 'too big' }, 'request_too_large', 'too big'],
      [422, { error: 'unprocessable' }, 'invalid_request_error', 'unprocessable'],
      [429, { error: { message: 'slow down', type: 'rate_limit_error' } }, 'rate_limit_error', 'slow down'],
      [500, { error: { message: 'boom' } }, 'api_error', 'boom'],
      [502, '<html>Bad gateway</html>', 'api_error', 'The model backend answered 502.'],
      [503, { error: { message: 'busy' } }, 'overloaded_error', 'busy'],
      [504, { error: { message: 'slow' } }, 'timeout_error', 'slow'],
      [529, { error: { message: 'overloaded' } }, 'overloaded_error', 'overloaded'],
    ];
    for (const [status, body, type, message] of cases) {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const out = translate({ ...base, messages: [], stream: true }, status, 'application/json', splitEvery(Buffer.from(raw), 5), { 'retry-after': '3' });
      assert.equal(out.status, status);
      assert.equal(out.headers['content-type'], 'application/json');
      assert.equal(out.headers['retry-after'], '3', 'upstream headers such as retry-after pass on');
      assert.deepEqual(JSON.parse(out.body), { type: 'error', error: { type, message } }, `status ${status}`);
    }
  });

  test('an error in a 200 JSON body takes the status it names', () => {
    const out = translate({ ...base, messages: [] }, 200, 'application/json', [Buffer.from(JSON.stringify({ error: { message: 'quota', code: 429 } }))]);
    assert.equal(out.status, 429);
    assert.deepEqual(JSON.parse(out.body), { type: 'error', error: { type: 'rate_limit_error', message: 'quota' } });
  });

  test('the gateway error body and the stream error event', () => {
    assert.deepEqual(anthropicErrorBody(429, 'Too many requests.'), { type: 'error', error: { type: 'rate_limit_error', message: 'Too many requests.' } });
    assert.deepEqual(anthropicErrorBody(418, 'x').error.type, 'invalid_request_error');
    assert.equal(messagesErrorEvent(529, 'Overloaded'), 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n');
  });
});

describe('usage, text and stop events of Messages streams', () => {
  const start = { type: 'message_start', message: { id: 'msg_1', usage: { input_tokens: 20, cache_read_input_tokens: 100, cache_creation_input_tokens: 5, output_tokens: 1 } } };
  const oldDelta = { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 15 } };
  const newDelta = { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 20, cache_read_input_tokens: 100, cache_creation_input_tokens: 5, output_tokens: 15 } };

  test('messagesUsageOfEvent reads each event alone', () => {
    assert.deepEqual(messagesUsageOfEvent(start), { promptTokens: 125, completionTokens: 1, totalTokens: 126 });
    assert.deepEqual(messagesUsageOfEvent(newDelta), { promptTokens: 125, completionTokens: 15, totalTokens: 140 });
    assert.deepEqual(messagesUsageOfEvent(oldDelta), { promptTokens: 0, completionTokens: 15, totalTokens: 15 });
    assert.equal(messagesUsageOfEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'usage' } }), null);
    assert.equal(messagesUsageOfEvent({ type: 'ping' }), null);
  });

  test('MessagesUsageReader merges message_start and a message_delta without input', () => {
    const reader = new MessagesUsageReader();
    assert.equal(reader.read(), null);
    assert.equal(reader.push({ type: 'ping' }), null);
    assert.deepEqual(reader.push(start), { promptTokens: 125, completionTokens: 1, totalTokens: 126 });
    assert.deepEqual(reader.push(oldDelta), { promptTokens: 125, completionTokens: 15, totalTokens: 140 });
    assert.deepEqual(reader.read(), { promptTokens: 125, completionTokens: 15, totalTokens: 140 });
  });

  test('every translated event that carries usage contains the usage mark', () => {
    const body = Buffer.from(translate(THINKING_CLIENT, 200, 'text/event-stream', [Buffer.from(STREAM)]).body);
    const events = body.toString().split('\n\n').filter((e) => e !== '');
    const withUsage = events.filter((e) => messagesUsageOfEvent(JSON.parse(e.split('\ndata: ')[1]!)) !== null);
    assert.equal(withUsage.length, 2);
    for (const e of withUsage) assert.ok(Buffer.from(e).includes(MESSAGES_USAGE_MARK));
    const reader = new MessagesUsageReader();
    for (const e of events) reader.push(JSON.parse(e.split('\ndata: ')[1]!));
    assert.deepEqual(reader.read(), { promptTokens: 50, completionTokens: 20, totalTokens: 70 });
  });

  test('messagesEventText gives text_delta text only', () => {
    assert.equal(messagesEventText('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }), 'Hi');
    assert.equal(messagesEventText(null, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }), 'Hi');
    assert.equal(messagesEventText('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'x' } }), '');
    assert.equal(messagesEventText('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{}' } }), '');
    assert.equal(messagesEventText('message_delta', newDelta), '');
  });

  test('stop events without a position: notice whole in a block at index 0, stop_reason refusal', () => {
    assert.deepEqual(parseEvents(messagesStopEvents('Blocked by policy.')), [
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: 'Blocked by policy.' } } },
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
      { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'refusal', stop_sequence: null }, usage: { output_tokens: 0 } } },
      { event: 'message_stop', data: { type: 'message_stop' } },
    ]);
    assert.deepEqual(
      parseEvents(messagesStopEvents(null)).map((e) => e.event),
      ['message_delta', 'message_stop'],
    );
  });

  test('stop events with a position: the open block closes, the notice takes the next index', () => {
    const position = new MessagesStreamPosition();
    for (const e of EXPECTED.slice(0, 8)) position.observe(e.event, e.data); // ends inside the text block (index 1)
    assert.equal(position.open, 1);
    assert.equal(position.next, 2);
    assert.deepEqual(parseEvents(messagesStopEvents('Blocked.', position)), [
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
      { event: 'content_block_start', data: { type: 'content_block_start', index: 2, content_block: { type: 'text', text: '' } } },
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: 'Blocked.' } } },
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 2 } },
      { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'refusal', stop_sequence: null }, usage: { output_tokens: 0 } } },
      { event: 'message_stop', data: { type: 'message_stop' } },
    ]);
    assert.equal(parseEvents(messagesStopEvents(null, new MessagesStreamPosition()))[0]!.event, 'message_start', 'a stream stopped before it started gets its message_start');
  });
});

describe('count_tokens estimate', () => {
  test('counts system, messages, tool calls and results, tools, and images', () => {
    const small = countTokens({ model: 'm', messages: [{ role: 'user', content: 'Hello there' }] }).input_tokens;
    assert.ok(small >= 2 + 4 && small < 20, `small: ${small}`);
    const full = countTokens({
      model: 'm',
      system: [{ type: 'text', text: 'You are a helpful assistant who answers questions about the weather.' }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hello there' }, { type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'Sunny and warm' }] },
      ],
      tools: [{ name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    }).input_tokens;
    assert.ok(full > small + 1600 + 30 && full < small + 1600 + 120, `full: ${full}`);
    assert.throws(() => countTokens({ model: 'm' }), (e: unknown) => e instanceof SluiceError && e.param === 'messages');
  });

  test('a long prompt is sampled, close to the full count', () => {
    const paragraph = 'The quick brown fox jumps over the lazy dog; 12345 numbers, punctuation!? And some longer words: internationalisation. ';
    const text = paragraph.repeat(4000); // ~480K characters
    const estimate = countTokens({ messages: [{ role: 'user', content: text }] }).input_tokens;
    const exactPerParagraph = countTokens({ messages: [{ role: 'user', content: paragraph.repeat(10) }] }).input_tokens - 4;
    const exact = (exactPerParagraph / 10) * 4000;
    assert.ok(Math.abs(estimate - exact) / exact < 0.02, `estimate ${estimate} vs ${exact}`);
  });
});

// ------------------------------------------------------------------------------------------------------------
// The official SDK against a server that answers through the translator.

interface Scenario {
  status: number;
  contentType: string;
  body: string;
  /** Appended to the translated stream (a guard's stop). */
  stop?: (translated: string) => string;
}

describe('@anthropic-ai/sdk reads the translation', () => {
  let server: Server;
  let client: Anthropic;
  const scenarios = new Map<string, Scenario>();
  let lastChat: Json | null = null;

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const parts: Buffer[] = [];
      req.on('data', (p: Buffer) => parts.push(p));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(parts).toString()) as Json;
          lastChat = messagesBridge.toOpenAI(body, 'chat').body;
          const scenario = scenarios.get(String(body['model']))!;
          const translator = messagesBridge.fromOpenAI(String(body['model']), body, 'chat');
          const head = translator.start(scenario.status, { 'content-type': scenario.contentType, 'x-request-id': 'req_test' });
          // The backend's bytes arrive in small pieces, as from a socket.
          let out = '';
          for (const piece of splitEvery(Buffer.from(scenario.body), 11)) out += translator.data(piece).toString();
          const end = translator.end();
          out += end.body.toString();
          if (scenario.stop !== undefined) out = scenario.stop(out);
          const headers = head.deferred ? end.headers : head.headers;
          const clean: Record<string, string> = {};
          for (const [k, v] of Object.entries(headers)) if (typeof v === 'string' && k !== 'content-length') clean[k] = v;
          res.writeHead(head.deferred ? end.status : head.status, clean);
          res.end(out);
        } catch (error) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify(anthropicErrorBody(500, String(error))));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new Anthropic({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: 'sk-test', maxRetries: 0 });
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const user = [{ role: 'user' as const, content: 'Weather in Paris?' }];

  test('messages.create: a JSON answer is a Message', async () => {
    scenarios.set('json-text', { status: 200, contentType: 'application/json', body: JSON.stringify(completion({ content: 'Sunny.' }, 'stop')) });
    const message = await client.messages.create({ model: 'json-text', max_tokens: 50, system: 'Be brief.', messages: user });
    assert.deepEqual(lastChat!['messages'], [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Paris?' },
    ]);
    assert.equal(message.type, 'message');
    assert.equal(message.model, 'json-text');
    assert.deepEqual(message.content, [{ type: 'text', text: 'Sunny.' }]);
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.input_tokens, 22);
    assert.equal(message.usage.output_tokens, 12);
  });

  test('messages.create: a tool_use answer', async () => {
    scenarios.set('json-tool', {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify(completion({ content: null, tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, 'tool_calls')),
    });
    const message = await client.messages.create({
      model: 'json-tool',
      max_tokens: 50,
      messages: user,
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      tool_choice: { type: 'any' },
    });
    assert.equal(lastChat!['tool_choice'], 'required');
    assert.equal(message.stop_reason, 'tool_use');
    const block = message.content[0]!;
    assert.equal(block.type, 'tool_use');
    assert.deepEqual(block.type === 'tool_use' ? [block.id, block.name, block.input] : null, ['call_7', 'get_weather', { city: 'Paris' }]);
  });

  test('messages.stream(): text, thinking and tool calls accumulate into the final message', async () => {
    scenarios.set('stream-all', { status: 200, contentType: 'text/event-stream', body: STREAM });
    const stream = client.messages.stream({ model: 'stream-all', max_tokens: 50, messages: user, thinking: { type: 'enabled', budget_tokens: 1024 } });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const message = await stream.finalMessage();
    assert.equal(lastChat!['stream'], true);
    assert.deepEqual(lastChat!['stream_options'], { include_usage: true });
    assert.equal(text, 'Héllo wörld 👋');
    assert.equal(message.id, 'msg_abc');
    assert.equal(message.stop_reason, 'tool_use');
    assert.deepEqual(
      message.content.map((b) => (b.type === 'tool_use' ? { type: b.type, id: b.id, name: b.name, input: b.input } : b)),
      [
        { type: 'thinking', thinking: 'Think hard.', signature: '' },
        { type: 'text', text: 'Héllo wörld 👋' },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_2', name: 'get_time', input: { tz: 'CET' } },
      ],
    );
    assert.equal(message.usage.input_tokens, 40);
    assert.equal(message.usage.cache_read_input_tokens, 10);
    assert.equal(message.usage.output_tokens, 20);
  });

  test('messages.stream() on a backend that answered JSON', async () => {
    scenarios.set('stream-json', { status: 200, contentType: 'application/json', body: JSON.stringify(completion({ content: 'Whole.' }, 'stop')) });
    const message = await client.messages.stream({ model: 'stream-json', max_tokens: 50, messages: user }).finalMessage();
    assert.deepEqual(message.content, [{ type: 'text', text: 'Whole.' }]);
    assert.equal(message.usage.output_tokens, 12);
  });

  test('errors surface as the SDK error classes', async () => {
    scenarios.set('rate-limited', { status: 429, contentType: 'application/json', body: JSON.stringify({ error: { message: 'Slow down', type: 'rate_limit_error' } }) });
    await assert.rejects(client.messages.create({ model: 'rate-limited', max_tokens: 50, messages: user }), (error: unknown) => {
      assert.ok(error instanceof Anthropic.RateLimitError);
      assert.equal(error.status, 429);
      assert.equal(error.type, 'rate_limit_error');
      assert.equal(error.apiMessage, 'Slow down');
      assert.equal(error.requestID, 'req_test');
      return true;
    });
    scenarios.set('overloaded', { status: 529, contentType: 'application/json', body: JSON.stringify({ error: { message: 'Busy' } }) });
    await assert.rejects(client.messages.create({ model: 'overloaded', max_tokens: 50, messages: user }), (error: unknown) => {
      assert.ok(error instanceof Anthropic.InternalServerError);
      assert.equal(error.type, 'overloaded_error');
      return true;
    });
  });

  test('an error mid-stream rejects the stream with an APIError', async () => {
    scenarios.set('stream-error', {
      status: 200,
      contentType: 'text/event-stream',
      body: chunk({ content: 'Hel' }) + `data: ${JSON.stringify({ error: { message: 'Engine overloaded', code: 503 } })}\n\n`,
    });
    await assert.rejects(client.messages.stream({ model: 'stream-error', max_tokens: 50, messages: user }).finalMessage(), (error: unknown) => {
      assert.ok(error instanceof Anthropic.APIError);
      assert.equal(error.type, 'overloaded_error');
      assert.equal(error.apiMessage, 'Engine overloaded');
      return true;
    });
  });

  /** The translated stream cut inside the text block (after "Héllo "), then the gateway's stop events. */
  const cutInText = (withPosition: boolean) => (translated: string): string => {
    const events = translated.split('\n\n').slice(0, 4).map((e) => `${e}\n\n`);
    const position = new MessagesStreamPosition();
    for (const e of events) {
      const [name, data] = e.slice(7).split('\ndata: ');
      position.observe(name!, JSON.parse(data!));
    }
    return events.join('') + messagesStopEvents('[blocked by policy]', withPosition ? position : undefined);
  };

  test('the stop events end a stream the SDK accepts: with the stream position', async () => {
    scenarios.set('stopped-known', { status: 200, contentType: 'text/event-stream', body: STREAM, stop: cutInText(true) });
    const stream = client.messages.stream({ model: 'stopped-known', max_tokens: 50, messages: user });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const message = await stream.finalMessage();
    assert.equal(message.stop_reason, 'refusal');
    assert.deepEqual(message.content, [
      { type: 'text', text: 'Héllo ' },
      { type: 'text', text: '[blocked by policy]' },
    ]);
    assert.equal(text, 'Héllo [blocked by policy]');
  });

  test('the stop events end a stream the SDK accepts: stateless', async () => {
    scenarios.set('stopped-blind', { status: 200, contentType: 'text/event-stream', body: STREAM, stop: cutInText(false) });
    const message = await client.messages.stream({ model: 'stopped-blind', max_tokens: 50, messages: user }).finalMessage();
    assert.equal(message.stop_reason, 'refusal');
    assert.deepEqual(message.content, [
      { type: 'text', text: 'Héllo ' },
      { type: 'text', text: '[blocked by policy]' },
    ]);
  });
});
