// OpenAI's Responses API (POST /v1/responses) for a backend that serves only chat completions: the request becomes a
// chat request, and the chat answer (JSON, SSE chunks, errors) becomes a response object or the `response.*` event
// stream, translated chunk by chunk as it arrives. Stateless: nothing is stored, so a request that needs a stored
// response or item (`previous_response_id`, `store: true`, `item_reference`, `conversation`) is refused with a 400.
// A backend that serves /v1/responses itself gets the bytes untouched; this file is not involved then.

import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { Endpoint } from '../config/models.ts';
import { SluiceError } from '../errors.ts';
import { HeldAnswer, heldTooLarge, isEventStreamAnswer, MAX_HELD_BYTES, translatedHeaders } from './held-answer.ts';
import type { Usage } from '../plugin/context.ts';
import { validateModelAndStream } from '../http/body.ts';
import type { SseEvent } from '../plugin/stream-event.ts';
import { classifyStatus, estimateRequestTokens, isContextWindowError, openaiErrorBody } from './openai.ts';
import { HeldBodyUsage, type ClientBridge, type ResponseTranslator, type StreamState, type WireFormat } from './wire-format.ts';

type Json = Record<string, unknown>;
type Headers = Record<string, string | string[] | undefined>;

/** The POST routes Responses clients call, by path; both reach a backend's chat endpoint. */
export const RESPONSES_ROUTES: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([
  ['/v1/responses', 'chat'],
  ['/responses', 'chat'],
]);

/** True when the client asked for the `response.*` event stream. */
export function responsesIsStream(body: Readonly<Json>): boolean {
  return body['stream'] === true;
}

const EMPTY = Buffer.alloc(0);
/** Shared, never mutated: the `logprobs` and `annotations` of every text part and delta. */
const NONE: readonly never[] = [];

// ---------------------------------------------------------------------------------------------------------------
// Request: Responses -> chat completions

const STATELESS = 'the gateway translates the Responses API statelessly (to chat completions) for this backend and stores no responses';

function invalid(param: string, message: string): SluiceError {
  return new SluiceError('SLUICE_INVALID_PARAM', message, { param });
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The chat request for a Responses request. Throws a SluiceError (400, param named) for what has no equivalent. */
export function toChatRequest(body: Readonly<Json>): Json {
  refuseStateful(body);
  const messages: Json[] = [];
  const instructions = body['instructions'];
  if (typeof instructions === 'string') {
    if (instructions !== '') messages.push({ role: 'system', content: instructions });
  } else if (instructions !== undefined && instructions !== null) {
    throw invalid('instructions', '`instructions` must be a string.');
  }
  const input = body['input'];
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  else if (Array.isArray(input)) appendItems(messages, input);
  else if (input !== undefined && input !== null) throw invalid('input', '`input` must be a string or an array of input items.');
  if (messages.length === 0) throw new SluiceError('SLUICE_MISSING_PARAM', 'Missing required parameter: `input`.', { param: 'input' });

  // Not sent: metadata (echoed in the answer; OpenAI's chat refuses it without store), include, truncation,
  // top_logprobs and reasoning.summary, which a chat backend has no use for.
  const out: Json = { model: body['model'], messages };
  for (const key of ['temperature', 'top_p'] as const) if (typeof body[key] === 'number') out[key] = body[key];
  // max_tokens rather than max_completion_tokens: every OpenAI-compatible server (vLLM, Ollama, llama.cpp, TGI)
  // reads it, while the newer name is not served everywhere.
  if (typeof body['max_output_tokens'] === 'number') out['max_tokens'] = body['max_output_tokens'];
  if (typeof body['parallel_tool_calls'] === 'boolean') out['parallel_tool_calls'] = body['parallel_tool_calls'];
  for (const key of ['user', 'service_tier', 'safety_identifier', 'prompt_cache_key'] as const) {
    if (typeof body[key] === 'string') out[key] = body[key];
  }
  const tools = body['tools'];
  let chatTools: Json[] | null = null;
  if (Array.isArray(tools)) {
    if (tools.length > 0) chatTools = toChatTools(tools);
  } else if (tools !== undefined && tools !== null) {
    throw invalid('tools', '`tools` must be an array.');
  }
  const choice = body['tool_choice'];
  // Chat servers refuse a tool_choice without tools.
  if (choice !== undefined && choice !== null && chatTools !== null) {
    const translated = toChatToolChoice(choice, chatTools);
    chatTools = translated.tools;
    if (chatTools !== null) out['tool_choice'] = translated.choice;
  }
  if (chatTools !== null) out['tools'] = chatTools;
  const text = body['text'];
  if (isObject(text)) {
    const format = text['format'];
    if (format !== undefined && format !== null) {
      const responseFormat = toResponseFormat(format);
      if (responseFormat !== null) out['response_format'] = responseFormat;
    }
    if (typeof text['verbosity'] === 'string') out['verbosity'] = text['verbosity'];
  }
  const reasoning = body['reasoning'];
  if (isObject(reasoning) && typeof reasoning['effort'] === 'string') out['reasoning_effort'] = reasoning['effort'];
  if (body['stream'] === true) {
    out['stream'] = true;
    out['stream_options'] = { include_usage: true };
  }
  return out;
}

function refuseStateful(body: Readonly<Json>): void {
  const previous = body['previous_response_id'];
  if (previous !== undefined && previous !== null) {
    throw invalid('previous_response_id', `\`previous_response_id\` is not supported: ${STATELESS}. Send the whole conversation in \`input\`.`);
  }
  if (body['store'] === true) {
    throw invalid('store', `\`store: true\` is not supported: ${STATELESS}. Leave \`store\` unset or false.`);
  }
  const conversation = body['conversation'];
  if (conversation !== undefined && conversation !== null) {
    throw invalid('conversation', `\`conversation\` is not supported: ${STATELESS}. Send the whole conversation in \`input\`.`);
  }
  if (body['background'] === true) {
    throw invalid('background', `\`background: true\` is not supported: ${STATELESS}.`);
  }
  const prompt = body['prompt'];
  if (prompt !== undefined && prompt !== null) {
    throw invalid('prompt', `Stored prompts (\`prompt\`) are not supported: ${STATELESS}.`);
  }
}

/**
 * Input items as chat messages. Consecutive `function_call` items (and an assistant message just before them)
 * become one assistant message with `tool_calls`; each `function_call_output` a tool message. Reasoning items are
 * dropped: a chat backend has no way to take them back.
 */
function appendItems(messages: Json[], items: readonly unknown[]): void {
  let assistant: Json | null = null;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const at = `input[${i}]`;
    if (!isObject(item)) throw invalid(at, `\`${at}\` must be an object.`);
    const type = item['type'] ?? (item['role'] !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const role = item['role'];
        if (role === 'assistant') {
          assistant = { role: 'assistant', content: assistantText(item['content'], `${at}.content`) };
          messages.push(assistant);
        } else if (role === 'user') {
          messages.push({ role: 'user', content: userContent(item['content'], `${at}.content`) });
          assistant = null;
        } else if (role === 'system' || role === 'developer') {
          // `system`, not `developer`: open-weight chat templates know only the former.
          messages.push({ role: 'system', content: plainText(item['content'], `${at}.content`) });
          assistant = null;
        } else {
          throw invalid(`${at}.role`, `\`${at}.role\` must be one of user, assistant, system or developer.`);
        }
        break;
      }
      case 'function_call': {
        const callId = item['call_id'];
        const name = item['name'];
        if (typeof callId !== 'string' || callId === '') throw invalid(`${at}.call_id`, `\`${at}.call_id\` must be a non-empty string.`);
        if (typeof name !== 'string' || name === '') throw invalid(`${at}.name`, `\`${at}.name\` must be a non-empty string.`);
        const args = item['arguments'];
        const call = { id: callId, type: 'function', function: { name, arguments: typeof args === 'string' ? args : '{}' } };
        if (assistant === null) {
          assistant = { role: 'assistant', content: null };
          messages.push(assistant);
        }
        const calls = assistant['tool_calls'] as Json[] | undefined;
        if (calls === undefined) assistant['tool_calls'] = [call];
        else calls.push(call);
        break;
      }
      case 'function_call_output': {
        const callId = item['call_id'];
        if (typeof callId !== 'string' || callId === '') throw invalid(`${at}.call_id`, `\`${at}.call_id\` must be a non-empty string.`);
        messages.push({ role: 'tool', tool_call_id: callId, content: toolOutput(item['output'], `${at}.output`) });
        assistant = null;
        break;
      }
      case 'reasoning':
        break;
      case 'item_reference':
        throw invalid(at, `\`${at}\` refers to a stored item, but ${STATELESS}. Send the item itself (clients: set \`store: false\`).`);
      default:
        throw invalid(`${at}.type`, `Input items of type \`${String(type)}\` are not supported: ${STATELESS}, which has no equivalent.`);
    }
  }
}

