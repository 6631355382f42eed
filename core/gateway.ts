// The request lifecycle: match the route, read the body, run the request phases, hand off to the exchange.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonObject, readBody, validateRequest } from './body.ts';
import { Chain } from './chain.ts';
import type { LoadedConfig, ServerSettings } from './config.ts';
import { ConfigError } from './config.ts';
import { RequestContext, type Outcome, type RouteKind } from './context.ts';
import { SluiceError, toSluiceError } from './errors.ts';
import { resolveRouterSettings, type RouterSettings } from './router-settings.ts';
import { MemoryRouterState, type RouterState } from './router-state.ts';
import type { Logger } from './logger.ts';
import { buildModelGroups, redactSecrets, type Endpoint, type ModelGroup } from './models.ts';
import { loadPlugins } from './plugin-loader.ts';
import { isReply, sendError, sendJson, sendReply, type Reply } from './respond.ts';
import { AttemptRun, type RunEnv } from './attempts.ts';
import { Upstreams } from './upstream.ts';
import { defaultChain } from './registry.ts';
import type { SharedStore } from './store.ts';
import { createStore, type RedisConfig } from './store-factory.ts';
import { OllamaDiscovery } from './discovery.ts';
import { localizeFor, pluginLocalize, type ErrorLocalizer, type LocaleSource } from './localize.ts';
import { createErrorLocalizer, type LocalizerSection } from '../plugins/localizer/index.ts';
import { llmGuardEntries } from '../plugins/guard/llm-guard-config.ts';

export const VERSION = '0.1.0';

/** POST routes that are proxied, by path. */
const PROXY_ROUTES: ReadonlyMap<string, Endpoint> = new Map<string, Endpoint>([
  ['/v1/chat/completions', 'chat'],
  ['/chat/completions', 'chat'],
  ['/v1/completions', 'completions'],
  ['/completions', 'completions'],
  ['/v1/embeddings', 'embeddings'],
  ['/embeddings', 'embeddings'],
]);

/** A GET route of the gateway's own; `ctx` is set when an authenticate plugin ran (to filter by the caller). */
type GetHandler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext | null) => void | Promise<void>;

const EMPTY = Buffer.alloc(0);

export class Gateway {
  readonly config: LoadedConfig;
  readonly server: ServerSettings;
  readonly groups: ReadonlyMap<string, ModelGroup>;
  readonly chain: Chain;
  readonly upstreams: Upstreams;
  readonly #logger: Logger;
  readonly #getRoutes: ReadonlyMap<string, GetHandler>;
  readonly state: RouterState;
  readonly settings: RouterSettings;
  readonly store: SharedStore;
  /** Puts the gateway's own error messages in the caller's language. */
  readonly localizer: ErrorLocalizer;
  #discovery: OllamaDiscovery | null = null;
  readonly #runEnv: RunEnv;
  /** Requests in flight, for graceful shutdown. */
  inFlight = 0;
  /** Proxied requests sent upstream and not yet answered in full, with their responses: what shutdown may cut. */
  readonly #runs = new Map<AttemptRun, ServerResponse>();

