// Anthropic's Messages API as a client API (the @anthropic-ai/sdk, Claude Code) on backends that speak only
// OpenAI chat (vLLM, Ollama's /v1, hosted APIs): the Messages request becomes a chat request, and the chat answer
// (JSON, SSE chunks, an OpenAI error body) is translated back into a Message, Messages stream events or Anthropic's
// error shape. Streams are translated chunk by chunk as they arrive; JSON answers are held, then translated whole.
//
// Request fields with no OpenAI equivalent are dropped:
//   - `cache_control` (top level and on blocks), `container`, `context_management`, `diagnostics`, `inference_geo`,
//     `mcp_servers`, `service_tier`, `speed`, and the header-like `user_profile_id` / `workspace_id`;
//   - `thinking` and `output_config.effort`: a backend that reasons does so by default, and `reasoning_effort`
//     would be refused by the many models that do not reason (the reasoning a backend streams is still returned,
//     as thinking blocks, when the client asked for thinking);
//   - thinking and redacted_thinking blocks (their signatures mean nothing to another model), citations, and the
//     server tools' blocks (`server_tool_use`, `web_search_tool_result`, ...);
//   - tools with a `type` other than `custom`: server tools and Anthropic-defined tools (web search, bash, text
//     editor) run on Anthropic's side or have schemas only Claude knows;
//   - prefill: a last assistant message is sent as a previous turn, not continued.
// Other choices: `max_tokens` becomes `max_tokens` (not `max_completion_tokens`: vLLM, Ollama and most hosted
// OpenAI-compatible APIs take it; only OpenAI's own reasoning models insist on the other); text blocks of one
// message become one string, joined by a newline (as vLLM joins content parts), so backends that take only string
// content work; system blocks are joined by a blank line; an `is_error` tool result is sent as "Error: <content>";
// images inside a tool result (OpenAI tool messages carry only text) follow as a user message; `top_k` and every
// stop sequence pass as they are (vLLM and Ollama take them; OpenAI's own API refuses top_k and more than 4 stops).
//
// Answers: reasoning (`reasoning_content` or `reasoning`) becomes thinking blocks only when the client asked for
// thinking, with an empty signature and no signature_delta (a backend has none to give; a client sending such a
// block to Anthropic itself later is refused). message_start reports 0 input tokens; the real counts come in
// message_delta, which waits for OpenAI's usage chunk. `stop_sequence` is known only from vLLM's `stop_reason`.

import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { StringDecoder } from 'node:string_decoder';
import type { Endpoint } from '../config/models.ts';
import { SluiceError } from '../errors.ts';
import { HeldAnswer, heldTooLarge, isEventStreamAnswer, MAX_HELD_BYTES, translatedHeaders } from './held-answer.ts';
import type { Usage } from '../plugin/context.ts';
import { validateModelAndStream } from '../http/body.ts';
import { classifyStatus, estimateRequestTokens, isContextWindowError } from './openai.ts';
import { messagesRoot } from './anthropic.ts';
import { HeldBodyUsage, type ClientBridge, type ResponseTranslator, type StreamState, type WireFormat } from './wire-format.ts';
import type { SseEvent } from '../plugin/stream-event.ts';

type Json = Record<string, unknown>;
type Headers = Record<string, string | string[] | undefined>;

/** The POST routes Messages clients call; `/v1/messages/count_tokens` is answered by the gateway (countTokens). */
export const MESSAGES_ROUTES: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([['/v1/messages', 'chat']]);

const EMPTY = Buffer.alloc(0);
const NO_FIELDS: Json = {};

/** True when a Messages request asks for an event stream. */
export function messagesIsStream(body: Readonly<Json>): boolean {
  return body['stream'] === true;
}

// ---------------------------------------------------------------------------------------------------------------
// Request: Messages -> OpenAI chat

/** The OpenAI chat request for a Messages request. Throws a SluiceError (400, param named) for an invalid one. */
export function toChatRequest(body: Readonly<Json>): Json {
  const maxTokens = body['max_tokens'];
  if (maxTokens === undefined || maxTokens === null) throw missing('max_tokens');
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 0) {
    throw invalid('max_tokens', 'Input should be a non-negative integer.');
  }
  const messages: Json[] = [];
  const system = systemText(body['system'], 'system');
  if (system !== '') messages.push({ role: 'system', content: system });
  const input = messagesOf(body);
  if (input.length === 0) throw invalid('messages', 'At least one message is required.');
  for (let i = 0; i < input.length; i++) appendMessage(messages, input[i], `messages.${i}`);

  const request: Json = {};
  if (typeof body['model'] === 'string') request['model'] = body['model'];
  request['messages'] = messages;
  // 0 warms Anthropic's prompt cache without an answer: one token warms a backend's prefix cache the same way,
  // and the translated answer leaves that token out (AnswerContext.silent).
  request['max_tokens'] = maxTokens === 0 ? 1 : maxTokens;
  for (const key of ['temperature', 'top_p', 'top_k'] as const) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(key, 'Input should be a number.');
    request[key] = value;
  }
  const stop = body['stop_sequences'];
  if (stop !== undefined && stop !== null) {
    if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string')) throw invalid('stop_sequences', 'Input should be a list of strings.');
    if (stop.length > 0) request['stop'] = stop;
  }
  addTools(request, body);
  const userId = (isObject(body['metadata']) ? body['metadata'] : NO_FIELDS)['user_id'];
  if (typeof userId === 'string' && userId !== '') request['user'] = userId;
  const format = (isObject(body['output_config']) ? body['output_config'] : NO_FIELDS)['format'] ?? body['output_format'];
  if (isObject(format) && format['type'] === 'json_schema' && isObject(format['schema'])) {
    request['response_format'] = { type: 'json_schema', json_schema: { name: 'response', schema: format['schema'] } };
  }
  if (body['stream'] === true) {
    request['stream'] = true;
    request['stream_options'] = { include_usage: true };
  }
  return request;
}

function messagesOf(body: Readonly<Json>): unknown[] {
  const messages = body['messages'];
  if (messages === undefined || messages === null) throw missing('messages');
  if (!Array.isArray(messages)) throw invalid('messages', 'Input should be a valid list.');
  return messages;
}

