// limit.key: requests, tokens and concurrency per API key and per model group, shared across replicas.

import { randomBytes } from 'node:crypto';
import { createSlot, definePlugin, estimateRequestTokens, type LimitCheck, type LimitDecision, type AuthInfo, type Plugin, type RequestContext, type SharedStore, type SluiceError } from '../../core/plugin/api.ts';
import { rateLimited, rateLimitHeaders } from './headers.ts';

interface Limits {
  rpm?: number;
  tpm?: number;
  max_parallel_requests?: number;
}

interface Options {
  /** Limits per model group, for all callers together. */
  models?: Record<string, Limits>;
  /** Seconds after which a concurrency slot of a request that never ended (a crashed replica) frees itself. */
  lease_ttl?: number;
}

/** A scope a request is counted in: its key, its model group. */
interface Scope {
  readonly name: string;
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly parallel: number | null;
  /** The store keys of its concurrency leases, token window and request window. */
  readonly concKey: string;
  readonly tpmKey: string;
  readonly rpmKey: string;
}

interface Held {
  readonly leaseId: string;
  /** Keys of the concurrency leases this request holds. */
  leases: string[];
  tokenScopes: string[];
  /** The model group's scope it was last admitted under, if that group has limits (a fallback replaces it). */
  groupScope: string | null;
  /** Set by `log` once the leases are released: an admission still under way then gives back what it took. */
  closed: boolean;
}

const held = createSlot<Held>('limit.key.held');
/** The checks of a store that answers on the spot (the memory store). */
type SyncLimits = NonNullable<SharedStore['sync']>;
const MINUTE = 60_000;

/**
 * Concurrency slots are named by the server, never by the client: a client's `x-request-id` is only for
 * correlation, and reusing one must not renew another request's slot. Random per process, so replicas sharing
 * Redis never collide; a counter within it.
 */
const LEASE_PREFIX = randomBytes(9).toString('base64url');
let leaseCount = 0;
function nextLeaseId(): string {
  return `${LEASE_PREFIX}:${(leaseCount++).toString(36)}`;
}

/**
 * Per-key limits come from the `keys:` entries (`rpm`, `tpm`, `max_parallel_requests`, set by `auth.api_key`);
 * per-model-group limits from this plugin's `models` option. Requests per minute use an exact sliding window;
 * tokens per minute are charged from the response's `usage` (streams included) and, before a request, its
 * estimated prompt size must fit what is left; concurrency uses leases that the `log` phase releases. With
 * `redis:` configured, all of it holds across replicas.
 *
 * ```yaml
 * plugins:
 *   - auth.api_key
 *   - name: limit.key
 *     options:
 *       models:
 *         llama3.2: { rpm: 1200, tpm: 500000, max_parallel_requests: 32 }
 *   - route.least_busy
 * ```
 */
