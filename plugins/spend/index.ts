// spend: what each request cost, spend per key, model group and team in the shared store, and LiteLLM's key budgets
// (`max_budget`, `soft_budget`, `budget_duration` on `keys:` entries), readable at `GET /key/info`.
//
// - admit: reads the key's spend this budget period; at or over `max_budget` the request is refused (LiteLLM's 400
//   `budget_exceeded`), at or over `soft_budget` it passes with a warning.
// - onResponseBody: a non-stream answer's cost, for the `x-litellm-response-cost` header (its headers wait for it).
// - onResponseEnd: the cost into the access log (`spend`) and, in the background, onto the counters.

import {
  createSlot,
  definePlugin,
  respond,
  SluiceError,
  type AuthInfo,
  type Deployment,
  type KeyBudget,
  type Plugin,
  type RequestContext,
  type ResponseBody,
  type Usage,
} from '../../core/plugin/api.ts';
import { parseDuration, periodAt, pricesOf, requestCost, type Duration, type Period, type Prices } from './cost.ts';

interface Options {
  /**
   * Send `x-litellm-response-cost` on non-stream answers. It makes the core hold those bodies until their usage is
   * read (the answer is complete by then anyway); a stream's headers go out before its cost is known.
   */
  cost_header?: boolean;
}

/** What admission learned about the caller's key, for the end of the request. */
interface Charge {
  /** The store counter of the key's spend this period (or for ever); null without a caller. */
  readonly keyCounter: string | null;
  readonly period: Period | null;
  readonly budget: KeyBudget | null;
  /** The key's spend when the request was admitted (0 when it has no budget: then it is not read). */
  spentBefore: number;
  /** The cost worked out from a held body, so the header and the books agree. */
  cost: number | null;
}

const chargeSlot = createSlot<Charge>('spend.charge');

/** The counter names in the store: per key (and period), per model group, per team. */
export function keyCounter(keyId: string, period: Period | null): string {
  return period === null ? `spend:key:${keyId}` : `spend:key:${keyId}:${period.start}`;
}
export const groupCounter = (group: string): string => `spend:group:${group}`;
export const teamCounter = (team: string): string => `spend:team:${team}`;

/** The key's team, as the metrics label it: `metadata.team_id`, else `metadata.team`. */
function teamOf(auth: AuthInfo | null): string | null {
  const team = auth?.metadata['team_id'] ?? auth?.metadata['team'];
  return typeof team === 'string' && team !== '' ? team : null;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Token counts from a JSON answer: OpenAI's `usage`, Anthropic's `usage`, or Ollama's eval counts. */
export function usageOfJson(json: unknown): Usage | null {
  if (typeof json !== 'object' || json === null) return null;
  const body = json as Record<string, unknown>;
  const usage = body['usage'];
  if (typeof usage === 'object' && usage !== null) {
    const u = usage as Record<string, unknown>;
    const prompt = count(u['prompt_tokens'] ?? u['input_tokens']);
    const completion = count(u['completion_tokens'] ?? u['output_tokens']);
    return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion };
  }
  if ('prompt_eval_count' in body || 'eval_count' in body) {
    const prompt = count(body['prompt_eval_count']);
    const completion = count(body['eval_count']);
    return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion };
  }
  return null;
}

/** A dollar amount as headers and errors show it: 12 significant digits at most, so no float noise (0.1 + 0.2). */
export function formatUsd(amount: number): string {
  return String(Number(amount.toPrecision(12)));
}

/**
 * ```yaml
 * keys:
 *   - key: os.environ/TEAM_A_KEY
 *     alias: team-a
 *     max_budget: 25        # USD
 *     budget_duration: 30d  # 30s, 1h, 30d, 1mo; unset: never resets
 *     soft_budget: 20
 * model_list:
 *   - model_name: gpt-4o
 *     litellm_params: { model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY }
 *     model_info: { input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001 }
 * plugins:
 *   - auth.api_key
 *   - spend
 *   - route.simple_shuffle
 * ```
 */
