// Anthropic's Messages API as a backend for OpenAI chat clients: the request translated to Messages, the answer
// (JSON, SSE events, errors) translated back to chat.completion, chat.completion.chunk and OpenAI's error shape.
// Streams are translated event by event as they arrive; nothing is held longer than one event.

import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { Endpoint } from '../config/models.ts';
import { SluiceError } from '../errors.ts';
import { HeldAnswer, heldTooLarge, isEventStreamAnswer, MAX_HELD_BYTES, translatedHeaders } from './held-answer.ts';
import type { ForeignBackend, ResponseTranslator } from './wire-format.ts';

/** The API version every request names (`anthropic-version`). */
export const ANTHROPIC_VERSION = '2023-06-01';

/** Messages requires `max_tokens`; LiteLLM sends this when the client gave none. */
export const DEFAULT_MAX_TOKENS = 4096;

const EMPTY = Buffer.alloc(0);

type Json = Record<string, unknown>;
type Headers = Record<string, string | string[] | undefined>;
type Block = Json;

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

const FINISH_REASON: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  pause_turn: 'stop',
  refusal: 'content_filter',
};

/** The Messages request for an OpenAI chat request (`body`), to `model`. */
export function toMessagesRequest(body: Readonly<Json>, model: string): Json {
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]): void => {
    if (blocks.length === 0) return;
    // Messages wants user and assistant turns to alternate: consecutive turns of one role are merged.
    const last = messages.at(-1);
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of (body['messages'] as Json[] | undefined) ?? []) {
    const role = message['role'];
    if (role === 'system' || role === 'developer') {
      system.push(textOf(message['content']));
    } else if (role === 'tool') {
      push('user', [{ type: 'tool_result', tool_use_id: String(message['tool_call_id'] ?? ''), content: textOf(message['content']) }]);
    } else if (role === 'assistant') {
      const blocks = contentBlocks(message['content']);
      for (const call of (message['tool_calls'] as Json[] | undefined) ?? []) {
        const fn = (call['function'] ?? {}) as Json;
        blocks.push({ type: 'tool_use', id: String(call['id'] ?? ''), name: String(fn['name'] ?? ''), input: parseArguments(fn['arguments']) });
      }
      push('assistant', blocks);
    } else {
      push('user', contentBlocks(message['content']));
    }
  }
  const out: Json = { model, messages, max_tokens: numberOr(body['max_tokens'], numberOr(body['max_completion_tokens'], DEFAULT_MAX_TOKENS)) };
  if (system.length > 0) out['system'] = system.join('\n\n');
  for (const key of ['temperature', 'top_p', 'top_k'] as const) if (typeof body[key] === 'number') out[key] = body[key];
  const stop = body['stop'];
  if (typeof stop === 'string') out['stop_sequences'] = [stop];
  else if (Array.isArray(stop) && stop.length > 0) out['stop_sequences'] = stop;
  if (body['stream'] === true) out['stream'] = true;
  const tools = body['tools'] as Json[] | undefined;
  if (Array.isArray(tools) && tools.length > 0) {
    out['tools'] = tools.map((tool) => {
      const fn = (tool['function'] ?? {}) as Json;
      return { name: fn['name'], ...(typeof fn['description'] === 'string' ? { description: fn['description'] } : {}), input_schema: fn['parameters'] ?? { type: 'object', properties: {} } };
    });
    const choice = toolChoice(body['tool_choice']);
    if (choice !== null) out['tool_choice'] = choice;
  }
  if (typeof body['user'] === 'string') out['metadata'] = { user_id: body['user'] };
  return out;
}

/** An OpenAI chat.completion for a Messages answer. */
export function toChatCompletion(message: Readonly<Json>, requestedModel: string): Json {
  let text = '';
  const toolCalls: Json[] = [];
  for (const block of (message['content'] as Block[] | undefined) ?? []) {
    if (block['type'] === 'text') text += String(block['text'] ?? '');
    else if (block['type'] === 'tool_use') {
      toolCalls.push({ id: block['id'], type: 'function', function: { name: block['name'], arguments: JSON.stringify(block['input'] ?? {}) } });
    }
  }
  const reply: Json = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, refusal: null };
  if (toolCalls.length > 0) reply['tool_calls'] = toolCalls;
  return {
    id: chatId(message['id']),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: requestedModel,
    choices: [{ index: 0, message: reply, logprobs: null, finish_reason: finishReason(message['stop_reason']) }],
    usage: usageOf(message['usage']),
  };
}

/** OpenAI's error object for a Messages error body (`{"type":"error","error":{"type","message"}}`). */
export function toOpenAIError(status: number, body: unknown): Json {
  const error = ((body as Json | null)?.['error'] ?? {}) as Json;
  const type = typeof error['type'] === 'string' ? error['type'] : 'api_error';
  const message = typeof error['message'] === 'string' ? error['message'] : `Anthropic answered ${status}.`;
  return { error: { message, type, param: null, code: type } };
}

/**
 * Translates a Messages event stream into chat.completion.chunk events as the events arrive. `push` takes one
 * event's name and parsed data and returns the OpenAI SSE text to send for it (often one `data:` line, sometimes
 * none).
 */