export default definePlugin<Options>({
  id: 'limit.key',
  description: 'Requests, tokens and concurrent requests per API key and per model group.',
  sections: ['keys'],
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      models: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          properties: {
            rpm: { type: 'integer', minimum: 1 },
            tpm: { type: 'integer', minimum: 1 },
            max_parallel_requests: { type: 'integer', minimum: 1 },
          },
        },
      },
      lease_ttl: { type: 'number', exclusiveMinimum: 0, default: 900 },
    },
  },
  create(options, deps): Plugin {
    const store = deps.store;
    // The memory store answers on the spot: its checks run without a promise, and admit stays synchronous.
    const sync = store.sync ?? null;
    const leaseTtl = (options.lease_ttl ?? 900) * 1000;
    const groupScopes = new Map<string, Scope>();
    for (const [group, limits] of Object.entries(options.models ?? {})) {
      groupScopes.set(group, scopeOf(`model:${group}`, limits.rpm ?? null, limits.tpm ?? null, limits.max_parallel_requests ?? null));
    }
    /**
     * Each caller's scope, built on its first request: keyed by the AuthInfo object (auth.api_key keeps one per
     * configured key), so a plugin that makes one per request costs a miss, never a growing map.
     */
    const keyScopes = new WeakMap<AuthInfo, Scope>();

    /** The key's scope (counted once per request) and the scope of the group the request is admitted to. */
    function scopesOf(ctx: RequestContext, withKey: boolean): Scope[] {
      const scopes: Scope[] = [];
      const auth = ctx.auth;
      if (withKey && auth !== null && (auth.limits.rpm !== null || auth.limits.tpm !== null || auth.limits.maxParallelRequests !== null)) {
        let scope = keyScopes.get(auth);
        if (scope === undefined) {
          scope = scopeOf(`key:${auth.keyId}`, auth.limits.rpm, auth.limits.tpm, auth.limits.maxParallelRequests);
          keyScopes.set(auth, scope);
        }
        scopes.push(scope);
      }
      const group = groupScopes.get(ctx.group?.name ?? ctx.model);
      if (group !== undefined) scopes.push(group);
      return scopes;
    }

    function release(leases: readonly string[], leaseId: string): Promise<void> {
      if (sync !== null) {
        for (const key of leases) sync.releaseLeaseSync(key, leaseId);
        return DONE;
      }
      return Promise.all(leases.map((key) => store.releaseLease(key, leaseId))).then(() => undefined);
    }

    function warnOnFailure(ctx: RequestContext, work: Promise<unknown>): void {
      if (work === DONE) return;
      void work.catch((error: unknown) => deps.logger.warn('limit.key: could not record usage', { request: ctx.id, error }));
    }

    /** This request's limit state, created on its first admission. */
    function heldBy(ctx: RequestContext, earlier: Held | undefined): Held {
      if (earlier !== undefined) return earlier;
      const state: Held = { leaseId: nextLeaseId(), leases: [], tokenScopes: [], groupScope: null, closed: false };
      ctx.set(held, state);
      return state;
    }

    /** The checks of one admission, on the memory store: no promise anywhere. Throws the 429. */
    function checkSync(limits: SyncLimits, scopes: readonly Scope[], state: Held, estimate: number, now: number): Admission {
      const taken: Admission = { leases: [], tokenScopes: [], requests: null, tokens: null };
      try {
        for (const scope of scopes) {
          if (scope.parallel !== null) {
            if (!limits.acquireLeaseSync(scope.concKey, scope.parallel, state.leaseId, leaseTtl, now).allowed) throw tooManyConcurrent(scope);
            taken.leases.push(scope.concKey);
          }
          if (scope.tpm !== null) tokensFit(taken, scope, limits.windowCheckSync(scope.tpmKey, scope.tpm, MINUTE, 0, now), estimate);
          if (scope.rpm !== null) requestCounted(taken, scope, limits.windowCheckSync(scope.rpmKey, scope.rpm, MINUTE, 1, now));
        }
      } catch (error) {
        for (const key of taken.leases) limits.releaseLeaseSync(key, state.leaseId);
        throw error;
      }
      return taken;
    }

    /**
     * The same checks on a store that is waited for (a worker's, Redis), asked in one call: one message to the
     * primary for a worker, whose store runs them as one step. Rejects with the 429; a refusal has already given
     * back the slots this admission took.
     */
    async function checkAsync(scopes: readonly Scope[], state: Held, estimate: number, now: number): Promise<Admission> {
      const checks: LimitCheck[] = [];
      for (const scope of scopes) {
        // Concurrency first: a slot is the one thing given back again if a later check refuses.
        if (scope.parallel !== null) checks.push({ lease: scope.concKey, max: scope.parallel, leaseId: state.leaseId, ttlMs: leaseTtl });
        if (scope.tpm !== null) checks.push({ window: scope.tpmKey, limit: scope.tpm, windowMs: MINUTE, cost: 0, fit: estimate });
        if (scope.rpm !== null) checks.push({ window: scope.rpmKey, limit: scope.rpm, windowMs: MINUTE, cost: 1 });
      }
      const { decisions } = await store.checkLimits(checks, now);
      // The decisions in the order asked, read as checkSync reads them: the refused one (the last) throws.
      const taken: Admission = { leases: [], tokenScopes: [], requests: null, tokens: null };
      let next = 0;
      for (const scope of scopes) {
        if (scope.parallel !== null) {
          if (!decisions[next++]!.allowed) throw tooManyConcurrent(scope);
          taken.leases.push(scope.concKey);
        }
        if (scope.tpm !== null) tokensFit(taken, scope, decisions[next++]!, estimate);
        if (scope.rpm !== null) requestCounted(taken, scope, decisions[next++]!);
      }
      return taken;
    }

    /** Books what an admission took onto the request's state; the headers go out with its first admission. */
    function settle(ctx: RequestContext, state: Held, earlier: Held | undefined, taken: Admission): void {
      if (state.closed) {
        // The request ended while this (fallback) admission was under way.
        warnOnFailure(ctx, release(taken.leases, state.leaseId));
        return;
      }
      const groupScope = groupScopes.get(ctx.group?.name ?? ctx.model)?.name ?? null;
      const left = state.groupScope;
      if (earlier !== undefined && left !== null && left !== groupScope) {
        // The group left behind no longer holds a slot for this request, nor gets its tokens.
        const lease = `conc:${left}`;
        if (state.leases.includes(lease)) {
          state.leases = state.leases.filter((key) => key !== lease);
          warnOnFailure(ctx, release([lease], state.leaseId));
        }
        state.tokenScopes = state.tokenScopes.filter((key) => key !== `tpm:${left}`);
      }
      state.groupScope = groupScope;
      for (const key of taken.leases) state.leases.push(key);
      for (const key of taken.tokenScopes) state.tokenScopes.push(key);
      // The headers describe the limits the request was first admitted under.
      if (earlier !== undefined) return;
      if (taken.requests !== null) rateLimitHeaders(ctx.responseHeaders, 'requests', taken.requests);
      if (taken.tokens !== null) rateLimitHeaders(ctx.responseHeaders, 'tokens', taken.tokens);
    }

    // Reading usage costs a little per response; only token limits need it.
    const keys = (deps.sections['keys'] ?? []) as { tpm?: number }[];
    const countsTokens = [...groupScopes.values()].some((g) => g.tpm !== null) || keys.some((k) => k.tpm !== undefined);

    return {
      wantsUsage: countsTokens,

      admit(ctx: RequestContext): void | Promise<void> {
        // Run again for a fallback group: only that group's limits are new; the key counted this request already.
        const earlier = ctx.get(held);
        const scopes = scopesOf(ctx, earlier === undefined);
        if (earlier === undefined && scopes.length === 0) return;
        const now = Date.now();
        const state = heldBy(ctx, earlier);
        const estimate = scopes.some((scope) => scope.tpm !== null) ? estimateRequestTokens(ctx.body) : 0;
        if (sync !== null) return settle(ctx, state, earlier, checkSync(sync, scopes, state, estimate, now));
        return checkAsync(scopes, state, estimate, now).then((taken) => settle(ctx, state, earlier, taken));
      },

      log(ctx: RequestContext) {
        const state = ctx.get(held);
        if (state === undefined) return;
        const spent = ctx.usage?.totalTokens ?? 0;
        const now = Date.now();
        state.closed = true;
        const leases = state.leases;
        state.leases = [];
        if (sync !== null) {
          for (const key of leases) sync.releaseLeaseSync(key, state.leaseId);
          if (spent > 0) for (const key of state.tokenScopes) sync.windowAddSync(key, MINUTE, spent, now);
          return;
        }
        const work: Promise<void>[] = [release(leases, state.leaseId)];
        if (spent > 0) for (const key of state.tokenScopes) work.push(store.windowAdd(key, MINUTE, spent, now));
        warnOnFailure(ctx, Promise.all(work));
      },
    };
  },
});

