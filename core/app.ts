// The composition root. An App builds, once, what must outlive a config: upstream pools, router state (health,
// cooldowns, in-flight counts, latency), the shared store. Each config becomes a Generation: model groups,
// router settings, the plugin chain, the localizer and the route table. A request runs entirely on the generation
// it started on, and swapping generations is one assignment, so a reload never disturbs a request in flight.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ConfigError, type LoadedConfig, type ServerSettings } from './config/load.ts';
import { buildModelGroups, type ModelGroup } from './config/models.ts';
import { redactConfig } from './config/redact-config.ts';
import { redisFromRouterSettings, resolveRouterSettings, type RouterSettings } from './config/router-settings.ts';
import type { Logger } from './logger.ts';
import { Chain } from './plugin/chain.ts';
import { loadPlugins } from './plugin/loader.ts';
import { ENGLISH_ONLY, pluginLocalize, type ErrorLocalizer } from './plugin/localize.ts';
import type { ModuleSet } from './plugin/api.ts';
import { OllamaDiscovery } from './providers/ollama-discovery.ts';
import { Pipeline } from './proxy/pipeline.ts';
import { RunningLoops } from './proxy/retry-loop.ts';
import { SluiceError } from './errors.ts';
import { Upstreams } from './proxy/pools.ts';
import { RouteTable } from './server/routes.ts';
import { ClientConnections } from './server/client-traffic.ts';
import { passThroughEntries, PassThroughProxy } from './server/pass-through.ts';
import { createStore, type RedisConfig } from './state/create-store.ts';
import type { RouterState } from './state/router-state.ts';
import { createRouterState } from './state/shared-router-state.ts';
import type { SharedStore } from './state/store.ts';

export { VERSION } from './server/info-routes.ts';

/** Everything one config gives: built by `App.load`, made live by `App.swap`. */
export class Generation {
  readonly config: LoadedConfig;
  readonly groups: ReadonlyMap<string, ModelGroup>;
  readonly settings: RouterSettings;
  readonly chain: Chain;
  readonly localizer: ErrorLocalizer;
  readonly routes: RouteTable;
  /** Every warning of this load (the config file's, the model list's, the router settings', the sections'). */
  readonly warnings: readonly string[];
  readonly #discovery: OllamaDiscovery | null;
  readonly #passThrough: PassThroughProxy | null;
  /** Requests and upgraded connections that started on this generation and have not closed yet. */
  #active = 0;
  /** Swapped out: closed as soon as its last request closes. */
  #retired: Promise<void> | null = null;
  #closeWhenIdle: (() => void) | null = null;

  constructor(
    config: LoadedConfig,
    groups: ReadonlyMap<string, ModelGroup>,
    settings: RouterSettings,
    chain: Chain,
    localizer: ErrorLocalizer,
    routes: RouteTable,
    discovery: OllamaDiscovery | null,
    passThrough: PassThroughProxy | null,
    warnings: readonly string[] = [],
  ) {
    this.warnings = warnings;
    this.config = config;
    this.groups = groups;
    this.settings = settings;
    this.chain = chain;
    this.localizer = localizer;
    this.routes = routes;
    this.#discovery = discovery;
    this.#passThrough = passThrough;
  }

  /** Requests (and upgraded connections) still running on this generation. */
  get active(): number {
    return this.#active;
  }

  /** A request starts on this generation; `leave` once it closes. */
  enter(): void {
    this.#active++;
  }

  leave(): void {
    this.#active--;
    if (this.#active === 0) this.#closeWhenIdle?.();
  }

  /**
   * After a swap: closes this generation once the requests still on it have closed (at once if none). Resolves
   * when it is closed. Idempotent.
   */
  retire(): Promise<void> {
    this.#retired ??= new Promise<void>((resolve) => {
      this.#closeWhenIdle = () => {
        this.#closeWhenIdle = null;
        // A turn later: the request's own 'close' listeners (its log phase) run on an open chain first.
        setImmediate(() => void this.close().then(resolve, resolve));
      };
      if (this.#active === 0) this.#closeWhenIdle();
    });
    return this.#retired;
  }

  /** Stops what this generation started (discovery, plugin timers). Requests still on it finish first. */
  async close(): Promise<void> {
    await this.#discovery?.close();
    await this.chain.close();
    this.#passThrough?.close();
  }
}

