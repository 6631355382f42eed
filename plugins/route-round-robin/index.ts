// route.round_robin: each model group's deployments take turns, in config order.

import { definePlugin, type Deployment, type ModelGroup, type Plugin } from '../../core/plugin.ts';

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
    const next = new Map<string, number>();
    return {
      route(_ctx, group: ModelGroup): Deployment | undefined {
        const list = group.deployments;
        if (list.length === 0) return undefined;
        if (list.length === 1) return list[0];
        const turn = next.get(group.name) ?? 0;
        next.set(group.name, turn + 1 === list.length ? 0 : turn + 1);
        return list[turn];
      },
    };
  },
});
