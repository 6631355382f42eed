// The public plugin API: what a plugin module exports and which hooks the core calls.
//
// Stable surface: `definePlugin`, `PluginFactory`, `Plugin`, `PluginDeps`, `respond`, `endStream`, `createSlot`,
// `SluiceError`, and the `RequestContext` / `SseEvent` shapes. Everything else in core/ is internal.

import type { RequestContext } from './context.ts';
import type { Deployment, ModelGroup } from '../config/models.ts';
import type { Reply } from '../http/reply.ts';
import type { SseEvent, StreamStop } from './stream-event.ts';
import type { SluiceError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RouterState } from '../state/router-state.ts';
import type { SharedStore } from '../state/store.ts';
import type { ErrorLocalizer, PluginLocalize } from './localize.ts';
import type { PluginEntry } from '../config/load.ts';
import type { ClientTraffic } from '../server/client-traffic.ts';

export type { RequestContext } from './context.ts';
export { SseEvent, endStream, type StreamStop } from './stream-event.ts';
export type { Reply } from '../http/reply.ts';
export type { Deployment, ModelGroup, Endpoint } from '../config/models.ts';
export { escapeLogText, type Logger } from '../logger.ts';
export type { RouterState, DeploymentHealth } from '../state/router-state.ts';
export type { SharedStore, LimitDecision, LimitCheck, LimitChecks } from '../state/store.ts';
export type { AuthInfo, ClientApi, KeyBudget, Usage } from './context.ts';
export { answerText, answerTextOfBody } from './answer-text.ts';
export type { LocalizedMessage, PluginLocalize } from './localize.ts';
export { requestText, lastUserText, type MessageSelection, type TextPart } from './request-text.ts';
export { respond } from '../http/reply.ts';
export { estimateRequestTokens } from '../providers/openai.ts';
// For plugins that call backends themselves (health probes, a remote guard engine).
export { errorCode } from '../proxy/pools.ts';
export { Agent, Pool } from '../proxy/undici.ts';
export { upstreamConnectOptions, type UpstreamTls } from '../config/tls-files.ts';
export { healthProbe, type HealthProbe } from '../providers/probe.ts';
export { SluiceError } from '../errors.ts';
export { createSlot } from './context.ts';
export type { PluginEntry } from '../config/load.ts';
export type { ClientTraffic } from '../server/client-traffic.ts';
export { ENGLISH_ONLY, type ErrorLocalizer, type LocaleSource } from './localize.ts';
export type { Slot } from './context.ts';
export { gatherFromWorkers, provideToPeers } from '../workers/peers.ts';

/** What a request-phase hook returns: nothing to continue, a `Reply` to answer now, or a promise of either. */
export type HookResult = void | Reply | Promise<void | Reply>;

/** The upstream response's status and headers, as seen by `onResponseHeaders`. */
export interface UpstreamResponseHead {
  readonly status: number;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** True when the body streams: `text/event-stream`, or NDJSON (`application/x-ndjson`, Ollama's API). */
  readonly isEventStream: boolean;
}

/** A complete upstream response body, as `onResponseBody` sees it. */
export interface ResponseBody {
  readonly status: number;
  /** The exact bytes the backend sent. */
  readonly raw: Buffer;
  /** `raw` parsed as JSON once, shared by all plugins; `undefined` when it is not JSON. Do not mutate. */
  readonly json: unknown;
}

/**
 * A plugin instance: one per load of the configuration. Every hook is optional; defining one is how a plugin
 * joins that phase. Hooks receive the request's `RequestContext`, shared by all plugins.
 */
export interface Plugin {
  /**
   * Request phases, in this order. Each may return `respond(...)` to answer the request itself (the chain stops
   * and no upstream call is made), throw a `SluiceError` to reject it, or return nothing to continue.
   * The body is parsed and validated before `onRequest`; `ctx.group` is set before `admit`.
   */
  onRequest?(ctx: RequestContext): HookResult;
  /** Identify the caller (sets `ctx.auth`). Rejects with 401/403. */
  authenticate?(ctx: RequestContext): HookResult;
  /**
   * Decide whether the request may proceed now (rate limits, concurrency). Runs again, with `ctx.group` set to
   * the fallback group, before a fallback group serves the request; a throw or a reply then refuses that group
   * (the next fallback is tried). So count per model group from `ctx.group`, and what is per request only once.
   */
  admit?(ctx: RequestContext): HookResult;
  /**
   * Choose one of `candidates`: the deployments of `ctx.group` that can take traffic now (healthy, not cooling
   * down, not yet tried by this request, in the best `order` tier), never empty. Return one to decide, or
   * `undefined` to let the next routing plugin decide; if none decides, the first candidate is used. Called once
   * per attempt, so retries ask again with the failed deployment removed. Must be fast: no I/O.
   */
  route?(ctx: RequestContext, candidates: readonly Deployment[]): Deployment | undefined;
  /** Inspect the (routed) request before it leaves: guard scanners. */
  guardRequest?(ctx: RequestContext): HookResult;
  /** Last chance to change `ctx.body` and `ctx.upstreamHeaders` before the request is sent. */
  upstreamRequest?(ctx: RequestContext): HookResult;