function appendMessage(out: Json[], message: unknown, at: string): void {
  if (!isObject(message)) throw invalid(at, 'Input should be an object.');
  const role = message['role'];
  if (role !== 'user' && role !== 'assistant' && role !== 'system') throw invalid(`${at}.role`, "Input should be 'user', 'assistant' or 'system'.");
  const content = message['content'];
  if (typeof content !== 'string' && !Array.isArray(content)) throw invalid(`${at}.content`, 'Input should be a string or a list of content blocks.');
  switch (role) {
    case 'user':
      appendUser(out, content, at);
      return;
    case 'assistant':
      appendAssistant(out, content, at);
      return;
    case 'system': {
      const text = systemText(content, `${at}.content`);
      if (text !== '') out.push({ role: 'system', content: text });
      return;
    }
  }
}

/** A user turn: its tool results become tool messages first, then the rest of the turn one user message. */
function appendUser(out: Json[], content: string | unknown[], at: string): void {
  if (typeof content === 'string') {
    if (content !== '') out.push({ role: 'user', content });
    return;
  }
  const parts: Json[] = [];
  for (let j = 0; j < content.length; j++) {
    const where = `${at}.content.${j}`;
    const block = blockAt(content[j], where);
    switch (block['type']) {
      case 'tool_result': {
        const id = block['tool_use_id'];
        if (typeof id !== 'string' || id === '') throw invalid(`${where}.tool_use_id`, 'Field required.');
        // Images in a result go to the user message that follows: OpenAI tool messages carry text only.
        let text = resultText(block['content'], `${where}.content`, parts);
        if (block['is_error'] === true) text = text === '' ? 'Error' : `Error: ${text}`;
        out.push({ role: 'tool', tool_call_id: id, content: text });
        break;
      }
      case 'tool_use':
        throw invalid(`${where}.type`, 'tool_use blocks are only allowed in assistant messages.');
      default:
        contentPart(block, where, parts);
    }
  }
  if (parts.length > 0) out.push({ role: 'user', content: partsContent(parts) });
}

function appendAssistant(out: Json[], content: string | unknown[], at: string): void {
  if (typeof content === 'string') {
    if (content !== '') out.push({ role: 'assistant', content });
    return;
  }
  let text: string | null = null;
  const calls: Json[] = [];
  for (let j = 0; j < content.length; j++) {
    const where = `${at}.content.${j}`;
    const block = blockAt(content[j], where);
    switch (block['type']) {
      case 'text':
        text = text === null ? stringField(block, 'text', where) : `${text}\n${stringField(block, 'text', where)}`;
        break;
      case 'tool_use': {
        const id = stringField(block, 'id', where);
        const name = stringField(block, 'name', where);
        const input = block['input'] ?? {};
        if (!isObject(input)) throw invalid(`${where}.input`, 'Input should be an object.');
        calls.push({ id, type: 'function', function: { name, arguments: JSON.stringify(input) } });
        break;
      }
      case 'tool_result':
        throw invalid(`${where}.type`, 'tool_result blocks are only allowed in user messages.');
      default:
        break; // thinking, redacted_thinking, server tool blocks: nothing the backend can use
    }
  }
  if (text === null && calls.length === 0) return;
  const message: Json = { role: 'assistant', content: text };
  if (calls.length > 0) message['tool_calls'] = calls;
  out.push(message);
}

/** Adds one user content block's OpenAI parts (text, image_url, file) to `parts`; other blocks are dropped. */
function contentPart(block: Json, where: string, parts: Json[]): void {
  switch (block['type']) {
    case 'text':
      parts.push({ type: 'text', text: stringField(block, 'text', where) });
      return;
    case 'image':
      parts.push(imagePart(block, where));
      return;
    case 'document':
      documentParts(block, where, parts);
      return;
    case 'search_result': {
      const text = resultText(block['content'], `${where}.content`, parts);
      const title = typeof block['title'] === 'string' ? block['title'] : '';
      parts.push({ type: 'text', text: title === '' ? text : `${title}\n${text}` });
      return;
    }
    default:
      return; // thinking blocks, server tool results, container uploads
  }
}

function imagePart(block: Json, where: string): Json {
  const source = block['source'];
  if (!isObject(source)) throw invalid(`${where}.source`, 'Field required.');
  if (source['type'] === 'base64') {
    const media = stringField(source, 'media_type', `${where}.source`);
    const data = stringField(source, 'data', `${where}.source`);
    return { type: 'image_url', image_url: { url: `data:${media};base64,${data}` } };
  }
  if (source['type'] === 'url') return { type: 'image_url', image_url: { url: stringField(source, 'url', `${where}.source`) } };
  throw invalid(`${where}.source.type`, `An image source of type \`${String(source['type'])}\` has no equivalent on this model's API; send it as base64 or url.`);
}

function documentParts(block: Json, where: string, parts: Json[]): void {
  const source = block['source'];
  if (!isObject(source)) throw invalid(`${where}.source`, 'Field required.');
  const title = typeof block['title'] === 'string' && block['title'] !== '' ? block['title'] : null;
  switch (source['type']) {
    case 'text': {
      const data = stringField(source, 'data', `${where}.source`);
      parts.push({ type: 'text', text: title === null ? data : `${title}\n${data}` });
      return;
    }
    case 'content': {
      const text = resultText(source['content'], `${where}.source.content`, parts);
      parts.push({ type: 'text', text: title === null ? text : `${title}\n${text}` });
      return;
    }
    case 'base64': {
      const media = stringField(source, 'media_type', `${where}.source`);
      const data = stringField(source, 'data', `${where}.source`);
      parts.push({ type: 'file', file: { filename: title ?? 'document.pdf', file_data: `data:${media};base64,${data}` } });
      return;
    }
    default:
      throw invalid(`${where}.source.type`, `A document source of type \`${String(source['type'])}\` has no equivalent on this model's API; send it as text or base64.`);
  }
}

/** The text of a tool result's (or document's) content: a string, or blocks whose images go to `images`. */
function resultText(content: unknown, where: string, images: Json[]): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(where, 'Input should be a string or a list of content blocks.');
  let text: string | null = null;
  for (let k = 0; k < content.length; k++) {
    const block = blockAt(content[k], `${where}.${k}`);
    const parts: Json[] = [];
    contentPart(block, `${where}.${k}`, parts);
    for (const part of parts) {
      if (part['type'] === 'text') text = text === null ? (part['text'] as string) : `${text}\n${part['text'] as string}`;
      else images.push(part);
    }
  }
  return text ?? '';
}

