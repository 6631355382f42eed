// route.weighted: smooth weighted round-robin, exactly nginx's `upstream` algorithm.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin.ts';
import { perGroup, sameCandidates } from './util.ts';

/** nginx's `current_weight`, one per deployment id, kept while the deployment is out of the candidate set. */
interface Peer {
  current: number;
}

interface GroupState {
  /** Every deployment id seen in this group. */
  readonly peers: Map<string, Peer>;
  /** A copy of the last candidate list, and its peers and weights in the same order. */
  list: readonly Deployment[];
  aligned: Peer[];
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
  create(): Plugin {
    const groups = new Map<string, GroupState>();
    const makeGroup = (): GroupState => ({ peers: new Map(), list: [], aligned: [], weights: new Float64Array(0), total: 0 });

    /** Lines the peers and weights up with a new candidate list (only when the list changed). */
    function align(group: GroupState, candidates: readonly Deployment[]): void {
      const n = candidates.length;
      const aligned: Peer[] = new Array<Peer>(n);
      const weights = new Float64Array(n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const d = candidates[i]!;
        let peer = group.peers.get(d.id);
        if (peer === undefined) group.peers.set(d.id, (peer = { current: 0 }));
        aligned[i] = peer;
        weights[i] = d.weight > 0 ? d.weight : 0;
        total += weights[i]!;
      }
      // All weights zero: take turns evenly rather than always picking the first.
      if (total === 0) {
        weights.fill(1);
        total = n;
      }
      group.list = candidates.slice();
      group.aligned = aligned;
      group.weights = weights;
      group.total = total;
    }

    return {
      route(ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        if (n === 1) return candidates[0]!;
        const group = perGroup(groups, ctx.model, makeGroup);
        if (!sameCandidates(group.list, candidates)) align(group, candidates);
        const { aligned, weights } = group;
        let best = 0;
        let bestWeight = -Infinity;
        for (let i = 0; i < n; i++) {
          const peer = aligned[i]!;
          const current = (peer.current += weights[i]!);
          if (current > bestWeight) {
            bestWeight = current;
            best = i;
          }
        }
        aligned[best]!.current -= group.total;
        return candidates[best]!;
      },
    };
  },
});