  /** Called once the upstream status and headers arrive, before anything is written to the client. Synchronous. */
  onResponseHeaders?(ctx: RequestContext, head: UpstreamResponseHead): void;
  /**
   * Called for every complete SSE event of a streamed response, synchronously, before its bytes are forwarded.
   * Defining this hook is what makes the core parse the stream; plugins without it cost nothing per chunk.
   * Return `endStream(...)` to stop the stream; never mutate the event. An event still incomplete after 1 MB
   * (`MAX_EVENT_BYTES`) ends the stream with an error event instead.
   */
  onResponseEvent?(ctx: RequestContext, event: SseEvent): void | StreamStop;
  /**
   * Called with the complete body of a successful non-stream response (JSON), before any of it is written. Return
   * `respond(...)` to send that instead (an output guard replacing a blocked answer), throw a `SluiceError` to fail
   * the request, or nothing to send the body unchanged. Defining this hook makes the core hold such bodies (up to
   * 4 MB; larger ones pass through unseen) instead of streaming them: only output guards should.
   */
  onResponseBody?(ctx: RequestContext, body: ResponseBody): HookResult;
  /** The response was fully delivered to the client. */
  onResponseEnd?(ctx: RequestContext): void | Promise<void>;

  /** The request failed (`ctx.error` is also set). Never throws to the client: errors here are logged. */
  onError?(ctx: RequestContext, error: SluiceError): void;
  /** The client disconnected before the response was complete; the upstream call has been aborted. */
  onAbort?(ctx: RequestContext): void;
  /**
   * Runs last for every request, whatever its outcome (access logs, accounting). That includes requests refused
   * before the request phases (unknown URL, wrong method, a body that is not valid JSON): `onError` and `log` see
   * those with `ctx.body` set to what could be read (`{}` when nothing could).
   */
  log?(ctx: RequestContext): void;

  /**
   * Set true to have `ctx.usage` filled from the response: the JSON body's `usage`, or a stream's usage event.
   * For streams the core asks the backend for `stream_options.include_usage` when the client did not, and then
   * drops only that extra usage event, so the client gets every other byte as the backend sent it.
   */
  readonly wantsUsage?: boolean;

  /**
   * HTTP routes this plugin serves itself (`/metrics`, a status page, cache admin). Each is matched by exact path
   * before the gateway's own routes; see `PluginRoute`.
   */
  readonly routes?: readonly PluginRoute[];

