// Per-deployment request defaults from `litellm_params`, merged into requests as LiteLLM's router does: the
// deployment's params are the base and the request's own values win.

/** Sampling parameters a deployment may set for chat and completions requests that do not set them. */
const SAMPLING_PARAMS = [
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'presence_penalty',
  'frequency_penalty',
  'seed',
] as const;

/** Headers the gateway computes for each hop: never taken from extra_headers. */
const FRAMING_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'expect']);

/**
 * OpenAI parameters a provider's OpenAI-compatible endpoint refuses (a 400 or 422), dropped under `drop_params`.
 * Providers not listed take every OpenAI parameter (or ignore the ones they do not know).
 */
const UNSUPPORTED_PARAMS: Readonly<Record<string, readonly string[]>> = {
  groq: ['logprobs', 'top_logprobs', 'logit_bias'],
  cerebras: ['frequency_penalty', 'presence_penalty', 'logit_bias', 'service_tier', 'parallel_tool_calls'],
  mistral: ['logit_bias', 'logprobs', 'top_logprobs', 'user', 'service_tier', 'store'],
  perplexity: ['logit_bias', 'logprobs', 'top_logprobs', 'n', 'tools', 'tool_choice', 'parallel_tool_calls'],
  ollama: ['logit_bias', 'logprobs', 'top_logprobs', 'n'],
  ollama_chat: ['logit_bias', 'logprobs', 'top_logprobs', 'n'],
};

/** What `drop_params` drops for a provider prefix. */
export function unsupportedParams(provider: string): readonly string[] {
  return UNSUPPORTED_PARAMS[provider] ?? [];
}

export interface RequestDefaults {
  /** `litellm_params.drop_params`: this deployment's own choice; null = litellm_settings.drop_params decides. */
  readonly dropParams: boolean | null;
  /** `litellm_params.additional_drop_params`: parameters always removed before the request goes to it. */
  readonly alwaysDrop: readonly string[];
  /** Chat and completions: body fields added when the request lacks them (sampling params, then extra_body). */
  readonly generation: Readonly<Record<string, unknown>>;
  /** Embeddings: `extra_body`'s fields, added when the request lacks them. */
  readonly other: Readonly<Record<string, unknown>>;
  /** `extra_headers`, lower-cased names: sent upstream in place of a client header of the same name. */
  readonly headers: ReadonlyMap<string, string>;
}

/** The defaults of one deployment's `litellm_params`; null when it sets none (its requests go through untouched). */
export function requestDefaultsOf(params: Readonly<Record<string, unknown>>): RequestDefaults | null {
  const extraBody = isObject(params['extra_body']) ? params['extra_body'] : {};
  const generation: Record<string, unknown> = {};
  for (const name of SAMPLING_PARAMS) if (params[name] !== undefined && params[name] !== null) generation[name] = params[name];
  // extra_body is sent as written; a sampling param in litellm_params and in extra_body: litellm_params' wins.
  for (const [name, value] of Object.entries(extraBody)) if (!(name in generation)) generation[name] = value;
  const headers = new Map<string, string>();
  if (isObject(params['extra_headers'])) {
    for (const [name, value] of Object.entries(params['extra_headers'])) {
      const lower = name.toLowerCase();
      if (typeof value === 'string' && !FRAMING_HEADERS.has(lower)) headers.set(lower, value);
    }
  }
  const dropParams = typeof params['drop_params'] === 'boolean' ? params['drop_params'] : null;
  const additional = params['additional_drop_params'];
  const alwaysDrop = Array.isArray(additional) ? additional.filter((name): name is string => typeof name === 'string') : [];
  if (Object.keys(generation).length === 0 && headers.size === 0 && dropParams === null && alwaysDrop.length === 0) return null;
  return { dropParams, alwaysDrop, generation, other: extraBody, headers };
}

/**
 * The body without the parameters the deployment must not get: `additional_drop_params` always, and with
 * `drop_params` (the deployment's, else litellm_settings'), those its provider refuses. Null when none is present.
 */
export function withoutDropped(
  body: Readonly<Record<string, unknown>>,
  provider: string,
  defaults: RequestDefaults | null,
  dropParams: boolean,
  endpoint: string,
): Record<string, unknown> | null {
  // The hot path: nothing to drop for most deployments, and no allocation to find that out.
  if (defaults === null && !dropParams) return null;
  if (endpoint !== 'chat' && endpoint !== 'completions') return null;
  const byProvider = (defaults?.dropParams ?? dropParams) ? unsupportedParams(provider) : [];
  let out: Record<string, unknown> | null = null;
  for (const list of [byProvider, defaults?.alwaysDrop ?? []]) {
    for (const name of list) {
      if (body[name] === undefined) continue;
      out ??= { ...body };
      delete out[name];
    }
  }
  return out;
}

/**
 * The body for a deployment with defaults: a copy of `body` with each default the request lacks, or null when the
 * request already sets them all (its bytes can go as they are).
 */
export function withDefaults(body: Readonly<Record<string, unknown>>, defaults: RequestDefaults, endpoint: string): Record<string, unknown> | null {
  // Only JSON bodies Sluice parses whole get fields: chat and completions all of them, embeddings extra_body's.
  const fields = endpoint === 'chat' || endpoint === 'completions' ? defaults.generation : endpoint === 'embeddings' ? defaults.other : null;
  if (fields === null) return null;
  let out: Record<string, unknown> | null = null;
  for (const name in fields) {
    if (body[name] !== undefined) continue;
    out ??= { ...body };
    out[name] = fields[name];
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
