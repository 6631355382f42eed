// Ollama's native API (/api/chat, /api/generate, /api/embed, /api/embeddings) for clients of a backend that only
// speaks OpenAI's: the request becomes an OpenAI request, and the OpenAI answer (JSON, SSE chunks, error bodies)
// becomes Ollama's (one JSON object, or NDJSON lines ending in a `done: true` line with the counts and timings).
// Real Ollama backends get the client's bytes as they are; this file is only the bridge. The GET routes' bodies
// (/api/tags, /api/ps, /api/show, /api/version) are built here too, from the gateway's model groups.
//
// Choices where the two APIs differ:
// - `think`: "low"/"medium"/"high" become `reasoning_effort`, "max" becomes "high" (the highest effort every
//   OpenAI backend accepts). `true` sends nothing (reasoning models think by default). `false` sends nothing
//   either, since "none" is refused by most backends, but the answer's reasoning is then left out, as Ollama
//   leaves it out.
// - `/api/generate` becomes a chat request (`system` and the user's `prompt` with its `images`), so the backend
//   applies the model's chat template, as Ollama does. `raw: true` (a prompt already templated) or a `suffix`
//   (fill-in-the-middle) becomes a legacy completions request instead, the only OpenAI call that takes a prompt
//   as it is.
// - An empty prompt (or empty `messages`) is Ollama's "load the model" call; an OpenAI backend has nothing like it
//   and a bridge cannot answer locally, so it is refused with a 400 naming the field.
// - Options OpenAI has no field for (num_ctx, repeat_penalty, min_p, mirostat...) and `keep_alive`, `template`,
//   `context`, `truncate` are dropped: they only mean something to an Ollama server. `top_k` is passed as `top_k`
//   (vLLM honours it).
// - Timings are measured by the gateway, in nanoseconds: `total_duration` from the request to the last line,
//   `prompt_eval_duration` to the first token and `eval_duration` from there (a JSON answer has no first token:
//   its `eval_duration` is the whole time), `load_duration` 0. Durations are at least 1 ns, so clients computing
//   tokens per second never divide by zero. Counts come from the backend's usage and are left out without it.
// - A tool call streams in OpenAI as argument fragments; Ollama sends each call whole, so calls are sent on one
//   `done: false` line when the choice finishes. Arguments that are not a JSON object become `{}`.

import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { Endpoint } from '../config/models.ts';
import { SluiceError } from '../errors.ts';
import { HeldAnswer, heldTooLarge, isEventStreamAnswer, MAX_HELD_BYTES, translatedHeaders } from './held-answer.ts';
import type { Usage } from '../plugin/context.ts';
import { validateModelAndStream } from '../http/body.ts';
import { classifyStatus, estimateRequestTokens, isContextWindowError } from './openai.ts';
import { HeldBodyUsage, type ClientBridge, type ResponseTranslator, type WireFormat } from './wire-format.ts';

type Json = Record<string, unknown>;
type Headers = Record<string, string | string[] | undefined>;

/** The POST routes Ollama's clients call, by path. */
export const OLLAMA_ROUTES: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([
  ['/api/chat', 'chat'],
  ['/api/generate', 'completions'],
  ['/api/embed', 'embeddings'],
  ['/api/embeddings', 'embeddings'],
]);

/**
 * The version /api/version reports. Clients gate features on it (tool calls, `think` and structured outputs all
 * predate it); it is also the version the test simulator reports, so both agree.
 */
export const OLLAMA_VERSION = '0.12.6';
export const OLLAMA_VERSION_BODY: Readonly<{ version: string }> = Object.freeze({ version: OLLAMA_VERSION });

export const NDJSON_TYPE = 'application/x-ndjson';
export const JSON_TYPE = 'application/json; charset=utf-8';

/** Embedding answers are larger (thousands of floats an input) and are always held whole. */
const MAX_HELD_EMBEDDING_BYTES = 64 * 1024 * 1024;
/** Longest non-JSON error text passed on as the message. */
const MAX_ERROR_TEXT = 1000;
const EMPTY = Buffer.alloc(0);

/** True unless the client said `stream: false` (Ollama streams by default); embeddings never stream. */
export function ollamaIsStream(body: Readonly<Json>, endpoint: Endpoint): boolean {
  return endpoint !== 'embeddings' && body['stream'] !== false;
}

/** Ollama's error body. */
export function ollamaErrorBody(message: string): { error: string } {
  return { error: message };
}

/** The line Ollama writes when a stream fails after it started (the status is already sent). */
export function ollamaErrorLine(message: string): string {
  return `${JSON.stringify(ollamaErrorBody(message))}\n`;
}

/** Bytes every line or body carrying usage contains (`eval_count`, and `prompt_eval_count` in /api/embed). */
export const OLLAMA_USAGE_MARK: Buffer = Buffer.from('eval_count"');

/** The usage in a `done: true` line, a non-streamed answer or an /api/embed answer; null without counts. */
export function ollamaUsageOfLine(json: unknown): Usage | null {
  if (typeof json !== 'object' || json === null) return null;
  const line = json as { done?: unknown; prompt_eval_count?: unknown; eval_count?: unknown };
  if (line.done === false) return null;
  const prompt = line.prompt_eval_count;
  const completion = line.eval_count;
  if (typeof prompt !== 'number' && typeof completion !== 'number') return null;
  const promptTokens = typeof prompt === 'number' ? prompt : 0;
  const completionTokens = typeof completion === 'number' ? completion : 0;
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
}

/** The answer text one NDJSON line adds (`message.content` for chat, `response` for generate), for output guards. */
export function ollamaLineText(json: unknown): string {
  if (typeof json !== 'object' || json === null) return '';
  const line = json as { message?: { content?: unknown } | null; response?: unknown };
  const content = line.message?.content;
  if (typeof content === 'string') return content;
  return typeof line.response === 'string' ? line.response : '';
}