/** A user message's content: a string stays one; parts become chat parts. */
function userContent(content: unknown, at: string): string | Json[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(at, `\`${at}\` must be a string or an array of content parts.`);
  const parts: Json[] = [];
  for (let j = 0; j < content.length; j++) {
    const part: unknown = content[j];
    const partAt = `${at}[${j}]`;
    if (!isObject(part)) throw invalid(partAt, `\`${partAt}\` must be an object.`);
    switch (part['type']) {
      case 'input_text':
      case 'output_text':
        parts.push({ type: 'text', text: String(part['text'] ?? '') });
        break;
      case 'input_image': {
        const url = part['image_url'];
        if (typeof url === 'string' && url !== '') {
          const image: Json = { url };
          if (typeof part['detail'] === 'string') image['detail'] = part['detail'];
          parts.push({ type: 'image_url', image_url: image });
        } else if (part['file_id'] !== undefined && part['file_id'] !== null) {
          throw invalid(`${partAt}.file_id`, `Images by \`file_id\` are not supported: ${STATELESS}, which has no files. Send \`image_url\` (a URL or a data: URL).`);
        } else {
          throw invalid(`${partAt}.image_url`, `\`${partAt}\` needs an \`image_url\`.`);
        }
        break;
      }
      case 'input_file': {
        const data = part['file_data'];
        if (typeof data === 'string' && data !== '') {
          const file: Json = { file_data: data };
          if (typeof part['filename'] === 'string') file['filename'] = part['filename'];
          parts.push({ type: 'file', file });
        } else {
          const param = part['file_id'] !== undefined && part['file_id'] !== null ? 'file_id' : 'file_url';
          throw invalid(`${partAt}.${param}`, `Files by \`${param}\` are not supported: ${STATELESS}. Send the file's content in \`file_data\`.`);
        }
        break;
      }
      default:
        throw invalid(`${partAt}.type`, `Content parts of type \`${String(part['type'])}\` are not supported on this backend.`);
    }
  }
  return parts;
}

/**
 * The text of content that is a string or a list of parts: each part read by `read` (which throws for a part it
 * refuses), joined by `separator`.
 */
function textOfParts(content: unknown, at: string, separator: string, read: (part: unknown, partAt: string) => string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(at, `\`${at}\` must be a string or an array of content parts.`);
  const texts: string[] = [];
  for (let j = 0; j < content.length; j++) texts.push(read(content[j], `${at}[${j}]`));
  return texts.join(separator);
}

const isTextPart = (part: unknown): part is Json => isObject(part) && (part['type'] === 'input_text' || part['type'] === 'output_text');

/** Text-only content (system and developer messages): parts joined. */
function plainText(content: unknown, at: string): string {
  return textOfParts(content, at, '\n', (part, partAt) => {
    if (!isTextPart(part)) throw invalid(partAt, `\`${partAt}\` must be a text part here.`);
    return String(part['text'] ?? '');
  });
}