/** A scope with its store keys spelled out once. */
function scopeOf(name: string, rpm: number | null, tpm: number | null, parallel: number | null): Scope {
  return { name, rpm, tpm, parallel, concKey: `conc:${name}`, tpmKey: `tpm:${name}`, rpmKey: `rpm:${name}` };
}

/** What one admission took, and the tightest windows for the `x-ratelimit-*` headers. */
interface Admission {
  readonly leases: string[];
  readonly tokenScopes: string[];
  requests: LimitDecision | null;
  tokens: LimitDecision | null;
}

/** A settled promise for work that was done on the spot. */
const DONE: Promise<void> = Promise.resolve();

function tooManyConcurrent(scope: Scope): SluiceError {
  return rateLimited(`Too many concurrent requests for ${scope.name} (limit ${scope.parallel}).`, 1000, {}, { scope: scope.name, limit: scope.parallel! });
}

/** The estimate must fit what is left of the minute's tokens; throws the 429 when it does not. */
function tokensFit(taken: Admission, scope: Scope, window: LimitDecision, estimate: number): void {
  if (estimate > window.remaining) {
    const headers: Record<string, string> = {};
    rateLimitHeaders(headers, 'tokens', window);
    throw rateLimited(
      `Token limit for ${scope.name} reached: about ${estimate} tokens asked, ${window.remaining} of ${scope.tpm} left this minute.`,
      window.retryAfterMs || window.resetMs,
      headers,
      { scope: scope.name, limit: scope.tpm! },
    );
  }
  taken.tokenScopes.push(scope.tpmKey);
  if (taken.tokens === null || window.remaining < taken.tokens.remaining) taken.tokens = window;
}

/** The request counted in the minute's window; throws the 429 when the window is full. */
function requestCounted(taken: Admission, scope: Scope, window: LimitDecision): void {
  if (!window.allowed) {
    const headers: Record<string, string> = {};
    rateLimitHeaders(headers, 'requests', window);
    throw rateLimited(`Request limit for ${scope.name} reached: ${scope.rpm} requests a minute.`, window.retryAfterMs, headers, {
      scope: scope.name,
      limit: scope.rpm!,
    });
  }
  if (taken.requests === null || window.remaining < taken.requests.remaining) taken.requests = window;
}
