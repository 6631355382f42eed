// route.usage_based: the least used deployment this minute, skipping those at their rpm/tpm limits.

import { definePlugin, SluiceError, type Deployment, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
import { pickLowest, Scratch, servedGroup } from './util.ts';

const MINUTE_MS = 60_000;

/**
 * Usage-based routing (LiteLLM's `usage-based-routing` and `usage-based-routing-v2`). The core counts each
 * deployment's requests and tokens per clock minute (summed over the replicas when they share router state). A deployment whose count this minute has reached its `rpm`
 * or `tpm` is skipped; among the others the least used is picked: by tokens as a share of `tpm` when it has a
 * tpm, else by requests as a share of `rpm`, else by its raw request count. Ties are broken at random.
 *
 * When every candidate is at its limit the request is refused with 429 `rate_limit_exceeded` and a
 * `Retry-After` of the seconds left in the minute. No options.
 *
 * ```yaml
 * plugins:
 *   - route.usage_based       # or: usage-based-routing, usage-based-routing-v2
 * model_list:
 *   - model_name: gpt-4o
 *     litellm_params: { model: openai/gpt-4o, api_key: os.environ/KEY_A, rpm: 500, tpm: 200000 }
 *   - model_name: gpt-4o
 *     litellm_params: { model: openai/gpt-4o, api_key: os.environ/KEY_B, rpm: 300 }
 * ```
 */
export default definePlugin<Record<string, never>>({
  id: 'route.usage_based',
  description: 'Least used deployment this minute; skips deployments at their rpm/tpm limits; 429 when all are.',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create(_options, deps): Plugin {
    const state = deps.state;
    const scratch = new Scratch();
    return {
      route(ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        const now = Date.now();
        const scores = scratch.get(n);
        let open = 0;
        for (let i = 0; i < n; i++) {
          const d = candidates[i]!;
          const { requests, tokens } = state.usage(d.id, now);
          const rpm = d.rpm;
          const tpm = d.tpm;
          if ((rpm !== null && requests >= rpm) || (tpm !== null && tokens >= tpm)) {
            scores[i] = Infinity;
            continue;
          }
          open++;
          scores[i] = tpm !== null ? tokens / tpm : rpm !== null ? requests / rpm : requests;
        }
        if (open === 0) {
          const retryAfter = Math.max(1, Math.ceil((MINUTE_MS - (now % MINUTE_MS)) / 1000));
          throw new SluiceError('SLUICE_RATE_LIMITED', `All deployments of model group "${servedGroup(ctx)}" are at their rpm/tpm limits for this minute.`, {
            headers: { 'retry-after': String(retryAfter) },
            details: { model: servedGroup(ctx) },
          });
        }
        return pickLowest(candidates, scores);
      },
    };
  },
});
