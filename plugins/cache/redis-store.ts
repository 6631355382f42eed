// Entries in Redis, shared by every instance: one string per key, `SET … PX ttl`, so Redis expires them. Keys are
// LiteLLM's (`<hash>` or `<namespace>:<hash>`), so `/cache/delete` takes what `x-litellm-cache-key` showed.
//
// The cache never makes a request wait on Redis: commands do not queue while it is disconnected (the offline
// queue is off, so they fail at once and the request goes upstream), and a command that gets no answer within
// `commandTimeoutMs` (a stalled server keeps its connections up) marks Redis as stalled: later lookups skip it
// at once until a background PING answers again.

import { Redis, type RedisOptions } from 'ioredis';
import { SluiceError, type Logger } from '../../core/plugin/api.ts';
import { decodeEntry, encodeEntry, type CacheEntry, type CacheStore } from './entry.ts';
import type { RedisTarget } from './settings.ts';

/** Deletes the lock only if it is still ours (another instance may hold it after ours expired). */
const UNLOCK_LUA = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/**
 * A miss in one round trip: the entry if there is one ({1, entry}); else the single-flight lock, taken ({2}) or held
 * by another instance ({3}).
 */
const GET_OR_LOCK_LUA = `local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {2} end
return {3}`;
const PROBE_INTERVAL_MS = 250;

/** What `getOrLock` found: an entry, or who leads the key across instances (null: Redis cannot say). */
export interface GetOrLock {
  readonly entry: CacheEntry | null;
  readonly locked: boolean | null;
}

const UNREACHABLE: GetOrLock = { entry: null, locked: null };

export interface RedisCacheTuning {
  readonly commandTimeoutMs: number;
  /** Cap of the reconnect backoff (default 2000 ms). */
  readonly reconnectMaxDelayMs?: number;
}

