// Shared state in Redis (standalone or Cluster), so every replica enforces the same limits and sees the same
// router state.
//
// Each check-and-update is one Lua script (EVALSHA through ioredis' defineCommand), so it is atomic across
// replicas, and reads the Redis server's clock (TIME) rather than the caller's `now`: replicas with skewed clocks
// agree. All keys of one limit key share a cluster hash tag, `<prefix>{<key>}:<suffix>`, so a script's keys
// always live in one slot.
//
// A slow reply is not an outage. A command without a reply within `command_timeout_ms` is decided for that request
// alone: `fail_open` answers it from a local MemoryStore, `fail_closed` throws SLUICE_STATE_UNAVAILABLE. The store
// as a whole degrades only when the connection is gone, or after FAILURES_BEFORE_DEGRADED failures in a row that
// span at least two timeouts (one slow script that holds up a burst of commands is not a stall); any reply, even a
// late one, ends the streak. While degraded, nothing is sent to Redis: with the offline queue off, commands fail at
// once while disconnected; ioredis reconnects by itself (capped backoff) and its `ready` brings Redis back; a
// connection that stays up but stalled is probed with a PING per `probeIntervalMs` until it answers.
//
// Local answers must not over-admit across replicas: each replica takes its share, the limit divided by the
// replicas it has seen recently (each writes a heartbeat into a ZSET of ids scored by Redis time; the last count
// is kept while Redis is away), and what Redis admitted for this replica is mirrored locally, so the share counts
// it too when Redis goes away mid-window.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../logger.ts';
import { checkLimitsInTurn, type LimitCheck, type LimitChecks, type LimitDecision, type SharedStore, type StoreHealth } from './store.ts';
import { MemoryStore, validateEntry, validateGcra, validateLease, validateWindow } from './memory-store.ts';

/** The `redis:` config section. With none of url/host/cluster, Redis is 127.0.0.1:6379. */
export interface RedisConfig {
  /** `redis://[user:pass@]host:port/db` or `rediss://…` (TLS). Credentials and db in the URL win over the fields below. */
  url?: string;
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  /** `ca` is PEM text, or a path to a PEM file. */
  tls?: boolean | { ca?: string; reject_unauthorized?: boolean };
  /** Redis Cluster seed nodes. */
  cluster?: { host: string; port: number }[];
  /** Prepended to every key (default `sluice:`); must not contain `{` or `}` (they are the cluster hash tag). */
  key_prefix?: string;
  /** What a check does while Redis is unreachable: answer from local limits (default) or refuse. */
  fail_mode?: 'fail_open' | 'fail_closed';
  /** How long a command may take before its request is answered without Redis (default 500 ms). */
  command_timeout_ms?: number;
  /** How often each replica exchanges router state through Redis (default 250 ms); read by the App, not the store. */
  router_sync_interval_ms?: number;
}

export const DEFAULT_KEY_PREFIX = 'sluice:';
/**
 * Redis answers in well under a millisecond; 500 ms is far beyond any healthy reply, even on a machine whose cores
 * are saturated, and is what a request waits at most while a stall is being recognised (LLM calls take seconds).
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 500;
/** Failures in a row (spanning at least two command timeouts) before the whole store degrades. */
export const FAILURES_BEFORE_DEGRADED = 3;
/** Most releases kept for retrying at once; past it, a lease again ends only by its ttl. */
const MAX_UNRELEASED = 100_000;
/** Cap of the backoff between retries of unconfirmed releases (100 ms doubling). */
const RELEASE_RETRY_MAX_DELAY_MS = 5000;
export const STATE_UNAVAILABLE_MESSAGE = 'Shared state (Redis) is unreachable; the request cannot be checked against its limits.';

/** Thrown by a fail_closed store while Redis is unreachable. The catalogue entry is to be wired in errors.ts. */
export class StateUnavailableError extends Error {
  readonly code = 'SLUICE_STATE_UNAVAILABLE' as const;
  constructor(cause?: unknown) {
    super(STATE_UNAVAILABLE_MESSAGE, cause === undefined ? undefined : { cause });
    this.name = 'StateUnavailableError';
  }
}

/** Knobs that are not part of the config file (tests turn them down). */
export interface RedisStoreTuning {
  /** Cap of the reconnect backoff (50 ms doubling, plus up to 20 % jitter). Default 2000 ms. */
  reconnectMaxDelayMs?: number;
  /** While unavailable on a connection that is still up, how often a PING checks whether Redis answers again. Default 1000 ms. */
  probeIntervalMs?: number;
  /** TCP connect timeout. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** How often this replica writes its heartbeat and counts the live replicas. Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** A replica whose heartbeat is older than this no longer counts. Default 5 × the heartbeat interval. */
  replicaTtlMs?: number;
}