/** A user message's content: one string when it is all text (every backend takes that), else the parts. */
function partsContent(parts: Json[]): string | Json[] {
  let text = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part['type'] !== 'text') return parts;
    text = i === 0 ? (part['text'] as string) : `${text}\n${part['text'] as string}`;
  }
  return text;
}

function systemText(value: unknown, param: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) throw invalid(param, 'Input should be a string or a list of text blocks.');
  let text = '';
  for (let i = 0; i < value.length; i++) {
    const block = blockAt(value[i], `${param}.${i}`);
    if (block['type'] !== 'text') throw invalid(`${param}.${i}.type`, "Input should be 'text'.");
    const piece = stringField(block, 'text', `${param}.${i}`);
    text = text === '' ? piece : `${text}\n\n${piece}`;
  }
  return text;
}

function addTools(request: Json, body: Readonly<Json>): void {
  const tools = body['tools'] ?? [];
  if (!Array.isArray(tools)) throw invalid('tools', 'Input should be a valid list.');
  const functions: Json[] = [];
  for (let i = 0; i < tools.length; i++) {
    const tool = tools[i];
    if (!isObject(tool)) throw invalid(`tools.${i}`, 'Input should be an object.');
    const type = tool['type'];
    if (type !== undefined && type !== null && type !== 'custom') continue; // server and Anthropic-defined tools
    const name = stringField(tool, 'name', `tools.${i}`);
    const schema = tool['input_schema'];
    if (!isObject(schema)) throw invalid(`tools.${i}.input_schema`, 'Field required.');
    const fn: Json = { name };
    if (typeof tool['description'] === 'string') fn['description'] = tool['description'];
    fn['parameters'] = schema;
    if (typeof tool['strict'] === 'boolean') fn['strict'] = tool['strict'];
    functions.push({ type: 'function', function: fn });
  }
  const choice = body['tool_choice'];
  let openaiChoice: unknown = null;
  let parallel = true;
  if (choice !== undefined && choice !== null) {
    if (!isObject(choice)) throw invalid('tool_choice', 'Input should be an object.');
    switch (choice['type']) {
      case 'auto':
        openaiChoice = 'auto';
        break;
      case 'any':
        openaiChoice = 'required';
        break;
      case 'none':
        openaiChoice = 'none';
        break;
      case 'tool':
        openaiChoice = { type: 'function', function: { name: stringField(choice, 'name', 'tool_choice') } };
        break;
      default:
        throw invalid('tool_choice.type', "Input should be 'auto', 'any', 'tool' or 'none'.");
    }
    parallel = choice['disable_parallel_tool_use'] !== true;
  }
  // OpenAI refuses tool_choice and parallel_tool_calls without tools.
  if (functions.length === 0) return;
  request['tools'] = functions;
  if (openaiChoice !== null) request['tool_choice'] = openaiChoice;
  if (!parallel) request['parallel_tool_calls'] = false;
}

function blockAt(value: unknown, where: string): Json {
  if (!isObject(value) || typeof value['type'] !== 'string') throw invalid(`${where}.type`, 'Field required.');
  return value;
}

function stringField(object: Json, key: string, where: string): string {
  const value = object[key];
  if (typeof value !== 'string') throw invalid(`${where}.${key}`, value === undefined ? 'Field required.' : 'Input should be a valid string.');
  return value;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A 400 naming the field, its message prefixed with the field as Anthropic words them (`messages.0.content`). */
function invalid(param: string, message: string): SluiceError {
  return new SluiceError('SLUICE_INVALID_PARAM', `${param}: ${message}`, { param });
}

function missing(param: string): SluiceError {
  return new SluiceError('SLUICE_MISSING_PARAM', `${param}: Field required.`, { param });
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** Anthropic's error `type` for an HTTP status (their errors page); other 4xx are invalid_request_error. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
    case 529:
      return 'overloaded_error';
    case 504:
      return 'timeout_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

/** Anthropic's error body, for the gateway's own errors on /v1/messages and for translated backend errors. */
export function anthropicErrorBody(status: number, message: string): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: anthropicErrorType(status), message } };
}

