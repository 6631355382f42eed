// cache: answers identical requests from a cache instead of the backend: in this process (an LRU bounded by bytes)
// or in Redis, shared by every instance. LiteLLM's way: `litellm_settings.cache: true` switches it on (see
// settings.ts); keys follow LiteLLM's rule (key.ts); requests steer it with a `cache` object (controls.ts).
//
// - upstreamRequest: the lookup. It runs after every guardRequest hook, so a prompt an input guard blocks never
//   reads the cache, and after admit, so a hit counts toward the key's request limit (and spends no tokens:
//   nothing fills ctx.usage). A hit is answered at once: a JSON body, or a stream's SSE bytes with a stream's
//   headers. Identical requests in flight wait for the first one (flight.ts), across instances through Redis.
// - onResponseBody / onResponseEvent: record the answer the client gets. A later plugin in the chain sees only
//   what the output guards before it let through, and a stream a guard stops never reaches onResponseEnd.
// - onResponseEnd: stores it (only complete, successful answers reach this phase).
// - log: lands the flight, whatever the outcome.
//
// Only OpenAI's API (chat, completions, embeddings) is cached; Ollama's, Anthropic's and the Responses API pass by.

import { randomBytes } from 'node:crypto';
import { createSlot, definePlugin, respond, SluiceError, type Plugin, type PluginDeps, type RequestContext, type Reply, type SseEvent } from '../../core/plugin/api.ts';
import { parseControls, type CacheControls } from './controls.ts';
import type { CacheEntry, CacheStore } from './entry.ts';
import { Flights, waitFor, type Flight } from './flight.ts';
import { cacheKey } from './key.ts';
import { MemoryCacheStore } from './memory-store.ts';
import { RedisCacheStore } from './redis-store.ts';
import { CALL_TYPES, DEFAULT_MAX_BYTES, DEFAULT_TTL_SECONDS, OPTIONS_SCHEMA, type CacheOptions, type RedisTarget } from './settings.ts';

/** Response header saying what the cache did: `hit`, `miss` or `bypass` (no-cache). */
export const STATUS_HEADER = 'x-sluice-cache';
/** LiteLLM's header: the key of the entry that answered (sent on hits only, as LiteLLM does). */
export const KEY_HEADER = 'x-litellm-cache-key';
/** Largest answer recorded for the cache; a larger one is sent on and not stored. */
const MAX_ENTRY_BYTES = 16 * 1024 * 1024;
/** How often a follower on another instance's flight looks for the entry. */
const POLL_MS = 25;

/** What the plugin keeps for one request it may store. */
interface Pending {
  readonly key: string;
  readonly controls: CacheControls;
  /** The client asked for the stream's usage event itself; otherwise one the gateway injects is not recorded. */
  readonly clientAskedUsage: boolean;
  /** False once something rules storing out (an error status, an oversized answer). */
  storable: boolean;
  contentType: string;
  chunks: Buffer[];
  bytes: number;
  /** A stream's `data: [DONE]` was seen: the answer is whole. */
  complete: boolean;
  json: Buffer | null;
  /** This request leads the flight for its key (in this process). */
  flight: Flight | null;
  /** The cross-instance lock it holds, if any. */
  lockToken: string | null;
  storing: Promise<void> | null;
}

const pendingSlot = createSlot<Pending>('cache.pending');

/** What `createCache` needs besides the options; tests pass a fake clock. */
export interface CacheRuntime {
  /** Epoch ms: TTLs of the memory store and entry ages. */
  readonly now?: () => number;
}

export interface CachePlugin extends Plugin {
  readonly store: CacheStore;
  readonly flights: Flights;
}