/** The keys each script touches for one limit key, in KEYS order. All carry the hash tag `{<escaped key>}`. */
export interface ScriptKeys {
  gcra: [tat: string];
  window: [entries: string, sum: string];
  lease: [leases: string];
  counter: [counter: string];
  table: [entries: string];
}

/**
 * Keys for one limit key. `{`, `}` and `%` in the key are percent-escaped (and the empty key becomes `%`), so the
 * hash tag is always the whole, non-empty escaped key and distinct keys never collide.
 */
export function scriptKeys(prefix: string, key: string): ScriptKeys {
  const base = `${prefix}{${escapeTag(key)}}:`;
  return { gcra: [`${base}tat`], window: [`${base}win`, `${base}winsum`], lease: [`${base}lease`], counter: [`${base}ctr`], table: [`${base}table`] };
}

function escapeTag(key: string): string {
  if (key.length === 0) return '%';
  return /[{}%]/.test(key) ? key.replace(/%/g, '%25').replace(/\{/g, '%7B').replace(/\}/g, '%7D') : key;
}

// Shared Lua prelude: the server clock in ms (with µs), and the float slack also used by MemoryStore. Writing after
// TIME needs effects replication: the default since Redis 5 (the call is a no-op there), opted into before.
const NOW = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local eps = 0.001
`;

/** KEYS: counter. ARGV: amount, expiry (epoch ms; 0 = none). Returns the new total as a string. */
const COUNTER_LUA = `
local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
local at = tonumber(ARGV[2])
if at > 0 then redis.call('PEXPIREAT', KEYS[1], at) end
return total
`;

/** KEYS: tat. ARGV: emission interval ms, tolerance ms, limit. Returns {allowed, remaining, retryAfterMs, resetMs}. */
const GCRA_LUA = `${NOW}
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
if tat < now then tat = now end
local allow_at = tat - tolerance
if now + eps < allow_at then
  return {0, 0, math.max(1, math.ceil(allow_at - now - eps)), math.max(0, math.ceil(tat - now - eps))}
end
local nxt = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', math.max(1, math.ceil(nxt - now)))
local slack = (now + tolerance - nxt) / interval
local remaining = 0
if slack >= -1e-9 then remaining = math.min(limit - 1, math.floor(slack + 1e-9) + 1) end
return {1, remaining, 0, math.max(0, math.ceil(nxt - now - eps))}
`;

/**
 * KEYS: entries (ZSET, score = ms, member = "<ms>:<seq>:<cost>"), running sum (HASH sum, seq).
 * ARGV: limit, window ms, cost, force ("1" = windowAdd: record without a check).
 * Expired entries are trimmed from the front and their costs taken off the sum, so a check is amortized O(1).
 */
const WINDOW_LUA = `${NOW}
local zkey = KEYS[1]
local mkey = KEYS[2]
local limit = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local force = ARGV[4] == '1'
local function entry_cost(member)
  return tonumber(string.match(member, ':([^:]*)$')) or 0
end
local dirty = false
local sum = tonumber(redis.call('HGET', mkey, 'sum') or '')
if sum == nil then
  -- a new key, or a sum lost to eviction: rebuild it from the entries there are
  sum = 0
  local all = redis.call('ZRANGE', zkey, 0, -1)
  for i = 1, #all do sum = sum + entry_cost(all[i]) end
  dirty = #all > 0
end
local cutoff = string.format('%.3f', now - win)
local expired = redis.call('ZRANGEBYSCORE', zkey, '-inf', cutoff)
if #expired > 0 then
  for i = 1, #expired do sum = sum - entry_cost(expired[i]) end
  redis.call('ZREMRANGEBYSCORE', zkey, '-inf', cutoff)
  dirty = true
end
local count = redis.call('ZCARD', zkey)
if count == 0 or sum < 0 then sum = 0 end
local allowed = 0
if force or sum + cost <= limit then
  allowed = 1
  if cost > 0 then
    local seq = redis.call('HINCRBY', mkey, 'seq', 1)
    local at = string.format('%.3f', now)
    redis.call('ZADD', zkey, at, at .. ':' .. seq .. ':' .. ARGV[3])
    sum = sum + cost
    count = count + 1
    dirty = true
  end
end
if count == 0 then
  redis.call('DEL', mkey)
  if allowed == 1 then return {1, math.max(0, math.floor(limit)), 0, 0} end
  return {0, 0, math.ceil(win), 0}
