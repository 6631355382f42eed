// A stand-in for api.anthropic.com's Messages API (POST /v1/messages), in its exact wire format: the JSON message,
// the SSE event types (message_start, content_block_start/delta/stop, ping, message_delta, message_stop), and
// `{"type":"error","error":{...}}` bodies. It checks requests as the real API does (x-api-key, anthropic-version,
// max_tokens, alternating turns starting with a user turn) and has knobs for errors, tool calls, held and cut streams.

import { createStats, drop, sendBody, startSimServer, type Exchange, type SimStats } from './shared.ts';

export interface AnthropicSimKnobs {
  /** The key requests must carry in `x-api-key`; null accepts any. */
  apiKey: string | null;
  /** The answer text, streamed a word at a time. */
  text: string;
  /** Answer with a call of this tool (input `toolInput`) when tools are offered and the last turn is not a tool result. */
  toolName: string | null;
  toolInput: Record<string, unknown>;
  /** Answer every request with this error status and type (429 rate_limit_error, 529 overloaded_error...). */
  errorStatus: number;
  errorType: string;
  /** Streams: after the text (or tool input) deltas, send nothing more and keep the connection open until the client goes. */
  holdAfterText: boolean;
  /** Streams: cut the connection after this many events, never sending message_stop. */
  dropAfterEvents: number | null;
}

export interface AnthropicSim {
  readonly url: string;
  readonly stats: SimStats;
  readonly knobs: AnthropicSimKnobs;
  /** The bytes of the last answer body written (a Message, an error, or the events of a stream so far). */
  readonly lastAnswer: string;
  close(): Promise<void>;
}

const DEFAULTS: AnthropicSimKnobs = {
  apiKey: null,
  text: 'Hello from the Messages API.',
  toolName: null,
  toolInput: {},
  errorStatus: 0,
  errorType: 'api_error',
  holdAfterText: false,
  dropAfterEvents: null,
};

type Json = Record<string, unknown>;

export async function startAnthropicSim(knobs: Partial<AnthropicSimKnobs> = {}): Promise<AnthropicSim> {
  const stats = createStats();
  const settings: AnthropicSimKnobs = { ...DEFAULTS, ...knobs };
  let counter = 0;
  const answer = { last: '' };
  const server = await startSimServer(stats, (ex) => {
    answer.last = '';
    handle(ex, settings, `msg_sim${++counter}`, answer);
  });
  return {
    url: server.url,
    stats,
    knobs: settings,
    get lastAnswer() {
      return answer.last;
    },
    close: () => server.close(),
  };
}

function send(ex: Exchange, answer: { last: string }, status: number, body: string): void {
  answer.last = body;
  sendBody(ex.res, status, 'application/json', body, { 'request-id': 'req_sim' });
}

