// A stand-in for api.openai.com that speaks its exact wire format, with knobs for latency, errors and cut
// connections. Built for both integration tests and the load benchmark, so the hot path avoids per-request work
// that can be done once.

import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  after,
  answerCache,
  drop,
  createStats,
  embed,
  embeddingBase64,
  embeddingInputs,
  estimateTokens,
  parseObject,
  promptTokens,
  pumpStream,
  sendBody,
  sendHalfAndDrop,
  startSimServer,
} from './shared.ts';
import type { Exchange, SimStats } from './shared.ts';

export type { SimStats, RecordedRequest } from './shared.ts';

export interface SimKnobs {
  /** Wait before sending response headers (time to first byte). */
  delayMs: number;
  /** Gap between SSE chunks; 0 sends them all at once, each still its own write. */
  chunkIntervalMs: number;
  /** Content chunks in a stream / words in a JSON answer. */
  tokens: number;
  /** Answer text, split on spaces into tokens; null gives "tok0 tok1 ...". */
  text: string | null;
  /** When set, every request answers this status with an OpenAI error body. */
  status: number | null;
  /** With status 429 (or 503): the Retry-After header. */
  retryAfterSec: number | null;
  /** Streams: cut the socket after N chunks (no [DONE]); JSON: cut after headers and half the body. */
  dropAfterChunks: number | null;
  /** Add "sim_sent_at" (epoch ms, float) to every SSE chunk. */
  stampChunks: boolean;
  /** JSON answers: a "sim_padding" field of this many bytes before `usage`, written in 64 KB pieces. */
  padBytes: number;
  /** JSON answers are gzipped when the request's Accept-Encoding allows it. */
  gzip: boolean;
  /** Error bodies (`status`) quote the request's Authorization header, as some servers do. */
  echoAuthorization: boolean;
  /** Where the OpenAI routes are served: `/v1`, or e.g. Gemini's `/v1beta/openai`. */
  basePath: string;
  /**
   * Azure OpenAI's shape instead: `/openai/deployments/{deployment}/chat/completions?api-version=…`, the key in an
   * `api-key` header (401 without one, or with an Authorization header instead). The deployment is the model.
   */
  azure: boolean;
  /**
   * Serve OpenAI's Responses API natively at `{basePath}/responses`: a response object, or the `response.*` event
   * stream (`event:` lines, `sequence_number`, no `[DONE]`). Off: that path is a 404, as on a chat-only server.
   */
  responses: boolean;
  /**
   * Sent on every answer as OpenAI sends its rate-limit state: `x-ratelimit-remaining-requests` / `-tokens` (with
   * `x-ratelimit-limit-*` one request and 1000 tokens higher). Null sends none.
   */
  rateLimitRemaining: { readonly requests: number; readonly tokens: number } | null;
}

export interface Sim {
  url: string;
  port: number;
  /** Mutable: read at the start of each request. */
  knobs: SimKnobs;
  stats: SimStats;
  close(): Promise<void>;
}

export const DEFAULT_KNOBS: Readonly<SimKnobs> = {
  delayMs: 0,
  chunkIntervalMs: 0,
  tokens: 5,
  text: null,
  status: null,
  retryAfterSec: null,
  dropAfterChunks: null,
  stampChunks: false,
  padBytes: 0,
  gzip: false,
  echoAuthorization: false,
  basePath: '/v1',
  azure: false,
  responses: false,
  rateLimitRemaining: null,
};

const AZURE_PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;

const JSON_TYPE = 'application/json';
const PAD = Buffer.alloc(64 * 1024, 'x');
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } as const;
const FINGERPRINT = 'fp_51ce5e0d1a';
const DEFAULT_MODEL = 'sim-model';

interface ErrorShape {
  message: string;
  type: string;
  code: string | null;
}

