// The gateway's own GET routes: model lists in OpenAI's and LiteLLM's shapes, health, liveness and readiness.

import { redactSecrets, type ModelGroup } from '../config/models.ts';
import type { LoadedConfig } from '../config/load.ts';
import { redactConfig } from '../config/redact-config.ts';
import { respond, type Reply } from '../http/reply.ts';
import type { RequestContext } from '../plugin/context.ts';
import { SluiceError } from '../errors.ts';
import type { RouterState } from '../state/router-state.ts';
import type { SharedStore } from '../state/store.ts';
import type { ModelGroupAlias } from '../config/router-settings.ts';
import type { LocalRoute } from '../proxy/pipeline.ts';

export const VERSION = '0.1.0';

/** What the info routes read: the generation's groups, and the long-lived router state and store. */
export interface InfoSources {
  readonly groups: ReadonlyMap<string, ModelGroup>;
  /** Some plugin checks keys: then only the master key sees backend addresses on /health. */
  readonly keysChecked: boolean;
  readonly state: RouterState;
  readonly store: SharedStore;
  /** `model_group_alias`: listed in /v1/models unless hidden, while their group exists. */
  readonly aliases?: ReadonlyMap<string, ModelGroupAlias>;
  /** The group serving a name, aliases and wildcards included. */
  readonly lookup: (model: string) => ModelGroup | undefined;
  /** The generation's config, for `GET /config` (the route is absent without it). */
  readonly config?: LoadedConfig;
}

/**
 * The routes by exact path; `/v1/models/{id}` is matched by prefix (see `MODEL_BY_ID_PREFIX`). `created` (Unix
 * seconds) is what the model lists report for every group, as `retrieveModelRoute` does.
 */
export function infoRoutes(sources: InfoSources, created: number): Map<string, LocalRoute> {
  // Computed per call: discovery adds and removes groups while the gateway runs.
  // A caller whose key is limited to some models sees only those.
  const visible = (ctx: RequestContext): ModelGroup[] => {
    const allowed = ctx.auth?.models ?? null;
    const all = [...sources.groups.values()];
    return allowed === null ? all : all.filter((group) => allowed.has(group.name));
  };
  const get = (handle: (ctx: RequestContext) => Reply): LocalRoute => ({ auth: true, readsBody: false, handle });
  // Aliases are checked against the key's models by their own name, as a request for them is.
  const visibleAliases = (ctx: RequestContext): string[] => {
    const allowed = ctx.auth?.models ?? null;
    const names: string[] = [];
    for (const [alias, { group, hidden }] of sources.aliases ?? []) {
      if (!hidden && sources.groups.has(group) && !sources.groups.has(alias) && (allowed === null || allowed.has(alias))) names.push(alias);
    }
    return names;
  };
  const listModels = get((ctx) =>
    respond(200, {
      object: 'list',
      data: [...visible(ctx).map((group) => group.name), ...visibleAliases(ctx)].map((id) => ({ id, object: 'model', created, owned_by: 'sluice' })),
    }),
  );
  const modelInfo = get((ctx) =>
    respond(200, {
      data: visible(ctx).flatMap((group) =>
        group.deployments.map((d) => ({ model_name: group.name, litellm_params: d.publicParams, model_info: { ...(redactSecrets(d.info) as Record<string, unknown>), id: d.id } })),
      ),
    }),
  );
  const alive = get(() => respond(200, "I'm alive!"));
  const ready: LocalRoute = {
    auth: true,
    readsBody: false,
    async handle() {
      // Redis down with fail_closed means every limited request would be refused: not ready. Asked now, so a
      // stalled Redis shows here before a request runs into it.
      const store = sources.store;
      const state = store.checkHealth === undefined ? store.health() : await store.checkHealth();
      return respond(state === 'down' ? 503 : 200, {
        status: state === 'ok' ? 'healthy' : state === 'degraded' ? 'degraded' : 'unhealthy',
        sluice_version: VERSION,
        model_groups: sources.groups.size,
        shared_state: { kind: store.kind, status: state },
      });
    },
  };
  const routes = new Map([
    ['/health', get((ctx) => respond(200, healthReport(sources, ctx)))],
    ['/v1/models', listModels],
    ['/models', listModels],
    ['/model/info', modelInfo],
    ['/v1/model/info', modelInfo],
    ['/health/liveliness', alive],
    ['/health/liveness', alive],
    ['/health/readiness', ready],
  ]);
  const config = sources.config;
  if (config !== undefined) {
    // Only for the master key: even redacted, the config names every backend, key alias and limit. Without key
    // checking there is no master key, so nobody gets it.
    routes.set(
      '/config',
      get((ctx) => {
        if (ctx.auth?.admin !== true) throw new SluiceError('SLUICE_FORBIDDEN', 'GET /config needs the master key.');
        return respond(200, { file: config.file, config: redactConfig(config, sources.groups) });
      }),
    );
  }
  return routes;
}

export const MODEL_BY_ID_PREFIX = '/v1/models/';

/** `GET /v1/models/{id}`: one model group, if it exists and the caller may use it, with the lists' `created`. */
export function retrieveModelRoute(sources: InfoSources, created: number): LocalRoute {
  return {
    auth: true,
    readsBody: false,
    handle(ctx) {
      let id: string;
      try {
        id = decodeURIComponent(ctx.path.slice(MODEL_BY_ID_PREFIX.length));
      } catch {
        id = '';
      }
      const allowed = ctx.auth?.models ?? null;
      const exists = sources.lookup(id) !== undefined;
      if (!exists || (allowed !== null && !allowed.has(id))) {
        throw new SluiceError('SLUICE_MODEL_NOT_FOUND', `The model \`${id}\` does not exist or you do not have access to it.`, { param: 'model', details: { model: id } });
      }
      return respond(200, { id, object: 'model', created, owned_by: 'sluice' });
    },
  };
}

/**
 * LiteLLM's /health shape, from the health state (active probes and passive failures) without calling a model.
 * `?model=` narrows it to one model group. Backend addresses and error texts are for the operator: the master
 * key, or anyone when no plugin checks keys. Other callers see the groups their key may use, without them.
 */
function healthReport(sources: InfoSources, ctx: RequestContext): Record<string, unknown> {
  const only = new URLSearchParams(ctx.query).get('model');
  const detailed = !sources.keysChecked || ctx.auth?.admin === true;
  const allowed = ctx.auth?.models ?? null;
  const now = Date.now();
  const healthy: Record<string, unknown>[] = [];
  const unhealthy: Record<string, unknown>[] = [];
  for (const group of sources.groups.values()) {
    if ((only !== null && group.name !== only) || (allowed !== null && !allowed.has(group.name))) continue;
    for (const d of group.deployments) {
      const entry = { model: `${d.provider}/${d.upstreamModel}`, model_name: group.name, model_id: d.id, ...(detailed ? { api_base: d.apiBase } : {}) };
      const reason = sources.state.unavailable(d.id, now);
      if (reason === null) healthy.push(entry);
      else {
        const health = sources.state.health(d.id);
        const error = detailed ? { error: health.lastError ?? reason } : {};
        unhealthy.push({ ...entry, ...error, reason, ...(reason === 'cooldown' ? { cooldown_remaining_s: Math.ceil((health.coolingUntil - now) / 1000) } : {}) });
      }
    }
  }
  return { healthy_endpoints: healthy, unhealthy_endpoints: unhealthy, healthy_count: healthy.length, unhealthy_count: unhealthy.length };
}
