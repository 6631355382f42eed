// OpenAI's wire facts, in one place: the routes clients call, the upstream paths, `usage` in bodies and stream
// events, how an error status is classified, the context-window error, and the token estimate for decisions made
// before a backend has counted anything. Every OpenAI-compatible backend (vLLM, Ollama's /v1, hosted APIs) and
// the mock provider speak it; a second wire family (Ollama NDJSON, Anthropic Messages) is a sibling file.

import type { Endpoint } from '../config/models.ts';
import type { ErrorClass } from '../config/router-settings.ts';
import type { Usage } from '../plugin/context.ts';
import type { BodyUsageReader, WireFormat } from './wire-format.ts';
import type { SluiceError } from '../errors.ts';
import { validateRequest } from '../http/body.ts';

/** The POST routes clients call, by path. */
export const OPENAI_ROUTES: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([
  ['/v1/chat/completions', 'chat'],
  ['/chat/completions', 'chat'],
  ['/v1/completions', 'completions'],
  ['/completions', 'completions'],
  ['/v1/embeddings', 'embeddings'],
  ['/embeddings', 'embeddings'],
  // vLLM's (and Cohere's, Jina's) rerank, and vLLM's score.
  ['/v1/rerank', 'rerank'],
  ['/rerank', 'rerank'],
  ['/v2/rerank', 'rerank'],
  ['/v1/score', 'score'],
  ['/score', 'score'],
  ['/v1/moderations', 'moderations'],
  ['/moderations', 'moderations'],
  ['/v1/images/generations', 'images'],
  ['/images/generations', 'images'],
  ['/v1/audio/speech', 'speech'],
  ['/audio/speech', 'speech'],
  // Multipart uploads: spooled, then sent on (core/http/multipart.ts).
  ['/v1/audio/transcriptions', 'transcriptions'],
  ['/audio/transcriptions', 'transcriptions'],
  ['/v1/audio/translations', 'translations'],
  ['/audio/translations', 'translations'],
  // vLLM serves these at its root, not under /v1.
  ['/tokenize', 'tokenize'],
  ['/v1/tokenize', 'tokenize'],
  ['/detokenize', 'detokenize'],
  ['/v1/detokenize', 'detokenize'],
]);

/** The path under a deployment's base path (`…/v1`) that serves an endpoint. */
export const UPSTREAM_PATH: Readonly<Record<Endpoint, string>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  rerank: '/rerank',
  score: '/score',
  moderations: '/moderations',
  images: '/images/generations',
  speech: '/audio/speech',
  tokenize: '/tokenize',
  detokenize: '/detokenize',
  transcriptions: '/audio/transcriptions',
  translations: '/audio/translations',
};

/** Endpoints a server offers beside its `/v1` API rather than under it (vLLM's tokenizer routes). */
const AT_SERVER_ROOT: ReadonlySet<Endpoint> = new Set<Endpoint>(['tokenize', 'detokenize']);

/** The upstream path of `endpoint` on a deployment whose OpenAI API lives at `basePath` (e.g. `/v1`). */
export function upstreamPathOf(endpoint: Endpoint, basePath: string): string {
  const base = AT_SERVER_ROOT.has(endpoint) && basePath.endsWith('/v1') ? basePath.slice(0, -3) : basePath;
  return base + UPSTREAM_PATH[endpoint];
}

/** An OpenAI `usage` object as our `Usage`; null when it has no `total_tokens`. */
export function usageFrom(value: unknown): Usage | null {
  if (typeof value !== 'object' || value === null) return null;
  const usage = value as { prompt_tokens?: unknown; completion_tokens?: unknown; total_tokens?: unknown };
  if (typeof usage.total_tokens !== 'number') return null;
  return {
    promptTokens: typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : 0,
    completionTokens: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0,
    totalTokens: usage.total_tokens,
  };
}

/** Bytes that every stream event carrying usage contains: a cheap search before any JSON is parsed. */
export const USAGE_MARK = Buffer.from('"usage":{');

/** Classifies an upstream HTTP error status; `body` (when read) refines 400s. */
export function classifyStatus(status: number, body: string | null): ErrorClass {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server_error';
  if (body !== null && CONTENT_POLICY.test(body)) return 'content_policy';
  return 'bad_request';
}

const CONTENT_POLICY = /content[ _-]?(policy|filter|management)|safety system|responsibleai/i;
const CONTEXT_WINDOW = /context[ _-]?(length|window)|maximum context|too many tokens|prompt is too long|exceeds the model/i;