export class App {
  readonly logger: Logger;
  readonly modules: ModuleSet;
  /** Listener settings: taken from the first config (a new port or certificate needs the listener rebuilt). */
  readonly server: ServerSettings;
  readonly upstreams: Upstreams;
  readonly state: RouterState;
  readonly store: SharedStore;
  /** Requests in flight, across generations, for graceful shutdown. */
  inFlight = 0;
  /** Client connections and their bytes, for the metrics (plugins read it as `deps.traffic`). */
  readonly connections = new ClientConnections();
  /** Proxied requests sent upstream and not yet answered in full, with their responses: what shutdown may cut. */
  readonly #running = new RunningLoops();
  #generation: Generation | null = null;

  private constructor(config: LoadedConfig, modules: ModuleSet, store: SharedStore, state: RouterState, logger: Logger) {
    this.logger = logger;
    this.modules = modules;
    this.server = config.server;
    this.store = store;
    this.state = state;
    const t = config.server.timeouts;
    this.upstreams = new Upstreams({
      timeouts: { connect: t.upstreamConnect, firstByte: t.upstreamFirstByte, idle: t.upstreamIdle, total: t.upstreamTotal },
      keepAliveMs: 60_000,
      connectionsPerOrigin: config.server.upstreamConnections,
    });
  }

  /** Builds the long-lived parts and the first generation. Throws ConfigError with every problem found. */
  static async create(config: LoadedConfig, modules: ModuleSet, logger: Logger): Promise<App> {
    // The `redis:` section, else LiteLLM's router_settings.redis_* keys.
    const fromRouter = redisFromRouterSettings(config.routerSettings);
    const section = (config.sections['redis'] ?? null) as RedisConfig | null;
    if (section === null && fromRouter.errors.length > 0) throw new ConfigError(config.file, fromRouter.errors);
    if (section !== null && fromRouter.config !== null) logger.warn('config: router_settings.redis_*: ignored, the redis: section says which Redis to use');
    const redis: RedisConfig | null = section ?? fromRouter.config;
    let store: SharedStore;
    try {
      store = await createStore(redis, logger);
    } catch (error) {
      throw new ConfigError(config.file, [`redis: ${(error as Error).message}`]);
    }
    const state = createRouterState(store, logger, { syncIntervalMs: redis?.router_sync_interval_ms });
    const app = new App(config, modules, store, state, logger);
    try {
      app.swap(await app.load(config));
    } catch (error) {
      await app.upstreams.close();
      await state.close();
      await store.close();
      throw error;
    }
    return app;
  }

  /** The live generation. */
  get generation(): Generation {
    return this.#generation!;
  }

  /**
   * Builds a generation for `config` on this app's long-lived parts, without making it live. Throws ConfigError
   * with every problem found; nothing live changes then.
   */
  async load(config: LoadedConfig): Promise<Generation> {
    const logger = this.logger;
    const built = buildModelGroups(config.modelList, config.env);
    // With discovery, fallbacks may name models that only appear once a server reports them; a wildcard group
    // serves the names it matches.
    const knownGroups =
      built.discovery.length > 0 ? null : { has: (name: string) => built.groups.has(name) || (built.wildcards.size > 0 && built.wildcards.groupFor(name) !== null) };
    const resolved = resolveRouterSettings(config.routerSettings, config.litellmSettings, knownGroups, config.sections['load_balancing_config']);
    const warnings = [...config.warnings, ...built.warnings, ...resolved.warnings];
    for (const warning of [...built.warnings, ...resolved.warnings]) logger.warn(`config: ${warning}`);
    const errors = [...built.errors, ...resolved.errors];
    if (errors.length > 0) throw new ConfigError(config.file, errors);

    let localizer: ErrorLocalizer = ENGLISH_ONLY;
    const localizerModule = this.modules.localizer;
    if (localizerModule !== null) {
      try {
        localizer = await localizerModule.create(config.sections[localizerModule.section] ?? null);
      } catch (error) {
        throw new ConfigError(config.file, [(error as Error).message]);
      }
    }
    // Without a `plugins:` section, the module set's default chain applies; sections such as LiteLLM's
    // `llm_guard:` append the plugins they name.
    const entries = [...(config.plugins ?? this.modules.defaultChain(resolved.settings.routingStrategy, config.sections))];
    for (const expander of this.modules.sectionExpanders) {
      const expanded = expander.expand(config.sections[expander.section], config.sections);
      for (const warning of expanded.warnings) logger.warn(`config: ${warning}`);
      warnings.push(...expanded.warnings);
      entries.push(...expanded.entries);
    }
    const general = (config.sections['general_settings'] ?? {}) as Record<string, unknown>;
    const passErrors: string[] = [];
    const passEntries = passThroughEntries(general['pass_through_endpoints'], process.env, passErrors);
    if (passErrors.length > 0) throw new ConfigError(config.file, passErrors);
    const groups = new Map(built.groups);
    const plugins = await loadPlugins(entries, config.file, this.modules, config.sections, {
      logger,
      groups,
      configDir: config.dir,
      state: this.state,
      store: this.store,
      localize: pluginLocalize(localizer),
      config: { file: config.file, redacted: () => redactConfig(config, groups) },
      traffic: this.connections,
    });
    const chain = new Chain(plugins, logger);
    const pipeline = new Pipeline({
      chain,
      groups,
      wildcards: built.wildcards.size > 0 ? built.wildcards : null,
      settings: resolved.settings,
      server: config.server,
      localizer,
      state: this.state,
      upstreams: this.upstreams,
      logger,
      running: this.#running,
    });
    const passThrough = passEntries.length === 0 ? null : await PassThroughProxy.create(passEntries);
    let routes: RouteTable;
    try {
      routes = new RouteTable(pipeline, plugins, { groups, keysChecked: chain.hooks.authenticate !== null, state: this.state, store: this.store, aliases: resolved.settings.aliases, lookup: pipeline.lookup, config }, passThrough);
    } catch (error) {
      await chain.close();
      throw new ConfigError(config.file, [(error as Error).message]);
    }
    let discovery: OllamaDiscovery | null = null;
    if (built.discovery.length > 0) {
      discovery = new OllamaDiscovery(built.discovery, groups, logger, config.server.discoveryInterval);
      await discovery.start();
    }
    return new Generation(config, groups, resolved.settings, chain, localizer, routes, discovery, passThrough, warnings);
  }