/** The SSE `error` event Anthropic sends when a stream fails after its 200. */
export function messagesErrorEvent(status: number, message: string): string {
  return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(status, message))}\n\n`;
}

/** The message of an OpenAI-style error body (`{error:{message}}`, vLLM's `{message}`, FastAPI's `{detail}`). */
function errorMessage(json: unknown, status: number): string {
  if (isObject(json)) {
    const error = json['error'];
    if (isObject(error) && typeof error['message'] === 'string') return error['message'];
    if (typeof error === 'string') return error;
    if (typeof json['message'] === 'string') return json['message'];
    if (typeof json['detail'] === 'string') return json['detail'];
  }
  return `The model backend answered ${status}.`;
}

/** The status an error carried inside a 200 body or stream says (vLLM puts it in `code`), else 500. */
function embeddedStatus(json: Json): number {
  const error = isObject(json['error']) ? json['error'] : json;
  const code = error['code'];
  return typeof code === 'number' && code >= 400 && code <= 599 ? code : 500;
}

// ---------------------------------------------------------------------------------------------------------------
// Answers: OpenAI chat -> Messages

/** What the translation of an answer needs from the client's request. */
export interface AnswerContext {
  /** The model name the client asked for, echoed in the answer. */
  readonly model: string;
  /** The client asked for thinking: the backend's reasoning is returned as thinking blocks (else dropped). */
  readonly thinking: boolean;
  /** The client's stop sequences, to tell a stop-sequence stop from an end of turn. */
  readonly stopSequences: readonly string[];
  /** The client asked for `max_tokens: 0` (cache warming): the answer has no content. */
  readonly silent: boolean;
}

export function answerContext(requestedModel: string, body: Readonly<Json>): AnswerContext {
  const thinking = isObject(body['thinking']) ? body['thinking'] : NO_FIELDS;
  const stop = body['stop_sequences'];
  return {
    model: requestedModel,
    thinking: (thinking['type'] === 'enabled' || thinking['type'] === 'adaptive') && thinking['display'] !== 'omitted',
    stopSequences: Array.isArray(stop) ? stop.filter((s): s is string => typeof s === 'string') : [],
    silent: body['max_tokens'] === 0,
  };
}

/**
 * The Messages stop reason for an OpenAI finish reason. OpenAI does not say which stop sequence matched; vLLM
 * does, in the choice's `stop_reason`, and a match against the client's sequences gives `stop_sequence`.
 */
function stopReasonOf(finish: unknown, matched: unknown, sawToolCall: boolean, context: AnswerContext): { reason: string; sequence: string | null } {
  if (finish === 'length') return { reason: 'max_tokens', sequence: null };
  if (finish === 'content_filter') return { reason: 'refusal', sequence: null };
  // Some backends (Ollama) finish a tool call with `stop`: the client loops on `tool_use`.
  if (finish === 'tool_calls' || finish === 'function_call' || sawToolCall) return { reason: 'tool_use', sequence: null };
  if (typeof matched === 'string' && context.stopSequences.includes(matched)) return { reason: 'stop_sequence', sequence: matched };
  return { reason: 'end_turn', sequence: null };
}

/** Messages usage for an OpenAI usage object: cached prompt tokens are counted apart, as Anthropic does. */
function messagesUsage(usage: unknown): { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number } {
  const u = isObject(usage) ? usage : NO_FIELDS;
  const prompt = numberOr(u['prompt_tokens'], 0);
  const details = isObject(u['prompt_tokens_details']) ? u['prompt_tokens_details'] : NO_FIELDS;
  const cached = Math.min(prompt, numberOr(details['cached_tokens'], 0));
  return { input_tokens: prompt - cached, output_tokens: numberOr(u['completion_tokens'], 0), cache_creation_input_tokens: 0, cache_read_input_tokens: cached };
}

function messageId(openaiId: unknown): string {
  if (typeof openaiId === 'string' && openaiId !== '') return `msg_${openaiId.startsWith('chatcmpl-') ? openaiId.slice(9) : openaiId}`;
  return `msg_${randomBytes(12).toString('base64url')}`;
}

function toolUseId(openaiId: unknown): string {
  return typeof openaiId === 'string' && openaiId !== '' ? openaiId : `toolu_${randomBytes(12).toString('base64url')}`;
}

/** The reasoning a message or delta carries: `reasoning_content` (vLLM, DeepSeek) or `reasoning` (Ollama, newer vLLM). */
function reasoningOf(message: Json): unknown {
  return message['reasoning_content'] ?? message['reasoning'];
}

function textOfContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) if (isObject(part) && typeof part['text'] === 'string') text += part['text'];
  return text;
}

function parseInput(args: unknown): unknown {
  if (isObject(args)) return args;
  if (typeof args !== 'string' || args === '') return {};
  try {
    const input: unknown = JSON.parse(args);
    return isObject(input) ? input : {};
  } catch {
    return {}; // Messages requires an object; a backend's broken JSON has no better rendering
  }
}

/** The Message for an OpenAI chat.completion. */
export function toMessage(completion: Readonly<Json>, context: AnswerContext): Json {
  const choices = Array.isArray(completion['choices']) ? completion['choices'] : [];
  const choice = isObject(choices[0]) ? choices[0] : NO_FIELDS;
  const message = isObject(choice['message']) ? choice['message'] : NO_FIELDS;
  const refusal = typeof message['refusal'] === 'string' && message['refusal'] !== '' ? message['refusal'] : null;
  const calls = Array.isArray(message['tool_calls']) ? message['tool_calls'] : [];
  const stop = refusal !== null ? { reason: 'refusal', sequence: null } : stopReasonOf(choice['finish_reason'], choice['stop_reason'], calls.length > 0, context);
  return {
    id: messageId(completion['id']),
    type: 'message',
    role: 'assistant',
    model: context.model,
    content: context.silent ? [] : contentBlocks(message, refusal, calls, context),
    stop_reason: stop.reason,
    stop_sequence: stop.sequence,
    usage: messagesUsage(completion['usage']),
  };
}

function contentBlocks(message: Json, refusal: string | null, calls: unknown[], context: AnswerContext): Json[] {
  const content: Json[] = [];
  const reasoning = reasoningOf(message);
  if (context.thinking && typeof reasoning === 'string' && reasoning !== '') content.push({ type: 'thinking', thinking: reasoning, signature: '' });
  const text = textOfContent(message['content']);
  if (text !== '') content.push({ type: 'text', text });
  if (refusal !== null) content.push({ type: 'text', text: refusal });
  for (const call of calls) {
    if (!isObject(call)) continue;
    const fn = isObject(call['function']) ? call['function'] : NO_FIELDS;
    content.push({ type: 'tool_use', id: toolUseId(call['id']), name: typeof fn['name'] === 'string' ? fn['name'] : '', input: parseInput(fn['arguments']) });
  }
  return content;
}

function event(name: string, data: string): string {
  return `event: ${name}\ndata: ${data}\n\n`;
}

function messageStartEvent(id: string, modelJson: string, inputTokens: number): string {
  return event(
    'message_start',
    `{"type":"message_start","message":{"id":${JSON.stringify(id)},"type":"message","role":"assistant","model":${modelJson},"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":${inputTokens},"output_tokens":0}}}`,
  );
}

const PING = event('ping', '{"type":"ping"}');
const MESSAGE_STOP = event('message_stop', '{"type":"message_stop"}');

function blockStartEvent(index: number, block: string): string {
  return event('content_block_start', `{"type":"content_block_start","index":${index},"content_block":${block}}`);
}

function deltaEvent(index: number, delta: string): string {
  return event('content_block_delta', `{"type":"content_block_delta","index":${index},"delta":${delta}}`);
}

function blockStopEvent(index: number): string {
  return event('content_block_stop', `{"type":"content_block_stop","index":${index}}`);
}

function messageDeltaEvent(stopReason: string, stopSequence: string | null, usage: string): string {
  return event('message_delta', `{"type":"message_delta","delta":{"stop_reason":"${stopReason}","stop_sequence":${JSON.stringify(stopSequence)}},"usage":${usage}}`);
}

const TEXT_BLOCK = '{"type":"text","text":""}';
const THINKING_BLOCK = '{"type":"thinking","thinking":"","signature":""}';

/** The event stream of a complete Message: for a client that asked for a stream from a backend that answered JSON. */
export function messageEvents(message: Readonly<Json>): string {
  const usage = isObject(message['usage']) ? message['usage'] : NO_FIELDS;
  let out = messageStartEvent(String(message['id']), JSON.stringify(message['model']), numberOr(usage['input_tokens'], 0)) + PING;
  const content = Array.isArray(message['content']) ? (message['content'] as Json[]) : [];
  for (let i = 0; i < content.length; i++) {
    const block = content[i]!;
    if (block['type'] === 'text') out += blockStartEvent(i, TEXT_BLOCK) + deltaEvent(i, `{"type":"text_delta","text":${JSON.stringify(block['text'])}}`);
    else if (block['type'] === 'thinking') out += blockStartEvent(i, THINKING_BLOCK) + deltaEvent(i, `{"type":"thinking_delta","thinking":${JSON.stringify(block['thinking'])}}`);
    else {
      out += blockStartEvent(i, JSON.stringify({ type: 'tool_use', id: block['id'], name: block['name'], input: {} }));
      out += deltaEvent(i, `{"type":"input_json_delta","partial_json":${JSON.stringify(JSON.stringify(block['input']))}}`);
    }
    out += blockStopEvent(i);
  }
  return out + messageDeltaEvent(String(message['stop_reason']), (message['stop_sequence'] as string | null) ?? null, JSON.stringify(usage)) + MESSAGE_STOP;
}

const NO_BLOCK = 0;
const TEXT = 1;
const THINKING = 2;
const TOOL = 3;

interface ToolBlock {
  readonly index: number;
  readonly id: string;
}

/**
 * Translates parsed chat.completion.chunk objects into Messages SSE events as they arrive: message_start (and a
 * ping) at the first chunk; a content block per run of text, reasoning (when asked for) or tool call, closed when
 * the kind changes; and, since OpenAI sends usage in a chunk after the one with `finish_reason`, message_delta and
 * message_stop only at `[DONE]` or the end of the stream (`finish()`).
 */
export class ChatChunkTranslator {
  readonly #context: AnswerContext;
  readonly #modelJson: string;
  #started = false;
  #done = false;
  #next = 0;
  #open = NO_BLOCK;
  #openIndex = 0;
  /** OpenAI tool call index -> the tool_use block it streams into. */
  readonly #tools = new Map<number, ToolBlock>();
  #finish: unknown = null;
  #matched: unknown = null;
  #sawToolCall = false;
  #usage: unknown = null;

  constructor(context: AnswerContext) {
    this.#context = context;
    this.#modelJson = JSON.stringify(context.model);
  }

  /** True once the stream was ended (message_stop or an error event). */
  get done(): boolean {
    return this.#done;
  }

  /** The SSE text for one chunk (empty when it adds nothing). */
  push(chunk: Json): string {
    if (this.#done) return '';
    if (chunk['error'] !== undefined && chunk['error'] !== null) {
      this.#done = true;
      return messagesErrorEvent(embeddedStatus(chunk), errorMessage(chunk, 500));
    }
    let out = this.#started ? '' : this.#start(chunk);
    if (chunk['usage'] !== undefined && chunk['usage'] !== null) this.#usage = chunk['usage'];
    const choices = chunk['choices'];
    if (!Array.isArray(choices) || choices.length === 0) return out;
    const choice = choices[0];
    // Only the first choice is answered: Messages has no `n`.
    if (!isObject(choice) || (choice['index'] !== undefined && choice['index'] !== 0)) return out;
    const delta = choice['delta'];
    if (isObject(delta) && !this.#context.silent) {
      if (this.#context.thinking) {
        const reasoning = reasoningOf(delta);
        if (typeof reasoning === 'string' && reasoning !== '') out += this.#thinking(reasoning);
      }
      const content = delta['content'];
      if (typeof content === 'string' && content !== '') out += this.#text(content);
      const refusal = delta['refusal'];
      if (typeof refusal === 'string' && refusal !== '') {
        out += this.#text(refusal);
        this.#finish = 'content_filter';
      }
      const calls = delta['tool_calls'];
      if (Array.isArray(calls)) for (let k = 0; k < calls.length; k++) if (isObject(calls[k])) out += this.#toolCall(calls[k] as Json, k);
    }
    const finish = choice['finish_reason'];
    if (finish !== undefined && finish !== null) {
      if (this.#finish !== 'content_filter') this.#finish = finish;
      this.#matched = choice['stop_reason'];
      out += this.#close();
    }
    return out;
  }

  /**
   * The closing events, at `[DONE]` (`complete`) or at the end of the body. A body that ended with neither
   * `[DONE]` nor a finish reason was cut short: it ends with an error event rather than a normal stop.
   */
  finish(complete: boolean): string {
    if (this.#done) return '';
    this.#done = true;
    if (!complete && this.#finish === null) {
      return messagesErrorEvent(502, 'The model backend ended the stream before the answer was complete.');
    }
    let out = this.#started ? this.#close() : this.#start(NO_FIELDS);
    const stop = stopReasonOf(this.#finish, this.#matched, this.#sawToolCall, this.#context);
    const usage = this.#usage === null ? '{"output_tokens":0}' : JSON.stringify(messagesUsage(this.#usage));
    out += messageDeltaEvent(stop.reason, stop.sequence, usage);
    return out + MESSAGE_STOP;
  }

  #start(chunk: Json): string {
    this.#started = true;
    const input = chunk['usage'] === undefined || chunk['usage'] === null ? 0 : messagesUsage(chunk['usage']).input_tokens;
    return messageStartEvent(messageId(chunk['id']), this.#modelJson, input) + PING;
  }

  #close(): string {
    if (this.#open === NO_BLOCK) return '';
    this.#open = NO_BLOCK;
    return blockStopEvent(this.#openIndex);
  }

  #opening(kind: number, block: string): string {
    const out = this.#close() + blockStartEvent(this.#next, block);
    this.#open = kind;
    this.#openIndex = this.#next++;
    return out;
  }

  #text(text: string): string {
    const out = this.#open === TEXT ? '' : this.#opening(TEXT, TEXT_BLOCK);
    return out + deltaEvent(this.#openIndex, `{"type":"text_delta","text":${JSON.stringify(text)}}`);
  }

  #thinking(text: string): string {
    const out = this.#open === THINKING ? '' : this.#opening(THINKING, THINKING_BLOCK);
    return out + deltaEvent(this.#openIndex, `{"type":"thinking_delta","thinking":${JSON.stringify(text)}}`);
  }

  #toolCall(call: Json, position: number): string {
    this.#sawToolCall = true;
    const key = typeof call['index'] === 'number' ? call['index'] : position;
    const fn = isObject(call['function']) ? call['function'] : NO_FIELDS;
    const id = call['id'];
    let out = '';
    let block = this.#tools.get(key);
    // A new call: an index not seen, or (backends that number every call 0) a new id at a seen index.
    if (block === undefined || (typeof id === 'string' && id !== '' && id !== block.id)) {
      block = { index: this.#next, id: toolUseId(id) };
      this.#tools.set(key, block);
      const name = typeof fn['name'] === 'string' ? fn['name'] : '';
      out = this.#opening(TOOL, `{"type":"tool_use","id":${JSON.stringify(block.id)},"name":${JSON.stringify(name)},"input":{}}`);
    }
    const args = fn['arguments'];
    const fragment = typeof args === 'string' ? args : isObject(args) ? JSON.stringify(args) : '';
    // Fragments of a call whose block was closed (calls interleaved) still go to that call's index.
    if (fragment !== '') out += deltaEvent(block.index, `{"type":"input_json_delta","partial_json":${JSON.stringify(fragment)}}`);
    return out;
  }
}

/**
 * An OpenAI chat answer as a Messages answer (the ResponseTranslator of `messagesBridge`): an SSE stream is
 * translated chunk by chunk; a JSON answer or error (small, complete only at its end) is held, then translated
 * whole, and sent as an event stream when the client asked for one.
 */
export class MessagesAnswerTranslator implements ResponseTranslator {
  readonly #context: AnswerContext;
  readonly #clientStreams: boolean;
  #stream: ChatChunkTranslator | null = null;
  #status = 0;
  #headers: Headers = {};
  readonly #held = new HeldAnswer();
  readonly #decoder = new StringDecoder('utf8');
  /** The incomplete last line (no LF in it). */
  #pending = '';
  /** The last chunk ended in CR: an LF opening the next one is the rest of that CRLF. */
  #afterCR = false;
  /** The `data:` lines of the event being read, joined. */
  #data: string | null = null;

  constructor(requestedModel: string, clientBody: Readonly<Json>) {
    this.#context = answerContext(requestedModel, clientBody);
    this.#clientStreams = clientBody['stream'] === true;
  }

  start(status: number, headers: Readonly<Headers>): { deferred: boolean; status: number; headers: Headers } {
    const out = translatedHeaders(headers);
    // The SDK reports `request-id` as the error's and stream's requestID.
    const requestId = headers['x-request-id'];
    if (out['request-id'] === undefined && typeof requestId === 'string') out['request-id'] = requestId;
    if (isEventStreamAnswer(status, headers)) {
      this.#stream = new ChatChunkTranslator(this.#context);
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
    const out = this.#lines(this.#decoder.write(chunk));
    if (this.#pending.length > MAX_HELD_BYTES) throw heldTooLarge();
    return out === '' ? EMPTY : Buffer.from(out);
  }

  end(): { status: number; headers: Headers; body: Buffer } {
    if (this.#stream !== null) {
      let out = this.#lines(this.#decoder.end());
      if (this.#pending !== '') out += this.#line(this.#pending);
      this.#pending = '';
      if (this.#data !== null) out += this.#line('');
      out += this.#stream.finish(false);
      return { status: 200, headers: {}, body: out === '' ? EMPTY : Buffer.from(out) };
    }
    const raw = this.#held.text();
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      if (this.#status < 400) throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', `The model backend answered ${this.#status} with a body that is not JSON.`);
      return this.#reply(this.#status, JSON.stringify(anthropicErrorBody(this.#status, `The model backend answered ${this.#status}.`)), 'application/json');
    }
    if (this.#status >= 400) return this.#reply(this.#status, JSON.stringify(anthropicErrorBody(this.#status, errorMessage(json, this.#status))), 'application/json');
    if (!isObject(json) || !Array.isArray(json['choices'])) {
      if (isObject(json) && json['error'] !== undefined) {
        const status = embeddedStatus(json);
        return this.#reply(status, JSON.stringify(anthropicErrorBody(status, errorMessage(json, status))), 'application/json');
      }
      throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', 'The model backend answered with JSON that is not a chat completion.');
    }
    const message = toMessage(json, this.#context);
    if (this.#clientStreams) return this.#reply(this.#status, messageEvents(message), 'text/event-stream; charset=utf-8');
    return this.#reply(this.#status, JSON.stringify(message), 'application/json');
  }

  #reply(status: number, text: string, contentType: string): { status: number; headers: Headers; body: Buffer } {
    const body = Buffer.from(text);
    return { status, headers: { ...this.#headers, 'content-type': contentType, 'content-length': String(body.length) }, body };
  }

  /** Translates the complete lines of `text` (with what was pending before it), keeping an incomplete last one. */
  #lines(text: string): string {
    if (text === '') return '';
    if (this.#afterCR && text.charCodeAt(0) === 10) text = text.slice(1);
    this.#afterCR = false;
    if (text.includes('\r')) {
      // CRLF and lone CR end lines too (rare from LLM servers): made LFs, this chunk only.
      this.#afterCR = text.charCodeAt(text.length - 1) === 13;
      text = text.replaceAll('\r\n', '\n').replaceAll('\r', '\n');
    }
    // The pending text holds no LF, so only the new text is searched.
    let lf = text.indexOf('\n');
    if (lf === -1) {
      this.#pending += text;
      return '';
    }
    let out = this.#line(this.#pending + text.slice(0, lf));
    let from = lf + 1;
    while ((lf = text.indexOf('\n', from)) !== -1) {
      out += this.#line(text.slice(from, lf));
      from = lf + 1;
    }
    this.#pending = text.slice(from);
    return out;
  }

  /** One SSE line: `data:` lines gather, a blank line dispatches the event; `event:`, `id:` and comments are unused. */
  #line(line: string): string {
    if (line === '') {
      const data = this.#data;
      if (data === null) return '';
      this.#data = null;
      return this.#event(data);
    }
    if (line.startsWith('data:')) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      this.#data = this.#data === null ? value : `${this.#data}\n${value}`;
    }
    return '';
  }

  #event(data: string): string {
    const stream = this.#stream!;
    if (data === '[DONE]') return stream.finish(true);
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', 'The model backend sent a stream event that is not JSON.');
    }
    return isObject(json) ? stream.push(json) : '';
  }
}


