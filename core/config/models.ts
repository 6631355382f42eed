// Model groups and deployments: LiteLLM's `model_list` turned into what the request path looks up.

import type { ClientApi } from '../plugin/context.ts';
import { createHash } from 'node:crypto';
import { AZURE_DEFAULT_API_VERSION, CLOUDFLARE_ACCOUNT_ENV, firstEnv, PROVIDERS } from '../providers/catalogue.ts';
import { upstreamTlsFor, type UpstreamTls } from './tls-files.ts';
import { requestDefaultsOf, type RequestDefaults } from './request-defaults.ts';

/**
 * The endpoints Sluice proxies: OpenAI's chat, completions and embeddings, and the other routes with a `model` field
 * that OpenAI and vLLM serve (rerank, score, moderations, image generation, speech, tokenize, detokenize).
 */
export type Endpoint = 'chat' | 'completions' | 'embeddings' | 'rerank' | 'score' | 'moderations' | 'images' | 'speech' | 'tokenize' | 'detokenize' | 'transcriptions' | 'translations';

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
  /** Path prefix the endpoint path (`/chat/completions`) goes under: `/v1`, `/v1beta/openai`, `/openai/deployments/x`. */
  readonly basePath: string;
  /** Query string after the endpoint path (Azure's `?api-version=…`), or empty. */
  readonly pathQuery: string;
  /** The header the API key goes in: `authorization` (as `Bearer <key>`) or Azure's `api-key`. */
  readonly apiKeyHeader: 'authorization' | 'api-key';
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
  /**
   * Client APIs besides OpenAI's that the deployment serves itself (`litellm_params.native_apis`): requests in them
   * go as they came. Defaults: Ollama's for `ollama/` servers, Messages for `anthropic/`, Responses for OpenAI and Azure.
   */
  readonly nativeApis: ReadonlySet<ClientApi>;
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

export interface BuildResult {
  readonly groups: ReadonlyMap<string, ModelGroup>;
  /** Ollama servers whose models are discovered at run time (`model: ollama/*` or `models: auto`). */
  readonly discovery: readonly Deployment[];
  /** `model_name` patterns (`*`, `groq/*`) that serve requested models no explicit group has. */
  readonly wildcards: WildcardGroups;
  readonly errors: string[];
  readonly warnings: string[];
}

/** Where a deployment's requests go: origin, path prefix, query and key header. */
interface Address {
  readonly origin: string;
  readonly basePath: string;
  readonly pathQuery: string;
  readonly apiKeyHeader: 'authorization' | 'api-key';
}

/**
 * Builds the model groups from `model_list`. `env` is where provider API keys and bases are read from (LiteLLM's
 * `GROQ_API_KEY`...). Unsupported providers are skipped with one warning per provider.
 */
