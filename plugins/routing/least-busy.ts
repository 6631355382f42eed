// route.least_busy: the deployment with the fewest requests in flight; ties are broken at random.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin.ts';
import { pickLowest, Scratch } from './util.ts';

/**
 * Least-busy routing (LiteLLM's `least-busy`): each request goes to the deployment of the group with the fewest
 * requests in flight on this instance. Deployments tied for fewest share the load at random, so an idle pool
 * does not pile onto its first deployment. No options.
 *
 * ```yaml
 * plugins:
 *   - route.least_busy        # or: least-busy
 * ```
 */
export default definePlugin<Record<string, never>>({
  id: 'route.least_busy',
  description: 'The deployment with the fewest requests in flight; ties broken at random.',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create(_options, deps): Plugin {
    const state = deps.state;
    const scratch = new Scratch();
    return {
      route(_ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        if (n === 1) return candidates[0]!;
        const loads = scratch.get(n);
        for (let i = 0; i < n; i++) loads[i] = state.inFlight(candidates[i]!.id);
        return pickLowest(candidates, loads);
      },
    };
  },
});