export class MessagesStreamTranslator {
  readonly #model: string;
  /** The client asked for (or the gateway asked on its behalf for) a final usage chunk. */
  readonly #includeUsage: boolean;
  #id = chatId(undefined);
  readonly #created = Math.floor(Date.now() / 1000);
  #promptTokens = 0;
  #completionTokens = 0;
  /** Content block index → tool call index, for the blocks that are tool calls. */
  readonly #toolIndex = new Map<number, number>();
  #finishReason: string | null = null;
  #done = false;

  constructor(requestedModel: string, includeUsage: boolean) {
    this.#model = requestedModel;
    this.#includeUsage = includeUsage;
  }

  get done(): boolean {
    return this.#done;
  }

  push(event: string | null, data: unknown): string {
    if (this.#done) return '';
    const json = (data ?? {}) as Json;
    switch (event ?? json['type']) {
      case 'message_start': {
        const message = (json['message'] ?? {}) as Json;
        this.#id = chatId(message['id']);
        const usage = (message['usage'] ?? {}) as Json;
        this.#promptTokens = inputTokens(usage);
        this.#completionTokens = numberOr(usage['output_tokens'], 0);
        return this.#chunk({ role: 'assistant', content: '' }, null);
      }
      case 'content_block_start': {
        const block = (json['content_block'] ?? {}) as Json;
        if (block['type'] !== 'tool_use') return '';
        const index = this.#toolIndex.size;
        this.#toolIndex.set(numberOr(json['index'], 0), index);
        return this.#chunk({ tool_calls: [{ index, id: block['id'], type: 'function', function: { name: block['name'], arguments: '' } }] }, null);
      }
      case 'content_block_delta': {
        const delta = (json['delta'] ?? {}) as Json;
        if (delta['type'] === 'text_delta') return this.#chunk({ content: String(delta['text'] ?? '') }, null);
        if (delta['type'] === 'input_json_delta') {
          const index = this.#toolIndex.get(numberOr(json['index'], 0)) ?? 0;
          return this.#chunk({ tool_calls: [{ index, function: { arguments: String(delta['partial_json'] ?? '') } }] }, null);
        }
        return '';
      }
      case 'message_delta': {
        const delta = (json['delta'] ?? {}) as Json;
        const usage = (json['usage'] ?? {}) as Json;
        if (typeof usage['output_tokens'] === 'number') this.#completionTokens = usage['output_tokens'];
        if (typeof usage['input_tokens'] === 'number') this.#promptTokens = inputTokens(usage);
        this.#finishReason = finishReason(delta['stop_reason']);
        return this.#chunk({}, this.#finishReason);
      }
      case 'message_stop': {
        this.#done = true;
        let out = '';
        if (this.#includeUsage) {
          const usage = { prompt_tokens: this.#promptTokens, completion_tokens: this.#completionTokens, total_tokens: this.#promptTokens + this.#completionTokens };
          out += `data: ${JSON.stringify({ id: this.#id, object: 'chat.completion.chunk', created: this.#created, model: this.#model, choices: [], usage })}\n\n`;
        }
        return out + 'data: [DONE]\n\n';
      }
      case 'error': {
        this.#done = true;
        return `data: ${JSON.stringify(toOpenAIError(500, json))}\n\n`;
      }
      default:
        return ''; // ping, content_block_stop, and event types added later
    }
  }

  #chunk(delta: Json, finishReason: string | null): string {
    const chunk = { id: this.#id, object: 'chat.completion.chunk', created: this.#created, model: this.#model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }
}

function contentBlocks(content: unknown): Block[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const blocks: Block[] = [];
  for (const part of content as Json[]) {
    if (part['type'] === 'text') blocks.push({ type: 'text', text: String(part['text'] ?? '') });
    else if (part['type'] === 'image_url') {
      const url = String(((part['image_url'] ?? {}) as Json)['url'] ?? '');
      const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      blocks.push(data === null ? { type: 'image', source: { type: 'url', url } } : { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } });
    }
  }
  return blocks;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Json[])
    .filter((part) => part['type'] === 'text')
    .map((part) => String(part['text'] ?? ''))
    .join('');
}

function parseArguments(value: unknown): unknown {
  if (typeof value !== 'string' || value === '') return {};
  try {
    return JSON.parse(value);
  } catch {
    return {};
  }
}

function toolChoice(choice: unknown): Json | null {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  if (typeof choice === 'object' && choice !== null) {
    const name = ((choice as Json)['function'] as Json | undefined)?.['name'];
    if (typeof name === 'string') return { type: 'tool', name };
  }
  return null;
}

function finishReason(stopReason: unknown): string | null {
  return typeof stopReason === 'string' ? (FINISH_REASON[stopReason] ?? 'stop') : null;
}

/** Prompt tokens: input plus the cached parts Messages counts separately. */
function inputTokens(usage: Json): number {
  return numberOr(usage['input_tokens'], 0) + numberOr(usage['cache_read_input_tokens'], 0) + numberOr(usage['cache_creation_input_tokens'], 0);
}

function usageOf(value: unknown): Json {
  const usage = (value ?? {}) as Json;
  const prompt = inputTokens(usage);
  const completion = numberOr(usage['output_tokens'], 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function chatId(messageId: unknown): string {
  return typeof messageId === 'string' ? `chatcmpl-${messageId}` : `chatcmpl-${randomBytes(9).toString('base64url')}`;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/**
 * An Anthropic answer as OpenAI's: an event stream is translated event by event as it arrives; a JSON answer or an
 * error (small, and complete only at its end) is held, then translated whole.
 */
export class MessagesResponseTranslator implements ResponseTranslator {
  readonly #model: string;
  readonly #includeUsage: boolean;
  #stream: MessagesStreamTranslator | null = null;
  #status = 0;
  #headers: Headers = {};
  readonly #held = new HeldAnswer();
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  constructor(requestedModel: string, includeUsage: boolean) {
    this.#model = requestedModel;
    this.#includeUsage = includeUsage;
  }

  start(status: number, headers: Readonly<Headers>): { deferred: boolean; status: number; headers: Headers } {
    // Anthropic's own ids and limits headers pass on.
    const out = translatedHeaders(headers);
    if (isEventStreamAnswer(status, headers)) {
      this.#stream = new MessagesStreamTranslator(this.#model, this.#includeUsage);
      return { deferred: false, status, headers: { ...out, 'content-type': 'text/event-stream; charset=utf-8' } };
    }
    this.#status = status;
    this.#headers = out;
    return { deferred: true, status, headers: out };
  }

  data(chunk: Buffer): Buffer {
    if (this.#stream === null) {
      this.#held.push(chunk);
      return EMPTY;
    }
    this.#pending += this.#decoder.write(chunk);
    return this.#events(false);
  }

  end(): { status: number; headers: Headers; body: Buffer } {
    if (this.#stream !== null) {
      this.#pending += this.#decoder.end();
      return { status: 200, headers: {}, body: this.#events(true) };
    }
    const raw = this.#held.text();
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', `Anthropic answered ${this.#status} with a body that is not JSON.`);
    }
    const translated = this.#status < 400 ? toChatCompletion(json as Json, this.#model) : toOpenAIError(this.#status, json);
    const body = Buffer.from(JSON.stringify(translated));
    return { status: this.#status, headers: { ...this.#headers, 'content-type': 'application/json', 'content-length': String(body.length) }, body };
  }

  /** Translates every complete event held (all of them at the end), keeping an incomplete one for later. */
  #events(atEnd: boolean): Buffer {
    let text = this.#pending;
    if (text.includes('\r')) {
      // A CR at the end may be half of a CRLF split across chunks: it waits for the next one.
      const held = !atEnd && text.endsWith('\r');
      text = (held ? text.slice(0, -1) : text).replace(/\r\n?/g, '\n') + (held ? '\r' : '');
    }
    let out = '';
    for (let end = text.indexOf('\n\n'); end !== -1 || (atEnd && text.trim() !== ''); end = text.indexOf('\n\n')) {
      const block = end === -1 ? text : text.slice(0, end);
      text = end === -1 ? '' : text.slice(end + 2);
      out += this.#event(block);
    }
    if (text.length > MAX_HELD_BYTES) throw heldTooLarge();
    this.#pending = text;
    return out === '' ? EMPTY : Buffer.from(out);
  }

  #event(block: string): string {
    let name: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) name = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
    }
    if (data.length === 0) return '';
    let json: unknown;
    try {
      json = JSON.parse(data.join('\n'));
    } catch {
      throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', 'Anthropic sent a stream event that is not JSON.');
    }
    return this.#stream!.push(name, json);
  }
}


/** The API root under an api_base's path, as LiteLLM completes it: `…/v1` (so `/v1/messages`, `/v1/models`). */
export function messagesRoot(basePath: string): string {
  const base = basePath.replace(/\/+$/, '').replace(/\/messages$/, '');
  return base.endsWith('/v1') ? base : `${base}/v1`;
}

/** `anthropic/` deployments: OpenAI chat in, Messages out and back. */
export const anthropicBackend: ForeignBackend = {
  request(body: Readonly<Json>, endpoint: Endpoint, model: string, basePath: string, apiKey: string | null) {
    if (endpoint !== 'chat') {
      throw new SluiceError('SLUICE_INVALID_PARAM', `Model \`${String(body['model'])}\` is served by Anthropic's Messages API, which has no ${endpoint} endpoint; use /v1/chat/completions.`, {
        param: 'model',
      });
    }
    const headers = ['anthropic-version', ANTHROPIC_VERSION, 'content-type', 'application/json'];
    // (The client's own content-type is not forwarded to a rebuilt request.)
    if (apiKey !== null) headers.push('x-api-key', apiKey);
    return { path: `${messagesRoot(basePath)}/messages`, body: JSON.stringify(toMessagesRequest(body, model)), headers };
  },
  translator(requestedModel: string, body: Readonly<Json>): ResponseTranslator {
    const options = body['stream_options'] as { include_usage?: unknown } | undefined;
    return new MessagesResponseTranslator(requestedModel, options?.include_usage === true);
  },
};