export function buildModelGroups(entries: readonly ModelListEntry[], env: NodeJS.ProcessEnv = {}): BuildResult {
  const errors: string[] = [];
  const warnings: string[] = [];
  const byGroup = new Map<string, Deployment[]>();
  const byPattern = new Map<string, Deployment[]>();
  const discovery: Deployment[] = [];
  const seenIds = new Map<string, number>();
  /** Skipped deployments' groups, by unsupported provider: warned once each. */
  const unsupported = new Map<string, { groups: Set<string>; deployments: number }>();

  entries.forEach((entry, index) => {
    const where = `model_list[${index}] (${entry.model_name})`;
    const params = entry.litellm_params;
    const { provider, upstreamModel } = providerOf(params);
    const facts = PROVIDERS.get(provider);
    if (provider !== 'mock' && facts === undefined) {
      let skipped = unsupported.get(provider);
      if (skipped === undefined) unsupported.set(provider, (skipped = { groups: new Set(), deployments: 0 }));
      skipped.groups.add(entry.model_name);
      skipped.deployments++;
      return;
    }
    let address: Address = { origin: '', basePath: '', pathQuery: '', apiKeyHeader: 'authorization' };
    let upstreamTls: UpstreamTls | null = null;
    let apiKey = params.api_key ?? null;
    if (facts !== undefined) {
      apiKey ??= firstEnv(env, facts.apiKeyEnv);
      const found = addressOf(provider, upstreamModel, params, env, where, errors, warnings);
      if (found === null) return;
      address = found;
      const failures = errors.length;
      upstreamTls = upstreamTlsFor(address.origin, params, where, errors, warnings);
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
      ...address,
      apiBase: provider === 'mock' ? 'mock://' : address.origin + address.basePath,
      upstreamTls,
      apiKey,
      secrets: secretsOf(params, apiKey),
      rpm: params.rpm ?? null,
      tpm: params.tpm ?? null,
      weight: params.weight ?? 1,
      order: params.order ?? 1,
      maxParallelRequests: params.max_parallel_requests ?? null,
      timeoutMs: params.timeout === undefined ? null : params.timeout * 1000,
      streamTimeoutMs: params.stream_timeout === undefined ? null : params.stream_timeout * 1000,
      requestDefaults: requestDefaultsOf(params),
      nativeApis: nativeApisOf(params['native_apis'], provider, address.origin, where, errors),
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
    const ollama = provider === 'ollama' || provider === 'ollama_chat';
    if (ollama && (upstreamModel === '*' || params['models'] === 'auto')) {
      discovery.push(deployment);
      return;
    }
    if (params['models'] === 'auto') {
      errors.push(`${where}: model discovery (models: auto) works with ollama/ and ollama_chat/ servers only`);
      return;
    }
    if (entry.model_name.includes('*')) {
      let list = byPattern.get(entry.model_name);
      if (list === undefined) byPattern.set(entry.model_name, (list = []));
      list.push(deployment);
      return;
    }
    if (upstreamModel.includes('*')) {
      errors.push(`${where}: a wildcard model ("${params.model}") needs a wildcard model_name, such as "*" or "${provider}/*"`);
      return;
    }
    let list = byGroup.get(entry.model_name);
    if (list === undefined) byGroup.set(entry.model_name, (list = []));
    list.push(deployment);
  });

  for (const [provider, { groups, deployments }] of unsupported) {
    const names = [...groups].map((g) => `"${g}"`).join(', ');
    warnings.push(`provider "${provider}/" is not supported yet; its ${deployments} deployment${deployments === 1 ? ' is' : 's are'} skipped (model_name ${names})`);
  }
  const groups = new Map<string, ModelGroup>();
  for (const [name, deployments] of byGroup) groups.set(name, { name, deployments });
  return { groups, discovery, wildcards: new WildcardGroups(byPattern), errors, warnings };
}

/**
 * The provider and the upstream model name of `litellm_params`, as LiteLLM reads them: the prefix before the first
 * `/` (a bare name is OpenAI's), unless `custom_llm_provider` names the provider, when the model is sent whole
 * (less that provider's own prefix).
 */
function providerOf(params: LitellmParams): { provider: string; upstreamModel: string } {
  const custom = params['custom_llm_provider'];
  if (typeof custom === 'string' && custom !== '') {
    const prefix = `${custom}/`;
    return { provider: custom, upstreamModel: params.model.startsWith(prefix) ? params.model.slice(prefix.length) : params.model };
  }
  const slash = params.model.indexOf('/');
  if (slash === -1) return { provider: 'openai', upstreamModel: params.model };
  return { provider: params.model.slice(0, slash), upstreamModel: params.model.slice(slash + 1) };
}

/**
 * Where a provider's deployment is reached (see docs/configuration.md, "api_base"). Null when it cannot be: an
 * unusable api_base is an error; a missing one skips the deployment with a warning, so the rest of a LiteLLM config
 * still loads (LiteLLM itself would only fail on the first request).
 */
function addressOf(
  provider: string,
  upstreamModel: string,
  params: LitellmParams,
  env: NodeJS.ProcessEnv,
  where: string,
  errors: string[],
  warnings: string[],
): Address | null {
  const facts = PROVIDERS.get(provider)!;
  let base = params.api_base ?? firstEnv(env, facts.apiBaseEnv) ?? facts.defaultApiBase;
  if (base === null) {
    const from = facts.apiBaseEnv.length > 0 ? ` (or ${facts.apiBaseEnv.join(' / ')} in the environment)` : '';
    warnings.push(`${where}: provider "${provider}/" has no api_base (set litellm_params.api_base${from}); this deployment is skipped`);
    return null;
  }
  if (base.includes('{account_id}')) {
    const account = typeof params['account_id'] === 'string' && params['account_id'] !== '' ? params['account_id'] : firstEnv(env, [CLOUDFLARE_ACCOUNT_ENV]);
    if (account === null) {
      warnings.push(`${where}: provider "${provider}/" needs litellm_params.account_id or ${CLOUDFLARE_ACCOUNT_ENV} (or an api_base); this deployment is skipped`);
      return null;
    }
    base = base.replace('{account_id}', encodeURIComponent(account));
  }
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    errors.push(`${where}: litellm_params.api_base is not a URL: "${base}"`);
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    errors.push(`${where}: litellm_params.api_base must be http:// or https://`);
    return null;
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (facts.azure === true) {
    const version = params['api_version'];
    const apiVersion = typeof version === 'string' && version !== '' ? version : (firstEnv(env, ['AZURE_API_VERSION']) ?? AZURE_DEFAULT_API_VERSION);
    return {
      origin: url.origin,
      basePath: `${path}/openai/deployments/${encodeURIComponent(upstreamModel)}`,
      pathQuery: `?api-version=${encodeURIComponent(apiVersion)}`,
      apiKeyHeader: 'api-key',
    };
  }
  // A self-hosted server's origin alone means its OpenAI API under /v1; any other api_base is used as given.
  const basePath = facts.selfHosted && path === '' ? '/v1' : path;
  return { origin: url.origin, basePath, pathQuery: '', apiKeyHeader: 'authorization' };
}

/** Most wildcard-served groups kept built at once; past this the cache starts over. */
const WILDCARD_CACHE_LIMIT = 1024;

/**
 * The groups `model_name` patterns serve: `*` serves any model, `groq/*` any model starting with `groq/`. The part
 * the `*` matched replaces the `*` of the deployment's model (`model: groq/*`), as LiteLLM's pattern router does.
 * The most specific pattern (the most literal characters) wins; explicit groups are looked up before any pattern.
 */
export class WildcardGroups {
  readonly #patterns: readonly { readonly name: string; readonly regex: RegExp; readonly deployments: readonly Deployment[] }[];
  readonly #built = new Map<string, ModelGroup | null>();

  constructor(byPattern: ReadonlyMap<string, readonly Deployment[]>) {
    this.#patterns = [...byPattern]
      .map(([name, deployments]) => ({ name, regex: patternRegex(name), deployments }))
      .sort((a, b) => b.name.replaceAll('*', '').length - a.name.replaceAll('*', '').length);
  }

  get size(): number {
    return this.#patterns.length;
  }

  /** The `model_name` patterns, for listing. */
  get patterns(): readonly string[] {
    return this.#patterns.map((p) => p.name);
  }

  /** The group serving `model` through a pattern, or null when no pattern matches. */
  groupFor(model: string): ModelGroup | null {
    if (this.#patterns.length === 0) return null;
    const cached = this.#built.get(model);
    if (cached !== undefined) return cached;
    let group: ModelGroup | null = null;
    for (const pattern of this.#patterns) {
      const match = pattern.regex.exec(model);
      if (match === null) continue;
      const matched = match[1] ?? '';
      // Same ids as the pattern's deployments: cooldowns and load are per backend, not per requested name.
      const deployments = pattern.deployments.map((d) => ({ ...d, group: model, upstreamModel: d.upstreamModel.replace('*', matched) }));
      group = { name: model, deployments };
      break;
    }
    if (this.#built.size >= WILDCARD_CACHE_LIMIT) this.#built.clear();
    this.#built.set(model, group);
    return group;
  }
}

function patternRegex(pattern: string): RegExp {
  const parts = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('(.+)')}$`, 's');
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
function secretsOf(params: LitellmParams, apiKey: string | null): string[] {
  const values: string[] = apiKey === null ? [] : [apiKey];
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

const NATIVE_API_NAMES: ReadonlySet<string> = new Set(['ollama', 'anthropic', 'responses']);

/** `litellm_params.native_apis`, or the provider's default: what a server of that kind is known to serve. */
function nativeApisOf(value: unknown, provider: string, origin: string, where: string, errors: string[]): ReadonlySet<ClientApi> {
  if (value !== undefined) {
    const names = Array.isArray(value) ? value : [value];
    const bad = names.filter((name) => typeof name !== 'string' || !NATIVE_API_NAMES.has(name));
    if (bad.length > 0) errors.push(`${where}: native_apis takes ${[...NATIVE_API_NAMES].join(', ')}; got ${bad.map((b) => JSON.stringify(b)).join(', ')}`);
    return new Set(names.filter((name): name is ClientApi => typeof name === 'string' && NATIVE_API_NAMES.has(name)));
  }
  if (provider === 'ollama' || provider === 'ollama_chat') return new Set<ClientApi>(['ollama']);
  if (provider === 'anthropic') return new Set<ClientApi>(['anthropic']);
  if (provider === 'azure' || (provider === 'openai' && origin === 'https://api.openai.com')) return new Set<ClientApi>(['responses']);
  return new Set<ClientApi>();
}