/** Messages and types as the real API sends them for each status. */
function errorShape(status: number): ErrorShape {
  switch (status) {
    case 400:
      return { message: 'Simulated bad request.', type: 'invalid_request_error', code: null };
    case 401:
      return { message: 'Incorrect API key provided: sk-sim***. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', code: 'invalid_api_key' };
    case 403:
      return { message: 'You are not allowed to sample from this model', type: 'invalid_request_error', code: null };
    case 404:
      return { message: 'The model `sim-model` does not exist or you do not have access to it.', type: 'invalid_request_error', code: 'model_not_found' };
    case 429:
      return { message: 'Rate limit reached for requests. Please try again later.', type: 'requests', code: 'rate_limit_exceeded' };
    case 500:
      return { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null };
    case 503:
      return { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', code: null };
    default:
      return status >= 500
        ? { message: `Simulated server error (${status}).`, type: 'server_error', code: null }
        : { message: `Simulated error (${status}).`, type: 'invalid_request_error', code: null };
  }
}

function errorBody(message: string, type: string, code: string | null, param: string | null = null): string {
  return JSON.stringify({ error: { message, type, param, code } });
}

export async function startOpenAISim(options: Partial<SimKnobs> & { port?: number; host?: string } = {}): Promise<Sim> {
  const { port, host, ...rest } = options;
  const knobs: SimKnobs = { ...DEFAULT_KNOBS };
  for (const key of Object.keys(rest) as (keyof SimKnobs)[]) {
    if (rest[key] !== undefined) (knobs as unknown as Record<string, unknown>)[key] = rest[key];
  }
  const stats = createStats();
  const answer = answerCache();
  const errorCache = new Map<number, string>();
  const seenModels = new Set<string>([DEFAULT_MODEL]);
  const bootSec = Math.floor(Date.now() / 1000);
  // IDs are a random per-process stem plus a counter: unique without a crypto call per request.
  const stem = randomBytes(16).toString('base64url').replace(/[-_]/g, 'x').slice(0, 20);
  let seq = 0;
  const nextId = (prefix: string): string => prefix + stem + (seq++).toString(36).padStart(9, '0');

  const handle = (ex: Exchange): void => {
    // Snapshot the knobs: a test changing them mid-stream affects only later requests.
    const delayMs = knobs.delayMs;
    const status = knobs.status;
    const retryAfterSec = knobs.retryAfterSec;
    const intervalMs = knobs.chunkIntervalMs;
    const dropAfter = knobs.dropAfterChunks;
    const stamp = knobs.stampChunks;
    const padBytes = knobs.padBytes;
    const gzip = knobs.gzip;
    const echoAuthorization = knobs.echoAuthorization;
    const basePath = knobs.basePath;
    const azure = knobs.azure;
    const responses = knobs.responses;
    const ans = answer(knobs.text, knobs.tokens);
    const rateLimit = knobs.rateLimitRemaining;
    after(ex, delayMs, () => {
      const res = ex.res;
      if (rateLimit !== null) {
        res.setHeader('x-ratelimit-limit-requests', String(rateLimit.requests + 1));
        res.setHeader('x-ratelimit-remaining-requests', String(rateLimit.requests));
        res.setHeader('x-ratelimit-limit-tokens', String(rateLimit.tokens + 1000));
        res.setHeader('x-ratelimit-remaining-tokens', String(rateLimit.tokens));
      }
      if (status !== null) {
        let body = errorCache.get(status);
        if (echoAuthorization) {
          const shape = errorShape(status);
          body = errorBody(`${shape.message} (Authorization: ${ex.req.headers.authorization ?? 'none'})`, shape.type, shape.code);
        } else if (body === undefined) {
          const shape = errorShape(status);
          body = errorBody(shape.message, shape.type, shape.code);
          errorCache.set(status, body);
        }
        const extra: Record<string, string> = {};
        if (retryAfterSec !== null && (status === 429 || status === 503)) extra['retry-after'] = String(retryAfterSec);
        return sendBody(res, status, JSON_TYPE, body, extra);
      }
      const method = ex.req.method;
      const path = ex.path;
      if (method === 'GET') {
        if (path === '/health') {
          res.writeHead(200, { 'content-length': 0 });
          return void res.end();
        }
        if (path === '/v1/models') return sendBody(res, 200, JSON_TYPE, modelsBody());
      } else if (method === 'POST') {
        let route = path.startsWith(basePath + '/') ? path.slice(basePath.length) : null;
        let azureDeployment: string | null = null;
        if (azure) {
          const match = AZURE_PATH.exec(path);
          route = null;
          if (match !== null && /(^|&)api-version=[^&]+/.test(ex.query)) {
            route = `/${match[2]!}`;
            azureDeployment = decodeURIComponent(match[1]!);
          }
          if (route !== null && (ex.req.headers['api-key'] === undefined || ex.req.headers.authorization !== undefined)) {
            return sendBody(res, 401, JSON_TYPE, errorBody('Access denied due to invalid subscription key or wrong API endpoint.', 'invalid_request_error', '401'));
          }
        }
        const kind =
          route === '/chat/completions'
            ? 'chat'
            : route === '/completions'
              ? 'text'
              : route === '/embeddings'
                ? 'embed'
                : route === '/responses' && responses && azureDeployment === null
                  ? 'responses'
                  : null;
        if (kind !== null) {
          const body = parseObject(ex.body);
          if (body === null) {
            return sendBody(
              res,
              400,
              JSON_TYPE,
              errorBody(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
                'invalid_request_error',
                null,
              ),
            );
          }
          const model = azureDeployment ?? (typeof body['model'] === 'string' ? body['model'] : DEFAULT_MODEL);
          if (!seenModels.has(model)) seenModels.add(model);
          if (kind === 'embed') return embeddings(ex, body, model, dropAfter);
          if (kind === 'responses') return responsesAnswer(ex, model, body, ans, intervalMs, dropAfter);
          const stream = body['stream'] === true;
          const includeUsage = stream && (body['stream_options'] as { include_usage?: unknown } | null | undefined)?.include_usage === true;
          if (stream) return streamCompletion(ex, kind === 'chat', model, body, ans, includeUsage, intervalMs, dropAfter, stamp);
          return jsonCompletion(ex, kind === 'chat', model, body, ans, dropAfter, padBytes, gzip);
        }
      }
      sendBody(res, 404, JSON_TYPE, errorBody(`Invalid URL (${method} ${path})`, 'invalid_request_error', null));
    });
  };

  const modelsBody = (): string => {
    const data: { id: string; object: 'model'; created: number; owned_by: string }[] = [];
    for (const id of seenModels) data.push({ id, object: 'model', created: bootSec, owned_by: 'system' });
    return JSON.stringify({ object: 'list', data });
  };

  const jsonCompletion = (
    ex: Exchange,
    chat: boolean,
    model: string,
    body: Record<string, unknown>,
    ans: ReturnType<typeof answer>,
    dropAfter: number | null,
    padBytes: number,
    gzip: boolean,
  ): void => {
    const prompt = promptTokens(body);
    const completion = ans.pieces.length;
    const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
    const created = Math.floor(Date.now() / 1000);
    const payload = chat
      ? {
          id: nextId('chatcmpl-'),
          object: 'chat.completion',
          created,
          model,
          system_fingerprint: FINGERPRINT,
          choices: [{ index: 0, message: { role: 'assistant', content: ans.text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage,
        }
      : {
          id: nextId('cmpl-'),
          object: 'text_completion',
          created,
          model,
          system_fingerprint: FINGERPRINT,
          choices: [{ text: ans.text, index: 0, logprobs: null, finish_reason: 'stop' }],
          usage,
        };
    const text = JSON.stringify(payload);
    if (dropAfter !== null) return sendHalfAndDrop(ex, text, JSON_TYPE);
    if (padBytes > 0) return sendPadded(ex, text, padBytes);
    if (gzip && /\bgzip\b/.test(String(ex.req.headers['accept-encoding'] ?? ''))) {
      const bytes = gzipSync(text);
      ex.res.writeHead(200, { 'content-type': JSON_TYPE, 'content-encoding': 'gzip', 'content-length': bytes.length });
      return void ex.res.end(bytes);
    }
    sendBody(ex.res, 200, JSON_TYPE, text);
  };

  /** The answer with a filler field before `usage`, streamed in pieces so a huge body is never built whole. */
  const sendPadded = (ex: Exchange, text: string, padBytes: number): void => {
    const at = text.lastIndexOf(',"usage":');
    const head = Buffer.from(text.slice(0, at) + ',"sim_padding":"');
    const tail = Buffer.from('"' + text.slice(at));
    const res = ex.res;
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': head.length + padBytes + tail.length });
    res.write(head);
    let left = padBytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, PAD.length);
        left -= n;
        if (!res.write(n === PAD.length ? PAD : PAD.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end(tail);
    };
    pump();
  };

  const streamCompletion = (
    ex: Exchange,
    chat: boolean,
    model: string,
    body: Record<string, unknown>,
    ans: ReturnType<typeof answer>,
    includeUsage: boolean,
    intervalMs: number,
    dropAfter: number | null,
    stamp: boolean,
  ): void => {
    const created = Math.floor(Date.now() / 1000);
    const modelJson = JSON.stringify(model);
    const id = nextId(chat ? 'chatcmpl-' : 'cmpl-');
    // Per-chunk JSON is assembled from templates: JSON.stringify per chunk is the dominant cost at load.
    const usageNull = includeUsage ? ',"usage":null' : '';
    const events: string[] = [];
    if (chat) {
      const head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${modelJson},"system_fingerprint":"${FINGERPRINT}","choices":[{"index":0,"delta":`;
      events.push(head + '{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]' + usageNull);
      for (const p of ans.piecesJson) events.push(head + '{"content":' + p + '},"logprobs":null,"finish_reason":null}]' + usageNull);
      events.push(head + '{},"logprobs":null,"finish_reason":"stop"}]' + usageNull);
    } else {
      const head = `{"id":"${id}","object":"text_completion","created":${created},"model":${modelJson},"system_fingerprint":"${FINGERPRINT}","choices":[{"text":`;
      for (const p of ans.piecesJson) events.push(head + p + ',"index":0,"logprobs":null,"finish_reason":null}]' + usageNull);
      events.push(head + '"","index":0,"logprobs":null,"finish_reason":"stop"}]' + usageNull);
    }
    if (includeUsage) {
      const prompt = promptTokens(body);
      const completion = ans.pieces.length;
      const object = chat ? 'chat.completion.chunk' : 'text_completion';
      events.push(
        `{"id":"${id}","object":"${object}","created":${created},"model":${modelJson},"system_fingerprint":"${FINGERPRINT}","choices":[],` +
          `"usage":{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion}}`,
      );
    }
    ex.res.writeHead(200, SSE_HEADERS);
    // The role chunk (chat) or first token goes out with the headers; each token follows one interval later,
    // and the finish/usage chunks and [DONE] go together one interval after the last token.
    const tailFrom = events.length - (includeUsage ? 2 : 1);
    pumpStream(ex, { events, tailFrom, sse: true, stamp, intervalMs, dropAfter });
  };

  /** A Responses answer: the response object, or its event stream paced like the chat stream. */
  const responsesAnswer = (
    ex: Exchange,
    model: string,
    body: Record<string, unknown>,
    ans: ReturnType<typeof answer>,
    intervalMs: number,
    dropAfter: number | null,
  ): void => {
    const createdAt = Math.floor(Date.now() / 1000);
    const input = promptTokens({ messages: body['input'], prompt: body['instructions'] });
    const output = ans.pieces.length;
    const usage = { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
    const id = nextId('resp_');
    const itemId = nextId('msg_');
    const part = { type: 'output_text', annotations: [], logprobs: [], text: ans.text };
    const item = { id: itemId, type: 'message', status: 'completed', content: [part], role: 'assistant' };
    const response = (status: string, done: boolean): Record<string, unknown> => ({
      id,
      object: 'response',
      created_at: createdAt,
      status,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: typeof body['instructions'] === 'string' ? body['instructions'] : null,
      max_output_tokens: typeof body['max_output_tokens'] === 'number' ? body['max_output_tokens'] : null,
      metadata: body['metadata'] ?? {},
      model,
      output: done ? [item] : [],
      parallel_tool_calls: true,
      previous_response_id: typeof body['previous_response_id'] === 'string' ? body['previous_response_id'] : null,
      reasoning: { effort: null, summary: null },
      store: body['store'] !== false,
      temperature: 1,
      text: { format: { type: 'text' } },
      tool_choice: 'auto',
      tools: [],
      top_p: 1,
      truncation: 'disabled',
      usage: done ? usage : null,
      user: null,
    });
    if (body['stream'] !== true) {
      const text = JSON.stringify(response('completed', true));
      if (dropAfter !== null) return sendHalfAndDrop(ex, text, JSON_TYPE);
      return sendBody(ex.res, 200, JSON_TYPE, text);
    }
    let seq = 0;
    const event = (fields: Record<string, unknown>): string => {
      fields['sequence_number'] = seq++;
      return `event: ${String(fields['type'])}\ndata: ${JSON.stringify(fields)}\n\n`;
    };
    const at = { item_id: itemId, output_index: 0, content_index: 0 };
    // Groups written together: the opening events with the first token, each further token one interval later,
    // then the closing events together one interval after the last token.
    const groups: string[][] = [
      [
        event({ type: 'response.created', response: response('in_progress', false) }),
        event({ type: 'response.in_progress', response: response('in_progress', false) }),
        event({ type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', content: [] } }),
        event({ type: 'response.content_part.added', ...at, part: { ...part, text: '' } }),
      ],
    ];
    ans.pieces.forEach((delta, i) => {
      const text = event({ type: 'response.output_text.delta', ...at, delta, logprobs: [] });
      if (i === 0) groups[0]!.push(text);
      else groups.push([text]);
    });
    groups.push([
      event({ type: 'response.output_text.done', ...at, text: ans.text, logprobs: [] }),
      event({ type: 'response.content_part.done', ...at, part }),
      event({ type: 'response.output_item.done', output_index: 0, item }),
      event({ type: 'response.completed', response: response('completed', true) }),
    ]);
    const res = ex.res;
    res.writeHead(200, SSE_HEADERS);
    let group = 0;
    let sent = 0;
    const pump = (): void => {
      ex.timer = null;
      if (res.destroyed) return;
      while (group < groups.length) {
        for (const text of groups[group++]!) {
          if (sent++ === dropAfter) return drop(ex);
          res.write(text);
        }
        if (group < groups.length && intervalMs > 0) {
          ex.timer = setTimeout(pump, intervalMs);
          return;
        }
      }
      if (sent === dropAfter) return drop(ex);
      res.end();
    };
    pump();
  };

  const embeddings = (ex: Exchange, body: Record<string, unknown>, model: string, dropAfter: number | null): void => {
    const inputs = embeddingInputs(body['input']);
    if (inputs === null) {
      return sendBody(ex.res, 400, JSON_TYPE, errorBody("'input' is a required property", 'invalid_request_error', null, 'input'));
    }
    const format = body['encoding_format'];
    if (format !== undefined && format !== 'float' && format !== 'base64') {
      return sendBody(
        ex.res,
        400,
        JSON_TYPE,
        errorBody(`'${String(format)}' is not one of ['float', 'base64'] - 'encoding_format'`, 'invalid_request_error', null, 'encoding_format'),
      );
    }
    let chars = 0;
    const data = inputs.map((item, index) => {
      chars += typeof item === 'string' ? item.length : Array.isArray(item) ? item.length * 4 : 0;
      const v = embed(item);
      return { object: 'embedding', index, embedding: format === 'base64' ? embeddingBase64(v) : v };
    });
    const tokens = estimateTokens(chars);
    const text = JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
    if (dropAfter !== null) return sendHalfAndDrop(ex, text, JSON_TYPE);
    sendBody(ex.res, 200, JSON_TYPE, text);
  };

  const srv = await startSimServer(stats, handle, port ?? 0, host ?? '127.0.0.1');
  return { url: srv.url, port: srv.port, knobs, stats, close: srv.close };
}