end
local newest = redis.call('ZRANGE', zkey, -1, -1, 'WITHSCORES')
local reset_exact = tonumber(newest[2]) + win - now
if dirty then
  local ttl = math.max(1, math.ceil(reset_exact))
  redis.call('HSET', mkey, 'sum', string.format('%.17g', sum))
  redis.call('PEXPIRE', zkey, ttl)
  redis.call('PEXPIRE', mkey, ttl)
end
local reset = math.max(0, math.ceil(reset_exact - eps))
if allowed == 1 then return {1, math.max(0, math.floor(limit - sum)), 0, reset} end
if cost > limit then return {0, 0, math.ceil(win), reset} end
local need = sum + cost - limit
local freed = 0
local start = 0
while true do
  local batch = redis.call('ZRANGE', zkey, start, start + 63, 'WITHSCORES')
  if #batch == 0 then break end
  for i = 1, #batch, 2 do
    freed = freed + entry_cost(batch[i])
    if freed >= need then
      return {0, 0, math.max(1, math.ceil(tonumber(batch[i + 1]) + win - now - eps)), reset}
    end
  end
  start = start + 64
end
return {0, 0, math.max(1, reset), reset}
`;

/** KEYS: leases (ZSET leaseId → expiry ms). ARGV: max, leaseId, ttl ms. Re-acquiring a held lease renews it. */
const LEASE_LUA = `${NOW}
local key = KEYS[1]
local max = tonumber(ARGV[1])
local id = ARGV[2]
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.3f', now))
local held = redis.call('ZSCORE', key, id)
local count = redis.call('ZCARD', key)
local allowed = 0
if held or count < max then
  redis.call('ZADD', key, string.format('%.3f', now + ttl), id)
  if not held then count = count + 1 end
  allowed = 1
end
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
local reset_exact = tonumber(last[2]) - now
local reset = math.max(0, math.ceil(reset_exact - eps))
if allowed == 1 then
  redis.call('PEXPIRE', key, math.max(1, math.ceil(reset_exact)))
  return {1, max - count, 0, reset}
