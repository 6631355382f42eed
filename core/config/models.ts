// Model groups and deployments: LiteLLM's `model_list` turned into what the request path looks up.

import { createHash } from 'node:crypto';
import { upstreamTlsFor, type UpstreamTls } from './tls-files.ts';
import { requestDefaultsOf, type RequestDefaults } from './request-defaults.ts';

/**
 * The endpoints Sluice proxies: OpenAI's chat, completions and embeddings, and the other routes with a `model` field
 * that OpenAI and vLLM serve (rerank, score, moderations, image generation, speech, tokenize, detokenize).
 */
export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'rerank' | 'score' | 'moderations' | 'images' | 'speech' | 'tokenize' | 'detokenize';

/** How a deployment is reached. `openai` covers every OpenAI-compatible server (vLLM, Ollama's /v1, ...). */
export type ProviderKind = 'openai' | 'anthropic' | 'mock';

export interface MockSettings {
  /** Answer text; streamed word by word. */
  readonly text: string;
  /** Number of tokens (words) to stream; the text repeats or is cut to this length. */
  readonly tokens: number;
  /** Gap between streamed tokens, ms. */
  readonly tokenIntervalMs: number;
  /** Embedding vector length. */
  readonly dimensions: number;
}

/** One backend serving a model group (an entry of `model_list`). Read-only after load. */
export interface Deployment {
  /** `model_info.id`, or a stable hash of the entry without its secrets. */
  readonly id: string;
  /** The model group (`model_name`) clients ask for. */
  readonly group: string;
  /** The provider prefix as written (`openai`, `hosted_vllm`, `ollama_chat`, `mock`...). */
  readonly provider: string;
  readonly kind: ProviderKind;
  /** The model name sent upstream (`litellm_params.model` without its provider prefix). */
  readonly upstreamModel: string;
  /** Origin of the backend, e.g. `http://127.0.0.1:11434`; empty for mock. */
  readonly origin: string;
  /** Path prefix up to and including `/v1`, e.g. `/v1` or `/openai/v1`. */
  readonly basePath: string;
  /** Safe to show: origin + base path, never credentials. */
  readonly apiBase: string;
  /** TLS settings for an https:// origin (`ssl_verify`, `tls_ca`); null = verify against Node's CA store. */
  readonly upstreamTls: UpstreamTls | null;
  readonly apiKey: string | null;
  /** Every credential of this entry (api_key, extra_headers values, the api_base password...), masked in error bodies. */
  readonly secrets: readonly string[];
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly weight: number;
  /** Priority tier (`litellm_params.order`): tier 2 is used only when tier 1 has no available deployment. */
  readonly order: number;
  readonly maxParallelRequests: number | null;
  /** Total time for a non-streaming call, ms (`litellm_params.timeout`). */
  readonly timeoutMs: number | null;
  /** Time to first byte for a streaming call, ms (`litellm_params.stream_timeout`). */
  readonly streamTimeoutMs: number | null;
  /** `litellm_params` defaults merged into requests (temperature, max_tokens, stop, extra_body, extra_headers...). */
  readonly requestDefaults: RequestDefaults | null;
  readonly mock: MockSettings | null;
  /** `model_info` as written. */
  readonly info: Readonly<Record<string, unknown>>;
  /** `litellm_params` for /model/info: without `api_key`, every other secret masked (`redactSecrets`). */
  readonly publicParams: Readonly<Record<string, unknown>>;
}

export interface ModelGroup {
  readonly name: string;
  readonly deployments: readonly Deployment[];
}

/** `litellm_params` as it appears in config (after validation). */
export interface LitellmParams {
  model: string;
  api_base?: string;
  api_key?: string;
  rpm?: number;
  tpm?: number;
  weight?: number;
  order?: number;
  timeout?: number;
  stream_timeout?: number;
  max_parallel_requests?: number;
  mock_response?: string;
  mock_tokens?: number;
  mock_token_interval_ms?: number;
  mock_dimensions?: number;
  /** LiteLLM's: false, or the path of a CA bundle. */
  ssl_verify?: boolean | string;
  /** Path of a CA bundle for an https:// api_base. */
  tls_ca?: string;
  [key: string]: unknown;
}

export interface ModelListEntry {
  model_name: string;
  litellm_params: LitellmParams;
  model_info?: Record<string, unknown>;
  [key: string]: unknown;
}

