// The cache key, by LiteLLM's rule: every request parameter that can change the answer, with `model` replaced by
// the model group, in one canonical serialization, hashed with SHA-256. Who asks (`user`, `metadata`) and the
// cache controls themselves stay out, so two callers asking the same thing share an entry.

import { createHash } from 'node:crypto';

/** Body fields that never change the answer: identity, bookkeeping, the gateway's and LiteLLM's own controls. */
export const KEY_EXCLUDED: ReadonlySet<string> = new Set([
  'model',
  'stream',
  'user',
  'metadata',
  'cache',
  'safety_identifier',
  'prompt_cache_key',
  'litellm_metadata',
  'tags',
  'timeout',
  'num_retries',
  'fallbacks',
]);

/** What a key is computed from besides the body. */
export interface KeyInput {
  /** `chat`, `completions` or `embeddings`: the same body on two endpoints is two questions. */
  readonly endpoint: string;
  /** The model group serving the request (aliases resolved), not the name the client wrote. */
  readonly group: string;
  /** A streamed answer and a JSON one are stored apart: their bytes differ. */
  readonly stream: boolean;
  readonly body: Readonly<Record<string, unknown>>;
  /** Entries under a namespace are kept apart from the rest; null: none. */
  readonly namespace: string | null;
}

/** The key an entry is stored under: `<sha256 hex>`, or `<namespace>:<sha256 hex>`. */
export function cacheKey(input: KeyInput): string {
  const hash = createHash('sha256').update(canonicalRequest(input)).digest('hex');
  return input.namespace === null ? hash : `${input.namespace}:${hash}`;
}

/** The canonical text hashed for a key; exported for tests. */
export function canonicalRequest(input: KeyInput): string {
  let out = `${input.endpoint}\n${input.stream ? 'sse' : 'json'}\n${JSON.stringify(input.group)}\n{`;
  const names = Object.keys(input.body).sort();
  let first = true;
  for (const name of names) {
    if (KEY_EXCLUDED.has(name)) continue;
    // Stream options shape only a stream's bytes.
    if (name === 'stream_options' && !input.stream) continue;
    const value = input.body[name];
    if (value === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(name) + ':' + canonicalJson(value);
    first = false;
  }
  return out + '}';
}

/** JSON with object keys sorted at every depth, so key order in the client's body does not matter. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  const names = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const name of names) {
    const item = record[name];
    if (item === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(name) + ':' + canonicalJson(item);
    first = false;
  }
  return out + '}';
}