export async function createCache(options: CacheOptions, deps: PluginDeps, runtime: CacheRuntime = {}): Promise<CachePlugin> {
  const now = runtime.now ?? Date.now;
  const ttlMs = (options.ttl ?? DEFAULT_TTL_SECONDS) * 1000;
  const endpoints = new Set<string>(
    options.supported_call_types === undefined ? Object.values(CALL_TYPES) : options.supported_call_types.flatMap((t) => (CALL_TYPES[t] === undefined ? [] : [CALL_TYPES[t]])),
  );
  const namespace = options.namespace ?? null;
  const defaultOff = options.mode === 'default_off';
  const waitMs = (options.wait_timeout ?? 60) * 1000;
  const lockTtlMs = (options.lock_ttl ?? 30) * 1000;
  const maxBytes = options.max_bytes ?? DEFAULT_MAX_BYTES;
  const store: CacheStore =
    options.type === 'redis'
      ? new RedisCacheStore(options.redis ?? redisFromEnv(), deps.logger, { commandTimeoutMs: options.redis_timeout_ms ?? 100 })
      : new MemoryCacheStore(maxBytes, now);
  const redis = store instanceof RedisCacheStore ? store : null;
  const maxEntryBytes = Math.min(MAX_ENTRY_BYTES, store.kind === 'memory' ? maxBytes : MAX_ENTRY_BYTES);
  const flights = new Flights();

  /** An entry this request may use: of its kind (JSON or stream), and young enough for its `s-maxage`. */
  const usable = (entry: CacheEntry | null, controls: CacheControls, stream: boolean): CacheEntry | null => {
    if (entry === null || entry.kind !== (stream ? 'sse' : 'json')) return null;
    if (controls.sMaxAge !== null && now() - entry.storedAt > controls.sMaxAge * 1000) return null;
    return entry;
  };

  const read = (key: string, controls: CacheControls, stream: boolean): CacheEntry | null | Promise<CacheEntry | null> => {
    const got = store.get(key);
    return got instanceof Promise ? got.then((entry) => usable(entry, controls, stream)) : usable(got, controls, stream);
  };

  /** Another instance leads `key` (it holds the lock): wait for its entry, or take over when its lock goes. */
  const followAcross = async (key: string, pending: Pending, stream: boolean, deadline: number): Promise<CacheEntry | null> => {
    for (;;) {
      for (;;) {
        if (performance.now() >= deadline) return null;
        await sleep(POLL_MS);
        const entry = await read(key, pending.controls, stream);
        if (entry !== null) return entry;
        const locked = await redis!.isLocked(key);
        if (locked === null) return null;
        if (!locked) break;
      }
      const token = randomBytes(12).toString('base64url');
      const won = await redis!.tryLock(key, token, lockTtlMs);
      // Redis unreachable (null) decides nothing: this instance goes upstream.
      if (won !== false) {
        if (won === true) pending.lockToken = token;
        return null;
      }
    }
  };

  /** This request leads `key` in this process: one round trip reads the entry or takes the lock across instances. */
  const leadAcross = async (key: string, pending: Pending, stream: boolean, deadline: number): Promise<CacheEntry | null> => {
    const token = randomBytes(12).toString('base64url');
    const found = await redis!.getOrLock(key, token, lockTtlMs);
    if (found.entry !== null) return usable(found.entry, pending.controls, stream);
    if (found.locked === true) pending.lockToken = token;
    if (found.locked !== false) return null;
    return followAcross(key, pending, stream, deadline);
  };

  /** A hit, or null after arranging for this request to lead (or to go upstream unled). */
  const lookup = async (key: string, pending: Pending, stream: boolean): Promise<CacheEntry | null> => {
    if (pending.controls.noCache) return null;
    const deadline = performance.now() + waitMs;
    // With Redis, a request that has not waited reads and takes the lock in one round trip (leadAcross); one that
    // woke from a flight reads first, so the followers of one flight read at once instead of one after another.
    let woke = false;
    for (;;) {
      if (redis === null || pending.controls.noStore || woke) {
        const got = read(key, pending.controls, stream);
        const entry = got instanceof Promise ? await got : got;
        if (entry !== null) return entry;
      }
      // A request that will not store its answer follows a flight but never leads one.
      const flight = pending.controls.noStore ? null : flights.lead(key);
      if (flight !== null) {
        pending.flight = flight;
        if (redis === null) return null;
        const entry = await leadAcross(key, pending, stream, deadline);
        if (entry !== null) {
          pending.flight = null;
          flights.land(key, flight);
        }
        return entry;
      }
      const other = flights.get(key);
      if (other === undefined) return null;
      if (!(await waitFor(other, deadline - performance.now()))) return null;
      woke = true;
    }
  };

  const hit = (ctx: RequestContext, key: string, entry: CacheEntry): Reply => {
    ctx.logFields['cache'] = 'hit';
    ctx.logFields['cache_key'] = key;
    const headers: Record<string, string> = { 'content-type': entry.contentType, [KEY_HEADER]: key, [STATUS_HEADER]: 'hit' };
    if (ctx.group !== null) headers['x-litellm-model-group'] = ctx.group.name;
    if (entry.kind === 'sse') {
      headers['cache-control'] = 'no-cache';
      headers['x-accel-buffering'] = 'no';
    }
    return respond(200, entry.body, headers);
  };

  const finish = (key: string, pending: Pending): void => {
    const flight = pending.flight;
    const token = pending.lockToken;
    if (flight === null && token === null) return;
    pending.flight = null;
    pending.lockToken = null;
    const land = (): void => {
      if (flight !== null) flights.land(key, flight);
    };
    // Followers wake once the entry is readable, and other instances once the lock is gone.
    if (pending.storing === null && token === null) return land();
    void (pending.storing ?? Promise.resolve())
      .then(() => (token !== null ? redis?.unlock(key, token) : undefined))
      .catch(() => undefined)
      .then(land);
  };

  return {
    store,
    flights,

    async upstreamRequest(ctx) {
      if (ctx.api !== 'openai') return undefined;
      const body = ctx.body;
      const controls = parseControls(body['cache']);
      // The controls are the gateway's, on every route: a backend would refuse the unknown parameter.
      if (body['cache'] !== undefined) {
        const { cache: _controls, ...rest } = body;
        ctx.setBody(rest);
      }
      if (!endpoints.has(ctx.endpoint) || ctx.group === null) return undefined;
      if (defaultOff ? controls.useCache !== true : controls.useCache === false) {
        ctx.logFields['cache'] = 'off';
        return undefined;
      }
      const key = cacheKey({ endpoint: ctx.endpoint, group: ctx.group.name, stream: ctx.stream, body, namespace: controls.namespace ?? namespace });
      const options = body['stream_options'];
      const pending: Pending = {
        key,
        controls,
        clientAskedUsage: typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true,
        storable: !controls.noStore,
        contentType: ctx.stream ? 'text/event-stream; charset=utf-8' : 'application/json',
        chunks: [],
        bytes: 0,
        complete: false,
        json: null,
        flight: null,
        lockToken: null,
        storing: null,
      };
      ctx.set(pendingSlot, pending);
      const entry = await lookup(key, pending, ctx.stream);
      if (entry !== null) return hit(ctx, key, entry);
      const status = controls.noCache ? 'bypass' : 'miss';
      ctx.responseHeaders[STATUS_HEADER] = status;
      ctx.logFields['cache'] = status;
      ctx.logFields['cache_key'] = key;
      return undefined;
    },

    onResponseHeaders(ctx, head) {
      const pending = ctx.get(pendingSlot);
      if (pending === undefined) return;
      const encoding = head.headers['content-encoding'];
      // Replayed without the backend's headers, the bytes must be plain (the core asks for identity; not every backend obliges).
      const encoded = encoding !== undefined && encoding !== 'identity';
      if (head.status !== 200 || head.isEventStream !== ctx.stream || encoded) pending.storable = false;
      const type = head.headers['content-type'];
      if (typeof type === 'string') pending.contentType = type;
    },

    onResponseEvent(ctx, event: SseEvent) {
      const pending = ctx.get(pendingSlot);
      if (pending === undefined || !pending.storable) return undefined;
      if (!pending.clientAskedUsage && isUsageOnly(event)) return undefined;
      if (event.done) pending.complete = true;
      pending.bytes += event.raw.length;
      if (pending.bytes > maxEntryBytes) {
        pending.storable = false;
        pending.chunks = [];
        return undefined;
      }
      pending.chunks.push(event.raw);
      return undefined;
    },

    onResponseBody(ctx, body) {
      const pending = ctx.get(pendingSlot);
      if (pending === undefined || !pending.storable) return undefined;
      if (body.status === 200 && body.raw.length <= maxEntryBytes && body.json !== undefined) pending.json = body.raw;
      return undefined;
    },

    onResponseEnd(ctx) {
      const pending = ctx.get(pendingSlot);
      if (pending === undefined || !pending.storable || ctx.upstreamStatus !== 200) return;
      let bytes: Buffer | null = null;
      if (ctx.stream) {
        if (pending.complete) bytes = Buffer.concat(pending.chunks, pending.bytes);
      } else {
        bytes = pending.json;
      }
      pending.chunks = [];
      if (bytes === null) return;
      const entry: CacheEntry = { kind: ctx.stream ? 'sse' : 'json', contentType: pending.contentType, storedAt: now(), body: bytes };
      const ttl = pending.controls.ttl !== null ? pending.controls.ttl * 1000 : ttlMs;
      const result = store.set(pending.key, entry, ttl);
      if (result instanceof Promise) pending.storing = result;
    },

    log(ctx) {
      const pending = ctx.get(pendingSlot);
      if (pending !== undefined) finish(pending.key, pending);
    },

    routes: [
      {
        method: 'GET',
        path: '/cache/ping',
        async handle(ctx) {
          requireAdmin(ctx);
          const { healthy, detail } = await store.ping();
          return respond(healthy ? 200 : 503, { status: healthy ? 'healthy' : 'unhealthy', cache_type: store.kind === 'memory' ? 'local' : 'redis', detail });
        },
      },
      {
        method: 'POST',
        path: '/cache/delete',
        async handle(ctx) {
          requireAdmin(ctx);
          const keys = ctx.body['keys'];
          if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string' || k.length === 0)) {
            throw new SluiceError('SLUICE_INVALID_PARAM', "'keys' must be a non-empty array of cache keys (the x-litellm-cache-key values).", { param: 'keys' });
          }
          const deleted = await store.delete(keys as string[]);
          return respond(200, { status: 'success', deleted });
        },
      },
    ],

    close: () => store.close(),
  };
}