const OPENAI_COMPATIBLE = new Set([
  'openai',
  'hosted_vllm',
  'vllm',
  'ollama',
  'ollama_chat',
  'openai_like',
  'custom_openai',
  'text-completion-openai',
  'lm_studio',
  'llamafile',
]);

const DEFAULT_API_BASE: Readonly<Record<string, string>> = {
  openai: 'https://api.openai.com',
  'text-completion-openai': 'https://api.openai.com',
  ollama: 'http://localhost:11434',
  ollama_chat: 'http://localhost:11434',
  lm_studio: 'http://localhost:1234',
  llamafile: 'http://localhost:8080',
  anthropic: 'https://api.anthropic.com',
};

export interface BuildResult {
  readonly groups: ReadonlyMap<string, ModelGroup>;
  /** Ollama servers whose models are discovered at run time (`model: ollama/*` or `models: auto`). */
  readonly discovery: readonly Deployment[];
  readonly errors: string[];
  readonly warnings: string[];
}

/** Builds the model groups from `model_list`. Unsupported providers are skipped with a warning. */
export function buildModelGroups(entries: readonly ModelListEntry[]): BuildResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const byGroup = new Map<string, Deployment[]>();
  const discovery: Deployment[] = [];
  const seenIds = new Map<string, number>();

  entries.forEach((entry, index) => {
    const where = `model_list[${index}] (${entry.model_name})`;
    const params = entry.litellm_params;
    const slash = params.model.indexOf('/');
    // LiteLLM treats a bare model name as OpenAI's.
    const provider = slash === -1 ? 'openai' : params.model.slice(0, slash);
    const upstreamModel = slash === -1 ? params.model : params.model.slice(slash + 1);
    if (provider !== 'mock' && provider !== 'anthropic' && !OPENAI_COMPATIBLE.has(provider)) {
      warnings.push(`${where}: provider "${provider}/" is not supported yet; this deployment is skipped`);
      return;
    }
    let origin = '';
    let basePath = '';
    let upstreamTls: UpstreamTls | null = null;
    if (provider !== 'mock') {
      const base = params.api_base ?? DEFAULT_API_BASE[provider];
      if (base === undefined) {
        errors.push(`${where}: litellm_params.api_base is required for provider "${provider}/"`);
        return;
      }
      let url: URL;
      try {
        url = new URL(base);
      } catch {
        errors.push(`${where}: litellm_params.api_base is not a URL: "${base}"`);
        return;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        errors.push(`${where}: litellm_params.api_base must be http:// or https://`);
        return;
      }
      origin = url.origin;
      const path = url.pathname.replace(/\/+$/, '');
      basePath = path.endsWith('/v1') ? path : `${path}/v1`;
      const failures = errors.length;
      upstreamTls = upstreamTlsFor(origin, params, where, errors, warnings);
      if (errors.length > failures) return;
    }
    const info = entry.model_info ?? {};
    let id: string;
    if (typeof info['id'] === 'string') {
      id = info['id'];
      const firstIndex = seenIds.get(id);
      if (firstIndex !== undefined) {
        errors.push(`${where}: model_info.id "${id}" is duplicate (first used by model_list[${firstIndex}])`);
        return;
      }
    } else {
      id = stableId(entry);
      // Entries that differ only in their secrets hash alike: the position tells them apart, the same on every replica.
      if (seenIds.has(id)) id = `${id}-${index}`;
    }
    seenIds.set(id, index);
    const { api_key: _hidden, ...rest } = params;
    const publicParams = redactSecrets(rest) as Record<string, unknown>;
    const deployment: Deployment = {
      id,
      group: entry.model_name,
      provider,
      kind: provider === 'mock' ? 'mock' : provider === 'anthropic' ? 'anthropic' : 'openai',
      upstreamModel,
      origin,
      basePath,
      apiBase: provider === 'mock' ? 'mock://' : origin + basePath,
      upstreamTls,
      apiKey: params.api_key ?? null,
      secrets: secretsOf(params),
      rpm: params.rpm ?? null,
      tpm: params.tpm ?? null,
      weight: params.weight ?? 1,
      order: params.order ?? 1,
      maxParallelRequests: params.max_parallel_requests ?? null,
      timeoutMs: params.timeout === undefined ? null : params.timeout * 1000,
      streamTimeoutMs: params.stream_timeout === undefined ? null : params.stream_timeout * 1000,
      requestDefaults: requestDefaultsOf(params),
      mock:
        provider === 'mock'
          ? {
              text: params.mock_response ?? 'This is a mock response from Sluice.',
              tokens: params.mock_tokens ?? 0,
              tokenIntervalMs: params.mock_token_interval_ms ?? 0,
              dimensions: params.mock_dimensions ?? 8,
            }
          : null,
      info,
      publicParams,
    };
    if (upstreamModel === '*' || params['models'] === 'auto') {
      if (provider !== 'ollama' && provider !== 'ollama_chat') {
        errors.push(`${where}: model discovery ("*" or models: auto) works with ollama/ and ollama_chat/ servers only`);
        return;
      }
      discovery.push(deployment);
      return;
    }
    let list = byGroup.get(entry.model_name);
    if (list === undefined) byGroup.set(entry.model_name, (list = []));
    list.push(deployment);
  });

  const groups = new Map<string, ModelGroup>();
  for (const [name, deployments] of byGroup) groups.set(name, { name, deployments });
  return { groups, discovery, errors, warnings };
}

