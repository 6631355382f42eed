// In-memory shared state: GCRA, exact sliding windows, leases, counters and shared tables for one process (the default store, and the
// local stand-in a Redis store answers from while Redis is unreachable in fail_open mode).
//
// Times are whatever clock the callers pass as `now` (epoch ms in Sluice); the store never reads a clock itself,
// not even for its periodic sweep, which uses the latest `now` it has seen.

import { refuses, type LimitCheck, type LimitChecks, type LimitDecision, type SharedStore, type StoreHealth, type SyncLimits } from './store.ts';

/** Slack (ms) for float comparisons of theoretical arrival times; far below anything a header can show. */
export const TIME_EPSILON_MS = 0.001;

export interface MemoryStoreOptions {
  /** How often a timer drops keys whose data has all expired; 0 disables it (lazy cleanup only). Default 30 s. */
  sweepIntervalMs?: number;
}

/** Per key of a sliding window: a time-ordered log of (time, cost) from `head` on, and the sum of those costs. */
interface WindowLog {
  times: number[];
  costs: number[];
  head: number;
  sum: number;
  /** The window of the last call, for the sweep. */
  windowMs: number;
}

/** Drops the spent prefix of a window log once it is large and at least half of the arrays. */
const COMPACT_AT = 256;

export class MemoryStore implements SharedStore {
  readonly kind = 'memory' as const;
  /** Every check answers at once: callers on the request path skip the promise. */
  readonly sync: SyncLimits = this;
  /** GCRA: key → theoretical arrival time. */
  private readonly tats = new Map<string, number>();
  private readonly windows = new Map<string, WindowLog>();
  /** key → its leases, earliest expiry first. */
  private readonly leases = new Map<string, LeaseList>();
  /** Float counters (spend); `expiresAt` Infinity when the counter never expires. */
  private readonly counters = new Map<string, { value: number; expiresAt: number }>();
  /** Shared tables: key → (member → its entry and when it expires). */
  private readonly tables = new Map<string, Map<string, { value: string; expiresAt: number }>>();
  private latestNow = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: MemoryStoreOptions = {}) {
    const interval = options.sweepIntervalMs ?? 30_000;
    if (interval > 0) {
      this.timer = setInterval(() => this.sweep(), interval);
      this.timer.unref();
    }
  }

  // The async methods are plain functions over the *Sync ones (no async frame on the hot path); a bad argument
  // still comes back as a rejected promise, as from any store.

  gcra(key: string, ratePerSecond: number, burst: number, now: number): Promise<LimitDecision> {
    try {
      return Promise.resolve(this.gcraSync(key, ratePerSecond, burst, now));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  windowCheck(key: string, limit: number, windowMs: number, cost: number, now: number): Promise<LimitDecision> {
    try {
      return Promise.resolve(this.windowCheckSync(key, limit, windowMs, cost, now));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  windowAdd(key: string, windowMs: number, cost: number, now: number): Promise<void> {
    try {
      this.windowAddSync(key, windowMs, cost, now);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  acquireLease(key: string, max: number, leaseId: string, ttlMs: number, now: number): Promise<LimitDecision> {
    try {
      return Promise.resolve(this.acquireLeaseSync(key, max, leaseId, ttlMs, now));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  checkLimits(checks: readonly LimitCheck[], now: number): Promise<LimitChecks> {
    try {
      return Promise.resolve(this.checkLimitsSync(checks, now));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  releaseLease(key: string, leaseId: string): Promise<void> {
    this.releaseLeaseSync(key, leaseId);
    return Promise.resolve();
  }

  counterAdd(key: string, amount: number, expiresAt: number | null, now: number): Promise<number> {
    try {
      return Promise.resolve(this.counterAddSync(key, amount, expiresAt, now));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  counterGet(key: string, now: number): Promise<number> {
    return Promise.resolve(this.counterGetSync(key, now));
  }

  exchangeEntry(key: string, member: string, value: string, ttlMs: number, now: number): Promise<Record<string, string>> {
    try {
      return Promise.resolve(this.exchangeEntrySync(key, member, value, ttlMs, now));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  withdrawEntry(key: string, member: string): Promise<void> {
    this.withdrawEntrySync(key, member);
    return Promise.resolve();
  }

  exchangeEntrySync(key: string, member: string, value: string, ttlMs: number, now: number): Record<string, string> {
    validateEntry(member, ttlMs);
    this.seen(now);
    let table = this.tables.get(key);
    if (table === undefined) this.tables.set(key, (table = new Map()));
    table.set(member, { value, expiresAt: now + ttlMs });
    const live: Record<string, string> = {};
    for (const [name, entry] of table) {
      if (entry.expiresAt <= now) table.delete(name);
      else live[name] = entry.value;
    }
    return live;
  }

  withdrawEntrySync(key: string, member: string): void {
    const table = this.tables.get(key);
    if (table === undefined) return;
    table.delete(member);
    if (table.size === 0) this.tables.delete(key);
  }

  counterAddSync(key: string, amount: number, expiresAt: number | null, now: number): number {
    if (!Number.isFinite(amount)) throw new RangeError(`counter amount must be a finite number, got ${amount}`);
    this.seen(now);
    const until = expiresAt ?? Number.POSITIVE_INFINITY;
    let counter = this.counters.get(key);
    if (counter === undefined || counter.expiresAt <= now) {
      counter = { value: 0, expiresAt: until };
      this.counters.set(key, counter);
    }
    counter.value += amount;
    counter.expiresAt = until;
    if (until <= now) this.counters.delete(key);
    return counter.value;
  }

  counterGetSync(key: string, now: number): number {
    const counter = this.counters.get(key);
    if (counter === undefined) return 0;
    if (counter.expiresAt <= now) {
      this.counters.delete(key);
      return 0;
    }
    return counter.value;
  }

  health(): StoreHealth {
    return 'ok';
  }

  close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    return Promise.resolve();
  }

  /** GCRA (nginx `limit_req`): emission interval T = 1000/rate ms, tolerance τ = burst·T; pass iff now ≥ TAT − τ. */
  gcraSync(key: string, ratePerSecond: number, burst: number, now: number): LimitDecision {
    validateGcra(ratePerSecond, burst);
    this.seen(now);
    const interval = 1000 / ratePerSecond;
    const tolerance = burst * interval;
    const limit = burst + 1;
    const stored = this.tats.get(key);
    const tat = stored === undefined || stored < now ? now : stored;
    const allowAt = tat - tolerance;
    if (now + TIME_EPSILON_MS < allowAt) {
      return { allowed: false, limit, remaining: 0, retryAfterMs: ceilMs(allowAt - now, 1), resetMs: ceilMs(tat - now, 0) };
    }
    const next = tat + interval;
    this.tats.set(key, next);
    return { allowed: true, limit, remaining: gcraRemaining(now, next, interval, tolerance, limit), retryAfterMs: 0, resetMs: ceilMs(next - now, 0) };
  }

  /** Exact sliding window: an entry at time t counts while now < t + windowMs. */
  windowCheckSync(key: string, limit: number, windowMs: number, cost: number, now: number): LimitDecision {
    validateWindow(limit, windowMs, cost);
    this.seen(now);
    let log = this.windows.get(key);
    if (log !== undefined) trim(log, now - windowMs);
    const sum = log === undefined ? 0 : log.sum;
    if (sum + cost <= limit) {
      if (cost > 0) {
        if (log === undefined) {
          log = { times: [], costs: [], head: 0, sum: 0, windowMs };
          this.windows.set(key, log);
        }
        append(log, now, cost);
      }
      if (log === undefined || log.head === log.times.length) {
        if (log !== undefined) this.windows.delete(key);
        return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - sum)), retryAfterMs: 0, resetMs: 0 };
      }
      log.windowMs = windowMs;
      const resetMs = ceilMs(log.times[log.times.length - 1]! + windowMs - now, 0);
      return { allowed: true, limit, remaining: Math.max(0, Math.floor(limit - log.sum)), retryAfterMs: 0, resetMs };
    }
    // Refused: nothing recorded. `log` is non-empty here, since sum + cost > limit ≥ 0 means sum > 0 or cost > limit.
    if (log === undefined || log.head === log.times.length) {
      if (log !== undefined) this.windows.delete(key);
      return { allowed: false, limit, remaining: 0, retryAfterMs: Math.ceil(windowMs), resetMs: 0 };
    }
    const resetMs = ceilMs(log.times[log.times.length - 1]! + windowMs - now, 0);
    // A cost above the limit can never fit: say "a whole window" rather than 0 so clients do not spin.
    if (cost > limit) return { allowed: false, limit, remaining: 0, retryAfterMs: Math.ceil(windowMs), resetMs };
    const need = sum + cost - limit;
    let freed = 0;
    let retryAfterMs = resetMs;
    for (let i = log.head; i < log.times.length; i++) {
      freed += log.costs[i]!;
      if (freed >= need) {
        retryAfterMs = ceilMs(log.times[i]! + windowMs - now, 1);
        break;
      }
    }
    return { allowed: false, limit, remaining: 0, retryAfterMs, resetMs };
  }

  windowAddSync(key: string, windowMs: number, cost: number, now: number): void {
    validateWindow(0, windowMs, cost);
    this.seen(now);
    let log = this.windows.get(key);
    if (log !== undefined) trim(log, now - windowMs);
    if (cost === 0) {
      if (log !== undefined && log.head === log.times.length) this.windows.delete(key);
      return;
    }
    if (log === undefined) {
      log = { times: [], costs: [], head: 0, sum: 0, windowMs };
      this.windows.set(key, log);
    }
    log.windowMs = windowMs;
    append(log, now, cost);
  }

  /** Takes a lease, or renews it when `leaseId` already holds one. A lease counts while now < its expiry. */
  acquireLeaseSync(key: string, max: number, leaseId: string, ttlMs: number, now: number): LimitDecision {
    validateLease(max, leaseId, ttlMs);
    this.seen(now);
    let held = this.leases.get(key);
    if (held !== undefined) held.dropExpired(now);
    const size = held === undefined ? 0 : held.size;
    if (size < max || held!.has(leaseId)) {
      if (held === undefined) {
        held = new LeaseList();
        this.leases.set(key, held);
      }
      held.set(leaseId, now + ttlMs);
      return { allowed: true, limit: max, remaining: max - held.size, retryAfterMs: 0, resetMs: ceilMs(held.latest!.expiry - now, 0) };
    }
    // Refused: size ≥ max ≥ 1, so `held` has leases.
    return { allowed: false, limit: max, remaining: 0, retryAfterMs: ceilMs(held!.earliest!.expiry - now, 1), resetMs: ceilMs(held!.latest!.expiry - now, 0) };
  }

  /** The checks in order, as one step: stops at the first that refuses and gives back the leases taken before it. */
  checkLimitsSync(checks: readonly LimitCheck[], now: number): LimitChecks {
    const decisions: LimitDecision[] = [];
    // Every lease decided before a refusal (or a bad argument) was granted: those are the ones to give back.
    const giveBack = (): void => {
      for (let i = 0; i < decisions.length; i++) {
        const check = checks[i]!;
        if ('lease' in check && decisions[i]!.allowed) this.releaseLeaseSync(check.lease, check.leaseId);
      }
    };
    try {
      for (const check of checks) {
        validateCheck(check);
        const decision =
          'lease' in check
            ? this.acquireLeaseSync(check.lease, check.max, check.leaseId, check.ttlMs, now)
            : this.windowCheckSync(check.window, check.limit, check.windowMs, check.cost, now);
        decisions.push(decision);
        if (refuses(check, decision)) {
          giveBack();
          return { allowed: false, decisions };
        }
      }
    } catch (err) {
      giveBack();
      throw err;
    }
    return { allowed: true, decisions };
  }

  releaseLeaseSync(key: string, leaseId: string): void {
    const held = this.leases.get(key);
    if (held === undefined) return;
    held.delete(leaseId);
    if (held.size === 0) this.leases.delete(key);
  }

  /** Drops every key whose data has all expired by `now` (default: the latest `now` a caller passed). */
  sweep(now: number = this.latestNow): void {
    if (!Number.isFinite(now)) return;
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
    for (const [key, log] of this.windows) {
      trim(log, now - log.windowMs);
      if (log.head === log.times.length) this.windows.delete(key);
    }
    for (const [key, held] of this.leases) {
      held.dropExpired(now);
      if (held.size === 0) this.leases.delete(key);
    }
    for (const [key, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(key);
    for (const [key, table] of this.tables) {
      for (const [member, entry] of table) if (entry.expiresAt <= now) table.delete(member);
      if (table.size === 0) this.tables.delete(key);
    }
  }

  /** How many keys each kind of limit holds (for tests and metrics). */
  stats(): { gcra: number; windows: number; leases: number } {
    return { gcra: this.tats.size, windows: this.windows.size, leases: this.leases.size };
  }

  private seen(now: number): void {
    if (now > this.latestNow) this.latestNow = now;
  }
}

function trim(log: WindowLog, cutoff: number): void {
  const { times, costs } = log;
  let head = log.head;
  let sum = log.sum;
  while (head < times.length && times[head]! <= cutoff) sum -= costs[head++]!;
  if (head === times.length) {
    times.length = 0;
    costs.length = 0;
    log.head = 0;
    log.sum = 0;
    return;
  }
  if (head >= COMPACT_AT && head * 2 >= times.length) {
    times.splice(0, head);
    costs.splice(0, head);
    head = 0;
  }
  log.head = head;
  // Integer costs sum exactly; fractional ones may drift a hair below zero.
  log.sum = sum < 0 ? 0 : sum;
}

/**
 * Appends keeping the log time-ordered even if a caller's clock steps back. Entries with the same timestamp share
 * one slot: they expire together, so the window stays exact while a busy key (thousands of requests a second, all
 * on millisecond clocks) keeps one entry per millisecond instead of one per request.
 */
function append(log: WindowLog, now: number, cost: number): void {
  const n = log.times.length;
  const last = n > log.head ? log.times[n - 1]! : Number.NEGATIVE_INFINITY;
  if (now <= last) {
    log.costs[n - 1]! += cost;
  } else {
    log.times.push(now);
    log.costs.push(cost);
  }
  log.sum += cost;
}

/** One lease in a key's list. */
interface LeaseNode {
  readonly id: string;
  expiry: number;
  /** Neighbours in expiry order: `earlier` expires no later than this one, `later` no earlier. */
  earlier: LeaseNode | null;
  later: LeaseNode | null;
}

/**
 * One key's leases, a doubly linked list in expiry order (ties in the order they were taken) with an index by id.
 * A key's leases are taken with one TTL, so a new or renewed lease expires last and goes to the end: acquire,
 * release and expiry are O(1), and the expired ones are dropped from the front. A lease that expires earlier than
 * the latest (a reload shortened `lease_ttl`, a caller's clock stepped back) is walked back to its place, passing
 * only the leases that expire after it.
 */
class LeaseList {
  readonly #byId = new Map<string, LeaseNode>();
  /** The lease that expires first, and the one that expires last (null when empty). */
  earliest: LeaseNode | null = null;
  latest: LeaseNode | null = null;

  get size(): number {
    return this.#byId.size;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Takes `id` until `expiry`, or moves its lease to `expiry` when it holds one. */
  set(id: string, expiry: number): void {
    let node = this.#byId.get(id);
    if (node === undefined) {
      node = { id, expiry, earlier: null, later: null };
      this.#byId.set(id, node);
    } else {
      this.#unlink(node);
      node.expiry = expiry;
    }
    // After the last lease that expires no later than this one.
    let before = this.latest;
    while (before !== null && before.expiry > expiry) before = before.earlier;
    node.earlier = before;
    node.later = before === null ? this.earliest : before.later;
    if (node.earlier === null) this.earliest = node;
    else node.earlier.later = node;
    if (node.later === null) this.latest = node;
    else node.later.earlier = node;
  }

  delete(id: string): void {
    const node = this.#byId.get(id);
    if (node === undefined) return;
    this.#byId.delete(id);
    this.#unlink(node);
  }

  /** Drops every lease whose expiry is ≤ `now`: they are at the front. */
  dropExpired(now: number): void {
    let node = this.earliest;
    while (node !== null && node.expiry <= now) {
      this.#byId.delete(node.id);
      node = node.later;
    }
    if (node === this.earliest) return;
    this.earliest = node;
    if (node === null) this.latest = null;
    else node.earlier = null;
  }

  #unlink(node: LeaseNode): void {
    if (node.earlier === null) this.earliest = node.later;
    else node.earlier.later = node.later;
    if (node.later === null) this.latest = node.earlier;
    else node.later.earlier = node.earlier;
    node.earlier = null;
    node.later = null;
  }
}

/** How many more requests GCRA would pass right now after moving TAT to `tat`. */
export function gcraRemaining(now: number, tat: number, interval: number, tolerance: number, limit: number): number {
  const slack = (now + tolerance - tat) / interval;
  if (slack < -1e-9) return 0;
  return Math.min(limit - 1, Math.floor(slack + 1e-9) + 1);
}

/** Whole ms, rounded up (ignoring float noise below TIME_EPSILON_MS), at least `min`. */
function ceilMs(ms: number, min: number): number {
  const whole = Math.ceil(ms - TIME_EPSILON_MS);
  return whole < min ? min : whole;
}

// Argument checks shared with the Redis store: a bad limit is a configuration bug, never a refusal.

export function validateGcra(ratePerSecond: number, burst: number): void {
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`GCRA rate must be a positive number, got ${ratePerSecond}`);
  if (!(Number.isInteger(burst) && burst >= 0)) throw new RangeError(`GCRA burst must be a whole number ≥ 0, got ${burst}`);
}

export function validateWindow(limit: number, windowMs: number, cost: number): void {
  if (!(Number.isFinite(limit) && limit >= 0)) throw new RangeError(`window limit must be a number ≥ 0, got ${limit}`);
  if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new RangeError(`window length must be a positive number of ms, got ${windowMs}`);
  if (!(Number.isFinite(cost) && cost >= 0)) throw new RangeError(`window cost must be a number ≥ 0, got ${cost}`);
}

export function validateEntry(member: string, ttlMs: number): void {
  if (member.length === 0) throw new RangeError('table member must not be empty');
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new RangeError(`table entry ttl must be a positive number of ms, got ${ttlMs}`);
}

export function validateCheck(check: LimitCheck): void {
  const named = check as { lease?: unknown; window?: unknown } | null;
  if (typeof named !== 'object' || named === null || (typeof named.lease !== 'string' && typeof named.window !== 'string')) {
    throw new TypeError('a limit check must name a lease or a window key');
  }
}

export function validateLease(max: number, leaseId: string, ttlMs: number): void {
  if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`lease maximum must be a whole number ≥ 1, got ${max}`);
  if (leaseId.length === 0) throw new RangeError('lease id must not be empty');
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new RangeError(`lease ttl must be a positive number of ms, got ${ttlMs}`);
}