/** An assistant message's earlier output: its text (a refusal counts as text). */
function assistantText(content: unknown, at: string): string {
  return textOfParts(content, at, '', (part, partAt) => {
    if (!isObject(part)) throw invalid(partAt, `\`${partAt}\` must be an object.`);
    if (isTextPart(part)) return String(part['text'] ?? '');
    if (part['type'] === 'refusal') return String(part['refusal'] ?? '');
    throw invalid(`${partAt}.type`, `Assistant content of type \`${String(part['type'])}\` is not supported on this backend.`);
  });
}

/** A function's output as a tool message's text: chat tool messages carry text only. */
function toolOutput(output: unknown, at: string): string {
  return textOfParts(output, at, '', (part, partAt) => {
    if (!isTextPart(part)) throw invalid(partAt, `Function outputs with images or files are not supported on this backend (chat tool messages carry text only).`);
    return String(part['text'] ?? '');
  });
}

/** Function tools in chat's nested shape; any built-in tool (web_search, file_search, ...) is refused by type. */
function toChatTools(tools: readonly unknown[]): Json[] {
  const out: Json[] = [];
  for (let i = 0; i < tools.length; i++) {
    const tool: unknown = tools[i];
    if (!isObject(tool)) throw invalid(`tools[${i}]`, `\`tools[${i}]\` must be an object.`);
    const type = tool['type'];
    if (type !== 'function') {
      throw invalid(`tools[${i}].type`, `The \`${String(type)}\` tool runs inside OpenAI's own service and is not available on this backend; only \`function\` tools are.`);
    }
    const name = tool['name'];
    if (typeof name !== 'string' || name === '') throw invalid(`tools[${i}].name`, `\`tools[${i}].name\` must be a non-empty string.`);
    const fn: Json = { name };
    if (typeof tool['description'] === 'string') fn['description'] = tool['description'];
    fn['parameters'] = isObject(tool['parameters']) ? tool['parameters'] : { type: 'object', properties: {} };
    if (typeof tool['strict'] === 'boolean') fn['strict'] = tool['strict'];
    out.push({ type: 'function', function: fn });
  }
  return out;
}

/** Chat's tool_choice; `allowed_tools` narrows the tools sent instead, as chat backends rarely know it. */
function toChatToolChoice(choice: unknown, tools: Json[] | null): { choice: unknown; tools: Json[] | null } {
  if (choice === 'none' || choice === 'auto' || choice === 'required') return { choice, tools };
  if (isObject(choice)) {
    if (choice['type'] === 'function' && typeof choice['name'] === 'string') {
      return { choice: { type: 'function', function: { name: choice['name'] } }, tools };
    }
    if (choice['type'] === 'allowed_tools' && Array.isArray(choice['tools'])) {
      const names = new Set<string>();
      for (const allowed of choice['tools'] as unknown[]) {
        if (!isObject(allowed) || allowed['type'] !== 'function' || typeof allowed['name'] !== 'string') {
          throw invalid('tool_choice.tools', 'Only `function` tools can be allowed on this backend.');
        }
        names.add(allowed['name']);
      }
      const kept = (tools ?? []).filter((tool) => names.has(String((tool['function'] as Json)['name'])));
      return { choice: choice['mode'] === 'required' ? 'required' : 'auto', tools: kept.length > 0 ? kept : null };
    }
  }
  const type = isObject(choice) ? String(choice['type']) : JSON.stringify(choice);
  throw invalid('tool_choice', `\`tool_choice\` of type \`${type}\` is not supported on this backend; use none, auto, required, a function or allowed_tools.`);
}

function toResponseFormat(format: unknown): Json | null {
  if (!isObject(format)) throw invalid('text.format', '`text.format` must be an object.');
  switch (format['type']) {
    case 'text':
      return null;
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      if (typeof format['name'] !== 'string') throw invalid('text.format.name', '`text.format.name` must be a string.');
      const schema: Json = { name: format['name'], schema: format['schema'] ?? {} };
      if (typeof format['description'] === 'string') schema['description'] = format['description'];
      if (typeof format['strict'] === 'boolean') schema['strict'] = format['strict'];
      return { type: 'json_schema', json_schema: schema };
    }
    default:
      throw invalid('text.format.type', `\`text.format\` of type \`${String(format['type'])}\` is not supported on this backend.`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Answer: chat completions -> Responses

/** A fresh random stem: the response id, and with a counter each item id. One random read per response. */
export function newResponseStem(): string {
  return randomBytes(20).toString('hex');
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/**
 * Responses usage for a chat `usage`; all zeros when the backend reported none, as every client schema expects
 * the object (`@ai-sdk/openai` rejects a response without it).
 */
export function toResponsesUsage(value: unknown): Json {
  const usage = isObject(value) ? value : {};
  const input = numberOr(usage['prompt_tokens'], 0);
  const output = numberOr(usage['completion_tokens'], 0);
  const promptDetails = usage['prompt_tokens_details'];
  const completionDetails = usage['completion_tokens_details'];
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: isObject(promptDetails) ? numberOr(promptDetails['cached_tokens'], 0) : 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: isObject(completionDetails) ? numberOr(completionDetails['reasoning_tokens'], 0) : 0 },
    total_tokens: numberOr(usage['total_tokens'], input + output),
  };
}

/** The response object's fields that echo the request, with status `in_progress` and no output yet. */
function responseShell(id: string, createdAt: number, model: string, body: Readonly<Json>): Json {
  const reasoning = isObject(body['reasoning']) ? body['reasoning'] : {};
  const text = isObject(body['text']) ? body['text'] : {};
  const textEcho: Json = { format: isObject(text['format']) ? text['format'] : { type: 'text' } };
  if (typeof text['verbosity'] === 'string') textEcho['verbosity'] = text['verbosity'];
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: typeof body['instructions'] === 'string' ? body['instructions'] : null,
    max_output_tokens: typeof body['max_output_tokens'] === 'number' ? body['max_output_tokens'] : null,
    metadata: isObject(body['metadata']) ? body['metadata'] : {},
    model,
    output: [],
    parallel_tool_calls: body['parallel_tool_calls'] !== false,
    previous_response_id: null,
    reasoning: { effort: typeof reasoning['effort'] === 'string' ? reasoning['effort'] : null, summary: typeof reasoning['summary'] === 'string' ? reasoning['summary'] : null },
    store: false,
    temperature: typeof body['temperature'] === 'number' ? body['temperature'] : null,
    text: textEcho,
    tool_choice: body['tool_choice'] ?? 'auto',
    tools: Array.isArray(body['tools']) ? body['tools'] : [],
    top_p: typeof body['top_p'] === 'number' ? body['top_p'] : null,
    truncation: 'disabled',
    usage: null,
    user: typeof body['user'] === 'string' ? body['user'] : null,
  };
}