/**
 * The final line of a stream the gateway stopped (an output guard blocked it): the notice as the answer text,
 * `done: true` and the reason given. `endpoint` is the client's: generate answers carry text in `response`.
 */
export function ollamaStopLine(model: string, notice: string | null, doneReason: string, endpoint: Endpoint = 'chat'): string {
  const text = JSON.stringify(notice ?? '');
  const body = endpoint === 'completions' ? `"response":${text}` : `"message":{"role":"assistant","content":${text}}`;
  return `{"model":${JSON.stringify(model)},"created_at":"${ollamaTimestamp()}",${body},"done":true,"done_reason":${JSON.stringify(doneReason)}}\n`;
}

/** `YYYY-MM-DDTHH:MM:SS.` of the second last stamped: formatting a date is most of a stamp's cost. */
let stampedSecond = -1;
let stampedPrefix = '';

/** Now as Ollama writes `created_at`: RFC 3339 in UTC with nine fraction digits. */
export function ollamaTimestamp(): string {
  const ms = performance.timeOrigin + performance.now();
  const second = Math.floor(ms / 1000);
  if (second !== stampedSecond) {
    stampedSecond = second;
    stampedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ns = Math.min(999_999_999, Math.floor((ms - second * 1000) * 1e6));
  return `${stampedPrefix}${String(ns).padStart(9, '0')}Z`;
}

/** What a translator reads time from: injectable, so tests see exact lines. */
export interface OllamaClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** A `created_at` value. */
  timestamp(): string;
}

export const SYSTEM_CLOCK: OllamaClock = { now: () => performance.now(), timestamp: ollamaTimestamp };

// ---------------------------------------------------------------------------------------------------------------
// Requests

/** `think` values passed on as `reasoning_effort`. */
const REASONING_EFFORT: Readonly<Record<string, string>> = { low: 'low', medium: 'medium', high: 'high', max: 'high' };

/** Numeric Ollama `options` an OpenAI request has a field of the same name for. */
const SAMPLING_OPTIONS: readonly string[] = ['temperature', 'top_p', 'top_k', 'seed', 'presence_penalty', 'frequency_penalty'];

/** The OpenAI chat request for an /api/chat request. */
export function ollamaChatToOpenAI(body: Readonly<Json>): Json {
  const messages = body['messages'];
  if (messages === undefined || messages === null) throw missing('messages');
  if (!Array.isArray(messages)) throw invalid('messages', 'expected an array of messages');
  if (messages.length === 0) throw loadCall('messages');
  const out: Json = { messages: chatMessages(messages) };
  const tools = body['tools'];
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools)) throw invalid('tools', 'expected an array of tools');
    if (tools.length > 0) out['tools'] = tools.map((tool, index) => openAITool(tool, index));
  }
  samplingOf(body, out, true);
  streamOf(body, out);
  return out;
}

/**
 * The OpenAI request for an /api/generate request: chat (system and user prompt), or legacy completions for a
 * raw prompt or a fill-in-the-middle `suffix`.
 */
export function ollamaGenerateToOpenAI(body: Readonly<Json>): { endpoint: Endpoint; body: Json } {
  const prompt = body['prompt'];
  if (prompt !== undefined && prompt !== null && typeof prompt !== 'string') throw invalid('prompt', 'expected a string');
  const images = body['images'];
  const hasImages = Array.isArray(images) && images.length > 0;
  if ((prompt === undefined || prompt === null || prompt === '') && !hasImages) throw loadCall('prompt');
  const suffix = body['suffix'];
  if (suffix !== undefined && suffix !== null && typeof suffix !== 'string') throw invalid('suffix', 'expected a string');
  const text = typeof prompt === 'string' ? prompt : '';
  if (body['raw'] === true || (typeof suffix === 'string' && suffix !== '')) {
    // Completions take no images and no output format.
    if (hasImages) throw invalid('images', '`raw` and `suffix` prompts are sent as legacy completions, which take no images');
    if (body['format'] !== undefined && body['format'] !== null && body['format'] !== '') {
      throw invalid('format', '`raw` and `suffix` prompts are sent as legacy completions, which take no output format');
    }
    const out: Json = { prompt: text };
    if (typeof suffix === 'string' && suffix !== '') out['suffix'] = suffix;
    samplingOf(body, out, false);
    streamOf(body, out);
    return { endpoint: 'completions', body: out };
  }
  const messages: Json[] = [];
  const system = body['system'];
  if (typeof system === 'string' && system !== '') messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content: userContent(text, images, 'images') });
  const out: Json = { messages };
  samplingOf(body, out, true);
  streamOf(body, out);
  return { endpoint: 'chat', body: out };
}

/** The OpenAI embeddings request for /api/embed (`input`) or the legacy /api/embeddings (`prompt`). */
export function ollamaEmbedToOpenAI(body: Readonly<Json>): Json {
  let input: unknown;
  if (isLegacyEmbedding(body)) {
    input = body['prompt'];
    if (typeof input !== 'string') throw invalid('prompt', 'expected a string');
    if (input === '') throw loadCall('prompt');
  } else {
    input = body['input'];
    if (input === undefined || input === null) throw missing('input');
    if (typeof input === 'string') {
      if (input === '') throw loadCall('input');
    } else if (!Array.isArray(input) || input.length === 0 || !input.every((item) => typeof item === 'string')) {
      throw invalid('input', 'expected a string or a non-empty array of strings');
    }
  }
  const out: Json = { input };
  const dimensions = body['dimensions'];
  if (dimensions !== undefined && dimensions !== null) {
    if (!Number.isInteger(dimensions) || (dimensions as number) < 1) throw invalid('dimensions', 'expected a positive integer');
    out['dimensions'] = dimensions;
  }
  return out;
}

