// route.round_robin: the available deployments of a model group take turns.

import { definePlugin, type Deployment, type Plugin, type RequestContext } from '../../core/plugin/api.ts';
import { servedGroup } from './util.ts';

/**
 * Round-robin routing. No options.
 *
 * ```yaml
 * plugins:
 *   - route.round_robin
 * ```
 */
export default definePlugin<Record<string, never>>({
  id: 'route.round_robin',
  description: 'Deployments of a model group take turns.',
  schema: { type: 'object', additionalProperties: false, properties: {} },
  create(): Plugin {
    // Per-load state: a reload starts the turns afresh, which is harmless for round-robin.
    const turns = new Map<string, number>();
    return {
      route(ctx: RequestContext, candidates: readonly Deployment[]): Deployment {
        if (candidates.length === 1) return candidates[0]!;
        const group = servedGroup(ctx);
        const turn = turns.get(group) ?? 0;
        turns.set(group, turn + 1 >= candidates.length ? 0 : turn + 1);
        return candidates[turn % candidates.length]!;
      },
    };
  },
});
