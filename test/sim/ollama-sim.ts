// A stand-in for a local Ollama server: its native API (/api/*, NDJSON streams) and its OpenAI-compatible
// layer (/v1/*), with the quirks of the latter (short numeric ids, "fp_ollama", role on every delta, no
// usage:null, no logprobs).

import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  after,
  answerCache,
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

export interface OllamaKnobs {
  delayMs: number;
  chunkIntervalMs: number;
  tokens: number;
  /** Answer text, split on spaces into tokens; null gives "tok0 tok1 ...". */
  text: string | null;
  /** When set, every POST answers this status with Ollama's error body (native) or OpenAI's (/v1). */
  status: number | null;
  /** Native streams: cut the socket after N lines (no done line); JSON: cut after half the body. */
  dropAfterLines: number | null;
  /** Native streams: write N lines, then wait for `release()` (held streams count in `held`). */
  holdAfterLines: number | null;
  /** Keep the bytes of each native answer in `lastAnswer`, for byte-exact pass-through checks. */
  record: boolean;
}

export interface OllamaSimOptions {
  port?: number;
  host?: string;
  /** Installed models (as /api/tags lists them); a name without a tag means ":latest". */
  models?: string[];
  /** Models reported by /api/ps as loaded in memory. */
  loaded?: string[];
  delayMs?: number;
  chunkIntervalMs?: number;
  tokens?: number;
  text?: string | null;
  record?: boolean;
}

export interface OllamaSim {
  url: string;
  port: number;
  /** Mutable: tests add or remove installed models between requests. */
  models: string[];
  /** Mutable: not updated by requests, so what /api/ps shows is what the test set. */
  loaded: string[];
  /** Mutable: read at the start of each request. */
  knobs: OllamaKnobs;
  stats: SimStats;
  /** The bytes of the last native answer, as written (with `knobs.record`). */
  lastAnswer: string;
  /** Native streams waiting for `release()`. */
  readonly held: number;
  /** Lets each held stream write `lines` more lines (all by default), then hold again or end. */
  release(lines?: number): void;
  close(): Promise<void>;
}

export const OLLAMA_VERSION = '0.12.6';
const JSON_TYPE = 'application/json; charset=utf-8';
const NDJSON_HEADERS = { 'content-type': 'application/x-ndjson' } as const;
const SSE_HEADERS = { 'content-type': 'text/event-stream' } as const;
const TEXT_TYPE = 'text/plain; charset=utf-8';
const FAKE_SIZE = 2_019_393_189;

function withTag(name: string): string {
  const slash = name.lastIndexOf('/');
  return name.indexOf(':', slash + 1) < 0 ? name + ':latest' : name;
}

function family(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1).split(':')[0]!;
  const m = /^[a-z]+/i.exec(base);
  return m !== null ? m[0].toLowerCase() : 'llama';
}