function handle(ex: Exchange, knobs: AnthropicSimKnobs, id: string, answer: { last: string }): void {
  const error = (status: number, type: string, message: string): void =>
    send(ex, answer, status, JSON.stringify({ type: 'error', error: { type, message } }));
  const listing = ex.req.method === 'GET' && ex.path === '/v1/models';
  if (!listing && (ex.req.method !== 'POST' || ex.path !== '/v1/messages')) return error(404, 'not_found_error', `Not found: ${ex.path}`);
  if (knobs.apiKey !== null && ex.req.headers['x-api-key'] !== knobs.apiKey) return error(401, 'authentication_error', 'invalid x-api-key');
  if (listing) {
    const models = { data: [{ type: 'model', id: 'claude-sonnet-4', display_name: 'Claude Sonnet 4', created_at: '2025-05-22T00:00:00Z' }], has_more: false, first_id: 'claude-sonnet-4', last_id: 'claude-sonnet-4' };
    return sendBody(ex.res, 200, 'application/json', JSON.stringify(models));
  }
  if (typeof ex.req.headers['anthropic-version'] !== 'string') return error(400, 'invalid_request_error', 'anthropic-version: header is required');
  let body: Json;
  try {
    body = JSON.parse(ex.body) as Json;
  } catch {
    return error(400, 'invalid_request_error', 'The request body is not valid JSON.');
  }
  const problem = validate(body);
  if (problem !== null) return error(400, 'invalid_request_error', problem);
  if (knobs.errorStatus > 0) return error(knobs.errorStatus, knobs.errorType, `Simulated ${knobs.errorType}.`);

  const messages = body['messages'] as { role: string; content: unknown }[];
  const lastContent = messages.at(-1)!.content;
  const answeringTool = Array.isArray(lastContent) && (lastContent as Json[]).some((b) => b['type'] === 'tool_result');
  const callTool = knobs.toolName !== null && Array.isArray(body['tools']) && !answeringTool;
  let text = callTool ? '' : knobs.text;
  let stopReason = callTool ? 'tool_use' : 'end_turn';
  let stopSequence: string | null = null;
  for (const stop of (body['stop_sequences'] as string[] | undefined) ?? []) {
    const at = text.indexOf(stop);
    if (at !== -1) {
      text = text.slice(0, at);
      stopReason = 'stop_sequence';
      stopSequence = stop;
    }
  }
  const words = text === '' ? [] : text.split(/(?<= )/);
  const inputTokens = Math.ceil(JSON.stringify(messages).length / 4) + (typeof body['system'] === 'string' ? Math.ceil(body['system'].length / 4) : 0);
  const outputTokens = words.length + (callTool ? 5 : 0);
  const toolUse = { type: 'tool_use', id: 'toolu_sim1', name: knobs.toolName, input: knobs.toolInput };
  const model = String(body['model']);

  if (body['stream'] !== true) {
    const content = callTool ? [toolUse] : [{ type: 'text', text }];
    const message = { id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: stopSequence, usage: { input_tokens: inputTokens, output_tokens: outputTokens } };
    return send(ex, answer, 200, JSON.stringify(message));
  }
  ex.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': 'req_sim' });
  // Once cut or held, later events are not written (the connection is gone or waits on the client).
  let written = 0;
  let stopped = false;
  const event = (type: string, data: Json): void => {
    if (stopped) return;
    if (written++ === knobs.dropAfterEvents) {
      stopped = true;
      return drop(ex);
    }
    const text = `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    answer.last += text;
    ex.res.write(text);
  };
  event('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 } } });
  if (callTool) {
    event('content_block_start', { index: 0, content_block: { ...toolUse, input: {} } });
    const json = JSON.stringify(knobs.toolInput);
    const half = Math.floor(json.length / 2);
    for (const part of [json.slice(0, half), json.slice(half)]) event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: part } });
  } else {
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    event('ping', {});
    for (const word of words) event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: word } });
  }
  if (knobs.holdAfterText) stopped = true;
  event('content_block_stop', { index: 0 });
  event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: stopSequence }, usage: { output_tokens: outputTokens } });
  event('message_stop', {});
  if (!stopped) ex.res.end();
}

/** What the real API refuses with 400 invalid_request_error. */
function validate(body: Json): string | null {
  if (typeof body['model'] !== 'string') return 'model: Field required';
  if (typeof body['max_tokens'] !== 'number') return 'max_tokens: Field required';
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: at least one message is required';
  let expected = 'user';
  for (const [i, message] of (messages as Json[]).entries()) {
    if (message['role'] !== expected) return `messages.${i}.role: roles must alternate between "user" and "assistant", starting with "user"`;
    expected = expected === 'user' ? 'assistant' : 'user';
    if (typeof message['content'] !== 'string' && !Array.isArray(message['content'])) return `messages.${i}.content: Input should be a valid list`;
  }
  if ('system' in body && typeof body['system'] !== 'string' && !Array.isArray(body['system'])) return 'system: Input should be a valid string';
  return null;
}
