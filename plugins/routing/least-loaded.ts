// route.least_loaded: power of two random choices on in-flight requests times latency.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
import { randomIndex } from './util.ts';

export interface LeastLoadedOptions {
  /**
   * Latency (ms) assumed for a deployment with no latency sample yet. Unset (the default): it is assumed as fast
   * as the deployment it is compared with, so the choice falls to the in-flight counts.
   */
  default_latency_ms?: number;
}

/**
 * Least-loaded routing by the power of two random choices (Mitzenmacher): two distinct candidates are drawn at
 * random and the one with the lower expected wait, `(in-flight + 1) × latency`, takes the request. Comparing
 * two instead of scanning all keeps the decision O(1), and the randomness avoids the herd effect of every
 * request rushing to the single least loaded server between updates. A single candidate is returned as is.
 *
 * ```yaml
 * plugins:
 *   - route.least_loaded      # or: least-loaded
 *   # or, with options:
 *   - name: route.least_loaded
 *     options: { default_latency_ms: 500 }
 * ```
 */
export default definePlugin<LeastLoadedOptions>({
  id: 'route.least_loaded',
  description: 'Power of two random choices: the lower of (in-flight + 1) × latency between two random candidates.',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      default_latency_ms: { type: 'number', exclusiveMinimum: 0 },
    },
  },
  create(options, deps): Plugin {
    const state = deps.state;
    const fallback = options.default_latency_ms ?? null;
    return {
      route(_ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        if (n === 1) return candidates[0]!;
        const i = randomIndex(n);
        let j = randomIndex(n - 1);
        if (j >= i) j++;
        const a = candidates[i]!;
        const b = candidates[j]!;
        let la = state.latency(a.id) ?? fallback;
        let lb = state.latency(b.id) ?? fallback;
        // Unknown latency with no default: as fast as the other one (both unknown: compare in-flight alone).
        if (la === null) la = lb ?? 1;
        if (lb === null) lb = la;
        // A floor of 1 ms, so that a near-zero latency (a local mock) does not make in-flight counts irrelevant.
        if (la < 1) la = 1;
        if (lb < 1) lb = 1;
        const sa = (state.inFlight(a.id) + 1) * la;
        const sb = (state.inFlight(b.id) + 1) * lb;
        // On a tie `a` wins, and `a` is itself a random draw.
        return sb < sa ? b : a;
      },
    };
  },
});
