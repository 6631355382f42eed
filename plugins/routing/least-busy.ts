// route.least_busy: the deployment with the fewest requests in flight; ties are broken at random.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin/api.ts';

/**
 * Least-busy routing (LiteLLM's `least-busy`): each request goes to the deployment of the group with the fewest
 * requests in flight: on this instance, or on every replica when they share router state through Redis (the
 * others' counts are at most one sync interval old). Deployments tied for fewest share the load at random, so an
 * idle pool does not pile onto its first deployment. No options.
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
    return {
      route(_ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        if (n === 1) return candidates[0]!;
        // One pass: the lowest count so far, with reservoir sampling over the candidates tied for it.
        let best = candidates[0]!;
        let lowest = state.inFlight(best.id);
        let ties = 1;
        for (let i = 1; i < n; i++) {
          const d = candidates[i]!;
          const load = state.inFlight(d.id);
          if (load < lowest) {
            lowest = load;
            best = d;
            ties = 1;
          } else if (load === lowest && Math.random() * ++ties < 1) {
            best = d;
          }
        }
        return best;
      },
    };
  },
});