/** True when a backend's 400 says the prompt did not fit the model's context window. */
export function isContextWindowError(body: string): boolean {
  return CONTEXT_WINDOW.test(body);
}

/** About four characters a token, OpenAI's rule of thumb; at least 1. Only for coarse decisions. */
export function estimateTextTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * The prompt's estimated tokens, from a request body: the messages' text (and a little framing each), else the
 * prompt or input. Used for context-window fallbacks and tpm pre-checks, before a backend has counted.
 */
export function estimateRequestTokens(body: Readonly<Record<string, unknown>>): number {
  let chars = 0;
  const messages = body['messages'];
  if (Array.isArray(messages)) {
    for (const message of messages) {
      const content = (message as { content?: unknown }).content;
      if (typeof content === 'string') chars += content.length;
      else if (Array.isArray(content)) {
        for (const part of content) {
          const text = (part as { text?: unknown }).text;
          if (typeof text === 'string') chars += text.length;
        }
      }
      chars += 16; // role and framing
    }
  } else {
    const prompt = body['prompt'] ?? body['input'];
    chars = typeof prompt === 'string' ? prompt.length : JSON.stringify(prompt ?? '').length;
  }
  return Math.ceil(chars / 4);
}

/** The usage of a parsed OpenAI JSON response, or null. */
export function usageOfBody(json: unknown): Usage | null {
  return usageFrom((json as { usage?: unknown } | undefined)?.usage);
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined; // Not JSON (or compressed): no usage to charge.
  }
}

/** How much of a JSON body's end is kept to read its `usage`, which OpenAI-compatible servers write last. */
const USAGE_TAIL_BYTES = 64 * 1024;
const USAGE_KEY = Buffer.from('"usage"');

/**
 * The end of a JSON response body, kept to read its `usage` without holding the body. A body up to
 * USAGE_TAIL_BYTES is kept as it came and parsed whole. Of a longer one only the last bytes are kept, copied into
 * one buffer (holding the chunks themselves could pin the larger buffers they are views of), and `usage` is read
 * from the last `"usage":{...}` there. A `"usage"` key cannot occur inside a JSON string, where quotes are escaped.
 */
export class UsageTail implements BodyUsageReader {
  /** The most bytes any tail held at once, for tests. */
  static peakHeldBytes = 0;
  #chunks: Buffer[] | null = [];
  #size = 0;
  /** Once the body outgrew USAGE_TAIL_BYTES: its latest bytes, `#ring[0, #length)`. */
  #ring: Buffer | null = null;
  #length = 0;