export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;
  readonly #client: Redis;
  readonly #logger: Logger;
  #stalled = false;
  #probe: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(target: RedisTarget, logger: Logger, tuning: RedisCacheTuning) {
    this.#logger = logger;
    const cap = tuning.reconnectMaxDelayMs ?? 2000;
    const options: RedisOptions = {
      commandTimeout: tuning.commandTimeoutMs,
      connectTimeout: 2000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: 'sluice-cache',
      retryStrategy: (times) => Math.min(cap, 50 * 2 ** Math.min(times - 1, 16)),
    };
    if (target.password !== undefined) options.password = target.password;
    if (target.username !== undefined) options.username = target.username;
    if (target.db !== undefined) options.db = target.db;
    if (target.tls === true) options.tls = {};
    this.#client = target.url !== undefined ? new Redis(target.url, options) : new Redis({ ...options, host: target.host ?? '127.0.0.1', port: target.port ?? 6379 });
    this.#client.defineCommand('sluiceCacheUnlock', { numberOfKeys: 1, lua: UNLOCK_LUA });
    this.#client.defineCommand('sluiceCacheGetOrLock', { numberOfKeys: 2, lua: GET_OR_LOCK_LUA });
    // Without an 'error' listener an unreachable Redis would take the process down.
    this.#client.on('error', (error: Error) => this.#logger.debug('cache: Redis error', { error: error.message }));
    this.#client.on('ready', () => {
      this.#stalled = false;
    });
  }

  /** Redis can be asked now: connected, and not known to be stalled. */
  get usable(): boolean {
    return this.#client.status === 'ready' && !this.#stalled;
  }

  async get(key: string): Promise<CacheEntry | null> {
    if (!this.usable) return null;
    let bytes: Buffer | null;
    try {
      bytes = await this.#client.getBuffer(key);
    } catch (error) {
      this.#failed(error);
      return null;
    }
    if (bytes === null) return null;
    const entry = decodeEntry(bytes);
    if (entry === null) {
      // Not an entry of ours (another writer, an older format): a miss, and gone.
      this.#client.del(key).catch((error: unknown) => this.#failed(error));
    }
    return entry;
  }

  async set(key: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    if (!this.usable) return;
    try {
      await this.#client.set(key, encodeEntry(entry), 'PX', Math.max(1, Math.round(ttlMs)));
    } catch (error) {
      this.#failed(error);
    }
  }

  /** The entry under `key`, or else its single-flight lock taken for `ttlMs` with `token`: one round trip. */
  async getOrLock(key: string, token: string, ttlMs: number): Promise<GetOrLock> {
    if (!this.usable) return UNREACHABLE;
    let reply: [number, Buffer?];
    try {
      const client = this.#client as unknown as { sluiceCacheGetOrLockBuffer(key: string, lock: string, token: string, ttl: number): Promise<[number, Buffer?]> };
      reply = await client.sluiceCacheGetOrLockBuffer(key, lockKey(key), token, Math.max(1, Math.round(ttlMs)));
    } catch (error) {
      this.#failed(error);
      return UNREACHABLE;
    }
    if (reply[0] === 2) return { entry: null, locked: true };
    if (reply[0] === 3) return { entry: null, locked: false };
    const entry = reply[1] === undefined ? null : decodeEntry(reply[1]);
    if (entry === null) this.#client.del(key).catch((error: unknown) => this.#failed(error));
    return { entry, locked: null };
  }

  /** Takes the single-flight lock of `key` for `ttlMs`: true when taken, false when another holds it, null when Redis cannot say. */
  async tryLock(key: string, token: string, ttlMs: number): Promise<boolean | null> {
    if (!this.usable) return null;
    try {
      return (await this.#client.set(lockKey(key), token, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
    } catch (error) {
      this.#failed(error);
      return null;
    }
  }

  /** Whether some instance holds the lock of `key`; null when Redis cannot say. */
  async isLocked(key: string): Promise<boolean | null> {
    if (!this.usable) return null;
    try {
      return (await this.#client.exists(lockKey(key))) === 1;
    } catch (error) {
      this.#failed(error);
      return null;
    }
  }

  async unlock(key: string, token: string): Promise<void> {
    if (!this.usable) return;
    try {
      await (this.#client as unknown as { sluiceCacheUnlock(key: string, token: string): Promise<number> }).sluiceCacheUnlock(lockKey(key), token);
    } catch (error) {
      this.#failed(error);
    }
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (this.#client.status !== 'ready') throw unavailable();
    try {
      return await this.#client.del(...keys);
    } catch (error) {
      this.#failed(error);
      throw unavailable(error);
    }
  }

  async ping(): Promise<{ healthy: boolean; detail: string }> {
    if (this.#client.status !== 'ready') return { healthy: false, detail: `redis: ${this.#client.status}` };
    try {
      await this.#client.ping();
      return { healthy: true, detail: 'redis: PONG' };
    } catch (error) {
      this.#failed(error);
      return { healthy: false, detail: `redis: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe !== null) clearInterval(this.#probe);
    this.#client.disconnect();
  }

  /** A command failed: a timeout on a live connection means a stalled server, skipped until a PING answers. */
  #failed(error: unknown): void {
    const message = (error as Error).message ?? String(error);
    if (!/timed? ?out/i.test(message) || this.#stalled || this.#closed) return;
    this.#stalled = true;
    this.#logger.warn('cache: Redis does not answer; requests go upstream without the cache until it does', { error: message });
    let probing = false;
    this.#probe = setInterval(() => {
      if (probing || this.#client.status !== 'ready') return;
      probing = true;
      this.#client
        .ping()
        .then(() => {
          this.#stalled = false;
          if (this.#probe !== null) clearInterval(this.#probe);
          this.#probe = null;
          this.#logger.info('cache: Redis answers again');
        })
        .catch(() => undefined)
        .finally(() => (probing = false));
    }, PROBE_INTERVAL_MS);
    this.#probe.unref();
  }
}

function lockKey(key: string): string {
  return `${key}:lock`;
}

function unavailable(cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_STATE_UNAVAILABLE', 'The cache store (Redis) is unreachable.', cause === undefined ? {} : { cause });
}