/** Status and incomplete_details for a chat finish_reason. */
function outcomeOf(finishReason: unknown): { status: 'completed' | 'incomplete'; details: Json | null } {
  if (finishReason === 'length') return { status: 'incomplete', details: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', details: { reason: 'content_filter' } };
  return { status: 'completed', details: null };
}

/** The reasoning text a chat message or delta carries: `reasoning_content` (vLLM, DeepSeek) or `reasoning` (Ollama, newer vLLM). */
function reasoningOf(message: Json): unknown {
  const text = message['reasoning_content'];
  return typeof text === 'string' ? text : message['reasoning'];
}

function messageItem(id: string, text: string, status: string): Json {
  return { id, type: 'message', status, content: [{ type: 'output_text', annotations: NONE, logprobs: NONE, text }], role: 'assistant' };
}

function reasoningItem(id: string, text: string): Json {
  return { id, type: 'reasoning', summary: NONE, content: [{ type: 'reasoning_text', text }] };
}

function functionCallItem(id: string, callId: string, name: string, args: string, status: string): Json {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

/** The response object for a whole chat.completion. */
export function toResponse(completion: Readonly<Json>, requestedModel: string, body: Readonly<Json>, stem: string = newResponseStem()): Json {
  const choices = completion['choices'];
  const choice: unknown = Array.isArray(choices) ? choices[0] : undefined;
  if (!isObject(choice) || !isObject(choice['message'])) {
    throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', 'The backend answered without a chat completion choice.');
  }
  const message = choice['message'];
  const { status, details } = outcomeOf(choice['finish_reason']);
  const output: Json[] = [];
  let n = 0;
  const reasoning = reasoningOf(message);
  if (typeof reasoning === 'string' && reasoning !== '') output.push(reasoningItem(`rs_${stem}${n++}`, reasoning));
  const content = message['content'];
  const calls = Array.isArray(message['tool_calls']) ? (message['tool_calls'] as unknown[]) : [];
  if ((typeof content === 'string' && content !== '') || calls.length === 0) {
    output.push(messageItem(`msg_${stem}${n++}`, typeof content === 'string' ? content : '', status));
  }
  for (const call of calls) {
    if (!isObject(call)) continue;
    const fn = isObject(call['function']) ? call['function'] : {};
    const args = typeof fn['arguments'] === 'string' ? fn['arguments'] : '';
    const callId = typeof call['id'] === 'string' && call['id'] !== '' ? call['id'] : `call_${stem}${n}`;
    output.push(functionCallItem(`fc_${stem}${n++}`, callId, String(fn['name'] ?? ''), args, status));
  }
  const response = responseShell(`resp_${stem}`, numberOr(completion['created'], Math.floor(Date.now() / 1000)), requestedModel, body);
  response['status'] = status;
  response['incomplete_details'] = details;
  response['output'] = output;
  response['usage'] = toResponsesUsage(completion['usage']);
  return response;
}

const KIND_MESSAGE = 0;
const KIND_REASONING = 1;
const KIND_CALL = 2;

/** One output item of a streamed response, while it grows. */
class StreamItem {
  readonly kind: number;
  readonly id: string;
  readonly index: number;
  text = '';
  readonly callId: string;
  name: string;
  /** Its final form, once done. */
  final: Json | null = null;

  constructor(kind: number, id: string, index: number, callId: string, name: string) {
    this.kind = kind;
    this.id = id;
    this.index = index;
    this.callId = callId;
    this.name = name;
  }
}

/**
 * Turns chat.completion.chunk events into the `response.*` event stream, chunk by chunk. `push` takes one parsed
 * chunk and returns the SSE text for it; `finish` ends the stream (at `[DONE]` or the end of the body). Items are
 * opened as their first delta arrives; the message and reasoning items close when another item opens, function
 * calls when the answer finishes (a chunk may still add to any of them). The usage chunk follows the finish_reason
 * chunk, so `response.completed` waits for `finish`.
 */
export class ResponsesStreamTranslator {
  readonly #model: string;
  readonly #body: Readonly<Json>;
  readonly #stem: string;
  #seq = 0;
  #started = false;
  #finished = false;
  readonly #items: StreamItem[] = [];
  #message: StreamItem | null = null;
  #reasoning: StreamItem | null = null;
  /** Chat tool call index -> its item. */
  readonly #calls = new Map<number, StreamItem>();
  #finishReason: string | null = null;
  #usage: unknown = null;
  #createdAt = 0;

  constructor(requestedModel: string, clientBody: Readonly<Json>, stem: string = newResponseStem()) {
    this.#model = requestedModel;
    this.#body = clientBody;
    this.#stem = stem;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** The SSE text for one chat chunk (or an OpenAI error object sent mid-stream). */
  push(chunk: unknown): string {
    if (this.#finished || !isObject(chunk)) return '';
    let out = '';
    if (isObject(chunk['error'])) return this.#fail(chunk['error']);
    if (chunk['object'] === 'error') return this.#fail(chunk); // vLLM's older error shape
    if (!this.#started) out += this.#start(chunk['created']);
    if (isObject(chunk['usage'])) this.#usage = chunk['usage'];
    const choices = chunk['choices'];
    if (!Array.isArray(choices) || choices.length === 0) return out;
    const choice: unknown = choices[0];
    if (!isObject(choice) || numberOr(choice['index'], 0) !== 0) return out;
    const delta = choice['delta'];
    // Nothing may follow the finish_reason chunk but usage: its items are closed.
    if (isObject(delta) && this.#finishReason === null) {
      const reasoning = reasoningOf(delta);
      if (typeof reasoning === 'string' && reasoning !== '') out += this.#reasoningDelta(reasoning);
      const content = delta['content'];
      if (typeof content === 'string' && content !== '') out += this.#textDelta(content);
      const calls = delta['tool_calls'];
      if (Array.isArray(calls)) {
        for (let i = 0; i < calls.length; i++) {
          const call: unknown = calls[i];
          if (isObject(call)) out += this.#callDelta(call, i);
        }
      }
    }
    const finishReason = choice['finish_reason'];
    if (typeof finishReason === 'string' && this.#finishReason === null) {
      this.#finishReason = finishReason;
      const status = outcomeOf(finishReason).status;
      for (const item of this.#items) if (item.final === null) out += this.#close(item, status);
    }
    return out;
  }

  /** The end of the chat stream: `response.completed` (or `.incomplete`), or an error when it never finished. */
  finish(): string {
    if (this.#finished) return '';
    let out = '';
    if (!this.#started) out += this.#start(undefined);
    if (this.#finishReason === null) {
      return out + this.#fail({ message: 'The backend ended the stream before the answer was complete.', type: 'api_error', code: 'upstream_bad_response' });
    }
    this.#finished = true;
    const { status, details } = outcomeOf(this.#finishReason);
    for (const item of this.#items) if (item.final === null) out += this.#close(item, status);
    const response = this.#response(status);
    response['incomplete_details'] = details;
    const output: Json[] = [];
    for (const item of this.#items) output.push(item.final!);
    response['output'] = output;
    response['usage'] = toResponsesUsage(this.#usage);
    const type = status === 'completed' ? 'response.completed' : 'response.incomplete';
    return out + sse(type, { type, response, sequence_number: this.#seq++ });
  }

  #response(status: string): Json {
    const response = responseShell(`resp_${this.#stem}`, this.#createdAt, this.#model, this.#body);
    response['status'] = status;
    return response;
  }

  #start(created: unknown): string {
    this.#started = true;
    this.#createdAt = numberOr(created, Math.floor(Date.now() / 1000));
    const response = this.#response('in_progress');
    return (
      sse('response.created', { type: 'response.created', response, sequence_number: this.#seq++ }) +
      sse('response.in_progress', { type: 'response.in_progress', response, sequence_number: this.#seq++ })
    );
  }

  #open(kind: number, prefix: string, callId: string, name: string): StreamItem {
    const index = this.#items.length;
    const item = new StreamItem(kind, `${prefix}${this.#stem}${index}`, index, callId, name);
    this.#items.push(item);
    return item;
  }

  #textDelta(delta: string): string {
    let out = '';
    let item = this.#message;
    if (item === null) {
      if (this.#reasoning !== null) out += this.#close(this.#reasoning, 'completed');
      item = this.#message = this.#open(KIND_MESSAGE, 'msg_', '', '');
      out +=
        sse('response.output_item.added', {
          type: 'response.output_item.added',
          output_index: item.index,
          item: { id: item.id, type: 'message', status: 'in_progress', content: NONE, role: 'assistant' },
          sequence_number: this.#seq++,
        }) +
        sse('response.content_part.added', {
          type: 'response.content_part.added',
          item_id: item.id,
          output_index: item.index,
          content_index: 0,
          part: { type: 'output_text', annotations: NONE, logprobs: NONE, text: '' },
          sequence_number: this.#seq++,
        });
    }
    item.text += delta;
    return (
      out +
      sse('response.output_text.delta', {
        type: 'response.output_text.delta',
        item_id: item.id,
        output_index: item.index,
        content_index: 0,
        delta,
        logprobs: NONE,
        sequence_number: this.#seq++,
      })
    );
  }

  #reasoningDelta(delta: string): string {
    let out = '';
    let item = this.#reasoning;
    if (item === null) {
      if (this.#message !== null) out += this.#close(this.#message, 'completed');
      item = this.#reasoning = this.#open(KIND_REASONING, 'rs_', '', '');
      out +=
        sse('response.output_item.added', {
          type: 'response.output_item.added',
          output_index: item.index,
          item: { id: item.id, type: 'reasoning', summary: NONE, content: NONE },
          sequence_number: this.#seq++,
        }) +
        sse('response.content_part.added', {
          type: 'response.content_part.added',
          item_id: item.id,
          output_index: item.index,
          content_index: 0,
          part: { type: 'reasoning_text', text: '' },
          sequence_number: this.#seq++,
        });
    }
    item.text += delta;
    return (
      out +
      sse('response.reasoning_text.delta', {
        type: 'response.reasoning_text.delta',
        item_id: item.id,
        output_index: item.index,
        content_index: 0,
        delta,
        sequence_number: this.#seq++,
      })
    );
  }

  #callDelta(call: Json, position: number): string {
    let out = '';
    const index = numberOr(call['index'], position);
    const fn = isObject(call['function']) ? call['function'] : null;
    const name = fn !== null && typeof fn['name'] === 'string' ? fn['name'] : '';
    let item = this.#calls.get(index);
    if (item === undefined) {
      if (this.#message !== null) out += this.#close(this.#message, 'completed');
      if (this.#reasoning !== null) out += this.#close(this.#reasoning, 'completed');
      const id = call['id'];
      const at = this.#items.length;
      item = this.#open(KIND_CALL, 'fc_', typeof id === 'string' && id !== '' ? id : `call_${this.#stem}${at}`, name);
      this.#calls.set(index, item);
      out += sse('response.output_item.added', {
        type: 'response.output_item.added',
        output_index: item.index,
        item: { id: item.id, type: 'function_call', status: 'in_progress', arguments: '', call_id: item.callId, name: item.name },
        sequence_number: this.#seq++,
      });
    } else if (item.name === '' && name !== '') {
      item.name = name; // A server that names the function after its first chunk: the done item carries it.
    }
    const args = fn === null ? undefined : fn['arguments'];
    if (typeof args === 'string' && args !== '' && item.final === null) {
      item.text += args;
      out += sse('response.function_call_arguments.delta', {
        type: 'response.function_call_arguments.delta',
        item_id: item.id,
        output_index: item.index,
        delta: args,
        sequence_number: this.#seq++,
      });
    }
    return out;
  }

  /** The events that finish an item, in OpenAI's order; `status` is `incomplete` for a truncated answer. */
  #close(item: StreamItem, status: string): string {
    if (item === this.#message) this.#message = null;
    if (item === this.#reasoning) this.#reasoning = null;
    const { id, index, text } = item;
    if (item.kind === KIND_CALL) {
      item.final = functionCallItem(id, item.callId, item.name, text, status);
      return (
        sse('response.function_call_arguments.done', { type: 'response.function_call_arguments.done', item_id: id, output_index: index, arguments: text, sequence_number: this.#seq++ }) +
        sse('response.output_item.done', { type: 'response.output_item.done', output_index: index, item: item.final, sequence_number: this.#seq++ })
      );
    }
    if (item.kind === KIND_REASONING) {
      item.final = reasoningItem(id, text);
      return (
        sse('response.reasoning_text.done', { type: 'response.reasoning_text.done', item_id: id, output_index: index, content_index: 0, text, sequence_number: this.#seq++ }) +
        sse('response.content_part.done', { type: 'response.content_part.done', item_id: id, output_index: index, content_index: 0, part: { type: 'reasoning_text', text }, sequence_number: this.#seq++ }) +
        sse('response.output_item.done', { type: 'response.output_item.done', output_index: index, item: item.final, sequence_number: this.#seq++ })
      );
    }
    item.final = messageItem(id, text, status);
    const part = (item.final['content'] as Json[])[0];
    return (
      sse('response.output_text.done', { type: 'response.output_text.done', item_id: id, output_index: index, content_index: 0, text, logprobs: NONE, sequence_number: this.#seq++ }) +
      sse('response.content_part.done', { type: 'response.content_part.done', item_id: id, output_index: index, content_index: 0, part, sequence_number: this.#seq++ }) +
      sse('response.output_item.done', { type: 'response.output_item.done', output_index: index, item: item.final, sequence_number: this.#seq++ })
    );
  }

  /** An `error` event for an error the backend sent mid-stream (or a stream that never finished); the stream ends. */
  #fail(error: Json): string {
    this.#finished = true;
    const code = typeof error['code'] === 'string' ? error['code'] : typeof error['type'] === 'string' ? error['type'] : 'server_error';
    const message = typeof error['message'] === 'string' ? error['message'] : 'The backend failed while answering.';
    return sse('error', { type: 'error', code, message, param: typeof error['param'] === 'string' ? error['param'] : null, sequence_number: this.#seq++ });
  }
}

function sse(type: string, event: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify(event)}\n\n`;
}

const MODE_PASS = 0;
const MODE_JSON = 1;
const MODE_STREAM = 2;

/**
 * A chat answer as a Responses answer: an SSE stream is translated chunk by chunk as it arrives; a JSON answer
 * (complete only at its end) is held, then translated whole; an error passes through untouched, since the
 * Responses API uses OpenAI's error shape.
 */
export class ResponsesResponseTranslator implements ResponseTranslator {
  readonly #model: string;
  readonly #body: Readonly<Json>;
  readonly #stem: string | undefined;
  #mode = MODE_PASS;
  #stream: ResponsesStreamTranslator | null = null;
  #status = 0;
  #headers: Headers = {};
  readonly #held = new HeldAnswer();
  readonly #decoder = new StringDecoder('utf8');
  /** The current line, not yet ended. */
  #line = '';
  /** The `data:` lines of the event being read, joined; null before its first. */
  #data: string | null = null;
  /** A CR ended the last chunk: an LF opening the next one belongs to it. */
  #afterCR = false;

  /** `stem` fixes the ids (tests); by default each answer gets a random one. */
  constructor(requestedModel: string, clientBody: Readonly<Json>, stem?: string) {
    this.#model = requestedModel;
    this.#body = clientBody;
    this.#stem = stem;
  }

  start(status: number, headers: Readonly<Headers>): { deferred: boolean; status: number; headers: Headers } {
    if (status >= 400) {
      this.#mode = MODE_PASS;
      this.#status = status;
      return { deferred: false, status, headers: { ...headers } };
    }
    // The backend's request ids and rate-limit headers pass on.
    const out = translatedHeaders(headers);
    if (isEventStreamAnswer(status, headers)) {
      this.#mode = MODE_STREAM;
      this.#stream = new ResponsesStreamTranslator(this.#model, this.#body, this.#stem);
      return { deferred: false, status, headers: { ...out, 'content-type': 'text/event-stream; charset=utf-8' } };
    }
    this.#mode = MODE_JSON;
    this.#status = status;
    this.#headers = out;
    return { deferred: true, status, headers: out };
  }

  data(chunk: Buffer): Buffer {
    if (this.#mode === MODE_PASS) return chunk;
    if (this.#mode === MODE_JSON) {
      this.#held.push(chunk);
      return EMPTY;
    }
    const out = this.#lines(this.#decoder.write(chunk));
    return out === '' ? EMPTY : Buffer.from(out);
  }

  end(): { status: number; headers: Headers; body: Buffer } {
    if (this.#mode === MODE_PASS) return { status: this.#status, headers: {}, body: EMPTY };
    if (this.#mode === MODE_STREAM) {
      let out = this.#lines(this.#decoder.end());
      // A last line without its newline, then the event it belongs to.
      if (this.#line !== '') {
        out += this.#field(this.#line);
        this.#line = '';
      }
      out += this.#dispatch();
      out += this.#stream!.finish();
      return { status: 200, headers: {}, body: out === '' ? EMPTY : Buffer.from(out) };
    }
    let json: unknown;
    try {
      json = JSON.parse(this.#held.text());
    } catch {
      throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', `The backend answered ${this.#status} with a body that is not JSON.`);
    }
    if (!isObject(json)) throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', 'The backend answered with JSON that is not a chat completion.');
    const body = Buffer.from(JSON.stringify(toResponse(json, this.#model, this.#body, this.#stem)));
    return { status: this.#status, headers: { ...this.#headers, 'content-type': 'application/json', 'content-length': String(body.length) }, body };
  }

  /** Splits new text into lines (LF, CRLF or CR ends one), keeping an unended line for the next chunk. */
  #lines(text: string): string {
    let out = '';
    let from = 0;
    const n = text.length;
    if (this.#afterCR && n > 0) {
      this.#afterCR = false;
      if (text.charCodeAt(0) === 10) from = 1;
    }
    // CRs are rare: look for them only in a chunk that has one.
    let cr = text.indexOf('\r', from);
    let lf = text.indexOf('\n', from);
    while (from < n) {
      if (lf !== -1 && lf < from) lf = text.indexOf('\n', from);
      if (cr !== -1 && cr < from) cr = text.indexOf('\r', from);
      let end: number;
      if (lf === -1) end = cr;
      else if (cr === -1) end = lf;
      else end = cr < lf ? cr : lf;
      if (end === -1) break;
      const line = this.#line === '' ? text.slice(from, end) : this.#line + text.slice(from, end);
      this.#line = '';
      out += line === '' ? this.#dispatch() : this.#field(line);
      from = end + 1;
      if (end === cr) {
        if (from === n) this.#afterCR = true;
        else if (text.charCodeAt(from) === 10) from++;
      }
    }
    if (from < n) {
      this.#line += text.slice(from);
      if (this.#line.length > MAX_HELD_BYTES) throw heldTooLarge();
    }
    return out;
  }

  #field(line: string): string {
    if (line.startsWith('data:')) {
      const value = line.slice(line.charCodeAt(5) === 32 ? 6 : 5);
      this.#data = this.#data === null ? value : `${this.#data}\n${value}`;
    }
    return ''; // comments (`: keep-alive`), `event:` and `id:` lines carry nothing a chat stream needs
  }

  #dispatch(): string {
    const data = this.#data;
    if (data === null) return '';
    this.#data = null;
    if (data === '[DONE]') return this.#stream!.finish();
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', 'The backend sent a stream event that is not JSON.');
    }
    return this.#stream!.push(json);
  }
}


/** Responses clients on a backend that serves only chat completions. */
export const responsesBridge: ClientBridge = {
  toOpenAI(body: Readonly<Json>): { endpoint: Endpoint; body: Json } {
    return { endpoint: 'chat', body: toChatRequest(body) };
  },
  fromOpenAI(requestedModel: string, body: Readonly<Json>): ResponseTranslator {
    return new ResponsesResponseTranslator(requestedModel, body);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Usage, text and the gateway's own events

/** Bytes every event carrying usage contains (`response.completed`/`.incomplete`; `"usage":null` does not match). */
export const RESPONSES_USAGE_MARK = Buffer.from('"usage":{');

function usageOfResponse(response: unknown): Usage | null {
  if (!isObject(response)) return null;
  const usage = response['usage'];
  if (!isObject(usage)) return null;
  const input = numberOr(usage['input_tokens'], 0);
  const output = numberOr(usage['output_tokens'], 0);
  return { promptTokens: input, completionTokens: output, totalTokens: numberOr(usage['total_tokens'], input + output) };
}

/** The usage of a whole response object, or null. */
export function responsesUsageOfBody(json: unknown): Usage | null {
  return usageOfResponse(json);
}

/** The usage a stream event carries: the final response's, on `response.completed`, `.incomplete` or `.failed`. */
export function responsesUsageOfEvent(json: unknown): Usage | null {
  if (!isObject(json)) return null;
  const type = json['type'];
  if (type !== 'response.completed' && type !== 'response.incomplete' && type !== 'response.failed') return null;
  return usageOfResponse(json['response']);
}

/** The answer text an event adds (an output_text delta), for output guards; '' for any other event. */
export function responsesEventText(json: unknown): string {
  if (!isObject(json) || json['type'] !== 'response.output_text.delta') return '';
  const delta = json['delta'];
  return typeof delta === 'string' ? delta : '';
}

/**
 * Where a Responses stream stands, from the events sent so far: its response id, the next sequence number and
 * the next free output index. Fed every event the client gets, it lets the gateway's own closing events continue
 * the stream; the openai SDK's `responses.stream()` helper rejects a closing `response.incomplete` whose response
 * id differs from the one `response.created` announced.
 */
export class ResponsesStreamPosition {
  responseId: string | null = null;
  createdAt = 0;
  nextSequence = 0;
  nextOutputIndex = 0;

  observe(json: unknown): void {
    if (!isObject(json)) return;
    const sequence = json['sequence_number'];
    if (typeof sequence === 'number' && sequence >= this.nextSequence) this.nextSequence = sequence + 1;
    const type = json['type'];
    if (type === 'response.output_item.added') {
      const index = json['output_index'];
      if (typeof index === 'number' && index >= this.nextOutputIndex) this.nextOutputIndex = index + 1;
    } else if (type === 'response.created') {
      const response = json['response'];
      if (isObject(response)) {
        if (typeof response['id'] === 'string') this.responseId = response['id'];
        this.createdAt = numberOr(response['created_at'], 0);
      }
    }
  }
}

/**
 * The events that end a stream the gateway stopped (an output guard blocked it): the notice, when given, as one
 * complete message item, then `response.incomplete` with `incomplete_details.reason: "content_filter"`. The
 * response carries no `output` (the SDK keeps what it has accumulated; the blocked event itself was never sent)
 * and zero usage (unknown here; the gateway accounts for it). Without `position` the events start a fresh
 * response id and sequence: raw event readers accept that, the SDK's `responses.stream()` helper does not.
 */
export function responsesStopEvents(notice: string | null, model: string, position?: ResponsesStreamPosition): string {
  const stem = newResponseStem();
  let seq = position?.nextSequence ?? 0;
  let out = '';
  if (notice !== null) {
    const index = position?.nextOutputIndex ?? 0;
    const id = `msg_${stem}`;
    const item = messageItem(id, notice, 'completed');
    const part = (item['content'] as Json[])[0];
    out +=
      sse('response.output_item.added', { type: 'response.output_item.added', output_index: index, item: { id, type: 'message', status: 'in_progress', content: NONE, role: 'assistant' }, sequence_number: seq++ }) +
      sse('response.content_part.added', { type: 'response.content_part.added', item_id: id, output_index: index, content_index: 0, part: { type: 'output_text', annotations: NONE, logprobs: NONE, text: '' }, sequence_number: seq++ }) +
      sse('response.output_text.delta', { type: 'response.output_text.delta', item_id: id, output_index: index, content_index: 0, delta: notice, logprobs: NONE, sequence_number: seq++ }) +
      sse('response.output_text.done', { type: 'response.output_text.done', item_id: id, output_index: index, content_index: 0, text: notice, logprobs: NONE, sequence_number: seq++ }) +
      sse('response.content_part.done', { type: 'response.content_part.done', item_id: id, output_index: index, content_index: 0, part, sequence_number: seq++ }) +
      sse('response.output_item.done', { type: 'response.output_item.done', output_index: index, item, sequence_number: seq++ });
  }
  const response = {
    id: position?.responseId ?? `resp_${stem}`,
    object: 'response',
    created_at: position !== undefined && position.createdAt > 0 ? position.createdAt : Math.floor(Date.now() / 1000),
    status: 'incomplete',
    error: null,
    incomplete_details: { reason: 'content_filter' },
    model,
    usage: toResponsesUsage(null),
  };
  return out + sse('response.incomplete', { type: 'response.incomplete', response, sequence_number: seq });
}

/** The `error` event for a stream that fails midway (the gateway's own failure, after the stream began). */
export function responsesErrorEvent(message: string, code: string, position?: ResponsesStreamPosition): string {
  return sse('error', { type: 'error', code, message, param: null, sequence_number: position?.nextSequence ?? 0 });
}

// ---------------------------------------------------------------------------------------------------------------
// The client API as the engine sees it.

const ITEM_ADDED = Buffer.from('response.output_item.added');
const CREATED = Buffer.from('response.created');
const SEQUENCE_KEY = Buffer.from('"sequence_number":');

/** The tap's view of a Responses stream: closing events continue its response id and sequence numbers. */
class ResponsesStreamState implements StreamState {
  readonly position = new ResponsesStreamPosition();

  observe(event: SseEvent): void {
    const raw = event.raw;
    // Deltas, the bulk, only move the sequence number: read from the bytes. Item and response starts are parsed.
    if (raw.indexOf(ITEM_ADDED) !== -1 || raw.indexOf(CREATED) !== -1) return this.position.observe(event.json);
    const at = raw.indexOf(SEQUENCE_KEY);
    if (at === -1) return;
    let n = 0;
    let i = at + SEQUENCE_KEY.length;
    while (raw[i] === 0x20) i++;
    const first = i;
    for (; i < raw.length && raw[i]! >= 0x30 && raw[i]! <= 0x39; i++) n = n * 10 + raw[i]! - 0x30;
    if (i > first && n >= this.position.nextSequence) this.position.nextSequence = n + 1;
  }
}

const positionOf = (state: StreamState | null): ResponsesStreamPosition | undefined => (state instanceof ResponsesStreamState ? state.position : undefined);

/** OpenAI's Responses API: `/v1/responses`, `response.*` events, OpenAI's error shape. */
export const responsesWire: WireFormat = {
  id: 'responses',
  routes: RESPONSES_ROUTES,
  validate: (_endpoint, body) => validateModelAndStream(body),
  isStream: (_endpoint, body) => responsesIsStream(body),
  servesNatively: (deployment) => deployment.nativeApis.has('responses'),
  upstreamPath: (_endpoint, basePath) => `${basePath}/responses`,
  bridge: responsesBridge,
  errorBody: openaiErrorBody,
  streamState: () => new ResponsesStreamState(),
  streamErrorTail: (error, message, state) => responsesErrorEvent(message, error.wireCode, positionOf(state)),
  streamStopTail: (stop, ctx, state) => responsesStopEvents(stop.notice, ctx.model, positionOf(state)),
  eventText: (event) => responsesEventText(event.json),
  bodyText: (json) => {
    const output = (json as { output?: { type?: unknown; content?: { type?: unknown; text?: unknown }[] }[] } | null)?.output;
    if (!Array.isArray(output)) return '';
    let text = '';
    for (const item of output) {
      if (item.type !== 'message' || !Array.isArray(item.content)) continue;
      for (const part of item.content) if (part.type === 'output_text' && typeof part.text === 'string') text += part.text;
    }
    return text;
  },
  streamFraming: 'sse',
  usageMark: RESPONSES_USAGE_MARK,
  usageOfEvent: responsesUsageOfEvent,
  isUsageOnlyEvent: () => false,
  usageOfBody: responsesUsageOfBody,
  bodyUsageReader: () => new HeldBodyUsage(responsesUsageOfBody),
  classifyStatus,
  isContextWindowError,
  estimateRequestTokens,
};