  /** Makes `next` live for every request that arrives from now on; returns the one it replaced (null at start). */
  swap(next: Generation): Generation | null {
    const previous = this.#generation;
    this.#generation = next;
    return previous;
  }

  /** The `http.Server` request listener. Never throws. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.inFlight++;
    this.connections.track(req);
    // Read once: the whole request runs on this generation even if another is swapped in meanwhile.
    const generation = this.#generation!;
    generation.enter();
    res.once('close', () => {
      this.inFlight--;
      generation.leave();
    });
    try {
      generation.routes.dispatch(req, res);
    } catch (error) {
      // A throw here would otherwise escape into the http server and take the process down.
      this.logger.error('unhandled error in request routing', { error });
      if (!res.headersSent) res.destroy();
    }
  };

  /**
   * Shutdown's deadline: every request still being proxied ends now with a 503 `server_shutting_down`, which a
   * started stream gets as its final SSE event. Resolves once those answers are written out (or `flushMs` passed,
   * for a client that does not read), so closing the sockets afterwards cuts nothing the client was sent.
   */
  async cutInFlight(flushMs = 1000): Promise<void> {
    const error = new SluiceError('SLUICE_SHUTTING_DOWN', 'The gateway is shutting down and stopped the request before it finished. Try again.');
    const written: Promise<void>[] = [];
    for (const run of this.#running.list()) {
      const res = run.response;
      run.cut(error);
      if (res.writableFinished || res.destroyed) continue;
      written.push(
        new Promise<void>((resolve) => {
          res.once('finish', resolve);
          res.once('close', resolve);
        }),
      );
    }
    if (written.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(written), new Promise<void>((resolve) => (timer = setTimeout(resolve, flushMs)))]);
    clearTimeout(timer);
  }

  /** Upgraded connections (WebSockets): no longer the HTTP server's, so shutdown closes them itself. */
  readonly #upgraded = new Set<Socket>();

  /** The `http.Server` upgrade listener: WebSockets for pass-through entries. Never throws. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    this.#upgraded.add(socket);
    const generation = this.#generation!;
    generation.enter();
    socket.once('close', () => {
      this.#upgraded.delete(socket);
      generation.leave();
    });
    try {
      generation.routes.upgrade(req, socket, head);
    } catch (error) {
      this.logger.error('unhandled error in an upgrade', { error });
      socket.destroy();
    }
  };

  /** Ends every upgraded connection (shutdown: a WebSocket has no request to finish). */
  closeUpgraded(): void {
    for (const socket of this.#upgraded) socket.destroy();
  }

  async close(): Promise<void> {
    this.closeUpgraded();
    await this.#generation?.close();
    await this.upstreams.close();
    await this.state.close();
    await this.store.close();
  }
}
