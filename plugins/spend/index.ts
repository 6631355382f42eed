// spend: what each request cost, spend per key, model group and team in the shared store, and LiteLLM's budgets
// (`max_budget`, `soft_budget`, `budget_duration`) on `keys:` entries and on `teams:` (teams.ts), readable at
// `GET /key/info` and `GET /team/info`.
//
// - admit: reads the key's and its team's spend this budget period; at or over a `max_budget` the request is refused
//   (LiteLLM's 400 `budget_exceeded`), at or over a `soft_budget` it passes with a warning.
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
import { parseTeams, type Team } from './teams.ts';

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
  /** The key's team when `teams:` gives it a budget, else null; then the team fields below are unused. */
  readonly team: Team | null;
  /** The store counter of the team's spend this period (or for ever, without `budget_duration`). */
  readonly teamCounter: string | null;
  readonly teamPeriod: Period | null;
  /** The team's spend when the request was admitted. */
  teamSpentBefore: number;
}

const chargeSlot = createSlot<Charge>('spend.charge');

/** The counter names in the store: per key (and period), per model group, per team. */
export function keyCounter(keyId: string, period: Period | null): string {
  return period === null ? `spend:key:${keyId}` : `spend:key:${keyId}:${period.start}`;
}
export const groupCounter = (group: string): string => `spend:group:${group}`;
export const teamCounter = (team: string): string => `spend:team:${team}`;
/** A team's budget counter: its spend this period, or its all-time counter without a budget_duration. */
export function teamBudgetCounter(team: string, period: Period | null): string {
  return period === null ? teamCounter(team) : `${teamCounter(team)}:${period.start}`;
}

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
 *     metadata: { team_id: t1 }
 * teams:                    # optional: budgets shared by a team's keys
 *   - team_id: t1
 *     max_budget: 100
 *     budget_duration: 30d
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
  sections: ['teams'],
  create(options, deps): Plugin {
    const store = deps.store;
    const teams = parseTeams(deps.sections['teams']);
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

    function warnSoftOnce(what: 'key' | 'team', id: string, period: Period | null, spent: number, budget: KeyBudget): void {
      const once = `${what}|${id}|${period?.start ?? 0}`;
      if (softWarned.has(once)) return;
      if (softWarned.size > 10_000) softWarned.clear();
      softWarned.add(once);
      deps.logger.warn(`spend: a ${what} passed its soft budget`, { [what]: id, spend: formatUsd(spent), soft_budget: budget.soft, max_budget: budget.max });
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
        {
          method: 'GET',
          path: '/team/info',
          handle: async (ctx) => {
            const auth = ctx.auth;
            if (auth === null) throw new SluiceError('SLUICE_UNAUTHORIZED', '/team/info needs an API key (the auth.api_key plugin).');
            // The caller's own team; the master key may ask for any (`?team_id=`), as LiteLLM's admin does.
            const asked = new URLSearchParams(ctx.query).get('team_id');
            const own = teamOf(auth);
            const teamId = asked ?? own;
            if (teamId === null || teamId === '') throw new SluiceError('SLUICE_MISSING_PARAM', 'This key belongs to no team (metadata.team_id): pass team_id.', { param: 'team_id' });
            if (teamId !== own && auth.admin !== true) throw new SluiceError('SLUICE_FORBIDDEN', 'A key may read only its own team; the master key may read any.');
            const now = Date.now();
            const team = teams.get(teamId) ?? null;
            const period = team === null ? null : periodOf(team.budget, now);
            const spend = await store.counterGet(teamBudgetCounter(teamId, period), now);
            return respond(200, {
              team_id: teamId,
              team_info: {
                team_id: teamId,
                team_alias: team?.alias ?? null,
                spend,
                max_budget: team?.budget.max ?? null,
                soft_budget: team?.budget.soft ?? null,
                budget_duration: team?.budget.duration ?? null,
                budget_reset_at: period === null ? null : new Date(period.end).toISOString(),
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
        const teamId = teamOf(auth);
        const team = teamId === null ? null : (teams.get(teamId) ?? null);
        const teamPeriod = team === null ? null : periodOf(team.budget, now);
        const charge: Charge = {
          keyCounter: auth === null ? null : keyCounter(auth.keyId, period),
          period,
          budget,
          spentBefore: 0,
          cost: null,
          team,
          teamCounter: team === null ? null : teamBudgetCounter(team.id, teamPeriod),
          teamPeriod,
          teamSpentBefore: 0,
        };
        ctx.set(chargeSlot, charge);
        const keyWatched = budget !== null && charge.keyCounter !== null && (budget.max !== null || budget.soft !== null);
        const teamWatched = team !== null && (team.budget.max !== null || team.budget.soft !== null);
        if (!keyWatched && !teamWatched) return;
        // Both reads at once: one round trip to Redis.
        const [spent, teamSpent] = await Promise.all([keyWatched ? store.counterGet(charge.keyCounter!, now) : 0, teamWatched ? store.counterGet(charge.teamCounter!, now) : 0]);
        if (keyWatched) {
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
            warnSoftOnce('key', auth!.keyId, period, spent, budget);
          }
        }
        if (teamWatched) {
          const teamBudget = team.budget;
          charge.teamSpentBefore = teamSpent;
          if (teamBudget.max !== null) {
            ctx.logFields['team_max_budget'] = teamBudget.max;
            ctx.logFields['team_budget_remaining'] = teamBudget.max - teamSpent;
          }
          if (teamBudget.max !== null && teamSpent >= teamBudget.max) {
            // LiteLLM's wording for a team over its budget.
            throw new SluiceError('SLUICE_BUDGET_EXCEEDED', `Budget has been exceeded! Team=${team.id} Current cost: ${formatUsd(teamSpent)}, Max budget: ${formatUsd(teamBudget.max)}`, {
              details: { spend: formatUsd(teamSpent), max_budget: formatUsd(teamBudget.max) },
            });
          }
          if (teamBudget.soft !== null && teamSpent >= teamBudget.soft) {
            ctx.responseHeaders['x-litellm-team-soft-budget-exceeded'] = 'true';
            warnSoftOnce('team', team.id, teamPeriod, teamSpent, teamBudget);
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
        const teamMax = charge?.team?.budget.max ?? null;
        if (teamMax !== null) {
          ctx.logFields['team_max_budget'] = teamMax;
          ctx.logFields['team_budget_remaining'] = teamMax - (charge!.teamSpentBefore + cost);
        }
        if (cost <= 0) return;
        const now = Date.now();
        const work: Promise<number>[] = [];
        if (charge !== undefined && charge.keyCounter !== null) work.push(store.counterAdd(charge.keyCounter, cost, charge.period?.end ?? null, now));
        if (ctx.group !== null) work.push(store.counterAdd(groupCounter(ctx.group.name), cost, null, now));
        const team = teamOf(ctx.auth);
        if (team !== null) work.push(store.counterAdd(teamCounter(team), cost, null, now));
        // A team budget with a duration counts its period apart (without one, the all-time counter is its budget's).
        if (charge?.teamPeriod != null) work.push(store.counterAdd(charge.teamCounter!, cost, charge.teamPeriod.end, now));
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