  private constructor(
    config: LoadedConfig,
    groups: ReadonlyMap<string, ModelGroup>,
    chain: Chain,
    state: RouterState,
    settings: RouterSettings,
    store: SharedStore,
    localizer: ErrorLocalizer,
    logger: Logger,
  ) {
    this.store = store;
    this.localizer = localizer;
    this.config = config;
    this.server = config.server;
    this.groups = groups;
    this.chain = chain;
    this.#logger = logger;
    const t = config.server.timeouts;
    this.upstreams = new Upstreams({
      timeouts: { connect: t.upstreamConnect, firstByte: t.upstreamFirstByte, idle: t.upstreamIdle, total: t.upstreamTotal },
      keepAliveMs: 60_000,
      connectionsPerOrigin: config.server.upstreamConnections,
    });
    this.#getRoutes = this.#buildGetRoutes();
    this.state = state;
    this.settings = settings;
    this.#runEnv = {
      chain,
      state,
      settings,
      upstreams: this.upstreams,
      groups,
      timeouts: t,
      localizer,
      finish: (ctx, outcome, error) => {
        // The gateway's or a plugin's code failed after dispatch (caught in a callback or a timer): logged as in #proxy.
        if (error !== null && (error.code === 'SLUICE_PLUGIN_FAILED' || error.code === 'SLUICE_INTERNAL')) {
          logger.error(error.message, { request: ctx.id, cause: error.cause });
        }
        this.#finish(ctx, outcome, error);
      },
    };
  }

  /** Builds the model groups and the plugin chain. Throws ConfigError with every problem found. */
  static async create(config: LoadedConfig, logger: Logger): Promise<Gateway> {
    const built = buildModelGroups(config.modelList);
    // With discovery, fallbacks may name models that only appear once a server reports them.
    const knownGroups = built.discovery.length > 0 ? null : new Set(built.groups.keys());
    const resolved = resolveRouterSettings(config.routerSettings, config.litellmSettings, knownGroups);
    for (const warning of [...built.warnings, ...resolved.warnings]) logger.warn(`config: ${warning}`);
    const errors = [...built.errors, ...resolved.errors];
    if (errors.length > 0) throw new ConfigError(config.file, errors);
    const state = new MemoryRouterState();
    let localizer: ErrorLocalizer;
    try {
      localizer = createErrorLocalizer((config.sections['localizer'] ?? null) as LocalizerSection | null);
    } catch (error) {
      throw new ConfigError(config.file, [(error as Error).message]);
    }
    // Without a `plugins:` section, LiteLLM's `routing_strategy` names the routing plugin.
    // LiteLLM's `llm_guard:` section adds the built-in guards it names, after the chain.
    const guard = llmGuardEntries(config.sections['llm_guard']);
    for (const warning of guard.warnings) logger.warn(`config: ${warning}`);
    const entries = [...(config.plugins ?? defaultChain(resolved.settings.routingStrategy, config.sections)), ...guard.entries];
    const groups = new Map(built.groups);
    let store: SharedStore;
    try {
      store = createStore((config.sections['redis'] ?? null) as RedisConfig | null, logger);
    } catch (error) {
      throw new ConfigError(config.file, [`redis: ${(error as Error).message}`]);
    }
    let plugins;
    try {
      plugins = await loadPlugins(entries, config.file, { logger, groups, configDir: config.dir, state, store, sections: config.sections, localize: pluginLocalize(localizer) });
    } catch (error) {
      await store.close();
      throw error;
    }
    const gateway = new Gateway(config, groups, new Chain(plugins, logger), state, resolved.settings, store, localizer, logger);
    if (built.discovery.length > 0) {
      gateway.#discovery = new OllamaDiscovery(built.discovery, groups, logger, config.server.discoveryInterval);
      await gateway.#discovery.start();
    }
    return gateway;
  }

  /** The `http.Server` request listener. Never throws. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.#route(req, res);
    } catch (error) {
      // A throw here would otherwise escape into the http server and take the process down.
      this.#logger.error('unhandled error in request routing', { error });
      this.#sendError(res, toSluiceError(error), undefined, { headers: req.headers, body: null });
    }
  };

  #route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const endpoint = PROXY_ROUTES.get(path);
    if (endpoint !== undefined) {
      if (req.method !== 'POST') return this.#methodNotAllowed(req, res, path, endpoint, 'POST');
      this.inFlight++;
      res.once('close', () => this.inFlight--);
      this.#proxy(req, res, endpoint, path).catch((error: unknown) => {
        this.#logger.error('unhandled error in request path', { error });
        this.#sendError(res, toSluiceError(error), undefined, { headers: req.headers, body: null });
      });
      return;
    }
    const get = this.#getRoutes.get(path) ?? (path.startsWith('/v1/models/') ? this.#retrieveModel : undefined);
    if (get !== undefined) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.#methodNotAllowed(req, res, path, 'info', 'GET, HEAD');
      if (this.chain.authenticate === null) {
        void Promise.resolve(get(req, res, null)).catch((error: unknown) => {
          this.#logger.error('unhandled error in request path', { error });
          this.#sendError(res, toSluiceError(error), undefined, { headers: req.headers, body: null });
        });
        return;
      }
      this.#authenticated(req, res, path, get).catch((error: unknown) => {
        this.#logger.error('unhandled error in request path', { error });
        this.#sendError(res, toSluiceError(error), undefined, { headers: req.headers, body: null });
      });
      return;
    }
    req.resume();
    const error = new SluiceError('SLUICE_ROUTE_NOT_FOUND', `Unknown request URL: ${req.method} ${path}.`, { details: { method: req.method ?? '', path } });
    this.#refuse(req, res, path, 'info', performance.now(), null, error, {});
  }

  async #proxy(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, path: string): Promise<void> {
    const startedAt = performance.now();
    let raw: Buffer;
    let body: Record<string, unknown> | null = null;
    try {
      raw = await readBody(req, this.server.bodyLimit, this.server.timeouts.clientBody);
      body = parseJsonObject(raw);
      validateRequest(endpoint, body);
    } catch (error) {
      const failure = toSluiceError(error);
      // The rest of an oversized or stalled body is never read: close the connection after the answer.
      if (failure.status === 413 || failure.status === 408) res.shouldKeepAlive = false;
      this.#refuse(req, res, path, endpoint, startedAt, body, failure, {});
      return;
    }
    const ctx = new RequestContext(requestId(req), 'POST', path, req.headers, req.socket.remoteAddress ?? '', endpoint, startedAt, body, raw);
    try {
      const next = await this.#runRequestPhases(ctx, req, res);
      if (isReply(next)) {
        const reply = next;
        ctx.status = reply.status;
        sendReply(res, reply, { ...baseHeaders(ctx), ...ctx.responseHeaders });
        this.#finish(ctx, 'replied', null);
        return;
      }
      if (res.destroyed) {
        this.#finish(ctx, 'aborted', null);
        return;
      }
      this.#runs.set(next, res);
      res.once('close', () => this.#runs.delete(next));
      next.start();
    } catch (error) {
      const failure = toSluiceError(error);
      if (failure.code === 'SLUICE_PLUGIN_FAILED' || failure.code === 'SLUICE_INTERNAL') {
        this.#logger.error(failure.message, { request: ctx.id, cause: failure.cause });
      }
      ctx.status = failure.status;
      this.#sendError(res, failure, { ...baseHeaders(ctx), ...ctx.responseHeaders }, ctx);
      this.#finish(ctx, 'error', failure);
    }
  }

  /** The gateway's own GET routes behind the authenticate phase (which decides which paths stay open). */
  async #authenticated(req: IncomingMessage, res: ServerResponse, path: string, get: GetHandler): Promise<void> {
    req.resume();
    const ctx = new RequestContext(requestId(req), req.method ?? 'GET', path, req.headers, req.socket.remoteAddress ?? '', 'info', performance.now(), {}, EMPTY);
    try {
      const reply = await this.chain.runPhase(this.chain.authenticate!, ctx);
      if (reply !== undefined) {
        ctx.status = reply.status;
        sendReply(res, reply, { ...baseHeaders(ctx), ...ctx.responseHeaders });
        this.#finish(ctx, 'replied', null);
        return;
      }
      await get(req, res, ctx);
      ctx.status = res.statusCode;
      this.#finish(ctx, 'ok', null);
    } catch (error) {
      const failure = toSluiceError(error);
      ctx.status = failure.status;
      this.#sendError(res, failure, { ...baseHeaders(ctx), ...ctx.responseHeaders }, ctx);
      this.#finish(ctx, 'error', failure);
    }
  }

  /**
   * onRequest → authenticate → (model group) → admit → route → guardRequest → upstreamRequest. Returns a plugin's
   * reply, or the attempt run that will send the request upstream.
   */
  async #runRequestPhases(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): Promise<Reply | AttemptRun> {
    const chain = this.chain;
    let reply: Reply | undefined;
    if (chain.onRequest !== null && (reply = await chain.runPhase(chain.onRequest, ctx)) !== undefined) return reply;
    if (chain.authenticate !== null && (reply = await chain.runPhase(chain.authenticate, ctx)) !== undefined) return reply;
    const group = this.groups.get(ctx.model);
    if (group === undefined) {
      throw new SluiceError('SLUICE_MODEL_NOT_FOUND', `The model \`${ctx.model}\` does not exist or you do not have access to it.`, {
        param: 'model',
        details: { model: ctx.model },
      });
    }
    ctx.group = group;
    if (chain.admit !== null && (reply = await chain.runPhase(chain.admit, ctx)) !== undefined) return reply;
    const run = new AttemptRun(this.#runEnv, ctx, req, res, group);
    const prepared = run.prepare();
    if (prepared !== undefined) await prepared;
    if (chain.guardRequest !== null && (reply = await chain.runPhase(chain.guardRequest, ctx)) !== undefined) return reply;
    if (chain.upstreamRequest !== null && (reply = await chain.runPhase(chain.upstreamRequest, ctx)) !== undefined) return reply;
    return run;
  }

  #finish(ctx: RequestContext, outcome: Outcome, error: SluiceError | null): void {
    ctx.settle(outcome, performance.now());
    const chain = this.chain;
    if (error !== null) {
      ctx.error = error;
      chain.runOnError(ctx, error);
    } else if (outcome === 'aborted') {
      chain.runFinal(chain.onAbort, ctx);
    } else if (outcome === 'ok') {
      chain.runFinal(chain.onResponseEnd, ctx);
    }
    chain.runFinal(chain.log, ctx);
  }

  /** Every error the gateway writes goes through here: the message in the caller's language, `Content-Language` set. */
  #sendError(res: ServerResponse, error: SluiceError, extra: Readonly<Record<string, string>> | undefined, source: LocaleSource | RequestContext): void {
    if (res.headersSent || res.destroyed) return;
    sendError(res, error, extra, localizeFor(this.localizer, error, source));
  }

  #methodNotAllowed(req: IncomingMessage, res: ServerResponse, path: string, endpoint: RouteKind, allow: string): void {
    req.resume();
    const error = new SluiceError('SLUICE_METHOD_NOT_ALLOWED', `Method ${req.method} is not allowed here; use ${allow}.`, { details: { method: req.method ?? '', allow } });
    this.#refuse(req, res, path, endpoint, performance.now(), null, error, { allow });
  }

  /**
   * A request refused before the plugin chain (unknown URL, wrong method, unreadable body) still gets a context,
   * so `onError` and `log` see it: the access log has every request, as nginx's does.
   */
  #refuse(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    endpoint: RouteKind,
    startedAt: number,
    body: Record<string, unknown> | null,
    error: SluiceError,
    headers: Readonly<Record<string, string>>,
  ): void {
    const ctx = new RequestContext(requestId(req), req.method ?? '', path, req.headers, req.socket.remoteAddress ?? '', endpoint, startedAt, body ?? {}, EMPTY);
    ctx.status = error.status;
    this.#sendError(res, error, { ...baseHeaders(ctx), ...headers }, ctx);
    this.#finish(ctx, 'error', error);
  }

  #buildGetRoutes(): Map<string, GetHandler> {
    const created = Math.floor(Date.now() / 1000);
    // Computed per call: discovery adds and removes groups while the gateway runs.
    // A caller whose key is limited to some models sees only those.
    const visible = (ctx: RequestContext | null): ModelGroup[] => {
      const allowed = ctx?.auth?.models ?? null;
      const all = [...this.groups.values()];
      return allowed === null ? all : all.filter((group) => allowed.has(group.name));
    };
    const models = (ctx: RequestContext | null): unknown => ({
      object: 'list',
      data: visible(ctx).map((group) => ({ id: group.name, object: 'model', created, owned_by: 'sluice' })),
    });
    const modelInfo = (ctx: RequestContext | null): unknown => ({
      data: visible(ctx).flatMap((group) =>
        group.deployments.map((d) => ({ model_name: group.name, litellm_params: d.publicParams, model_info: { ...(redactSecrets(d.info) as Record<string, unknown>), id: d.id } })),
      ),
    });
    const listModels: GetHandler = (_req, res, ctx) => sendJson(res, 200, models(ctx), ctx === null ? undefined : baseHeaders(ctx));
    const info: GetHandler = (_req, res, ctx) => sendJson(res, 200, modelInfo(ctx), ctx === null ? undefined : baseHeaders(ctx));
    const alive: GetHandler = (_req, res) => sendJson(res, 200, "I'm alive!");
    const ready: GetHandler = async (_req, res) => {
      // Redis down with fail_closed means every limited request would be refused: not ready. Asked now, so a
      // stalled Redis shows here before a request runs into it.
      const state = this.store.checkHealth === undefined ? this.store.health() : await this.store.checkHealth();
      sendJson(res, state === 'down' ? 503 : 200, {
        status: state === 'ok' ? 'healthy' : state === 'degraded' ? 'degraded' : 'unhealthy',
        sluice_version: VERSION,
        model_groups: this.groups.size,
        shared_state: { kind: this.store.kind, status: state },
      });
    };
    return new Map([
      ['/health', (req, res, ctx) => sendJson(res, 200, this.#healthReport(req, ctx))],
      ['/v1/models', listModels],
      ['/models', listModels],
      ['/model/info', info],
      ['/v1/model/info', info],
      ['/health/liveliness', alive],
      ['/health/liveness', alive],
      ['/health/readiness', ready],
    ]);
  }

  /**
   * LiteLLM's /health shape, from the health state (active probes and passive failures) without calling a model.
   * `?model=` narrows it to one model group. Backend addresses and error texts are for the operator: the master
   * key, or anyone when no plugin checks keys. Other callers see the groups their key may use, without them.
   */
  #healthReport(req: IncomingMessage, ctx: RequestContext | null): Record<string, unknown> {
    const url = new URL(req.url ?? '/', 'http://x');
    const only = url.searchParams.get('model');
    const detailed = ctx === null || ctx.auth?.admin === true;
    const allowed = ctx?.auth?.models ?? null;
    const now = Date.now();
    const healthy: Record<string, unknown>[] = [];
    const unhealthy: Record<string, unknown>[] = [];
    for (const group of this.groups.values()) {
      if ((only !== null && group.name !== only) || (allowed !== null && !allowed.has(group.name))) continue;
      for (const d of group.deployments) {
        const entry = { model: `${d.provider}/${d.upstreamModel}`, model_name: group.name, model_id: d.id, ...(detailed ? { api_base: d.apiBase } : {}) };
        const reason = this.state.unavailable(d.id, now);
        if (reason === null) healthy.push(entry);
        else {
          const health = this.state.health(d.id);
          const error = detailed ? { error: health.lastError ?? reason } : {};
          unhealthy.push({ ...entry, ...error, reason, ...(reason === 'cooldown' ? { cooldown_remaining_s: Math.ceil((health.coolingUntil - now) / 1000) } : {}) });
        }
      }
    }
    return { healthy_endpoints: healthy, unhealthy_endpoints: unhealthy, healthy_count: healthy.length, unhealthy_count: unhealthy.length };
  }

  readonly #retrieveModel: GetHandler = (req, res, ctx) => {
    let id: string;
    try {
      id = decodeURIComponent((req.url ?? '').split('?')[0]!.slice('/v1/models/'.length));
    } catch {
      id = '';
    }
    const allowed = ctx?.auth?.models ?? null;
    if (!this.groups.has(id) || (allowed !== null && !allowed.has(id))) {
      const error = new SluiceError('SLUICE_MODEL_NOT_FOUND', `The model \`${id}\` does not exist or you do not have access to it.`, { param: 'model', details: { model: id } });
      this.#sendError(res, error, undefined, ctx ?? { headers: req.headers, body: null });
      return;
    }
    sendJson(res, 200, { id, object: 'model', created: 0, owned_by: 'sluice' });
  };

  /**
   * Shutdown's deadline: every request still being proxied ends now with a 503 `server_shutting_down`, which a
   * started stream gets as its final SSE event. Resolves once those answers are written out (or `flushMs` passed,
   * for a client that does not read), so closing the sockets afterwards cuts nothing the client was sent.
   */
  async cutInFlight(flushMs = 1000): Promise<void> {
    const error = new SluiceError('SLUICE_SHUTTING_DOWN', 'The gateway is shutting down and stopped the request before it finished. Try again.');
    const written: Promise<void>[] = [];
    for (const [run, res] of this.#runs) {
      run.cut(error);
      if (res.writableFinished || res.destroyed) continue;
      written.push(new Promise<void>((resolve) => {
        res.once('finish', resolve);
        res.once('close', resolve);
      }));
    }
    if (written.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(written), new Promise<void>((resolve) => (timer = setTimeout(resolve, flushMs)))]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.#discovery?.close();
    await this.chain.close();
    await this.upstreams.close();
    await this.store.close();
  }
}

function baseHeaders(ctx: RequestContext): Record<string, string> {
  return { 'x-request-id': ctx.id };
}

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && given.length > 0 && given.length <= 200 ? given : randomUUID();
}
