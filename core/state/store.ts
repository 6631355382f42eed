// Shared state for limits (counters, windows and leases) and for router state (a table each replica publishes its
// entry in), in memory by default or in Redis across replicas.
//
// Every check-and-update is one atomic step (one Lua script on Redis), so two replicas can never both take the
// last slot. Callers always await: the in-memory store answers at once, Redis within its command timeout. Every
// argument and result is plain JSON (strings, numbers, records of them), so a store can also be forwarded to
// another process.

/** The outcome of a limit check, with what the `x-ratelimit-*` headers need. */
export interface LimitDecision {
  readonly allowed: boolean;
  readonly limit: number;
  /** What is left in the window after this request (0 when refused). */
  readonly remaining: number;
  /** ms until the window has room for this request again (0 when allowed). */
  readonly retryAfterMs: number;
  /** ms until the window is completely free again. */
  readonly resetMs: number;
}

/**
 * One check of `checkLimits`: a concurrency lease (as `acquireLease`) or a sliding window (as `windowCheck`). A
 * window check with `fit` reports only (give it cost 0) and refuses when `fit` is more than its `remaining`
 * (a request's estimated tokens against what is left of the minute's).
 */
export type LimitCheck =
  | { readonly lease: string; readonly max: number; readonly leaseId: string; readonly ttlMs: number }
  | { readonly window: string; readonly limit: number; readonly windowMs: number; readonly cost: number; readonly fit?: number };

/** What `checkLimits` answers: every check's decision up to the first that refused, which is then the last. */
export interface LimitChecks {
  readonly allowed: boolean;
  readonly decisions: readonly LimitDecision[];
}

/** True when `decision` refuses `check`: a lease or a window not allowed, or a window with less left than `fit`. */
export function refuses(check: LimitCheck, decision: LimitDecision): boolean {
  return 'lease' in check || check.fit === undefined ? !decision.allowed : check.fit > decision.remaining;
}

/**
 * `checkLimits` for a store without a combined step: the checks one after another, each one atomic step of its own
 * (so another caller's checks may run between them), and the leases taken given back when a later check refuses.
 */
export async function checkLimitsInTurn(store: SharedStore, checks: readonly LimitCheck[], now: number): Promise<LimitChecks> {
  const decisions: LimitDecision[] = [];
  const leases: { key: string; id: string }[] = [];
  try {
    for (const check of checks) {
      const decision =
        'lease' in check
          ? await store.acquireLease(check.lease, check.max, check.leaseId, check.ttlMs, now)
          : await store.windowCheck(check.window, check.limit, check.windowMs, check.cost, now);
      decisions.push(decision);
      if (refuses(check, decision)) {
        await Promise.all(leases.map((lease) => store.releaseLease(lease.key, lease.id)));
        return { allowed: false, decisions };
      }
      if ('lease' in check) leases.push({ key: check.lease, id: check.leaseId });
    }
  } catch (error) {
    await Promise.all(leases.map((lease) => store.releaseLease(lease.key, lease.id)));
    throw error;
  }
  return { allowed: true, decisions };
}

/** How the store is doing; `degraded` means Redis is unreachable and local limits stand in (fail_open). */
export type StoreHealth = 'ok' | 'degraded' | 'down';

/**
 * The checks a store can answer on the spot, without a promise: the memory store's. A caller on the request path
 * uses them when present, so a limit check in memory costs no microtask (and its admit phase stays synchronous).
 */
export interface SyncLimits {
  windowCheckSync(key: string, limit: number, windowMs: number, cost: number, now: number): LimitDecision;
  windowAddSync(key: string, windowMs: number, cost: number, now: number): void;
  acquireLeaseSync(key: string, max: number, leaseId: string, ttlMs: number, now: number): LimitDecision;
  releaseLeaseSync(key: string, leaseId: string): void;
}

export interface SharedStore {
  /** `primary`: a worker's (`server.workers`), the primary process's memory store over IPC, shared by all workers. */
  readonly kind: 'memory' | 'redis' | 'primary';
  /** The same checks answered synchronously; only on a store that never waits (memory). Throws where the async form rejects. */
  readonly sync?: SyncLimits;
  /**
   * GCRA, as nginx's `limit_req`: `ratePerSecond` sustained, `burst` extra requests absorbed at once.
   * `limit` in the decision is the burst size + 1; `remaining` how many more would pass right now.
   */
  gcra(key: string, ratePerSecond: number, burst: number, now: number): Promise<LimitDecision>;
  /**
   * Sliding window: admits `cost` when the sum of costs in the last `windowMs` plus `cost` stays within `limit`,
   * and records it. With `cost` 0 it only reports (for "does an estimate fit").
   */
  windowCheck(key: string, limit: number, windowMs: number, cost: number, now: number): Promise<LimitDecision>;
  /** Records `cost` in the window without a check (tokens charged once a response's usage is known). */
  windowAdd(key: string, windowMs: number, cost: number, now: number): Promise<void>;
  /** Takes one of `max` concurrent leases; a lease not released within `ttlMs` expires (a crashed replica). */
  acquireLease(key: string, max: number, leaseId: string, ttlMs: number, now: number): Promise<LimitDecision>;
  releaseLease(key: string, leaseId: string): Promise<void>;
  /**
   * Runs `checks` in order and stops at the first that refuses (see `refuses`); the leases taken by this call are
   * given back when one does. One atomic step on a store that can (memory, and a worker's store forwards it as one
   * message to the primary's); check by check on Redis, whose keys for different scopes may live on different
   * cluster nodes. A caller with several limits to check makes one call instead of one per limit.
   */
  checkLimits(checks: readonly LimitCheck[], now: number): Promise<LimitChecks>;
  /**
   * Adds `amount` (a float: spend in USD) to a counter and returns its new total. The counter is dropped at
   * `expiresAt` (epoch ms, the end of a budget period; null keeps it), so name each period's counter apart.
   */
  counterAdd(key: string, amount: number, expiresAt: number | null, now: number): Promise<number>;
  /** A counter's total (0 when absent or expired). */
  counterGet(key: string, now: number): Promise<number>;
  /**
   * Publishes `member`'s entry in the shared table `key` and returns the entries of every member still live, this
   * one's included (member → value), in one atomic step. An entry is dropped `ttlMs` after it was last published
   * (by the store's clock: Redis's own on Redis), so the entry of a replica that crashed goes away by itself.
   * `value` is opaque text (router state publishes JSON). Rejects while a remote store cannot answer (the caller
   * keeps what it had): there is no local stand-in for the other members' entries.
   */
  exchangeEntry(key: string, member: string, value: string, ttlMs: number, now: number): Promise<Record<string, string>>;
  /** Drops `member`'s entry from table `key` (a replica leaving cleanly). Never rejects for an unreachable store. */
  withdrawEntry(key: string, member: string): Promise<void>;
  health(): StoreHealth;
  /**
   * Asks a remote store now (within its command timeout) and returns its health, so a stall shows before a
   * request runs into it. Never rejects. Absent on the memory store.
   */
  checkHealth?(): Promise<StoreHealth>;
  /** Resolves once a remote store is reachable (true) or `timeoutMs` passed (false). Absent on the memory store. */
  connected?(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}