/** The legacy /api/embeddings body names its text `prompt`; /api/embed names it `input`. */
function isLegacyEmbedding(body: Readonly<Json>): boolean {
  return body['input'] === undefined && body['prompt'] !== undefined;
}

function chatMessages(messages: readonly unknown[]): Json[] {
  const out: Json[] = [];
  // The latest assistant turn's tool calls not yet answered: tool results name a tool, OpenAI wants its call id.
  let openCalls: { id: string; name: string }[] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (typeof message !== 'object' || message === null || Array.isArray(message)) throw invalid(`messages[${i}]`, 'expected a message object');
    const m = message as Json;
    const role = typeof m['role'] === 'string' ? m['role'].toLowerCase() : '';
    if (role === '') throw missing(`messages[${i}].role`);
    const content = m['content'];
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      throw invalid(`messages[${i}].content`, 'expected a string');
    }
    const text = typeof content === 'string' ? content : '';
    if (role === 'assistant') {
      const calls = m['tool_calls'];
      const reply: Json = { role: 'assistant', content: Array.isArray(content) ? content : text };
      openCalls = [];
      if (Array.isArray(calls) && calls.length > 0) {
        reply['tool_calls'] = calls.map((call, j) => {
          const fn = ((call as Json | null)?.['function'] ?? {}) as Json;
          const given = (call as Json | null)?.['id'];
          const id = typeof given === 'string' && given !== '' ? given : `call_${i}_${j}`;
          const name = typeof fn['name'] === 'string' ? fn['name'] : '';
          openCalls.push({ id, name });
          const args = fn['arguments'];
          return { id, type: 'function', function: { name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) } };
        });
        if (text === '' && !Array.isArray(content)) reply['content'] = null;
      }
      out.push(reply);
    } else if (role === 'tool') {
      out.push({ role: 'tool', tool_call_id: toolCallId(m, openCalls, i), content: Array.isArray(content) ? content : text });
    } else if (role === 'user') {
      out.push({ role: 'user', content: Array.isArray(content) ? content : userContent(text, m['images'], `messages[${i}].images`) });
    } else {
      // system, and roles Ollama does not know, which the backend judges.
      out.push({ role, content: Array.isArray(content) ? content : text });
    }
  }
  return out;
}

/** The call a tool result answers: its own `tool_call_id`, else the first open call of its `tool_name`. */
function toolCallId(message: Json, openCalls: { id: string; name: string }[], index: number): string {
  const given = message['tool_call_id'];
  if (typeof given === 'string' && given !== '') {
    const at = openCalls.findIndex((call) => call.id === given);
    if (at !== -1) openCalls.splice(at, 1);
    return given;
  }
  const name = message['tool_name'];
  let at = typeof name === 'string' && name !== '' ? openCalls.findIndex((call) => call.name === name) : -1;
  // No name, or one no open call has: the first open call keeps the turn valid for backends that check ids.
  if (at === -1 && openCalls.length > 0) at = 0;
  return at === -1 ? `call_${index}` : openCalls.splice(at, 1)[0]!.id;
}

function userContent(text: string, images: unknown, param: string): string | Json[] {
  if (images === undefined || images === null) return text;
  if (!Array.isArray(images)) throw invalid(param, 'expected an array of base64 images');
  if (images.length === 0) return text;
  const parts: Json[] = [];
  if (text !== '') parts.push({ type: 'text', text });
  for (let i = 0; i < images.length; i++) {
    const image = images[i];
    if (typeof image !== 'string' || image === '') throw invalid(`${param}[${i}]`, 'expected a base64 image');
    parts.push({ type: 'image_url', image_url: { url: imageUrl(image) } });
  }
  return parts;
}

/** A data URL for a base64 image, its type read from its first bytes (a data URL already is one). */
export function imageUrl(base64: string): string {
  if (base64.startsWith('data:')) return base64;
  return `data:${imageType(base64)};base64,${base64}`;
}

function imageType(base64: string): string {
  // 16 base64 characters are the first 12 bytes: enough for RIFF....WEBP.
  const head = Buffer.from(base64.slice(0, 16), 'base64');
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head[0] === 0x47 && head[1] === 0x49 && head[2] === 0x46 && head[3] === 0x38) return 'image/gif';
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return 'image/png';
}

function openAITool(tool: unknown, index: number): Json {
  if (typeof tool !== 'object' || tool === null) throw invalid(`tools[${index}]`, 'expected a tool object');
  const t = tool as Json;
  return { ...t, type: typeof t['type'] === 'string' ? t['type'] : 'function' };
}

/** `options`, `format` and `think`, onto an OpenAI request (`chat`: chat fields; else completions fields). */
function samplingOf(body: Readonly<Json>, out: Json, chat: boolean): void {
  const options = body['options'];
  if (options !== undefined && options !== null) {
    if (typeof options !== 'object' || Array.isArray(options)) throw invalid('options', 'expected an object');
    const o = options as Json;
    for (const name of SAMPLING_OPTIONS) {
      const value = o[name];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`options.${name}`, 'expected a number');
      out[name] = value;
    }
    const predict = o['num_predict'];
    if (predict !== undefined && predict !== null) {
      if (typeof predict !== 'number' || !Number.isInteger(predict)) throw invalid('options.num_predict', 'expected an integer');
      // -1 (no limit) and -2 (fill the context) are the backend's own limit.
      if (predict > 0) out['max_tokens'] = predict;
    }
    const stop = o['stop'];
    if (stop !== undefined && stop !== null) {
      if (typeof stop === 'string') out['stop'] = [stop];
      else if (Array.isArray(stop) && stop.every((item) => typeof item === 'string')) {
        if (stop.length > 0) out['stop'] = stop;
      } else throw invalid('options.stop', 'expected an array of strings');
    }
  }
  if (!chat) return;
  const format = body['format'];
  if (format === 'json') out['response_format'] = { type: 'json_object' };
  else if (typeof format === 'object' && format !== null && !Array.isArray(format)) {
    out['response_format'] = { type: 'json_schema', json_schema: { name: 'response', schema: format } };
  } else if (format !== undefined && format !== null && format !== '') throw invalid('format', 'expected "json" or a JSON schema object');
  const think = body['think'];
  if (typeof think === 'string') {
    const effort = REASONING_EFFORT[think];
    if (effort === undefined) throw invalid('think', 'expected true, false, "low", "medium", "high" or "max"');
    out['reasoning_effort'] = effort;
  } else if (think !== undefined && think !== null && typeof think !== 'boolean') {
    throw invalid('think', 'expected true, false, "low", "medium", "high" or "max"');
  }
}

