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

export interface RequestDefaults {
  /** Chat and completions: body fields added when the request lacks them (sampling params, then extra_body). */
  readonly generation: Readonly<Record<string, unknown>>;
  /** Every other endpoint: `extra_body`'s fields, added when the request lacks them. */
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
  if (Object.keys(generation).length === 0 && headers.size === 0) return null;
  return { generation, other: extraBody, headers };
}

/**
 * The body for a deployment with defaults: a copy of `body` with each default the request lacks, or null when the
 * request already sets them all (its bytes can go as they are).
 */
export function withDefaults(body: Readonly<Record<string, unknown>>, defaults: RequestDefaults, endpoint: string): Record<string, unknown> | null {
  const fields = endpoint === 'chat' || endpoint === 'completions' ? defaults.generation : defaults.other;
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
