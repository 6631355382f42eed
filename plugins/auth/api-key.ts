// auth.api_key: who is calling. LiteLLM's master_key and a list of virtual keys, each with its models and limits.

import { createHash, timingSafeEqual } from 'node:crypto';
import { definePlugin, SluiceError, type AuthInfo, type Plugin, type RequestContext } from '../../core/plugin/api.ts';

interface Options {
  /** Request headers a key is read from, in order. `authorization` expects `Bearer <key>`. */
  headers?: string[];
  /** Paths that need no key (liveness and readiness probes by default). */
  open_paths?: string[];
  /** Overrides `general_settings.master_key`. */
  master_key?: string;
}

/** One entry of the top-level `keys:` section (validated by config/schema.json). */
interface KeyConfig {
  key?: string;
  key_sha256?: string;
  alias?: string;
  models?: string[];
  rpm?: number;
  tpm?: number;
  max_parallel_requests?: number;
  max_budget?: number;
  soft_budget?: number;
  budget_duration?: string;
  metadata?: Record<string, unknown>;
}

const DEFAULT_HEADERS = ['authorization', 'x-api-key', 'x-litellm-api-key', 'api-key'];
const DEFAULT_OPEN_PATHS = ['/health/liveliness', '/health/liveness', '/health/readiness'];

/**
 * API keys. Keys come from `general_settings.master_key` (full access) and the top-level `keys:` list; each may be
 * written as the key or as its sha256, so config files need not hold secrets. A key is never logged: `ctx.auth`
 * carries its alias (or the first 8 hex digits of its hash).
 *
 * ```yaml
 * general_settings:
 *   master_key: os.environ/SLUICE_MASTER_KEY
 * keys:
 *   - key: os.environ/TEAM_A_KEY
 *     alias: team-a
 *     models: [llama3.2, mock-gpt]
 *     rpm: 600
 *     tpm: 200000
 *     max_parallel_requests: 8
 *   - key_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *     alias: batch-jobs
 * plugins:
 *   - auth.api_key
 *   - limit.key
 *   - route.least_busy
 * ```
 */
export default definePlugin<Options>({
  id: 'auth.api_key',
  description: 'API keys: master key and virtual keys with allowed models and limits.',
  sections: ['general_settings', 'keys'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      headers: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9-]+$' }, minItems: 1 },
      open_paths: { type: 'array', items: { type: 'string', pattern: '^/' } },
      master_key: { type: 'string', minLength: 8 },
    },
  },
  create(options, deps): Plugin {
    const headers = options.headers ?? DEFAULT_HEADERS;
    const openPaths = new Set(options.open_paths ?? DEFAULT_OPEN_PATHS);
    const general = (deps.sections['general_settings'] ?? {}) as { master_key?: unknown };
    const masterKey = options.master_key ?? (typeof general.master_key === 'string' ? general.master_key : null);
    const master = masterKey === null ? null : sha256(masterKey);
    const table = new Map<string, AuthInfo>();
    for (const entry of (deps.sections['keys'] ?? []) as KeyConfig[]) {
      const digest = entry.key_sha256 ?? sha256(entry.key!).toString('hex');
      table.set(digest, {
        keyId: entry.alias ?? `key-${digest.slice(0, 8)}`,
        models: entry.models === undefined ? null : new Set(entry.models),
        limits: { rpm: entry.rpm ?? null, tpm: entry.tpm ?? null, maxParallelRequests: entry.max_parallel_requests ?? null },
        metadata: entry.metadata ?? {},
        budget: { max: entry.max_budget ?? null, soft: entry.soft_budget ?? null, duration: entry.budget_duration ?? null },
      });
    }
    if (master === null && table.size === 0) {
      throw new Error('no keys to check: set general_settings.master_key or a keys: list');
    }
    const masterAuth: AuthInfo = { keyId: 'master', models: null, limits: { rpm: null, tpm: null, maxParallelRequests: null }, metadata: {}, admin: true };
    const known = new KnownKeys(KNOWN_KEYS_MAX);

    /** Who a presented key is: hashed and looked up the first time, then remembered (valid keys only). */
    function lookup(presented: string): AuthInfo | undefined {
      const remembered = known.get(presented);
      if (remembered !== undefined) return remembered;
      const digest = sha256(presented);
      // Digests of equal length compared in constant time; the table is keyed by digest. Only a key that matched is
      // remembered (by its text, in this process's memory, until the next reload), so a guess is always hashed.
      const auth = master !== null && timingSafeEqual(digest, master) ? masterAuth : table.get(digest.toString('hex'));
      if (auth !== undefined) known.set(presented, auth);
      return auth;
    }

    return {
      authenticate(ctx: RequestContext) {
        if (openPaths.has(ctx.path)) return;
        const presented = readKey(ctx, headers);
        if (presented === null) {
          throw new SluiceError('SLUICE_UNAUTHORIZED', `Missing API key. Send it as "Authorization: Bearer <key>" or in one of: ${headers.slice(1).join(', ')}.`);
        }
        const auth = lookup(presented);
        if (auth === undefined) throw new SluiceError('SLUICE_UNAUTHORIZED', 'Incorrect API key provided.');
        ctx.auth = auth;
        if (ctx.endpoint !== 'info' && auth.models !== null && !auth.models.has(ctx.model)) {
          throw new SluiceError('SLUICE_FORBIDDEN', `This API key may not use model \`${ctx.model}\`.`, { param: 'model', details: { model: ctx.model } });
        }
      },
    };
  },
});

/**
 * How many valid keys keep their lookup. Hashing a key costs more than the rest of the check together; a deployment
 * has a few keys, so this bounds the memory a caller cycling through many valid keys could take.
 */
const KNOWN_KEYS_MAX = 1024;

/**
 * Valid keys seen lately, least recently used first (a Map keeps insertion order). Only keys that passed are
 * remembered, so a wrong key is always hashed and compared as before, and guessing fills nothing. The map lives as
 * long as this plugin instance: a reload, which may revoke keys, builds a new one.
 */
class KnownKeys {
  readonly #max: number;
  readonly #entries = new Map<string, AuthInfo>();

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string): AuthInfo | undefined {
    const auth = this.#entries.get(key);
    if (auth !== undefined && this.#entries.size > 1) {
      // Most recently used last: re-inserting moves it.
      this.#entries.delete(key);
      this.#entries.set(key, auth);
    }
    return auth;
  }

  set(key: string, auth: AuthInfo): void {
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, auth);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function readKey(ctx: RequestContext, headers: readonly string[]): string | null {
  for (const name of headers) {
    const value = ctx.headers[name];
    if (typeof value !== 'string' || value === '') continue;
    if (name === 'authorization') {
      const match = /^Bearer\s+(.+)$/i.exec(value.trim());
      if (match !== null) return match[1]!;
      continue;
    }
    return value.trim();
  }
  return null;
}