function streamOf(body: Readonly<Json>, out: Json): void {
  if (body['stream'] === false) out['stream'] = false;
  else {
    out['stream'] = true;
    out['stream_options'] = { include_usage: true };
  }
}

function missing(param: string): SluiceError {
  return new SluiceError('SLUICE_MISSING_PARAM', `Missing required parameter: '${param}'.`, { param });
}

function invalid(param: string, what: string): SluiceError {
  return new SluiceError('SLUICE_INVALID_PARAM', `Invalid value for '${param}': ${what}.`, { param });
}

function loadCall(param: string): SluiceError {
  return new SluiceError(
    'SLUICE_MISSING_PARAM',
    `Missing required parameter: '${param}' is empty. An empty '${param}' asks Ollama to load or unload the model, which this model's backend has no equivalent of; send a ${param === 'messages' ? 'message' : param}.`,
    { param },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Answers

/** Ollama's `done_reason` for an OpenAI `finish_reason`: Ollama says "stop" after tool calls too. */
function doneReasonOf(finishReason: unknown): string {
  if (finishReason === 'length') return 'length';
  if (typeof finishReason !== 'string' || finishReason === 'stop' || finishReason === 'tool_calls' || finishReason === 'function_call') return 'stop';
  return finishReason;
}

/**
 * Ollama's counts and timings, in its field order: durations in whole nanoseconds from millisecond clock readings
 * (a total and an eval of at least 1 ns); counts left out when the backend gave none. `firstTokenAt` null: unknown.
 */
function metrics(startedAt: number, firstTokenAt: number | null, endedAt: number, promptTokens: number | null, completionTokens: number | null): Json {
  const total = Math.max(1, Math.round((endedAt - startedAt) * 1e6));
  const promptEval = firstTokenAt !== null ? Math.min(total - 1, Math.max(0, Math.round((firstTokenAt - startedAt) * 1e6))) : 0;
  const out: Json = { total_duration: total, load_duration: 0 };
  if (promptTokens !== null) out['prompt_eval_count'] = promptTokens;
  out['prompt_eval_duration'] = promptEval;
  if (completionTokens !== null) out['eval_count'] = completionTokens;
  out['eval_duration'] = Math.max(1, total - promptEval);
  return out;
}

interface ToolCallDraft {
  id: string | null;
  name: string;
  arguments: string;
}

/** Ollama's tool calls (arguments as objects) for OpenAI's (arguments as JSON text). */
function ollamaToolCalls(calls: readonly ToolCallDraft[]): Json[] {
  return calls.map((call, index) => {
    const out: Json = {};
    if (call.id !== null) out['id'] = call.id;
    out['function'] = { index, name: call.name, arguments: argumentsObject(call.arguments) };
    return out;
  });
}

function argumentsObject(text: string): Json {
  if (text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
  } catch {
    return {};
  }
}

function reasoningOf(source: Json): string {
  const reasoning = source['reasoning_content'] ?? source['reasoning'];
  return typeof reasoning === 'string' ? reasoning : '';
}

/** The message of an OpenAI error body (`{"error":{"message"}}`, `{"error":"..."}`, vLLM's `{"message"}`). */
export function openAIErrorMessage(status: number, text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    const trimmed = text.trim();
    return trimmed === '' ? `The backend answered ${status}.` : trimmed.slice(0, MAX_ERROR_TEXT);
  }
  return errorMessageOf(json) ?? `The backend answered ${status}.`;
}

function errorMessageOf(json: unknown): string | null {
  if (typeof json !== 'object' || json === null) return null;
  const body = json as Json;
  const error = body['error'];
  if (typeof error === 'string' && error !== '') return error;
  const message = (typeof error === 'object' && error !== null ? (error as Json)['message'] : undefined) ?? body['message'] ?? body['detail'];
  return typeof message === 'string' && message !== '' ? message : null;
}

/**
 * Turns a stream of OpenAI chat.completion.chunk (or text_completion) events into Ollama NDJSON lines as they
 * arrive. `push` takes one event's parsed data and returns the lines for it (often one, sometimes none); the final
 * `done: true` line waits for `[DONE]` or the end, since usage may come in a chunk after the finishing one.
 */
export class OllamaStreamTranslator {
  readonly #model: string;
  /** `{"model":…,"created_at":"`: every line starts so. */
  readonly #head: string;
  /** Generate answers carry text in `response`, chat answers in `message`. */
  readonly #generate: boolean;
  readonly #showThinking: boolean;
  readonly #clock: OllamaClock;
  readonly #startedAt: number;
  #firstTokenAt: number | null = null;
  readonly #toolCalls: ToolCallDraft[] = [];
  #toolBytes = 0;
  #doneReason: string | null = null;
  #promptTokens: number | null = null;
  #completionTokens: number | null = null;
  #done = false;

  constructor(requestedModel: string, endpoint: Endpoint, showThinking: boolean, clock: OllamaClock = SYSTEM_CLOCK, startedAt = clock.now()) {
    this.#model = requestedModel;
    this.#head = `{"model":${JSON.stringify(requestedModel)},"created_at":"`;
    this.#generate = endpoint === 'completions';
    this.#showThinking = showThinking;
    this.#clock = clock;
    this.#startedAt = startedAt;
  }

  /** True once the final line (or an error line) is out: later events are ignored. */
  get done(): boolean {
    return this.#done;
  }

  /** The lines for one event's parsed data. */
  push(data: unknown): string {
    if (this.#done || typeof data !== 'object' || data === null) return '';
    const chunk = data as Json;
    const error = chunk['error'];
    if (error !== undefined && error !== null) {
      this.#done = true;
      return ollamaErrorLine(errorMessageOf(chunk) ?? 'The backend failed while streaming the answer.');
    }
    const usage = chunk['usage'];
    if (typeof usage === 'object' && usage !== null) {
      const u = usage as Json;
      if (typeof u['prompt_tokens'] === 'number') this.#promptTokens = u['prompt_tokens'];
      if (typeof u['completion_tokens'] === 'number') this.#completionTokens = u['completion_tokens'];
    }
    const choices = chunk['choices'];
    if (!Array.isArray(choices) || choices.length === 0) return '';
    const choice = choices[0] as Json;
    if (typeof choice !== 'object' || choice === null || (choice['index'] !== undefined && choice['index'] !== 0)) return '';
    let out = '';
    const delta = choice['delta'] as Json | undefined;
    let text: unknown;
    let thinking = '';
    if (typeof delta === 'object' && delta !== null) {
      text = delta['content'];
      if (this.#showThinking) thinking = reasoningOf(delta);
      const calls = delta['tool_calls'];
      if (Array.isArray(calls)) this.#collect(calls);
    } else text = choice['text'];
    if ((typeof text === 'string' && text !== '') || thinking !== '') out += this.#textLine(typeof text === 'string' ? text : '', thinking);
    const finish = choice['finish_reason'];
    if (finish !== undefined && finish !== null && this.#doneReason === null) {
      this.#doneReason = doneReasonOf(finish);
      if (this.#toolCalls.length > 0) out += this.#toolCallLine();
    }
    return out;
  }

  /**
   * The final line: at `[DONE]` (`complete`) or at the end of the body, which without a finishing chunk means the
   * answer broke off: then an error line, as Ollama writes when generation fails midway.
   */
  finish(complete: boolean): string {
    if (this.#done) return '';
    this.#done = true;
    if (this.#doneReason === null) {
      if (!complete) return ollamaErrorLine('The backend ended the stream before the answer was complete.');
      this.#doneReason = 'stop';
      if (this.#toolCalls.length > 0) return this.#toolCallLine() + this.#finalLine();
    }
    return this.#finalLine();
  }

  #finalLine(): string {
    const endedAt = this.#clock.now();
    const line: Json = { model: this.#model, created_at: this.#clock.timestamp() };
    if (this.#generate) line['response'] = '';
    else line['message'] = { role: 'assistant', content: '' };
    line['done'] = true;
    line['done_reason'] = this.#doneReason;
    Object.assign(line, metrics(this.#startedAt, this.#firstTokenAt ?? endedAt, endedAt, this.#promptTokens, this.#completionTokens));
    return `${JSON.stringify(line)}\n`;
  }

  #textLine(text: string, thinking: string): string {
    this.#firstTokenAt ??= this.#clock.now();
    const extra = thinking === '' ? '' : `,"thinking":${JSON.stringify(thinking)}`;
    const body = this.#generate
      ? `","response":${JSON.stringify(text)}${extra}`
      : `","message":{"role":"assistant","content":${JSON.stringify(text)}${extra}}`;
    return `${this.#head}${this.#clock.timestamp()}${body},"done":false}\n`;
  }

  #toolCallLine(): string {
    this.#firstTokenAt ??= this.#clock.now();
    const calls = JSON.stringify(ollamaToolCalls(this.#toolCalls));
    const body = this.#generate
      ? `","response":"","done":false,"tool_calls":${calls}}\n`
      : `","message":{"role":"assistant","content":"","tool_calls":${calls}},"done":false}\n`;
    return `${this.#head}${this.#clock.timestamp()}${body}`;
  }

  /** Adds streamed tool call fragments to the calls they belong to (by `index`). */
  #collect(fragments: readonly unknown[]): void {
    for (const fragment of fragments) {
      if (typeof fragment !== 'object' || fragment === null) continue;
      const f = fragment as Json;
      const index = typeof f['index'] === 'number' ? f['index'] : this.#toolCalls.length;
      let call = this.#toolCalls[index];
      if (call === undefined) {
        if (index !== this.#toolCalls.length) continue; // an index that skips calls: not OpenAI's stream
        call = { id: null, name: '', arguments: '' };
        this.#toolCalls.push(call);
      }
      if (typeof f['id'] === 'string' && f['id'] !== '') call.id = f['id'];
      const fn = f['function'] as Json | undefined;
      if (typeof fn !== 'object' || fn === null) continue;
      if (typeof fn['name'] === 'string') call.name += fn['name'];
      const args = fn['arguments'];
      if (typeof args === 'string') {
        call.arguments += args;
        this.#toolBytes += args.length;
        if (this.#toolBytes > MAX_HELD_BYTES) throw heldTooLarge();
      } else if (typeof args === 'object' && args !== null) {
        // Some backends send the arguments whole, as an object.
        call.arguments = JSON.stringify(args);
      }
    }
  }
}

/**
 * Ollama's JSON answer for an OpenAI chat.completion or text_completion (`generate`: text in `response`).
 * `startedAt`/`endedAt` are clock milliseconds.
 */
export function ollamaAnswer(json: Readonly<Json>, requestedModel: string, generate: boolean, showThinking: boolean, timestamp: string, startedAt: number, endedAt: number): Json {
  const choices = json['choices'];
  const choice = (Array.isArray(choices) && typeof choices[0] === 'object' && choices[0] !== null ? choices[0] : {}) as Json;
  const message = choice['message'];
  let text = '';
  let thinking = '';
  let calls: Json[] = [];
  if (typeof message === 'object' && message !== null) {
    const m = message as Json;
    text = typeof m['content'] === 'string' ? m['content'] : typeof m['refusal'] === 'string' ? m['refusal'] : '';
    if (showThinking) thinking = reasoningOf(m);
    const toolCalls = m['tool_calls'];
    if (Array.isArray(toolCalls)) {
      calls = ollamaToolCalls(
        toolCalls.map((call: Json) => {
          const fn = (call?.['function'] ?? {}) as Json;
          const args = fn['arguments'];
          return {
            id: typeof call?.['id'] === 'string' ? call['id'] : null,
            name: typeof fn['name'] === 'string' ? fn['name'] : '',
            arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
          };
        }),
      );
    }
  } else if (typeof choice['text'] === 'string') text = choice['text'];
  const usage = (json['usage'] ?? {}) as Json;
  const prompt = typeof usage['prompt_tokens'] === 'number' ? usage['prompt_tokens'] : null;
  const completion = typeof usage['completion_tokens'] === 'number' ? usage['completion_tokens'] : null;
  const out: Json = { model: requestedModel, created_at: timestamp };
  if (generate) {
    out['response'] = text;
    if (thinking !== '') out['thinking'] = thinking;
  } else {
    const reply: Json = { role: 'assistant', content: text };
    if (thinking !== '') reply['thinking'] = thinking;
    if (calls.length > 0) reply['tool_calls'] = calls;
    out['message'] = reply;
  }
  out['done'] = true;
  out['done_reason'] = doneReasonOf(choice['finish_reason']);
  Object.assign(out, metrics(startedAt, null, endedAt, prompt, completion));
  if (generate && calls.length > 0) out['tool_calls'] = calls;
  return out;
}

/** Ollama's /api/embed answer (or the legacy /api/embeddings one, a single vector) for an OpenAI embeddings list. */
export function ollamaEmbedAnswer(json: Readonly<Json>, requestedModel: string, legacy: boolean, startedAt: number, endedAt: number): Json {
  const data = Array.isArray(json['data']) ? (json['data'] as Json[]) : [];
  const embeddings: number[][] = [];
  for (let i = 0; i < data.length; i++) {
    const item = data[i]!;
    const given = item?.['index'];
    // An index outside the list would leave holes (or a huge sparse array): the item's place is used instead.
    const index = Number.isInteger(given) && (given as number) >= 0 && (given as number) < data.length ? (given as number) : i;
    embeddings[index] = vectorOf(item?.['embedding']);
  }
  for (let i = 0; i < embeddings.length; i++) embeddings[i] ??= [];
  if (legacy) return { embedding: embeddings[0] ?? [] };
  const usage = (json['usage'] ?? {}) as Json;
  const out: Json = {
    model: requestedModel,
    embeddings,
    total_duration: Math.max(1, Math.round((endedAt - startedAt) * 1e6)),
    load_duration: 0,
  };
  if (typeof usage['prompt_tokens'] === 'number') out['prompt_eval_count'] = usage['prompt_tokens'];
  return out;
}

/** An embedding as floats: a float array as it is, base64 (little-endian float32) decoded. */
function vectorOf(value: unknown): number[] {
  if (Array.isArray(value)) return value as number[];
  if (typeof value !== 'string') return [];
  const bytes = Buffer.from(value, 'base64');
  const out = new Array<number>(bytes.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** Options for a translator beyond the request: the clock, for tests and benchmarks. */
export interface OllamaTranslatorOptions {
  readonly clock?: OllamaClock;
}

/**
 * An OpenAI answer as Ollama's, for one client request: an SSE stream is translated event by event into NDJSON
 * lines as it arrives; a JSON answer or an error (complete only at its end) is held, then translated whole.
 */
export class OllamaResponseTranslator implements ResponseTranslator {
  readonly #model: string;
  readonly #endpoint: Endpoint;
  readonly #streamRequested: boolean;
  readonly #showThinking: boolean;
  readonly #legacyEmbedding: boolean;
  readonly #clock: OllamaClock;
  readonly #startedAt: number;
  #stream: OllamaStreamTranslator | null = null;
  #status = 0;
  #headers: Headers = {};
  /** Vectors of a large embeddings batch are bulkier than any chat answer: they get a larger bound. */
  readonly #held: HeldAnswer;
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';
  /** Where the search for the next line end resumes: the text before it holds none. */
  #scanFrom = 0;
  /** The current event's `data:` value so far, or null before its first `data:` line. */
  #data: string | null = null;

  /** `body` is the client's own (Ollama) request; `endpoint` its Ollama endpoint. */
  constructor(requestedModel: string, body: Readonly<Json>, endpoint: Endpoint, options: OllamaTranslatorOptions = {}) {
    this.#model = requestedModel;
    this.#endpoint = endpoint;
    this.#streamRequested = ollamaIsStream(body, endpoint);
    this.#showThinking = body['think'] !== false;
    this.#legacyEmbedding = endpoint === 'embeddings' && isLegacyEmbedding(body);
    this.#held = new HeldAnswer(endpoint === 'embeddings' ? MAX_HELD_EMBEDDING_BYTES : MAX_HELD_BYTES);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#startedAt = this.#clock.now();
  }

  start(status: number, headers: Readonly<Headers>): { deferred: boolean; status: number; headers: Headers } {
    // The translated body has its own type too.
    const out = translatedHeaders(headers);
    delete out['content-type'];
    if (this.#endpoint !== 'embeddings' && isEventStreamAnswer(status, headers)) {
      this.#stream = new OllamaStreamTranslator(this.#model, this.#endpoint, this.#showThinking, this.#clock, this.#startedAt);
      this.#status = status;
      return { deferred: false, status, headers: { ...out, 'content-type': NDJSON_TYPE } };
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
    if (this.#stream.done) return EMPTY;
    this.#pending += this.#decoder.write(chunk);
    const out = this.#lines(false);
    return out === '' ? EMPTY : Buffer.from(out);
  }

  end(): { status: number; headers: Headers; body: Buffer } {
    if (this.#stream !== null) {
      let out = '';
      if (!this.#stream.done) {
        this.#pending += this.#decoder.end();
        out = this.#lines(true) + this.#stream.finish(false);
      }
      return { status: this.#status, headers: {}, body: out === '' ? EMPTY : Buffer.from(out) };
    }
    const text = this.#held.text();
    const endedAt = this.#clock.now();
    let translated: Json;
    if (this.#status >= 400) translated = ollamaErrorBody(openAIErrorMessage(this.#status, text));
    else {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', `The backend answered ${this.#status} with a body that is not JSON.`);
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) {
        throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', `The backend answered ${this.#status} with JSON that is not an object.`);
      }
      translated =
        this.#endpoint === 'embeddings'
          ? ollamaEmbedAnswer(json as Json, this.#model, this.#legacyEmbedding, this.#startedAt, endedAt)
          : ollamaAnswer(json as Json, this.#model, this.#endpoint === 'completions', this.#showThinking, this.#clock.timestamp(), this.#startedAt, endedAt);
    }
    // A backend that answered a streamed request in one piece: that piece is the one (final) line.
    const asLine = this.#streamRequested && this.#status < 400;
    const body = Buffer.from(asLine ? `${JSON.stringify(translated)}\n` : JSON.stringify(translated));
    return { status: this.#status, headers: { ...this.#headers, 'content-type': asLine ? NDJSON_TYPE : JSON_TYPE, 'content-length': String(body.length) }, body };
  }

  /** Translates every complete SSE line held (and, at the end, the last one), keeping a partial line for later. */
  #lines(atEnd: boolean): string {
    const text = this.#pending;
    const stream = this.#stream!;
    let out = '';
    let start = 0;
    for (let newline = text.indexOf('\n', this.#scanFrom); newline !== -1 && !stream.done; newline = text.indexOf('\n', start)) {
      const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      out += this.#line(text, start, end);
      start = newline + 1;
    }
    if (atEnd && !stream.done) {
      let end = text.length;
      if (end > start && text.charCodeAt(end - 1) === 13) end--;
      if (end > start) out += this.#line(text, start, end);
      out += this.#dispatch(true);
      start = text.length;
    }
    this.#pending = start === 0 ? text : text.slice(start);
    this.#scanFrom = this.#pending.length;
    if (this.#pending.length > MAX_HELD_BYTES) throw heldTooLarge();
    return out;
  }

  /** One SSE line, `text` from `start` to `end`: a blank line ends an event; `data:` lines make it. */
  #line(text: string, start: number, end: number): string {
    if (end === start) return this.#dispatch(false);
    if (text.startsWith('data:', start)) {
      const from = text.charCodeAt(start + 5) === 32 ? start + 6 : start + 5;
      const value = text.slice(from, end);
      this.#data = this.#data === null ? value : `${this.#data}\n${value}`;
    }
    return ''; // comments, `event:`, `id:`, `retry:`
  }

  /** Translates the event whose `data:` lines were read; `cut`: the body ended inside it. */
  #dispatch(cut: boolean): string {
    const data = this.#data;
    if (data === null) return '';
    this.#data = null;
    if (data === '[DONE]') return this.#stream!.finish(true);
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      // An event the body ended inside of is a stream cut short: the end says so (an error line).
      if (cut) return '';
      throw new SluiceError('SLUICE_UPSTREAM_BAD_RESPONSE', 'The backend sent a stream event that is not JSON.');
    }
    return this.#stream!.push(json);
  }
}


/** Ollama's native API on an OpenAI-compatible deployment. */
export const ollamaBridge: ClientBridge = {
  toOpenAI(body: Readonly<Json>, endpoint: Endpoint) {
    if (endpoint === 'chat') return { endpoint: 'chat', body: ollamaChatToOpenAI(body) };
    if (endpoint === 'completions') return ollamaGenerateToOpenAI(body);
    if (endpoint === 'embeddings') return { endpoint: 'embeddings', body: ollamaEmbedToOpenAI(body) };
    throw new SluiceError('SLUICE_INVALID_PARAM', `Ollama's API has no ${endpoint} endpoint.`);
  },
  fromOpenAI(requestedModel: string, body: Readonly<Json>, endpoint: Endpoint): ResponseTranslator {
    return new OllamaResponseTranslator(requestedModel, body, endpoint);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// GET routes: the gateway's model groups as Ollama lists its models. Names are the groups' own, never given a
// ':latest' the operator did not write (the ollama client sends names as it got them).

/** One model group as /api/tags lists it; what is not known gets a neutral default. */
export interface OllamaModelEntry {
  readonly name: string;
  /** RFC 3339; defaults to when the gateway started. */
  readonly modifiedAt?: string;
  readonly size?: number;
  /** Defaults to the SHA-256 of the name, stable across restarts. */
  readonly digest?: string;
  /** Overrides of `details` fields (family, parameter_size...). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A model group as /api/ps lists it: always "loaded" as far as a client can tell. */
export interface OllamaRunningModelEntry extends OllamaModelEntry {
  /** RFC 3339; defaults to far in the future (a gateway's models do not unload). */
  readonly expiresAt?: string;
  /** Defaults to `size`. */
  readonly sizeVram?: number;
  readonly contextLength?: number;
}

/** What /api/show says of a model group. */
export interface OllamaShowInfo {
  readonly details?: Readonly<Record<string, unknown>>;
  /** Extra `model_info` keys (GGUF metadata style: "general.architecture", "<arch>.context_length"). */
  readonly modelInfo?: Readonly<Record<string, unknown>>;
  /** Defaults to ['completion']. Ollama's values: completion, tools, insert, vision, embedding, thinking. */
  readonly capabilities?: readonly string[];
  readonly contextLength?: number;
  readonly modifiedAt?: string;
  readonly parameters?: string;
  readonly template?: string;
  readonly system?: string;
  readonly license?: string;
}

const STARTED_AT = ollamaTimestamp();
/** Go's largest time after now, as Ollama reports a model kept loaded forever (keep_alive < 0). */
const FOREVER = '2318-01-01T00:00:00Z';

function details(overrides: Readonly<Record<string, unknown>> | undefined): Json {
  const out: Json = { parent_model: '', format: '', family: '', families: [], parameter_size: '', quantization_level: '', ...overrides };
  if (Array.isArray(out['families']) && (out['families'] as unknown[]).length === 0 && typeof out['family'] === 'string' && out['family'] !== '') {
    out['families'] = [out['family']];
  }
  return out;
}

function tagEntry(model: OllamaModelEntry): Json {
  return {
    name: model.name,
    model: model.name,
    modified_at: model.modifiedAt ?? STARTED_AT,
    size: model.size ?? 0,
    digest: model.digest ?? createHash('sha256').update(model.name).digest('hex'),
    details: details(model.details),
  };
}

/** The /api/tags body. */
export function ollamaTags(models: readonly OllamaModelEntry[]): { models: Json[] } {
  return { models: models.map(tagEntry) };
}

/** The /api/ps body. */
export function ollamaPs(models: readonly OllamaRunningModelEntry[]): { models: Json[] } {
  return {
    models: models.map((model) => {
      const entry = tagEntry(model);
      delete entry['modified_at']; // /api/ps has none
      return { ...entry, expires_at: model.expiresAt ?? FOREVER, size_vram: model.sizeVram ?? model.size ?? 0, context_length: model.contextLength ?? 0 };
    }),
  };
}

/** The /api/show body for a model group. */
export function ollamaShow(name: string, info: OllamaShowInfo = {}): Json {
  const modelDetails = details(info.details);
  const family = typeof modelDetails['family'] === 'string' && modelDetails['family'] !== '' ? modelDetails['family'] : 'sluice';
  const modelInfo: Json = { 'general.architecture': family, 'general.basename': name };
  if (info.contextLength !== undefined) modelInfo[`${family}.context_length`] = info.contextLength;
  Object.assign(modelInfo, info.modelInfo);
  const template = info.template ?? '{{ .Prompt }}';
  const out: Json = {};
  if (info.license !== undefined) out['license'] = info.license;
  out['modelfile'] = `# Served by Sluice: model group "${name}". Ollama-only settings do not apply.\nFROM ${name}\nTEMPLATE """${template}"""\n`;
  out['parameters'] = info.parameters ?? '';
  out['template'] = template;
  if (info.system !== undefined) out['system'] = info.system;
  out['details'] = modelDetails;
  out['model_info'] = modelInfo;
  out['capabilities'] = [...(info.capabilities ?? ['completion'])];
  out['modified_at'] = info.modifiedAt ?? STARTED_AT;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The client API as the engine sees it.

/** Ollama's server root, from a deployment's OpenAI base path (`http://host:11434/v1` serves /api/* at its root). */
function ollamaRoot(basePath: string): string {
  const base = basePath.replace(/\/+$/, '');
  return base.endsWith('/v1') ? base.slice(0, -3) : base;
}

const NATIVE_PATH: Readonly<Partial<Record<Endpoint, string>>> = { chat: '/api/chat', completions: '/api/generate', embeddings: '/api/embed' };

/** Ollama's native API: `/api/chat`, `/api/generate`, `/api/embed(dings)`, NDJSON streams, `{"error": "..."}`. */
export const ollamaWire: WireFormat = {
  id: 'ollama',
  routes: OLLAMA_ROUTES,
  validate: (_endpoint, body) => validateModelAndStream(body),
  isStream: (endpoint, body) => ollamaIsStream(body, endpoint),
  servesNatively: (deployment) => deployment.nativeApis.has('ollama'),
  // The legacy /api/embeddings takes `prompt` where /api/embed takes `input`: the client's path is kept.
  upstreamPath: (endpoint, basePath, clientPath) => ollamaRoot(basePath) + (clientPath === '/api/embeddings' ? clientPath : (NATIVE_PATH[endpoint] ?? clientPath)),
  bridge: ollamaBridge,
  errorBody: (_error, message) => ollamaErrorBody(message),
  streamErrorTail: (_error, message) => ollamaErrorLine(message),
  streamStopTail: (stop, ctx) => ollamaStopLine(ctx.model, stop.notice, 'content_filter', ctx.endpoint === 'completions' ? 'completions' : 'chat'),
  eventText: (event) => ollamaLineText(event.json),
  bodyText: ollamaLineText,
  streamFraming: 'ndjson',
  usageMark: OLLAMA_USAGE_MARK,
  usageOfEvent: ollamaUsageOfLine,
  isUsageOnlyEvent: () => false,
  usageOfBody: ollamaUsageOfLine,
  bodyUsageReader: () => new HeldBodyUsage(ollamaUsageOfLine),
  classifyStatus,
  isContextWindowError,
  estimateRequestTokens,
};
