// route.simple_shuffle: LiteLLM's default strategy, a random pick weighted by weight, rpm or tpm.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
import { perGroup, randomIndex, sameCandidates, servedGroup } from './util.ts';

/** What the pick is weighted by, for one candidate list. */
type Basis = 'weight' | 'rpm' | 'tpm' | 'uniform';

interface GroupState {
  /** A copy of the last candidate list (compared by pointer on every decision). */
  readonly list: Deployment[];
  basis: Basis;
  /** Cumulative weights in candidate order (unused when uniform), reused across candidate sets. */
  cumulative: Float64Array;
  total: number;
}

/** The basis LiteLLM uses: an explicit weight anywhere, else rpm anywhere, else tpm anywhere, else none. */
function basisOf(candidates: readonly Deployment[]): Basis {
  let rpm = false;
  let tpm = false;
  for (let i = 0; i < candidates.length; i++) {
    const d = candidates[i]!;
    if (d.publicParams['weight'] !== undefined) return 'weight';
    if (d.rpm !== null) rpm = true;
    if (d.tpm !== null) tpm = true;
  }
  return rpm ? 'rpm' : tpm ? 'tpm' : 'uniform';
}

/** The candidate set changed: recompute the cumulative weights (no allocation unless it grew). */
function prepare(group: GroupState, candidates: readonly Deployment[]): void {
  const n = candidates.length;
  const list = group.list;
  list.length = n;
  for (let i = 0; i < n; i++) list[i] = candidates[i]!;
  const basis = basisOf(candidates);
  group.basis = basis;
  if (basis === 'uniform') return;
  if (group.cumulative.length < n) group.cumulative = new Float64Array(Math.max(n, group.cumulative.length * 2));
  const cumulative = group.cumulative;
  // A deployment without the limit has no stated size: it counts as the mean of the others rather than nothing.
  let mean = 0;
  if (basis !== 'weight') {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const limit = basis === 'rpm' ? candidates[i]!.rpm : candidates[i]!.tpm;
      if (limit !== null) {
        sum += limit;
        count++;
      }
    }
    mean = sum / count;
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = candidates[i]!;
    // An unset weight is the default, 1.
    const w = basis === 'weight' ? d.weight : ((basis === 'rpm' ? d.rpm : d.tpm) ?? mean);
    if (w > 0) total += w;
    cumulative[i] = total;
  }
  group.total = total;
  // Every weight zero (rpm: 0 everywhere): a plain random pick.
  if (total === 0) group.basis = 'uniform';
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
    const makeGroup = (): GroupState => ({ list: [], basis: 'uniform', cumulative: new Float64Array(16), total: 0 });
    return {
      route(ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        if (n === 1) return candidates[0]!;
        const group = perGroup(groups, servedGroup(ctx), makeGroup);
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
