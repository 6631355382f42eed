// limit.key: requests, tokens and concurrency per API key and per model group, shared across replicas.

import { randomBytes } from 'node:crypto';
import { createSlot, definePlugin, estimateRequestTokens, type LimitDecision, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
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
    const leaseTtl = (options.lease_ttl ?? 900) * 1000;
    const groupScopes = new Map<string, Scope>();
    for (const [group, limits] of Object.entries(options.models ?? {})) {
      groupScopes.set(group, { name: `model:${group}`, rpm: limits.rpm ?? null, tpm: limits.tpm ?? null, parallel: limits.max_parallel_requests ?? null });
    }

    /** The key's scope (counted once per request) and the scope of the group the request is admitted to. */
    function scopesOf(ctx: RequestContext, withKey: boolean): Scope[] {
      const scopes: Scope[] = [];
      const auth = ctx.auth;
      if (withKey && auth !== null && (auth.limits.rpm !== null || auth.limits.tpm !== null || auth.limits.maxParallelRequests !== null)) {
        scopes.push({ name: `key:${auth.keyId}`, rpm: auth.limits.rpm, tpm: auth.limits.tpm, parallel: auth.limits.maxParallelRequests });
      }
      const group = groupScopes.get(ctx.group?.name ?? ctx.model);
      if (group !== undefined) scopes.push(group);
      return scopes;
    }

    async function release(leases: readonly string[], leaseId: string): Promise<void> {
      await Promise.all(leases.map((key) => store.releaseLease(key, leaseId)));
    }

    function warnOnFailure(ctx: RequestContext, work: Promise<unknown>): void {
      void work.catch((error: unknown) => deps.logger.warn('limit.key: could not record usage', { request: ctx.id, error }));
    }

    // Reading usage costs a little per response; only token limits need it.
    const keys = (deps.sections['keys'] ?? []) as { tpm?: number }[];
    const countsTokens = [...groupScopes.values()].some((g) => g.tpm !== null) || keys.some((k) => k.tpm !== undefined);

    return {
      wantsUsage: countsTokens,

      async admit(ctx: RequestContext) {
        // Run again for a fallback group: only that group's limits are new; the key counted this request already.
        const earlier = ctx.get(held);
        const scopes = scopesOf(ctx, earlier === undefined);
        if (earlier === undefined && scopes.length === 0) return;
        const now = Date.now();
        const state: Held = earlier ?? { leaseId: nextLeaseId(), leases: [], tokenScopes: [], groupScope: null, closed: false };
        if (earlier === undefined) ctx.set(held, state);
        const estimate = estimateRequestTokens(ctx.body);
        let requests: LimitDecision | null = null;
        let tokens: LimitDecision | null = null;
        /** What this admission took, given back if a later check refuses. */
        const leases: string[] = [];
        const tokenScopes: string[] = [];
        try {
          for (const scope of scopes) {
            // Concurrency first: a slot is the one thing released again if a later check refuses.
            if (scope.parallel !== null) {
              const key = `conc:${scope.name}`;
              const lease = await store.acquireLease(key, scope.parallel, state.leaseId, leaseTtl, now);
              if (!lease.allowed) {
                throw rateLimited(`Too many concurrent requests for ${scope.name} (limit ${scope.parallel}).`, 1000, {}, { scope: scope.name, limit: scope.parallel });
              }
              leases.push(key);
            }
            if (scope.tpm !== null) {
              const key = `tpm:${scope.name}`;
              const window = await store.windowCheck(key, scope.tpm, MINUTE, 0, now);
              const headers: Record<string, string> = {};
              rateLimitHeaders(headers, 'tokens', window);
              if (estimate > window.remaining) {
                throw rateLimited(
                  `Token limit for ${scope.name} reached: about ${estimate} tokens asked, ${window.remaining} of ${scope.tpm} left this minute.`,
                  window.retryAfterMs || window.resetMs,
                  headers,
                  { scope: scope.name, limit: scope.tpm },
                );
              }
              tokenScopes.push(key);
              if (tokens === null || window.remaining < tokens.remaining) tokens = window;
            }
            if (scope.rpm !== null) {
              const window = await store.windowCheck(`rpm:${scope.name}`, scope.rpm, MINUTE, 1, now);
              if (!window.allowed) {
                const headers: Record<string, string> = {};
                rateLimitHeaders(headers, 'requests', window);
                throw rateLimited(`Request limit for ${scope.name} reached: ${scope.rpm} requests a minute.`, window.retryAfterMs, headers, {
                  scope: scope.name,
                  limit: scope.rpm,
                });
              }
              if (requests === null || window.remaining < requests.remaining) requests = window;
            }
          }
        } catch (error) {
          await release(leases, state.leaseId);
          throw error;
        }
        if (state.closed) {
          // The request ended while this (fallback) admission was under way.
          warnOnFailure(ctx, release(leases, state.leaseId));
          return;
        }
        const groupScope = groupScopes.get(ctx.group?.name ?? ctx.model)?.name ?? null;
        const left = state.groupScope;
        if (earlier !== undefined && left !== null && left !== groupScope) {
          // The group left behind no longer holds a slot for this request, nor gets its tokens.
          const lease = `conc:${left}`;
          if (state.leases.includes(lease)) {
            state.leases = state.leases.filter((key) => key !== lease);
            warnOnFailure(ctx, store.releaseLease(lease, state.leaseId));
          }
          state.tokenScopes = state.tokenScopes.filter((key) => key !== `tpm:${left}`);
        }
        state.groupScope = groupScope;
        state.leases.push(...leases);
        state.tokenScopes.push(...tokenScopes);
        // The headers describe the limits the request was first admitted under.
        if (earlier !== undefined) return;
        if (requests !== null) rateLimitHeaders(ctx.responseHeaders, 'requests', requests);
        if (tokens !== null) rateLimitHeaders(ctx.responseHeaders, 'tokens', tokens);
      },

      log(ctx: RequestContext) {
        const state = ctx.get(held);
        if (state === undefined) return;
        const spent = ctx.usage?.totalTokens ?? 0;
        const now = Date.now();
        state.closed = true;
        const work: Promise<void>[] = [release(state.leases, state.leaseId)];
        state.leases = [];
        if (spent > 0) for (const key of state.tokenScopes) work.push(store.windowAdd(key, MINUTE, spent, now));
        warnOnFailure(ctx, Promise.all(work));
      },
    };
  },
});