/** Messages clients (the Anthropic SDK, Claude Code) on OpenAI chat backends. */
export const messagesBridge: ClientBridge = {
  toOpenAI(body: Readonly<Json>, endpoint: Endpoint) {
    if (endpoint !== 'chat') throw new SluiceError('SLUICE_INVALID_PARAM', `The Messages API has no ${endpoint} endpoint.`, { param: null });
    return { endpoint: 'chat', body: toChatRequest(body) };
  },
  fromOpenAI(requestedModel: string, body: Readonly<Json>): ResponseTranslator {
    return new MessagesAnswerTranslator(requestedModel, body);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Reading Messages answers and streams (native Anthropic ones and translated ones alike)

/** Bytes every Messages event carrying usage contains (message_start's message, message_delta). */
export const MESSAGES_USAGE_MARK = Buffer.from('"usage":{');

/** Prompt tokens: input plus the cached parts Messages counts apart. */
function promptTokensOf(usage: Json): number {
  return numberOr(usage['input_tokens'], 0) + numberOr(usage['cache_read_input_tokens'], 0) + numberOr(usage['cache_creation_input_tokens'], 0);
}

function usageOf(prompt: number, completion: number): Usage {
  return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion };
}

/**
 * The usage one Messages stream event states, or null. message_start states the input (and an initial output
 * count); message_delta the cumulative output and, in current API versions (and in every translated stream),
 * the input again. A message_delta without input tokens gives prompt 0 here: a caller keeping only the last
 * usage should use MessagesUsageReader, which merges the two events.
 */
export function messagesUsageOfEvent(json: unknown): Usage | null {
  if (!isObject(json)) return null;
  if (json['type'] === 'message_start') {
    const message = json['message'];
    const usage = isObject(message) ? message['usage'] : undefined;
    return isObject(usage) ? usageOf(promptTokensOf(usage), numberOr(usage['output_tokens'], 0)) : null;
  }
  if (json['type'] === 'message_delta') {
    const usage = json['usage'];
    return isObject(usage) ? usageOf(promptTokensOf(usage), numberOr(usage['output_tokens'], 0)) : null;
  }
  return null;
}

/** A stream's usage from its events in order: message_start's input, message_delta's output (and input, if given). */
export class MessagesUsageReader {
  #input = 0;
  #cacheRead = 0;
  #cacheCreation = 0;
  #output = 0;
  #seen = false;

  /** Reads one event's parsed JSON; returns the usage so far when the event carried some, else null. */
  push(json: unknown): Usage | null {
    if (!isObject(json)) return null;
    let usage: unknown;
    if (json['type'] === 'message_start') usage = isObject(json['message']) ? json['message']['usage'] : undefined;
    else if (json['type'] === 'message_delta') usage = json['usage'];
    if (!isObject(usage)) return null;
    // Every counter is a whole-message total: a present one replaces, an absent one stays.
    if (typeof usage['input_tokens'] === 'number') this.#input = usage['input_tokens'];
    if (typeof usage['cache_read_input_tokens'] === 'number') this.#cacheRead = usage['cache_read_input_tokens'];
    if (typeof usage['cache_creation_input_tokens'] === 'number') this.#cacheCreation = usage['cache_creation_input_tokens'];
    if (typeof usage['output_tokens'] === 'number') this.#output = usage['output_tokens'];
    this.#seen = true;
    return this.read();
  }

  read(): Usage | null {
    return this.#seen ? usageOf(this.#input + this.#cacheRead + this.#cacheCreation, this.#output) : null;
  }
}

/** The usage of a whole Message (JSON answer), or null. */
export function messagesUsageOfBody(json: unknown): Usage | null {
  if (!isObject(json)) return null;
  const usage = json['usage'];
  if (!isObject(usage) || typeof usage['output_tokens'] !== 'number') return null;
  return usageOf(promptTokensOf(usage), usage['output_tokens']);
}

/** The answer text an event adds (a text_delta's text), for output guards; '' for every other event. */
export function messagesEventText(eventName: string | null, json: unknown): string {
  if (!isObject(json) || (eventName ?? json['type']) !== 'content_block_delta') return '';
  const delta = json['delta'];
  return isObject(delta) && delta['type'] === 'text_delta' && typeof delta['text'] === 'string' ? delta['text'] : '';
}

/**
 * Where a Messages event stream stands, from its events in order: whether message_start was sent, the open
 * content block, the index the next block takes. Lets messagesStopEvents end a stream exactly as Anthropic would.
 */
export class MessagesStreamPosition {
  #started = false;
  #open: number | null = null;
  #next = 0;

  observe(eventName: string | null, json: unknown): void {
    if (!isObject(json)) return;
    switch (eventName ?? json['type']) {
      case 'message_start':
        this.#started = true;
        return;
      case 'content_block_start': {
        const index = numberOr(json['index'], this.#next);
        this.#open = index;
        this.#next = index + 1;
        return;
      }
      case 'content_block_stop':
        this.#open = null;
        return;
      default:
        return;
    }
  }

  get started(): boolean {
    return this.#started;
  }
  /** The index of the block started and not yet stopped, or null. */
  get open(): number | null {
    return this.#open;
  }
  get next(): number {
    return this.#next;
  }
}

/**
 * The events that end a stream the gateway stopped (a guard blocked the answer): stop_reason `refusal`, and the
 * notice, when given, as a text block. With the stream's position, the open block is closed and the notice is a
 * block of its own at the next index, as Anthropic would send. Without it nothing is known of the blocks sent: no
 * block is closed, and the notice comes whole in a content_block_start at index 0 with no delta (the SDKs add a
 * started block to the message whatever its index, and index 0 always exists for those that look a stop's index
 * up). Output tokens are reported as 0: the gateway has not counted them.
 */
export function messagesStopEvents(notice: string | null, position?: MessagesStreamPosition): string {
  let out = '';
  if (position === undefined) {
    if (notice !== null && notice !== '') out += blockStartEvent(0, `{"type":"text","text":${JSON.stringify(notice)}}`) + blockStopEvent(0);
  } else {
    if (!position.started) out += messageStartEvent(messageId(undefined), '""', 0);
    if (position.open !== null) out += blockStopEvent(position.open);
    if (notice !== null && notice !== '') {
      const index = position.next;
      out += blockStartEvent(index, TEXT_BLOCK) + deltaEvent(index, `{"type":"text_delta","text":${JSON.stringify(notice)}}`) + blockStopEvent(index);
    }
  }
  return out + messageDeltaEvent('refusal', null, '{"output_tokens":0}') + MESSAGE_STOP;
}

// ---------------------------------------------------------------------------------------------------------------
// count_tokens

interface Encoder {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}

let encoder: Encoder | null = null;
const ORDINARY = { disallowedSpecial: new Set<string>() };
/** Text up to this many characters is tokenized whole; longer text by evenly spread samples of this total size. */
const EXACT_CHARS = 96 * 1024;
const SAMPLES = 4;
/** Anthropic bills an image by its pixels (about 1,600 tokens at most); the size is not read, so the maximum. */
const IMAGE_TOKENS = 1600;
/** Role and turn framing per message, name and framing per tool. */
const MESSAGE_TOKENS = 4;
const TOOL_TOKENS = 8;

/** BPE tokens of `text` in o200k_base (gpt-tokenizer, bundled; loaded at the first count, about 0.5 s). */
function tokensOf(text: string): number {
  if (text === '') return 0;
  encoder ??= createRequire(import.meta.url)('gpt-tokenizer/encoding/o200k_base') as Encoder;
  if (text.length <= EXACT_CHARS) return encoder.countTokens(text, ORDINARY);
  // Tokenizing costs about 1 ms per 3 KB and blocks the event loop: a long prompt is sampled.
  const size = EXACT_CHARS / SAMPLES;
  const stride = Math.floor((text.length - size) / (SAMPLES - 1));
  let sampled = 0;
  for (let i = 0; i < SAMPLES; i++) sampled += encoder.countTokens(text.slice(i * stride, i * stride + size), ORDINARY);
  return Math.round((sampled * text.length) / EXACT_CHARS);
}

/**
 * An estimate of a Messages request's input tokens for /v1/messages/count_tokens on a backend that cannot count
 * them: the system prompt, every message's text, tool calls and results, and the tool definitions, in
 * o200k_base (the backend's own tokenizer differs, typically by 10-20%), plus framing, and the maximum for each
 * image. Throws a SluiceError (400) when `messages` is missing or not a list.
 */
export function countTokens(body: Readonly<Json>): { input_tokens: number } {
  const messages = messagesOf(body);
  const texts: string[] = [];
  let extra = 0;
  const addContent = (content: unknown): void => {
    if (typeof content === 'string') {
      texts.push(content);
      return;
    }
    if (!Array.isArray(content)) return;
    for (const block of content) {
      if (!isObject(block)) continue;
      switch (block['type']) {
        case 'text':
          if (typeof block['text'] === 'string') texts.push(block['text']);
          break;
        case 'image':
          extra += IMAGE_TOKENS;
          break;
        case 'tool_use':
          texts.push(`${String(block['name'])} ${JSON.stringify(block['input'] ?? {})}`);
          break;
        case 'tool_result':
        case 'search_result':
          addContent(block['content']);
          break;
        case 'document': {
          const source = isObject(block['source']) ? block['source'] : NO_FIELDS;
          if (source['type'] === 'text' && typeof source['data'] === 'string') texts.push(source['data']);
          else if (source['type'] === 'content') addContent(source['content']);
          break;
        }
        default:
          break; // thinking blocks are dropped before the backend sees them
      }
    }
  };
  addContent(body['system']);
  for (const message of messages) {
    extra += MESSAGE_TOKENS;
    if (isObject(message)) addContent(message['content']);
  }
  if (Array.isArray(body['tools'])) {
    for (const tool of body['tools']) {
      if (!isObject(tool)) continue;
      extra += TOOL_TOKENS;
      texts.push(`${String(tool['name'])} ${typeof tool['description'] === 'string' ? tool['description'] : ''} ${JSON.stringify(tool['input_schema'] ?? {})}`);
    }
  }
  return { input_tokens: tokensOf(texts.join('\n')) + extra };
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

// ---------------------------------------------------------------------------------------------------------------
// The client API as the engine sees it.

const MESSAGE_START = Buffer.from('message_start');
const BLOCK_START = Buffer.from('content_block_start');
const BLOCK_STOP = Buffer.from('content_block_stop');

/** The tap's view of a Messages stream, so a stop closes the open block and numbers its own exactly. */
class MessagesStreamState implements StreamState {
  readonly position = new MessagesStreamPosition();

  observe(event: SseEvent): void {
    // Only message_start and block starts and stops move the position: text deltas, the bulk, are not parsed.
    const raw = event.raw;
    if (raw.indexOf(MESSAGE_START) === -1 && raw.indexOf(BLOCK_START) === -1 && raw.indexOf(BLOCK_STOP) === -1) return;
    this.position.observe(event.event, event.json);
  }
}

/** Anthropic's Messages API: `/v1/messages`, named SSE events, `{"type":"error","error":{...}}`. */
export const messagesWire: WireFormat = {
  id: 'anthropic',
  routes: MESSAGES_ROUTES,
  validate: (_endpoint, body) => validateModelAndStream(body),
  isStream: (_endpoint, body) => messagesIsStream(body),
  servesNatively: (deployment) => deployment.nativeApis.has('anthropic'),
  upstreamPath: (_endpoint, basePath) => `${messagesRoot(basePath)}/messages`,
  bridge: messagesBridge,
  errorBody: (error, message) => anthropicErrorBody(error.status, message),
  streamState: () => new MessagesStreamState(),
  streamErrorTail: (error, message) => messagesErrorEvent(error.status, message),
  streamStopTail: (stop, _ctx, state) => messagesStopEvents(stop.notice, state instanceof MessagesStreamState ? state.position : undefined),
  eventText: (event) => messagesEventText(event.event, event.json),
  bodyText: (json) => {
    const content = (json as { content?: { type?: unknown; text?: unknown }[] } | null)?.content;
    if (!Array.isArray(content)) return '';
    return content.map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : '')).join('');
  },
  streamFraming: 'sse',
  usageMark: MESSAGES_USAGE_MARK,
  usageOfEvent: messagesUsageOfEvent,
  isUsageOnlyEvent: () => false,
  usageOfBody: messagesUsageOfBody,
  bodyUsageReader: () => new HeldBodyUsage(messagesUsageOfBody),
  classifyStatus,
  isContextWindowError,
  estimateRequestTokens,
};