function digestOf(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

function details(name: string): Record<string, unknown> {
  const fam = family(name);
  return { parent_model: '', format: 'gguf', family: fam, families: [fam], parameter_size: '3.2B', quantization_level: 'Q4_K_M' };
}

function nativeError(message: string): string {
  return JSON.stringify({ error: message });
}

/** Ollama's OpenAI layer picks the type from the status alone. */
function openaiError(status: number, message: string): string {
  const type = status === 400 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'api_error';
  return JSON.stringify({ error: { message, type, param: null, code: null } });
}

function notFoundMessage(model: string): string {
  return `model "${model}" not found, try pulling it first`;
}

export async function startOllamaSim(options: OllamaSimOptions = {}): Promise<OllamaSim> {
  const stats = createStats();
  const answer = answerCache();
  const bootMs = Date.now();
  const modifiedAt = new Date(bootMs - 86_400_000).toISOString();
  const sim: OllamaSim = {
    url: '',
    port: 0,
    models: [...(options.models ?? ['llama3.2:latest', 'nomic-embed-text:latest'])],
    loaded: [...(options.loaded ?? [])],
    knobs: {
      delayMs: options.delayMs ?? 0,
      chunkIntervalMs: options.chunkIntervalMs ?? 0,
      tokens: options.tokens ?? 5,
      text: options.text ?? null,
      status: null,
      dropAfterLines: null,
      holdAfterLines: null,
      record: options.record ?? false,
    },
    stats,
    lastAnswer: '',
    get held() {
      return waiting.size;
    },
    release(lines = Infinity) {
      for (const more of [...waiting]) more(lines);
    },
    close: () => Promise.resolve(),
  };
  /** Held streams, each as the function that lets it write more lines. */
  const waiting = new Set<(lines: number) => void>();

  const installed = (model: string): boolean => {
    const tagged = withTag(model);
    for (const m of sim.models) if (withTag(m) === tagged) return true;
    return false;
  };

  const tagEntry = (name: string): Record<string, unknown> => {
    const tagged = withTag(name);
    return { name: tagged, model: tagged, modified_at: modifiedAt, size: FAKE_SIZE, digest: digestOf(tagged), details: details(tagged) };
  };

  const handle = (ex: Exchange): void => {
    const { delayMs, chunkIntervalMs, tokens, status, dropAfterLines, holdAfterLines, record } = sim.knobs;
    const ans = answer(sim.knobs.text, tokens);
    const started = process.hrtime.bigint();
    after(ex, delayMs, () => {
      const res = ex.res;
      const method = ex.req.method;
      const path = ex.path;
      if (method === 'GET' || method === 'HEAD') {
        switch (path) {
          case '/':
            return sendBody(res, 200, TEXT_TYPE, 'Ollama is running');
          case '/api/version':
            return sendBody(res, 200, JSON_TYPE, JSON.stringify({ version: OLLAMA_VERSION }));
          case '/api/tags':
            return sendBody(res, 200, JSON_TYPE, JSON.stringify({ models: sim.models.map(tagEntry) }));
          case '/api/ps': {
            const expiresAt = new Date(Date.now() + 300_000).toISOString();
            const models = sim.loaded.map((name) => ({ ...tagEntry(name), expires_at: expiresAt, size_vram: FAKE_SIZE, context_length: 4096 }));
            return sendBody(res, 200, JSON_TYPE, JSON.stringify({ models }));
          }
          case '/v1/models': {
            const data = sim.models.map((name) => {
              const tagged = withTag(name);
              const slash = tagged.indexOf('/');
              return { id: tagged, object: 'model', created: Math.floor(bootMs / 1000), owned_by: slash < 0 ? 'library' : tagged.slice(0, slash) };
            });
            return sendBody(res, 200, JSON_TYPE, JSON.stringify({ object: 'list', data }));
          }
        }
      } else if (method === 'POST') {
        const native = path === '/api/chat' || path === '/api/generate' || path === '/api/embed' || path === '/api/embeddings';
        const compat = path === '/v1/chat/completions' || path === '/v1/completions' || path === '/v1/embeddings';
        if (native || compat) {
          const fail = (status: number, message: string): void =>
            sendBody(res, status, JSON_TYPE, native ? nativeError(message) : openaiError(status, message));
          if (native && record) recordAnswer(ex);
          if (status !== null) return fail(status, `simulated error ${status}`);
          const body = parseObject(ex.body);
          if (body === null) return fail(400, 'invalid character in request body: not a JSON object');
          const model = body['model'];
          if (typeof model !== 'string' || model === '') return fail(400, 'model is required');
          if (!installed(model)) return fail(404, notFoundMessage(model));
          switch (path) {
            case '/api/chat':
            case '/api/generate':
              return nativeGenerate(ex, path === '/api/chat', model, body, ans, { intervalMs: chunkIntervalMs, dropAfter: dropAfterLines, holdAfter: holdAfterLines }, started);
            case '/api/embed':
              return nativeEmbed(ex, model, body, started);
            case '/api/embeddings':
              return legacyEmbed(ex, body);
            case '/v1/embeddings':
              return compatEmbed(ex, model, body);
            default:
              return compatCompletion(ex, path === '/v1/chat/completions', model, body, ans, chunkIntervalMs);
          }
        }
      }
      // Ollama's router (gin) answers unknown routes in plain text.
      sendBody(res, 404, TEXT_TYPE, '404 page not found');
    });
  };

  const durations = (started: bigint, prompt: number, evalCount: number): Record<string, number> => {
    // Never zero, so clients computing tokens per second from these do not divide by zero.
    const total = Math.max(Number(process.hrtime.bigint() - started), 1000);
    const load = Math.floor(total / 10);
    const promptEval = Math.floor(total / 5);
    return {
      total_duration: total,
      load_duration: load,
      prompt_eval_count: prompt,
      prompt_eval_duration: promptEval,
      eval_count: evalCount,
      eval_duration: total - load - promptEval,
    };
  };

  const nativeGenerate = (
    ex: Exchange,
    chat: boolean,
    model: string,
    body: Record<string, unknown>,
    ans: ReturnType<typeof answer>,
    pacing: { intervalMs: number; dropAfter: number | null; holdAfter: number | null },
    started: bigint,
  ): void => {
    const stream = body['stream'] !== false; // the native API streams unless told not to
    const modelJson = JSON.stringify(model);
    const prompt = promptTokens(body);
    // An empty prompt only loads the model, and Ollama says so instead of generating.
    const loadOnly = chat ? !Array.isArray(body['messages']) || body['messages'].length === 0 : typeof body['prompt'] !== 'string' || body['prompt'] === '';
    const pieces = loadOnly ? [] : ans.pieces;
    const final = (content: string): Record<string, unknown> => {
      const out: Record<string, unknown> = { model, created_at: new Date().toISOString() };
      if (chat) out['message'] = { role: 'assistant', content };
      else out['response'] = content;
      out['done'] = true;
      out['done_reason'] = loadOnly ? 'load' : 'stop';
      if (!loadOnly) {
        if (!chat) out['context'] = [1, 2, 3];
        Object.assign(out, durations(started, prompt, pieces.length));
      }
      return out;
    };
    if (!stream || loadOnly) {
      const text = JSON.stringify(final(loadOnly ? '' : ans.text));
      return pacing.dropAfter !== null ? sendHalfAndDrop(ex, text, JSON_TYPE) : sendBody(ex.res, 200, JSON_TYPE, text);
    }
    const events: (string | (() => string))[] = [];
    const createdAt = new Date().toISOString();
    for (const p of ans.piecesJson) {
      events.push(
        chat
          ? `{"model":${modelJson},"created_at":"${createdAt}","message":{"role":"assistant","content":${p}},"done":false`
          : `{"model":${modelJson},"created_at":"${createdAt}","response":${p},"done":false`,
      );
    }
    // The final line carries the timings, so it is rendered when it is sent.
    events.push(() => JSON.stringify(final('')).slice(0, -1));
    ex.res.writeHead(200, NDJSON_HEADERS);
    if (pacing.holdAfter !== null) return heldStream(ex, events, pacing.holdAfter);
    pumpStream(ex, { events, tailFrom: events.length - 1, sse: false, stamp: false, intervalMs: pacing.intervalMs, dropAfter: pacing.dropAfter });
  };

  /** Writes `holdAfter` lines, then waits in `waiting` until released; ends after the last line. */
  const heldStream = (ex: Exchange, events: (string | (() => string))[], holdAfter: number): void => {
    const res = ex.res;
    let next = 0;
    let allowed = holdAfter;
    const more = (lines: number): void => {
      waiting.delete(more);
      allowed += lines;
      pump();
    };
    const pump = (): void => {
      while (next < events.length && allowed > 0) {
        if (res.destroyed) return;
        const event = events[next++]!;
        allowed--;
        res.write((typeof event === 'string' ? event : event()) + '}\n');
      }
      if (next < events.length) waiting.add(more);
      else res.end();
    };
    res.on('close', () => waiting.delete(more));
    pump();
  };

  /** Keeps what the exchange writes in `sim.lastAnswer`. */
  const recordAnswer = (ex: Exchange): void => {
    const res = ex.res;
    const write = res.write.bind(res) as (chunk: string | Buffer) => boolean;
    const end = res.end.bind(res) as (chunk?: string | Buffer) => ServerResponse;
    sim.lastAnswer = '';
    res.write = ((chunk: string | Buffer) => {
      sim.lastAnswer += String(chunk);
      return write(chunk);
    }) as typeof res.write;
    res.end = ((chunk?: string | Buffer) => {
      if (chunk !== undefined && typeof chunk !== 'function') sim.lastAnswer += String(chunk);
      return end(chunk);
    }) as typeof res.end;
  };

  /** The legacy /api/embeddings: one `prompt`, one `embedding`. */
  const legacyEmbed = (ex: Exchange, body: Record<string, unknown>): void => {
    const prompt = body['prompt'];
    if (typeof prompt !== 'string') return sendBody(ex.res, 400, JSON_TYPE, nativeError('prompt is required'));
    sendBody(ex.res, 200, JSON_TYPE, JSON.stringify({ embedding: prompt === '' ? [] : embed(prompt) }));
  };

  const nativeEmbed = (ex: Exchange, model: string, body: Record<string, unknown>, started: bigint): void => {
    const inputs = embeddingInputs(body['input']);
    if (inputs === null) return sendBody(ex.res, 400, JSON_TYPE, nativeError('invalid input type'));
    let chars = 0;
    const embeddings = inputs.map((item) => {
      chars += typeof item === 'string' ? item.length : 0;
      return embed(item);
    });
    const total = Number(process.hrtime.bigint() - started);
    const out = { model, embeddings, total_duration: total, load_duration: Math.floor(total / 10), prompt_eval_count: estimateTokens(chars) };
    sendBody(ex.res, 200, JSON_TYPE, JSON.stringify(out));
  };

  const compatEmbed = (ex: Exchange, model: string, body: Record<string, unknown>): void => {
    const inputs = embeddingInputs(body['input']);
    if (inputs === null) return sendBody(ex.res, 400, JSON_TYPE, openaiError(400, 'invalid input'));
    const base64 = body['encoding_format'] === 'base64';
    let chars = 0;
    const data = inputs.map((item, index) => {
      chars += typeof item === 'string' ? item.length : 0;
      const v = embed(item);
      return { object: 'embedding', embedding: base64 ? embeddingBase64(v) : v, index };
    });
    const tokens = estimateTokens(chars);
    sendBody(ex.res, 200, JSON_TYPE, JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
  };

  const compatCompletion = (
    ex: Exchange,
    chat: boolean,
    model: string,
    body: Record<string, unknown>,
    ans: ReturnType<typeof answer>,
    intervalMs: number,
  ): void => {
    // Ollama draws ids from a tiny random range, so they repeat; tests must not rely on them being unique.
    const id = (chat ? 'chatcmpl-' : 'cmpl-') + Math.floor(Math.random() * 999);
    const created = Math.floor(Date.now() / 1000);
    const prompt = promptTokens(body);
    const completion = ans.pieces.length;
    const usageJson = `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion}}`;
    if (body['stream'] !== true) {
      const choice = chat
        ? `{"index":0,"message":{"role":"assistant","content":${JSON.stringify(ans.text)}},"finish_reason":"stop"}`
        : `{"text":${JSON.stringify(ans.text)},"index":0,"finish_reason":"stop"}`;
      const object = chat ? 'chat.completion' : 'text_completion';
      const text = `{"id":"${id}","object":"${object}","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_ollama","choices":[${choice}],"usage":${usageJson}}`;
      return sendBody(ex.res, 200, JSON_TYPE, text);
    }
    const includeUsage = (body['stream_options'] as { include_usage?: unknown } | null | undefined)?.include_usage === true;
    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    const head = `{"id":"${id}","object":"${object}","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_ollama","choices":[`;
    const events: string[] = [];
    for (const p of ans.piecesJson) {
      events.push(head + (chat ? `{"index":0,"delta":{"role":"assistant","content":${p}},"finish_reason":null}]` : `{"text":${p},"index":0,"finish_reason":null}]`));
    }
    events.push(head + (chat ? '{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]' : '{"text":"","index":0,"finish_reason":"stop"}]'));
    if (includeUsage) events.push(head + '],"usage":' + usageJson);
    ex.res.writeHead(200, SSE_HEADERS);
    const tailFrom = events.length - (includeUsage ? 2 : 1);
    pumpStream(ex, { events, tailFrom, sse: true, stamp: false, intervalMs, dropAfter: null });
  };

  const srv = await startSimServer(stats, handle, options.port ?? 0, options.host ?? '127.0.0.1');
  sim.url = srv.url;
  sim.port = srv.port;
  sim.close = srv.close;
  return sim;
}