/** The master key only, when keys are checked at all (as /health's details). */
function requireAdmin(ctx: RequestContext): void {
  if (ctx.auth === null || ctx.auth.admin === true) return;
  throw new SluiceError('SLUICE_FORBIDDEN', 'Only the master key may manage the cache.', { details: { path: ctx.path } });
}

/** A stream's usage-only event (`"choices": []` with `usage`), the one the gateway asks for on its own account. */
function isUsageOnly(event: SseEvent): boolean {
  if (event.raw.indexOf('"usage"') === -1) return false;
  const json = event.json as { choices?: unknown; usage?: unknown } | undefined;
  return json !== undefined && json !== null && Array.isArray(json.choices) && json.choices.length === 0 && typeof json.usage === 'object' && json.usage !== null;
}

/** LiteLLM's environment variables for Redis, else the local default. */
function redisFromEnv(): RedisTarget {
  const env = process.env;
  if (env['REDIS_URL'] !== undefined && env['REDIS_URL'] !== '') return { url: env['REDIS_URL'] };
  const target: RedisTarget = { host: env['REDIS_HOST'] || '127.0.0.1' };
  if (env['REDIS_PORT'] !== undefined && Number.isInteger(Number(env['REDIS_PORT']))) target.port = Number(env['REDIS_PORT']);
  if (env['REDIS_PASSWORD']) target.password = env['REDIS_PASSWORD'];
  return target;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * ```yaml
 * litellm_settings:
 *   cache: true
 *   cache_params: { type: redis, host: 127.0.0.1, port: 6379, ttl: 36000, namespace: prod }
 * ```
 */
export default definePlugin<CacheOptions>({
  id: 'cache',
  description: 'Answers identical requests from a cache (in memory, or shared through Redis).',
  schema: OPTIONS_SCHEMA,
  create: (options, deps) => createCache(options, deps),
});