  push(chunk: Buffer): void {
    const chunks = this.#chunks;
    if (chunks !== null && this.#size + chunk.length <= USAGE_TAIL_BYTES) {
      chunks.push(chunk);
      this.#size += chunk.length;
      if (this.#size > UsageTail.peakHeldBytes) UsageTail.peakHeldBytes = this.#size;
      return;
    }
    if (this.#ring === null) {
      this.#ring = Buffer.allocUnsafe(2 * USAGE_TAIL_BYTES);
      if (UsageTail.peakHeldBytes < this.#ring.length) UsageTail.peakHeldBytes = this.#ring.length;
      this.#chunks = null;
      for (const held of chunks!) this.#append(held);
    }
    this.#append(chunk);
  }

  #append(chunk: Buffer): void {
    const ring = this.#ring!;
    if (chunk.length >= USAGE_TAIL_BYTES) {
      this.#length = chunk.copy(ring, 0, chunk.length - USAGE_TAIL_BYTES);
      return;
    }
    if (this.#length + chunk.length > ring.length) {
      // Keep the newest bytes at the front: each byte is moved at most once before it is dropped.
      const keep = USAGE_TAIL_BYTES - chunk.length;
      ring.copyWithin(0, this.#length - keep, this.#length);
      this.#length = keep;
    }
    this.#length += chunk.copy(ring, this.#length);
  }

  /** The usage of the body seen, or null when it has none. */
  read(): Usage | null {
    if (this.#chunks !== null) {
      if (this.#size === 0) return null;
      const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
      const fromEnd = usageFromEnd(body, true);
      return fromEnd !== UNSURE ? fromEnd : usageOfBody(parseJson(body));
    }
    const tail = this.#ring!.subarray(0, this.#length);
    const fromEnd = usageFromEnd(tail, false);
    if (fromEnd !== UNSURE) return fromEnd;
    for (let at = tail.lastIndexOf(USAGE_KEY); at !== -1; at = at === 0 ? -1 : tail.lastIndexOf(USAGE_KEY, at - 1)) {
      const object = objectAfterKey(tail, at + USAGE_KEY.length);
      const usage = object === null ? null : usageFrom(parseJson(object));
      if (usage !== null) return usage;
    }
    return null;
  }
}

/** What `usageFromEnd` returns when only a full parse can tell. */
export const UNSURE = Symbol('unsure');
/** How far back from a body's end `usageFromEnd` walks before it leaves the answer to a full parse. */
const USAGE_WALK_BYTES = 4096;
const USAGE_NAME = Buffer.from('usage');

/**
 * The top-level `usage` of a JSON object, read from its end without parsing the rest: the members are walked back
 * from the closing brace (strings skipped whole, nested values by bracket depth) to the key `usage`, and only its
 * value is parsed. OpenAI-compatible servers write `usage` last or nearly so. UNSURE when the walk cannot be sure
 * of what a full parse would say: not an object's end, more than USAGE_WALK_BYTES walked, a key with an escape
 * (`"\u0075sage"` is `usage` too), anything out of place. null when the walk reached the object's opening brace
 * (at the start of `bytes`, when `startsBody`: else `bytes` is only the body's end) without a `usage`. Of the bytes
 * before the member found only the first is read (an object's `{`), so a body broken between them still has its
 * usage read where a full parse finds none.
 */
export function usageFromEnd(bytes: Buffer, startsBody: boolean): Usage | null | typeof UNSURE {
  const stop = Math.max(0, bytes.length - USAGE_WALK_BYTES);
  if (startsBody && bytes[skipSpaceForward(bytes, 0)] !== 0x7b /* { */) return UNSURE;
  let i = skipSpaceBack(bytes, bytes.length - 1);
  if (i < stop || bytes[i] !== 0x7d /* } */) return UNSURE;
  i = skipSpaceBack(bytes, i - 1);
  if (bytes[i] === 0x7b /* { */) return startsBody && i >= stop && skipSpaceBack(bytes, i - 1) === -1 ? null : UNSURE; // {}
  for (;;) {
    // One member, value first: `"key" : value`, then a comma or the opening brace.
    const valueEnd = i;
    i = valueStartBack(bytes, i, stop);
    if (i < 0) return UNSURE;
    const valueStart = i;
    i = skipSpaceBack(bytes, i - 1);
    if (i < stop || bytes[i] !== 0x3a /* : */) return UNSURE;
    i = skipSpaceBack(bytes, i - 1);
    if (i < stop || bytes[i] !== 0x22 /* " */) return UNSURE;
    const keyEnd = i;
    i = stringStartBack(bytes, i, stop);
    if (i < 0) return UNSURE;
    const key = bytes.subarray(i + 1, keyEnd);
    if (key.equals(USAGE_NAME)) {
      try {
        return usageFrom(JSON.parse(bytes.toString('utf8', valueStart, valueEnd + 1)));
      } catch {
        return UNSURE;
      }
    }
    if (key.includes(0x5c /* \ */)) return UNSURE;
    i = skipSpaceBack(bytes, i - 1);
    if (i < stop) return UNSURE;
    if (bytes[i] === 0x2c /* , */) {
      i = skipSpaceBack(bytes, i - 1);
      if (i < stop) return UNSURE;
      continue;
    }
    // The opening brace, with nothing but whitespace before it: the whole object was walked, no usage in it.
    return startsBody && bytes[i] === 0x7b && skipSpaceBack(bytes, i - 1) === -1 ? null : UNSURE;
  }
}

/** The index of the first byte at or after `i` that is not JSON whitespace. */
function skipSpaceForward(bytes: Buffer, i: number): number {
  while (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09) i++;
  return i;
}

/** The index of the last byte at or before `i` that is not JSON whitespace; -1 when there is none. */
function skipSpaceBack(bytes: Buffer, i: number): number {
  while (i >= 0 && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i--;
  return i;
}

/** The index where the JSON value ending at `end` starts; -1 when it does not start at or after `stop`. */
function valueStartBack(bytes: Buffer, end: number, stop: number): number {
  const last = bytes[end];
  if (last === 0x22 /* " */) return stringStartBack(bytes, end, stop);
  if (last === 0x7d /* } */ || last === 0x5d /* ] */) {
    let depth = 0;
    for (let i = end; i >= stop; i--) {
      const byte = bytes[i];
      if (byte === 0x22) {
        i = stringStartBack(bytes, i, stop);
        if (i < 0) return -1;
      } else if (byte === 0x7d || byte === 0x5d) depth++;
      else if ((byte === 0x7b || byte === 0x5b) && --depth === 0) return i;
    }
    return -1;
  }
  // A number, true, false or null.
  let i = end;
  while (i >= stop && isLiteralByte(bytes[i]!)) i--;
  return i === end || i < stop ? -1 : i + 1;
}

/** Letters, digits, `+`, `-` and `.`: the bytes of JSON's numbers and of true, false and null. */
function isLiteralByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || byte === 0x2b || byte === 0x2d || byte === 0x2e;
}

/**
 * The index of the quote that opens the string whose closing quote is at `end`; -1 when it is before `stop`. Inside
 * a string every quote is escaped, and a quote is escaped exactly when an odd number of backslashes precede it.
 */
function stringStartBack(bytes: Buffer, end: number, stop: number): number {
  let quote = end;
  for (;;) {
    quote = quote === 0 ? -1 : bytes.lastIndexOf(0x22, quote - 1);
    if (quote < stop) return -1;
    let backslashes = 0;
    while (quote - backslashes - 1 >= 0 && bytes[quote - backslashes - 1] === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
}

/** The bytes of the `{...}` value after a key ending at `from` (`: {`), or null when it is not an object. */
function objectAfterKey(bytes: Buffer, from: number): Buffer | null {
  let i = from;
  while (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09) i++;
  if (bytes[i++] !== 0x3a /* : */) return null;
  while (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09) i++;
  const start = i;
  if (bytes[start] !== 0x7b /* { */) return null;
  let depth = 0;
  let inString = false;
  for (; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === 0x5c /* \\ */) i++;
      else if (byte === 0x22 /* " */) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b) depth++;
    else if (byte === 0x7d /* } */ && --depth === 0) return bytes.subarray(start, i + 1);
  }
  return null;
}

/** OpenAI's error object, with the message in the caller's language. */
export function openaiErrorBody(error: SluiceError, message: string): { error: { message: string; type: string; param: string | null; code: string } } {
  const body = error.toJSON();
  body.error.message = message;
  return body;
}

/** OpenAI's wire family: chat, completions and embeddings, streamed as SSE. */
export const openai: WireFormat = {
  id: 'openai',
  routes: OPENAI_ROUTES,
  validate: validateRequest,
  isStream: (_endpoint, body) => body['stream'] === true,
  // Every OpenAI-compatible deployment; an `anthropic/` one is reached through its ForeignBackend.
  servesNatively: (deployment) => deployment.kind !== 'anthropic',
  upstreamPath: upstreamPathOf,
  bridge: null,
  errorBody: openaiErrorBody,
  streamErrorTail: (error, message) => `data: ${JSON.stringify(openaiErrorBody(error, message))}\n\n`,
  streamStopTail: (stop) => (stop.finalEvent === null ? '' : `data: ${JSON.stringify(stop.finalEvent)}\n\n`) + 'data: [DONE]\n\n',
  eventText: (event) => {
    const choice = (event.json as { choices?: { delta?: { content?: unknown }; text?: unknown }[] } | undefined)?.choices?.[0];
    const text = choice?.delta?.content ?? choice?.text;
    return typeof text === 'string' ? text : '';
  },
  bodyText: (json) => {
    const choice = (json as { choices?: { message?: { content?: unknown }; text?: unknown }[] } | undefined)?.choices?.[0];
    const text = choice?.message?.content ?? choice?.text;
    return typeof text === 'string' ? text : '';
  },
  streamFraming: 'sse',
  usageMark: USAGE_MARK,
  usageOfEvent: (json) => usageFrom((json as { usage?: unknown } | undefined)?.usage),
  // The usage event asked for with `stream_options.include_usage` has an empty `choices`.
  isUsageOnlyEvent: (json) => {
    const choices = (json as { choices?: unknown } | undefined)?.choices;
    return Array.isArray(choices) && choices.length === 0;
  },
  usageOfBody,
  bodyUsageReader: () => new UsageTail(),
  classifyStatus,
  isContextWindowError,
  estimateRequestTokens,
};
