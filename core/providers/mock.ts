// The `mock/` provider: answers chat, completions and embeddings in OpenAI's exact wire format, without a network.
//
// It implements undici's dispatch contract, so a mock deployment flows through the same attempt, taps and
// plugins as a real one; the example config and the benchmarks use it to measure the proxy alone.

import { createHash, randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header.js';
import type { MockSettings } from '../config/models.ts';
import { estimateTextTokens } from './openai.ts';

const DEFAULT_SETTINGS: MockSettings = { text: 'This is a mock response from Sluice.', tokens: 0, tokenIntervalMs: 0, dimensions: 8 };

class MockController implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  onResume: (() => void) | null = null;
  timer: NodeJS.Timeout | null = null;

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    if (this.timer !== null) clearTimeout(this.timer);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    const next = this.onResume;
    this.onResume = null;
    next?.();
  }
}

/** One per mock deployment; settings come from its `litellm_params` (`mock_response`, `mock_tokens`, ...). */
export class MockDispatcher {
  readonly #settings: MockSettings;
  readonly #words: readonly string[];

  constructor(settings: MockSettings | null = null) {
    this.#settings = settings ?? DEFAULT_SETTINGS;
    // Each word keeps the whitespace after it, so newlines (code blocks, lists) come through as written.
    const words = this.#settings.text.trim().match(/\S+\s*/g) ?? [""];
    const n = this.#settings.tokens > 0 ? this.#settings.tokens : words.length;
    this.#words = Array.from({ length: n }, (_, i) => {
      const word = words[i % words.length]!;
      return i === n - 1 ? word.trimEnd() : /\s$/.test(word) ? word : `${word} `;
    });
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const controller = new MockController();
    // Callbacks never run inside dispatch(), as with a real socket.
    setImmediate(() => {
      if (controller.aborted) return handler.onResponseError?.(controller, controller.reason as Error);
      handler.onRequestStart?.(controller, {});
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.isBuffer(options.body) ? options.body.toString('utf8') : String(options.body ?? '{}')) as Record<string, unknown>;
      } catch {
        return this.#json(controller, handler, 400, { error: { message: 'Invalid JSON', type: 'invalid_request_error', param: null, code: null } });
      }
      const path = options.path;
      if (path.endsWith('/embeddings')) return this.#json(controller, handler, 200, this.#embeddings(body));
      const chat = path.endsWith('/chat/completions');
      if (!chat && !path.endsWith('/completions')) {
        return this.#json(controller, handler, 404, { error: { message: `Unknown path ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
      }
      if (body['stream'] === true) return this.#stream(controller, handler, body, chat);
      return this.#json(controller, handler, 200, this.#completion(body, chat));
    });
    return true;
  }

  #json(controller: MockController, handler: Dispatcher.DispatchHandler, status: number, payload: unknown): void {
    const bytes = Buffer.from(JSON.stringify(payload));
    const headers: IncomingHttpHeaders = { 'content-type': 'application/json', 'content-length': String(bytes.length) };
    handler.onResponseStart?.(controller, status, headers, '');
    if (controller.aborted) return handler.onResponseError?.(controller, controller.reason as Error);
    handler.onResponseData?.(controller, bytes);
    if (controller.aborted) return handler.onResponseError?.(controller, controller.reason as Error);
    handler.onResponseEnd?.(controller, {});
  }

  #completion(body: Record<string, unknown>, chat: boolean): Record<string, unknown> {
    const text = this.#words.join('');
    const usage = this.#usage(body);
    const base = { id: newId(chat), object: chat ? 'chat.completion' : 'text_completion', created: now(), model: String(body['model']) };
    if (chat) {
      return { ...base, choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }], usage };
    }
    return { ...base, choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }], usage };
  }

  #stream(controller: MockController, handler: Dispatcher.DispatchHandler, body: Record<string, unknown>, chat: boolean): void {
    handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream; charset=utf-8' }, '');
    const id = newId(chat);
    const created = now();
    const model = String(body['model']);
    const includeUsage = (body['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage === true;
    const usageField = includeUsage ? ',"usage":null' : '';
    const head = chat
      ? `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":[{"index":0,`
      : `{"id":"${id}","object":"text_completion","created":${created},"model":${JSON.stringify(model)},"choices":[{"index":0,`;
    const events: string[] = [];
    if (chat) events.push(`data: ${head}"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${usageField}}\n\n`);
    for (const word of this.#words) {
      const piece = chat ? `"delta":{"content":${JSON.stringify(word)}}` : `"text":${JSON.stringify(word)}`;
      events.push(`data: ${head}${piece},"logprobs":null,"finish_reason":null}]${usageField}}\n\n`);
    }
    events.push(`data: ${head}${chat ? '"delta":{}' : '"text":""'},"logprobs":null,"finish_reason":"stop"}]${usageField}}\n\n`);
    if (includeUsage) {
      const object = chat ? 'chat.completion.chunk' : 'text_completion';
      events.push(`data: {"id":"${id}","object":"${object}","created":${created},"model":${JSON.stringify(model)},"choices":[],"usage":${JSON.stringify(this.#usage(body))}}\n\n`);
    }
    events.push('data: [DONE]\n\n');

    const interval = this.#settings.tokenIntervalMs;
    let next = 0;
    const send = (): void => {
      controller.timer = null;
      while (next < events.length) {
        if (controller.aborted) return handler.onResponseError?.(controller, controller.reason as Error);
        if (controller.paused) {
          controller.onResume = send;
          return;
        }
        handler.onResponseData?.(controller, Buffer.from(events[next++]!));
        if (interval > 0 && next < events.length) {
          controller.timer = setTimeout(send, interval);
          return;
        }
      }
      if (controller.aborted) return handler.onResponseError?.(controller, controller.reason as Error);
      handler.onResponseEnd?.(controller, {});
    };
    send();
  }

  #embeddings(body: Record<string, unknown>): Record<string, unknown> {
    const input = body['input'];
    const inputs = Array.isArray(input) ? input : [input];
    const data = inputs.map((item, index) => ({ object: 'embedding', index, embedding: vectorFor(JSON.stringify(item), this.#settings.dimensions) }));
    const prompt = inputs.reduce<number>((sum, item) => sum + estimateTextTokens(JSON.stringify(item)), 0);
    return { object: 'list', data, model: String(body['model']), usage: { prompt_tokens: prompt, total_tokens: prompt } };
  }

  #usage(body: Record<string, unknown>): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
    const prompt = estimateTextTokens(JSON.stringify(body['messages'] ?? body['prompt'] ?? ''));
    const completion = this.#words.length;
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }
}

function newId(chat: boolean): string {
  return (chat ? 'chatcmpl-mock-' : 'cmpl-mock-') + randomBytes(9).toString('base64url');
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** A unit vector derived from the text, so equal inputs embed equally. */
function vectorFor(text: string, dimensions: number): number[] {
  const digest = createHash('sha256').update(text).digest();
  const values = Array.from({ length: dimensions }, (_, i) => digest[i % digest.length]! / 255 - 0.5);
  const norm = Math.hypot(...values) || 1;
  return values.map((v) => Number((v / norm).toFixed(6)));
}
