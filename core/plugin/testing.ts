// A test kit for plugins: real deps and a real RequestContext without a listener, for unit tests of hooks.
//
//   const plugin = await factory.create(options, fakeDeps({ groups: modelGroups([...]) }));
//   const ctx = fakeContext({ body: { model: 'g', messages: [...] }, group: groups.get('g') });
//   assert.equal(plugin.route!(ctx, groups.get('g')!.deployments)?.id, 'a');

import type { IncomingHttpHeaders } from 'node:http';
import { buildModelGroups, type ModelGroup, type ModelListEntry } from '../config/models.ts';
import { createLogger } from '../logger.ts';
import { MemoryStore } from '../state/memory-store.ts';
import { MemoryRouterState } from '../state/router-state.ts';
import type { PluginDeps } from './api.ts';
import { RequestContext, type RouteKind } from './context.ts';
import { englishLocalize } from './localize.ts';

/** Deps as the core would hand them to a factory: silent logger, in-memory store and router state, no groups. */
export function fakeDeps(overrides: Partial<PluginDeps> = {}): PluginDeps {
  return {
    logger: createLogger('silent'),
    state: new MemoryRouterState(),
    groups: new Map(),
    configDir: '.',
    sections: {},
    store: new MemoryStore(),
    localize: englishLocalize,
    ...overrides,
  };
}

/** Model groups from LiteLLM `model_list` entries, as a config load builds them. Throws on an invalid entry. */
export function modelGroups(entries: readonly ModelListEntry[]): Map<string, ModelGroup> {
  const built = buildModelGroups(entries);
  if (built.errors.length > 0) throw new Error(built.errors.join('; '));
  return new Map(built.groups);
}

export interface FakeContextInit {
  /** The request body; `model` and `stream` are read from it. Default: a one-message chat request for `g`. */
  readonly body?: Record<string, unknown>;
  readonly headers?: IncomingHttpHeaders;
  readonly path?: string;
  readonly endpoint?: RouteKind;
  /** The model group being served (after fallbacks, not necessarily `body.model`'s). */
  readonly group?: ModelGroup | null;
  readonly id?: string;
}

/** A real RequestContext for calling hooks directly. */
export function fakeContext(init: FakeContextInit = {}): RequestContext {
  const body = init.body ?? { model: 'g', messages: [{ role: 'user', content: 'hello' }] };
  const ctx = new RequestContext(
    init.id ?? 'test-request',
    'POST',
    init.path ?? '/v1/chat/completions',
    init.headers ?? {},
    '127.0.0.1',
    init.endpoint ?? 'chat',
    performance.now(),
    body,
    Buffer.from(JSON.stringify(body)),
  );
  ctx.group = init.group ?? null;
  return ctx;
}
