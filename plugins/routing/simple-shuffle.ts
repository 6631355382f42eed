// route.simple_shuffle: LiteLLM's default strategy, a random pick weighted by weight, rpm or tpm.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin.ts';
import { perGroup, randomIndex, sameCandidates } from './util.ts';

/** What the pick is weighted by, for one candidate list. */
type Basis = 'weight' | 'rpm' | 'tpm' | 'uniform';

interface GroupState {
  /** A copy of the last candidate list and its cumulative weights (empty when uniform). */
  list: readonly Deployment[];
  basis: Basis;
  cumulative: Float64Array;
  total: number;
}

/** The basis LiteLLM uses: an explicit weight anywhere, else rpm anywhere, else tpm anywhere, else none. */
function basisOf(candidates: readonly Deployment[]): Basis {
  if (candidates.some((d) => d.publicParams['weight'] !== undefined)) return 'weight';
  if (candidates.some((d) => d.rpm !== null)) return 'rpm';
  if (candidates.some((d) => d.tpm !== null)) return 'tpm';
  return 'uniform';
}

function prepare(group: GroupState, candidates: readonly Deployment[]): void {
  group.list = candidates.slice();
  const basis = basisOf(candidates);
  const n = candidates.length;
  const raw = new Float64Array(n);
  if (basis === 'weight') {
    // An unset weight is the default, 1.
    for (let i = 0; i < n; i++) raw[i] = candidates[i]!.weight;
  } else if (basis !== 'uniform') {
    // A deployment without the limit has no stated size: give it the mean of the others rather than nothing.
    let sum = 0;
    let count = 0;
    for (const d of candidates) {
      const limit = basis === 'rpm' ? d.rpm : d.tpm;
      if (limit !== null) {
        sum += limit;
        count++;
      }
    }
    const mean = sum / count;
    for (let i = 0; i < n; i++) {
      const d = candidates[i]!;
      raw[i] = (basis === 'rpm' ? d.rpm : d.tpm) ?? mean;
    }
  }
  let total = 0;
  const cumulative = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const w = raw[i]!;
    total += Number.isFinite(w) && w > 0 ? w : 0;
    cumulative[i] = total;
  }
  // Every weight zero (rpm: 0 everywhere) or nothing to weight by: a plain random pick.
  group.basis = basis === 'uniform' || total === 0 ? 'uniform' : basis;
  group.cumulative = cumulative;
  group.total = total;
}

/**
 * Random routing, LiteLLM's `simple-shuffle` (its default). If any candidate sets `weight` explicitly, the pick
 * is weighted by weight (unset ones count 1); else, if any sets `rpm`, by rpm; else, if any sets `tpm`, by tpm
 * (a deployment without the limit counts as the mean of the others); else uniform. No options.
 *
 * ```yaml
 * plugins:
 *   - route.simple_shuffle    # or: simple-shuffle
 * model_list:
 *   - model_name: llama
 *     litellm_params: { model: openai/llama, api_base: http://a:8000, rpm: 600 }
 *   - model_name: llama
 *     litellm_params: { model: openai/llama, api_base: http://b:8000, rpm: 300 }   # gets 1/3 of the traffic
 * ```
 */
export default definePlugin<Record<string, never>>({
  id: 'route.simple_shuffle',
  description: 'Random pick, weighted by weight, rpm or tpm when set (LiteLLM default).',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create(): Plugin {
    const groups = new Map<string, GroupState>();
    const makeGroup = (): GroupState => ({ list: [], basis: 'uniform', cumulative: new Float64Array(0), total: 0 });
    return {
      route(ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        if (n === 1) return candidates[0]!;
        const group = perGroup(groups, ctx.model, makeGroup);
        if (!sameCandidates(group.list, candidates)) prepare(group, candidates);
        if (group.basis === 'uniform') return candidates[randomIndex(n)]!;
        // First index whose cumulative weight exceeds the draw (binary search; zero weights are never hit).
        const cumulative = group.cumulative;
        const draw = Math.random() * group.total;
        let lo = 0;
        let hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cumulative[mid]! > draw) hi = mid;
          else lo = mid + 1;
        }
        return candidates[lo]!;
      },
    };
  },
});