end
local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, 0, math.max(1, math.ceil(tonumber(first[2]) - now - eps)), reset}
`;

/**
 * KEYS: table (HASH member → "<expiry ms>|<value>"). ARGV: member, value, ttl ms.
 * Writes this member's entry, drops expired ones, returns the live entries flat: {member, value, member, value…}.
 * The hash itself lives as long as its longest-lived entry.
 */
const TABLE_LUA = `${NOW}
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%.3f', now + ttl) .. '|' .. ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
local live = {}
local last = now + ttl
for i = 1, #all, 2 do
  local raw = all[i + 1]
  local sep = string.find(raw, '|', 1, true)
  local expires = sep and tonumber(string.sub(raw, 1, sep - 1))
  if expires == nil or expires <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    live[#live + 1] = all[i]
    live[#live + 1] = string.sub(raw, sep + 1)
    if expires > last then last = expires end
  end
end
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(last - now)))
return live
`;

/**
 * KEYS: replicas (ZSET replica id → last heartbeat, server ms). ARGV: this replica's id, ttl ms.
 * Records the heartbeat, drops replicas not heard from within the ttl, returns how many are left.
 */
const HEARTBEAT_LUA = `${NOW}
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], string.format('%.3f', now), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', now - ttl))
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl))
return redis.call('ZCARD', KEYS[1])
`;

/** The ZSET of live replicas for a key prefix: every replica sharing the prefix shares the limits. */
export function replicasKey(prefix: string): string {
  return `${prefix}replicas`;
}

type ScriptCall = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

/** What the store uses of ioredis' Redis and Cluster, plus the commands defineCommand adds. */
interface Client {
  readonly status: string;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
  zrem(key: string, ...members: string[]): Promise<number>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  get(key: string): Promise<string | null>;
  quit(): Promise<unknown>;
  ping(): Promise<unknown>;
  disconnect(): void;
}
interface Scripts {
  sluiceGcra: ScriptCall;
  sluiceWindow: ScriptCall;
  sluiceLease: ScriptCall;
  sluiceHeartbeat: ScriptCall;
  sluiceCounter: ScriptCall;
  sluiceTable: ScriptCall;
}

type Connection = 'connecting' | 'up' | 'down';

export class RedisStore implements SharedStore {
  readonly kind = 'redis' as const;
  readonly failMode: 'fail_open' | 'fail_closed';
  /** fail_open keeps a local copy of what Redis admitted for this replica (fail_closed never answers locally). */
  private readonly mirrors: boolean;
  readonly keyPrefix: string;
  private readonly client: Client;
  private readonly scripts: Scripts;
  private readonly local = new MemoryStore();
  private readonly logger: Logger;
  private readonly commandTimeoutMs: number;
  private readonly probeIntervalMs: number;
  private readonly isCluster: boolean;
  private connection: Connection = 'connecting';
  /** Commands in a row that failed while the connection was up, and when the first of them was sent. */
  private failures = 0;
  private failingSince = 0;
  /** This store's id in the replicas ZSET: random per store, so replicas in one process count apart. */
  readonly replicaId = randomBytes(9).toString('base64url');
  private readonly replicasKey: string;
  private readonly replicaTtlMs: number;
  /** Live replicas at the last heartbeat Redis answered (at least 1: this one); kept while Redis is away. */
  private replicaCount = 1;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private beating = false;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  private probing = false;
  /**
   * Releases Redis did not confirm (timed out, or skipped while it was unreachable): Redis key → lease id → when
   * to give up (performance.now() ms; the lease has expired by then anyway). Retried in the background, so a
   * stall does not leave slots taken until their ttl.
   */
  private readonly unreleased = new Map<string, Map<string, number>>();
  private unreleasedCount = 0;
  private longestLeaseTtlMs = 0;
  private releaseTimer: ReturnType<typeof setTimeout> | null = null;
  /** Consecutive retry rounds that left releases behind, for the backoff. */
  private releaseRounds = 0;
  private flushing = false;
  /** The health check under way, shared by concurrent readiness probes. */
  private healthCheck: Promise<StoreHealth> | null = null;
  private closing = false;
  /** Settles on the first 'ready' or the first sign that Redis is unreachable, whichever comes first. */
  private readonly firstVerdict: Promise<void>;
  private settleFirstVerdict: () => void = () => undefined;

  constructor(config: RedisConfig, logger: Logger, tuning: RedisStoreTuning = {}) {
    this.logger = logger;
    this.failMode = config.fail_mode ?? 'fail_open';
    this.mirrors = this.failMode === 'fail_open';
    this.keyPrefix = config.key_prefix ?? DEFAULT_KEY_PREFIX;
    if (/[{}]/.test(this.keyPrefix)) throw new RangeError('redis.key_prefix must not contain "{" or "}" (they mark the cluster hash tag)');
    this.commandTimeoutMs = config.command_timeout_ms ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.probeIntervalMs = tuning.probeIntervalMs ?? 1000;
    this.replicasKey = replicasKey(this.keyPrefix);
    const heartbeatIntervalMs = tuning.heartbeatIntervalMs ?? 1000;
    this.replicaTtlMs = tuning.replicaTtlMs ?? 5 * heartbeatIntervalMs;
    this.firstVerdict = new Promise((resolve) => (this.settleFirstVerdict = resolve));
    const cap = tuning.reconnectMaxDelayMs ?? 2000;
    const retryStrategy = (times: number): number => {
      const delay = Math.min(cap, 50 * 2 ** Math.min(times - 1, 16));
      return Math.round(delay * (1 + Math.random() * 0.2));
    };
    // No ioredis commandTimeout: its timer rejects a reply that arrived while the event loop was busy (timers run
    // before I/O). `bounded` gives up only when the reply is really missing.
    const connection: RedisOptions = {
      connectTimeout: tuning.connectTimeoutMs ?? 2000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: 'sluice',
    };
    if (config.password !== undefined) connection.password = config.password;
    if (config.username !== undefined) connection.username = config.username;
    const tls = tlsOptions(config.tls);
    if (tls !== undefined) connection.tls = tls;

    this.isCluster = config.cluster !== undefined;
    let client: Client;
    if (config.cluster !== undefined) {
      if (config.cluster.length === 0) throw new RangeError('redis.cluster needs at least one node');
      if (config.db !== undefined) throw new RangeError('redis.db cannot be used with redis.cluster (a cluster has only db 0)');
      const options: ClusterOptions = {
        enableOfflineQueue: false,
        clusterRetryStrategy: retryStrategy,
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 0,
        retryDelayOnTryAgain: 0,
        redisOptions: connection,
      };
      client = new Cluster(
        config.cluster.map((node) => ({ host: node.host, port: node.port })),
        options,
      );
    } else {
      connection.retryStrategy = retryStrategy;
      if (config.db !== undefined) connection.db = config.db;
      if (config.url !== undefined) client = new Redis(config.url, connection);
      else client = new Redis({ ...connection, host: config.host ?? '127.0.0.1', port: config.port ?? 6379 });
    }
    this.client = client;
    client.defineCommand('sluiceGcra', { numberOfKeys: 1, lua: GCRA_LUA });
    client.defineCommand('sluiceWindow', { numberOfKeys: 2, lua: WINDOW_LUA });
    client.defineCommand('sluiceLease', { numberOfKeys: 1, lua: LEASE_LUA });
    client.defineCommand('sluiceHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT_LUA });
    client.defineCommand('sluiceCounter', { numberOfKeys: 1, lua: COUNTER_LUA });
    client.defineCommand('sluiceTable', { numberOfKeys: 1, lua: TABLE_LUA });
    this.scripts = client as unknown as Scripts;

    client.on('ready', () => this.markUp());
    // An 'error' listener must always exist: without one, EventEmitter throws and the process dies.
    client.on('error', (err) => {
      if (this.client.status !== 'ready') this.markDown(err);
    });
    client.on('node error', (err) => this.logger.debug('Redis cluster node error', { error: errorMessage(err) }));
    client.on('close', () => this.markDown(null));
    client.on('end', () => this.markDown(null));
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  /** Live replicas sharing this key prefix, as last counted in Redis (this one included). */
  replicas(): number {
    return this.replicaCount;
  }

  /** This replica's part of a limit while answering without Redis: limit ÷ replicas, rounded down, at least 1. */
  private share(limit: number): number {
    if (this.replicaCount <= 1 || limit <= 0) return limit;
    return Math.max(1, Math.floor(limit / this.replicaCount));
  }

  async gcra(key: string, ratePerSecond: number, burst: number, now: number): Promise<LimitDecision> {
    validateGcra(ratePerSecond, burst);
    const interval = 1000 / ratePerSecond;
    const limit = burst + 1;
    const [tat] = scriptKeys(this.keyPrefix, key).gcra;
    // The share: rate ÷ replicas, and of the burst + 1 requests absorbed at once, the share of those.
    const localGcra = (): LimitDecision =>
      this.local.gcraSync(key, ratePerSecond / Math.max(1, this.replicaCount), this.share(limit) - 1, now);
    const [decision, remote] = await this.run(async () => toDecision(await this.scripts.sluiceGcra(tat, interval, burst * interval, limit), limit), localGcra);
    if (decision.allowed && remote && this.mirrors) localGcra();
    return decision;
  }

  async windowCheck(key: string, limit: number, windowMs: number, cost: number, now: number): Promise<LimitDecision> {
    validateWindow(limit, windowMs, cost);
    const [entries, sum] = scriptKeys(this.keyPrefix, key).window;
    const [decision, remote] = await this.run(
      async () => toDecision(await this.scripts.sluiceWindow(entries, sum, limit, windowMs, cost, 0), limit),
      () => this.local.windowCheckSync(key, this.share(limit), windowMs, cost, now),
    );
    if (decision.allowed && cost > 0 && remote && this.mirrors) this.local.windowAddSync(key, windowMs, cost, now);
    return decision;
  }

  /** Records usage after the fact; never throws for an unreachable Redis (fail_closed drops it: nothing to refuse). */
  async windowAdd(key: string, windowMs: number, cost: number, now: number): Promise<void> {
    validateWindow(0, windowMs, cost);
    if (cost === 0) return;
    const [entries, sum] = scriptKeys(this.keyPrefix, key).window;
    // Recorded here either way: the local share counts what this replica used, should Redis go away.
    if (this.mirrors) this.local.windowAddSync(key, windowMs, cost, now);
    await this.run(
      async () => void (await this.scripts.sluiceWindow(entries, sum, 0, windowMs, cost, 1)),
      () => undefined,
      () => undefined,
    );
  }

  async acquireLease(key: string, max: number, leaseId: string, ttlMs: number, now: number): Promise<LimitDecision> {
    validateLease(max, leaseId, ttlMs);
    if (ttlMs > this.longestLeaseTtlMs) this.longestLeaseTtlMs = ttlMs;
    const [leases] = scriptKeys(this.keyPrefix, key).lease;
    let answered: LimitDecision | null = null;
    const [decision, remote] = await this.run(
      async () => toDecision(await this.scripts.sluiceLease(leases, max, leaseId, ttlMs), max),
      () => this.local.acquireLeaseSync(key, this.share(max), leaseId, ttlMs, now),
      undefined,
      // Redis granted it after the request was answered without it: unless that answer took the slot too, give
      // the Redis slot back rather than leave it taken for the lease's ttl.
      (late) => {
        if (late.allowed && answered?.allowed !== true) this.retryRelease(leases, leaseId);
      },
    );
    answered = decision;
    // Held here too, so the local share counts it should Redis go away while it runs.
    if (decision.allowed && remote && this.mirrors) this.local.acquireLeaseSync(key, Number.MAX_SAFE_INTEGER, leaseId, ttlMs, now);
    return decision;
  }

  /** The checks one script each, in turn: a scope's keys may live on other cluster nodes than another's. */
  checkLimits(checks: readonly LimitCheck[], now: number): Promise<LimitChecks> {
    return checkLimitsInTurn(this, checks, now);
  }

  /**
   * Adds to a float counter in Redis. While Redis is unavailable the addition counts only here (fail_open) or is
   * dropped (fail_closed); the local copy also keeps what this replica added, for answers without Redis.
   */
  async counterAdd(key: string, amount: number, expiresAt: number | null, now: number): Promise<number> {
    if (!Number.isFinite(amount)) throw new RangeError(`counter amount must be a finite number, got ${amount}`);
    const [counter] = scriptKeys(this.keyPrefix, key).counter;
    const local = this.mirrors ? this.local.counterAddSync(key, amount, expiresAt, now) : 0;
    const [total] = await this.run(
      async () => Number(await this.scripts.sluiceCounter(counter, amount, expiresAt ?? 0)),
      () => local,
      () => local,
    );
    return total;
  }

  /** A counter's total from Redis; without Redis, what this replica added (fail_open) or SLUICE_STATE_UNAVAILABLE. */
  async counterGet(key: string, now: number): Promise<number> {
    const [counter] = scriptKeys(this.keyPrefix, key).counter;
    const [total] = await this.run(
      async () => Number((await this.client.get(counter)) ?? 0),
      () => this.local.counterGetSync(key, now),
    );
    return total;
  }

  /**
   * Publishes this member's entry and reads the table in one script. Without Redis (unreachable, or no reply in
   * time) it rejects with SLUICE_STATE_UNAVAILABLE in either fail mode: the other replicas' entries have no local
   * stand-in, and the caller (router state) keeps or drops what it had.
   */
  async exchangeEntry(key: string, member: string, value: string, ttlMs: number, _now: number): Promise<Record<string, string>> {
    validateEntry(member, ttlMs);
    const [table] = scriptKeys(this.keyPrefix, key).table;
    const unavailable = (): never => {
      throw new StateUnavailableError();
    };
    const [live] = await this.run(async () => toEntries(await this.scripts.sluiceTable(table, member, value, Math.ceil(ttlMs))), unavailable, unavailable);
    return live;
  }

  /** Drops this member's entry; without Redis it is left to expire by its ttl. Never throws for an unreachable Redis. */
  async withdrawEntry(key: string, member: string): Promise<void> {
    const [table] = scriptKeys(this.keyPrefix, key).table;
    await this.run(
      async () => void (await this.client.hdel(table, member)),
      () => undefined,
      () => undefined,
    );
  }

  /** Releases here and in Redis; never throws for an unreachable Redis (the release is retried once it answers). */
  async releaseLease(key: string, leaseId: string): Promise<void> {
    this.local.releaseLeaseSync(key, leaseId);
    const [leases] = scriptKeys(this.keyPrefix, key).lease;
    const [, confirmed] = await this.run(
      async () => void (await this.client.zrem(leases, leaseId)),
      () => undefined,
      () => undefined,
    );
    if (!confirmed) this.retryRelease(leases, leaseId);
  }

  /**
   * Resolves once the first connection attempt has a verdict (or after `timeoutMs`): true when Redis is up.
   * Not needed for correctness; a gateway may await it before listening so its first requests see shared state
   * (until then a check waits at most one command timeout, then answers as if Redis were down).
   */
  async connected(timeoutMs = 2000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.firstVerdict, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return this.connection === 'up';
  }

  private retryRelease(redisKey: string, leaseId: string): void {
    if (this.closing || this.unreleasedCount >= MAX_UNRELEASED) return;
    let ids = this.unreleased.get(redisKey);
    if (ids === undefined) this.unreleased.set(redisKey, (ids = new Map()));
    if (!ids.has(leaseId)) this.unreleasedCount++;
    ids.set(leaseId, performance.now() + this.longestLeaseTtlMs);
    this.scheduleReleases();
  }

  private scheduleReleases(): void {
    if (this.releaseTimer !== null || this.closing || this.unreleased.size === 0) return;
    const delay = Math.min(RELEASE_RETRY_MAX_DELAY_MS, 100 * 2 ** Math.min(this.releaseRounds, 16));
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      void this.flushReleases();
    }, delay);
    this.releaseTimer.unref();
  }

  /** One round of retries: one ZREM per key while Redis is up; leases past their ttl are dropped. Never throws. */
  private async flushReleases(): Promise<void> {
    if (this.flushing || this.closing) return;
    this.flushing = true;
    try {
      const now = performance.now();
      for (const [redisKey, ids] of this.unreleased) {
        for (const [id, giveUpAt] of ids) {
          if (giveUpAt <= now && ids.delete(id)) this.unreleasedCount--;
        }
        if (ids.size > 0 && this.connection === 'up') {
          const members = [...ids.keys()];
          const sentAt = performance.now();
          try {
            await this.bounded(this.client.zrem(redisKey, ...members));
            this.answered();
            for (const id of members) if (ids.delete(id)) this.unreleasedCount--;
          } catch (err) {
            this.failed(err, sentAt);
          }
        }
        if (ids.size === 0) this.unreleased.delete(redisKey);
      }
    } finally {
      this.flushing = false;
    }
    this.releaseRounds = this.unreleased.size === 0 ? 0 : this.releaseRounds + 1;
    this.scheduleReleases();
  }

  checkHealth(): Promise<StoreHealth> {
    this.healthCheck ??= this.pingNow().finally(() => (this.healthCheck = null));
    return this.healthCheck;
  }

  /**
   * A PING while the connection looks up. An unanswered one is reported at once (the check asked about now), and
   * counts as one failure towards degrading the store, like any command.
   */
  private async pingNow(): Promise<StoreHealth> {
    if (!this.closing && this.connection === 'up') {
      const sentAt = performance.now();
      try {
        await this.bounded(this.client.ping());
        this.answered();
      } catch (err) {
        this.failed(err, sentAt);
        return this.failMode === 'fail_open' ? 'degraded' : 'down';
      }
    }
    return this.health();
  }

  health(): StoreHealth {
    if (this.connection === 'up') return 'ok';
    return this.failMode === 'fail_open' ? 'degraded' : 'down';
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.settleFirstVerdict();
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    this.probeTimer = null;
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.releaseTimer !== null) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    await this.local.close();
    const client = this.client;
    if (client.status === 'end') return;
    // Leaving: the other replicas' shares grow at their next heartbeat instead of after this one's ttl.
    if (client.status === 'ready' && this.connection === 'up') {
      try {
        await this.bounded(client.zrem(this.replicasKey, this.replicaId));
      } catch {
        // it ages out of the set by itself
      }
    }
    const ended = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      client.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (client.status === 'ready') {
      try {
        await withTimeout(client.quit(), 500);
      } catch {
        client.disconnect();
      }
    } else {
      client.disconnect();
    }
    await ended;
  }

  /**
   * Runs one Redis operation and returns [its answer, true]; or, while Redis is unavailable or when this command
   * got no reply in time, [an answer without Redis, false]: fail_open from `local` (this replica's share);
   * fail_closed from `closed` if given (writes after the fact have nothing to refuse), else by throwing
   * SLUICE_STATE_UNAVAILABLE. `late` gets the reply of a command that timed out, should it still come.
   */
  private async run<T>(op: () => Promise<T>, local: () => T, closed?: () => T, late?: (value: T) => void): Promise<[T, boolean]> {
    if (this.closing) throw new Error('the shared-state store is closed');
    if (this.connection === 'connecting') await this.awaitFirstReady();
    if (this.connection !== 'up') return [this.unavailable(local, closed, null), false];
    const sentAt = performance.now();
    const pending = op();
    try {
      const value = await this.bounded(pending);
      this.answered();
      return [value, true];
    } catch (err) {
      if (err instanceof CommandTimeoutError) {
        pending.then(
          (value) => {
            this.answered();
            late?.(value);
          },
          () => undefined,
        );
      }
      this.failed(err, sentAt);
      return [this.unavailable(local, closed, err), false];
    }
  }

  /** Redis replied: whatever failed before was slowness, not an outage. */
  private answered(): void {
    this.failures = 0;
  }

  /**
   * A command failed. A connection that is gone is an outage at once; otherwise the store degrades only after
   * FAILURES_BEFORE_DEGRADED failures in a row, the first sent at least two timeouts ago: commands that pile up
   * behind one slow script and time out together do not count as a stall.
   */
  private failed(err: unknown, sentAt: number): void {
    if (this.closing || this.connection !== 'up') return;
    if (this.client.status !== 'ready') return this.markDown(err);
    if (this.failures === 0) this.failingSince = sentAt;
    this.failures++;
    if (this.failures >= FAILURES_BEFORE_DEGRADED && performance.now() - this.failingSince >= 2 * this.commandTimeoutMs) {
      this.markDown(err);
      return;
    }
    this.logger.debug('Shared state (Redis) did not answer one command in time; its request was decided without Redis.', {
      fail_mode: this.failMode,
      failures: this.failures,
      error: errorMessage(err),
    });
  }

  /** Records this replica's heartbeat and counts the live replicas; in the background, while Redis is up. */
  private async heartbeat(): Promise<void> {
    if (this.beating || this.closing || this.connection !== 'up') return;
    this.beating = true;
    const sentAt = performance.now();
    try {
      const count = Number(await this.bounded(this.scripts.sluiceHeartbeat(this.replicasKey, this.replicaId, this.replicaTtlMs)));
      this.answered();
      if (Number.isInteger(count) && count >= 1 && count !== this.replicaCount) {
        this.logger.debug('Replicas sharing limits through Redis.', { replicas: count });
        this.replicaCount = count;
      }
    } catch (err) {
      this.failed(err, sentAt);
    } finally {
      this.beating = false;
    }
  }

  private unavailable<T>(local: () => T, closed: (() => T) | undefined, cause: unknown): T {
    if (this.failMode === 'fail_open') return local();
    if (closed !== undefined) return closed();
    throw new StateUnavailableError(cause ?? undefined);
  }

  private bounded<T>(promise: Promise<T>): Promise<T> {
    return withTimeout(promise, this.commandTimeoutMs);
  }

  /** While down on a connection that still looks up (timeouts), a PING now and then tells when Redis answers again. */
  private async probe(): Promise<void> {
    if (this.probing || this.closing || this.connection !== 'down' || this.client.status !== 'ready') return;
    this.probing = true;
    try {
      await this.bounded(this.client.ping());
      this.answered();
      this.markUp();
    } catch {
      // still unavailable; the next tick tries again
    } finally {
      this.probing = false;
    }
  }

  /** Before the first connection, a check waits up to one command timeout for it instead of failing at once. */
  private async awaitFirstReady(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.firstVerdict, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.commandTimeoutMs)))]);
    clearTimeout(timer);
  }

  private markUp(): void {
    this.settleFirstVerdict();
    if (this.closing || this.connection === 'up') return;
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    this.probeTimer = null;
    const was = this.connection;
    this.connection = 'up';
    this.failures = 0;
    void this.heartbeat();
    if (was === 'down') this.logger.info('Shared state (Redis) is reachable again; limits are shared across replicas again.');
    else this.logger.info('Shared state (Redis) connected.', { cluster: this.isCluster, fail_mode: this.failMode });
    // Releases that did not get through while it was away go now.
    this.releaseRounds = 0;
    void this.flushReleases();
  }

  private markDown(err: unknown): void {
    if (this.closing || this.connection === 'down') return;
    // Before the first connection, a refused command is not news; a connection error is.
    if (this.connection === 'connecting' && err === null) return;
    this.settleFirstVerdict();
    this.connection = 'down';
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
    const consequence =
      this.failMode === 'fail_open'
        ? 'each replica enforces its limits locally until it is back.'
        : 'requests that need a limit check are refused until it is back.';
    const fields: Record<string, unknown> = { fail_mode: this.failMode };
    if (err !== null) fields.error = errorMessage(err);
    this.logger.warn(`Shared state (Redis) is unreachable; ${consequence}`, fields);
  }
}

function toDecision(reply: unknown, limit: number): LimitDecision {
  if (!Array.isArray(reply) || reply.length !== 4) throw new Error('unexpected reply from a Sluice Redis script');
  const [allowed, remaining, retryAfterMs, resetMs] = reply as unknown[];
  return { allowed: allowed === 1, limit, remaining: Number(remaining), retryAfterMs: Number(retryAfterMs), resetMs: Number(resetMs) };
}

function toEntries(reply: unknown): Record<string, string> {
  if (!Array.isArray(reply) || reply.length % 2 !== 0) throw new Error('unexpected reply from a Sluice Redis script');
  const entries: Record<string, string> = {};
  for (let i = 0; i < reply.length; i += 2) entries[String(reply[i])] = String(reply[i + 1]);
  return entries;
}

function tlsOptions(tls: RedisConfig['tls']): ConnectionOptions | undefined {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return {};
  const options: ConnectionOptions = { rejectUnauthorized: tls.reject_unauthorized ?? true };
  if (tls.ca !== undefined) options.ca = tls.ca.includes('-----BEGIN') ? tls.ca : readFileSync(tls.ca, 'utf8');
  return options;
}

/** A command that got no reply within the command timeout (Redis may still run it and reply later). */
class CommandTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis command timed out after ${ms} ms`);
    this.name = 'CommandTimeoutError';
  }
}

/**
 * `promise`, or a CommandTimeoutError once `ms` passed without it settling. A timer that fires late because the
 * event loop was busy would otherwise run before the I/O that carries the reply (timers come first in the loop);
 * so it waits one setImmediate, which runs after the poll phase has read whatever arrived.
 */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new CommandTimeoutError(ms));
      });
    }, ms);
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
