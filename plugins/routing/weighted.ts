// route.weighted: smooth weighted round-robin, exactly nginx's `upstream` algorithm.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
import { CandidateIndex, servedGroup } from './util.ts';

interface GroupState {
  readonly index: CandidateIndex;
  /** nginx's `current_weight` by universe position, kept while a deployment is out of the candidate set. */
  current: Float64Array;
  /** The current candidates' weights, in candidate order, and their sum. */
  weights: Float64Array;
  total: number;
}

/**
 * Smooth weighted round-robin by `litellm_params.weight` (default 1). On each pick every candidate's current
 * weight grows by its weight, the largest is chosen (the first in config order on a tie), and the total weight
 * is taken off the chosen one. Weights 5:1:1 give `a a b a c a a`: exact shares, interleaved rather than in
 * bursts, and deterministic. A deployment out of rotation keeps its current weight and resumes from it.
 * No options.
 *
 * ```yaml
 * plugins:
 *   - route.weighted          # or: weighted
 * model_list:
 *   - model_name: llama
 *     litellm_params: { model: openai/llama, api_base: http://gpu-big:8000, weight: 3 }
 *   - model_name: llama
 *     litellm_params: { model: openai/llama, api_base: http://gpu-small:8000 }   # weight 1
 * ```
 */
export default definePlugin<Record<string, never>>({
  id: 'route.weighted',
  description: "Smooth weighted round-robin by weight (nginx's algorithm).",
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create(_options, deps): Plugin {
    const groups = new Map<string, GroupState>();

    function makeGroup(name: string): GroupState {
      const index = new CandidateIndex(deps.groups.get(name)?.deployments ?? []);
      const group: GroupState = { index, current: new Float64Array(index.size), weights: new Float64Array(16), total: 0 };
      groups.set(name, group);
      return group;
    }

    /** The candidate set changed: refresh the weights in candidate order (no allocation unless it grew). */
    function reweigh(group: GroupState, candidates: readonly Deployment[]): void {
      const n = candidates.length;
      if (group.current.length < group.index.size) {
        const grown = new Float64Array(group.index.size);
        grown.set(group.current);
        group.current = grown;
      }
      if (group.weights.length < n) group.weights = new Float64Array(Math.max(n, group.weights.length * 2));
      const weights = group.weights;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const w = candidates[i]!.weight;
        weights[i] = w > 0 ? w : 0;
        total += weights[i]!;
      }
      // All weights zero: take turns evenly rather than always picking the first.
      if (total === 0) {
        weights.fill(1, 0, n);
        total = n;
      }
      group.total = total;
    }

    return {
      route(ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        if (n === 1) return candidates[0]!;
        const group = groups.get(servedGroup(ctx)) ?? makeGroup(servedGroup(ctx));
        if (group.index.update(candidates)) reweigh(group, candidates);
        const { current, weights } = group;
        const positions = group.index.positions;
        let best = 0;
        let bestWeight = -Infinity;
        for (let i = 0; i < n; i++) {
          const p = positions[i]!;
          const w = (current[p]! += weights[i]!);
          if (w > bestWeight) {
            bestWeight = w;
            best = i;
          }
        }
        current[positions[best]!]! -= group.total;
        return candidates[best]!;
      },
    };
  },
});