/**
 * A hash of the entry with its secrets masked, so the id (which /model/info and /health show) says nothing about a
 * backend key, and rotating a key keeps the deployment's id and its shared router state.
 */
function stableId(entry: ModelListEntry): string {
  return createHash('sha256').update(JSON.stringify(redactSecrets(entry))).digest('hex').slice(0, 16);
}

/** Replaces a secret. Fixed, so it tells nothing of the secret, not even its length. */
const SECRET_MASK = '********';

/**
 * Name segments (split on `_` and `-`) that mark a field as a credential, as LiteLLM's SensitiveDataMasker has them:
 * `api_key`, `aws_secret_access_key`, `db_password`, `access_token`, `vertex_credentials`, `private_key`...
 */
const SECRET_SEGMENTS = new Set(['password', 'passwords', 'passwd', 'secret', 'secrets', 'key', 'token', 'auth', 'authorization', 'credential', 'credentials', 'private']);
/** A segment that makes a field not a secret after all (`input_cost_per_token` is a price). */
const NOT_SECRET_SEGMENTS = new Set(['cost']);
/** Fields whose every value is a header value, and headers carry credentials (`Authorization`, `x-api-key`). */
const HEADER_FIELDS = new Set(['headers', 'extra_headers']);
/** The user information of a URL (`https://user:password@host`), up to the last `@` before the path. */
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#\\]*@/i;

function isSecretField(name: string): boolean {
  const segments = name.toLowerCase().split(/[_-]/);
  return segments.some((s) => SECRET_SEGMENTS.has(s)) && !segments.some((s) => NOT_SECRET_SEGMENTS.has(s));
}

/**
 * A copy of a config value that is safe to show: credential fields, header values and the user information of
 * URLs masked; every other value as written.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(URL_USERINFO, `$1${SECRET_MASK}@`);
  // Config files are shallow; a deeper value is masked whole rather than walked.
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 16) return SECRET_MASK;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value as Record<string, unknown>)) {
    if (field === null || field === undefined) out[name] = field;
    else if (isSecretField(name)) out[name] = SECRET_MASK;
    else if (HEADER_FIELDS.has(name.toLowerCase()) && typeof field === 'object' && !Array.isArray(field)) {
      out[name] = Object.fromEntries(Object.keys(field).map((header) => [header, SECRET_MASK]));
    } else out[name] = redactSecrets(field, depth + 1);
  }
  return out;
}

/** Shorter values (`none`, `EMPTY`) are placeholders, and masking them would garble ordinary words. */
const MIN_SECRET_LENGTH = 8;

/** The credential values of a deployment entry (the fields `redactSecrets` masks), as a backend may quote them. */
function secretsOf(params: LitellmParams): string[] {
  const values: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string' && isSecretField(name)) values.push(value);
    else if (HEADER_FIELDS.has(name.toLowerCase()) && typeof value === 'object' && value !== null) {
      for (const header of Object.values(value)) if (typeof header === 'string') values.push(header);
    }
  }
  if (typeof params.api_base === 'string') {
    try {
      const password = new URL(params.api_base).password;
      if (password !== '') values.push(password, decodeURIComponent(password));
    } catch {
      // Not a URL: the deployment is rejected elsewhere.
    }
  }
  const secrets = new Set<string>();
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    secrets.add(value);
    // As a JSON string body would quote it.
    secrets.add(JSON.stringify(value).slice(1, -1));
  }
  // Longest first, so a secret that contains another is masked whole.
  return [...secrets].sort((a, b) => b.length - a.length);
}