  /** Release timers, sockets and files. Called on shutdown and when a reload replaces this instance. */
  close?(): void | Promise<void>;
}

/**
 * A route a plugin serves. With `auth` (the default) the chain's `authenticate` phase runs first, so `ctx.auth`
 * says who is calling and a missing or wrong key is refused as on any other route; `auth: false` makes the route
 * open. A POST route's body is read (up to `server.body_limit`): an empty one leaves `ctx.body` as `{}`, any other
 * must be a JSON object (else the client gets 400 `invalid_json` and `handle` is not called); `ctx.rawBody` has the
 * bytes. `onError` and `log` run for route requests as for proxied ones.
 */
export interface PluginRoute {
  readonly method: 'GET' | 'POST';
  /** An exact path, e.g. `/metrics`. Two routes with one method and path are a config error. */
  readonly path: string;
  readonly auth?: boolean;
  /**
   * A POST route's body: `json` (the default) as described above; `raw` leaves `ctx.body` as `{}` and hands the bytes
   * over unparsed in `ctx.rawBody`, for bodies that are not JSON (an HTML form's urlencoded fields).
   */
  readonly body?: 'json' | 'raw';
  /** Answers the request: return `respond(...)`, or throw a `SluiceError`. HEAD is answered by a GET route. */
  handle(ctx: RequestContext): Reply | Promise<Reply>;
}

/** What the core hands a plugin factory. */
export interface PluginDeps {
  readonly logger: Logger;
  /** Shared router state: in-flight counts, latency, usage, health. Routing and health plugins read and write it. */
  readonly state: RouterState;
  /** Model groups by `model_name`, as loaded. */
  readonly groups: ReadonlyMap<string, ModelGroup>;
  /** Directory of the config file, for resolving relative paths in options. */
  readonly configDir: string;
  /**
   * The top-level config sections this plugin's factory declared in `sections` (after environment substitution),
   * by name; a declared section the config does not have is absent. Treat as read-only.
   */
  readonly sections: Readonly<Record<string, unknown>>;
  /** Counters, windows and leases, in memory or shared through Redis (`redis:` in config). */
  readonly store: SharedStore;
  /**
   * A message from the error catalogue (plugins/localizer/messages.json plus `localizer.messages`) in the caller's
   * language: `localize(ctx, 'SLUICE_OUTPUT_BLOCKED', { scanner }, englishText)`. Returns `{ message, lang }`.
   */
  readonly localize: PluginLocalize;
  /**
   * The gateway's client connections and the bytes on them, across reloads (for metrics). Absent when a plugin is
   * created outside a running gateway (unit tests, benches).
   */
  readonly traffic?: ClientTraffic;
  /**
   * The running config as an operator may see it (what `GET /config` shows the master key). Absent when a plugin is
   * created outside an App (unit tests, benchmarks).
   */
  readonly config?: RunningConfig;
}

/** The config a generation runs on, safe to show to an operator. */
export interface RunningConfig {
  /** The config file's path. */
  readonly file: string;
  /**
   * Every section as loaded (after environment substitution) with every credential masked as `********`: the same
   * redaction as `GET /config`. Built on each call, so it includes groups that discovery added since.
   */
  redacted(): Record<string, unknown>;
}

/** A JSON Schema object (draft 2020-12 subset understood by ajv). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/**
 * What a plugin module exports as `default`. `create` runs once per configuration load, after `options` have been
 * validated against `schema` (unknown keys rejected if the schema says so).
 */
export interface PluginFactory<Options = Record<string, never>> {
  /** Dotted id, e.g. `route.round_robin` or `acme.tenant_header`. */
  readonly id: string;
  readonly description?: string;
  /** JSON Schema for the options; options default to `{}`. */
  readonly schema?: JsonSchema;
  /**
   * Top-level config sections the plugin reads besides its options (e.g. `keys`, `general_settings`); they reach
   * `create` as `deps.sections`, and no other section does. Sluice's own sections are validated by the config
   * schema before any plugin is created.
   */
  readonly sections?: readonly string[];
  create(options: Options, deps: PluginDeps): Plugin | Promise<Plugin>;
}

/** Identity helper that gives a plugin module full type inference. */
export function definePlugin<Options>(factory: PluginFactory<Options>): PluginFactory<Options> {
  return factory;
}

// The module set an entry point hands the engine, as Caddy's standard modules are: the engine itself imports nothing
// from plugins/. `plugins/standard.ts` is Sluice's set; an embedder may hand in a larger or smaller one.

/** A module whose default export is a plugin factory. */
export interface PluginModule {
  readonly default: PluginFactory<never>;
}

/** A config section that adds plugins to the chain (LiteLLM's `llm_guard:` adds guard plugins). */
export interface SectionExpander {
  /** The top-level section it reads. */
  readonly section: string;
  /**
   * The entries to append to the chain, and warnings about keys it does not act on. `sections` is the whole config,
   * for a section whose settings are spread over others (LiteLLM's `cache_params`).
   */
  expand(value: unknown, sections: Readonly<Record<string, unknown>>): { readonly entries: readonly PluginEntry[]; readonly warnings: readonly string[] };
}

export interface ModuleSet {
  /** Plugin factories by dotted id; a module is imported only when a config names it. */
  readonly plugins: Readonly<Record<string, () => Promise<PluginModule>>>;
  /** Other names for the same plugins (LiteLLM's routing strategy names). */
  readonly aliases: Readonly<Record<string, string>>;
  /**
   * The chain for a config without a `plugins:` section, from LiteLLM's `routing_strategy` (null when unset) and the
   * config's sections.
   */
  defaultChain(routingStrategy: string | null, sections: Readonly<Record<string, unknown>>): PluginEntry[];
  /** Sections that expand into chain entries, appended after the chain in this order. */
  readonly sectionExpanders: readonly SectionExpander[];
  /** Puts the gateway's own error messages in the caller's language; built from its section (null when absent). */
  readonly localizer: { readonly section: string; create(value: unknown): ErrorLocalizer | Promise<ErrorLocalizer> } | null;
}
