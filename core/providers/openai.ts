// OpenAI's wire facts, in one place: the routes clients call, the upstream paths, `usage` in bodies and stream
// events, how an error status is classified, the context-window error, and the token estimate for decisions made
// before a backend has counted anything. Every OpenAI-compatible backend (vLLM, Ollama's /v1, hosted APIs) and
// the mock provider speak it; a second wire family (Ollama NDJSON, Anthropic Messages) is a sibling file.

import type { Endpoint } from '../config/models.ts';
import type { ErrorClass } from '../config/router-settings.ts';
import type { Usage } from '../plugin/context.ts';

/** The POST routes clients call, by path. */
export const OPENAI_ROUTES: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([
  ['/v1/chat/completions', 'chat'],
  ['/chat/completions', 'chat'],
  ['/v1/completions', 'completions'],
  ['/completions', 'completions'],
  ['/v1/embeddings', 'embeddings'],
  ['/embeddings', 'embeddings'],
]);

/** The path under a deployment's base path (`…/v1`) that serves an endpoint. */
export const UPSTREAM_PATH: Readonly<Record<Endpoint, string>> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

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
