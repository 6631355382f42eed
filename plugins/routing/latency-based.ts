// route.latency_based: the fastest deployment by EWMA latency; near-equal ones share the load.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
import { pickLowest, randomIndex, Scratch } from './util.ts';

export interface LatencyBasedOptions {
  /**
   * Deployments whose latency is within this fraction of the best one share the load at random
   * (0.1: up to 10% slower than the fastest). 0 sends everything to the fastest. Default 0.1.
   */
  buffer?: number;
}

/**
 * Lowest-latency routing (LiteLLM's `latency-based-routing`). The core measures each deployment's latency (an
 * EWMA of the time to first token for streams, of the total time otherwise); each request goes to the fastest
 * deployment, picking at random among those within `buffer` of it so that near-equal servers share the load
 * and keep being measured.
 *
 * A deployment with no sample yet is explored first: it gets the next request if it has none in flight. While
 * its first request runs it is not sent more, so a new server is not flooded before its first measurement.
 * When every candidate is unmeasured and busy, the least busy one is used.
 *
 * ```yaml
 * plugins:
 *   - route.latency_based     # or: latency-based-routing
 *   # or, with options:
 *   - name: route.latency_based
 *     options: { buffer: 0.2 }
 * ```
 */
export default definePlugin<LatencyBasedOptions>({
  id: 'route.latency_based',
  description: 'Lowest EWMA latency; deployments within `buffer` of the best share load; unmeasured ones explored first.',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      buffer: { type: 'number', minimum: 0, default: 0.1 },
    },
  },
  create(options, deps): Plugin {
    const state = deps.state;
    const limit = 1 + (options.buffer ?? 0.1);
    const scratch = new Scratch();
    return {
      route(_ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        const n = candidates.length;
        if (n === 1) return candidates[0]!;
        const latencies = scratch.get(n);
        let best = Infinity;
        // Unmeasured and idle: reservoir-sampled so each has the same chance.
        let explore: Deployment | undefined;
        let exploreCount = 0;
        let unmeasured = 0;
        for (let i = 0; i < n; i++) {
          const d = candidates[i]!;
          const latency = state.latency(d.id);
          if (latency === null) {
            latencies[i] = NaN;
            unmeasured++;
            if (state.inFlight(d.id) === 0 && Math.random() * ++exploreCount < 1) explore = d;
          } else {
            latencies[i] = latency;
            if (latency < best) best = latency;
          }
        }
        if (explore !== undefined) return explore;
        if (unmeasured === n) {
          for (let i = 0; i < n; i++) latencies[i] = state.inFlight(candidates[i]!.id);
          return pickLowest(candidates, latencies);
        }
        // Random among the measured ones within the buffer of the best (NaN compares false: skipped).
        const cutoff = best * limit;
        let picked = 0;
        let count = 0;
        for (let i = 0; i < n; i++) {
          if (latencies[i]! <= cutoff && randomIndex(++count) === 0) picked = i;
        }
        return candidates[picked]!;
      },
    };
  },
});