export default definePlugin<Options>({
  id: 'spend',
  description: 'Cost per request from model_info prices, spend per key, model group and team, and key budgets.',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: { cost_header: { type: 'boolean', default: true } },
  },
  create(options, deps): Plugin {
    const store = deps.store;
    const durations = new Map<string, Duration>();
    const prices = new WeakMap<Deployment, Prices | null>();
    /** Keys already warned about in their current period (`key|period start`), so the log says it once. */
    const softWarned = new Set<string>();

    function durationOf(text: string): Duration {
      let duration = durations.get(text);
      if (duration === undefined) {
        duration = parseDuration(text);
        durations.set(text, duration);
      }
      return duration;
    }

    function pricesFor(deployment: Deployment): Prices | null {
      let known = prices.get(deployment);
      if (known === undefined) {
        known = pricesOf(deployment.info);
        prices.set(deployment, known);
      }
      return known;
    }

    function periodOf(budget: KeyBudget | undefined, now: number): Period | null {
      return budget?.duration == null ? null : periodAt(durationOf(budget.duration), now);
    }

    function warnOnFailure(ctx: RequestContext, work: Promise<unknown>): void {
      void work.catch((error: unknown) => deps.logger.warn('spend: could not record spend', { request: ctx.id, error }));
    }

    const plugin: Plugin = {
      // Cost is priced per token: the core reads usage from bodies and asks streams for their usage event.
      wantsUsage: true,

      routes: [
        {
          method: 'GET',
          path: '/key/info',
          handle: async (ctx) => {
            const auth = ctx.auth;
            if (auth === null) throw new SluiceError('SLUICE_UNAUTHORIZED', '/key/info needs an API key (the auth.api_key plugin).');
            const now = Date.now();
            const budget = auth.budget ?? null;
            const period = periodOf(auth.budget, now);
            const spend = await store.counterGet(keyCounter(auth.keyId, period), now);
            // LiteLLM's shape, for the caller's own key: the key is named by its id, never shown.
            return respond(200, {
              key: auth.keyId,
              info: {
                key_alias: auth.keyId,
                spend,
                max_budget: budget?.max ?? null,
                soft_budget: budget?.soft ?? null,
                budget_duration: budget?.duration ?? null,
                budget_reset_at: period === null ? null : new Date(period.end).toISOString(),
                models: auth.models === null ? [] : [...auth.models],
                rpm_limit: auth.limits.rpm,
                tpm_limit: auth.limits.tpm,
                max_parallel_requests: auth.limits.maxParallelRequests,
                team_id: teamOf(auth),
                metadata: auth.metadata,
              },
            });
          },
        },
      ],

      async admit(ctx: RequestContext) {
        // Runs again for a fallback group: the key was checked once for this request.
        if (ctx.get(chargeSlot) !== undefined) return;
        const auth = ctx.auth;
        const now = Date.now();
        const budget = auth?.budget ?? null;
        const period = periodOf(auth?.budget, now);
        const charge: Charge = { keyCounter: auth === null ? null : keyCounter(auth.keyId, period), period, budget, spentBefore: 0, cost: null };
        ctx.set(chargeSlot, charge);
        if (budget === null || charge.keyCounter === null || (budget.max === null && budget.soft === null)) return;
        const spent = await store.counterGet(charge.keyCounter, now);
        charge.spentBefore = spent;
        ctx.responseHeaders['x-litellm-key-spend'] = formatUsd(spent);
        if (budget.max !== null) {
          ctx.responseHeaders['x-litellm-key-max-budget'] = formatUsd(budget.max);
          ctx.logFields['key_max_budget'] = budget.max;
          ctx.logFields['key_budget_remaining'] = budget.max - spent;
        }
        if (budget.max !== null && spent >= budget.max) {
          throw new SluiceError('SLUICE_BUDGET_EXCEEDED', `Budget has been exceeded! Current cost: ${formatUsd(spent)}, Max budget: ${formatUsd(budget.max)}`, {
            details: { spend: formatUsd(spent), max_budget: formatUsd(budget.max) },
          });
        }
        if (budget.soft !== null && spent >= budget.soft) {
          ctx.responseHeaders['x-litellm-key-soft-budget-exceeded'] = 'true';
          const once = `${auth!.keyId}|${period?.start ?? 0}`;
          if (!softWarned.has(once)) {
            if (softWarned.size > 10_000) softWarned.clear();
            softWarned.add(once);
            deps.logger.warn('spend: a key passed its soft budget', { key: auth!.keyId, spend: formatUsd(spent), soft_budget: budget.soft, max_budget: budget.max });
          }
        }
      },

      onResponseEnd(ctx: RequestContext) {
        const deployment = ctx.deployment;
        // A cached answer called no backend: it cost nothing.
        if (deployment === null || ctx.logFields['cache'] === 'hit') return;
        const charge = ctx.get(chargeSlot);
        const known = pricesFor(deployment);
        const cost = charge?.cost ?? (known === null ? 0 : requestCost(known, ctx.usage, (ctx.endedAt - ctx.startedAt) / 1000));
        ctx.logFields['spend'] = cost;
        const budget = charge?.budget ?? null;
        if (budget !== null && budget.max !== null) {
          // For the budget gauges: what this replica knows now (other replicas' spend since admission not included).
          ctx.logFields['key_max_budget'] = budget.max;
          ctx.logFields['key_budget_remaining'] = budget.max - (charge!.spentBefore + cost);
        }
        if (cost <= 0) return;
        const now = Date.now();
        const work: Promise<number>[] = [];
        if (charge !== undefined && charge.keyCounter !== null) work.push(store.counterAdd(charge.keyCounter, cost, charge.period?.end ?? null, now));
        if (ctx.group !== null) work.push(store.counterAdd(groupCounter(ctx.group.name), cost, null, now));
        const team = teamOf(ctx.auth);
        if (team !== null) work.push(store.counterAdd(teamCounter(team), cost, null, now));
        warnOnFailure(ctx, Promise.all(work));
      },
    };

    if (options.cost_header ?? true) {
      plugin.onResponseBody = (ctx: RequestContext, body: ResponseBody) => {
        const deployment = ctx.deployment;
        if (deployment === null || body.status >= 400) return;
        const known = pricesFor(deployment);
        const usage = usageOfJson(body.json);
        if (known === null || usage === null) return;
        const cost = requestCost(known, usage, (performance.now() - ctx.startedAt) / 1000);
        const charge = ctx.get(chargeSlot);
        if (charge !== undefined) charge.cost = cost;
        ctx.responseHeaders['x-litellm-response-cost'] = formatUsd(cost);
      };
    }
    return plugin;
  },
});
